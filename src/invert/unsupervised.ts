// Edit directions in y without labels, for the folders most users have:
// - SeFa (Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs"): the style affine
//   A of the first styled layer maps y to channel styles, s = A y + b; the unit directions n that
//   change s the most maximise ‖A n‖², i.e. the top eigenvectors of AᵀA. (Our affine keeps W [d, in]
//   with s = yW, so AᵀA = W Wᵀ; equalised learning rate scales it by a constant, which does not
//   change the eigenvectors.)
// - PCA in y (GANSpace, Härkönen et al.): the top principal axes of y = Φ⁻¹(z) over samples of z.
// Both give Directions in the same form as the labelled ones (directions.ts), so files, `lia edit`,
// the library and the studio take them alike. `scale` is the standard deviation of sampled codes'
// projections on n, so strengths mean the same thing for every method.
import * as tf from '@tensorflow/tfjs';
import type { Generator } from '../models/generator.js';
import { MomentAccumulator, symmetricEigen } from '../metrics/linalg.js';
import { Rng } from '../util/rng.js';
import type { Direction } from './directions.js';

export type DirectionMethod = 'labels' | 'sefa' | 'pca';
export const DIRECTION_METHODS: readonly DirectionMethod[] = ['labels', 'sefa', 'pca'];

/** y = Φ⁻¹(z) (or the MLP mapping's) for `n` seeded draws of z: [n·d] row-major, read asynchronously. */
export async function sampleCodes(G: Generator, n: number, seed: number): Promise<Float32Array> {
  const d = G.config.latentSize;
  const rng = new Rng(seed);
  const out = new Float32Array(n * d);
  for (let done = 0; done < n; ) {
    const b = Math.min(1000, n - done);
    const z = Float32Array.from({ length: b * d }, () => rng.normal());
    const y = tf.tidy(() => G.toY(tf.tensor2d(z, [b, d])));
    out.set((await y.data()) as Float32Array, done * d);
    y.dispose();
    done += b;
  }
  return out;
}

/** The k eigenvectors of a symmetric d×d matrix with the largest eigenvalues, largest first. */
function topEigen(m: Float64Array, d: number, k: number): Array<{ value: number; vector: Float64Array }> {
  const { values, vectors } = symmetricEigen(m, d);
  const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a]);
  return order.slice(0, k).map((c) => {
    const v = Float64Array.from({ length: d }, (_, i) => vectors[i * d + c]);
    // A fixed sign (largest component positive), so the same model always gives the same direction.
    let big = 0;
    for (let i = 0; i < d; i++) if (Math.abs(v[i]) > Math.abs(v[big])) big = i;
    if (v[big] < 0) for (let i = 0; i < d; i++) v[i] = -v[i];
    return { value: values[c], vector: v };
  });
}

/** std and mean of the codes' projections on n. */
function spread(y: Float32Array, d: number, n: Float64Array): { mean: number; std: number } {
  const count = y.length / d;
  let s = 0;
  let s2 = 0;
  for (let r = 0; r < count; r++) {
    let p = 0;
    for (let j = 0; j < d; j++) p += y[r * d + j] * n[j];
    s += p;
    s2 += p * p;
  }
  const mean = s / count;
  return { mean, std: Math.sqrt(Math.max(s2 / count - mean * mean, 0)) };
}

function asDirection(name: string, method: DirectionMethod, value: number, n: Float64Array, codes: Float32Array, d: number): Direction {
  const { mean, std } = spread(codes, d, n);
  return { name, method, value, n, scale: std, meanPos: mean, meanNeg: mean, trainAccuracy: Number.NaN, heldOutAccuracy: Number.NaN, positives: 0 };
}

/** The name of the first styled layer's affine weight in a generator's state. */
export const FIRST_AFFINE = 'synthesis.b4.conv.conv.affine.weight';

/** SeFa: the top `k` eigenvectors of W Wᵀ for the first styled layer's affine W [d, channels]. */
export async function sefaDirections(G: Generator, k: number, opts: { samples?: number; seed?: number } = {}): Promise<Direction[]> {
  const d = G.config.latentSize;
  const w = G.namedState().get(FIRST_AFFINE);
  if (!w) throw new Error(`the generator has no '${FIRST_AFFINE}' (is it a lia generator?)`);
  checkCount(k, d);
  const [rows, cols] = w.shape;
  const data = (await w.data()) as Float32Array;
  const m = new Float64Array(d * d);
  for (let i = 0; i < rows; i++) {
    for (let j = i; j < rows; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += data[i * cols + c] * data[j * cols + c];
      m[i * d + j] = m[j * d + i] = s;
    }
  }
  const codes = await sampleCodes(G, opts.samples ?? 10_000, opts.seed ?? 0);
  return topEigen(m, d, k).map((e, i) => asDirection(`sefa-${i}`, 'sefa', e.value, e.vector, codes, d));
}

/** PCA in y: the top `k` principal axes of sampled codes; `value` is the variance along each. */
export async function pcaDirections(G: Generator, k: number, opts: { samples?: number; seed?: number } = {}): Promise<Direction[]> {
  const d = G.config.latentSize;
  checkCount(k, d);
  const codes = await sampleCodes(G, opts.samples ?? 10_000, opts.seed ?? 0);
  const acc = new MomentAccumulator(d);
  acc.add(codes);
  return topEigen(acc.covariance(), d, k).map((e, i) => asDirection(`pca-${i}`, 'pca', e.value, e.vector, codes, d));
}

function checkCount(k: number, d: number): void {
  if (!Number.isInteger(k) || k < 1 || k > d) throw new Error(`the number of directions must be an integer in 1…${d}, got ${k}`);
}
