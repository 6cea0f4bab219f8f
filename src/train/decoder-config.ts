// Stage-1 (decoder) training options: a typed config with documented defaults and presets, validated
// once at the edge and saved beside every run and snapshot.
import type { MappingKind } from '../models/generator.js';
import type { Coupling } from '../models/invertible.js';
import { validateAugmentOptions, type AugmentOptions } from '../augment/index.js';

export interface DecoderTrainConfig extends AugmentOptions {
  data: string; // dataset spec (see src/data): fashion-mnist, shapes, a folder, …
  dataDir?: string; // IDX folder for fashion-mnist/mnist
  resolution: number; // image side, power of two ≥ 8
  channels?: 1 | 3; // default: the dataset's own
  trainImages?: number; // use the first N images as the training split
  mirror: boolean; // random left–right mirroring of real images
  batch: number; // images per step (G and D)
  kimg: number; // training length in thousands of real images shown to D
  latentSize: number; // dz = dy
  widthBase: number; // channel width at resolution r: min(widthMax, widthBase / r)
  widthMax: number;
  mapping: MappingKind; // 'invertible' (LIA's Φ) or 'mlp' (StyleGAN's mapping: the baseline)
  phiBlocks: number; // NICE coupling blocks in Φ
  coupling: Coupling; // 'additive' (NICE) or 'affine'
  mlpLayers: number; // layers of the MLP mapping
  mappingLrMul: number; // learning-rate multiplier of Φ / the MLP (official: 0.01)
  lr: number; // Adam learning rate of G and D
  r1Gamma: number; // R1 weight γ (paper: 10)
  r1Interval: number; // lazy R1: every N D steps, scaled by N (StyleGAN2: 16)
  mixingProb: number; // probability of style mixing per G batch (0.9)
  emaKimg: number; // half-life of the generator EMA, in kimg (10)
  yAvgBeta: number; // running mean of y for truncation (StyleGAN: 0.995 per step)
  mbstdGroup: number; // minibatch-std group size
  seed: number; // seeds weights, latents, noise and the data order
  snapshotKimg: number; // snapshot (weights + optimiser + RNG) and grid every N kimg
  logSteps: number; // JSONL log line every N steps
  outDir: string; // parent folder of numbered run folders
  preset?: PresetName;
}

export type PresetName = 'demo' | 'quick' | 'small' | 'paper';

export const DEFAULT_DECODER_CONFIG: DecoderTrainConfig = {
  data: 'fashion-mnist',
  resolution: 32,
  mirror: false,
  batch: 32,
  kimg: 80,
  latentSize: 128,
  widthBase: 1024,
  widthMax: 128,
  mapping: 'invertible',
  phiBlocks: 4,
  coupling: 'additive',
  mlpLayers: 8,
  mappingLrMul: 0.01,
  lr: 0.0025,
  r1Gamma: 10,
  r1Interval: 16,
  mixingProb: 0.9,
  emaKimg: 10,
  yAvgBeta: 0.995,
  mbstdGroup: 4,
  seed: 0,
  snapshotKimg: 10,
  logSteps: 10,
  outDir: 'runs',
};

/**
 * demo: the narrow model of \`lia demo\`, trained for a few minutes (the demo sets kimg from its budget);
 * quick: recognisable Fashion-MNIST garments within an hour on 2 CPU cores (wasm);
 * small: the model ENGINE.md calibrated (G 0.78 M, D 0.87 M parameters), longer;
 * paper: the official code's scale (latent 512, widths to 512), for GPUs.
 */
export const PRESETS: Record<PresetName, Partial<DecoderTrainConfig>> = {
  demo: { resolution: 32, batch: 32, kimg: 20, latentSize: 64, widthBase: 256, widthMax: 64, emaKimg: 2, snapshotKimg: 10 },
  quick: { resolution: 32, batch: 32, kimg: 60, latentSize: 128, widthBase: 512, widthMax: 128, emaKimg: 5, snapshotKimg: 10 },
  small: { resolution: 32, batch: 32, kimg: 300, latentSize: 128, widthBase: 1024, widthMax: 128, snapshotKimg: 20 },
  paper: { batch: 32, kimg: 25000, latentSize: 512, widthBase: 16384, widthMax: 512, lr: 0.0015, emaKimg: 10, snapshotKimg: 200 },
};

/** Defaults ← preset ← explicit options; then validation with precise errors. */
export function resolveDecoderConfig(options: Partial<DecoderTrainConfig>): DecoderTrainConfig {
  const preset = options.preset ? PRESETS[options.preset] : {};
  if (options.preset && !PRESETS[options.preset]) throw new Error(`unknown preset '${options.preset}'; expected one of ${Object.keys(PRESETS).join(', ')}`);
  const explicit = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const cfg = { ...DEFAULT_DECODER_CONFIG, ...preset, ...explicit } as DecoderTrainConfig;
  validateDecoderConfig(cfg);
  return cfg;
}

export function validateDecoderConfig(c: DecoderTrainConfig): void {
  const fail = (what: string, v: unknown, expected: string) => {
    throw new Error(`invalid ${what}: ${JSON.stringify(v)} (expected ${expected})`);
  };
  if (!Number.isInteger(Math.log2(c.resolution)) || c.resolution < 8) fail('resolution', c.resolution, 'a power of two ≥ 8');
  for (const k of ['batch', 'latentSize', 'widthBase', 'widthMax', 'phiBlocks', 'mlpLayers', 'r1Interval', 'logSteps', 'mbstdGroup'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) fail(k, c[k], 'a positive integer');
  }
  if (c.latentSize % 2) fail('latentSize', c.latentSize, 'an even number (Φ splits it in halves)');
  if (c.batch % Math.min(c.mbstdGroup, c.batch)) fail('batch', c.batch, `a multiple of the minibatch-std group ${c.mbstdGroup}`);
  for (const k of ['kimg', 'lr', 'snapshotKimg', 'mappingLrMul'] as const) if (!(c[k] > 0)) fail(k, c[k], 'a positive number');
  for (const k of ['r1Gamma', 'emaKimg'] as const) if (!(c[k] >= 0)) fail(k, c[k], 'a number ≥ 0');
  for (const k of ['mixingProb', 'yAvgBeta'] as const) if (!(c[k] >= 0 && c[k] <= 1)) fail(k, c[k], 'a number in [0, 1]');
  if (c.mapping !== 'invertible' && c.mapping !== 'mlp') fail('mapping', c.mapping, "'invertible' or 'mlp'");
  if (c.coupling !== 'additive' && c.coupling !== 'affine') fail('coupling', c.coupling, "'additive' or 'affine'");
  if (!Number.isInteger(c.seed) || c.seed < 0) fail('seed', c.seed, 'a non-negative integer');
  validateAugmentOptions(c); // augment, augmentP, adaTarget, augmentPipe (src/augment)
}
