// Stage-1 commands: `lia train-decoder`, `lia generate`, `lia interpolate --space z|y` (random samples).
import { Command, Option } from 'commander';
import { interpolateReal } from './apps.js';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tfSeed } from '../../util/rng.js';
import { describePresets } from '../config-flags.js';
import { addEngineOptions, initEngineFrom, parsePositiveInt, type EngineOptions, parseNumber } from '../engine-options.js';
import { resolveDecoderConfig, PRESETS, DEFAULT_DECODER_CONFIG, type DecoderTrainConfig, type PresetName } from '../../train/decoder-config.js';
import { DecoderTrainer, loadGenerator } from '../../train/stage1.js';
import { requireDecoderSnapshot } from '../../models/checkpoints.js';
import { runWithProgress } from '../../train/progress-run.js';
import { writeSampleGrid } from '../../train/sampling.js';
import { createRunDir, latestSnapshot } from '../../train/run-dir.js';
import { readSnapshot, exportGroups } from '../../train/snapshot.js';
import { loadDataset } from '../../data/index.js';
import { writeImageGrid } from '../../io/images.js';
import { interpolateLatents } from '../../invert/interpolate.js';
import { AUGMENT_DEFAULTS, AUGMENT_MODES, AUGMENT_PIPES, ADA_DEFAULT_BELOW_IMAGES, defaultAugmentMode, resolveAugmentOptions, type AugmentOptions } from '../../augment/index.js';
import { addDistributedOptions, distributedPlan, joinProcessGroup, launchWorkers, startFromRankZero, type DistOptions } from '../distributed.js';
import { resumedBatch } from '../../train/data-parallel.js';
import type { DecoderLoopState } from '../../train/stage1.js';

const num = parseNumber;

interface TrainOpts extends EngineOptions, DistOptions, AugmentOptions {
  data?: string;
  dataDir?: string;
  resolution?: number;
  channels?: 1 | 3;
  train?: number;
  mirror?: boolean;
  batch?: number;
  kimg?: number;
  latent?: number;
  widthBase?: number;
  widthMax?: number;
  mapping?: 'invertible' | 'mlp';
  coupling?: 'additive' | 'affine';
  phiBlocks?: number;
  mlpLayers?: number;
  mappingLrMul?: number;
  lr?: number;
  r1Gamma?: number;
  r1Interval?: number;
  mixingProb?: number;
  emaKimg?: number;
  yAvgBeta?: number;
  mbstdGroup?: number;
  seed?: number;
  snapshotKimg?: number;
  logSteps?: number;
  out?: string;
  preset?: PresetName;
  resume?: string;
  quiet?: boolean;
}

const D = DEFAULT_DECODER_CONFIG;

export function registerDecoder(program: Command): void {
  addDistributedOptions(addEngineOptions(
    program
      .command('train-decoder')
      .description('stage 1: train the generator g with Φ⁻¹ in front (or the MLP mapping) against a discriminator')
      .option('--data <spec>', `dataset (default ${D.data})`)
      .option('--data-dir <dir>', 'IDX folder for fashion-mnist / mnist')
      .addOption(new Option('--resolution <px>', `image side, power of two ≥ 8 (default ${D.resolution})`).argParser(parsePositiveInt))
      .addOption(new Option('--channels <c>', "1 (grey) or 3 (RGB) (default: the dataset's own)").choices(['1', '3']).argParser((v) => Number(v) as 1 | 3))
      .addOption(new Option('--train <n>', 'use the first N images as the training split').argParser(parsePositiveInt))
      .option('--mirror', 'random left–right mirroring of the reals')
      .addOption(new Option('--batch <n>', `batch size (default ${D.batch})`).argParser(parsePositiveInt))
      .addOption(new Option('--kimg <k>', `training length in thousands of images (default ${D.kimg})`).argParser(num))
      .addOption(new Option('--latent <d>', `latent size dz = dy (default ${D.latentSize})`).argParser(parsePositiveInt))
      .addOption(new Option('--width-base <n>', `channels at resolution r: min(max, base/r) (default ${D.widthBase})`).argParser(parsePositiveInt))
      .addOption(new Option('--width-max <n>', `channel cap (default ${D.widthMax})`).argParser(parsePositiveInt))
      .addOption(new Option('--mapping <kind>', `invertible (LIA's Φ) or mlp (StyleGAN's mapping; the baseline) (default ${D.mapping})`).choices(['invertible', 'mlp']))
      .addOption(new Option('--coupling <kind>', `Φ coupling (default ${D.coupling})`).choices(['additive', 'affine']))
      .addOption(new Option('--phi-blocks <n>', `coupling blocks in Φ (default ${D.phiBlocks})`).argParser(parsePositiveInt))
      .addOption(new Option('--mlp-layers <n>', `layers of the MLP mapping, with --mapping mlp (default ${D.mlpLayers})`).argParser(parsePositiveInt))
      .addOption(new Option('--mapping-lr-mul <x>', `learning-rate multiplier of Φ or the MLP mapping (default ${D.mappingLrMul})`).argParser(num))
      .addOption(new Option('--lr <lr>', `Adam learning rate (default ${D.lr})`).argParser(num))
      .addOption(new Option('--r1-gamma <g>', `R1 weight γ (default ${D.r1Gamma})`).argParser(num))
      .addOption(new Option('--r1-interval <n>', `lazy R1 every n D steps, scaled by n (default ${D.r1Interval})`).argParser(parsePositiveInt))
      .addOption(new Option('--mixing-prob <p>', `probability of style mixing per G batch (default ${D.mixingProb})`).argParser(num))
      .addOption(new Option('--ema-kimg <k>', `half-life of the generator EMA in kimg, ramped up over the first images (default ${D.emaKimg}; see --preset)`).argParser(num))
      .addOption(new Option('--y-avg-beta <b>', `per-step decay of the running mean of y used for truncation (default ${D.yAvgBeta})`).argParser(num))
      .addOption(new Option('--mbstd-group <n>', `minibatch-standard-deviation group size (default ${D.mbstdGroup})`).argParser(parsePositiveInt))
      .addOption(new Option('--seed <n>', `seed (default ${D.seed})`).argParser((v) => Number.parseInt(v, 10)))
      .addOption(new Option('--snapshot-kimg <k>', `snapshot and sample grid every k kimg (default ${D.snapshotKimg})`).argParser(num))
      .addOption(new Option('--log-steps <n>', `a log.jsonl line every n steps (default ${D.logSteps})`).argParser(parsePositiveInt))
      .option('--out <dir>', `parent folder of numbered run folders (default ${D.outDir})`)
      .addOption(new Option('--preset <name>', `defaults for a model size, overridden by explicit options (${describePresets(PRESETS)})`).choices(Object.keys(PRESETS)))
      .addOption(new Option('--augment <mode>', `discriminator augmentation: ada (adaptive p), fixed (--augment-p), diffaugment (translation + cutout + colour, always), off (default: ada for training sets under ${ADA_DEFAULT_BELOW_IMAGES} images, else off)`).choices([...AUGMENT_MODES]))
      .addOption(new Option('--augment-p <p>', `augmentation probability: the initial p of ada, the p of fixed (default ${AUGMENT_DEFAULTS.augmentP})`).argParser(num))
      .addOption(new Option('--ada-target <t>', `ada: target of r_t = E[sign(D(real))] (default ${AUGMENT_DEFAULTS.adaTarget})`).argParser(num))
      .addOption(new Option('--augment-pipe <name>', `ada/fixed: the transforms, b = blit (flip, 90° rotations, integer translation), g = geometric, c = colour (default ${AUGMENT_DEFAULTS.augmentPipe})`).choices(Object.keys(AUGMENT_PIPES)))
      .addOption(new Option('--ada-interval <n>', `ada: steps between adjustments of p (default ${AUGMENT_DEFAULTS.adaInterval})`).argParser(parsePositiveInt))
      .addOption(new Option('--ada-kimg <k>', `ada: kimg for p to travel from 0 to 1 (default ${AUGMENT_DEFAULTS.adaKimg})`).argParser(num))
      .option('--resume <path>', 'continue a run: its folder (newest snapshot) or a snapshot file')
      .option('--quiet', 'no progress output'),
  )).action(async (opts: TrainOpts) => {
    const plan = distributedPlan(opts);
    if (plan.kind === 'launch') return launchWorkers(plan.nproc, opts);
    const engine = await initEngineFrom(opts);
    const parallel = joinProcessGroup(plan, engine, opts.device);
    const primary = parallel?.isPrimary ?? true;
    let trainer: DecoderTrainer;
    let runDir: string;
    if (opts.resume) {
      const snapPath = existsSync(opts.resume) && statSync(opts.resume).isDirectory() ? latestSnapshot(opts.resume) : opts.resume;
      if (!snapPath || !existsSync(snapPath)) throw new Error(`--resume ${opts.resume}: no snapshot found`);
      const snap = await readSnapshot(snapPath);
      const saved = requireDecoderSnapshot(snap);
      const cfg = saved.train;
      // A resumed run may be extended: --kimg and --snapshot-kimg are the only overrides; another
      // world size keeps the global batch (train/data-parallel.ts).
      const overrides: Partial<DecoderTrainConfig> = {};
      const rescaled = resumedBatch(cfg.batch, (snap.state as DecoderLoopState).worldSize ?? 1, parallel?.worldSize ?? 1);
      if (rescaled.batch !== cfg.batch) overrides.batch = rescaled.batch;
      if (rescaled.notice && primary) console.error(`lia: ${rescaled.notice}`);
      if (opts.kimg !== undefined) overrides.kimg = opts.kimg;
      if (opts.snapshotKimg !== undefined) overrides.snapshotKimg = opts.snapshotKimg;
      const ds = await loadDataset(cfg.data, { resolution: cfg.resolution, channels: cfg.channels, train: cfg.trainImages, dataDir: cfg.dataDir });
      trainer = await DecoderTrainer.resume(snapPath, ds, overrides, parallel);
      runDir = dirname(snapPath);
      if (primary) console.error(`resuming ${snapPath} at ${trainer.kimg.toFixed(1)} kimg (step ${trainer.step})`);
    } else {
      const cfg = resolveDecoderConfig({
        preset: opts.preset,
        data: opts.data,
        dataDir: opts.dataDir,
        resolution: opts.resolution,
        channels: opts.channels,
        trainImages: opts.train,
        mirror: opts.mirror,
        batch: opts.batch,
        kimg: opts.kimg,
        latentSize: opts.latent,
        widthBase: opts.widthBase,
        widthMax: opts.widthMax,
        mapping: opts.mapping,
        coupling: opts.coupling,
        phiBlocks: opts.phiBlocks,
        mlpLayers: opts.mlpLayers,
        mappingLrMul: opts.mappingLrMul,
        lr: opts.lr,
        r1Gamma: opts.r1Gamma,
        r1Interval: opts.r1Interval,
        mixingProb: opts.mixingProb,
        emaKimg: opts.emaKimg,
        yAvgBeta: opts.yAvgBeta,
        mbstdGroup: opts.mbstdGroup,
        seed: opts.seed,
        snapshotKimg: opts.snapshotKimg,
        logSteps: opts.logSteps,
        outDir: opts.out,
        augment: opts.augment,
        augmentP: opts.augmentP,
        adaTarget: opts.adaTarget,
        augmentPipe: opts.augmentPipe,
        adaInterval: opts.adaInterval,
        adaKimg: opts.adaKimg,
      });
      const ds = await loadDataset(cfg.data, { resolution: cfg.resolution, channels: cfg.channels, train: cfg.trainImages, dataDir: cfg.dataDir });
      // Augmentation: ada below 30,000 training images unless --augment says; every field is
      // written out (options.json, snapshots) so a later default cannot change a resumed run.
      Object.assign(cfg, resolveAugmentOptions({ ...cfg, augment: cfg.augment ?? defaultAugmentMode(ds.train.end - ds.train.start) }));
      trainer = new DecoderTrainer(cfg, ds, parallel);
      const dataName = basename(cfg.data.replace(/[:/\\]+$/, '')).replace(/:.*/, '');
      // Rank 0 alone makes the run folder and writes into it.
      runDir = primary ? createRunDir(cfg.outDir, `${dataName}-${cfg.resolution}${cfg.mapping === 'mlp' ? '-mlp' : ''}`) : '';
      const world = parallel ? { worldSize: parallel.worldSize, globalBatch: cfg.batch * parallel.worldSize } : {};
      if (primary) {
        writeFileSync(
          join(runDir, 'options.json'),
          JSON.stringify({ ...trainer.snapshotConfig(), engine, ...world, dataset: { name: ds.name, source: ds.source, train: ds.train, test: ds.test, channels: ds.channels } }, null, 2) + '\n',
        );
        const augment = `augment ${cfg.augment}${cfg.augment === 'ada' || cfg.augment === 'fixed' ? ` (${cfg.augmentPipe}, p ${cfg.augmentP}${cfg.augment === 'ada' ? `, target ${cfg.adaTarget}` : ''})` : ''}`;
        console.error(
          `run ${runDir}: ${ds.name} ${cfg.resolution}×${cfg.resolution}×${ds.channels}, ${cfg.mapping} mapping, G ${(trainer.G.numParams() / 1e6).toFixed(2)} M / D ${(trainer.D.numParams() / 1e6).toFixed(2)} M parameters, ${cfg.kimg} kimg, ${augment}, backend ${engine.backend} (${engine.threads} thread${engine.threads > 1 ? 's' : ''})${parallel ? `, ${parallel.worldSize} ranks × batch ${cfg.batch}` : ''}`,
        );
      }
    }
    await startFromRankZero(parallel, trainer);
    let lastR1 = '';
    try {
      await runWithProgress('train-decoder', trainer, runDir, (l) => {
        if (l.r1 !== undefined) lastR1 = l.r1.toFixed(3);
        return `G ${l.loss_g.toFixed(3)} D ${l.loss_d.toFixed(3)}${lastR1 ? ` R1 ${lastR1}` : ''}${l.augment_p !== undefined ? ` p ${l.augment_p.toFixed(3)}` : ''}`;
      }, opts.quiet);
    } finally {
      trainer.dispose();
    }
  });

  program
    .command('export-decoder')
    .description("write a decoder snapshot's EMA generator and discriminator only (what sampling, evaluation and stage 2 need; no optimiser state, so it cannot resume stage 1)")
    .requiredOption('--ckpt <snapshot>', 'decoder snapshot (.safetensors)')
    .requiredOption('--out <file>', 'output .safetensors')
    .action(async (opts: { ckpt: string; out: string }) => {
      const snap = await readSnapshot(opts.ckpt);
      requireDecoderSnapshot(snap);
      const r = await exportGroups(snap, opts.out, ['g_ema', 'd']);
      console.error(`wrote ${opts.out}: ${r.tensors} tensors (g_ema, d), ${(r.values / 1e6).toFixed(2)} M values`);
    });

  addEngineOptions(
    program
      .command('generate')
      .description('sample images from a decoder snapshot (its EMA generator)')
      .requiredOption('--ckpt <snapshot>', 'decoder snapshot (.safetensors)')
      .addOption(new Option('--n <n>', 'number of images').argParser(parsePositiveInt).default(64))
      .addOption(new Option('--truncation <psi>', 'truncation ψ in y (1 = none)').argParser(num).default(1))
      .addOption(new Option('--seed <n>', 'seed of the latents').argParser((v) => Number.parseInt(v, 10)).default(0))
      .requiredOption('--out <png>', 'output grid'),
  ).action(async (opts: EngineOptions & { ckpt: string; n: number; truncation: number; seed: number; out: string }) => {
    await initEngineFrom(opts);
    const { G } = await loadGenerator(opts.ckpt);
    const z = tf.randomNormal([opts.n, G.config.latentSize], 0, 1, 'float32', tfSeed(opts.seed)) as tf.Tensor2D;
    await writeSampleGrid(G, z, opts.out, { truncation: opts.truncation });
    z.dispose();
    G.dispose();
    console.error(`wrote ${opts.out} (${opts.n} samples, ψ = ${opts.truncation})`);
  });

  addEngineOptions(
    program
      .command('interpolate')
      .description('interpolate in y (lerp) or z (slerp): between random samples of a decoder, or between two real images (--a, --b) encoded by an encoder checkpoint')
      .requiredOption('--ckpt <snapshot>', 'decoder snapshot, or encoder checkpoint with --a and --b')
      .option('--a <image>', 'first real image: an image file, or test:N / train:N (needs an encoder checkpoint)')
      .option('--b <image>', 'second real image')
      .addOption(new Option('--space <space>', 'z (slerp) or y (lerp)').choices(['z', 'y']).default('y'))
      .addOption(new Option('--steps <n>', 'images per row').argParser(parsePositiveInt).default(8))
      .addOption(new Option('--pairs <n>', 'rows').argParser(parsePositiveInt).default(4))
      .addOption(new Option('--seed <n>', 'seed of the end points').argParser((v) => Number.parseInt(v, 10)).default(0))
      .requiredOption('--out <png>', 'output strip/grid'),
  ).action(async (opts: EngineOptions & { ckpt: string; a?: string; b?: string; space: 'z' | 'y'; steps: number; pairs: number; seed: number; out: string }) => {
    if (opts.a !== undefined || opts.b !== undefined) {
      if (!opts.a || !opts.b) throw new Error('real-image interpolation needs both --a and --b');
      return interpolateReal({ ...opts, a: opts.a, b: opts.b });
    }
    await initEngineFrom(opts);
    const { G } = await loadGenerator(opts.ckpt);
    const { resolution: r, channels: c, latentSize } = G.config;
    const n = opts.pairs * opts.steps;
    const out = new Float32Array(n * r * r * c);
    for (let p = 0; p < opts.pairs; p++) {
      const imgs = tf.tidy(() => {
        const z = tf.randomNormal([2, latentSize], 0, 1, 'float32', tfSeed(opts.seed + p)) as tf.Tensor2D;
        const [za, zb] = tf.split(z, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
        const y = opts.space === 'z' ? G.toY(interpolateLatents(za, zb, opts.steps, 'slerp')) : interpolateLatents(G.toY(za), G.toY(zb), opts.steps, 'lerp');
        return G.render(y);
      });
      out.set((await imgs.data()) as Float32Array, p * opts.steps * r * r * c);
      imgs.dispose();
    }
    await writeImageGrid(opts.out, { data: out, n, h: r, w: r, c }, { cols: opts.steps });
    G.dispose();
    console.error(`wrote ${opts.out} (${opts.pairs} × ${opts.steps}, ${opts.space === 'z' ? 'slerp in z' : 'lerp in y'})`);
  });
}
