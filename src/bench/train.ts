// `lia bench train`: stage-1 training throughput on random data (img/s; ms per step split into the
// D step, the lazy R1 step and the G step; peak RSS), optionally against the same architecture in
// PyTorch on the same machine (scripts/bench_train_torch.py).
import { fileURLToPath } from 'node:url';
import { DecoderTrainer } from '../train/stage1.js';
import { resolveDecoderConfig, type DecoderTrainConfig } from '../train/decoder-config.js';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../util/rng.js';
import { median } from './kernels.js';
import { findTorchPython, runTorchScript } from './python.js';
import { readFileSync } from 'node:fs';
import type { DataParallel } from '../train/data-parallel.js';

export interface TrainBenchOptions {
  resolution: number;
  channels: 1 | 3;
  batch: number;
  steps: number;
  warmup: number;
  config: Partial<DecoderTrainConfig>;
}

export interface TrainBenchResult {
  img_per_sec: number;
  ms_per_step: number;
  ms_g: number;
  ms_d: number;
  ms_r1: number | null;
  g_params: number;
  d_params: number;
  peak_rss_mb: number;
  steps: number;
  /** Data-parallel runs: ranks, and per step the bytes all-reduced and the milliseconds spent in all-reduce (rank 0's). */
  world_size?: number;
  allreduce_bytes_per_step?: number;
  allreduce_ms_per_step?: number;
  /** Time waiting for the slowest rank before the gradient all-reduces, per step. */
  wait_ms_per_step?: number;
}

/** A dataset of uniformly random pixels: the benchmark measures compute, not data. */
export function randomDataset(resolution: number, channels: 1 | 3, count = 256): Dataset {
  const rng = new Rng(1);
  const pixels = new Uint8Array(count * resolution * resolution * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.int(256);
  return { name: 'random', source: 'random pixels (benchmark)', pixels, count, resolution, channels, labels: null, classNames: [], train: { start: 0, end: count }, test: { start: count, end: count } };
}

export function benchConfig(opts: TrainBenchOptions): DecoderTrainConfig {
  return resolveDecoderConfig({ ...opts.config, data: 'random', resolution: opts.resolution, batch: opts.batch });
}

/** With `parallel`, opts.batch is per rank and img/s counts the global batch. */
export async function benchTrain(opts: TrainBenchOptions, onStep?: (i: number, ms: number) => void, parallel: DataParallel | null = null): Promise<TrainBenchResult> {
  const cfg = benchConfig(opts);
  const trainer = new DecoderTrainer(cfg, randomDataset(opts.resolution, opts.channels), parallel);
  if (parallel) {
    await parallel.broadcastState(trainer.stateGroups());
    parallel.measureWait = true;
  }
  trainer.profilePhases = true;
  const reduceBytes: number[] = [];
  const reduceMs: number[] = [];
  const waitMs: number[] = [];
  const total: number[] = [];
  const g: number[] = [];
  const d: number[] = [];
  const r1: number[] = [];
  try {
    for (let i = 0; i < opts.warmup + opts.steps; i++) {
      parallel?.resetStepCounters();
      const t0 = performance.now();
      await trainer.trainStep();
      const ms = performance.now() - t0;
      onStep?.(i, ms);
      if (i < opts.warmup) continue;
      total.push(ms);
      reduceBytes.push(parallel?.stepBytes ?? 0);
      reduceMs.push(parallel?.stepMs ?? 0);
      waitMs.push(parallel?.stepWaitMs ?? 0);
      const p = trainer.phaseTimes!;
      g.push(p.g);
      d.push(p.d);
      if (p.r1 !== undefined) r1.push(p.r1);
    }
    // Mean step time including the amortised R1 steps; per-phase medians.
    const msPerStep = total.reduce((a, b) => a + b, 0) / total.length;
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const world = parallel?.worldSize ?? 1;
    return {
      ...(parallel ? { world_size: world, allreduce_bytes_per_step: mean(reduceBytes), allreduce_ms_per_step: mean(reduceMs), wait_ms_per_step: mean(waitMs) } : {}),
      img_per_sec: (opts.batch * world * 1000) / msPerStep,
      ms_per_step: msPerStep,
      ms_g: median(g),
      ms_d: median(d),
      ms_r1: r1.length ? median(r1) : null,
      g_params: trainer.G.numParams(),
      d_params: trainer.D.numParams(),
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      steps: opts.steps,
    };
  } finally {
    trainer.dispose();
  }
}

/** The same benchmark through PyTorch; null when torch is missing. */
export function benchTrainTorch(opts: TrainBenchOptions, threads: number, device: 'cpu' | 'cuda'): (TrainBenchResult & { torch_version: string; device: string }) | null {
  const py = findTorchPython();
  if (!py) return null;
  const cfg = benchConfig(opts);
  const script = readFileSync(fileURLToPath(new URL('../../scripts/bench_train_torch.py', import.meta.url)), 'utf8');
  const input = {
    resolution: opts.resolution,
    channels: opts.channels,
    batch: opts.batch,
    latentSize: cfg.latentSize,
    widthBase: cfg.widthBase,
    widthMax: cfg.widthMax,
    mapping: cfg.mapping,
    phiBlocks: cfg.phiBlocks,
    mlpLayers: cfg.mlpLayers,
    r1Interval: cfg.r1Interval,
    mixingProb: cfg.mixingProb,
    steps: opts.steps,
    warmup: opts.warmup,
    threads,
    device,
  };
  const out = runTorchScript(py, script, JSON.stringify(input)).trim().split('\n').pop()!;
  return JSON.parse(out);
}
