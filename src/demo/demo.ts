// `lia demo` (what `npm start` runs): a small LIA trained end to end within a time budget — the
// decoder (stage 1), then the encoder (stage 2) — followed by every application on held-out images:
// reconstruction, refinement from three starts, interpolation in y and z, style mixing, and edits
// along fitted class directions. Writes runs/<n>-demo/report.{md,html} with grids, metrics and
// loss curves, and summary.json.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { EngineInfo } from '../engine/backend.js';
import { loadDataset, toUnitRange, imageAt, type Dataset } from '../data/index.js';
import { resolveDecoderConfig } from '../train/decoder-config.js';
import { resolveEncoderConfig } from '../train/encoder-config.js';
import { DecoderTrainer } from '../train/stage1.js';
import { EncoderTrainer, calibrateBeta1 } from '../train/stage2.js';
import { trainFeatureNet } from '../train/features.js';
import { createRunDir } from '../train/run-dir.js';
import type { Trainable } from '../train/run-loop.js';
import { runWithProgress } from '../train/progress-run.js';
import { loadFeatureNet } from '../io/network-files.js';
import { initialCode } from '../invert/model.js';
import { renderCode, REFINE_DEFAULTS, type RefineInit } from '../invert/refine.js';
import * as lia from '../node.js';
import { asGeneratorLike } from '../metrics/index.js';
import { writeRowsGrid } from '../io/images.js';
import { writeTextAtomic } from '../io/files.js';
import { lineChartSvg, type Series } from '../io/chart.js';
import { mse01, qualitySums } from '../metrics/image-quality.js';
import { computeMetrics, type ImageSource } from '../metrics/index.js';
import { writeSampleGrid, gridLatents } from '../train/sampling.js';
import { reportMarkdown, reportHtml, type Block, type Report, type Section } from './report.js';

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

export interface DemoResult {
  dir: string;
  report: Report;
  summary: Record<string, unknown>;
}

/** Shares of the budget: stage 1, stage 2; the rest is for the applications and the report. */
const SHARE = { decoder: 0.55, encoder: 0.33 };
const TRAINED_NETS: Record<string, { perceptual: string; eval: string }> = {
  'fashion-mnist': { perceptual: 'results/features/fmnist-perceptual.safetensors', eval: 'results/features/fmnist-eval.safetensors' },
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
 * deadline stops the run in any case.
 */
async function trainFor<L extends object>(label: string, trainer: Trainable<L> & { cfg: { kimg: number; snapshotKimg: number } }, dir: string, seconds: number, describe: (l: L) => string, quiet?: boolean) {
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
  return runWithProgress(label, trainer, dir, describe, quiet, deadline);
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

/** Test images of `count` different classes where the dataset has labels (the first images otherwise). */
function pickByClass(ds: Dataset, count: number, offset = 0): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const n = ds.test.end - ds.test.start;
  for (let k = 0; k < n && out.length < count; k++) {
    const i = ds.test.start + ((offset + k) % n); // wraps around on small test splits
    const l = ds.labels ? ds.labels[i] : i;
    if (ds.labels && seen.has(l)) continue;
    seen.add(l);
    out.push(i);
  }
  return out;
}

function imagesAt(ds: Dataset, idx: number[]): tf.Tensor4D {
  const size = ds.resolution * ds.resolution * ds.channels;
  const data = new Float32Array(idx.length * size);
  idx.forEach((i, k) => data.set(toUnitRange(imageAt(ds, i)), k * size));
  return tf.tensor4d(data, [idx.length, ds.resolution, ds.resolution, ds.channels]);
}

export async function runDemo(opts: DemoOptions, engine: EngineInfo): Promise<DemoResult> {
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

  // Applications on held-out images.
  tStage = Date.now();
  log(opts.quiet, 'reconstructing, refining, interpolating, mixing and editing held-out images…');
  const m = await lia.loadModel(encRun.snapshot);
  const res = ds.resolution;
  const ch = ds.channels;
  const sections: Section[] = [];
  const summary: Record<string, unknown> = { dir, data: ds.name, source: ds.source, backend: engine.backend, threads: engine.threads, minutes: opts.minutes };
  try {
    // Samples of the decoder.
    const z = gridLatents(opts.seed ?? 0, 64, m.G.config.latentSize);
    await writeSampleGrid(m.G, z, join(dir, 'samples.png'), { cols: 8 });
    z.dispose();
    // Loss curves.
    const decLog = readLog(join(decDir, 'log.jsonl'));
    const encLog = readLog(join(encDir, 'log.jsonl'));
    const decoderChart = lossChart(dir, 'decoder-losses.svg', [{ name: 'G (non-saturating)', points: curve(decLog, 'loss_g') }, { name: 'D (logistic)', points: curve(decLog, 'loss_d') }], { title: 'stage 1: decoder losses', xLabel: 'kimg', yLabel: 'loss (5-step mean)' }, 'Generator and discriminator losses during stage 1.');
    const encoderChart = lossChart(dir, 'encoder-losses.svg', [{ name: 'pixel MSE', points: curve(encLog, 'mse') }, { name: 'perceptual', points: curve(encLog, 'perceptual') }, { name: 'adversarial', points: curve(encLog, 'adv') }], { title: 'stage 2: encoder losses', xLabel: 'kimg', yLabel: 'loss (5-step mean)', logY: true }, 'Encoder losses during stage 2 (pixel MSE on [-1, 1] images, perceptual, adversarial).');

    // Reconstruction quality on up to 1,000 test images, and the grid of 16.
    const nEval = Math.min(1000, ds.test.end - ds.test.start);
    const size = res * res * ch;
    const recon = new Float32Array(nEval * size);
    const q = { mse: 0, psnr: 0, ssim: 0 };
    let encSec = 0;
    for (let i = 0; i < nEval; i += 100) {
      const b = Math.min(100, nEval - i);
      const x = imagesAt(ds, Array.from({ length: b }, (_, k) => ds.test.start + i + k));
      const te = performance.now();
      const y = lia.encode(m, x);
      await y.data();
      encSec += (performance.now() - te) / 1000;
      const xr = m.G.render(y);
      recon.set((await xr.data()) as Float32Array, i * size);
      const sums = qualitySums(x, xr);
      q.mse += sums.mse01;
      q.psnr += sums.psnr;
      q.ssim += sums.ssim;
      tf.dispose([x, y, xr]);
    }
    const quality = { images: nEval, mse01: q.mse / nEval, psnr: q.psnr / nEval, ssim: q.ssim / nEval, encoder_images_per_sec: nEval / encSec };
    summary.reconstruction = quality;
    const firstIdx = Array.from({ length: 16 }, (_, k) => ds.test.start + k);
    const x16 = imagesAt(ds, firstIdx);
    await writeRowsGrid(join(dir, 'reconstructions.png'), [(await x16.data()) as Float32Array, recon.subarray(0, 16 * size)], 16, res, ch);
    x16.dispose();

    // FID/SWD of samples and of reconstructions against the test split, with the evaluation network.
    const metricRows: Array<Array<string | number>> = [];
    if (evalPath) {
      const evalNet = await loadFeatureNet(evalPath);
      const n = nEval;
      const gen = asGeneratorLike(m.G);
      const cache = new Map<string, unknown>();
      const samples = await computeMetrics(['fid', 'swd'], { generator: gen, realTest: ds, featureNet: evalNet, numImages: n, seed: 0, batch: 100, cache });
      const fake: ImageSource = async function* () {
        for (let i = 0; i < n; i += 100) yield tf.tensor4d(recon.subarray(i * size, Math.min(n, i + 100) * size), [Math.min(100, n - i), res, res, ch]);
      };
      const recs = await computeMetrics(['fid', 'swd'], { realTest: ds, featureNet: evalNet, numImages: n, seed: 0, batch: 100, cache, fakeImages: fake });
      evalNet.dispose();
      for (const [what, ms] of [['samples g(Φ⁻¹(z))', samples], ['reconstructions g(f(x))', recs]] as const) {
        metricRows.push([what, ...ms.map((r) => r.value)]);
        summary[what.startsWith('samples') ? 'samples_metrics' : 'reconstruction_metrics'] = Object.fromEntries(ms.map((r) => [r.metric, r.value]));
      }
      metricRows.unshift(['', ...samples.map((r) => r.metric)]);
    }

    // Refinement from the encoder, the mean and a random start (PAPER.md Figure 11 in miniature).
    const refineIdx = Array.from({ length: 8 }, (_, k) => ds.test.start + 16 + k);
    const xr8 = imagesAt(ds, refineIdx);
    const refineSteps = 100;
    const series: Series[] = [];
    const refineRows: Array<Array<string | number>> = [];
    const rows: Float32Array[] = [(await xr8.data()) as Float32Array];
    const tRefine = Date.now();
    for (const init of ['encoder', 'mean', 'random'] as RefineInit[]) {
      const code0 = initialCode(m, 'y', init, xr8, 1);
      const start = renderCode(m.G, 'y', code0);
      const s0 = tf.tidy(() => tf.mean(mse01(xr8, start)).dataSync()[0]);
      const r = await lia.refine(m, xr8, { init: code0, steps: refineSteps, lr: REFINE_DEFAULTS.lr, beta: m.encoder!.train.beta1, perceptualNet: net, perceptualLayer: m.encoder!.train.perceptualLayer, space: 'y' });
      series.push({ name: `from ${init}`, points: r.history.map((h) => [h.step, h.loss]) });
      const s1 = r.finalMse.reduce((a, v) => a + v, 0) / r.finalMse.length / 4;
      refineRows.push([init, s0, s1, r.history[0].loss, r.history.at(-1)!.loss]);
      if (init === 'encoder') rows.push((await start.data()) as Float32Array);
      if (init !== 'random') rows.push((await r.images.data()) as Float32Array);
      tf.dispose([code0, start, r.code, r.images]);
    }
    timings.refinement = since(tRefine);
    xr8.dispose();
    await writeRowsGrid(join(dir, 'refinement.png'), rows, 8, res, ch);
    writeTextAtomic(join(dir, 'refinement-losses.svg'), lineChartSvg(series, { title: `refinement in y (${refineSteps} Adam steps, 8 test images)`, xLabel: 'step', yLabel: 'MSE + β·perceptual', logY: true }));
    summary.refinement = refineRows.map(([init, a, b]) => ({ init, mse01_start: a, mse01_after: b }));

    // Interpolation between two test images of different classes: lerp in y, slerp in z.
    const [ia, ib] = pickByClass(ds, 2);
    const xa = imagesAt(ds, [ia]);
    const xb = imagesAt(ds, [ib]);
    const interpRows: Float32Array[] = [];
    for (const space of ['y', 'z'] as const) {
      const imgs = lia.interpolate(m, xa, xb, { space, steps: 8 });
      const strip = tf.concat([xa, imgs, xb]);
      interpRows.push((await strip.data()) as Float32Array);
      tf.dispose([imgs, strip]);
    }
    tf.dispose([xa, xb]);
    await writeRowsGrid(join(dir, 'interpolation.png'), interpRows, 10, res, ch);

    // Style mixing: coarse styles from one image, fine styles from another.
    const pairs = pickByClass(ds, 8, 100);
    const crossover = Math.floor(m.G.numWs / 2);
    const mixCols: Float32Array[] = [new Float32Array(4 * size), new Float32Array(4 * size), new Float32Array(4 * size)];
    for (let p = 0; p < 4 && 2 * p + 1 < pairs.length; p++) {
      const c = imagesAt(ds, [pairs[2 * p]]);
      const f = imagesAt(ds, [pairs[2 * p + 1]]);
      const out = lia.mix(m, c, f, crossover);
      const all = (await tf.concat([c, f, out]).data()) as Float32Array; // coarse, fine, rec c, rec f, mix
      mixCols[0].set(all.subarray(0, size), p * size);
      mixCols[1].set(all.subarray(size, 2 * size), p * size);
      mixCols[2].set(all.subarray(4 * size, 5 * size), p * size);
      tf.dispose([c, f, out]);
    }
    await writeRowsGrid(join(dir, 'mixing.png'), mixCols, 4, res, ch);

    // Directions from class labels, and edits of two test images.
    const editRows: Float32Array[] = [];
    let dirRows: Array<Array<string | number>> = [];
    let edited: string[] = [];
    if (ds.labels && ds.classNames.length >= 2) {
      const nFit = Math.min(3000, ds.train.end - ds.train.start);
      const xFit = imagesAt(ds, Array.from({ length: nFit }, (_, k) => ds.train.start + k));
      const labels = ds.labels.subarray(ds.train.start, ds.train.start + nFit);
      const dirs = await lia.fitDirections(m, xFit, labels, ds.classNames, { iterations: 300, batch: 250 });
      xFit.dispose();
      dirRows = dirs.map((x) => [x.name, x.positives, x.trainAccuracy, x.heldOutAccuracy]);
      // Edit two test images towards two other classes.
      const src = pickByClass(ds, 2, 200);
      const strengths = [-2, -1, 0, 1, 2, 3];
      for (const [k, i] of src.entries()) {
        const own = ds.labels[i];
        const target = dirs[(own + 1 + 3 * k) % dirs.length];
        const x = imagesAt(ds, [i]);
        const out = await lia.edit(m, x, target, strengths);
        const imgs = tf.concat([x, out]);
        out.dispose();
        editRows.push((await imgs.data()) as Float32Array);
        edited.push(`row ${k + 1}: a ${ds.classNames[own]} moved along '${target.name}' with α = ${strengths.join(', ')}`);
        tf.dispose([x, imgs]);
      }
      if (editRows.length) await writeRowsGrid(join(dir, 'editing.png'), editRows, strengths.length + 1, res, ch);
      summary.directions = dirs.map((x) => ({ name: x.name, heldOutAccuracy: x.heldOutAccuracy }));
    }
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
        { kind: 'text', text: 'This is a demonstration at a tiny scale: minutes of CPU training instead of days of GPU training. Expect rough samples and blurry reconstructions; the structure of every result is the method’s, the quality is the budget’s. `--minutes N` scales the budget.' },
      ],
    });
    sections.push({
      title: 'Stage 1: the decoder',
      blocks: [
        { kind: 'figure', src: 'samples.png', caption: 'Random samples g(Φ⁻¹(z)), z ~ N(0, I), from the EMA generator.' },
        decoderChart,
      ],
    });
    sections.push({
      title: 'Stage 2: the encoder',
      blocks: [
        { kind: 'figure', src: 'reconstructions.png', caption: 'Held-out test images (top) and their one-pass reconstructions g(f(x)) (bottom).' },
        {
          kind: 'table',
          head: ['test images', 'MSE ([0, 1])', 'PSNR (dB)', 'SSIM', 'encoder images/s'],
          rows: [[quality.images, quality.mse01, quality.psnr, quality.ssim, Math.round(quality.encoder_images_per_sec)]],
        },
        ...(metricRows.length ? [{ kind: 'table' as const, head: metricRows[0].map(String), rows: metricRows.slice(1) }, { kind: 'text' as const, text: `FID and SWD of ${nEval} images against the test split, with the evaluation network ${evalPath} (never the perceptual network of the encoder's loss). FID from 1,000 images is biased upwards; compare numbers only at the same count.` }] : [{ kind: 'text' as const, text: 'No evaluation network for this dataset: FID is not reported (train one with `lia train-features --role eval`).' }]),
        encoderChart,
      ],
    });
    sections.push({
      title: 'Refinement (equation 13)',
      blocks: [
        { kind: 'figure', src: 'refinement.png', caption: `Rows: test images; the encoder's reconstruction; after ${refineSteps} steps from the encoder's code; after ${refineSteps} steps from the mean y.` },
        { kind: 'figure', src: 'refinement-losses.svg', caption: 'Loss per step from the three starting points (PAPER.md Figure 11).' },
        { kind: 'table', head: ['start', 'MSE before', `MSE after ${refineSteps} steps`, 'loss before', 'loss after'], rows: refineRows },
      ],
    });
    sections.push({
      title: 'Interpolation, mixing and editing of real images',
      blocks: [
        { kind: 'figure', src: 'interpolation.png', caption: 'Two test images at the ends; between them, 8 images lerping in y (top) and slerping in z = Φ(y) (bottom).' },
        { kind: 'figure', src: 'mixing.png', caption: `Style mixing: coarse styles (inputs 0–${crossover - 1}) from the top row, fine styles from the middle row; the mix at the bottom.` },
        ...(editRows.length
          ? [
              { kind: 'figure' as const, src: 'editing.png', caption: `Edits along class directions fitted in y by logistic regression: ${edited.join('; ')} (α in standard deviations of the codes along the direction).` },
              { kind: 'table' as const, head: ['direction (class)', 'images with it', 'accuracy (fit)', 'accuracy (held out)'], rows: dirRows },
            ]
          : [{ kind: 'text' as const, text: 'The dataset has no labels: no directions were fitted.' }]),
      ],
    });
    sections.push({
      title: 'Reproduce',
      blocks: [
        { kind: 'code', text: `npm start   # = lia demo\nnode dist/cli.js demo --minutes ${opts.minutes}${opts.data ? ` --data ${opts.data}` : ''}` },
        { kind: 'text', text: `Snapshots: ${decRun.snapshot} (decoder) and ${encRun.snapshot} (encoder); use them with lia generate, lia reconstruct, lia invert, lia interpolate, lia mix, lia directions fit and lia edit.` },
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
