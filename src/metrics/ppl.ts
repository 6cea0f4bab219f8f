// Perceptual path length (StyleGAN, Karras et al. 2019, metrics/perceptual_path_length.py):
//   PPL = E[ d(g(interp(t)), g(interp(t + ε))) / ε² ],  ε = 1e-4, t ~ U(0, 1),
// where in y, interp = lerp(y₁, y₂) with yᵢ = mapping(zᵢ), and in z, interp = slerp(z₁, z₂) followed
// by the mapping. The mean is taken after discarding distances outside the [1 %, 99 %] percentiles
// (numpy 'lower' / 'higher'), as StyleGAN does. PAPER.md Table 2: PPL in y should be much shorter
// than in z for LIA.
// d: StyleGAN uses LPIPS (VGG16 with learned channel weights). Without those weights we use the same
// construction with unit weights on the feature network: per layer, activations unit-normalised
// across channels at every position, squared differences summed over channels, averaged over
// positions, summed over layers.
// Slerp: StyleGAN's slerp returns unit vectors and its mapping pixel-normalises z, so the radius
// never mattered there. Φ⁻¹ need not normalise, so the slerped point is put on the sphere of radius
// √dz, where samples of N(0, I) concentrate; the path is then purely angular as in StyleGAN.
import * as tf from '@tensorflow/tfjs';
import type { FeatureLayer, FeatureNet } from '../models/features.js';
import { Rng } from '../util/rng.js';
import type { GeneratorLike } from './types.js';

/** Per-sample distance between two image batches [B, H, W, C] → [B]; called inside tf.tidy. */
export type ImageDistance = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor1D;

export type PplSpace = 'z' | 'y';

export interface PplOptions {
  space: PplSpace;
  /** Number of paths sampled. */
  samples: number;
  /** Paths per forward pass (2·batch images). */
  batch: number;
  seed: number;
  distance: ImageDistance;
  /** Step along the path (1e-4). */
  epsilon?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface PplResult {
  /** Mean after discarding the outer 1 % percentiles (StyleGAN's number). */
  mean: number;
  /** Mean of every distance. */
  meanAll: number;
  median: number;
  p1: number;
  p99: number;
  samples: number;
}

export const PPL_EPSILON = 1e-4;
export const PPL_LAYERS: FeatureLayer[] = ['conv2', 'conv4', 'conv5'];

/** LPIPS-style distance through `net` with unit weights (see the header comment). */
export function perceptualDistance(net: FeatureNet, layers: readonly FeatureLayer[] = PPL_LAYERS): ImageDistance {
  return (a, b) =>
    tf.tidy(() => {
      const n = a.shape[0];
      const fa = net.features(a, layers);
      const fb = net.features(b, layers);
      let total: tf.Tensor = tf.zeros([n]);
      for (const layer of layers) {
        const axis = fa[layer].rank - 1;
        const unit = (f: tf.Tensor) => tf.div(f, tf.add(tf.sqrt(tf.sum(tf.square(f), axis, true)), 1e-10));
        const d = tf.sum(tf.square(tf.sub(unit(fa[layer]), unit(fb[layer]))), axis);
        total = tf.add(total, d.rank > 1 ? tf.mean(d, d.shape.slice(1).map((_, i) => i + 1)) : d);
      }
      return total as tf.Tensor1D;
    });
}

/** Mean squared pixel difference per image (a reference distance for tests and quick checks). */
export const pixelDistance: ImageDistance = (a, b) => tf.tidy(() => tf.mean(tf.square(tf.sub(a, b)), [1, 2, 3]) as tf.Tensor1D);

/** StyleGAN's slerp of two vectors (float64): unit vectors, angle t·acos(â·b̂) from â towards b̂. */
export function slerp(a: Float64Array, b: Float64Array, t: number): Float64Array {
  const n = a.length;
  const norm = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const na = norm(a);
  const nb = norm(b);
  const au = a.map((x) => x / na);
  const bu = b.map((x) => x / nb);
  let d = 0;
  for (let i = 0; i < n; i++) d += au[i] * bu[i];
  d = Math.min(1, Math.max(-1, d));
  const p = t * Math.acos(d);
  const c = bu.map((x, i) => x - d * au[i]);
  const nc = norm(c) || 1;
  const out = au.map((x, i) => x * Math.cos(p) + (c[i] / nc) * Math.sin(p));
  const no = norm(out);
  return out.map((x) => x / no);
}

/** numpy.percentile(values, q, interpolation='lower' | 'higher') of sorted values. */
function percentile(sorted: Float64Array, q: number, mode: 'lower' | 'higher'): number {
  const pos = (q / 100) * (sorted.length - 1);
  return sorted[mode === 'lower' ? Math.floor(pos) : Math.ceil(pos)];
}

/** Summarises distances/ε² as StyleGAN does (mean inside the [1 %, 99 %] percentiles). */
export function summarisePathLengths(values: ArrayLike<number>): PplResult {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) throw new Error('PPL: no samples');
  const lo = percentile(sorted, 1, 'lower');
  const hi = percentile(sorted, 99, 'higher');
  let sum = 0;
  let kept = 0;
  let all = 0;
  for (const v of sorted) {
    all += v;
    if (v >= lo && v <= hi) {
      sum += v;
      kept++;
    }
  }
  const median = n % 2 ? sorted[(n - 1) / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  return { mean: sum / kept, meanAll: all / n, median, p1: lo, p99: hi, samples: n };
}

/** The path lengths d/ε² of `samples` random paths, in sample order. */
export async function pathLengths(g: GeneratorLike, opts: PplOptions): Promise<Float64Array> {
  const eps = opts.epsilon ?? PPL_EPSILON;
  if (!Number.isInteger(opts.samples) || opts.samples < 1) throw new Error(`PPL: samples must be a positive integer, got ${opts.samples}`);
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new Error(`PPL: batch must be a positive integer, got ${opts.batch}`);
  if (opts.space !== 'z' && opts.space !== 'y') throw new Error(`PPL: space must be 'z' or 'y', got ${String(opts.space)}`);
  const dz = g.latentSize;
  const rng = new Rng(opts.seed);
  const out = new Float64Array(opts.samples);
  for (let done = 0; done < opts.samples; done += opts.batch) {
    const n = Math.min(opts.batch, opts.samples - done);
    // Per path: z₁, z₂, then t; drawn path by path so that results do not depend on the batch size.
    const z1 = new Float64Array(n * dz);
    const z2 = new Float64Array(n * dz);
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < dz; k++) z1[i * dz + k] = rng.normal();
      for (let k = 0; k < dz; k++) z2[i * dz + k] = rng.normal();
      t[i] = rng.next();
    }
    const d = tf.tidy(() => {
      let y: tf.Tensor2D;
      if (opts.space === 'z') {
        const zs = new Float32Array(2 * n * dz);
        const radius = Math.sqrt(dz);
        for (let i = 0; i < n; i++) {
          const a = z1.subarray(i * dz, (i + 1) * dz);
          const b = z2.subarray(i * dz, (i + 1) * dz);
          const s0 = slerp(a, b, t[i]);
          const s1 = slerp(a, b, t[i] + eps);
          for (let k = 0; k < dz; k++) {
            zs[i * dz + k] = radius * s0[k];
            zs[(n + i) * dz + k] = radius * s1[k];
          }
        }
        y = g.mapping(tf.tensor2d(zs, [2 * n, dz]));
      } else {
        const zs = new Float32Array(2 * n * dz);
        zs.set(z1, 0);
        zs.set(z2, n * dz);
        const y12 = g.mapping(tf.tensor2d(zs, [2 * n, dz]));
        const [y1, y2] = tf.split(y12, 2, 0);
        const diff = tf.sub(y2, y1);
        const tt = tf.tensor2d(Float32Array.from(t), [n, 1]);
        // lerp(y₁, y₂; t) = y₁ + t·(y₂ − y₁); float32 t + ε is not exact, so step by ε·(y₂ − y₁) instead.
        const y0 = tf.add(y1, tf.mul(tt, diff));
        y = tf.concat([y0, tf.add(y0, tf.mul(eps, diff))], 0) as tf.Tensor2D;
      }
      const images = g.synthesis(y);
      const [a, b] = tf.split(images, 2, 0) as [tf.Tensor4D, tf.Tensor4D];
      return tf.div(opts.distance(a, b), eps * eps);
    });
    const values = await d.data();
    d.dispose();
    out.set(values, done);
    opts.onProgress?.(done + n, opts.samples);
  }
  return out;
}

/** PPL of `g` in z or y (see the header comment). */
export async function computePpl(g: GeneratorLike, opts: PplOptions): Promise<PplResult> {
  return summarisePathLengths(await pathLengths(g, opts));
}
