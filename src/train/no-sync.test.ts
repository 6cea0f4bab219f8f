// A stage-1 step on torch with deferred loss reads reads nothing back from the backend (on a GPU a
// read waits for every queued kernel), and uploads nothing of the batch's size but the real images
// (tfjs's JavaScript random draws and ones arrays used to); its losses, read afterwards, equal the
// losses a reading step returns. The run loop reads them at its logging cadence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { loadTorchAddon } from '../engine/torch/addon.js';
import { loadDataset } from '../data/index.js';
import { resolveDecoderConfig, type DecoderTrainConfig } from './decoder-config.js';
import { DecoderTrainer, type StepLosses } from './stage1.js';
import { runTraining } from './run-loop.js';

const skip = loadTorchAddon() ? false : 'the torch addon is not built (npm run build:torch)';
const TINY: Partial<DecoderTrainConfig> = {
  data: 'shapes:64', resolution: 8, latentSize: 16, widthBase: 64, widthMax: 16, phiBlocks: 2, r1Interval: 2, emaKimg: 0.01, mixingProb: 1, seed: 5,
};

interface Spied {
  reads: number;
  writes: number[];
}

/** Counts the backend's reads and the sizes of its uploads while f runs. */
async function spy<T>(f: () => Promise<T>): Promise<{ result: T } & Spied> {
  const backend = tf.backend() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const seen: Spied = { reads: 0, writes: [] };
  const saved = { read: backend.read, readSync: backend.readSync, write: backend.write };
  backend.read = function (this: unknown, ...a: unknown[]) {
    seen.reads++;
    return saved.read.apply(this, a);
  };
  backend.readSync = function (this: unknown, ...a: unknown[]) {
    seen.reads++;
    return saved.readSync.apply(this, a);
  };
  backend.write = function (this: unknown, ...a: unknown[]) {
    seen.writes.push((a[0] as ArrayLike<number> | null)?.length ?? 0);
    return saved.write.apply(this, a);
  };
  try {
    return { result: await f(), ...seen };
  } finally {
    Object.assign(backend, saved);
  }
}

test('a torch trainStep with deferred loss reads makes no synchronous read and no batch-sized upload but the images', { skip }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  for (const batch of [4, 16]) {
    const cfg = resolveDecoderConfig({ ...TINY, batch });
    const ds = await loadDataset(cfg.data, { resolution: 8 });
    const reading = new DecoderTrainer(cfg, ds);
    const deferred = new DecoderTrainer(cfg, ds);
    deferred.deferLossReads = true;
    await deferred.trainStep(); // the first step reads (nothing to return yet)
    await reading.trainStep();
    const imageValues = batch * 8 * 8 * ds.channels;
    for (let i = 0; i < 3; i++) {
      // Steps 1..3: an R1 step (interval 2) and two without.
      const s = await spy(() => deferred.trainStep());
      assert.equal(s.reads, 0, `batch ${batch}, step ${i + 1}: ${s.reads} reads from the backend`);
      const big = s.writes.filter((n) => n >= batch);
      assert.deepEqual(big, [imageValues], `batch ${batch}, step ${i + 1}: uploads of ${big.join(', ')} values (the images are ${imageValues})`);
      const expected = await reading.trainStep();
      assert.deepEqual(await deferred.readLosses(), expected, 'the deferred losses are the step\'s');
    }
    const before = tf.memory().numTensors;
    await deferred.trainStep();
    await deferred.readLosses();
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    reading.dispose();
    deferred.dispose();
  }
});

test('the run loop reads deferred losses at its logging cadence: the log holds each logged step\'s own losses', { skip }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'lia-nosync-'));
  try {
    const cfg = resolveDecoderConfig({ ...TINY, batch: 4, kimg: 0.032, logSteps: 3, snapshotKimg: 1 });
    const ds = await loadDataset(cfg.data, { resolution: 8 });
    const ref = new DecoderTrainer(cfg, ds);
    const expected: StepLosses[] = [];
    for (let i = 0; i < 8; i++) expected.push(await ref.trainStep());
    ref.dispose();
    const t = new DecoderTrainer(cfg, ds);
    await runTraining(t, dir);
    assert.equal(t.deferLossReads, true);
    t.dispose();
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.loss_d !== undefined);
    assert.deepEqual(lines.map((l) => l.step), [3, 6, 8]);
    for (const l of lines) assert.ok(Math.abs(l.loss_g - expected[l.step - 1].loss_g) < 1e-4, `step ${l.step}: logged ${l.loss_g}, the step's ${expected[l.step - 1].loss_g}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
