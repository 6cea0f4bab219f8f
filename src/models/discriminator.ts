// c, the discriminator: fromRGB, residual blocks that halve the resolution down to 4×4, minibatch
// standard deviation, a 3×3 conv and two dense layers. Each block is conv → avgPool → conv with an
// avgPool → 1×1 conv skip, summed and scaled by 1/√2 (StyleGAN2's resnet D; pooling before the second
// conv instead of a strided conv keeps every conv stride 1, where the fast gradient kernels apply).
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module.js';
import { EqualConv2d } from '../nn/conv.js';
import { EqualDense } from '../nn/dense.js';
import { downsample2x } from '../nn/ops.js';
import { minibatchStd } from '../nn/minibatch-std.js';
import { channelWidth, levels, type WidthConfig } from './widths.js';
import type { Rng } from '../util/rng.js';

export interface DiscriminatorConfig {
  resolution: number;
  channels: number;
  widths: WidthConfig;
  mbstdGroup: number; // 4 in StyleGAN
}

class ResBlock extends Module {
  readonly conv1: EqualConv2d;
  readonly conv2: EqualConv2d;
  readonly skip: EqualConv2d;
  constructor(rng: Rng, cin: number, cout: number) {
    super();
    this.conv1 = this.child('conv1', new EqualConv2d(rng, cin, cin, 3, { act: 'lrelu' }));
    this.conv2 = this.child('conv2', new EqualConv2d(rng, cin, cout, 3, { act: 'lrelu' }));
    this.skip = this.child('skip', new EqualConv2d(rng, cin, cout, 1, { bias: false }));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const main = this.conv2.forward(downsample2x(this.conv1.forward(x)));
      const skip = this.skip.forward(downsample2x(x));
      return tf.mul(tf.add(main, skip), Math.SQRT1_2) as tf.Tensor4D;
    });
  }
}

export class Discriminator extends Module {
  readonly fromRgb: EqualConv2d;
  private readonly blocks: ResBlock[] = [];
  readonly finalConv: EqualConv2d;
  readonly fc: EqualDense;
  readonly out: EqualDense;

  constructor(rng: Rng, readonly config: DiscriminatorConfig) {
    super();
    const res = levels(config.resolution).reverse(); // R, R/2, …, 4
    const w = (r: number) => channelWidth(r, config.widths);
    this.fromRgb = this.child('fromrgb', new EqualConv2d(rng, config.channels, w(config.resolution), 1, { act: 'lrelu' }));
    for (const r of res.slice(0, -1)) this.blocks.push(this.child(`b${r}`, new ResBlock(rng, w(r), w(r / 2))));
    const c4 = w(4);
    this.finalConv = this.child('b4.conv', new EqualConv2d(rng, c4 + 1, c4, 3, { act: 'lrelu' }));
    this.fc = this.child('b4.fc', new EqualDense(rng, 16 * c4, c4, { act: 'lrelu' }));
    this.out = this.child('b4.out', new EqualDense(rng, c4, 1));
  }

  /** images [N, R, R, C] in [-1, 1] → logits [N, 1] */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = this.fromRgb.forward(x);
      for (const b of this.blocks) h = b.forward(h);
      h = this.finalConv.forward(minibatchStd(h, this.config.mbstdGroup));
      const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
      return this.out.forward(this.fc.forward(flat));
    });
  }
}
