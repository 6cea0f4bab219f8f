// Refinement and optimisation of many test images (Table 3's rows, Figures 10 and 11): Adam from a
// starting code, in chunks of 128 images (one Adam batch each), with the per-step loss averaged over
// the chunks and the wall time per image.
import * as tf from '@tensorflow/tfjs';
import { initialCode, type LiaModel } from '../../invert/model.js';
import type { RefineInit, RefineSpace, RefineStep } from '../../invert/refine.js';
import type { FeatureLayer, FeatureNet } from '../../models/features.js';
import * as api from '../../node.js';
import { say } from './run.js';

export interface OptRun {
  /** The optimised images, flat NHWC in [-1, 1]. */
  images: Float32Array;
  /** Batch-mean losses per step, averaged over the chunks (weighted by their sizes). */
  history: RefineStep[];
  secPerImage: number;
}

export interface OptSetting {
  space: RefineSpace;
  init: RefineInit;
  steps: number;
  lr: number;
  /** Weight of the perceptual term of eq. 13 (0: pixel MSE only). */
  beta: number;
  net?: FeatureNet;
  layer: FeatureLayer;
}

/** Optimises the code of every image of x (shape r × r × c) from `init` in `space`. */
export async function optimise(m: LiaModel, x: Float32Array, r: number, c: number, s: OptSetting, quiet?: boolean): Promise<OptRun> {
  const size = r * r * c;
  const n = x.length / size;
  const chunk = 128;
  const images = new Float32Array(x.length);
  const sum: RefineStep[] = Array.from({ length: s.steps }, (_, k) => ({ step: k + 1, loss: 0, mse: 0, perceptual: 0 }));
  const t0 = performance.now();
  for (let i = 0; i < n; i += chunk) {
    const b = Math.min(chunk, n - i);
    const xt = tf.tensor4d(x.subarray(i * size, (i + b) * size), [b, r, r, c]);
    const code0 = initialCode(m, s.space, s.init, xt, 1000 + i);
    const perceptualNet = s.beta > 0 ? s.net : undefined;
    const res = await api.refine(m, xt, { init: code0, steps: s.steps, lr: s.lr, beta: s.beta, perceptualNet, perceptualLayer: s.layer, space: s.space });
    res.history.forEach((h, k) => {
      sum[k].loss += (h.loss * b) / n;
      sum[k].mse += (h.mse * b) / n;
      sum[k].perceptual += (h.perceptual * b) / n;
    });
    images.set((await res.images.data()) as Float32Array, i * size);
    tf.dispose([xt, code0, res.code, res.images]);
    say(quiet, `  ${s.space} from ${s.init}: ${Math.min(n, i + b)}/${n} images, ${s.steps} steps`);
  }
  return { images, history: sum, secPerImage: (performance.now() - t0) / 1000 / n };
}
