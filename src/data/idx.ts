// IDX files, the format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a big-endian header
// — two zero bytes, a type byte (0x08 = uint8), a dimension count — then one uint32 per dimension,
// then the data. Images are magic 0x00000803 [N, rows, cols]; labels 0x00000801 [N]. Files may be
// gzipped (as distributed, and as Debian installs them); that is detected from the content (0x1f8b),
// not the name.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Dataset, LoadOptions } from './dataset.js';
import type { Uint8Images } from '../io/pixel-bytes.js';
import { fitToResolution, greyToRgb } from './resample.js';
import { requireOrdered, splitSingle } from './split.js';

const gunzipAsync = promisify(gunzip);

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist/';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

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

// IDX files as a dataset: Fashion-MNIST and MNIST (see dataset.ts for the specs and the split).

const exists = (path: string) => stat(path).then((s) => s.isFile(), () => false);

/** Finds `<base>` or `<base>.gz` in dir. */
async function findIdx(dir: string, base: string): Promise<string | undefined> {
  for (const name of [base, `${base}.gz`]) if (await exists(join(dir, name))) return join(dir, name);
  return undefined;
}

interface IdxSource {
  images: string;
  labels?: string;
}

/** The standard train/t10k file names in a folder. */
async function findIdxFolder(dir: string, datasetName: string): Promise<{ train: IdxSource; test?: IdxSource }> {
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new Error(`${datasetName}: ${dir} is not a folder`);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map((b) => findIdx(dir, b)),
  );
  if (!trainImages) {
    throw new Error(`${datasetName}: no train-images-idx3-ubyte or train-images-idx3-ubyte.gz in ${dir}`);
  }
  if (testImages && Boolean(trainLabels) !== Boolean(testLabels)) {
    throw new Error(`${datasetName}: ${dir} has labels for only one of train and t10k`);
  }
  return {
    train: { images: trainImages, labels: trainLabels },
    test: testImages ? { images: testImages, labels: testLabels } : undefined,
  };
}

/** Reads one IDX pair, keeps the first `keep` images, and brings them to the resolution. */
async function loadIdxPart(
  src: IdxSource,
  resolution: number,
  keep: number | undefined,
): Promise<Uint8Images & { labels: Int32Array | null; nativeH: number; nativeW: number; fileCount: number }> {
  const idx = await readIdxPair(src.images, src.labels);
  const n = Math.min(idx.count, keep ?? Infinity);
  const stack = fitToResolution({ pixels: idx.pixels.subarray(0, n * idx.height * idx.width), n, h: idx.height, w: idx.width, c: 1 }, resolution);
  return { ...stack, labels: idx.labels ? idx.labels.slice(0, n) : null, nativeH: idx.height, nativeW: idx.width, fileCount: idx.count };
}

function describeFit(h: number, w: number, resolution: number): string {
  const to = `resampled to ${resolution}×${resolution}`;
  if (h === 28 && w === 28) return resolution === 32 ? '28×28 grey, zero-padded to 32×32' : `28×28 grey, zero-padded to 32×32, ${to}`;
  return h === resolution && w === resolution ? `${h}×${w} grey` : `${h}×${w} grey, ${to}`;
}

async function loadIdxDataset(
  name: string,
  files: { train: IdxSource; test?: IdxSource },
  opts: LoadOptions,
  classNames: string[] | null,
): Promise<Dataset> {
  requireOrdered(opts, name);
  const { resolution } = opts;
  const channels = opts.channels ?? 1;
  const trainFileLimit = files.test ? Math.min(opts.limit ?? Infinity, opts.train ?? Infinity) : opts.limit;
  const train = await loadIdxPart(files.train, resolution, trainFileLimit);
  if (files.test && opts.train !== undefined && opts.train > train.fileCount) {
    throw new Error(`train = ${opts.train} is more than the ${train.fileCount} images of ${files.train.images}`);
  }
  const test = files.test ? await loadIdxPart(files.test, resolution, opts.limit) : null;

  const count = train.n + (test?.n ?? 0);
  let stack: Uint8Images = { pixels: new Uint8Array(count * resolution * resolution), n: count, h: resolution, w: resolution, c: 1 };
  stack.pixels.set(train.pixels, 0);
  if (test) stack.pixels.set(test.pixels, train.pixels.length);
  if (channels === 3) stack = greyToRgb(stack);

  let labels: Int32Array | null = null;
  if (train.labels) {
    labels = new Int32Array(count);
    labels.set(train.labels, 0);
    if (test?.labels) labels.set(test.labels, train.n);
  }
  const maxLabel = labels ? labels.reduce((a, b) => Math.max(a, b), 0) : -1;
  const names = labels ? (classNames ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i))) : [];
  if (labels && maxLabel >= names.length) throw new Error(`${name}: label ${maxLabel} found, but the dataset has ${names.length} classes`);

  const parts = [files.train, ...(files.test ? [files.test] : [])].map((f) => f.images + (f.labels ? ` + ${f.labels}` : ''));
  const split = files.test
    ? {
        train: { start: 0, end: train.n },
        test: { start: train.n, end: count },
        split: {
          rule: 'source' as const,
          description: `the source's own: the train file is train${opts.train !== undefined ? ` (its first ${opts.train})` : ''}, the t10k file test`,
        },
      }
    : splitSingle(count, opts.train, files.train.images);
  return {
    name,
    source: `${parts.join('; ')} (${describeFit(train.nativeH, train.nativeW, resolution)})`,
    pixels: stack.pixels,
    count,
    resolution,
    channels,
    labels,
    classNames: names,
    ...split,
  };
}

/** Loads fashion-mnist[:DIR] (DIR default opts.dataDir, else Debian's folder). */
export async function loadFashionMnist(rest: string | undefined, opts: LoadOptions): Promise<Dataset> {
  const dir = rest ?? opts.dataDir ?? FASHION_MNIST_DIR;
  return loadIdxDataset('fashion-mnist', await findIdxFolder(dir, 'fashion-mnist'), opts, FASHION_MNIST_CLASSES);
}

/** Loads mnist:DIR or mnist:IMAGES[,LABELS] (plain `mnist` reads opts.dataDir). */
export async function loadMnist(rest: string | undefined, opts: LoadOptions): Promise<Dataset> {
  const target = rest ?? opts.dataDir;
  if (!target) throw new Error(`mnist needs its files: --data mnist:DIR, --data mnist:IMAGES[,LABELS], or --data-dir DIR`);
  const [images, labels, ...extra] = target.split(',');
  if (extra.length > 0) throw new Error(`mnist:IMAGES[,LABELS] takes at most two files, got '${target}'`);
  const isDir = await stat(images).then((s) => s.isDirectory(), () => false);
  const files = isDir && labels === undefined ? await findIdxFolder(images, 'mnist') : { train: { images, labels } };
  return loadIdxDataset('mnist', files, opts, null);
}
