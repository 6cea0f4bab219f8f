// Stage 1 of LIA (PAPER.md, "Two-stage training"): an ordinary GAN with Φ⁻¹ in front of the
// synthesis network, z ~ N(0, I), x̃ = g(Φ⁻¹(z)). Step order, top to bottom as in StyleGAN2:
//   1. D step: logistic loss on reals vs fakes;
//   2. every r1Interval steps, the R1 penalty (γ/2)·E‖∇c(x)‖², scaled by the interval (lazy R1);
//   3. G step: non-saturating loss, with style mixing;
//   4. EMA of G's weights; running mean of y for truncation.
import * as tf from '@tensorflow/tfjs';
import { Generator, defaultGeneratorConfig, type GeneratorConfig } from '../models/generator.js';
import { Discriminator } from '../models/discriminator.js';
import { dLogisticLoss, gNonSaturatingLoss, isLazyR1Step, lazyR1Weight, r1Penalty } from '../losses/gan.js';
import { Adam } from '../optim/adam.js';
import { emaBeta, emaHalfLifeImages, updateEma } from './ema.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import { loadGroup, type VariableGroups } from '../io/checkpoint.js';
import { DECODER_KIND, generatorFromSnapshot, requireDecoderSnapshot, type DecoderSnapshotConfig } from '../models/checkpoints.js';
import type { DecoderTrainConfig } from './decoder-config.js';
import { checkFinite } from './run-loop.js';
import { gridLatents, writeSampleGrid } from './sampling.js';
import { BatchIterator, type BatchIteratorState } from '../data/batches.js';
import type { Dataset } from '../data/dataset.js';
import { Rng, type RngState } from '../util/rng.js';
import { randomNormal } from '../engine/random.js';
import { DiscriminatorAugment, type AugmentState } from '../augment/index.js';
import { takeShard, type BatchShard } from '../nn/batch-shard.js';
import type { DataParallel, ParallelState } from './data-parallel.js';


export interface StepLosses {
  loss_d: number;
  loss_g: number;
  d_real: number; // mean logit on reals
  d_fake: number; // mean logit on fakes
  r1?: number; // the unscaled penalty E‖∇c(x)‖², on R1 steps
  d_real_sign?: number; // ADA: mean sign(D(augmented real)), this step's share of r_t
  augment_p?: number; // augmentation probability after this step (when augmenting)
}

export interface DecoderLoopState extends ParallelState {
  step: number;
  imagesSeen: number;
  rng: RngState;
  data: BatchIteratorState;
  gOptStep: number;
  dOptStep: number;
  elapsedSec: number;
  augment?: AugmentState; // absent in runs from before src/augment
}

export function generatorConfigFrom(cfg: DecoderTrainConfig, channels: number): GeneratorConfig {
  return defaultGeneratorConfig({
    resolution: cfg.resolution,
    channels,
    latentSize: cfg.latentSize,
    widths: { base: cfg.widthBase, max: cfg.widthMax },
    mapping: cfg.mapping,
    phiBlocks: cfg.phiBlocks,
    coupling: cfg.coupling,
    mlpLayers: cfg.mlpLayers,
    mappingLrMul: cfg.mappingLrMul,
  });
}


export class DecoderTrainer {
  readonly G: Generator;
  readonly Gema: Generator;
  readonly D: Discriminator;
  readonly gOpt: Adam;
  readonly dOpt: Adam;
  readonly rng: Rng;
  readonly data: BatchIterator;
  /** What D sees of every real and generated image (src/augment; off unless cfg.augment says). */
  readonly augment: DiscriminatorAugment;
  step = 0;
  imagesSeen = 0;
  elapsedSec = 0;
  /** When set, trainStep synchronises after each phase and records its wall time here (ms). */
  phaseTimes: { d: number; r1?: number; g: number } | null = null;
  profilePhases = false;
  /**
   * When set, trainStep reads nothing back from the backend (no host synchronisation on a GPU): the
   * step's losses stay on the device until readLosses(), which the run loop calls at its logging
   * cadence and before snapshots; trainStep then returns the losses last read.
   */
  deferLossReads = false;
  private pendingLosses: { step: number; augmentP: number; scalars: Record<string, tf.Scalar> } | null = null;
  /**
   * ADA: the steps' means of sign(D(real)) added up on the device since the controller last saw
   * them, read when it adjusts p (every adaInterval steps): one synchronisation per interval,
   * whether or not the losses are read.
   */
  private adaSignSum: tf.Variable | null = null;
  private adaPendingSteps = 0;
  private lastLosses: StepLosses | null = null;

  /** cfg.batch is per rank; with `parallel` each step takes a global batch of batch × world size. */
  constructor(
    readonly cfg: DecoderTrainConfig,
    readonly dataset: Dataset,
    readonly parallel: DataParallel | null = null,
  ) {
    const gcfg = generatorConfigFrom(cfg, dataset.channels);
    this.G = new Generator(cfg.seed, gcfg);
    this.Gema = new Generator(cfg.seed, gcfg);
    this.Gema.copyFrom(this.G);
    this.D = new Discriminator(new Rng(cfg.seed + 1), {
      resolution: cfg.resolution,
      channels: dataset.channels,
      widths: gcfg.widths,
      mbstdGroup: cfg.mbstdGroup,
    });
    this.gOpt = new Adam(this.G.namedParameters(), { lr: cfg.lr, beta1: 0, beta2: 0.99, eps: 1e-8 });
    // Lazy regularisation changes D's effective step count: StyleGAN2 rescales lr and β2 by c.
    const c = cfg.r1Interval / (cfg.r1Interval + 1);
    this.dOpt = new Adam(this.D.namedParameters(), { lr: cfg.lr * c, beta1: 0, beta2: 0.99 ** c, eps: 1e-8 });
    this.rng = new Rng(cfg.seed + 2);
    this.data = new BatchIterator(dataset, { batchSize: cfg.batch * this.worldSize, split: 'train', seed: cfg.seed + 3, mirror: cfg.mirror, shard: this.shard });
    parallel?.attach(this.gOpt, this.dOpt);
    // Each rank augments its own rows with its own stream (ranks' draws are independent).
    this.augment = new DiscriminatorAugment(cfg, cfg.batch, cfg.seed + 5 + 7919 * (parallel?.rank ?? 0));
    if (this.augment.adaptive) this.adaSignSum = tf.variable(tf.scalar(0), false);
  }

  get worldSize(): number {
    return this.parallel?.worldSize ?? 1;
  }

  /** This rank's rows of each global batch (undefined in a single process). */
  get shard(): BatchShard | undefined {
    return this.parallel?.shard;
  }

  get kimg(): number {
    return this.imagesSeen / 1000;
  }

  snapshotConfig(): DecoderSnapshotConfig {
    return { train: this.cfg, generator: this.G.config, discriminator: { mbstdGroup: this.cfg.mbstdGroup } };
  }

  /**
   * Latents for one batch: z, and with probability mixingProb a second z and a crossover layer. Drawn
   * on the backend where it can (engine/random.ts), seeded from the run's Rng, for the global batch
   * (zAll, what the running mean of y sees) and cut to this rank's rows.
   */
  private sampleLatents(): { z: tf.Tensor2D; zAll: tf.Tensor2D; mix?: { z: tf.Tensor2D; crossover: number }; noiseSeed: number } {
    const { latentSize, mixingProb } = this.cfg;
    const batch = this.cfg.batch * this.worldSize;
    const zAll = randomNormal([batch, latentSize], this.rng.nextUint32()) as tf.Tensor2D;
    const mixing = this.rng.next() < mixingProb;
    const mixAll = mixing ? (randomNormal([batch, latentSize], this.rng.nextUint32()) as tf.Tensor2D) : null;
    const mix = mixAll ? { z: this.cut(mixAll), crossover: 1 + this.rng.int(this.G.numWs - 1) } : undefined;
    return { z: this.cut(zAll, false), zAll, mix, noiseSeed: this.rng.nextUint32() };
  }

  /** This rank's rows of a global-batch tensor (disposing the global one when `dispose`). */
  private cut(all: tf.Tensor2D, dispose = true): tf.Tensor2D {
    if (!this.shard) return all;
    const mine = takeShard(all, this.shard);
    if (dispose) all.dispose();
    return mine;
  }

  /** One training iteration (D step, lazy R1, G step, EMA). */
  async trainStep(): Promise<StepLosses> {
    const cfg = this.cfg;
    const batch = this.data.next();
    const real = tf.tensor4d(batch.data, batch.shape);
    const realAug = this.augment.apply(real); // R1 below is taken w.r.t. these augmented reals
    const scalars: Record<string, tf.Scalar> = {};
    // Phase timing for `lia bench train`: reading a loss value waits for the backend to finish.
    let mark = performance.now();
    const phase = async (t: tf.Tensor): Promise<number> => {
      if (!this.profilePhases) return 0;
      await t.data();
      const now = performance.now();
      const dt = now - mark;
      mark = now;
      return dt;
    };

    // 1. D step. The fakes are computed outside the differentiated function: no gradient to G.
    const dLat = this.sampleLatents();
    const fake = tf.tidy(() => this.G.forward(dLat.z, { mix: dLat.mix, noiseSeed: dLat.noiseSeed, noiseShard: this.shard }));
    scalars.loss_d = this.dOpt.minimize(() => {
      const realLogits = this.D.forward(realAug);
      const fakeLogits = this.D.forward(this.augment.apply(fake));
      if (this.augment.adaptive) scalars.d_real_sign = tf.keep(tf.mean(tf.sign(realLogits)));
      scalars.d_real = tf.keep(tf.mean(realLogits));
      scalars.d_fake = tf.keep(tf.mean(fakeLogits));
      return dLogisticLoss(realLogits, fakeLogits);
    });
    tf.dispose([fake, dLat.z, dLat.zAll, dLat.mix?.z]);
    if (this.adaSignSum && scalars.d_real_sign) {
      const sum = tf.add(this.adaSignSum, scalars.d_real_sign);
      this.adaSignSum.assign(sum);
      sum.dispose();
      this.adaPendingSteps++;
    }
    const dMs = await phase(scalars.loss_d);
    let r1Ms: number | undefined;

    // 2. Lazy R1 on the same reals.
    if (isLazyR1Step(this.step, cfg.r1Gamma, cfg.r1Interval)) {
      const weight = lazyR1Weight(cfg.r1Gamma, cfg.r1Interval);
      const value = this.dOpt.minimize(() => {
        const p = r1Penalty((x) => this.D.forward(x), realAug);
        scalars.r1 = tf.keep(p.clone());
        return tf.mul(p, weight) as tf.Scalar;
      });
      r1Ms = await phase(value);
      value.dispose();
    }
    tf.dispose([real, realAug]);

    // 3. G step.
    const gLat = this.sampleLatents();
    scalars.loss_g = this.gOpt.minimize(() =>
      gNonSaturatingLoss(this.D.forward(this.augment.apply(this.G.forward(gLat.z, { mix: gLat.mix, noiseSeed: gLat.noiseSeed, noiseShard: this.shard })))),
    );

    // 4. Running mean of y, then the EMA generator.
    tf.tidy(() => {
      const yMean = tf.mean(this.G.toY(gLat.zAll), 0);
      this.G.yAvg.assign(tf.add(yMean, tf.mul(tf.sub(this.G.yAvg, yMean), cfg.yAvgBeta)));
    });
    tf.dispose([gLat.z, gLat.zAll, gLat.mix?.z]);
    const globalBatch = cfg.batch * this.worldSize;
    this.imagesSeen += globalBatch;
    this.step++;
    // The EMA generator is only ever written by rank 0.
    if (!this.parallel || this.parallel.isPrimary) updateEma(this.Gema, this.G, emaBeta(globalBatch, emaHalfLifeImages(cfg.emaKimg, this.imagesSeen)));
    if (this.profilePhases) this.phaseTimes = { d: dMs, r1: r1Ms, g: await phase(scalars.loss_g) };

    if (this.augment.adaptive && this.augment.dueForAdjustment(this.adaPendingSteps)) await this.observeAdaSigns();
    if (this.pendingLosses) tf.dispose(Object.values(this.pendingLosses.scalars)); // never read
    this.pendingLosses = { step: this.step, augmentP: this.augment.p, scalars };
    if (this.deferLossReads && this.lastLosses && !this.profilePhases) return this.lastLosses;
    return this.readLosses();
  }

  /** Hands the buffered signs of D(real) to the ADA controller (which may change p). */
  private async observeAdaSigns(): Promise<void> {
    if (!this.adaSignSum || this.adaPendingSteps === 0) return;
    let sum = (await this.adaSignSum.data())[0];
    // r_t over the global batch, so that p stays the same on every rank.
    if (this.parallel) sum = this.parallel.meanValues({ sum }).sum;
    this.augment.observeSum(sum, this.adaPendingSteps);
    tf.tidy(() => this.adaSignSum!.assign(tf.zeros([])));
    this.adaPendingSteps = 0;
  }

  /**
   * The losses of the latest step (read from the backend if not read yet); throws
   * NonFiniteLossError when one is NaN or infinite.
   */
  async readLosses(): Promise<StepLosses> {
    const pending = this.pendingLosses;
    if (!pending) {
      if (!this.lastLosses) throw new Error('readLosses: no training step has run yet');
      return this.lastLosses;
    }
    this.pendingLosses = null;
    const keys = Object.keys(pending.scalars);
    const all = tf.stack(keys.map((k) => pending.scalars[k]));
    const values = (await all.data()) as Float32Array;
    tf.dispose([all, ...Object.values(pending.scalars)]);
    const losses: Record<string, number> = {};
    keys.forEach((k, i) => (losses[k] = values[i]));
    // Every rank logs (and checks) the means over the ranks: the global batch's losses.
    if (this.parallel) Object.assign(losses, this.parallel.meanValues(losses));
    this.lastLosses = losses as unknown as StepLosses;
    // Name the objective that went bad first, the logit statistics last.
    if (this.augment.active) losses.augment_p = pending.augmentP;
    checkFinite(losses, pending.step, ['loss_d', 'r1', 'loss_g', 'd_real', 'd_fake']);
    return this.lastLosses;
  }

  loopState(): DecoderLoopState {
    return {
      step: this.step,
      imagesSeen: this.imagesSeen,
      rng: this.rng.getState(),
      data: this.data.getState(),
      gOptStep: this.gOpt.step,
      dOptStep: this.dOpt.step,
      elapsedSec: this.elapsedSec,
      augment: this.augment.getState(),
      worldSize: this.worldSize,
    };
  }

  /** 64 samples of the EMA generator from the run's fixed latents. */
  async writeSnapshotImages(path: string): Promise<void> {
    const z = gridLatents(this.cfg.seed, 64, this.cfg.latentSize);
    try {
      await writeSampleGrid(this.Gema, z, path);
    } finally {
      z.dispose();
    }
  }

  /** The ADA controller sees the steps since its last adjustment: its sums travel in the loop state. */
  async prepareSnapshot(): Promise<void> {
    await this.observeAdaSigns();
  }

  async saveSnapshot(path: string): Promise<void> {
    await this.observeAdaSigns(); // (done already by prepareSnapshot in a run loop)
    await writeSnapshot(path, DECODER_KIND, this.snapshotConfig(), this.loopState(), this.stateGroups());
  }

  /** Every variable a snapshot holds, by group: models, EMA, optimiser moments. */
  stateGroups(): VariableGroups {
    return { g: this.G.namedState(), g_ema: this.Gema.namedState(), d: this.D.namedState(), opt_g: this.gOpt.namedState(), opt_d: this.dOpt.namedState() };
  }

  /** Rebuilds a trainer from a snapshot, continuing exactly where it stopped. */
  static async resume(path: string, dataset: Dataset, overrides: Partial<DecoderTrainConfig> = {}, parallel: DataParallel | null = null): Promise<DecoderTrainer> {
    const snap = await readSnapshot(path);
    const saved = requireDecoderSnapshot(snap);
    const trainer = new DecoderTrainer({ ...saved.train, ...overrides }, dataset, parallel);
    for (const [group, vars] of Object.entries(trainer.stateGroups())) loadGroup(snap, group, vars);
    const st = snap.state as DecoderLoopState;
    trainer.step = st.step;
    trainer.imagesSeen = st.imagesSeen;
    trainer.elapsedSec = st.elapsedSec;
    trainer.rng.setState(st.rng);
    trainer.data.setState(st.data);
    trainer.gOpt.step = st.gOptStep;
    trainer.dOpt.step = st.dOptStep;
    if (st.augment) trainer.augment.setState(st.augment);
    return trainer;
  }

  dispose(): void {
    if (this.pendingLosses) tf.dispose(Object.values(this.pendingLosses.scalars));
    this.pendingLosses = null;
    this.adaSignSum?.dispose();
    this.adaSignSum = null;
    this.G.dispose();
    this.Gema.dispose();
    this.D.dispose();
    this.gOpt.dispose();
    this.dOpt.dispose();
  }
}

/** Loads the EMA generator of a decoder snapshot (what every sampling and evaluation command uses). */
export async function loadGenerator(path: string, which: 'g_ema' | 'g' = 'g_ema'): Promise<{ G: Generator; config: DecoderSnapshotConfig }> {
  return generatorFromSnapshot(await readSnapshot(path), which);
}
