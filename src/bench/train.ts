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
import * as tf from '@tensorflow/tfjs';
import type { DataParallel } from '../train/data-parallel.js';

export interface TrainBenchOptions {
  resolution: number;
  channels: 1 | 3;
  batch: number;
  steps: number;
  warmup: number;
  config: Partial<DecoderTrainConfig>;
  /** Steps over which kernel calls are counted after the timed steps (0: not counted). */
  countSteps?: number;
  /**
   * Time each phase (D, R1, G) by reading its loss, on both sides (default); false: no read inside
   * the steps, the throughput of a training run (phase times null).
   */
  phases?: boolean;
  /** torch on CUDA: TF32 for the PyTorch reference as for lia ('on', 'off'; unset: PyTorch's defaults). */
  tf32?: 'on' | 'off';
}

export interface TrainBenchResult {
  img_per_sec: number;
  ms_per_step: number;
  /** Medians of the phases' wall times (null without phase timing). */
  ms_g: number | null;
  ms_d: number | null;
  ms_r1: number | null;
  g_params: number;
  d_params: number;
  peak_rss_mb: number;
  steps: number;
  /** tfjs kernel calls per training step (tf.profile over countSteps whole steps, R1 steps included). */
  kernel_calls_per_step?: number;
  /** torch: calls into the native addon per step (tfjs kernels that alias data, such as Identity, make none). */
  native_calls_per_step?: number;
  /** The kernels called most per step, by name. */
  kernel_calls_by_name?: Record<string, number>;
  count_steps?: number;
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
  const phases = opts.phases ?? true;
  trainer.profilePhases = phases;
  trainer.deferLossReads = !phases;
  const reduceBytes: number[] = [];
  const reduceMs: number[] = [];
  const waitMs: number[] = [];
  const total: number[] = [];
  const g: number[] = [];
  const d: number[] = [];
  const r1: number[] = [];
  try {
    if (!phases) {
      // As a training run: no read inside the steps; the clock stops when the last step's losses
      // are read (every queued kernel has run).
      for (let i = 0; i < opts.warmup; i++) await trainer.trainStep();
      await trainer.readLosses();
      const t0 = performance.now();
      for (let i = 0; i < opts.steps; i++) {
        await trainer.trainStep();
        onStep?.(opts.warmup + i, performance.now() - t0);
      }
      await trainer.readLosses();
      total.push((performance.now() - t0) / opts.steps);
    }
    for (let i = 0; phases && i < opts.warmup + opts.steps; i++) {
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
    const counts = opts.countSteps ? await countKernelCalls(trainer, opts.countSteps) : {};
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const world = parallel?.worldSize ?? 1;
    return {
      ...counts,
      ...(parallel ? { world_size: world, allreduce_bytes_per_step: mean(reduceBytes), allreduce_ms_per_step: mean(reduceMs), wait_ms_per_step: mean(waitMs) } : {}),
      img_per_sec: (opts.batch * world * 1000) / msPerStep,
      ms_per_step: msPerStep,
      ms_g: g.length ? median(g) : null,
      ms_d: d.length ? median(d) : null,
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

/**
 * Kernel calls per step over `steps` whole steps (tf.profile), with the native calls of the torch
 * backend (its run counter) and the most frequent kernels.
 */
export async function countKernelCalls(trainer: DecoderTrainer, steps: number): Promise<Pick<TrainBenchResult, 'kernel_calls_per_step' | 'native_calls_per_step' | 'kernel_calls_by_name' | 'count_steps'>> {
  const backend = tf.backend() as unknown as { nativeCalls?: number };
  const native0 = backend.nativeCalls;
  const prof = await tf.profile(async () => {
    for (let i = 0; i < steps; i++) await trainer.trainStep();
    return [];
  });
  const byName = new Map<string, number>();
  for (const k of prof.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + 1);
  const top = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  return {
    kernel_calls_per_step: prof.kernels.length / steps,
    native_calls_per_step: native0 === undefined ? undefined : (backend.nativeCalls! - native0) / steps,
    kernel_calls_by_name: Object.fromEntries(top.map(([k, n]) => [k, n / steps])),
    count_steps: steps,
  };
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
    tf32: opts.tf32 ?? null,
    phases: opts.phases ?? true,
  };
  const out = runTorchScript(py, script, JSON.stringify(input)).trim().split('\n').pop()!;
  return JSON.parse(out);
}
