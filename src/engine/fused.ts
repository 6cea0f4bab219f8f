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

/**
 * StyleGAN2's styled convolution in one kernel (nn/modulated-conv.ts): inputs x, s, weight, bias,
 * noise, strength; attrs wScale, upsample, demodulate, hasNoise, act (0 linear, 1 lrelu), alpha,
 * gain. Its gradient is one kernel too (first order only: the generator needs no second order).
 */
export const FUSED_STYLED_CONV = 'LiaStyledConv';
export const FUSED_STYLED_CONV_GRAD = 'LiaStyledConvGrad';

/**
 * The equalised-lr dense layer in one kernel (nn/dense.ts): inputs x, weight, bias; attrs wScale,
 * lrMul, hasBias, act, alpha, gain. Its gradient is one kernel (first order only).
 */
export const FUSED_DENSE = 'LiaDense';
export const FUSED_DENSE_GRAD = 'LiaDenseGrad';

/**
 * The equalised-lr stride-1 'same' convolution with bias in one kernel (nn/conv.ts): inputs x,
 * weight, bias; attrs wScale, hasBias. Its gradient is made of differentiable ops (conv gradients,
 * a scale and a sum), so second order (R1) works through it.
 */
export const FUSED_SCALED_CONV = 'LiaScaledConv';
/** Its input gradient conv2dTranspose(dy, weight·wScale): inputs dy, weight; attrs wScale. */
export const SCALED_CONV_BACKPROP_INPUT = 'LiaScaledConvBackpropInput';
/** Its filter gradient wScale·corr(x, dy): inputs x, dy; attrs wScale, k. */
export const SCALED_CONV_BACKPROP_FILTER = 'LiaScaledConvBackpropFilter';

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

export interface StyledConvOptions {
  wScale: number;
  upsample: boolean;
  demodulate: boolean;
  activation: 'linear' | 'lrelu';
}

/** Whether styledConv runs as one kernel here (float32 inputs on a backend that has it). */
export function hasFusedStyledConv(): boolean {
  return fusedOpsEnabled && hasFusedKernel(FUSED_STYLED_CONV);
}

let fusedOpsEnabled = true;

/** Runs f with the composed ops instead of the fused kernels (to compare the two on one backend). */
export function withComposedOps<T>(f: () => T): T {
  const before = fusedOpsEnabled;
  fusedOpsEnabled = false;
  try {
    return f();
  } finally {
    fusedOpsEnabled = before;
  }
}

/**
 * act(conv(up?(x ⊙ s), weight·wScale) ⊙ d + noise·strength + bias), d the demodulation, as one
 * kernel (hasFusedStyledConv() must hold). `noise` null: no noise (strength then unused).
 */
export function styledConv(x: tf.Tensor4D, s: tf.Tensor2D, weight: tf.Tensor4D, bias: tf.Tensor, noise: tf.Tensor | null, strength: tf.Tensor, o: StyledConvOptions): tf.Tensor4D {
  const attrs = { wScale: o.wScale, upsample: o.upsample ? 1 : 0, demodulate: o.demodulate ? 1 : 0, hasNoise: noise ? 1 : 0, act: o.activation === 'lrelu' ? 1 : 0, alpha: 0.2, gain: Math.SQRT2 };
  // Without noise, strength stands in for it (its gradient is then zero).
  const inputs = { x, s, weight, bias, noise: noise ?? strength, strength };
  return tf.engine().runKernel(FUSED_STYLED_CONV, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** Whether dense runs as one kernel here. */
export function hasFusedDense(): boolean {
  return fusedOpsEnabled && hasFusedKernel(FUSED_DENSE);
}

/** act(x · weight·wScale + bias·lrMul)·gain as one kernel (hasFusedDense() must hold); first order only. */
export function dense(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor | null, o: { wScale: number; lrMul: number; activation: 'linear' | 'lrelu' }): tf.Tensor2D {
  const attrs = { wScale: o.wScale, lrMul: o.lrMul, hasBias: bias ? 1 : 0, act: o.activation === 'lrelu' ? 1 : 0, alpha: 0.2, gain: Math.SQRT2 };
  return tf.engine().runKernel(FUSED_DENSE, { x, weight, bias: bias ?? weight } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** Whether scaledConv runs as one kernel here. */
export function hasFusedScaledConv(): boolean {
  return fusedOpsEnabled && hasFusedKernel(FUSED_SCALED_CONV);
}

/** conv2d(x, weight·wScale, 1, 'same') + bias as one kernel (hasFusedScaledConv() must hold). */
export function scaledConv(x: tf.Tensor4D, weight: tf.Tensor4D, bias: tf.Tensor | null, wScale: number): tf.Tensor4D {
  const attrs = { wScale, hasBias: bias ? 1 : 0 };
  return tf.engine().runKernel(FUSED_SCALED_CONV, { x, weight, bias: bias ?? weight } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
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
    kernelName: FUSED_STYLED_CONV,
    inputsToSave: ['x', 's', 'weight', 'bias', 'noise', 'strength'],
    gradFunc: (dy, saved, attrs) => {
      const [x, s, weight, bias, noise, strength] = saved;
      // All gradients in one call, made here: tfjs runs each input's function below in its own tidy,
      // which would dispose the other results of a call made inside the first one.
      const g = tf.engine().runKernel(FUSED_STYLED_CONV_GRAD, { x, s, weight, bias, noise, strength, dy: dy as tf.Tensor }, attrs) as unknown as tf.Tensor[];
      return { x: () => g[0], s: () => g[1], weight: () => g[2], bias: () => g[3], noise: () => tf.zerosLike(noise), strength: () => g[4] };
    },
  });
  // The scaled conv C(x, W) = conv(x, W·s) + b, its input gradient I(dy, W) = convᵀ(dy, W·s) and its
  // filter gradient F(x, dy) = s·corr(x, dy) differentiate into one another, to any order:
  //   ∂⟨g, C(x, W)⟩: x → I(g, W), W → F(x, g), b → Σ g;
  //   ∂⟨g, I(dy, W)⟩: dy → C(g, W) (no bias), W → F(g, dy);
  //   ∂⟨g, F(x, dy)⟩: x → I(dy, g), dy → C(x, g) (no bias).
  const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number>) =>
    tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const conv = (x: tf.Tensor, w: tf.Tensor, wScale: number) => run(FUSED_SCALED_CONV, { x, weight: w, bias: w }, { wScale, hasBias: 0 });
  const input = (dy: tf.Tensor, w: tf.Tensor, wScale: number) => run(SCALED_CONV_BACKPROP_INPUT, { dy, weight: w }, { wScale });
  const filter = (x: tf.Tensor, dy: tf.Tensor, wScale: number, k: number) => run(SCALED_CONV_BACKPROP_FILTER, { x, dy }, { wScale, k });
  tf.registerGradient({
    kernelName: FUSED_SCALED_CONV,
    inputsToSave: ['x', 'weight', 'bias'],
    gradFunc: (dy, saved, attrs) => {
      const [x, weight, bias] = saved;
      const { wScale, hasBias } = attrs as unknown as { wScale: number; hasBias: number };
      const g = dy as tf.Tensor;
      return {
        x: () => input(g, weight, wScale),
        weight: () => filter(x, g, wScale, weight.shape[0]),
        bias: () => (hasBias ? tf.sum(g, [0, 1, 2]) : tf.zerosLike(bias)),
      };
    },
  });
  tf.registerGradient({
    kernelName: SCALED_CONV_BACKPROP_INPUT,
    inputsToSave: ['dy', 'weight'],
    gradFunc: (g, saved, attrs) => {
      const [dy, weight] = saved;
      const { wScale } = attrs as unknown as { wScale: number };
      return { dy: () => conv(g as tf.Tensor, weight, wScale), weight: () => filter(g as tf.Tensor, dy, wScale, weight.shape[0]) };
    },
  });
  tf.registerGradient({
    kernelName: SCALED_CONV_BACKPROP_FILTER,
    inputsToSave: ['x', 'dy'],
    gradFunc: (g, saved, attrs) => {
      const [x, dy] = saved;
      const { wScale } = attrs as unknown as { wScale: number };
      return { x: () => input(dy, g as tf.Tensor, wScale), dy: () => conv(x, g as tf.Tensor, wScale) };
    },
  });
  tf.registerGradient({
    kernelName: FUSED_DENSE,
    inputsToSave: ['x', 'weight', 'bias'],
    gradFunc: (dy, saved, attrs) => {
      const [x, weight, bias] = saved;
      const g = tf.engine().runKernel(FUSED_DENSE_GRAD, { x, weight, bias, dy: dy as tf.Tensor }, attrs) as unknown as tf.Tensor[];
      return { x: () => g[0], weight: () => g[1], bias: () => g[2] };
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
