// What every part of `lia experiment paper` shares: the options and budget, the test data, the
// evaluation network with its cached real-image statistics, the results and verdicts being
// collected, the time each part took, and the two encoders with the LIA one's perceptual loss.
import { existsSync } from 'node:fs';
import type { EngineInfo } from '../../engine/backend.js';
import { loadDataset, toUnitRange, type Dataset } from '../../data/index.js';
import type { FeatureLayer, FeatureNet } from '../../models/features.js';
import type { LiaModel } from '../../invert/model.js';
import { loadFeatureNet } from '../../io/network-files.js';
import * as api from '../../node.js';
import { PAPER_BUDGETS, type BudgetSettings, type PaperOptions } from './budgets.js';
import { recordingJudge, type Judge, type Verdict } from './verdicts.js';

export interface PaperRun {
  opts: PaperOptions;
  budget: BudgetSettings;
  engine: EngineInfo;
  /** The data of the LIA decoder, at its resolution and channels. */
  ds: Dataset;
  /** FID, SWD and PPL's network (role eval), and its real-image statistics kept between parts. */
  evalNet: FeatureNet;
  cache: Map<string, unknown>;
  /** Every number, for results.json. */
  results: Record<string, unknown>;
  /** Each verdict with the numbers it was judged on. */
  verdicts: Record<string, { verdict: Verdict; numbers: object }>;
  judge: Judge;
  /** Records the seconds since the previous lap under `part`. */
  lap(part: string): void;
  timing: Record<string, number>;
  startedAt: number;
}

/** The encoders of Table 3 and the cost comparison, and the perceptual loss the LIA one was trained with. */
export interface PaperModels {
  lia: LiaModel;
  base: LiaModel;
  perceptualPath: string;
  perceptualNet: FeatureNet;
  layer: FeatureLayer;
  /** β1 of the LIA encoder: refinement minimises eq. 13 with it. */
  beta: number;
}

export function say(quiet: boolean | undefined, msg: string): void {
  if (!quiet) process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** A number with 4 significant digits for the report's tables ('–' when absent). */
export const f4 = (v: number | undefined) => (v === undefined ? '–' : Number(v.toPrecision(4)));

function requireFile(path: string, what: string, how: string): void {
  if (!existsSync(path)) throw new Error(`${what} ${path} not found: ${how}`);
}

function requireInputs(opts: PaperOptions): void {
  requireFile(opts.liaDecoder, 'LIA decoder', 'train one with `lia train-decoder --preset quick` (or use results/decoders/)');
  requireFile(opts.mlpDecoder, 'MLP-mapping decoder', 'train one with `lia train-decoder --preset quick --mapping mlp`');
  requireFile(opts.liaEncoder, 'LIA encoder', 'train one with `lia train-encoder --preset quick --decoder <LIA decoder>`, then `lia export-encoder`');
  requireFile(opts.baselineEncoder, 'baseline encoder', 'train one with `lia train-encoder --preset quick --decoder <MLP decoder>`');
  requireFile(opts.evalNet, 'evaluation network', 'train one with `lia train-features --role eval`');
}

/** A decoder snapshot's model (the generator only); an encoder checkpoint is refused. */
export async function loadDecoder(path: string): Promise<LiaModel> {
  const m = await api.loadModel(path);
  if (m.encoder) {
    api.disposeModel(m);
    throw new Error(`${path}: expected a decoder snapshot (kind 'lia-decoder'), found an encoder checkpoint`);
  }
  return m;
}

/** Checks the inputs, loads the data and the evaluation network, and starts the results and the clock. */
export async function startRun(opts: PaperOptions, engine: EngineInfo): Promise<PaperRun> {
  const startedAt = Date.now();
  requireInputs(opts);
  const dec = await loadDecoder(opts.liaDecoder);
  api.disposeModel(dec);
  const g = dec.decoder.generator;
  const ds = await loadDataset(opts.data, { resolution: g.resolution, channels: g.channels as 1 | 3, dataDir: dec.decoder.train.dataDir });
  const evalNet = await loadFeatureNet(opts.evalNet);
  if (evalNet.config.training?.role === 'perceptual') {
    throw new Error(`${opts.evalNet} is a perceptual network; the evaluation network must not be the one the encoders were trained against`);
  }
  const budget = PAPER_BUDGETS[opts.budget];
  const { liaDecoder, mlpDecoder, liaEncoder, baselineEncoder } = opts;
  const inputs = { liaDecoder, mlpDecoder, liaEncoder, baselineEncoder, evalNet: opts.evalNet };
  const results: Record<string, unknown> = { budget: opts.budget, settings: budget, backend: engine.backend, threads: engine.threads, inputs };
  const verdicts: PaperRun['verdicts'] = {};
  const timing: Record<string, number> = {};
  let lapStart = Date.now();
  const lap = (part: string) => {
    timing[part] = (Date.now() - lapStart) / 1000;
    lapStart = Date.now();
  };
  return { opts, budget, engine, ds, evalNet, cache: new Map(), results, verdicts, judge: recordingJudge(verdicts), lap, timing, startedAt };
}

/** The LIA encoder and the baseline, each checked for what it predicts, and the LIA one's perceptual network. */
export async function loadEncoders(opts: PaperOptions): Promise<PaperModels> {
  const lia = await api.loadModel(opts.liaEncoder);
  const base = await api.loadModel(opts.baselineEncoder);
  const found = (m: LiaModel) => (m.encoder ? `one predicting ${m.encoder.predicts}` : 'a decoder snapshot');
  let wrong = '';
  if (!lia.encoder || lia.encoder.predicts !== 'y') wrong = `${opts.liaEncoder}: expected a LIA encoder (predicting y), found ${found(lia)}`;
  else if (!base.encoder || base.encoder.predicts !== 'z') {
    wrong = `${opts.baselineEncoder}: expected a StyleGAN + encoder baseline (predicting z), found ${found(base)}`;
  }
  if (wrong || !lia.encoder) {
    api.disposeModel(lia);
    api.disposeModel(base);
    throw new Error(wrong);
  }
  const { perceptualNet: perceptualPath, perceptualLayer: layer, beta1: beta } = lia.encoder.train;
  return { lia, base, perceptualPath, perceptualNet: await loadFeatureNet(perceptualPath), layer, beta };
}

export function disposeEncoders(m: PaperModels): void {
  m.perceptualNet.dispose();
  api.disposeModel(m.lia);
  api.disposeModel(m.base);
}

/** The first n test images (fewer when the split is smaller), in [-1, 1]. */
export function testImages(ds: Dataset, n: number): Float32Array {
  const size = ds.resolution * ds.resolution * ds.channels;
  const count = Math.min(n, ds.test.end - ds.test.start);
  return toUnitRange(ds.pixels.subarray(ds.test.start * size, (ds.test.start + count) * size));
}
