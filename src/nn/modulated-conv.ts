// StyleGAN2's modulated convolution, the styled conv block (modulated conv + noise + bias + lrelu)
// and the toRGB output layer.
//
// tfjs has no grouped convolution, so the weights are not modulated per sample. The equivalent
// "non-fused" form (StyleGAN2 paper, appendix B) scales the input activations by the style, runs one
// shared convolution, then scales the output by the demodulation coefficients:
//   y = conv(x ⊙ s, W·c) ⊙ d,   d_o = 1/√(Σ_{k,i} (W_{k,i,o}·c)² s_i² + 1e-8)
// which equals conv(x, W'·) with W'_{k,i,o} = W_{k,i,o}·c·s_i·d_o exactly.
import * as tf from '@tensorflow/tfjs';
import { randomNormal } from '../engine/random.js';
import { hasFusedStyledConv, styledConv } from '../engine/fused.js';
import { Module, randn } from './module.js';
import { takeShard, type BatchShard } from './batch-shard.js';
import { EqualDense } from './dense.js';
import { activate, upsample2x } from './ops.js';
import type { Rng } from '../util/rng.js';

export class ModulatedConv2d extends Module {
  readonly affine: EqualDense; // y → per-input-channel style
  readonly weight: tf.Variable; // [k, k, in, out]
  readonly wScale: number;

  constructor(
    rng: Rng,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    latentSize: number,
    readonly opts: { demodulate?: boolean; upsample?: boolean } = {},
  ) {
    super();
    // Styles start at 1 so that the initial network behaves like an unmodulated one.
    this.affine = this.child('affine', new EqualDense(rng, latentSize, inChannels, { biasInit: 1, firstOrder: true }));
    this.weight = this.param('weight', randn(rng, [kernel, kernel, inChannels, outChannels]));
    this.wScale = 1 / Math.sqrt(inChannels * kernel * kernel);
  }

  /** x [N, H, W, in], y [N, latent] → [N, H', W', out] (H' = 2H when upsampling). */
  forward(x: tf.Tensor4D, y: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n] = x.shape;
      const s = this.affine.forward(y); // [N, in]
      let h = tf.mul(x, tf.reshape(s, [n, 1, 1, this.inChannels])) as tf.Tensor4D;
      if (this.opts.upsample) h = upsample2x(h);
      const w = tf.mul(this.weight, this.wScale) as tf.Tensor4D;
      let out: tf.Tensor = tf.conv2d(h, w, 1, 'same');
      if (this.opts.demodulate ?? true) {
        const wsq = tf.sum(tf.square(w), [0, 1]) as tf.Tensor2D; // [in, out]
        const d = tf.rsqrt(tf.add(tf.matMul(tf.square(s), wsq), 1e-8)); // [N, out]
        out = tf.mul(out, tf.reshape(d, [n, 1, 1, this.outChannels]));
      }
      return out as tf.Tensor4D;
    });
  }
}

export type NoiseMode = 'random' | 'const' | 'none';

/** Per-pixel noise with a learned per-layer strength (initially 0), and a fixed noise map for 'const'. */
export class NoiseInjection extends Module {
  readonly strength: tf.Variable;
  readonly fixed: tf.Variable; // [1, H, W, 1]

  constructor(rng: Rng, readonly resolution: number) {
    super();
    this.strength = this.param('strength', tf.zeros([]));
    this.fixed = this.buffer('fixed', randn(rng, [1, resolution, resolution, 1]));
  }

  /** shard: x is this rank's rows of a global batch; the noise is drawn for that batch and cut. */
  forward(x: tf.Tensor4D, mode: NoiseMode, seed: number, shard?: BatchShard): tf.Tensor4D {
    if (mode === 'none') return x;
    return tf.tidy(() => {
      const [n, h, w] = x.shape;
      const rows = n * (shard?.count ?? 1);
      const noise = mode === 'const' ? this.fixed : takeShard(randomNormal([rows, h, w, 1], seed), shard);
      return tf.add(x, tf.mul(noise, this.strength)) as tf.Tensor4D;
    });
  }
}

/** Modulated conv → noise → bias → lrelu·√2. */
export class StyledConv extends Module {
  readonly conv: ModulatedConv2d;
  readonly noise: NoiseInjection;
  readonly bias: tf.Variable;

  constructor(rng: Rng, inChannels: number, outChannels: number, latentSize: number, resolution: number, upsample = false) {
    super();
    this.conv = this.child('conv', new ModulatedConv2d(rng, inChannels, outChannels, 3, latentSize, { upsample }));
    this.noise = this.child('noise', new NoiseInjection(rng, resolution));
    this.bias = this.param('bias', tf.zeros([outChannels]));
  }

  forward(x: tf.Tensor4D, y: tf.Tensor2D, noise: NoiseMode, seed: number, shard?: BatchShard): tf.Tensor4D {
    return tf.tidy(() => {
      if (hasFusedStyledConv()) {
        // One kernel (engine/fused.ts) for the same operations as below.
        const [n, h, w] = x.shape;
        const up = this.conv.opts.upsample ? 2 : 1;
        const rows = n * (shard?.count ?? 1);
        const map = noise === 'none' ? null : noise === 'const' ? this.noise.fixed : takeShard(randomNormal([rows, h * up, w * up, 1], seed), shard);
        const opts = { wScale: this.conv.wScale, upsample: !!this.conv.opts.upsample, demodulate: true, activation: 'lrelu' as const };
        return styledConv(x, this.conv.affine.forward(y), this.conv.weight as tf.Tensor4D, this.bias, map, this.noise.strength, opts);
      }
      const h = this.noise.forward(this.conv.forward(x, y), noise, seed, shard);
      return activate(tf.add(h, this.bias), 'lrelu') as tf.Tensor4D;
    });
  }
}

/** 1×1 modulated conv without demodulation, plus bias: features → image channels. */
export class ToRGB extends Module {
  readonly conv: ModulatedConv2d;
  readonly bias: tf.Variable;

  constructor(rng: Rng, inChannels: number, imageChannels: number, latentSize: number) {
    super();
    this.conv = this.child('conv', new ModulatedConv2d(rng, inChannels, imageChannels, 1, latentSize, { demodulate: false }));
    this.bias = this.param('bias', tf.zeros([imageChannels]));
  }

  forward(x: tf.Tensor4D, y: tf.Tensor2D): tf.Tensor4D {
    if (hasFusedStyledConv()) {
      const opts = { wScale: this.conv.wScale, upsample: false, demodulate: false, activation: 'linear' as const };
      return tf.tidy(() => styledConv(x, this.conv.affine.forward(y), this.conv.weight as tf.Tensor4D, this.bias, null, this.bias, opts));
    }
    return tf.tidy(() => tf.add(this.conv.forward(x, y), this.bias) as tf.Tensor4D);
  }
}
