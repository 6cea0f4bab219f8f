// Image files: the one PNG grid writer every command uses for samples, reconstructions and dataset
// previews, and the one decoder the image-folder dataset uses. Both go through sharp (libvips).
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { cleanStaleTempsOf } from './staging.js';
import { toByte } from './pixel-bytes.js';

/** The images of a grid, NHWC [n, h, w, c], c = 1 (grey) or 3 (RGB): floats in a range, or bytes. */
export interface GridImages {
  data: Float32Array | Uint8Array;
  n: number;
  h: number;
  w: number;
  c: number;
}

export interface GridOptions {
  /** Images per row (default: ceil(sqrt(n)), so 64 images make an 8×8 grid). */
  cols?: number;
  /** Pixels between cells and around the border (default 2). */
  padding?: number;
  /** Value range of Float32Array data, mapped linearly to 0..255 and clamped (default [-1, 1]). Uint8Array data is taken as 0..255 and ignores it. */
  range?: [number, number];
  /** One caption per image, drawn in a strip under its cell. */
  labels?: string[];
  /** Grey level of the padding and empty cells, 0..255 (default 255, white). */
  background?: number;
  /** Integer nearest-neighbour upscaling of every cell, so 32×32 images stay legible (default 1). */
  scale?: number;
}

const LABEL_HEIGHT = 12;

function checkBatch(images: GridImages): void {
  const { data, n, h, w, c } = images;
  for (const [name, v] of Object.entries({ n, h, w })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`image grid: ${name} must be a positive integer, got ${v}`);
  }
  if (c !== 1 && c !== 3) throw new Error(`image grid: channels must be 1 or 3, got ${c}`);
  if (data.length !== n * h * w * c) {
    throw new Error(`image grid: data holds ${data.length} values, expected n·h·w·c = ${n}·${h}·${w}·${c} = ${n * h * w * c}`);
  }
}

const escapeXml = (s: string) =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch] ?? ch);

/**
 * Writes images as one PNG grid, row-major. Atomic: the PNG is written to `path.tmp-<pid>` and
 * renamed over `path`, so a reader never sees half a file. Creates the parent folder.
 */
export async function writeImageGrid(path: string, images: GridImages, opts: GridOptions = {}): Promise<{ width: number; height: number }> {
  checkBatch(images);
  const { data, n, h, w, c } = images;
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const pad = opts.padding ?? 2;
  const [lo, hi] = opts.range ?? [-1, 1];
  const scale = opts.scale ?? 1;
  const background = opts.background ?? 255;
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`image grid: cols must be a positive integer, got ${cols}`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`image grid: padding must be a non-negative integer, got ${pad}`);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`image grid: scale must be a positive integer, got ${scale}`);
  if (!(hi > lo)) throw new Error(`image grid: range must be [lo, hi] with hi > lo, got [${lo}, ${hi}]`);
  if (opts.labels && opts.labels.length !== n) {
    throw new Error(`image grid: ${opts.labels.length} labels given for ${n} images`);
  }

  const rows = Math.ceil(n / cols);
  const cellW = w * scale;
  const cellH = h * scale;
  const labelH = opts.labels ? LABEL_HEIGHT : 0;
  const width = cols * (cellW + pad) + pad;
  const height = rows * (cellH + labelH + pad) + pad;
  const out = new Uint8Array(width * height * c).fill(background);
  const byteOf = data instanceof Uint8Array ? (v: number) => v : (v: number) => toByte(v, lo, hi);

  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % cols) * (cellW + pad);
    const y0 = pad + Math.floor(i / cols) * (cellH + labelH + pad);
    for (let y = 0; y < cellH; y++) {
      const srcRow = (i * h + Math.floor(y / scale)) * w * c;
      const dstRow = ((y0 + y) * width + x0) * c;
      for (let x = 0; x < cellW; x++) {
        const src = srcRow + Math.floor(x / scale) * c;
        const dst = dstRow + x * c;
        for (let k = 0; k < c; k++) out[dst + k] = byteOf(data[src + k]);
      }
    }
  }

  let img = sharp(out, { raw: { width, height, channels: c === 1 ? 1 : 3 } });
  if (opts.labels) {
    // One SVG with a caption under every cell, composited over the grid. Needs a system font
    // (fontconfig); without one the captions come out empty but the grid is still written.
    const fill = background > 127 ? '#000' : '#fff';
    const texts = opts.labels.map((label, i) => {
      const x = pad + (i % cols) * (cellW + pad) + cellW / 2;
      const y = pad + Math.floor(i / cols) * (cellH + labelH + pad) + cellH + labelH - 2;
      return `<text x="${x}" y="${y}" text-anchor="middle">${escapeXml(label)}</text>`;
    });
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<g font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="9" fill="${fill}">${texts.join('')}</g></svg>`;
    // composite() must run before any colourspace change: round-trip through a PNG buffer.
    const composed = await img.composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).png().toBuffer();
    img = sharp(composed).removeAlpha();
  }
  // libvips writes sRGB unless told otherwise, even from one-channel input.
  const png = await (c === 1 ? img.toColourspace('b-w') : img).png().toBuffer();

  await mkdir(dirname(path), { recursive: true });
  cleanStaleTempsOf(path); // an earlier writer of this path that died mid-write
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, png);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return { width, height };
}

/**
 * Decodes one image file (PNG, JPEG, WebP, anything libvips reads) to uint8 HWC at
 * [resolution, resolution, channels]: EXIF orientation applied, transparency flattened onto white (as
 * datasets read folders; src/data/decode.ts),
 * resized to cover the square (Lanczos) and centre-cropped, converted to grey (1) or sRGB (3).
 * Throws on truncated or corrupt files (libvips warnings count as errors).
 */
export async function decodeImageFile(path: string, resolution: number, channels: 1 | 3): Promise<Uint8Array> {
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await sharp(path, { failOn: 'warning' })
      .autoOrient()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .resize(resolution, resolution, { fit: 'cover', position: 'centre' })
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`${path}: cannot read the image (${(e as Error).message.trim()})`, { cause: e });
  }
  const { data, info } = decoded;
  if (info.width !== resolution || info.height !== resolution || info.channels !== channels) {
    throw new Error(
      `${path}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${resolution}×${resolution}×${channels}`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Comparison rows: rows[k] holds n images [n, r, r, c] in [-1, 1], drawn one row each (originals
 * above their reconstructions, starting points, results, …), in blocks of up to `maxCols` columns.
 * Cells are nearest-neighbour upscaled ×2 below 64 px unless `scale` says otherwise.
 */
export async function writeRowsGrid(path: string, rows: Float32Array[], n: number, r: number, c: number, opts: { maxCols?: number; scale?: number; labels?: string[] } = {}): Promise<void> {
  const cols = Math.min(n, opts.maxCols ?? 16);
  const blocks = Math.ceil(n / cols);
  const size = r * r * c;
  const out = new Float32Array(blocks * rows.length * cols * size).fill(-1);
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / cols);
    const col = i % cols;
    rows.forEach((row, k) => out.set(row.subarray(i * size, (i + 1) * size), ((b * rows.length + k) * cols + col) * size));
  }
  await writeImageGrid(path, { data: out, n: blocks * rows.length * cols, h: r, w: r, c }, { cols, scale: opts.scale ?? (r < 64 ? 2 : 1), labels: opts.labels });
}
