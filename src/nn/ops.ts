// Small differentiable building blocks shared by the layers. All NHWC. Everything here has
// second-order gradients in tfjs (with the engine's registrations), which R1 needs.
import * as tf from '@tensorflow/tfjs';
import { fusedLeakyRelu } from '../engine/fused.js';

export type Activation = 'linear' | 'lrelu';

/** StyleGAN's "fused" leaky ReLU: slope 0.2, then ×√2 to keep the activations' variance. */
export function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  return act === 'lrelu' ? fusedLeakyRelu(x, 0.2, Math.SQRT2) : x;
}

/**
 * Nearest-neighbour ×2 upsampling: [N,H,W,C] → [N,2H,2W,C]. The gradient is a 2×2 sum pool
 * (4·avgPool), written with customGrad so that it is itself differentiable (second order through
 * AvgPool/AvgPoolGrad) and fast: tfjs's own resize gradient has no gradient, and the reshape + concat
 * formulation's gradient (SplitV) takes seconds on wasm.
 */
export const upsample2x: (x: tf.Tensor4D) => tf.Tensor4D = tf.customGrad(((x: tf.Tensor4D, save: tf.GradSaveFunc) => {
  const [, h, w] = x.shape as number[];
  save([]);
  return {
    value: tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [2 * h, 2 * w]),
    gradFunc: (dy: tf.Tensor) => tf.mul(tf.avgPool(dy as tf.Tensor4D, 2, 2, 'valid'), 4),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;

/** 2×2 average pooling: [N,H,W,C] → [N,H/2,W/2,C]. */
export function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 2, 2, 'valid');
}

/** Normalises each latent vector to unit RMS (StyleGAN's pixel norm on z before the MLP mapping). */
export function pixelNorm(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), 1e-8)));
}
