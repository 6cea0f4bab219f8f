// Exponential moving average of the generator's weights (StyleGAN: half-life of 10k images), used for
// all sampling and evaluation.
import * as tf from '@tensorflow/tfjs';
import type { Module } from '../nn/module.js';
import { defaultAdamMode, MULTI_CHUNK, type AdamMode } from '../optim/adam.js';
import { EMA_STEP, EMA_STEP_MULTI, runMultiKernel } from '../engine/fused.js';

/** EMA half-life ramp-up (StyleGAN2-ADA): the half-life never exceeds 5 % of the images seen so far. */
export const EMA_RAMPUP = 0.05;

/** The half-life in images after `imagesSeen` images: `emaKimg` thousand, ramped up from 0. */
export function emaHalfLifeImages(emaKimg: number, imagesSeen: number): number {
  return Math.min(emaKimg * 1000, imagesSeen * EMA_RAMPUP);
}

/** β for one step of `batch` images with a half-life of `halfLifeImages`. */
export function emaBeta(batch: number, halfLifeImages: number): number {
  return halfLifeImages > 0 ? 0.5 ** (batch / halfLifeImages) : 0;
}

/**
 * ema ← param + β (ema − param) for every trainable parameter; buffers (ȳ, fixed noise) are copied.
 * In 'js' mode (wasm, cpu) the arithmetic runs in a loop instead of ~4 kernels per tensor; in
 * 'fused' mode (torch) it is one kernel with the same float64 arithmetic, in 'multi' mode one kernel
 * for all parameters with that arithmetic.
 */
export function updateEma(ema: Module, model: Module, beta: number, mode: AdamMode = defaultAdamMode()): void {
  const src = model.namedState();
  const trainable = new Set(model.namedParameters().keys());
  if (mode === 'multi') {
    // Buffers copied, every trainable parameter in one EMA_STEP_MULTI call.
    const pairs: [tf.Variable, tf.Variable][] = [];
    for (const [k, e] of ema.namedState()) {
      const p = src.get(k)!;
      if (trainable.has(k)) pairs.push([e, p]);
      else e.assign(p);
    }
    for (let start = 0; start < pairs.length; start += MULTI_CHUNK) {
      const part = pairs.slice(start, start + MULTI_CHUNK);
      const outs = runMultiKernel(EMA_STEP_MULTI, part.flat(), { beta });
      part.forEach(([e], i) => e.assign(outs[i]));
      tf.dispose(outs);
    }
    return;
  }
  tf.tidy(() => {
    for (const [k, e] of ema.namedState()) {
      const p = src.get(k)!;
      if (!trainable.has(k)) e.assign(p);
      else if (mode === 'tensor') e.assign(tf.add(p, tf.mul(tf.sub(e, p), beta)));
      else if (mode === 'fused') e.assign(tf.engine().runKernel(EMA_STEP, { ema: e, p }, { beta } as unknown as tf.NamedAttrMap) as tf.Tensor);
      else {
        const es = e.dataSync() as Float32Array;
        const ps = p.dataSync() as Float32Array;
        const out = new Float32Array(es.length);
        for (let i = 0; i < out.length; i++) out[i] = ps[i] + (es[i] - ps[i]) * beta;
        e.assign(tf.tensor(out, e.shape));
      }
    }
  });
}
