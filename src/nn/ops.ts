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
    gradFunc: (dy: tf.Tensor) => tf.mul(downsample2x(dy as tf.Tensor4D), 4),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * 2×2 average pooling: [N,H,W,C] → [N,H/2,W/2,C]. The AvgPool kernel itself: tf.avgPool adds a
 * Cast of its float32 result to float32 (a kernel call per pool and training pass).
 */
export function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  if (x.dtype !== 'float32') return tf.avgPool(x, 2, 2, 'valid');
  return tf.engine().runKernel('AvgPool', { x }, { filterSize: [2, 2], strides: [2, 2], pad: 'valid', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** Normalises each latent vector to unit RMS (StyleGAN's pixel norm on z before the MLP mapping). */
export function pixelNorm(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), 1e-8)));
}
