// `lia demo`: by default (what `npm start` runs) the shipped models used on held-out images without
// training (shipped.ts); `lia demo --train`: a small LIA trained end to end within a time budget —
// the decoder (stage 1), then the encoder (stage 2) — followed by every application on held-out
// images: reconstruction, refinement from three starts, interpolation in y and z, style mixing, and
// edits along fitted class and SeFa directions. Both write runs/<n>-demo/report.{md,html} with grids,
// metrics and (for --train) loss curves, and summary.json; a part that fails is reported there and
// the rest goes on.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { EngineInfo } from '../engine/backend.js';
import { loadDataset, toUnitRange, type Dataset } from '../data/index.js';
import { resolveDecoderConfig } from '../train/decoder-config.js';
import { resolveEncoderConfig } from '../train/encoder-config.js';
import { DecoderTrainer } from '../train/stage1.js';
import { EncoderTrainer, calibrateBeta1 } from '../train/stage2.js';
import { trainFeatureNet } from '../train/features.js';
import { createRunDir } from '../train/run-dir.js';
import type { Trainable } from '../train/run-loop.js';
import { runWithProgress } from '../train/progress-run.js';
import { loadFeatureNet, DEFAULT_EVAL_NET } from '../io/network-files.js';
import * as lia from '../node.js';
import { asGeneratorLike } from '../metrics/index.js';
import { writeTextAtomic } from '../io/files.js';
import { lineChartSvg, type Series } from '../io/chart.js';
import { computeMetrics } from '../metrics/index.js';
import { distributionScores } from '../metrics/reconstruction.js';
import { listModelFolders, trainedKimg, PACKAGE_ROOT } from '../io/model-folders.js';
import { reportMarkdown, reportHtml, type Block, type Report, type Section } from './report.js';
import { editingPart, guarded, interpolationPart, mixingPart, reconstructionPart, refinementPart, samplesPart, type Failure, type PartContext, type Pool } from './applications.js';
import { chooseModels, runShippedDemo, type DemoResult } from './shipped.js';

export interface DemoOptions {
  /** Dataset spec; default fashion-mnist when installed, otherwise the built-in shapes. */
  data?: string;
  /** Wall-clock budget of the whole demo, in minutes (default 15). */
  minutes: number;
  /** Parent folder of the numbered demo folder (default runs). */
  outDir: string;
  quiet?: boolean;
  seed?: number;
}

export type { DemoResult } from './shipped.js';

export interface RunDemoOptions extends DemoOptions {
  /** Train a small LIA from scratch instead of loading the shipped models. */
  train?: boolean;
  /** Folder of model folders for the shipped-models demo (default: the package's models/). */
  modelsDir?: string;
  /** Model folders to show instead of the longest-trained LIA model of each dataset. */
  models?: string[];
}

/** `lia demo`: the shipped models (default), or a small LIA trained from scratch (`train`). */
export async function runDemo(opts: RunDemoOptions, engine: EngineInfo): Promise<DemoResult> {
  if (opts.train) return runTrainingDemo(opts, engine);
  return runShippedDemo({ modelsDir: opts.modelsDir ?? join(PACKAGE_ROOT, 'models'), models: opts.models, outDir: opts.outDir, quiet: opts.quiet, seed: opts.seed }, engine);
}

/** Shares of the budget: stage 1, stage 2; the rest is for the applications and the report. */
const SHARE = { decoder: 0.55, encoder: 0.33 };
const TRAINED_NETS: Record<string, { perceptual: string; eval: string }> = {
  'fashion-mnist': { perceptual: join(PACKAGE_ROOT, 'results/features/fmnist-perceptual.safetensors'), eval: join(PACKAGE_ROOT, DEFAULT_EVAL_NET['fashion-mnist']) },
};

function log(quiet: boolean | undefined, msg: string): void {
  if (!quiet) process.stderr.write(`${msg}\n`);
}

async function chooseData(spec: string | undefined, quiet?: boolean): Promise<Dataset> {
  if (spec) return loadDataset(spec, { resolution: 32 });
  try {
    return await loadDataset('fashion-mnist', { resolution: 32, channels: 1 });
  } catch (e) {
    log(quiet, `Fashion-MNIST is not available (${(e as Error).message.split('\n')[0]}); using the built-in shapes dataset (install it with: apt-get install -y dataset-fashion-mnist)`);
    return loadDataset('shapes', { resolution: 32 });
  }
}

/**
 * Trains for the remaining part of `seconds`: a few steps measure the throughput, the run length
 * (kimg) is set from it, so that schedules (EMA, learning-rate decay) see the real length, and the
 * deadline stops the run in any case. A probe slowed by other work on the machine plans too short a
 * run: when the run ends with more than a tenth of the budget (and 20 s) left, it is extended from the
 * throughput measured over the run so far, up to three times.
 */
export async function trainFor<L extends object>(label: string, trainer: Trainable<L> & { cfg: { kimg: number; snapshotKimg: number } }, dir: string, seconds: number, describe: (l: L) => string, quiet?: boolean, minExtendSec = 20) {
  const start = Date.now();
  const deadline = start + seconds * 1000;
  for (let i = 0; i < 2; i++) await trainer.trainStep(); // first steps compile kernels: not timed
  const t0 = Date.now();
  const seen0 = trainer.imagesSeen;
  let steps = 0;
  while (Date.now() - t0 < Math.min(8000, seconds * 100) || steps < 3) {
    await trainer.trainStep();
    steps++;
  }
  const ips = ((trainer.imagesSeen - seen0) * 1000) / (Date.now() - t0);
  const left = Math.max(1, (deadline - Date.now()) / 1000);
  trainer.cfg.kimg = Math.max(trainer.kimg + 0.1, trainer.kimg + (ips * left) / 1000);
  trainer.cfg.snapshotKimg = trainer.cfg.kimg / 2;
  log(quiet, `${label}: ${ips.toFixed(1)} img/s, planning ${trainer.cfg.kimg.toFixed(1)} kimg in ${(left / 60).toFixed(1)} min`);
  let result = await runWithProgress(label, trainer, dir, describe, quiet, deadline);
  for (let extension = 0; extension < 3 && result.reason === 'done'; extension++) {
    const rest = (deadline - Date.now()) / 1000;
    if (rest < Math.max(minExtendSec, seconds / 10)) break;
    const measured = ((trainer.imagesSeen - seen0) * 1000) / (Date.now() - t0);
    trainer.cfg.kimg = trainer.kimg + (measured * rest) / 1000;
    trainer.cfg.snapshotKimg = trainer.cfg.kimg / 2;
    log(quiet, `${label}: ${measured.toFixed(1)} img/s over the run so far, ${(rest / 60).toFixed(1)} min left: extending to ${trainer.cfg.kimg.toFixed(1)} kimg`);
    result = await runWithProgress(label, trainer, dir, describe, quiet, deadline);
  }
  return result;
}

function readLog(path: string): Array<Record<string, number>> {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"step"'))
    .map((l) => JSON.parse(l) as Record<string, number>)
    .filter((r) => typeof r.kimg === 'number');
}

function curve(rows: Array<Record<string, number>>, key: string, smooth = 5): Array<[number, number]> {
  const pts = rows.filter((r) => Number.isFinite(r[key])).map((r) => [r.kimg, r[key]] as [number, number]);
  return pts.map(([x], i) => {
    const w = pts.slice(Math.max(0, i - smooth + 1), i + 1);
    return [x, w.reduce((a, p) => a + p[1], 0) / w.length];
  });
}

/**
 * A loss chart as a report figure; a stage too short to log a loss (a small budget on a busy
 * machine) gets a sentence instead of failing the whole report.
 */
function lossChart(dir: string, file: string, series: Series[], opts: Parameters<typeof lineChartSvg>[1], caption: string): Block {
  if (!series.some((x) => x.points.some(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0)))) {
    return { kind: 'text', text: `${opts.title}: no loss was logged within the budget (the stage ran fewer steps than one log interval), so there is no chart.` };
  }
  writeTextAtomic(join(dir, file), lineChartSvg(series, opts));
  return { kind: 'figure', src: file, caption };
}


export async function runTrainingDemo(opts: DemoOptions, engine: EngineInfo): Promise<DemoResult> {
  if (!(opts.minutes > 0)) throw new Error(`--minutes must be positive, got ${opts.minutes}`);
  const t0 = Date.now();
  const budget = opts.minutes * 60;
  const timings: Record<string, number> = {};
  const since = (t: number) => (Date.now() - t) / 1000;
  const ds = await chooseData(opts.data, opts.quiet);
  const dir = createRunDir(opts.outDir, 'demo');
  log(opts.quiet, `demo ${dir}: ${ds.name} ${ds.resolution}×${ds.resolution}×${ds.channels}, budget ${opts.minutes} min, backend ${engine.backend} (${engine.threads} thread${engine.threads > 1 ? 's' : ''})`);

  // Feature networks: the trained ones in results/features for Fashion-MNIST; otherwise a perceptual
  // network trained here for one epoch, and no FID (it needs an evaluation network of its own).
  let tStage = Date.now();
  const known = TRAINED_NETS[ds.name];
  let perceptualPath = known && existsSync(known.perceptual) ? known.perceptual : '';
  const evalPath = known && existsSync(known.eval) ? known.eval : '';
  let perceptualNote = `the perceptual network ${perceptualPath} (trained with \`lia train-features --role perceptual\`)`;
  if (!perceptualPath) {
    perceptualPath = join(dir, 'perceptual.safetensors');
    log(opts.quiet, `training a perceptual network on ${ds.name} (1 epoch)…`);
    const r = await trainFeatureNet({ data: opts.data ?? 'shapes', resolution: 32, epochs: 1, role: 'perceptual', name: `${ds.name}-perceptual`, out: perceptualPath });
    perceptualNote = `a perceptual network trained here for one epoch (test accuracy ${(100 * r.testAccuracy).toFixed(1)} %)`;
    r.net.dispose();
  }
  timings.features = since(tStage);

  // Stage 1.
  tStage = Date.now();
  const decCfg = resolveDecoderConfig({ preset: 'demo', data: opts.data ?? ds.name, resolution: 32, channels: ds.channels, seed: opts.seed ?? 0, outDir: dir });
  const decDir = join(dir, 'decoder');
  mkdirSync(decDir, { recursive: true });
  const dec = new DecoderTrainer(decCfg, ds);
  const gParams = dec.G.numParams();
  const dParams = dec.D.numParams();
  const decRun = await trainFor('stage 1 (decoder)', dec, decDir, budget * SHARE.decoder - since(t0), (l) => `G ${l.loss_g.toFixed(3)} D ${l.loss_d.toFixed(3)}`, opts.quiet);
  dec.dispose();
  timings.decoder = since(tStage);
  await new Promise((r) => setImmediate(r));

  // Stage 2.
  tStage = Date.now();
  const net = await loadFeatureNet(perceptualPath);
  const encBase = resolveEncoderConfig({ decoder: decRun.snapshot, preset: 'quick', data: opts.data ?? ds.name, perceptualNet: perceptualPath, seed: opts.seed ?? 0, outDir: dir });
  const beta1 = calibrateBeta1(ds, net, encBase.perceptualLayer).beta1;
  const enc = await EncoderTrainer.create({ ...encBase, beta1 }, ds, net);
  const encDir = join(dir, 'encoder');
  mkdirSync(encDir, { recursive: true });
  const eParams = enc.E.numParams();
  const encRun = await trainFor('stage 2 (encoder)', enc, encDir, budget * (SHARE.decoder + SHARE.encoder) - since(t0), (l) => `mse ${l.mse.toFixed(4)} D ${l.loss_d.toFixed(3)}`, opts.quiet);
  enc.dispose();
  timings.encoder = since(tStage);

  // Applications on held-out images; every part is guarded, so one that fails is reported and the rest goes on.
  tStage = Date.now();
  log(opts.quiet, 'reconstructing, refining, interpolating, mixing and editing held-out images…');
  const m = await lia.loadModel(encRun.snapshot);
  const res = ds.resolution;
  const ch = ds.channels;
  const sections: Section[] = [];
  const failures: Failure[] = [];
  const summary: Record<string, unknown> = { dir, mode: 'train', data: ds.name, source: ds.source, backend: engine.backend, threads: engine.threads, minutes: opts.minutes, failures };
  const ctx: PartContext = { dir, prefix: '', failures, summary, quiet: opts.quiet };
  const nEval = Math.min(1000, ds.test.end - ds.test.start);
  const size = res * res * ch;
  const pool: Pool = {
    x: toUnitRange(ds.pixels.subarray(ds.test.start * size, (ds.test.start + nEval) * size)),
    n: nEval,
    resolution: res,
    channels: ch,
    labels: ds.labels?.subarray(ds.test.start, ds.test.start + nEval),
    classNames: ds.classNames,
    source: `the first ${nEval} images of the test split`,
  };
  try {
    const samplesBlocks = await samplesPart(ctx, m, opts.seed ?? 0, 'Random samples g(Φ⁻¹(z)), z ~ N(0, I), from the EMA generator.');
    // Loss curves.
    const decLog = readLog(join(decDir, 'log.jsonl'));
    const encLog = readLog(join(encDir, 'log.jsonl'));
    const decoderChart = lossChart(dir, 'decoder-losses.svg', [{ name: 'G (non-saturating)', points: curve(decLog, 'loss_g') }, { name: 'D (logistic)', points: curve(decLog, 'loss_d') }], { title: 'stage 1: decoder losses', xLabel: 'kimg', yLabel: 'loss (5-step mean)' }, 'Generator and discriminator losses during stage 1.');
    const encoderChart = lossChart(dir, 'encoder-losses.svg', [{ name: 'pixel MSE', points: curve(encLog, 'mse') }, { name: 'perceptual', points: curve(encLog, 'perceptual') }, { name: 'adversarial', points: curve(encLog, 'adv') }], { title: 'stage 2: encoder losses', xLabel: 'kimg', yLabel: 'loss (5-step mean)', logY: true }, 'Encoder losses during stage 2 (pixel MSE on [-1, 1] images, perceptual, adversarial).');

    const rec = await reconstructionPart(ctx, m, pool);

    // FID/SWD of samples and of reconstructions against the test split, with the evaluation network,
    // beside the shipped model's at the same image count (FID depends on it).
    const metricBlocks = await guarded(ctx, 'FID and SWD', async () => {
      if (!evalPath) return [{ kind: 'text', text: 'No evaluation network for this dataset: FID and SWD are not reported (train one with `lia train-features --role eval`).' }];
      if (!rec.recon) throw new Error('the reconstructions failed, so there is nothing to score');
      const recon = rec.recon;
      const evalNet = await loadFeatureNet(evalPath);
      try {
        const n = nEval;
        const cache = new Map<string, unknown>();
        const rows: Array<Array<string | number>> = [];
        const scored: Array<[string, lia.LiaModel]> = [['this demo', m]];
        const shipped = chooseModels(listModelFolders(join(PACKAGE_ROOT, 'models'))).find((f) => f.manifest.data === ds.name && f.manifest.resolution === res && f.manifest.channels === ch);
        let shippedModel: lia.LiaModel | undefined;
        if (shipped) {
          shippedModel = await lia.loadModel(shipped.model);
          scored.push([`shipped ${shipped.id} (${trainedKimg(shipped)} kimg)`, shippedModel]);
        }
        let head: string[] = [];
        try {
          for (const [name, model] of scored) {
            const samples = await computeMetrics(['fid', 'swd'], { generator: asGeneratorLike(model.G), realTest: ds, featureNet: evalNet, numImages: n, seed: 0, batch: 100, cache });
            head = samples.map((r) => r.metric);
            rows.push([`samples g(Φ⁻¹(z)), ${name}`, ...samples.map((r) => r.value)]);
            summary[name === 'this demo' ? 'samples_metrics' : 'shipped_samples_metrics'] = Object.fromEntries(samples.map((r) => [r.metric, r.value]));
          }
        } finally {
          if (shippedModel) lia.disposeModel(shippedModel);
        }
        const recs = await distributionScores(recon, ds, { metrics: ['fid', 'swd'], realTest: ds, featureNet: evalNet, batch: 100, cache });
        rows.push(['reconstructions g(f(x)), this demo', ...recs.map((r) => r.value)]);
        summary.reconstruction_metrics = Object.fromEntries(recs.map((r) => [r.metric, r.value]));
        return [
          { kind: 'table', head: ['', ...head], rows },
          { kind: 'text', text: `FID and SWD of ${n} images against the test split, with the evaluation network ${evalPath} (never the perceptual network of the encoder's loss)${shipped ? `; the shipped model's samples are scored the same way, so the gap to a longer training is visible` : ''}. FID from ${n} images is biased upwards; compare numbers only at the same count.` },
        ];
      } finally {
        evalNet.dispose();
      }
    });

    const refineBlocks = await refinementPart(ctx, m, pool, net, 100, perceptualNote);
    const interpBlocks = await interpolationPart(ctx, m, pool);
    const mixBlocks = await mixingPart(ctx, m, pool);

    // Directions from class labels, and edits of held-out images.
    let dirRows: Array<Array<string | number>> = [];
    const editBlocks = await guarded(ctx, 'class directions', async () => {
      if (!ds.labels || ds.classNames.length < 2) return [{ kind: 'text', text: 'The dataset has no labels: no class directions were fitted (lia directions fit --method sefa|pca finds directions without labels).' }];
      const nFit = Math.min(3000, ds.train.end - ds.train.start);
      const xFit = tf.tensor4d(toUnitRange(ds.pixels.subarray(ds.train.start * size, (ds.train.start + nFit) * size)), [nFit, res, res, ch]);
      const labels = ds.labels.subarray(ds.train.start, ds.train.start + nFit);
      let dirs: lia.Direction[];
      try {
        dirs = await lia.fitDirections(m, xFit, labels, ds.classNames, { iterations: 300, batch: 250 });
      } finally {
        xFit.dispose();
      }
      dirRows = dirs.map((x) => [x.name, x.positives, x.trainAccuracy, x.heldOutAccuracy]);
      summary.directions = dirs.map((x) => ({ name: x.name, heldOutAccuracy: x.heldOutAccuracy }));
      return [...(await editingPart(ctx, m, pool, dirs.slice(0, 3), 'class')), { kind: 'table', head: ['direction (class)', 'images with it', 'accuracy (fit)', 'accuracy (held out)'], rows: dirRows }];
    });
    const sefaBlocks = await guarded(ctx, 'SeFa directions', async () => editingPart(ctx, m, pool, await lia.sefaDirections(m.G, 3), 'SeFa'));
    timings.applications = since(tStage);
    timings.total = since(t0);
    summary.timings_sec = timings;
    summary.decoder = { snapshot: decRun.snapshot, kimg: decRun.kimg, g_params: gParams, d_params: dParams };
    summary.encoder = { snapshot: encRun.snapshot, kimg: encRun.kimg, params: eParams, beta1 };

    // The report.
    const fmt = (s: number) => {
      const r = Math.round(s);
      return `${Math.floor(r / 60)} min ${r % 60} s`;
    };
    sections.push({
      title: 'Setup',
      blocks: [
        { kind: 'text', text: `Data: ${ds.name}, ${ds.resolution}×${ds.resolution}×${ds.channels}, ${ds.train.end - ds.train.start} training and ${ds.test.end - ds.test.start} held-out test images. Backend ${engine.backend}, ${engine.threads} thread(s). Budget ${opts.minutes} min.` },
        {
          kind: 'table',
          head: ['stage', 'what', 'wall time'],
          rows: [
            ['feature networks', perceptualNote, fmt(timings.features)],
            ['stage 1', `decoder g(Φ⁻¹(z)): G ${(gParams / 1e6).toFixed(2)} M, D ${(dParams / 1e6).toFixed(2)} M parameters, ${decRun.kimg.toFixed(1)} kimg`, fmt(timings.decoder)],
            ['stage 2', `encoder f: ${(eParams / 1e6).toFixed(2)} M parameters, ${encRun.kimg.toFixed(1)} kimg, β1 = ${beta1.toPrecision(3)}, β2 = 0.1`, fmt(timings.encoder)],
            ['applications', 'metrics, refinement, interpolation, mixing, directions, edits', fmt(timings.applications)],
            ['total', '', fmt(timings.total)],
          ],
        },
        { kind: 'text', text: 'This is a demonstration at a tiny scale: minutes of CPU training instead of days of GPU training. Expect rough samples and blurry reconstructions; the structure of every result is the method’s, the quality is the budget’s. `--minutes N` scales the budget; `npm start` (without --train) shows the shipped, longer-trained models instead.' },
      ],
    });
    sections.push({ title: 'Stage 1: the decoder', blocks: [...samplesBlocks, decoderChart] });
    sections.push({ title: 'Stage 2: the encoder', blocks: [...rec.blocks, ...metricBlocks, encoderChart] });
    sections.push({ title: 'Refinement (equation 13)', blocks: refineBlocks });
    sections.push({ title: 'Interpolation, mixing and editing of real images', blocks: [...interpBlocks, ...mixBlocks, ...editBlocks, ...sefaBlocks] });
    sections.push({
      title: 'Reproduce',
      blocks: [
        { kind: 'code', text: `node dist/cli.js demo --train --minutes ${opts.minutes}${opts.data ? ` --data ${opts.data}` : ''}` },
        { kind: 'text', text: `Snapshots: ${decRun.snapshot} (decoder) and ${encRun.snapshot} (encoder); use them with lia generate, lia reconstruct, lia invert, lia interpolate, lia mix, lia directions fit and lia edit. ${failures.length ? `${failures.length} part(s) failed: ${failures.map((x) => `${x.part} (${x.error})`).join('; ')}.` : 'Every part ran.'}` },
      ],
    });
  } finally {
    lia.disposeModel(m);
    net.dispose();
  }
  const report: Report = { title: 'LIA demo', intro: [`A small Latently Invertible Autoencoder trained end to end on ${ds.name} in ${(timings.total / 60).toFixed(1)} minutes, then used on held-out images.`], sections };
  writeTextAtomic(join(dir, 'report.md'), reportMarkdown(report));
  writeTextAtomic(join(dir, 'report.html'), reportHtml(report));
  writeTextAtomic(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return { dir, report, summary };
}
