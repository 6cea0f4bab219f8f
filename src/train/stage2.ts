// Stage 2 of LIA (PAPER.md, "Two-stage training"): Φ is detached and g frozen (the EMA generator of a
// stage-1 snapshot); the encoder f is trained so that x → f → y → g reconstructs x:
//   loss_f = ‖x − x̃‖² + β1·‖ε(x) − ε(x̃)‖² + β2·softplus(−c(x̃))
// while c is fine-tuned with its logistic loss (reals against reconstructions) plus lazy R1.
// For the "StyleGAN + encoder" baseline (a decoder trained with the MLP mapping) f predicts z and
// x̃ = g(mapping(z)); everything else is identical. The VAE-style encoder of Figure 12 (cfg.kl > 0)
// predicts a Gaussian posterior over z, samples it, and decodes g(Φ⁻¹(z)) (or g(mlp(z))).
import * as tf from '@tensorflow/tfjs';
import { Generator } from '../models/generator.js';
import { Discriminator } from '../models/discriminator.js';
import { Encoder, type EncoderConfig } from '../models/encoder.js';
import type { FeatureNet, FeatureLayer } from '../models/features.js';
import type { Vgg16 } from '../models/vgg16.js';
import { calibratePerceptualWeight, type PerceptualWeight } from '../losses/perceptual-weight.js';
import { dLogisticLoss, isLazyR1Step, lazyR1Weight, r1Penalty } from '../losses/gan.js';
import { pixelLoss, perceptualLoss } from '../losses/reconstruction.js';
import { Adam } from '../optim/adam.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import { loadGroup, type VariableGroups } from '../io/checkpoint.js';
import { ENCODER_KIND, ENCODER_OPTIONAL_STATE, codeStatistics, encoderFromSnapshot, reconstruct, requireEncoderSnapshot, type EncoderSnapshotConfig } from '../models/checkpoints.js';

import { requireDecoderSnapshot, type DecoderSnapshotConfig } from '../models/checkpoints.js';
import { checkFinite } from './run-loop.js';
import type { EncoderTrainConfig } from './encoder-config.js';
import { BatchIterator, evalBatches, toUnitRange, type BatchIteratorState } from '../data/batches.js';
import type { Dataset } from '../data/dataset.js';
import { Rng, tfSeed } from '../util/rng.js';
import { takeShard, type BatchShard } from '../nn/batch-shard.js';
import { BatchNorm } from '../nn/batch-norm.js';
import type { DataParallel, ParallelState } from './data-parallel.js';
import { writeImageGrid } from '../io/images.js';

const CODE_STAT_SAMPLES = 10_000;


export interface EncoderStepLosses {
  loss_e: number; // the encoder's total loss
  mse: number;
  perceptual: number;
  adv: number; // softplus(−c(x̃))
  loss_d: number;
  r1?: number;
  kl?: number; // the VAE-style encoder's KL term
}


interface EncoderLoopState extends ParallelState {
  step: number;
  imagesSeen: number;
  data: BatchIteratorState;
  eOptStep: number;
  dOptStep: number;
  elapsedSec: number;
  gradStats: Record<string, { n: number; mean: number; m2: number }>;
}




/**
 * β1 'auto' (see losses/perceptual-weight.ts): calibrated on up to 256 training images, against
 * VGG16 conv4_3 when its weights are given.
 */
export function calibrateBeta1(ds: Dataset, net: FeatureNet, layer: FeatureLayer, vgg?: Vgg16): PerceptualWeight {
  const n = Math.min(256, ds.train.end - ds.train.start);
  const it = evalBatches(ds, 'train', n).next();
  if (it.done) throw new Error(`${ds.name}: the training split is empty`);
  const imgs = tf.tensor4d(it.value.data, it.value.shape);
  try {
    return calibratePerceptualWeight(net, layer, imgs, vgg);
  } finally {
    imgs.dispose();
  }
}

/** The encoder network's settings for a decoder. */
export function encoderConfigFor(cfg: EncoderTrainConfig, dec: DecoderSnapshotConfig): EncoderConfig {
  const g = dec.generator;
  const numWs = 2 * (Math.log2(g.resolution) - 1);
  return { resolution: g.resolution, channels: g.channels, latentSize: g.latentSize, numWs, latent: cfg.latent, widths: { base: cfg.widthBase, max: cfg.widthMax }, variational: (cfg.kl ?? 0) > 0 };
}

export class EncoderTrainer {
  readonly E: Encoder;
  readonly G: Generator;
  readonly D: Discriminator;
  readonly eOpt: Adam;
  readonly dOpt: Adam;
  readonly data: BatchIterator;
  readonly predicts: 'y' | 'z';
  step = 0;
  imagesSeen = 0;
  elapsedSec = 0;
  /** Per-layer gradient-norm statistics across steps (Welford), for the paper's Figure 12. */
  readonly gradStats = new Map<string, { n: number; mean: number; m2: number }>();
  lastGradNorms = new Map<string, number>();

  private constructor(
    readonly cfg: EncoderTrainConfig & { beta1: number },
    readonly decoder: DecoderSnapshotConfig,
    readonly dataset: Dataset,
    readonly perceptualNet: FeatureNet,
    /** Data-parallel training: cfg.batch is per rank (train/data-parallel.ts). */
    readonly parallel: DataParallel | null = null,
  ) {
    if ((cfg.kl ?? 0) > 0 && cfg.latent === 'wplus') throw new Error('the VAE-style encoder (--kl) predicts one z: it cannot be a W+ encoder (--latent wplus)');
    if (decoder.generator.mapping === 'mlp' && cfg.latent === 'wplus') throw new Error('the StyleGAN + encoder baseline predicts one z: --latent wplus needs a decoder with the invertible mapping');
    // The baseline (MLP mapping) and the VAE-style encoder (--kl, on either mapping: g(Φ⁻¹(z)) with
    // LIA's Φ) predict z; LIA's own encoder predicts y.
    this.predicts = decoder.generator.mapping === 'mlp' || (cfg.kl ?? 0) > 0 ? 'z' : 'y';
    this.G = new Generator(decoder.train.seed, decoder.generator);
    this.D = new Discriminator(new Rng(decoder.train.seed + 1), {
      resolution: decoder.generator.resolution,
      channels: decoder.generator.channels,
      widths: decoder.generator.widths,
      mbstdGroup: decoder.discriminator.mbstdGroup,
    });
    this.E = new Encoder(new Rng(cfg.seed + 10), encoderConfigFor(cfg, decoder));
    this.eOpt = new Adam(this.E.namedParameters(), { lr: cfg.lr, beta1: 0.9, beta2: 0.99, eps: 1e-8 });
    this.eOpt.trackGradNorms = true;
    const c = cfg.r1Interval / (cfg.r1Interval + 1);
    this.dOpt = new Adam(this.D.namedParameters(), { lr: cfg.lr * c, beta1: 0.9 ** c, beta2: 0.99 ** c, eps: 1e-8 });
    this.data = new BatchIterator(dataset, { batchSize: cfg.batch * this.worldSize, split: 'train', seed: cfg.seed + 11, mirror: cfg.mirror, shard: this.shard });
    parallel?.attach(this.eOpt, this.dOpt);
    // The encoder's batch norms take the global batch's statistics (synchronised batch norm).
    if (parallel) for (const m of this.E.modules()) if (m instanceof BatchNorm) m.crossReplicaMean = parallel.crossReplicaMean;
  }

  get worldSize(): number {
    return this.parallel?.worldSize ?? 1;
  }

  /** This rank's rows of each global batch (undefined in a single process). */
  get shard(): BatchShard | undefined {
    return this.parallel?.shard;
  }

  /** A new encoder run on a decoder snapshot: g frozen from its EMA weights, c from its discriminator. */
  static async create(cfg: EncoderTrainConfig & { beta1: number }, dataset: Dataset, perceptualNet: FeatureNet, parallel: DataParallel | null = null): Promise<EncoderTrainer> {
    const snap = await readSnapshot(cfg.decoder);
    const dec = requireDecoderSnapshot(snap);
    checkDataMatchesDecoder(dataset, dec, cfg.decoder);
    const t = new EncoderTrainer(cfg, dec, dataset, perceptualNet, parallel);
    loadGroup(snap, 'g_ema', t.G.namedState());
    loadGroup(snap, 'd', t.D.namedState());
    const stats = codeStatistics(t.G, t.predicts, CODE_STAT_SAMPLES, cfg.seed + 12);
    t.E.setCodeStatistics(stats.mean, stats.std);
    tf.dispose([stats.mean, stats.std]);
    return t;
  }

  static async resume(path: string, dataset: Dataset, perceptualNet: FeatureNet, overrides: Partial<EncoderTrainConfig> = {}, parallel: DataParallel | null = null): Promise<EncoderTrainer> {
    const snap = await readSnapshot(path);
    const saved = requireEncoderSnapshot(snap);
    const t = new EncoderTrainer({ ...saved.train, ...overrides } as EncoderTrainConfig & { beta1: number }, saved.decoder, dataset, perceptualNet, parallel);
    for (const [group, vars] of Object.entries(t.stateGroups())) loadGroup(snap, group, vars, group === 'e' ? ENCODER_OPTIONAL_STATE : undefined);
    const st = snap.state as EncoderLoopState;
    t.step = st.step;
    t.imagesSeen = st.imagesSeen;
    t.elapsedSec = st.elapsedSec;
    t.data.setState(st.data);
    t.eOpt.step = st.eOptStep;
    t.dOpt.step = st.dOptStep;
    for (const [k, v] of Object.entries(st.gradStats ?? {})) t.gradStats.set(k, v);
    return t;
  }

  get kimg(): number {
    return this.imagesSeen / 1000;
  }

  /** lr × decay^(quarters completed): the official schedule, shared by f and c. */
  private applySchedule(): void {
    const quarter = Math.min(3, Math.floor((4 * this.imagesSeen) / (this.cfg.kimg * 1000)));
    const lr = this.cfg.lr * this.cfg.lrDecay ** quarter;
    const c = this.cfg.r1Interval / (this.cfg.r1Interval + 1);
    this.eOpt.config.lr = lr;
    this.dOpt.config.lr = lr * c;
  }

  async trainStep(): Promise<EncoderStepLosses> {
    const cfg = this.cfg;
    this.applySchedule();
    const batch = this.data.next();
    const real = tf.tensor4d(batch.data, batch.shape);
    const scalars: Record<string, tf.Scalar> = {};

    // c step: reals against the current reconstructions (no gradient to f).
    const recon = reconstruct(this.E, this.G, this.predicts, real, false);
    scalars.loss_d = this.dOpt.minimize(() => dLogisticLoss(this.D.forward(real), this.D.forward(recon)));
    recon.dispose();
    if (isLazyR1Step(this.step, cfg.r1Gamma, cfg.r1Interval)) {
      const v = this.dOpt.minimize(() => {
        const p = r1Penalty((x) => this.D.forward(x), real);
        scalars.r1 = tf.keep(p.clone());
        return tf.mul(p, lazyR1Weight(cfg.r1Gamma, cfg.r1Interval)) as tf.Scalar;
      });
      v.dispose();
    }

    // f step.
    const kl = cfg.kl ?? 0;
    const noiseSeed = cfg.seed * 1_000_003 + this.step;
    scalars.loss_e = this.eOpt.minimize(() => {
      let xr: tf.Tensor4D;
      let klTerm: tf.Scalar | null = null;
      if (kl > 0) {
        // VAE-style: z = μ + σ·ε, and KL(N(μ, σ²) ‖ N(0, I)) summed over dimensions, batch mean.
        const { mean, logvar } = this.E.forwardVariational(real, true);
        // ε for the global batch, cut to this rank's rows (nn/batch-shard.ts).
        const eps = takeShard(tf.randomNormal([mean.shape[0] * this.worldSize, mean.shape[1]], 0, 1, 'float32', tfSeed(noiseSeed)), this.shard);
        const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps)) as tf.Tensor2D;
        xr = this.G.render(z, 'z');
        klTerm = tf.mean(tf.sum(tf.mul(tf.sub(tf.add(tf.square(mean), tf.exp(logvar)), tf.add(logvar, 1)), 0.5), 1)) as tf.Scalar;
        scalars.kl = tf.keep(klTerm.clone());
      } else xr = reconstruct(this.E, this.G, this.predicts, real, true);
      const mse = pixelLoss(real, xr);
      const perc = perceptualLoss(this.perceptualNet, cfg.perceptualLayer, real, xr);
      const adv = tf.mean(tf.softplus(tf.neg(this.D.forward(xr)))) as tf.Scalar;
      scalars.mse = tf.keep(mse.clone());
      scalars.perceptual = tf.keep(perc.clone());
      scalars.adv = tf.keep(adv.clone());
      const terms = [mse, tf.mul(perc, cfg.beta1), tf.mul(adv, cfg.beta2)];
      if (klTerm) terms.push(tf.mul(klTerm, kl));
      return tf.addN(terms) as tf.Scalar;
    });
    this.recordGradNorms(this.eOpt.lastGradNorms);
    real.dispose();
    this.imagesSeen += cfg.batch * this.worldSize;
    this.step++;

    const losses: Record<string, number> = {};
    for (const [k, t] of Object.entries(scalars)) {
      losses[k] = (await t.data())[0];
      t.dispose();
    }
    // Every rank logs (and checks) the means over the ranks: the global batch's losses.
    if (this.parallel) Object.assign(losses, this.parallel.meanValues(losses));
    checkFinite(losses, this.step, ['loss_e', 'loss_d', 'r1', 'mse', 'perceptual', 'adv', 'kl']);
    return losses as unknown as EncoderStepLosses;
  }

  /** Per-layer gradient norms of f: the latest values and their mean/spread across steps. */
  private recordGradNorms(norms: Map<string, number>): void {
    this.lastGradNorms = norms;
    for (const [k, v] of norms) {
      const s = this.gradStats.get(k) ?? { n: 0, mean: 0, m2: 0 };
      s.n++;
      const d = v - s.mean;
      s.mean += d / s.n;
      s.m2 += d * (v - s.mean);
      this.gradStats.set(k, s);
    }
  }

  /** The first 16 test images (top row) above their reconstructions (bottom row). */
  async writeSnapshotImages(path: string): Promise<void> {
    const ds = this.dataset;
    const n = Math.min(16, ds.test.end - ds.test.start) || Math.min(16, ds.count);
    const start = ds.test.end > ds.test.start ? ds.test.start : 0;
    const x = tf.tensor4d(toUnitRange(ds.pixels.subarray(start * imageSize(ds), (start + n) * imageSize(ds))), [n, ds.resolution, ds.resolution, ds.channels]);
    const xr = reconstruct(this.E, this.G, this.predicts, x, false);
    const both = tf.concat([x, xr], 0);
    const data = (await both.data()) as Float32Array;
    tf.dispose([x, xr, both]);
    await writeImageGrid(path, { data, n: 2 * n, h: ds.resolution, w: ds.resolution, c: ds.channels }, { cols: n });
  }

  /** Gradient-norm statistics of f for the log: per parameter tensor, the latest norm, and the mean and spread across steps. */
  logExtras(): Record<string, unknown> {
    const round = (v: number) => Number(v.toPrecision(4));
    const latest: Record<string, number> = {};
    const mean: Record<string, number> = {};
    const std: Record<string, number> = {};
    for (const [k, v] of this.lastGradNorms) latest[k] = round(v);
    for (const [k, s] of this.gradStats) {
      mean[k] = round(s.mean);
      std[k] = round(s.n > 1 ? Math.sqrt(s.m2 / (s.n - 1)) : 0);
    }
    return { grad_norm: latest, grad_norm_mean: mean, grad_norm_std: std };
  }

  snapshotConfig(): EncoderSnapshotConfig {
    return { train: this.cfg, encoder: this.E.config, decoder: this.decoder, predicts: this.predicts };
  }

  async saveSnapshot(path: string): Promise<void> {
    const state: EncoderLoopState = {
      step: this.step,
      imagesSeen: this.imagesSeen,
      data: this.data.getState(),
      eOptStep: this.eOpt.step,
      dOptStep: this.dOpt.step,
      elapsedSec: this.elapsedSec,
      gradStats: Object.fromEntries(this.gradStats),
      worldSize: this.worldSize,
    };
    await writeSnapshot(path, ENCODER_KIND, this.snapshotConfig(), state, this.stateGroups());
  }

  /** Every variable a checkpoint holds, by group (the frozen decoder included: it is self-contained). */
  stateGroups(): VariableGroups {
    return { e: this.E.namedState(), g_ema: this.G.namedState(), d: this.D.namedState(), opt_e: this.eOpt.namedState(), opt_d: this.dOpt.namedState() };
  }

  dispose(): void {
    this.E.dispose();
    this.G.dispose();
    this.D.dispose();
    this.eOpt.dispose();
    this.dOpt.dispose();
  }
}

function imageSize(ds: Dataset): number {
  return ds.resolution * ds.resolution * ds.channels;
}

function checkDataMatchesDecoder(ds: Dataset, dec: DecoderSnapshotConfig, source: string): void {
  const g = dec.generator;
  if (ds.resolution !== g.resolution || ds.channels !== g.channels) {
    throw new Error(`${source}: the decoder makes ${g.resolution}×${g.resolution}×${g.channels} images but the data is ${ds.resolution}×${ds.resolution}×${ds.channels}`);
  }
}

/** Loads an encoder checkpoint with its frozen decoder, ready to encode and reconstruct. */
export async function loadEncoder(path: string): Promise<{ E: Encoder; G: Generator; config: EncoderSnapshotConfig }> {
  return encoderFromSnapshot(await readSnapshot(path));
}
