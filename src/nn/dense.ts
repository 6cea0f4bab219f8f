// Fully connected layer with equalised learning rate (ProGAN/StyleGAN): weights are stored as
// N(0, 1/lrMul²) and scaled at run time by lrMul/√fanIn, so Adam sees every layer at the same scale;
// lrMul < 1 slows a layer down (0.01 in the mapping networks).
import * as tf from '@tensorflow/tfjs';
import { Module, randn } from './module.js';
import { activate, type Activation } from './ops.js';
import { dense, hasFusedDense } from '../engine/fused.js';
import type { Rng } from '../util/rng.js';

export interface DenseOptions {
  bias?: boolean;
  biasInit?: number;
  lrMul?: number;
  act?: Activation;
  /**
   * The layer is never differentiated twice (the generator's layers; not the discriminator's, whose
   * R1 penalty needs second order): on backends that have it, it runs as one fused kernel forward
   * and one backward (engine/fused.ts).
   */
  firstOrder?: boolean;
}

export class EqualDense extends Module {
  readonly weight: tf.Variable; // [in, out]
  readonly bias: tf.Variable | null; // [out]
  private readonly wScale: number;
  private readonly lrMul: number;
  private readonly act: Activation;
  private readonly firstOrder: boolean;

  constructor(rng: Rng, readonly inFeatures: number, readonly outFeatures: number, opts: DenseOptions = {}) {
    super();
    this.lrMul = opts.lrMul ?? 1;
    this.act = opts.act ?? 'linear';
    this.firstOrder = opts.firstOrder ?? false;
    this.wScale = this.lrMul / Math.sqrt(inFeatures);
    this.weight = this.param('weight', randn(rng, [inFeatures, outFeatures], 1 / this.lrMul));
    this.bias = opts.bias === false ? null : this.param('bias', tf.fill([outFeatures], (opts.biasInit ?? 0) / this.lrMul));
  }

  /** x [N, in] → [N, out] */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      if (this.firstOrder && hasFusedDense()) return dense(x, this.weight as tf.Tensor2D, this.bias, { wScale: this.wScale, lrMul: this.lrMul, activation: this.act });
      let y: tf.Tensor = tf.matMul(x, tf.mul(this.weight, this.wScale) as tf.Tensor2D);
      if (this.bias) y = tf.add(y, tf.mul(this.bias, this.lrMul));
      return activate(y, this.act) as tf.Tensor2D;
    });
  }
}
