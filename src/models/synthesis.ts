// g, the synthesis network (StyleGAN2-style): a learned 4×4 constant, then per resolution an
// upsampling styled conv and a styled conv, each followed by noise; toRGB outputs summed through
// upsampling skips. Every styled layer takes its own y ("ws"), which is how style mixing works;
// LIA itself broadcasts one y to all layers (PAPER.md, W not W+).
import * as tf from '@tensorflow/tfjs';
import { Module, randn } from '../nn/module.js';
import { StyledConv, ToRGB, type NoiseMode } from '../nn/modulated-conv.js';
import { upsample2x } from '../nn/ops.js';
import { channelWidth, levels, type WidthConfig } from './widths.js';
import type { Rng } from '../util/rng.js';
import type { BatchShard } from '../nn/batch-shard.js';

export interface SynthesisConfig {
  resolution: number;
  channels: number; // image channels: 1 (grey) or 3
  latentSize: number;
  widths: WidthConfig;
}

export interface SynthesisOptions {
  noise?: NoiseMode; // default 'random'
  noiseSeed?: number; // seeds the per-layer noise in 'random' mode
  noiseShard?: BatchShard; // data-parallel: the batch is this rank's rows of a global batch (nn/batch-shard.ts)
}

interface Level {
  resolution: number;
  up: StyledConv | null; // null at 4×4
  conv: StyledConv;
  toRgb: ToRGB;
}

export class Synthesis extends Module {
  readonly constant: tf.Variable; // [1, 4, 4, C4]
  private readonly levels: Level[] = [];
  /** How many y's a forward pass consumes (StyleGAN2's num_ws = 2·log2(res) − 2). */
  readonly numWs: number;

  constructor(rng: Rng, readonly config: SynthesisConfig) {
    super();
    const { latentSize } = config;
    const res = levels(config.resolution);
    this.constant = this.param('const', randn(rng, [1, 4, 4, channelWidth(4, config.widths)]));
    for (const r of res) {
      const c = channelWidth(r, config.widths);
      const prev = r > 4 ? channelWidth(r / 2, config.widths) : c;
      this.levels.push({
        resolution: r,
        up: r > 4 ? this.child(`b${r}.up`, new StyledConv(rng, prev, c, latentSize, r, true)) : null,
        conv: this.child(`b${r}.conv`, new StyledConv(rng, c, c, latentSize, r)),
        toRgb: this.child(`b${r}.torgb`, new ToRGB(rng, c, config.channels, latentSize)),
      });
    }
    this.numWs = 2 * res.length;
  }

  /**
   * ws: [N, numWs, d] (one y per styled layer) or y [N, d] broadcast to all layers.
   * Returns images [N, res, res, channels], roughly in [-1, 1].
   * Layer → ws index as in StyleGAN2: conv4 → 0, toRGB4 and up8 → 1, conv8 → 2, toRGB8 and up16 → 3, …
   */
  forward(ws: tf.Tensor2D | tf.Tensor3D, opts: SynthesisOptions = {}): tf.Tensor4D {
    return tf.tidy(() => {
      const noise = opts.noise ?? 'random';
      const seed = opts.noiseSeed ?? 0;
      const n = ws.shape[0];
      if (ws.rank === 3 && ws.shape[1] !== this.numWs) throw new Error(`synthesis expects ${this.numWs} ws, got ${ws.shape[1]}`);
      // One Unpack (its gradient one Pack) instead of a slice and a reshape per layer.
      const each = ws.rank === 3 ? (tf.unstack(ws, 1) as tf.Tensor2D[]) : null;
      const w = (i: number): tf.Tensor2D => (each ? each[i] : (ws as tf.Tensor2D));
      let x = tf.tile(this.constant, [n, 1, 1, 1]) as tf.Tensor4D;
      let rgb: tf.Tensor4D | null = null;
      let k = 0; // ws index
      let layer = 0; // noise seed offset
      for (const lv of this.levels) {
        if (lv.up) x = lv.up.forward(x, w(k), noise, seed + 7919 * layer++, opts.noiseShard);
        x = lv.conv.forward(x, w(k + (lv.up ? 1 : 0)), noise, seed + 7919 * layer++, opts.noiseShard);
        k += lv.up ? 1 : 0;
        const y = lv.toRgb.forward(x, w(k + 1));
        rgb = rgb ? (tf.add(upsample2x(rgb), y) as tf.Tensor4D) : y;
        k += 1;
      }
      return rgb!;
    });
  }
}
