// Fully connected layer with equalised learning rate (ProGAN/StyleGAN): weights are stored as
// N(0, 1/lrMul²) and scaled at run time by lrMul/√fanIn, so Adam sees every layer at the same scale;
// lrMul < 1 slows a layer down (0.01 in the mapping networks).
import * as tf from '@tensorflow/tfjs';
import { Module, randn } from './module.js';
import { activate, type Activation } from './ops.js';
import type { Rng } from '../util/rng.js';

export interface DenseOptions {
  bias?: boolean;
  biasInit?: number;
  lrMul?: number;
  act?: Activation;
}

export class EqualDense extends Module {
  readonly weight: tf.Variable; // [in, out]
  readonly bias: tf.Variable | null; // [out]
  private readonly wScale: number;
  private readonly lrMul: number;
  private readonly act: Activation;

  constructor(rng: Rng, readonly inFeatures: number, readonly outFeatures: number, opts: DenseOptions = {}) {
    super();
    this.lrMul = opts.lrMul ?? 1;
    this.act = opts.act ?? 'linear';
    this.wScale = this.lrMul / Math.sqrt(inFeatures);
    this.weight = this.param('weight', randn(rng, [inFeatures, outFeatures], 1 / this.lrMul));
    this.bias = opts.bias === false ? null : this.param('bias', tf.fill([outFeatures], (opts.biasInit ?? 0) / this.lrMul));
  }

  /** x [N, in] → [N, out] */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let y: tf.Tensor = tf.matMul(x, tf.mul(this.weight, this.wScale) as tf.Tensor2D);
      if (this.bias) y = tf.add(y, tf.mul(this.bias, this.lrMul));
      return activate(y, this.act) as tf.Tensor2D;
    });
  }
}
