// `lia experiment paper`: every comparison listed under "What the paper measures" in PAPER.md, at
// small scale, from trained decoders and encoders; writes results/paper/report.{md,html} with its
// tables and figures, and results.json with every number.
//
// - Table 2: PPL of generated images interpolating in z vs in y.
// - Table 3: test reconstructions of LIA, LIA + refinement, StyleGAN + encoder, and MSE-based
//   optimisation from the mean and from random starts at the same step count.
// - Figure 11: refinement loss per step from the three starts; Figure 10: refinement in y vs in z.
// - Figure 12: encoder gradient stability, LIA's deterministic encoder vs a VAE-style encoder on the
//   same Φ decoder (Gaussian posterior over z, decoded g(Φ⁻¹(z))), over several seeds, with a 95 %
//   confidence interval of the paired difference.
// - Cost: one encoder pass vs N optimisation steps, per image; and the time the encoder plus K
//   refinement steps needs to reach the MSE of N-step optimisation from the mean (both including g).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { EngineInfo } from '../engine/backend.js';
import { loadDataset, toUnitRange, type Dataset } from '../data/index.js';
import { type FeatureNet } from '../models/features.js';
import { loadFeatureNet } from '../io/network-files.js';
import { loadGenerator } from '../train/stage1.js';
import { EncoderTrainer } from '../train/stage2.js';
import { resolveEncoderConfig } from '../train/encoder-config.js';
import { initialCode, encodeY, type LiaModel } from '../invert/model.js';
import * as api from '../node.js';
import { type RefineInit, type RefineSpace, type RefineStep } from '../invert/refine.js';
import { computeMetrics, asGeneratorLike, type ImageSource } from '../metrics/index.js';
import { qualitySums } from '../metrics/image-quality.js';
import { writeRowsGrid } from '../io/images.js';
import { writeTextAtomic } from '../io/files.js';
import { lineChartSvg } from '../io/chart.js';
import { reportMarkdown, reportHtml, type Report, type Section, type Block } from '../demo/report.js';

export type PaperBudget = 'smoke' | 'small' | 'full';

export const PAPER_BUDGETS: Record<PaperBudget, { pplSamples: number; evalImages: number; optImages: number; optSteps: number; curveImages: number; fig12Kimg: number; fig12Seeds: number; costImages: number; costSteps: number }> = {
  smoke: { pplSamples: 32, evalImages: 64, optImages: 16, optSteps: 5, curveImages: 8, fig12Kimg: 0.064, fig12Seeds: 2, costImages: 4, costSteps: 10 },
  small: { pplSamples: 2000, evalImages: 10000, optImages: 256, optSteps: 100, curveImages: 64, fig12Kimg: 3, fig12Seeds: 3, costImages: 16, costSteps: 1000 },
  full: { pplSamples: 10000, evalImages: 10000, optImages: 1000, optSteps: 1000, curveImages: 256, fig12Kimg: 20, fig12Seeds: 5, costImages: 64, costSteps: 1000 },
};

/** Two-sided 95 % Student-t quantiles for 1–30 degrees of freedom (1.96 beyond). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean of paired differences with its 95 % confidence interval (Student t; a single pair has an infinite one). */
export function meanWithCi(d: number[]): { mean: number; lo: number; hi: number; n: number } {
  const n = d.length;
  if (n === 0) throw new Error('meanWithCi: no values');
  const mean = d.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, lo: -Infinity, hi: Infinity, n };
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { mean, lo: mean - half, hi: mean + half, n };
}

export interface PaperOptions {
  data: string;
  budget: PaperBudget;
  out: string;
  liaDecoder: string;
  mlpDecoder: string;
  liaEncoder: string;
  baselineEncoder: string;
  evalNet: string;
  /** Refinement learning rate (Adam). */
  lr: number;
  /** KL weight of the VAE-style encoder of Figure 12. */
  kl: number;
  quiet?: boolean;
}

interface Scores {
  images: number;
  mse01: number;
  psnr: number;
  ssim: number;
  fid?: number;
  swd?: number;
  fidName?: string;
  swdName?: string;
}

const say = (quiet: boolean | undefined, msg: string) => {
  if (!quiet) process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

function requireFile(path: string, what: string, how: string): void {
  if (!existsSync(path)) throw new Error(`${what} ${path} not found: ${how}`);
}

function testImages(ds: Dataset, n: number): Float32Array {
  const size = ds.resolution * ds.resolution * ds.channels;
  const count = Math.min(n, ds.test.end - ds.test.start);
  return toUnitRange(ds.pixels.subarray(ds.test.start * size, (ds.test.start + count) * size));
}

/** Per-image quality means, plus FID and SWD of the set against the test split. */
async function score(ds: Dataset, x: Float32Array, xr: Float32Array, evalNet: FeatureNet, cache: Map<string, unknown>, distributions = true): Promise<Scores> {
  const r = ds.resolution;
  const c = ds.channels;
  const size = r * r * c;
  const n = x.length / size;
  const sums = [0, 0, 0];
  for (let i = 0; i < n; i += 200) {
    const b = Math.min(200, n - i);
    const vals = tf.tidy(() => {
      const a = tf.tensor4d(x.subarray(i * size, (i + b) * size), [b, r, r, c]);
      const bb = tf.tensor4d(xr.subarray(i * size, (i + b) * size), [b, r, r, c]);
      return qualitySums(a, bb);
    });
    sums[0] += vals.mse01;
    sums[1] += vals.psnr;
    sums[2] += vals.ssim;
  }
  const out: Scores = { images: n, mse01: sums[0] / n, psnr: sums[1] / n, ssim: sums[2] / n };
  if (distributions) {
    const fake: ImageSource = async function* () {
      for (let i = 0; i < n; i += 200) yield tf.tensor4d(xr.subarray(i * size, Math.min(n, i + 200) * size), [Math.min(200, n - i), r, r, c]);
    };
    const ms = await computeMetrics(['fid', 'swd'], { realTest: ds, featureNet: evalNet, numImages: n, seed: 0, batch: 200, cache, fakeImages: fake });
    out.fid = ms[0].value;
    out.fidName = ms[0].metric;
    out.swd = ms[1].value;
    out.swdName = ms[1].metric;
  }
  return out;
}

/** g(f(x)) for every image, and the encoder's own time per image (batch 64). */
async function encodeAll(m: LiaModel, x: Float32Array, r: number, c: number): Promise<{ recon: Float32Array; encodeSecPerImage: number }> {
  const size = r * r * c;
  const n = x.length / size;
  const recon = new Float32Array(x.length);
  let sec = 0;
  for (let i = 0; i < n; i += 64) {
    const b = Math.min(64, n - i);
    const xt = tf.tensor4d(x.subarray(i * size, (i + b) * size), [b, r, r, c]);
    const t0 = performance.now();
    const y = encodeY(m, xt);
    await y.data();
    sec += (performance.now() - t0) / 1000;
    const img = m.G.render(y);
    recon.set((await img.data()) as Float32Array, i * size);
    tf.dispose([xt, y, img]);
  }
  return { recon, encodeSecPerImage: sec / n };
}

interface OptRun {
  images: Float32Array;
  history: RefineStep[]; // batch-mean losses, averaged over chunks
  secPerImage: number;
}

/** Refinement of many images in chunks (one Adam batch each); the per-step loss averaged over chunks. */
async function optimise(m: LiaModel, x: Float32Array, r: number, c: number, space: RefineSpace, init: RefineInit, steps: number, lr: number, beta: number, net: FeatureNet | undefined, layer: string, quiet?: boolean): Promise<OptRun> {
  const size = r * r * c;
  const n = x.length / size;
  const chunk = 128;
  const images = new Float32Array(x.length);
  const sum: RefineStep[] = Array.from({ length: steps }, (_, k) => ({ step: k + 1, loss: 0, mse: 0, perceptual: 0 }));
  const t0 = performance.now();
  for (let i = 0; i < n; i += chunk) {
    const b = Math.min(chunk, n - i);
    const xt = tf.tensor4d(x.subarray(i * size, (i + b) * size), [b, r, r, c]);
    const code0 = initialCode(m, space, init, xt, 1000 + i);
    const res = await api.refine(m, xt, { init: code0, steps, lr, beta, perceptualNet: beta > 0 ? net : undefined, perceptualLayer: layer as never, space });
    res.history.forEach((h, k) => {
      sum[k].loss += (h.loss * b) / n;
      sum[k].mse += (h.mse * b) / n;
      sum[k].perceptual += (h.perceptual * b) / n;
    });
    images.set((await res.images.data()) as Float32Array, i * size);
    tf.dispose([xt, code0, res.code, res.images]);
    say(quiet, `  ${space} from ${init}: ${Math.min(n, i + b)}/${n} images, ${steps} steps`);
  }
  return { images, history: sum, secPerImage: (performance.now() - t0) / 1000 / n };
}

/** Global gradient norm of the encoder at every step, for `kimg` thousand images. */
async function gradientTrace(t: EncoderTrainer, quiet: boolean | undefined, label: string): Promise<{ norms: number[]; perLayerCv: Map<string, number>; mse: number[] }> {
  const norms: number[] = [];
  const mse: number[] = [];
  const perLayer = new Map<string, number[]>();
  const total = t.cfg.kimg * 1000;
  while (t.imagesSeen < total) {
    const l = await t.trainStep();
    mse.push(l.mse);
    let ss = 0;
    for (const [k, v] of t.lastGradNorms) {
      ss += v * v;
      if (!perLayer.has(k)) perLayer.set(k, []);
      perLayer.get(k)!.push(v);
    }
    norms.push(Math.sqrt(ss));
    if (t.step % 50 === 0) say(quiet, `  ${label}: ${(t.imagesSeen / 1000).toFixed(2)}/${t.cfg.kimg} kimg, ‖∇‖ ${norms.at(-1)!.toFixed(4)}, mse ${l.mse.toFixed(4)}`);
    await new Promise((res) => setImmediate(res));
  }
  const perLayerCv = new Map<string, number>();
  for (const [k, v] of perLayer) {
    const h = v.slice(Math.floor(v.length / 2));
    const mean = h.reduce((a, b) => a + b, 0) / h.length;
    const sd = Math.sqrt(h.reduce((a, b) => a + (b - mean) ** 2, 0) / h.length);
    if (mean > 0) perLayerCv.set(k, sd / mean);
  }
  return { norms, perLayerCv, mse };
}

function stats(v: number[]): { mean: number; sd: number; cv: number; median: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  const s = [...v].sort((a, b) => a - b);
  return { mean, sd, cv: sd / mean, median: s[Math.floor(s.length / 2)] };
}

const f4 = (v: number | undefined) => (v === undefined ? '–' : Number(v.toPrecision(4)));

export type Verdict = 'agrees' | 'inconclusive' | 'contradicts';

const lower = (a: number, b: number): Verdict => (a < b ? 'agrees' : 'contradicts');

/**
 * How each comparison with the paper is judged, from its numbers (all "lower is better"). The paper's
 * claims are strict inequalities, so a tie contradicts; Figure 12 compares two noisy statistics, so
 * coefficients of variation within 10 % of each other are inconclusive.
 */
export const VERDICTS = {
  /** Table 2: the LIA decoder's PPL in y (lerp) is below its PPL in z (slerp). */
  table2: (ppl: { z: number; y: number }): Verdict => lower(ppl.y, ppl.z),
  /** Table 3: the LIA encoder's test MSE is below the StyleGAN + encoder baseline's. */
  table3Encoder: (mse: { lia: number; baseline: number }): Verdict => lower(mse.lia, mse.baseline),
  /** Table 3: refinement from the encoder ends below MSE optimisation from the mean and from a random y. */
  table3Refinement: (mse: { refined: number; mean: number; random: number }): Verdict => lower(mse.refined, Math.min(mse.mean, mse.random)),
  /** Figure 11: eq. 13 from the encoder's code ends below the same from the mean and from a random y. */
  figure11: (loss: { encoder: number; mean: number; random: number }): Verdict => lower(loss.encoder, Math.min(loss.mean, loss.random)),
  /** Figure 10: from the encoder's code, optimising in y ends below optimising in z. */
  figure10: (loss: { y: number; z: number }): Verdict => lower(loss.y, loss.z),
  /**
   * Figure 12: the LIA encoder's gradient norm varies less (coefficient of variation) than the
   * VAE-style encoder's on the same decoder: the 95 % interval of the paired difference cv(VAE) −
   * cv(LIA) over seeds lies above 0 (agrees), below 0 (contradicts), or contains it (inconclusive).
   */
  figure12: (d: { mean: number; lo: number; hi: number }): Verdict => (d.lo > 0 ? 'agrees' : d.hi < 0 ? 'contradicts' : 'inconclusive'),
  /** Cost: the encoder plus refinement reaches N-step optimisation's MSE in less time per image. */
  costAtEqualMse: (sec: { encoderPlusRefinement: number; optimisation: number }): Verdict => lower(sec.encoderPlusRefinement, sec.optimisation),
};

export async function runPaperExperiment(opts: PaperOptions, engine: EngineInfo): Promise<{ report: Report; results: Record<string, unknown> }> {
  const B = PAPER_BUDGETS[opts.budget];
  const t0 = Date.now();
  requireFile(opts.liaDecoder, 'LIA decoder', 'train one with `lia train-decoder --preset quick` (or use results/decoders/)');
  requireFile(opts.mlpDecoder, 'MLP-mapping decoder', 'train one with `lia train-decoder --preset quick --mapping mlp`');
  requireFile(opts.liaEncoder, 'LIA encoder', 'train one with `lia train-encoder --preset quick --decoder <LIA decoder>`, then `lia export-encoder`');
  requireFile(opts.baselineEncoder, 'baseline encoder', 'train one with `lia train-encoder --preset quick --decoder <MLP decoder>`');
  requireFile(opts.evalNet, 'evaluation network', 'train one with `lia train-features --role eval`');
  mkdirSync(opts.out, { recursive: true });
  const { G: g0, config: decCfg } = await loadGenerator(opts.liaDecoder);
  g0.dispose();
  const ds = await loadDataset(opts.data, { resolution: decCfg.generator.resolution, channels: decCfg.generator.channels as 1 | 3, dataDir: decCfg.train.dataDir });
  const evalNet = await loadFeatureNet(opts.evalNet);
  if (evalNet.config.training?.role === 'perceptual') throw new Error(`${opts.evalNet} is a perceptual network; the evaluation network must not be the one the encoders were trained against`);
  const cache = new Map<string, unknown>();
  const results: Record<string, unknown> = { budget: opts.budget, settings: B, backend: engine.backend, threads: engine.threads, inputs: { liaDecoder: opts.liaDecoder, mlpDecoder: opts.mlpDecoder, liaEncoder: opts.liaEncoder, baselineEncoder: opts.baselineEncoder, evalNet: opts.evalNet } };
  const sections: Section[] = [];
  const r = ds.resolution;
  const c = ds.channels;
  const size = r * r * c;
  const timing: Record<string, number> = {};
  let tPart = Date.now();
  const lap = (k: string) => {
    timing[k] = (Date.now() - tPart) / 1000;
    tPart = Date.now();
  };

  // Table 2: PPL in z vs in y.
  say(opts.quiet, `Table 2: PPL in z and y, ${B.pplSamples} paths per space and decoder`);
  const pplRows: Array<Array<string | number>> = [];
  const ppl: Record<string, Record<string, number>> = {};
  for (const [name, path] of [['LIA (Φ⁻¹)', opts.liaDecoder], ['StyleGAN (MLP mapping)', opts.mlpDecoder]] as const) {
    const { G } = await loadGenerator(path);
    const gen = asGeneratorLike(G);
    const ms = await computeMetrics(['ppl_z', 'ppl_y'], { generator: gen, featureNet: evalNet, numImages: B.pplSamples, pplSamples: B.pplSamples, seed: 0, batch: 100 });
    ppl[name] = Object.fromEntries(ms.map((m) => [m.metric, m.value]));
    pplRows.push([name, ms[0].value, ms[1].value, ms[1].value / ms[0].value]);
    G.dispose();
  }
  results.table2 = ppl;
  const liaPpl = pplRows[0];
  // Each verdict with the numbers it was judged on, into results.json.
  const verdicts: Record<string, { verdict: Verdict; numbers: object }> = {};
  results.verdicts = verdicts;
  const judge = <K extends keyof typeof VERDICTS>(name: K, numbers: Parameters<(typeof VERDICTS)[K]>[0]): Verdict => {
    const verdict = (VERDICTS[name] as (n: typeof numbers) => Verdict)(numbers);
    verdicts[name] = { verdict, numbers };
    return verdict;
  };
  const table2 = judge('table2', { z: liaPpl[1] as number, y: liaPpl[2] as number });
  sections.push({
    title: 'Table 2: perceptual path length, z vs y',
    blocks: [
      { kind: 'table', head: ['decoder', `PPL in z (slerp)`, `PPL in y (lerp)`, 'y / z'], rows: pplRows.map((row) => row.map((v) => (typeof v === 'number' ? f4(v) : v))) },
      {
        kind: 'text',
        text: `${B.pplSamples} paths per space, ε = 1e-4, distances from the evaluation network \`${evalNet.config.name}\` (not VGG16: PPL values are not comparable with the paper's). ${table2 === 'agrees' ? '**Agrees with the paper:** interpolating in y gives a shorter path than in z for the LIA decoder.' : '**Contradicts the paper:** for this decoder the path in y is not shorter than in z. Likely reason: a decoder trained for minutes on CPU, whose Φ has barely moved from initialisation (learning-rate multiplier 0.01).'}`,
      },
    ],
  });
  lap('table2');

  // Table 3: reconstructions of the test split.
  say(opts.quiet, `Table 3: encoders on ${Math.min(B.evalImages, ds.test.end - ds.test.start)} test images`);
  const xAll = testImages(ds, B.evalImages);
  const nAll = xAll.length / size;
  const lia = await api.loadModel(opts.liaEncoder);
  const base = await api.loadModel(opts.baselineEncoder);
  if (!lia.encoder || lia.encoder.predicts !== 'y') throw new Error(`${opts.liaEncoder}: expected a LIA encoder (predicting y), found ${lia.encoder ? `one predicting ${lia.encoder.predicts}` : 'a decoder snapshot'}`);
  if (!base.encoder || base.encoder.predicts !== 'z') throw new Error(`${opts.baselineEncoder}: expected a StyleGAN + encoder baseline (predicting z), found ${base.encoder ? `one predicting ${base.encoder.predicts}` : 'a decoder snapshot'}`);
  const decKimg = lia.decoder.train.kimg;
  const encKimg = lia.encoder.train.kimg;
  const encLia = await encodeAll(lia, xAll, r, c);
  const encBase = await encodeAll(base, xAll, r, c);
  const fullLia = await score(ds, xAll, encLia.recon, evalNet, cache);
  const fullBase = await score(ds, xAll, encBase.recon, evalNet, cache);
  lap('table3_encoders');

  const nOpt = Math.min(B.optImages, nAll);
  const xOpt = xAll.subarray(0, nOpt * size);
  const perceptualPath = lia.encoder.train.perceptualNet;
  const layer = lia.encoder.train.perceptualLayer;
  const beta = lia.encoder.train.beta1;
  const pnet = await loadFeatureNet(perceptualPath);
  say(opts.quiet, `Table 3: optimisation rows on the first ${nOpt} test images, ${B.optSteps} steps each`);
  const refined = await optimise(lia, xOpt, r, c, 'y', 'encoder', B.optSteps, opts.lr, beta, pnet, layer, opts.quiet);
  const fromMean = await optimise(lia, xOpt, r, c, 'y', 'mean', B.optSteps, opts.lr, 0, undefined, layer, opts.quiet);
  const fromRandom = await optimise(lia, xOpt, r, c, 'y', 'random', B.optSteps, opts.lr, 0, undefined, layer, opts.quiet);
  const sub = {
    lia: await score(ds, xOpt, encLia.recon.subarray(0, nOpt * size), evalNet, cache),
    liaRefined: await score(ds, xOpt, refined.images, evalNet, cache),
    base: await score(ds, xOpt, encBase.recon.subarray(0, nOpt * size), evalNet, cache),
    mean: await score(ds, xOpt, fromMean.images, evalNet, cache),
    random: await score(ds, xOpt, fromRandom.images, evalNet, cache),
  };
  lap('table3_optimisation');
  results.table3 = { full: { lia: fullLia, baseline: fullBase }, subset: sub, optSteps: B.optSteps, lr: opts.lr, beta };
  await writeRowsGrid(join(opts.out, 'table3-reconstructions.png'), [xOpt, encLia.recon, refined.images, encBase.recon, fromMean.images, fromRandom.images], 12, r, c);
  const row = (name: string, s: Scores) => [name, s.images, f4(s.mse01), f4(s.psnr), f4(s.ssim), f4(s.swd), f4(s.fid)];
  const table3Encoder = judge('table3Encoder', { lia: fullLia.mse01, baseline: fullBase.mse01 });
  const table3Refinement = judge('table3Refinement', { refined: sub.liaRefined.mse01, mean: sub.mean.mse01, random: sub.random.mse01 });
  const table3Blocks: Block[] = [
    { kind: 'table', head: [`method (${nAll === ds.test.end - ds.test.start ? 'whole test split' : `first ${nAll} test images`})`, 'images', 'MSE ([0,1])', 'PSNR', 'SSIM', fullLia.swdName ?? 'SWD', fullLia.fidName ?? 'FID'], rows: [row('LIA encoder (one pass)', fullLia), row('StyleGAN + encoder (one pass)', fullBase)] },
    {
      kind: 'table',
      head: [`method (first ${nOpt} test images)`, 'images', 'MSE ([0,1])', 'PSNR', 'SSIM', sub.lia.swdName ?? 'SWD', sub.lia.fidName ?? 'FID'],
      rows: [
        row('LIA encoder', sub.lia),
        row(`LIA + refinement (${B.optSteps} steps in y, eq. 13)`, sub.liaRefined),
        row('StyleGAN + encoder', sub.base),
        row(`MSE optimisation from the mean y (${B.optSteps} steps)`, sub.mean),
        row(`MSE optimisation from random y (${B.optSteps} steps)`, sub.random),
      ],
    },
    { kind: 'figure', src: 'table3-reconstructions.png', caption: `Rows: test images; LIA encoder; LIA + ${B.optSteps}-step refinement; StyleGAN + encoder; MSE optimisation from the mean; from a random start.` },
    {
      kind: 'text',
      text: `Optimisation uses Adam (lr ${opts.lr}, β = (0.9, 0.999)) on the LIA decoder; refinement minimises eq. 13 with β = ${beta.toPrecision(3)} and the encoder's perceptual network, the MSE rows minimise pixel MSE only, as in the paper. FID/SWD on ${nOpt} images are only comparable between rows of the same table. ${table3Encoder === 'agrees' ? '**Agrees with the paper:** the LIA encoder reconstructs with lower MSE than the StyleGAN + encoder baseline.' : `**Contradicts the paper:** the LIA encoder does not reach a lower MSE than the StyleGAN + encoder baseline. Likely reasons: both encoders saw ${encKimg} k images (the official schedule is 12 M) and the decoders differ in quality after their short stage 1.`} ${table3Refinement === 'agrees' ? '**Agrees with the paper:** refinement from the encoder ends lower than optimisation from the mean or a random start at the same step count.' : '**Contradicts the paper:** refinement from the encoder does not end below optimisation from the mean or random starts at the same step count (note that those minimise MSE only, which favours their MSE).'}`,
    },
  ];
  sections.push({ title: 'Table 3: reconstruction of held-out images', blocks: table3Blocks });

  // Figures 10 and 11 on a smaller subset, all minimising eq. 13.
  const nCurve = Math.min(B.curveImages, nAll);
  const xCurve = xAll.subarray(0, nCurve * size);
  say(opts.quiet, `Figures 10 and 11: eq. 13 from three starts and in z, ${nCurve} images`);
  const curves: Record<string, OptRun> = {};
  for (const [key, space, init] of [['y from encoder', 'y', 'encoder'], ['y from mean', 'y', 'mean'], ['y from random', 'y', 'random'], ['z from encoder', 'z', 'encoder']] as const) {
    curves[key] = await optimise(lia, xCurve, r, c, space, init, B.optSteps, opts.lr, beta, pnet, layer, opts.quiet);
  }
  const pts = (run: OptRun): Array<[number, number]> => run.history.map((h) => [h.step, h.loss]);
  writeTextAtomic(join(opts.out, 'fig11-refinement-starts.svg'), lineChartSvg(['y from encoder', 'y from mean', 'y from random'].map((k) => ({ name: k.replace('y ', ''), points: pts(curves[k]) })), { title: `Figure 11: refinement loss from three starts (${nCurve} test images)`, xLabel: 'Adam step', yLabel: 'MSE + β·perceptual', logY: true }));
  writeTextAtomic(join(opts.out, 'fig10-y-vs-z.svg'), lineChartSvg([{ name: 'in y', points: pts(curves['y from encoder']) }, { name: 'in z = Φ(y)', points: pts(curves['z from encoder']) }], { title: `Figure 10: refinement in y vs in z from the encoder's code (${nCurve} images)`, xLabel: 'Adam step', yLabel: 'MSE + β·perceptual', logY: true }));
  const last = (k: string) => curves[k].history.at(-1)!.loss;
  const first = (k: string) => curves[k].history[0].loss;
  results.figures10_11 = Object.fromEntries(Object.entries(curves).map(([k, v]) => [k, { first: v.history[0], last: v.history.at(-1), secPerImage: v.secPerImage }]));
  const figure11 = judge('figure11', { encoder: last('y from encoder'), mean: last('y from mean'), random: last('y from random') });
  const figure10 = judge('figure10', { y: last('y from encoder'), z: last('z from encoder') });
  sections.push({
    title: 'Figures 11 and 10: refinement curves',
    blocks: [
      { kind: 'figure', src: 'fig11-refinement-starts.svg', caption: 'Figure 11: batch-mean loss of eq. 13 per step from the encoder’s code, the mean y and a random y.' },
      { kind: 'figure', src: 'fig10-y-vs-z.svg', caption: 'Figure 10: the same optimisation from the same start, in y and in z = Φ(y).' },
      { kind: 'table', head: ['run', 'loss at step 1', `loss at step ${B.optSteps}`], rows: Object.keys(curves).map((k) => [k, f4(first(k)), f4(last(k))]) },
      { kind: 'text', text: `${figure11 === 'agrees' ? '**Agrees with the paper (Figure 11):** the encoder start stays lowest.' : '**Contradicts the paper (Figure 11):** the encoder start does not end lowest. Likely reason: an encoder trained on 40 k images starts from codes whose loss the optimiser can leave behind quickly.'} ${figure10 === 'agrees' ? '**Agrees with the paper (Figure 10):** optimisation in y ends lower than in z from the same start.' : '**Contradicts the paper (Figure 10):** optimisation in z is not worse than in y here. Likely reason: Φ of this short stage-1 run is close to the identity plus a small shift (learning-rate multiplier 0.01), so z and y are nearly the same space.'}` },
    ],
  });
  lap('figures10_11');

  // Figure 12: gradient stability of LIA's encoder vs a VAE-style encoder, both on the LIA decoder.
  say(opts.quiet, `Figure 12: LIA and VAE-style encoders on the Φ decoder from scratch, ${B.fig12Kimg} kimg each, ${B.fig12Seeds} seeds`);
  const kinds = [['LIA (y, deterministic)', 0], [`VAE-style (z ~ q(z|x), g(Φ⁻¹(z)), KL ${opts.kl})`, opts.kl]] as const;
  const perSeed: Array<{ seed: number; cv: number[]; mean: number[]; mse: number[] }> = [];
  const firstTraces: Record<string, number[]> = {};
  for (let seed = 0; seed < B.fig12Seeds; seed++) {
    const row = { seed, cv: [] as number[], mean: [] as number[], mse: [] as number[] };
    for (const [key, kl] of kinds) {
      const cfg = resolveEncoderConfig({ decoder: opts.liaDecoder, preset: 'quick', kimg: B.fig12Kimg, data: opts.data, perceptualNet: perceptualPath, perceptualLayer: layer, kl, seed, outDir: opts.out });
      const t = await EncoderTrainer.create({ ...cfg, beta1: beta }, ds, pnet);
      const tr = await gradientTrace(t, opts.quiet, `${key}, seed ${seed}`);
      t.dispose();
      const s2 = stats(tr.norms.slice(Math.floor(tr.norms.length / 2)));
      row.cv.push(s2.cv);
      row.mean.push(s2.mean);
      row.mse.push(stats(tr.mse.slice(-50)).mean);
      if (seed === 0) firstTraces[key] = tr.norms;
    }
    perSeed.push(row);
  }
  writeTextAtomic(
    join(opts.out, 'fig12-gradient-norms.svg'),
    lineChartSvg(
      Object.entries(firstTraces).map(([k, norms]) => ({ name: k, points: norms.map((v, i) => [i + 1, v] as [number, number]) })),
      { title: "Figure 12: the encoder's gradient norm per step (seed 0)", xLabel: 'step', yLabel: '‖∇f‖ (all layers)', logY: true },
    ),
  );
  const cvDiff = meanWithCi(perSeed.map((p) => p.cv[1] - p.cv[0]));
  const avg = (k: 'cv' | 'mean' | 'mse', i: number) => perSeed.reduce((a, p) => a + p[k][i], 0) / perSeed.length;
  results.figure12 = {
    decoder: opts.liaDecoder,
    kimg: B.fig12Kimg,
    seeds: perSeed,
    encoders: kinds.map(([k]) => k),
    cv_difference_vae_minus_lia: cvDiff,
    norms_seed0: firstTraces,
  };
  const g12Verdict = judge('figure12', { mean: cvDiff.mean, lo: cvDiff.lo, hi: cvDiff.hi });
  const ci = `${cvDiff.mean.toPrecision(3)} (95 % interval ${Number.isFinite(cvDiff.lo) ? `${cvDiff.lo.toPrecision(3)} to ${cvDiff.hi.toPrecision(3)}` : 'unbounded with one seed'}, ${cvDiff.n} seeds)`;
  sections.push({
    title: 'Figure 12: gradient stability of the encoder',
    blocks: [
      { kind: 'figure', src: 'fig12-gradient-norms.svg', caption: `Global gradient norm of the encoder per step (seed 0): LIA's deterministic encoder and a VAE-style encoder, both trained from scratch for ${B.fig12Kimg} kimg on the same Φ decoder with the same data, batch, losses, schedule and seed — the only difference is the sampled, KL-regularised z.` },
      {
        kind: 'table',
        head: ['seed', 'CV of ‖∇‖, LIA', 'CV, VAE-style', 'difference (VAE − LIA)', 'mean ‖∇‖, LIA', 'mean ‖∇‖, VAE-style', 'pixel MSE last 50 steps, LIA', 'VAE-style'],
        rows: [...perSeed.map((p) => [p.seed, f4(p.cv[0]), f4(p.cv[1]), f4(p.cv[1] - p.cv[0]), f4(p.mean[0]), f4(p.mean[1]), f4(p.mse[0]), f4(p.mse[1])]), ['mean', f4(avg('cv', 0)), f4(avg('cv', 1)), f4(cvDiff.mean), f4(avg('mean', 0)), f4(avg('mean', 1)), f4(avg('mse', 0)), f4(avg('mse', 1))]],
      },
      {
        kind: 'text',
        text:
          (g12Verdict === 'agrees'
            ? `**Agrees with the paper:** the LIA encoder's gradient norm varies less from step to step than the VAE-style encoder's on the same decoder; the difference of the coefficients of variation (VAE − LIA) is ${ci}, above 0.`
            : g12Verdict === 'contradicts'
              ? `**Contradicts the paper:** the LIA encoder's gradient norm varies more than the VAE-style encoder's on the same decoder: the difference (VAE − LIA) is ${ci}, below 0. Likely reason: short runs with small batches, where minibatch noise dominates the sampling noise of z.`
              : `**Inconclusive:** the difference of the coefficients of variation (VAE − LIA) is ${ci}; the interval contains 0, so these runs neither confirm nor contradict the paper's claim of steadier gradients. More seeds or longer runs (--budget full) narrow it.`) +
          ' Coefficient of variation = standard deviation / mean of the global gradient norm over the second half of each run.',
      },
    ],
  });
  lap('figure12');

  // Cost: one encoder pass vs N-step optimisation, and the encoder plus K refinement steps at the
  // MSE of N-step optimisation from the mean — both optimisations pixel MSE only, the same Adam, all
  // times per image and including g.
  const nCost = Math.min(B.costImages, nAll);
  const xCost = xAll.subarray(0, nCost * size);
  say(opts.quiet, `Cost: ${B.costSteps}-step MSE optimisation of ${nCost} images from the mean and from the encoder`);
  const xCostT = tf.tensor4d(xCost, [nCost, r, r, c]);
  const tEnc = performance.now();
  const encImages = api.reconstruct(lia, xCostT);
  await encImages.data();
  const encSec = (performance.now() - tEnc) / 1000 / nCost; // f and g, this batch
  encImages.dispose();
  const timed = async (init: RefineInit) => {
    const code0 = initialCode(lia, 'y', init, xCostT, 1000);
    const stamps: number[] = [];
    const t = performance.now();
    const res = await api.refine(lia, xCostT, { init: code0, steps: B.costSteps, lr: opts.lr, beta: 0, space: 'y', onStep: () => stamps.push((performance.now() - t) / 1000 / nCost) });
    const images = (await res.images.data()) as Float32Array;
    tf.dispose([code0, res.code, res.images]);
    // Pixel MSE on [0, 1] images after each step (the loss is on [-1, 1]: a quarter of it).
    return { curve: res.history.map((h, k) => ({ step: h.step, sec: stamps[k], mse01: h.mse / 4 })), images };
  };
  const fromMeanCost = await timed('mean');
  const fromEncCost = await timed('encoder');
  xCostT.dispose();
  const costLong = await score(ds, xCost, fromMeanCost.images, evalNet, cache, false);
  const costEnc = await score(ds, xCost, encLia.recon.subarray(0, nCost * size), evalNet, cache, false);
  const optSec = fromMeanCost.curve.at(-1)!.sec;
  const target = fromMeanCost.curve.at(-1)!.mse01;
  // The first refinement step from the encoder's code whose batch MSE is at or below the target (the
  // history's MSE is measured before that step's update: step k's images are reached after k − 1 updates).
  const reach = fromEncCost.curve.find((p) => p.mse01 <= target);
  const encPlusSec = reach ? encSec + (reach.step > 1 ? fromEncCost.curve[reach.step - 2].sec : 0) : Number.POSITIVE_INFINITY;
  const speedup = optSec / encSec;
  writeTextAtomic(
    join(opts.out, 'cost-mse-vs-time.svg'),
    lineChartSvg(
      [
        { name: 'from the encoder (encoder time added)', points: fromEncCost.curve.map((p) => [encSec + p.sec, p.mse01] as [number, number]) },
        { name: 'from the mean y', points: fromMeanCost.curve.map((p) => [p.sec, p.mse01] as [number, number]) },
      ],
      { title: `MSE against wall time per image (${nCost} test images, pixel-MSE Adam, lr ${opts.lr})`, xLabel: 'seconds per image', yLabel: 'MSE ([0, 1])', logY: true },
    ),
  );
  results.cost = {
    images: nCost,
    steps: B.costSteps,
    encoder_sec_per_image: encSec,
    optimisation_sec_per_image: optSec,
    speedup,
    encoder_mse01: costEnc.mse01,
    optimisation_mse01: costLong.mse01,
    target_mse01: target,
    encoder_plus_refinement: reach ? { steps: reach.step - 1, sec_per_image: encPlusSec, mse01: reach.mse01 } : null,
    curves: { mean: fromMeanCost.curve, encoder: fromEncCost.curve },
  };
  const costVerdict = judge('costAtEqualMse', { encoderPlusRefinement: encPlusSec, optimisation: optSec });
  sections.push({
    title: 'Cost: one encoder pass vs optimisation',
    blocks: [
      {
        kind: 'table',
        head: ['method', 'seconds per image (including g)', 'MSE ([0,1])'],
        rows: [
          ['LIA encoder, one pass g(f(x))', encSec.toExponential(2), f4(costEnc.mse01)],
          [`MSE optimisation from the mean y, ${B.costSteps} steps`, optSec.toExponential(2), f4(target)],
          [reach ? `LIA encoder + ${reach.step - 1} MSE refinement steps (the first to reach that MSE)` : `LIA encoder + up to ${B.costSteps} MSE refinement steps`, reach ? encPlusSec.toExponential(2) : 'never reached', reach ? f4(reach.mse01) : f4(fromEncCost.curve.at(-1)!.mse01)],
        ],
      },
      { kind: 'figure', src: 'cost-mse-vs-time.svg', caption: 'Pixel MSE of the batch against wall time per image: refinement from the encoder’s code (the encoder’s own time added) and from the mean y (PAPER.md Figure 11 as time). Both optimise pixel MSE only with the same Adam settings.' },
      {
        kind: 'text',
        text: `One encoder pass is **${Math.round(speedup).toLocaleString('en')}×** faster per image than ${B.costSteps} optimisation steps (goal ≥ 1000×), at MSE ${costEnc.mse01.toPrecision(3)} against ${target.toPrecision(3)}. ${costVerdict === 'agrees' ? `**Agrees with the paper:** at equal MSE, the encoder plus ${reach!.step - 1} refinement steps takes ${encPlusSec.toExponential(2)} s per image against ${optSec.toExponential(2)} s for optimisation from the mean — ${(optSec / encPlusSec).toFixed(1)}× less.` : `**Contradicts the paper:** the encoder plus refinement ${reach ? `needs ${encPlusSec.toExponential(2)} s per image, not less than optimisation's ${optSec.toExponential(2)} s,` : 'never reaches'} the MSE of ${B.costSteps}-step optimisation from the mean${reach ? '' : ` within ${B.costSteps} steps`}.`} Times are wall time of this process on ${engine.backend} with ${engine.threads} thread(s), batch ${nCost}, every one including the synthesis g.`,
      },
    ],
  });
  lap('cost');

  pnet.dispose();
  api.disposeModel(lia);
  api.disposeModel(base);
  evalNet.dispose();
  const wall = (Date.now() - t0) / 1000;
  results.timing_sec = { ...timing, total: wall };
  const report: Report = {
    title: `LIA: the paper's comparisons at small scale (${opts.data}, budget ${opts.budget})`,
    intro: [
      `Produced by \`node dist/cli.js experiment paper --data ${opts.data} --budget ${opts.budget}\` on ${engine.backend} with ${engine.threads} thread(s), in ${(wall / 60).toFixed(1)} minutes. Every number below comes from that run; results.json holds them all.`,
      `Inputs: LIA decoder \`${opts.liaDecoder}\`, MLP decoder \`${opts.mlpDecoder}\`, LIA encoder \`${opts.liaEncoder}\`, baseline encoder \`${opts.baselineEncoder}\`, evaluation network \`${opts.evalNet}\` (FID, SWD, PPL; never the perceptual network of the encoders' loss).`,
      `Scale: ${r}×${r} ${ds.name}, decoders trained for ${decKimg} k images and encoders for ${encKimg} k, against the paper’s 25 M and 12 M at 128–1024 px. Where a result contradicts the paper, the text says so and gives the likely reason.`,
    ],
    sections,
  };
  writeTextAtomic(join(opts.out, 'report.md'), reportMarkdown(report));
  writeTextAtomic(join(opts.out, 'report.html'), reportHtml(report));
  writeTextAtomic(join(opts.out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  say(opts.quiet, `wrote ${opts.out}/report.md, report.html, results.json in ${(wall / 60).toFixed(1)} min`);
  return { report, results };
}

