// StyleGAN's mapping MLP (8 layers, learning-rate multiplier 0.01, pixel norm on z), used instead of
// Φ for the paper's "StyleGAN + encoder" baseline (`--mapping mlp`). Not invertible.
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module.js';
import { EqualDense } from '../nn/dense.js';
import { pixelNorm } from '../nn/ops.js';
import type { Rng } from '../util/rng.js';

export interface MlpMappingConfig {
  latentSize: number;
  layers: number; // StyleGAN: 8
  lrMul: number; // StyleGAN: 0.01
}

export const DEFAULT_MLP: Omit<MlpMappingConfig, 'latentSize'> = { layers: 8, lrMul: 0.01 };

export class MlpMapping extends Module {
  readonly kind = 'mlp' as const;
  private readonly layers: EqualDense[] = [];

  constructor(rng: Rng, readonly config: MlpMappingConfig) {
    super();
    for (let i = 0; i < config.layers; i++) {
      this.layers.push(this.child(`fc${i}`, new EqualDense(rng, config.latentSize, config.latentSize, { lrMul: config.lrMul, act: 'lrelu', firstOrder: true })));
    }
  }

  /** z [N, d] → y [N, d] */
  toY(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.layers.reduce((h, l) => l.forward(h), pixelNorm(z)));
  }
}
