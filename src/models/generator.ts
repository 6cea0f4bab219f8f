// The decoder side of LIA: z → y = Φ⁻¹(z) (or the MLP mapping) → x̃ = g(y), with the running mean
// of y used for truncation, and style mixing of two latents at a crossover layer.
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module.js';
import { InvertibleNetwork, DEFAULT_INVERTIBLE, type Coupling } from './invertible.js';
import { MlpMapping, DEFAULT_MLP } from './mapping.js';
import { Synthesis, type SynthesisOptions } from './synthesis.js';
import { DEFAULT_WIDTHS, type WidthConfig } from './widths.js';
import { Rng } from '../util/rng.js';

export type MappingKind = 'invertible' | 'mlp';

export interface GeneratorConfig {
  resolution: number;
  channels: number;
  latentSize: number;
  widths: WidthConfig;
  mapping: MappingKind;
  phiBlocks: number;
  coupling: Coupling;
  mlpLayers: number;
  mappingLrMul: number;
}

export function defaultGeneratorConfig(partial: Partial<GeneratorConfig> & Pick<GeneratorConfig, 'resolution' | 'channels'>): GeneratorConfig {
  return {
    latentSize: 128,
    widths: DEFAULT_WIDTHS,
    mapping: 'invertible',
    phiBlocks: DEFAULT_INVERTIBLE.blocks,
    coupling: DEFAULT_INVERTIBLE.coupling,
    mlpLayers: DEFAULT_MLP.layers,
    mappingLrMul: DEFAULT_INVERTIBLE.lrMul,
    ...partial,
  };
}

export interface GenerateOptions extends SynthesisOptions {
  truncation?: number; // ψ: y ← ȳ + ψ(y − ȳ); 1 = none
  /** Style mixing: a second latent and the first ws index that takes it. */
  mix?: { z: tf.Tensor2D; crossover: number };
}

export class Generator extends Module {
  readonly mapping: InvertibleNetwork | MlpMapping;
  readonly synthesis: Synthesis;
  readonly yAvg: tf.Variable; // running mean of y, for truncation

  constructor(seed: number, readonly config: GeneratorConfig) {
    super();
    const rng = new Rng(seed);
    this.mapping =
      config.mapping === 'invertible'
        ? this.child('phi', new InvertibleNetwork(rng, { latentSize: config.latentSize, blocks: config.phiBlocks, coupling: config.coupling, lrMul: config.mappingLrMul }))
        : this.child('mapping', new MlpMapping(rng, { latentSize: config.latentSize, layers: config.mlpLayers, lrMul: config.mappingLrMul }));
    this.synthesis = this.child('synthesis', new Synthesis(rng, config));
    this.yAvg = this.buffer('y_avg', tf.zeros([config.latentSize]));
  }

  get numWs(): number {
    return this.synthesis.numWs;
  }

  /** z [N, d] → y [N, d] */
  toY(z: tf.Tensor2D): tf.Tensor2D {
    return this.mapping.toY(z);
  }

  truncate(y: tf.Tensor2D, psi: number): tf.Tensor2D {
    return psi === 1 ? y : tf.tidy(() => tf.add(this.yAvg, tf.mul(tf.sub(y, this.yAvg), psi)) as tf.Tensor2D);
  }

  /** z [N, d] → images [N, R, R, C] */
  forward(z: tf.Tensor2D, opts: GenerateOptions = {}): tf.Tensor4D {
    return tf.tidy(() => {
      const psi = opts.truncation ?? 1;
      const y = this.truncate(this.toY(z), psi);
      if (!opts.mix) return this.synthesis.forward(y, opts);
      return this.synthesis.forward(this.mixWs(y, this.truncate(this.toY(opts.mix.z), psi), opts.mix.crossover), opts);
    });
  }

  /**
   * g(code) with the fixed noise maps, so that the same code always gives the same image (what
   * reconstruction, refinement, the applications and the metrics use): y [N, d] or ws [N, numWs, d],
   * or z [N, d] (from = 'z'), which goes through Φ⁻¹ or the MLP mapping first.
   */
  render(code: tf.Tensor, from: 'y' | 'z' = 'y'): tf.Tensor4D {
    return tf.tidy(() => this.synthesis.forward(from === 'z' ? this.toY(code as tf.Tensor2D) : (code as tf.Tensor2D | tf.Tensor3D), { noise: 'const' }));
  }

  /** ws [N, numWs, d]: y1 for layers < crossover, y2 from crossover on. */
  mixWs(y1: tf.Tensor2D, y2: tf.Tensor2D, crossover: number): tf.Tensor3D {
    return tf.tidy(() => {
      const n = this.numWs;
      const k = Math.max(0, Math.min(n, crossover));
      const parts: tf.Tensor3D[] = [];
      if (k > 0) parts.push(tf.tile(tf.expandDims(y1, 1), [1, k, 1]) as tf.Tensor3D);
      if (k < n) parts.push(tf.tile(tf.expandDims(y2, 1), [1, n - k, 1]) as tf.Tensor3D);
      return tf.concat(parts, 1) as tf.Tensor3D;
    });
  }
}
