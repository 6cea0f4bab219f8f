// f, the encoder of stage 2 (PAPER.md): x → y. A residual CNN: a 3×3 input conv, one residual block
// per halving of the resolution (conv → BatchNorm → lrelu twice, average-pool downsampling, pooled
// 1×1 skip), widths doubling towards the low resolutions up to a cap, and a final dense layer to y.
// `latent: 'w'` predicts one y that is broadcast to every synthesis layer (the paper); `'wplus'`
// predicts one y per layer. For the "StyleGAN + encoder" baseline the same network predicts z.
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module.js';
import { EqualConv2d } from '../nn/conv.js';
import { EqualDense } from '../nn/dense.js';
import { BatchNorm } from '../nn/batch-norm.js';
import { activate, downsample2x } from '../nn/ops.js';
import { channelWidth, levels, type WidthConfig } from './widths.js';
import type { Rng } from '../util/rng.js';

export type EncoderLatent = 'w' | 'wplus';

export interface EncoderConfig {
  resolution: number;
  channels: number;
  latentSize: number;
  numWs: number; // the decoder's synthesis layers (used by 'wplus')
  latent: EncoderLatent;
  widths: WidthConfig;
  /** VAE-style (PAPER.md Figure 12's comparison): also predicts a log-variance per latent dimension. */
  variational?: boolean;
}

class EncoderBlock extends Module {
  readonly conv1: EqualConv2d;
  readonly bn1: BatchNorm;
  readonly conv2: EqualConv2d;
  readonly bn2: BatchNorm;
  readonly skip: EqualConv2d;
  constructor(rng: Rng, cin: number, cout: number) {
    super();
    this.conv1 = this.child('conv1', new EqualConv2d(rng, cin, cin, 3, { bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm(cin));
    this.conv2 = this.child('conv2', new EqualConv2d(rng, cin, cout, 3, { bias: false }));
    this.bn2 = this.child('bn2', new BatchNorm(cout));
    this.skip = this.child('skip', new EqualConv2d(rng, cin, cout, 1, { bias: false }));
  }
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => {
      let h = activate(this.bn1.forward(this.conv1.forward(x), training), 'lrelu') as tf.Tensor4D;
      h = downsample2x(h);
      h = activate(this.bn2.forward(this.conv2.forward(h), training), 'lrelu') as tf.Tensor4D;
      return tf.mul(tf.add(h, this.skip.forward(downsample2x(x))), Math.SQRT1_2) as tf.Tensor4D;
    });
  }
}

export class Encoder extends Module {
  readonly input: EqualConv2d;
  private readonly blocks: EncoderBlock[] = [];
  readonly fc: EqualDense;
  readonly bnFc: BatchNorm;
  readonly out: EqualDense;
  /** The latent distribution the encoder predicts into, per dimension: code = mean + std ⊙ out(h). */
  readonly codeMean: tf.Variable;
  readonly codeStd: tf.Variable;

  constructor(rng: Rng, readonly config: EncoderConfig) {
    super();
    const w = (r: number) => channelWidth(r, config.widths);
    this.input = this.child('input', new EqualConv2d(rng, config.channels, w(config.resolution), 3, { act: 'lrelu' }));
    const res = levels(config.resolution).reverse(); // R … 4
    for (const r of res.slice(0, -1)) this.blocks.push(this.child(`b${r}`, new EncoderBlock(rng, w(r), w(r / 2))));
    const flat = 16 * w(4);
    this.fc = this.child('fc', new EqualDense(rng, flat, config.latentSize));
    this.bnFc = this.child('bn_fc', new BatchNorm(config.latentSize));
    if (config.variational && config.latent === 'wplus') throw new Error('a variational encoder predicts one z: it cannot use --latent wplus');
    const outSize = (config.latent === 'wplus' ? config.numWs * config.latentSize : config.latentSize) * (config.variational ? 2 : 1);
    this.out = this.child('out', new EqualDense(rng, config.latentSize, outSize));
    this.codeMean = this.buffer('code_mean', tf.zeros([config.latentSize]));
    this.codeStd = this.buffer('code_std', tf.ones([config.latentSize]));
  }

  /**
   * Sets the per-dimension mean and standard deviation of the latent the encoder predicts into.
   * The output layer starts out near N(0, 1); the decoder's y = Φ⁻¹(z) is not centred (its mean and
   * spread are whatever stage 1 made of them), and an encoder that has to learn that offset through
   * its last layer spends most of a short run doing so. Standardising the output keeps f(x) in the
   * region of y the synthesis network was trained on from the first step (the same role as the
   * average-latent offset of pSp-style encoders). For z ~ N(0, I) it is the identity.
   */
  setCodeStatistics(mean: tf.Tensor1D, std: tf.Tensor1D): void {
    const d = this.config.latentSize;
    if (mean.size !== d || std.size !== d) throw new Error(`code statistics must have ${d} entries, got mean ${mean.size} and std ${std.size}`);
    this.codeMean.assign(mean);
    this.codeStd.assign(std);
  }

  /** images [N, R, R, C] in [-1, 1] → y [N, d] ('w') or ws [N, numWs, d] ('wplus'); the mean for a variational encoder. */
  forward(x: tf.Tensor4D, training = false): tf.Tensor2D | tf.Tensor3D {
    return tf.tidy(() => {
      const raw = this.head(x, training);
      const d = this.config.latentSize;
      if (this.config.variational) return this.standardise(tf.slice(raw, [0, 0], [-1, d]) as tf.Tensor2D);
      if (this.config.latent === 'w') return this.standardise(raw);
      return this.standardise(tf.reshape(raw, [x.shape[0], this.config.numWs, d]) as tf.Tensor3D);
    });
  }

  /** A variational encoder's posterior q(z|x): its mean and log-variance, [N, d] each. */
  forwardVariational(x: tf.Tensor4D, training = false): { mean: tf.Tensor2D; logvar: tf.Tensor2D } {
    if (!this.config.variational) throw new Error('forwardVariational needs an encoder built with variational: true');
    const d = this.config.latentSize;
    return tf.tidy(() => {
      const raw = this.head(x, training);
      return { mean: this.standardise(tf.slice(raw, [0, 0], [-1, d]) as tf.Tensor2D), logvar: tf.slice(raw, [0, d], [-1, d]) as tf.Tensor2D };
    });
  }

  /** mean + std ⊙ raw, per latent dimension (the last axis). */
  private standardise<T extends tf.Tensor2D | tf.Tensor3D>(raw: T): T {
    return tf.add(this.codeMean, tf.mul(this.codeStd, raw)) as T;
  }

  /** The network up to its last dense layer, [N, out]. */
  private head(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      let h = this.input.forward(x);
      for (const b of this.blocks) h = b.forward(h, training);
      const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
      const f = activate(this.bnFc.forward(this.fc.forward(flat), training), 'lrelu') as tf.Tensor2D;
      return this.out.forward(f);
    });
  }
}
