// Fused ops for the backends that have them. On the torch backend StyleGAN's activation
// (leaky ReLU, then a gain) is one native kernel forward and one backward, instead of two forward and
// four backward (Greater, Select, two Multiply) over the largest activations of every step. The
// arithmetic is the same float32 operations in the same order, so the results equal the composed
// ops'; other backends run the composed ops.
import * as tf from '@tensorflow/tfjs';

export const FUSED_LEAKY_RELU = 'LiaFusedLeakyRelu';
export const FUSED_LEAKY_RELU_GRAD = 'LiaFusedLeakyReluGrad';
/** One Adam step of one parameter tensor: (p, g, m, v) → (p', m', v'); train/adam.ts. */
export const ADAM_STEP = 'LiaAdamStep';
/** One EMA step: (ema, p) → p + β (ema − p); train/ema.ts. */
export const EMA_STEP = 'LiaEmaStep';
/**
 * ADAM_STEP over every parameter in one call (PyTorch's multi-tensor "foreach" optimisers):
 * inputs named 0, 1, 2, … holding p0, g0, m0, v0, p1, …; results p0', m0', v0', p1', ….
 */
export const ADAM_STEP_MULTI = 'LiaAdamStepMulti';
/** EMA_STEP over every parameter in one call: inputs ema0, p0, ema1, p1, …; results ema0', ema1', …. */
export const EMA_STEP_MULTI = 'LiaEmaStepMulti';

/** Runs a multi-tensor kernel on `inputs` in order (named by position, which keeps the order). */
export function runMultiKernel(name: string, inputs: tf.Tensor[], attrs: Record<string, number>): tf.Tensor[] {
  const named: Record<string, tf.Tensor> = {};
  inputs.forEach((t, i) => (named[String(i)] = t));
  return tf.engine().runKernel(name, named, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/** Whether the active backend implements one of the fused kernels above. */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** leakyRelu(x, alpha) · gain. */
export function fusedLeakyRelu(x: tf.Tensor, alpha: number, gain: number): tf.Tensor {
  if (x.dtype === 'float32' && hasFusedKernel(FUSED_LEAKY_RELU)) {
    return tf.engine().runKernel(FUSED_LEAKY_RELU, { x }, { alpha, gain } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.mul(tf.leakyRelu(x, alpha), gain);
}

let registered = false;

/**
 * Gradients of the fused kernels (registered with the kernels of a backend that has them):
 * d/dx [lrelu(x)·g] = dy·g·(x > 0 ? 1 : α), itself linear in dy, so its own gradient (R1's second
 * order) is the same kernel on the incoming gradient, and zero with respect to x.
 */
export function registerFusedGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: FUSED_LEAKY_RELU,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return { x: () => tf.engine().runKernel(FUSED_LEAKY_RELU_GRAD, { dy: dy as tf.Tensor, x }, attrs) as tf.Tensor };
    },
  });
  tf.registerGradient({
    kernelName: FUSED_LEAKY_RELU_GRAD,
    inputsToSave: ['x'],
    gradFunc: (ddx, saved, attrs) => {
      const [x] = saved;
      return {
        dy: () => tf.engine().runKernel(FUSED_LEAKY_RELU_GRAD, { dy: ddx as tf.Tensor, x }, attrs) as tf.Tensor,
        x: () => tf.zerosLike(x),
      };
    },
  });
}
