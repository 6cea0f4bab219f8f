// IDX files, the format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a big-endian header
// — two zero bytes, a type byte (0x08 = uint8), a dimension count — then one uint32 per dimension,
// then the data. Images are magic 0x00000803 [N, rows, cols]; labels 0x00000801 [N]. Files may be
// gzipped (as distributed, and as Debian installs them); that is detected from the content (0x1f8b),
// not the name.
import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(gunzip);

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

/** Grey images from an IDX file, pixels [N, H, W] uint8 (0 = background in MNIST). */
export interface IdxImages {
  count: number;
  height: number;
  width: number;
  pixels: Uint8Array;
}

const hex = (magic: number) => `0x${magic.toString(16).padStart(8, '0')}`;

/** Reads a whole file, gunzipping it when it starts with the gzip magic. */
async function readMaybeGzipped(path: string): Promise<Uint8Array> {
  const raw = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${err.message})`);
  });
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return await gunzipAsync(raw);
    } catch (err) {
      throw new Error(`${path}: cannot gunzip (${err instanceof Error ? err.message : String(err)}); the file is truncated or corrupt`);
    }
  }
  return raw;
}

/** Parses the header of an IDX buffer, checking magic and that the data is all there. */
function parseIdx(path: string, buf: Uint8Array, expectedMagic: number, what: string): { dims: number[]; data: Uint8Array } {
  if (buf.length < 4) throw new Error(`${path}: truncated IDX file (${buf.length} bytes, no complete header)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new Error(`${path}: not an IDX ${what} file: magic ${hex(magic)}, expected ${hex(expectedMagic)}`);
  }
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes) {
    throw new Error(`${path}: truncated IDX file (${buf.length} bytes, header needs ${headerBytes})`);
  }
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expectedBytes = dims.reduce((a, b) => a * b, 1);
  const found = buf.length - headerBytes;
  if (found < expectedBytes) {
    throw new Error(
      `${path}: truncated IDX ${what} file: header says [${dims.join(', ')}] = ${expectedBytes} bytes of data, found ${found}`,
    );
  }
  // A plain Uint8Array view (not a Buffer), so callers see one array type whatever the source.
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, expectedBytes) };
}

/** Reads an IDX image file (magic 0x00000803), raw or gzipped. */
export async function readIdxImages(path: string): Promise<IdxImages> {
  const { dims, data } = parseIdx(path, await readMaybeGzipped(path), IDX_IMAGES_MAGIC, 'images');
  const [count, height, width] = dims;
  return { count, height, width, pixels: data };
}

/** Reads an IDX label file (magic 0x00000801), raw or gzipped. */
export async function readIdxLabels(path: string): Promise<Int32Array> {
  const { data } = parseIdx(path, await readMaybeGzipped(path), IDX_LABELS_MAGIC, 'labels');
  return Int32Array.from(data);
}

/** Reads an image file and, when given, its label file; their counts must agree. */
export async function readIdxPair(imagesPath: string, labelsPath?: string): Promise<IdxImages & { labels: Int32Array | null }> {
  const images = await readIdxImages(imagesPath);
  if (labelsPath === undefined) return { ...images, labels: null };
  const labels = await readIdxLabels(labelsPath);
  if (labels.length !== images.count) {
    throw new Error(
      `IDX count mismatch: ${imagesPath} holds ${images.count} images but ${labelsPath} holds ${labels.length} labels`,
    );
  }
  return { ...images, labels };
}

/** Encodes uint8 data as an IDX file (the inverse of the readers; for tests and exports). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`encodeIdx: [${dims.join(', ')}] needs ${count} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00000800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
