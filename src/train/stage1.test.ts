// Stage-1 training: exact resume (cpu backend, fixed seed), no tensor leaks over 100 steps, a clean
// stop on request and on SIGINT, NaN detection that keeps the last good snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { loadDataset } from '../data/index.js';
import { resolveDecoderConfig, type DecoderTrainConfig } from './decoder-config.js';
import { DecoderTrainer, loadGenerator, type StepLosses } from './stage1.js';
import { runTraining, NonFiniteLossError } from './run-loop.js';
import { createRunDir } from './run-dir.js';

const TINY: Partial<DecoderTrainConfig> = {
  data: 'shapes:96',
  resolution: 8,
  batch: 4,
  kimg: 1,
  latentSize: 16,
  widthBase: 64,
  widthMax: 16,
  phiBlocks: 2,
  mlpLayers: 2,
  r1Interval: 2,
  snapshotKimg: 1,
  emaKimg: 0.01,
};

async function tinyTrainer(extra: Partial<DecoderTrainConfig> = {}): Promise<DecoderTrainer> {
  const cfg = resolveDecoderConfig({ ...TINY, ...extra });
  const ds = await loadDataset(cfg.data, { resolution: cfg.resolution });
  return new DecoderTrainer(cfg, ds);
}

test('resume continues exactly: the losses after a snapshot equal an uninterrupted run (cpu)', async () => {
  await initEngine({ backend: 'cpu' });
  const dir = mkdtempSync(join(tmpdir(), 'lia-resume-'));
  for (const mapping of ['invertible', 'mlp'] as const) {
    const a = await tinyTrainer({ mapping, seed: 5 });
    for (let i = 0; i < 3; i++) await a.trainStep();
    const snap = join(dir, `snap-${mapping}.safetensors`);
    await a.saveSnapshot(snap);
    const tail: StepLosses[] = [];
    for (let i = 0; i < 3; i++) tail.push(await a.trainStep()); // includes an R1 step (interval 2)
    a.dispose();

    const ds = await loadDataset(TINY.data!, { resolution: 8 });
    const b = await DecoderTrainer.resume(snap, ds);
    assert.equal(b.step, 3);
    const resumed: StepLosses[] = [];
    for (let i = 0; i < 3; i++) resumed.push(await b.trainStep());
    b.dispose();
    assert.deepEqual(resumed, tail, `${mapping}: losses after resume differ`);
    assert.ok(tail.some((l) => l.r1 !== undefined), 'an R1 step was exercised');
  }
});

test('100 training steps leak no tensors (wasm)', async () => {
  await initEngine({ backend: 'wasm' });
  const t = await tinyTrainer({ mixingProb: 0.5 });
  await t.trainStep();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) {
    const l = await t.trainStep();
    assert.ok(Number.isFinite(l.loss_d) && Number.isFinite(l.loss_g));
  }
  assert.equal(tf.memory().numTensors, before);
  t.dispose();
});

test('a run stops on request with a snapshot, and a NaN loss stops it naming the loss', async () => {
  await initEngine({ backend: 'wasm' });
  const out = mkdtempSync(join(tmpdir(), 'lia-run-'));
  const t = await tinyTrainer({ outDir: out });
  const runDir = createRunDir(out, 'tiny');
  let steps = 0;
  const res = await runTraining(t, runDir, { onStep: () => steps++, shouldStop: () => steps >= 3 });
  assert.equal(res.reason, 'stopped');
  assert.equal(t.step, 3);
  assert.ok(existsSync(res.snapshot));
  const { G } = await loadGenerator(res.snapshot);
  assert.equal(G.config.latentSize, 16);
  G.dispose();
  assert.ok(readdirSync(runDir).some((f) => f.startsWith('grid-')), 'sample grids are written');

  // Poison D and continue: the step that produces NaN throws, the last snapshot stays.
  t.D.out.bias!.assign(tf.fill([1], NaN));
  await assert.rejects(runTraining(t, runDir), (e: unknown) => e instanceof NonFiniteLossError && /loss 'loss_d' became NaN/.test(e.message));
  assert.ok(existsSync(res.snapshot));
  assert.match(readFileSync(join(runDir, 'FAILED.txt'), 'utf8'), /last good snapshot: .*snapshot-/);
  t.dispose();
});

test('SIGINT makes `lia train-decoder` write a snapshot and exit cleanly', async () => {
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const out = mkdtempSync(join(tmpdir(), 'lia-sigint-'));
  const args = [cli, 'train-decoder', '--data', 'shapes:96', '--resolution', '8', '--batch', '4', '--kimg', '100', '--latent', '16', '--width-base', '64', '--width-max', '16', '--snapshot-kimg', '50', '--out', out, '--quiet'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Wait for the first logged steps, then interrupt.
  const deadline = Date.now() + 60_000;
  let runDir = '';
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    const dirs = existsSync(out) ? readdirSync(out) : [];
    if (dirs.length && existsSync(join(out, dirs[0], 'log.jsonl'))) {
      runDir = join(out, dirs[0]);
      break;
    }
  }
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  if (!runDir) child.kill('SIGKILL');
  assert.ok(runDir, `training did not start: ${stderr}`);
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /SIGINT: writing a snapshot/);
  const snaps = readdirSync(runDir).filter((f) => f.startsWith('snapshot-'));
  assert.ok(snaps.length >= 2, `expected the initial and the interrupt snapshot, found ${snaps}`);
});
