// The loop around a trainer's step that logs, snapshots (with images beside each snapshot) and stops
// cleanly on request or on a non-finite loss. Shared by stage 1 and stage 2; the CLI adds the
// progress bar and signal handling on top. The run folder is locked while it runs (io/staging.ts);
// a resumed run's log is cut back to the resumed step, and staging files of dead runs are removed.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { JsonlLog, snapshotName, latestSnapshot, truncateLog, SNAPSHOT_DEBRIS } from './run-dir.js';
import { RunLock, cleanStaleDebris } from '../io/staging.js';

/** A loss became NaN or infinite: the run stops, keeping its last good snapshot. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly loss: string,
    readonly step: number,
    readonly value: number,
  ) {
    super(`loss '${loss}' became ${value} at step ${step}; the run stopped and its last good snapshot is kept`);
  }
}

/** Throws NonFiniteLossError for the first of `order` (then any other key) that is not finite. */
export function checkFinite(losses: Record<string, number>, step: number, order: string[] = []): void {
  for (const k of [...order, ...Object.keys(losses)]) {
    if (k in losses && !Number.isFinite(losses[k])) throw new NonFiniteLossError(k, step, losses[k]);
  }
}

export interface Trainable<L extends object = object> {
  readonly cfg: { kimg: number; snapshotKimg: number; logSteps: number; batch: number };
  step: number;
  imagesSeen: number;
  elapsedSec: number;
  readonly kimg: number;
  trainStep(): Promise<L>;
  /**
   * Trainers that can keep a step's losses on the device: the loop sets deferLossReads and reads
   * them (readLosses, which also checks them) at the logging cadence and before each snapshot.
   */
  deferLossReads?: boolean;
  readLosses?(): Promise<L>;
  saveSnapshot(path: string): Promise<void>;
  /** Work every rank does before a snapshot, even those that write none (it may all-reduce). */
  prepareSnapshot?(): Promise<void>;
  /** Images written beside each snapshot (`grid-<kimg>.png`): samples or reconstructions. */
  writeSnapshotImages?(path: string): Promise<void>;
  /** Extra fields for the log line (e.g. gradient statistics). */
  logExtras?(): Record<string, unknown>;
  /** Data-parallel training (train/data-parallel.ts): rank 0 alone writes; the ranks stop together. */
  readonly parallel?: { readonly isPrimary: boolean; anyTrue(flag: boolean, what: string): boolean } | null;
}

export interface StepInfo<L = Record<string, number>> {
  step: number;
  kimg: number;
  totalKimg: number;
  imgPerSec: number;
  elapsedSec: number;
  losses: L;
}

export interface RunHooks<L = Record<string, number>> {
  onStep?: (info: StepInfo<L>) => void;
  onSnapshot?: (path: string, kimg: number) => void | Promise<void>;
  /** Polled after every step; true makes the run write a snapshot and return. */
  shouldStop?: () => boolean;
  /**
   * Take the run folder's lock, clean dead runs' staging files and cut the log back to the resumed
   * step (default true). false only for a process that writes into a folder another process holds.
   */
  lock?: boolean;
}

export interface RunResult {
  reason: 'done' | 'stopped';
  snapshot: string;
  kimg: number;
  elapsedSec: number;
}

export async function runTraining<L extends object>(trainer: Trainable<L>, runDir: string, hooks: RunHooks<L> = {}): Promise<RunResult> {
  // Ranks other than 0 write nothing into the run folder (see runLocked): no lock, no log to cut.
  if (hooks.lock === false || !(trainer.parallel?.isPrimary ?? true)) return runLocked(trainer, runDir, hooks);
  const lock = RunLock.acquire(runDir);
  try {
    cleanStaleDebris(runDir, SNAPSHOT_DEBRIS);
    truncateLog(join(runDir, 'log.jsonl'), trainer.step);
    return await runLocked(trainer, runDir, hooks);
  } finally {
    lock.release();
  }
}

async function runLocked<L extends object>(trainer: Trainable<L>, runDir: string, hooks: RunHooks<L>): Promise<RunResult> {
  const cfg = trainer.cfg;
  // With several ranks only rank 0 writes the log, snapshots and grids; the others only train.
  const writer = trainer.parallel?.isPrimary ?? true;
  const log = new JsonlLog(join(runDir, 'log.jsonl'));
  const total = cfg.kimg * 1000;
  let lastSnapshot = latestSnapshot(runDir) ?? '';
  const snapshot = async () => {
    await trainer.prepareSnapshot?.(); // on every rank: may all-reduce
    if (!writer) return;
    const path = join(runDir, snapshotName(trainer.kimg));
    await trainer.saveSnapshot(path);
    await trainer.writeSnapshotImages?.(path.replace(/^(.*)snapshot-(\d+)\.safetensors$/, '$1grid-$2.png'));
    lastSnapshot = path;
    await hooks.onSnapshot?.(path, trainer.kimg);
  };
  if (trainer.step === 0) await snapshot(); // the initial state: grids and metrics at 0 kimg

  const deferred = typeof trainer.readLosses === 'function';
  if (deferred) trainer.deferLossReads = true;
  let windowStart = performance.now();
  let windowImages = 0;
  let imgPerSec = 0;
  try {
    while (trainer.imagesSeen < total) {
      const t0 = performance.now();
      const snapBefore = Math.floor(trainer.kimg / cfg.snapshotKimg);
      const imagesBefore = trainer.imagesSeen;
      let losses = await trainer.trainStep();
      // wasm's data() resolves as a microtask, so without this the event loop would never run:
      // no signal handlers (Ctrl-C), no progress-bar redraws.
      await new Promise((resolve) => setImmediate(resolve));
      const dt = (performance.now() - t0) / 1000;
      trainer.elapsedSec += dt;
      windowImages += trainer.imagesSeen - imagesBefore; // the global batch, over all ranks
      const windowSec = (performance.now() - windowStart) / 1000;
      if (windowSec >= 2 || imgPerSec === 0) {
        imgPerSec = windowImages / windowSec;
        windowStart = performance.now();
        windowImages = 0;
      }
      const logNow = trainer.step % cfg.logSteps === 0 || trainer.imagesSeen >= total;
      const atBoundary = Math.floor(trainer.kimg / cfg.snapshotKimg) > snapBefore || trainer.imagesSeen >= total;
      const readNow = deferred && (logNow || atBoundary);
      if (readNow) losses = await trainer.readLosses!();
      const info: StepInfo<L> = { step: trainer.step, kimg: trainer.kimg, totalKimg: cfg.kimg, imgPerSec, elapsedSec: trainer.elapsedSec, losses };
      if (logNow && writer) {
        log.write({ step: trainer.step, kimg: round(trainer.kimg), ...roundAll(losses), ...trainer.logExtras?.(), img_per_sec: round(imgPerSec), elapsed_sec: round(trainer.elapsedSec), time: new Date().toISOString() });
      }
      hooks.onStep?.(info);
      const stopHere = hooks.shouldStop?.() ?? false;
      const stop = trainer.parallel ? trainer.parallel.anyTrue(stopHere, 'the stop flags') : stopHere;
      if (stop && deferred && !readNow) await trainer.readLosses!(); // checks the losses before the snapshot
      if (atBoundary || stop) await snapshot();
      if (stop) return { reason: 'stopped', snapshot: lastSnapshot, kimg: trainer.kimg, elapsedSec: trainer.elapsedSec };
    }
  } catch (e) {
    if (e instanceof NonFiniteLossError && writer) {
      log.write({ step: e.step, error: e.message, loss: e.loss, value: String(e.value), last_snapshot: lastSnapshot });
      writeFileSync(join(runDir, 'FAILED.txt'), `${e.message}\nlast good snapshot: ${lastSnapshot}\n`);
    }
    throw e;
  }
  return { reason: 'done', snapshot: lastSnapshot, kimg: trainer.kimg, elapsedSec: trainer.elapsedSec };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
function roundAll(o: object): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v as number)]));
}
