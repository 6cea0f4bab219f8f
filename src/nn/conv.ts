// 2-D convolution (stride 1, 'same' padding) with equalised learning rate. Downsampling is done by
// the caller with avgPool, so every conv here hits the fast stride-1 gradient kernels.
import * as tf from '@tensorflow/tfjs';
import { Module, randn } from './module.js';
import { activate, type Activation } from './ops.js';
import { hasFusedScaledConv, scaledConv } from '../engine/fused.js';
import type { Rng } from '../util/rng.js';

export class EqualConv2d extends Module {
  readonly weight: tf.Variable; // [k, k, in, out]
  readonly bias: tf.Variable | null;
  private readonly wScale: number;

  constructor(
    rng: Rng,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    private readonly opts: { bias?: boolean; act?: Activation } = {},
  ) {
    super();
    this.wScale = 1 / Math.sqrt(inChannels * kernel * kernel);
    this.weight = this.param('weight', randn(rng, [kernel, kernel, inChannels, outChannels]));
    this.bias = opts.bias === false ? null : this.param('bias', tf.zeros([outChannels]));
  }

  /** x [N, H, W, in] → [N, H, W, out] */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      // On backends that have it one kernel (engine/fused.ts; differentiable twice, for R1).
      let y: tf.Tensor = hasFusedScaledConv()
        ? scaledConv(x, this.weight as tf.Tensor4D, this.bias, this.wScale)
        : tf.conv2d(x, tf.mul(this.weight, this.wScale) as tf.Tensor4D, 1, 'same');
      if (this.bias && !hasFusedScaledConv()) y = tf.add(y, this.bias);
      return activate(y, this.opts.act ?? 'linear') as tf.Tensor4D;
    });
  }
}
