// "shapes": a synthetic dataset with known generative factors, so disentanglement and inversion can
// be checked against ground truth without downloading anything. Each image is one filled shape
// (circle, square, triangle, cross) in one of six colours, at a random position and size, on a black
// background. Shapes are drawn from signed distance functions with coverage = clamp(0.5 − d, 0, 1),
// d the distance in pixels from the pixel centre to the edge (negative inside): a cheap analytic
// anti-aliasing close to a one-pixel box filter.
// Factors are sampled from the seed alone, in a fixed order, and stored in units of the image side:
// the same seed gives the same scenes at every resolution.
import { Rng } from '../util/rng.js';
import type { Dataset, LoadOptions } from './dataset.js';
import { requireOrdered, splitSingle } from './split.js';

export const SHAPES_DEFAULT_COUNT = 10_000;

export const SHAPE_NAMES = ['circle', 'square', 'triangle', 'cross'] as const;

export const SHAPE_COLOURS: readonly { name: string; rgb: readonly [number, number, number] }[] = [
  { name: 'red', rgb: [255, 64, 64] },
  { name: 'green', rgb: [64, 230, 64] },
  { name: 'blue', rgb: [64, 128, 255] },
  { name: 'yellow', rgb: [255, 230, 64] },
  { name: 'magenta', rgb: [255, 64, 255] },
  { name: 'cyan', rgb: [64, 230, 255] },
];

/** Half-extent of a shape's bounding box, as a fraction of the image side. */
export const SHAPE_SIZE_RANGE: [number, number] = [0.15, 0.35];
/** Smallest gap between a shape's bounding box and the image border, as a fraction of the side. */
const MARGIN = 0.02;

/** One row per image. */
export interface ShapeFactors {
  /** Index into SHAPE_NAMES (also the dataset's label). */
  shape: Int32Array;
  /** Index into SHAPE_COLOURS. */
  colour: Int32Array;
  /** Centre of the bounding box, in [0, 1] of the image width (x, left to right) and height (y, top to bottom). */
  x: Float64Array;
  y: Float64Array;
  /** Half-extent of the bounding box, fraction of the side: a circle's radius, half a square's side. */
  size: Float64Array;
}

export interface ShapesOptions {
  count: number;
  resolution: number;
  channels: 1 | 3;
  seed?: number;
}

export function sampleShapeFactors(count: number, seed = 0): ShapeFactors {
  const rng = new Rng(seed);
  const f: ShapeFactors = {
    shape: new Int32Array(count),
    colour: new Int32Array(count),
    x: new Float64Array(count),
    y: new Float64Array(count),
    size: new Float64Array(count),
  };
  for (let i = 0; i < count; i++) {
    f.shape[i] = rng.int(SHAPE_NAMES.length);
    f.colour[i] = rng.int(SHAPE_COLOURS.length);
    const size = rng.uniform(SHAPE_SIZE_RANGE[0], SHAPE_SIZE_RANGE[1]);
    f.size[i] = size;
    f.x[i] = rng.uniform(size + MARGIN, 1 - size - MARGIN);
    f.y[i] = rng.uniform(size + MARGIN, 1 - size - MARGIN);
  }
  return f;
}

// Signed distances, in the shape's own frame (origin at the bounding-box centre), r = half-extent.
function sdBox(px: number, py: number, bx: number, by: number): number {
  const qx = Math.abs(px) - bx;
  const qy = Math.abs(py) - by;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0);
}

/** Exact signed distance to a polygon (Inigo Quilez's sdPolygon). */
function sdPolygon(px: number, py: number, v: number[][]): number {
  let d = (px - v[0][0]) ** 2 + (py - v[0][1]) ** 2;
  let s = 1;
  for (let i = 0, j = v.length - 1; i < v.length; j = i, i++) {
    const ex = v[j][0] - v[i][0];
    const ey = v[j][1] - v[i][1];
    const wx = px - v[i][0];
    const wy = py - v[i][1];
    const t = Math.min(Math.max((wx * ex + wy * ey) / (ex * ex + ey * ey), 0), 1);
    d = Math.min(d, (wx - ex * t) ** 2 + (wy - ey * t) ** 2);
    const c1 = py >= v[i][1];
    const c2 = py < v[j][1];
    const c3 = ex * wy > ey * wx;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) s = -s;
  }
  return s * Math.sqrt(d);
}

function signedDistance(shape: number, px: number, py: number, r: number): number {
  switch (shape) {
    case 0:
      return Math.hypot(px, py) - r;
    case 1:
      return sdBox(px, py, r, r);
    case 2: // apex up, base at the bottom of the bounding box
      return sdPolygon(px, py, [[0, -r], [r, r], [-r, r]]);
    case 3: // plus sign, arms a third of the extent thick
      return Math.min(sdBox(px, py, r, r / 3), sdBox(px, py, r / 3, r));
    default:
      throw new Error(`unknown shape index ${shape}`);
  }
}

/** Draws image i of the factor table into out (uint8 [N, R, R, C], zero-filled beforehand). */
function drawShape(out: Uint8Array, i: number, f: ShapeFactors, res: number, channels: 1 | 3): void {
  const cx = f.x[i] * res;
  const cy = f.y[i] * res;
  const r = f.size[i] * res;
  const [red, green, blue] = SHAPE_COLOURS[f.colour[i]].rgb;
  const colour = channels === 3 ? [red, green, blue] : [0.299 * red + 0.587 * green + 0.114 * blue]; // BT.601 luma
  const x0 = Math.max(0, Math.floor(cx - r - 1));
  const x1 = Math.min(res - 1, Math.ceil(cx + r + 1));
  const y0 = Math.max(0, Math.floor(cy - r - 1));
  const y1 = Math.min(res - 1, Math.ceil(cy + r + 1));
  const base = i * res * res * channels;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const d = signedDistance(f.shape[i], x + 0.5 - cx, y + 0.5 - cy, r);
      const coverage = Math.min(Math.max(0.5 - d, 0), 1);
      if (coverage === 0) continue;
      const o = base + (y * res + x) * channels;
      for (let k = 0; k < channels; k++) out[o + k] = Math.round(colour[k] * coverage);
    }
  }
}

/** Renders every row of a factor table: uint8 [N, R, R, C]. */
export function renderShapes(factors: ShapeFactors, resolution: number, channels: 1 | 3): Uint8Array {
  const n = factors.shape.length;
  const out = new Uint8Array(n * resolution * resolution * channels);
  for (let i = 0; i < n; i++) drawShape(out, i, factors, resolution, channels);
  return out;
}

export function generateShapes(opts: ShapesOptions): { pixels: Uint8Array; labels: Int32Array; factors: ShapeFactors } {
  const factors = sampleShapeFactors(opts.count, opts.seed ?? 0);
  return {
    pixels: renderShapes(factors, opts.resolution, opts.channels),
    labels: Int32Array.from(factors.shape),
    factors,
  };
}

/** Loads shapes[:COUNT]: COUNT images (default 10,000), always from seed 0, so that "shapes" names one fixed dataset. */
export async function loadShapesDataset(countText: string | undefined, opts: LoadOptions): Promise<Dataset> {
  const requested = countText === undefined ? SHAPES_DEFAULT_COUNT : Number(countText);
  if (!Number.isInteger(requested) || requested < 1) throw new Error(`shapes:COUNT needs a positive integer count, got '${countText}'`);
  requireOrdered(opts, 'shapes');
  const count = Math.min(requested, opts.limit ?? Infinity);
  const channels = opts.channels ?? 3;
  const { pixels, labels, factors } = generateShapes({ count, resolution: opts.resolution, channels, seed: 0 });
  return {
    name: 'shapes',
    source: `synthetic shapes, ${count} images drawn at ${opts.resolution}×${opts.resolution} from seed 0`,
    pixels,
    count,
    resolution: opts.resolution,
    channels,
    labels,
    classNames: [...SHAPE_NAMES],
    factors,
    ...splitSingle(count, opts.train, 'shapes'),
  };
}
