// Sliced Wasserstein distance between two image sets, as in ProGAN (Karras et al. 2018,
// metrics/sliced_wasserstein.py):
//   - a Laplacian pyramid of each 8-bit image from full resolution down to 16×16 (cv2.pyrDown /
//     pyrUp: the 5×5 kernel [1,4,6,4,1]ᵀ[1,4,6,4,1]/256, mirrored borders, ×4 after zero insertion
//     when going up; the 16×16 level keeps the low-pass image itself);
//   - per level, 128 random 7×7 neighbourhoods per image (centres at least 3 px from the border),
//     each a descriptor of 7·7·C values; the descriptors of one set and level are normalised per
//     channel (mean and population std over all its descriptors and positions);
//   - sliced Wasserstein distance with 4 repeats × 128 random unit directions: project, sort, mean
//     absolute difference; reported ×1e3 per level and averaged over levels.
// The two sets must hold equally many images. Neighbourhood positions and directions come from the
// seed and are the same for both sets, so a set against itself gives exactly 0.
// Memory: one level's descriptors of both sets at a time, 2·N·128·49·C float32 (250 MB per set
// for 10k grey images), plus the projections of one chunk of directions.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import type { Uint8Images } from '../io/pixel-bytes.js';


export interface SwdOptions {
  seed?: number;
  /** Side of the square neighbourhoods (7). */
  nhoodSize?: number;
  nhoodsPerImage?: number;
  dirRepeats?: number;
  dirsPerRepeat?: number;
  /** Coarsest pyramid level (16). */
  minResolution?: number;
}

export interface SwdResult {
  /** Resolution of each level, finest first (e.g. [32, 16]). */
  resolutions: number[];
  /** SWD ×1e3 per level, in the same order. */
  perLevel: number[];
  /** Mean of perLevel. */
  average: number;
}

export const SWD_DEFAULTS = { nhoodSize: 7, nhoodsPerImage: 128, dirRepeats: 4, dirsPerRepeat: 128, minResolution: 16 };

/** One float32 image stack NHWC. */
interface Stack {
  data: Float32Array;
  n: number;
  h: number;
  w: number;
  c: number;
}

const G1 = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

/** scipy.ndimage 'mirror' boundary: d c b | a b c d | c b a. */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

/** Separable 5-tap filter along one axis of every image: out[y][x] = Σₖ g[k]·in[y][x+k−2] (axis x) or the same along y, sampled at every `step`-th output. */
function filterAxis(s: Stack, axis: 'x' | 'y', g: number[], step: number): Stack {
  const { n, h, w, c } = s;
  const oh = axis === 'y' ? Math.ceil(h / step) : h;
  const ow = axis === 'x' ? Math.ceil(w / step) : w;
  const out = new Float32Array(n * oh * ow * c);
  const src = s.data;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const o = ((b * oh + oy) * ow + ox) * c;
        for (let k = 0; k < 5; k++) {
          const gk = g[k];
          const y = axis === 'y' ? mirror(oy * step + k - 2, h) : oy;
          const x = axis === 'x' ? mirror(ox * step + k - 2, w) : ox;
          const i = ((b * h + y) * w + x) * c;
          for (let ch = 0; ch < c; ch++) out[o + ch] += gk * src[i + ch];
        }
      }
    }
  }
  return { data: out, n, h: oh, w: ow, c };
}

/** cv2.pyrDown: blur with the 5×5 kernel (mirrored borders), keep every second row and column. */
export function pyrDown(s: Stack): Stack {
  return filterAxis(filterAxis(s, 'x', G1, 2), 'y', G1, 2);
}

/** cv2.pyrUp: zeros between the samples, then the 5×5 kernel ×4 (mirrored borders). */
export function pyrUp(s: Stack): Stack {
  const { n, h, w, c } = s;
  const up = new Float32Array(n * 4 * h * w * c);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = ((b * h + y) * w + x) * c;
        const o = ((b * 2 * h + 2 * y) * 2 * w + 2 * x) * c;
        for (let ch = 0; ch < c; ch++) up[o + ch] = s.data[i + ch];
      }
  const g2 = G1.map((v) => 2 * v);
  return filterAxis(filterAxis({ data: up, n, h: 2 * h, w: 2 * w, c }, 'x', g2, 1), 'y', g2, 1);
}

/** Laplacian pyramid, finest first: levels[i] = G_i − pyrUp(G_{i+1}), the last level the low-pass G itself. */
export function laplacianPyramid(s: Stack, numLevels: number): Stack[] {
  const pyramid: Stack[] = [s];
  for (let i = 1; i < numLevels; i++) {
    const down = pyrDown(pyramid[i - 1]);
    const up = pyrUp(down);
    const prev = pyramid[i - 1];
    const diff = new Float32Array(prev.data.length);
    for (let k = 0; k < diff.length; k++) diff[k] = prev.data[k] - up.data[k];
    pyramid[i - 1] = { ...prev, data: diff };
    pyramid.push(down);
  }
  return pyramid;
}

/** Pyramid resolutions from `resolution` down to minResolution, finest first. */
export function pyramidResolutions(resolution: number, minResolution = SWD_DEFAULTS.minResolution): number[] {
  const out: number[] = [];
  for (let r = resolution; r >= minResolution; r /= 2) out.push(r);
  if (out.length === 0) throw new Error(`SWD needs images of at least ${minResolution}×${minResolution}, got ${resolution}×${resolution}`);
  return out;
}

/** Writes `perImage` random size×size neighbourhoods of every image into `out` from row `row0`; layout per row (channel, y, x). */
function extractDescriptors(level: Stack, perImage: number, size: number, rng: Rng, out: Float32Array, row0: number): void {
  const { n, h, w, c } = level;
  const half = size >> 1;
  const dim = c * size * size;
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < perImage; k++) {
      const cx = half + rng.int(w - 2 * half);
      const cy = half + rng.int(h - 2 * half);
      let o = (row0 + b * perImage + k) * dim;
      for (let ch = 0; ch < c; ch++)
        for (let dy = -half; dy <= half; dy++) {
          const rowBase = (b * h + cy + dy) * w;
          for (let dx = -half; dx <= half; dx++) out[o++] = level.data[(rowBase + cx + dx) * c + ch];
        }
    }
  }
}

/** Per channel: subtract the mean and divide by the population std over all rows and positions (in place). */
export function normaliseDescriptors(desc: Float32Array, c: number, size: number): void {
  const per = size * size;
  const dim = c * per;
  const rows = desc.length / dim;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    let sq = 0;
    for (let r = 0; r < rows; r++) {
      const o = r * dim + ch * per;
      for (let k = 0; k < per; k++) sum += desc[o + k];
    }
    const count = rows * per;
    const mean = sum / count;
    for (let r = 0; r < rows; r++) {
      const o = r * dim + ch * per;
      for (let k = 0; k < per; k++) sq += (desc[o + k] - mean) ** 2;
    }
    const std = Math.sqrt(sq / count);
    const inv = std > 0 ? 1 / std : 1;
    for (let r = 0; r < rows; r++) {
      const o = r * dim + ch * per;
      for (let k = 0; k < per; k++) desc[o + k] = (desc[o + k] - mean) * inv;
    }
  }
}

/**
 * Sorts a Float32Array ascending in place: LSD radix sort on order-preserving uint32 keys, two
 * 16-bit passes (5–8× faster than the comparison sort on the millions of projections SWD sorts;
 * short arrays use the built-in sort).
 * `scratch` (at least as long) avoids an allocation. NaNs are not expected.
 */
export function sortFloat32(a: Float32Array, scratch?: Uint32Array): Float32Array {
  const n = a.length;
  // Below ~100k values the two 65536-bucket histograms cost more than they save.
  if (n < 100_000) return a.sort();
  const keys = new Uint32Array(a.buffer, a.byteOffset, n);
  const tmp = scratch && scratch.length >= n ? scratch : new Uint32Array(n);
  const lo = new Uint32Array(65536);
  const hi = new Uint32Array(65536);
  // Flip negatives entirely and set the sign bit of positives: unsigned order = float order.
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    const m = k & 0x80000000 ? ~k >>> 0 : (k | 0x80000000) >>> 0;
    keys[i] = m;
    lo[m & 0xffff]++;
    hi[m >>> 16]++;
  }
  let tl = 0;
  let th = 0;
  for (let d = 0; d < 65536; d++) {
    const cl = lo[d];
    lo[d] = tl;
    tl += cl;
    const ch = hi[d];
    hi[d] = th;
    th += ch;
  }
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    tmp[lo[k & 0xffff]++] = k;
  }
  for (let i = 0; i < n; i++) {
    const k = tmp[i];
    keys[hi[k >>> 16]++] = k;
  }
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    keys[i] = k & 0x80000000 ? k & 0x7fffffff : ~k >>> 0;
  }
  return a;
}

/** Random unit directions [count, dim] (row-major), as ProGAN: normal components, each direction normalised. */
function randomDirections(rng: Rng, count: number, dim: number): Float32Array {
  const dirs = new Float32Array(count * dim);
  for (let d = 0; d < count; d++) {
    let norm = 0;
    const row = new Float64Array(dim);
    for (let k = 0; k < dim; k++) {
      row[k] = rng.normal();
      norm += row[k] * row[k];
    }
    norm = Math.sqrt(norm);
    for (let k = 0; k < dim; k++) dirs[d * dim + k] = row[k] / norm;
  }
  return dirs;
}

/** Projections of every descriptor row on each direction: out[j] = desc · dirs[j] (one Float32Array per direction). */
async function project(desc: Float32Array, dim: number, dirs: Float32Array, count: number, out: Float32Array[]): Promise<void> {
  const rows = desc.length / dim;
  const block = 16384;
  // [dim, count]: wasm's matMul is several times faster without transposed operands.
  const d = tf.tidy(() => tf.transpose(tf.tensor2d(dirs, [count, dim])));
  try {
    for (let r0 = 0; r0 < rows; r0 += block) {
      const r1 = Math.min(rows, r0 + block);
      const p = tf.tidy(() => tf.transpose(tf.matMul(tf.tensor2d(desc.subarray(r0 * dim, r1 * dim), [r1 - r0, dim]), d)));
      const data = (await p.data()) as Float32Array;
      p.dispose();
      const len = r1 - r0;
      for (let j = 0; j < count; j++) out[j].set(data.subarray(j * len, (j + 1) * len), r0);
    }
  } finally {
    d.dispose();
  }
}

/**
 * Sliced Wasserstein distance between two descriptor sets with equally many rows: the mean over
 * `repeats × dirsPerRepeat` random directions of the mean absolute difference of the sorted
 * projections (not yet ×1e3).
 */
export async function slicedWasserstein(a: Float32Array, b: Float32Array, dim: number, rng: Rng, repeats: number, dirsPerRepeat: number): Promise<number> {
  if (a.length !== b.length || a.length % dim !== 0) throw new Error(`sliced Wasserstein: descriptor sets differ in size (${a.length} vs ${b.length} values of dim ${dim})`);
  const rows = a.length / dim;
  // Directions per chunk: bounded so both sets' projections stay near 128 MB.
  const chunk = Math.max(1, Math.min(dirsPerRepeat, Math.floor(16_000_000 / rows)));
  const projA = Array.from({ length: chunk }, () => new Float32Array(rows));
  const projB = Array.from({ length: chunk }, () => new Float32Array(rows));
  const scratch = new Uint32Array(rows);
  let total = 0;
  for (let rep = 0; rep < repeats; rep++) {
    const dirs = randomDirections(rng, dirsPerRepeat, dim);
    for (let d0 = 0; d0 < dirsPerRepeat; d0 += chunk) {
      const count = Math.min(chunk, dirsPerRepeat - d0);
      const sub = dirs.subarray(d0 * dim, (d0 + count) * dim);
      await project(a, dim, sub, count, projA);
      await project(b, dim, sub, count, projB);
      for (let j = 0; j < count; j++) {
        const pa = sortFloat32(projA[j], scratch);
        const pb = sortFloat32(projB[j], scratch);
        let s = 0;
        for (let i = 0; i < rows; i++) s += Math.abs(pa[i] - pb[i]);
        total += s / rows;
      }
    }
  }
  return total / (repeats * dirsPerRepeat);
}

/** Descriptors of one pyramid level for every image of a set, normalised. */
function levelDescriptors(images: Uint8Images, level: number, numLevels: number, opts: Required<SwdOptions>): Float32Array {
  const { n, h, w, c } = images;
  const size = opts.nhoodSize;
  const dim = c * size * size;
  const out = new Float32Array(n * opts.nhoodsPerImage * dim);
  // The same positions for both sets (see the header comment): a stream per level.
  const rng = new Rng(opts.seed * 1009 + 17 * (level + 1));
  const batch = 256;
  const imageSize = h * w * c;
  for (let b0 = 0; b0 < n; b0 += batch) {
    const b1 = Math.min(n, b0 + batch);
    const data = new Float32Array((b1 - b0) * imageSize);
    for (let i = 0; i < data.length; i++) data[i] = images.pixels[b0 * imageSize + i];
    const pyramid = laplacianPyramid({ data, n: b1 - b0, h, w, c }, Math.min(numLevels, level + 2));
    const lvl = pyramid[level];
    if (lvl.h < size || lvl.w < size) throw new Error(`SWD: level ${level} is ${lvl.h}×${lvl.w}, smaller than the ${size}×${size} neighbourhoods`);
    extractDescriptors(lvl, opts.nhoodsPerImage, size, rng, out, b0 * opts.nhoodsPerImage);
  }
  normaliseDescriptors(out, c, size);
  return out;
}

/** SWD (×1e3) per pyramid level and averaged, between two sets of equally many 8-bit images. */
export async function computeSwd(a: Uint8Images, b: Uint8Images, options: SwdOptions = {}): Promise<SwdResult> {
  const opts: Required<SwdOptions> = { seed: 0, ...SWD_DEFAULTS, ...options };
  if (a.h !== b.h || a.w !== b.w || a.c !== b.c) throw new Error(`SWD: image shapes differ ([${a.h}, ${a.w}, ${a.c}] vs [${b.h}, ${b.w}, ${b.c}])`);
  if (a.n !== b.n) throw new Error(`SWD: the sets must hold equally many images (${a.n} vs ${b.n})`);
  if (a.h !== a.w) throw new Error(`SWD: images must be square, got ${a.h}×${a.w}`);
  const resolutions = pyramidResolutions(a.h, opts.minResolution);
  const dim = a.c * opts.nhoodSize * opts.nhoodSize;
  const dirRng = new Rng(opts.seed);
  const perLevel: number[] = [];
  for (let level = 0; level < resolutions.length; level++) {
    const da = levelDescriptors(a, level, resolutions.length, opts);
    const db = levelDescriptors(b, level, resolutions.length, opts);
    perLevel.push(1e3 * (await slicedWasserstein(da, db, dim, dirRng, opts.dirRepeats, opts.dirsPerRepeat)));
  }
  return { resolutions, perLevel, average: perLevel.reduce((s, v) => s + v, 0) / perLevel.length };
}
