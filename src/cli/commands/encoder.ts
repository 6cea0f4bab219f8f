// Stage-2 commands: `lia train-encoder`, `lia encode`, `lia reconstruct`, `lia eval-reconstruction`.
import { Command, Option } from 'commander';
import { statusLine } from '../../io/progress.js';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describePresets } from '../config-flags.js';
import { addEngineOptions, initEngineFrom, parsePositiveInt, type EngineOptions, parseNumber } from '../engine-options.js';
import { resolveEncoderConfig, ENCODER_PRESETS, DEFAULT_ENCODER_CONFIG, type EncoderTrainConfig, type EncoderPresetName } from '../../train/encoder-config.js';
import { EncoderTrainer, calibrateBeta1, loadEncoder } from '../../train/stage2.js';
import { requireEncoderSnapshot, requireDecoderSnapshot, type EncoderSnapshotConfig } from '../../models/checkpoints.js';
import { readSnapshot, exportGroups } from '../../train/snapshot.js';
import { createRunDir, latestSnapshot } from '../../train/run-dir.js';
import { loadDataset, type Dataset } from '../../data/index.js';
import { loadImagesFor, imageTarget, type LoadedImages } from '../images.js';
import * as lia from '../../node.js';
import { FEATURE_LAYERS, type FeatureNet, type FeatureLayer } from '../../models/features.js';
import { loadFeatureNet, loadVgg16, DEFAULT_EVAL_NET } from '../../io/network-files.js';
import { writeRowsGrid } from '../../io/images.js';
import { runWithProgress } from '../../train/progress-run.js';
import { appendMetrics, toMetricRecord } from '../../metrics/index.js';
import { scoreReconstructions } from '../../metrics/reconstruction.js';
import { requireEncoder } from '../../invert/model.js';
import { formatTable } from '../table.js';
import { encodeAll } from '../../invert/encode-all.js';
import { addDistributedOptions, distributedPlan, joinProcessGroup, launchWorkers, startFromRankZero, type DistOptions } from '../distributed.js';
import { resumedBatch } from '../../train/data-parallel.js';

const num = parseNumber;

const D = DEFAULT_ENCODER_CONFIG;

interface TrainOpts extends EngineOptions, DistOptions {
  decoder?: string;
  data?: string;
  dataDir?: string;
  train?: number;
  mirror?: boolean;
  batch?: number;
  kimg?: number;
  lr?: number;
  lrDecay?: number;
  latent?: 'w' | 'wplus';
  widthBase?: number;
  widthMax?: number;
  perceptualNet?: string;
  perceptualLayer?: FeatureLayer;
  beta1?: string;
  beta2?: number;
  kl?: number;
  vgg16?: string;
  r1Gamma?: number;
  r1Interval?: number;
  seed?: number;
  snapshotKimg?: number;
  logSteps?: number;
  out?: string;
  preset?: EncoderPresetName;
  resume?: string;
  quiet?: boolean;
}

async function loadPerceptualNet(path: string): Promise<FeatureNet> {
  if (!existsSync(path)) throw new Error(`perceptual network ${path} not found (train one with \`lia train-features --role perceptual --out ${path}\`)`);
  const net = await loadFeatureNet(path);
  if (net.config.training?.role === 'eval') {
    throw new Error(`${path} is an evaluation network (role eval): the network that scores reconstructions must not be the one the encoder is trained against; use a role-perceptual network`);
  }
  return net;
}

/** Loads the dataset an encoder works on, converted to the decoder's resolution and channels. */
async function datasetFor(spec: string, res: number, channels: number, dataDir?: string, train?: number): Promise<Dataset> {
  const ds = await loadDataset(spec, { resolution: res, channels: channels as 1 | 3, dataDir, train });
  return ds;
}

export function registerEncoder(program: Command): void {
  addDistributedOptions(addEngineOptions(
    program
      .command('train-encoder')
      .description('stage 2: train the encoder f against a frozen stage-1 decoder (x → f → y → g → x̃), fine-tuning c')
      .option('--decoder <snapshot>', 'stage-1 decoder snapshot (its EMA generator is frozen)')
      .option('--data <spec>', "dataset (default: the decoder's)")
      .option('--data-dir <dir>', 'IDX folder for fashion-mnist / mnist')
      .addOption(new Option('--train <n>', 'use the first N images as the training split').argParser(parsePositiveInt))
      .option('--mirror', 'random left–right mirroring of the reals')
      .addOption(new Option('--batch <n>', `batch size (default ${D.batch})`).argParser(parsePositiveInt))
      .addOption(new Option('--kimg <k>', `training length in thousands of images (default ${D.kimg})`).argParser(num))
      .addOption(new Option('--lr <lr>', `Adam learning rate of f and c (default ${D.lr})`).argParser(num))
      .addOption(new Option('--lr-decay <x>', `multiply both learning rates by x every quarter of the run (default ${D.lrDecay})`).argParser(num))
      .addOption(new Option('--latent <kind>', `w: one y for all layers (paper); wplus: one per layer (default ${D.latent})`).choices(['w', 'wplus']))
      .addOption(new Option('--width-base <n>', `encoder channels at resolution r: min(max, base/r) (default ${D.widthBase})`).argParser(parsePositiveInt))
      .addOption(new Option('--width-max <n>', `encoder channel cap (default ${D.widthMax})`).argParser(parsePositiveInt))
      .option('--perceptual-net <file>', `feature network of the perceptual loss, role perceptual (default ${D.perceptualNet})`)
      .addOption(new Option('--perceptual-layer <name>', `its layer (default ${D.perceptualLayer})`).choices([...FEATURE_LAYERS]))
      .option('--beta1 <w>', "perceptual weight, or 'auto' to calibrate it for the network (default auto; see README)")
      .addOption(new Option('--beta2 <w>', `adversarial weight (default ${D.beta2})`).argParser(num))
      .addOption(new Option('--kl <w>', 'VAE-style encoder (PAPER.md Figure 12): predicts mean and log-variance of z, samples z, adds w·KL(q(z|x) ‖ N(0, I)); decodes g(mapping(z)) — Φ⁻¹ with a LIA decoder, the MLP with a baseline decoder').argParser(num))
      .option('--vgg16 <file>', "VGG16 weights (safetensors) to calibrate --beta1 auto against the paper's 5e-5 on conv4_3")
      .addOption(new Option('--r1-gamma <g>', `R1 weight γ of c while it is fine-tuned (default ${D.r1Gamma})`).argParser(num))
      .addOption(new Option('--r1-interval <n>', `lazy R1 every n c steps, scaled by n (default ${D.r1Interval})`).argParser(parsePositiveInt))
      .addOption(new Option('--seed <n>', `seed (default ${D.seed})`).argParser((v) => Number.parseInt(v, 10)))
      .addOption(new Option('--snapshot-kimg <k>', `snapshot every k kimg (default ${D.snapshotKimg})`).argParser(num))
      .addOption(new Option('--log-steps <n>', `a log.jsonl line every n steps (default ${D.logSteps})`).argParser(parsePositiveInt))
      .option('--out <dir>', `parent folder of numbered run folders (default ${D.outDir})`)
      .addOption(new Option('--preset <name>', `defaults for a schedule, overridden by explicit options (${describePresets(ENCODER_PRESETS)})`).choices(Object.keys(ENCODER_PRESETS)))
      .option('--resume <path>', 'continue a run: its folder or a snapshot (--kimg, --lr and --lr-decay may be changed)')
      .option('--quiet', 'no progress output'),
  )).action(async (opts: TrainOpts) => {
    const plan = distributedPlan(opts);
    if (plan.kind === 'launch') return launchWorkers(plan.nproc, opts);
    const engine = await initEngineFrom(opts);
    const parallel = joinProcessGroup(plan, engine, opts.device);
    const primary = parallel?.isPrimary ?? true;
    let trainer: EncoderTrainer;
    let runDir: string;
    if (opts.resume) {
      const snapPath = existsSync(opts.resume) && statSync(opts.resume).isDirectory() ? latestSnapshot(opts.resume) : opts.resume;
      if (!snapPath || !existsSync(snapPath)) throw new Error(`--resume ${opts.resume}: no snapshot found`);
      const snap = await readSnapshot(snapPath);
      const saved = requireEncoderSnapshot(snap);
      const cfg = saved.train;
      const g = saved.decoder.generator;
      const ds = await datasetFor(cfg.data ?? saved.decoder.train.data, g.resolution, g.channels, cfg.dataDir ?? saved.decoder.train.dataDir, cfg.trainImages);
      // A resumed run may be extended or fine-tuned: --kimg, --lr and --lr-decay are the overrides
      // (the schedule lr × decay^quarter is recomputed from them; Adam's moments are kept).
      const overrides: Partial<EncoderTrainConfig> = {};
      if (opts.kimg !== undefined) overrides.kimg = opts.kimg;
      if (opts.lr !== undefined) overrides.lr = opts.lr;
      if (opts.lrDecay !== undefined) overrides.lrDecay = opts.lrDecay;
      // Another world size keeps the global batch (train/data-parallel.ts).
      const rescaled = resumedBatch(cfg.batch, (snap.state as { worldSize?: number }).worldSize ?? 1, parallel?.worldSize ?? 1);
      if (rescaled.batch !== cfg.batch) overrides.batch = rescaled.batch;
      if (rescaled.notice && primary) console.error(`lia: ${rescaled.notice}`);
      resolveEncoderConfig({ ...cfg, ...overrides }); // validates the overrides
      trainer = await EncoderTrainer.resume(snapPath, ds, await loadPerceptualNet(cfg.perceptualNet), overrides, parallel);
      runDir = dirname(snapPath);
      if (primary) console.error(`resuming ${snapPath} at ${trainer.kimg.toFixed(1)} kimg`);
    } else {
      if (!opts.decoder) throw new Error('--decoder <stage-1 snapshot> is required (or --resume)');
      const dec = requireDecoderSnapshot(await readSnapshot(opts.decoder));
      const beta1 = opts.beta1 === undefined || opts.beta1 === 'auto' ? 'auto' : num(opts.beta1);
      const cfg = resolveEncoderConfig({
        decoder: opts.decoder,
        preset: opts.preset,
        data: opts.data,
        dataDir: opts.dataDir,
        trainImages: opts.train,
        mirror: opts.mirror,
        batch: opts.batch,
        kimg: opts.kimg,
        lr: opts.lr,
        lrDecay: opts.lrDecay,
        latent: opts.latent,
        widthBase: opts.widthBase,
        widthMax: opts.widthMax,
        perceptualNet: opts.perceptualNet,
        perceptualLayer: opts.perceptualLayer,
        beta1,
        beta2: opts.beta2,
        kl: opts.kl,
        r1Gamma: opts.r1Gamma,
        r1Interval: opts.r1Interval,
        seed: opts.seed,
        snapshotKimg: opts.snapshotKimg,
        logSteps: opts.logSteps,
        outDir: opts.out,
      });
      const g = dec.generator;
      const ds = await datasetFor(cfg.data ?? dec.train.data, g.resolution, g.channels, cfg.dataDir ?? dec.train.dataDir, cfg.trainImages);
      const net = await loadPerceptualNet(cfg.perceptualNet);
      let b1: number;
      let calibration: unknown = null;
      if (cfg.beta1 === 'auto') {
        const vgg = opts.vgg16 ? await loadVgg16(opts.vgg16) : undefined;
        const pw = calibrateBeta1(ds, net, cfg.perceptualLayer, vgg);
        vgg?.dispose();
        b1 = pw.beta1;
        calibration = pw;
        if (primary) console.error(`β1 = ${b1.toPrecision(4)} for ${net.config.name}.${cfg.perceptualLayer} (ρ = ${pw.rho.toPrecision(3)} from ${pw.rhoSource === 'vgg16' ? 'VGG16 conv4_3 with β1 = 5e-5' : 'the default, no VGG16 given'})`);
      } else b1 = cfg.beta1;
      const full = { ...cfg, beta1: b1 };
      trainer = await EncoderTrainer.create(full, ds, net, parallel);
      // Rank 0 alone makes the run folder and writes into it.
      runDir = primary ? createRunDir(cfg.outDir, `${ds.name}-${g.resolution}-encoder${(cfg.kl ?? 0) > 0 ? '-vae' : trainer.predicts === 'z' ? '-baseline' : ''}`) : '';
      if (primary) {
        const world = parallel ? { worldSize: parallel.worldSize, globalBatch: cfg.batch * parallel.worldSize } : {};
        writeFileSync(join(runDir, 'options.json'), JSON.stringify({ ...trainer.snapshotConfig(), calibration, engine, ...world }, null, 2) + '\n');
        console.error(
          `run ${runDir}: encoder ${(trainer.E.numParams() / 1e6).toFixed(2)} M parameters predicting ${trainer.predicts === 'y' ? 'y (LIA)' : 'z through the MLP mapping (StyleGAN + encoder baseline)'}, ${cfg.kimg} kimg, backend ${engine.backend}${parallel ? `, ${parallel.worldSize} ranks × batch ${cfg.batch}` : ''}`,
        );
      }
    }
    await startFromRankZero(parallel, trainer);
    try {
      await runWithProgress('train-encoder', trainer, runDir, (l) => `E ${l.loss_e.toFixed(4)} (mse ${l.mse.toFixed(4)}) D ${l.loss_d.toFixed(3)}`, opts.quiet);
    } finally {
      trainer.dispose();
    }
  });

  program
    .command('export-encoder')
    .description("write an encoder checkpoint's encoder and frozen EMA generator only (what encode, reconstruct, invert and the applications need; it cannot resume training)")
    .requiredOption('--ckpt <snapshot>', 'encoder checkpoint (.safetensors)')
    .requiredOption('--out <file>', 'output .safetensors')
    .action(async (opts: { ckpt: string; out: string }) => {
      const snap = await readSnapshot(opts.ckpt);
      requireEncoderSnapshot(snap);
      const r = await exportGroups(snap, opts.out, ['e', 'g_ema']);
      console.error(`wrote ${opts.out}: ${r.tensors} tensors (e, g_ema), ${(r.values / 1e6).toFixed(2)} M values`);
    });

  const imagesOption = () =>
    new Option('--images <spec>', "images: 'test' or 'train' (the checkpoint's dataset split), or any dataset spec (folder, mnist:…, fashion-mnist)").default('test');

  addEngineOptions(
    program
      .command('encode')
      .description('encode images to y (and z = Φ(y)) with an encoder checkpoint')
      .requiredOption('--ckpt <file>', 'encoder checkpoint (from lia train-encoder)')
      .addOption(imagesOption())
      .addOption(new Option('--limit <n>', 'at most N images').argParser(parsePositiveInt))
      .addOption(new Option('--batch <n>', 'images per pass').argParser(parsePositiveInt).default(64))
      .requiredOption('--out <file>', 'codes (.safetensors)'),
  ).action(async (opts: EngineOptions & { ckpt: string; images: string; limit?: number; batch: number; out: string }) => {
    await initEngineFrom(opts);
    const { E, G, config } = await loadEncoder(opts.ckpt);
    const { images, names } = await loadImages(opts.images, config, opts.limit);
    const t0 = performance.now();
    const codes = await encodeAll(E, G, config, images, opts.batch);
    const sec = (performance.now() - t0) / 1000;
    await lia.writeCodes(opts.out, { codes, names, about: { encoder: opts.ckpt, predicts: config.predicts, images: opts.images } });
    console.error(`wrote ${opts.out}: ${Object.entries(codes).map(([k, v]) => `${k} [${v.shape.join(', ')}]`).join(', ')} for ${images.n} images (${(images.n / sec).toFixed(0)} images/s)`);
    E.dispose();
    G.dispose();
  });

  addEngineOptions(
    program
      .command('reconstruct')
      .description('originals (top rows) above their reconstructions g(f(x))')
      .requiredOption('--ckpt <file>', 'encoder checkpoint')
      .addOption(imagesOption())
      .addOption(new Option('--n <n>', 'images').argParser(parsePositiveInt).default(16))
      .requiredOption('--out <png>', 'output grid'),
  ).action(async (opts: EngineOptions & { ckpt: string; images: string; n: number; out: string }) => {
    await initEngineFrom(opts);
    const m = await lia.loadModel(opts.ckpt);
    try {
      const { images } = await loadImagesFor(opts.images, imageTarget(m), opts.n);
      const { resolution: r, channels: c } = lia.modelInfo(m);
      const n = images.n;
      const x = tf.tensor4d(images.data, [n, r, r, c]);
      const xr = lia.reconstruct(m, x);
      const rs = (await xr.data()) as Float32Array;
      tf.dispose([x, xr]);
      await writeRowsGrid(opts.out, [images.data, rs], n, r, c, { scale: 1 });
      console.error(`wrote ${opts.out} (${n} originals above their reconstructions)`);
    } finally {
      lia.disposeModel(m);
    }
  });

  addEngineOptions(
    program
      .command('eval-reconstruction')
      .description('reconstruction quality over a whole split: MSE and PSNR ([0, 1] images), SSIM, SWD, FID, and encoder throughput')
      .requiredOption('--ckpt <file>', 'encoder checkpoint')
      .addOption(new Option('--split <split>', 'test or train').choices(['test', 'train']).default('test'))
      .option('--feature-net <file>', 'evaluation feature network for FID (role eval)')
      .option('--metrics <list>', 'distribution metrics of the reconstructions', 'fid,swd')
      .addOption(new Option('--limit <n>', 'at most N images').argParser(parsePositiveInt))
      .addOption(new Option('--batch <n>', 'images per pass').argParser(parsePositiveInt).default(64))
      .option('--json', 'print one JSON object')
      .option('--out <file>', 'also write the results as JSON')
      .option('--no-append', "do not append the FID/SWD records to metrics.jsonl beside the checkpoint (use it on a packed model folder)"),
  ).action(async (opts: EngineOptions & { ckpt: string; split: 'test' | 'train'; featureNet?: string; metrics: string; limit?: number; batch: number; json?: boolean; out?: string; append: boolean }) => {
    const engine = await initEngineFrom(opts);
    const m = await lia.loadModel(opts.ckpt);
    try {
      const { config } = requireEncoder(m, 'eval-reconstruction');
      const wanted = opts.metrics.split(',').map((s) => s.trim()).filter(Boolean);
      const data = m.decoder.train.data;
      const netPath = opts.featureNet ?? DEFAULT_EVAL_NET[data];
      if (wanted.length && (!netPath || !existsSync(netPath))) throw new Error(`FID needs an evaluation network: pass --feature-net (none found for '${data}')`);
      const { images } = await loadImagesFor(opts.split, imageTarget(m), opts.limit);
      const shape = lia.modelInfo(m);
      const featureNet = wanted.length ? await loadFeatureNet(netPath) : undefined;
      try {
        const realTest = wanted.length ? await loadDataset(data, { resolution: shape.resolution, channels: shape.channels as 1 | 3, dataDir: m.decoder.train.dataDir }) : undefined;
        const onProgress = opts.json ? undefined : (done: number, n: number) => statusLine(`reconstructing ${done}/${n}`, done >= n);
        const { scores } = await scoreReconstructions(m, images.data, shape, { batch: opts.batch, metrics: wanted, realTest, realSplit: opts.split, featureNet, onProgress });
        const result: Record<string, unknown> = {
          checkpoint: opts.ckpt,
          predicts: config.predicts,
          split: opts.split,
          images: scores.images,
          mse: scores.mse01,
          psnr: scores.psnr,
          ssim: scores.ssim,
          encoder_images_per_sec: scores.encoder_images_per_sec,
          backend: engine.backend,
          threads: engine.threads,
        };
        const metrics = scores.distributions ?? [];
        for (const r of metrics) {
          result[r.metric] = r.value;
          if (r.metric.startsWith('swd')) for (const [k, v] of Object.entries(r.values)) result[`${r.metric}_${k}`] = v;
        }
        if (metrics.length && opts.append) await appendMetrics(join(dirname(opts.ckpt), 'metrics.jsonl'), metrics.map((r) => toMetricRecord(r, { snapshot: opts.ckpt, backend: engine.backend })));
        if (opts.out) writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
        if (opts.json) console.log(JSON.stringify(result));
        else console.log(formatTable(['metric', 'value'], Object.entries(result).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toPrecision(5)) : String(v)])));
      } finally {
        featureNet?.dispose();
      }
    } finally {
      lia.disposeModel(m);
    }
  });
}

/** Images for an encoder checkpoint: a split of its dataset or any dataset spec, converted to its size. */
function loadImages(spec: string, config: EncoderSnapshotConfig, limit?: number): Promise<LoadedImages> {
  const g = config.decoder.generator;
  return loadImagesFor(spec, { resolution: g.resolution, channels: g.channels, data: config.train.data ?? config.decoder.train.data, dataDir: config.train.dataDir ?? config.decoder.train.dataDir }, limit);
}
