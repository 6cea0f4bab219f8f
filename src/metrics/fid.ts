// Fréchet distance between Gaussians fitted to feature activations of two image sets (FID, Heusel
// et al. 2017):  ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁ Σ₂).
// The standard FID uses one particular Inception-v3; here the features come from the project's own
// feature network (its penultimate `fc` layer by default), so every FID is labelled with that
// network's name (fid10k_fmnistnet) and is comparable only with FIDs from the same network file.
// Features stream through a float64 accumulator: only one batch of activations exists at a time.
import * as tf from '@tensorflow/tfjs';
import type { FeatureLayer, FeatureNet } from '../models/features.js';
import { MomentAccumulator, traceSqrtProduct } from './linalg.js';
import type { ImageSource } from './types.js';

export interface GaussianStats {
  mean: Float64Array;
  /** [dim, dim], row-major, unbiased. */
  cov: Float64Array;
  dim: number;
  count: number;
}

/** The layer whose activations FID compares (the penultimate one, as Inception's pool3 is). */
export const FID_LAYER: FeatureLayer = 'fc';

/** Mean and covariance of `layer` activations (flattened per image) over every image of `source`. */
export async function featureStats(
  net: FeatureNet,
  source: ImageSource,
  opts: { layer?: FeatureLayer; onBatch?: (done: number) => void } = {},
): Promise<GaussianStats> {
  const layer = opts.layer ?? FID_LAYER;
  let acc: MomentAccumulator | null = null;
  for await (const x of source()) {
    let f: tf.Tensor | null = null;
    try {
      f = tf.tidy(() => {
        const a = net.features(x, [layer])[layer];
        return tf.reshape(a, [a.shape[0], -1]);
      });
      acc ??= new MomentAccumulator(f.shape[1]!);
      acc.add((await f.data()) as Float32Array);
      opts.onBatch?.(acc.count);
    } finally {
      x.dispose();
      f?.dispose();
    }
  }
  if (!acc || acc.count < 2) throw new Error(`feature statistics need at least 2 images, got ${acc?.count ?? 0}`);
  return { mean: acc.mean(), cov: acc.covariance(), dim: acc.dim, count: acc.count };
}

/** Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), in float64. */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  if (a.dim !== b.dim) throw new Error(`Fréchet distance: feature dimensions differ (${a.dim} vs ${b.dim})`);
  const n = a.dim;
  let meanTerm = 0;
  let trA = 0;
  let trB = 0;
  for (let i = 0; i < n; i++) {
    meanTerm += (a.mean[i] - b.mean[i]) ** 2;
    trA += a.cov[i * n + i];
    trB += b.cov[i * n + i];
  }
  // Rounding can make the total a hair negative for identical sets.
  return Math.max(0, meanTerm + trA + trB - 2 * traceSqrtProduct(a.cov, b.cov, n));
}

/** FID between two image sources through `net`. */
export async function computeFid(net: FeatureNet, real: ImageSource | GaussianStats, fake: ImageSource, layer?: FeatureLayer): Promise<number> {
  const realStats = typeof real === 'function' ? await featureStats(net, real, { layer }) : real;
  const fakeStats = await featureStats(net, fake, { layer });
  return frechetDistance(realStats, fakeStats);
}
