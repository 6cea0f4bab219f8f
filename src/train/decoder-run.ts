// The stage-1 run: the loop around DecoderTrainer.trainStep that logs, snapshots, draws sample grids
// and stops cleanly on request. The CLI adds the progress bar and signal handling on top.
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { DecoderTrainer, NonFiniteLossError, type StepLosses } from './stage1.js';
import { JsonlLog, snapshotName, latestSnapshot } from './run-dir.js';
import { writeImageGrid } from '../io/images.js';
import type { Generator } from '../models/generator.js';

export interface StepInfo {
  step: number;
  kimg: number;
  totalKimg: number;
  imgPerSec: number;
  elapsedSec: number;
  losses: StepLosses;
}

export interface RunHooks {
  onStep?: (info: StepInfo) => void;
  onSnapshot?: (path: string, kimg: number) => void | Promise<void>;
  /** Polled after every step; true makes the run write a snapshot and return. */
  shouldStop?: () => boolean;
}

export interface RunResult {
  reason: 'done' | 'stopped';
  snapshot: string;
  kimg: number;
  elapsedSec: number;
}

/** Fixed latents for the sample grids of a run (the same at every snapshot and after a resume). */
export function gridLatents(seed: number, n: number, latentSize: number): tf.Tensor2D {
  return tf.randomNormal([n, latentSize], 0, 1, 'float32', seed + 1234) as tf.Tensor2D;
}

/** Renders `z` through a generator in batches and writes a PNG grid. */
export async function writeSampleGrid(G: Generator, z: tf.Tensor2D, path: string, opts: { truncation?: number; batch?: number; cols?: number } = {}): Promise<void> {
  const { resolution: r, channels: c } = G.config;
  const n = z.shape[0];
  const b = opts.batch ?? 32;
  const out = new Float32Array(n * r * r * c);
  for (let i = 0; i < n; i += b) {
    const imgs = tf.tidy(() => G.forward(tf.slice(z, [i, 0], [Math.min(b, n - i), -1]) as tf.Tensor2D, { noise: 'const', truncation: opts.truncation }));
    out.set((await imgs.data()) as Float32Array, i * r * r * c);
    imgs.dispose();
  }
  await writeImageGrid(path, { data: out, n, h: r, w: r, c }, { cols: opts.cols });
}

export async function runDecoderTraining(trainer: DecoderTrainer, runDir: string, hooks: RunHooks = {}): Promise<RunResult> {
  const cfg = trainer.cfg;
  const log = new JsonlLog(join(runDir, 'log.jsonl'));
  const total = cfg.kimg * 1000;
  const gridZ = gridLatents(cfg.seed, 64, cfg.latentSize);
  let lastSnapshot = latestSnapshot(runDir) ?? '';
  const snapshot = async () => {
    const path = join(runDir, snapshotName(trainer.kimg));
    await trainer.saveSnapshot(path);
    await writeSampleGrid(trainer.Gema, gridZ, path.replace(/^(.*)snapshot-(\d+)\.safetensors$/, '$1grid-$2.png'));
    lastSnapshot = path;
    await hooks.onSnapshot?.(path, trainer.kimg);
  };
  if (trainer.step === 0) await snapshot(); // the initial state: grids and metrics at 0 kimg

  let windowStart = performance.now();
  let windowImages = 0;
  let imgPerSec = 0;
  try {
    while (trainer.imagesSeen < total) {
      const t0 = performance.now();
      const snapBefore = Math.floor(trainer.kimg / cfg.snapshotKimg);
      const losses = await trainer.trainStep();
      // wasm's data() resolves as a microtask, so without this the event loop would never run:
      // no signal handlers (Ctrl-C), no progress-bar redraws.
      await new Promise((resolve) => setImmediate(resolve));
      const dt = (performance.now() - t0) / 1000;
      trainer.elapsedSec += dt;
      windowImages += cfg.batch;
      const windowSec = (performance.now() - windowStart) / 1000;
      if (windowSec >= 2 || imgPerSec === 0) {
        imgPerSec = windowImages / windowSec;
        windowStart = performance.now();
        windowImages = 0;
      }
      const info: StepInfo = { step: trainer.step, kimg: trainer.kimg, totalKimg: cfg.kimg, imgPerSec, elapsedSec: trainer.elapsedSec, losses };
      if (trainer.step % cfg.logSteps === 0 || trainer.imagesSeen >= total) {
        log.write({ step: trainer.step, kimg: round(trainer.kimg), ...roundAll(losses), img_per_sec: round(imgPerSec), elapsed_sec: round(trainer.elapsedSec), time: new Date().toISOString() });
      }
      hooks.onStep?.(info);
      const atBoundary = Math.floor(trainer.kimg / cfg.snapshotKimg) > snapBefore || trainer.imagesSeen >= total;
      const stop = hooks.shouldStop?.() ?? false;
      if (atBoundary || stop) await snapshot();
      if (stop) return { reason: 'stopped', snapshot: lastSnapshot, kimg: trainer.kimg, elapsedSec: trainer.elapsedSec };
    }
  } catch (e) {
    if (e instanceof NonFiniteLossError) {
      log.write({ step: e.step, error: e.message, loss: e.loss, value: String(e.value), last_snapshot: lastSnapshot });
      writeFileSync(join(runDir, 'FAILED.txt'), `${e.message}\nlast good snapshot: ${lastSnapshot}\n`);
    }
    throw e;
  } finally {
    gridZ.dispose();
  }
  return { reason: 'done', snapshot: lastSnapshot, kimg: trainer.kimg, elapsedSec: trainer.elapsedSec };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
function roundAll(o: object): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v as number)]));
}
