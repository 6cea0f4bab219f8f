// Φ, the invertible network between the disentangled space y and the latent space z (PAPER.md,
// "The model"): z = Φ(y), y = Φ⁻¹(z). NICE additive coupling blocks, each splitting v into halves
// (v1, v2) and computing u1 = v1, u2 = v2 + t(v1) — or, with the affine option,
// u2 = v2 ⊙ exp(s(v1)) + t(v1) — then reversing the feature order so the next block changes the
// other half. The inverse is exact: v2 = u2 − t(u1) (or (u2 − t(u1)) ⊙ exp(−s(u1))).
// Φ is not a normalising flow: no log-determinant is ever computed or optimised.
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module.js';
import { EqualDense } from '../nn/dense.js';
import type { Rng } from '../util/rng.js';

export type Coupling = 'additive' | 'affine';

export interface InvertibleConfig {
  latentSize: number; // even
  blocks: number; // official code: 4
  coupling: Coupling;
  lrMul: number; // official code: 0.01
}

export const DEFAULT_INVERTIBLE: Omit<InvertibleConfig, 'latentSize'> = { blocks: 4, coupling: 'additive', lrMul: 0.01 };

/** t (and s for affine): 2 dense layers as wide as the latent, leaky ReLU after both (official code). */
class CouplingNet extends Module {
  readonly fc1: EqualDense;
  readonly fc2: EqualDense;
  constructor(rng: Rng, half: number, width: number, out: number, lrMul: number) {
    super();
    this.fc1 = this.child('fc1', new EqualDense(rng, half, width, { lrMul, act: 'lrelu', firstOrder: true }));
    this.fc2 = this.child('fc2', new EqualDense(rng, width, out, { lrMul, act: 'lrelu', firstOrder: true }));
  }
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return this.fc2.forward(this.fc1.forward(x));
  }
}

class CouplingBlock extends Module {
  readonly t: CouplingNet;
  readonly s: CouplingNet | null;
  constructor(rng: Rng, private readonly cfg: InvertibleConfig) {
    super();
    const half = cfg.latentSize / 2;
    this.t = this.child('t', new CouplingNet(rng, half, cfg.latentSize, half, cfg.lrMul));
    this.s = cfg.coupling === 'affine' ? this.child('s', new CouplingNet(rng, half, cfg.latentSize, half, cfg.lrMul)) : null;
  }

  /** Bounded log-scale so exp() can neither overflow nor vanish. */
  private logScale(v1: tf.Tensor2D): tf.Tensor2D {
    return tf.tanh(this.s!.forward(v1));
  }

  forward(v: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const half = this.cfg.latentSize / 2;
      const [v1, v2] = tf.split(v, [half, half], 1) as [tf.Tensor2D, tf.Tensor2D];
      const t = this.t.forward(v1);
      const u2 = this.s ? tf.add(tf.mul(v2, tf.exp(this.logScale(v1))), t) : tf.add(v2, t);
      return tf.reverse(tf.concat([v1, u2], 1), 1) as tf.Tensor2D;
    });
  }

  inverse(u: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const half = this.cfg.latentSize / 2;
      const [u1, u2] = tf.split(tf.reverse(u, 1), [half, half], 1) as [tf.Tensor2D, tf.Tensor2D];
      let v2: tf.Tensor2D = tf.sub(u2, this.t.forward(u1));
      if (this.s) v2 = tf.mul(v2, tf.exp(tf.neg(this.logScale(u1))));
      return tf.concat([u1, v2], 1) as tf.Tensor2D;
    });
  }
}

export class InvertibleNetwork extends Module {
  readonly kind = 'invertible' as const;
  private readonly blocks: CouplingBlock[] = [];

  constructor(rng: Rng, readonly config: InvertibleConfig) {
    super();
    if (config.latentSize % 2 !== 0) throw new Error(`Φ needs an even latent size, got ${config.latentSize}`);
    for (let i = 0; i < config.blocks; i++) this.blocks.push(this.child(`block${i}`, new CouplingBlock(rng, config)));
  }

  /** z = Φ(y): the encoder side. y [N, d] → z [N, d] */
  forward(y: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.blocks.reduce((h, b) => b.forward(h), y));
  }

  /** y = Φ⁻¹(z): the decoder side. z [N, d] → y [N, d] */
  inverse(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.blocks.reduceRight((h, b) => b.inverse(h), z));
  }

  /** The generator's mapping z → y. */
  toY(z: tf.Tensor2D): tf.Tensor2D {
    return this.inverse(z);
  }
}
