// Random numbers drawn by the backend (engine/random.ts): on torch, libtorch's generator seeded per
// call: the same seed repeats the values, other seeds differ, 10⁶ draws have the moments of N(0, 1),
// a training run resumed from a snapshot continues with exactly the same draws (losses equal), and
// withHostRandom gives tfjs's host draws (what the cpu backend draws), so backends can be compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from './backend.js';
import { loadTorchAddon } from './torch/addon.js';
import { backendRandom, randomNormal, withHostRandom } from './random.js';
import { tfSeed } from '../util/rng.js';
import { loadDataset } from '../data/index.js';
import { resolveDecoderConfig } from '../train/decoder-config.js';
import { DecoderTrainer, type StepLosses } from '../train/stage1.js';

const skip = loadTorchAddon() ? false : 'the torch addon is not built (npm run build:torch)';

async function draw(shape: number[], seed: number): Promise<Float32Array> {
  const t = randomNormal(shape, seed);
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

test('torch draws on the backend: the same seed gives the same values, other seeds differ', { skip }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  assert.ok(backendRandom(), 'the torch backend registers the random kernel');
  const a = await draw([64, 33], 12345);
  const b = await draw([64, 33], 12345);
  assert.deepEqual(Array.from(a), Array.from(b));
  for (const other of [12346, 0, 2 ** 32 - 1, 12345 + 2 ** 32]) {
    const c = await draw([64, 33], other);
    const same = c.filter((x, i) => x === a[i]).length;
    assert.ok(same < 5, `seed ${other} repeats ${same} of seed 12345's ${a.length} values`);
  }
  // Not tfjs's host draws: those would cost the host time this kernel saves.
  const host = await withHostRandom(() => draw([64, 33], 12345));
  assert.notDeepEqual(Array.from(host), Array.from(a));
});

test('10⁶ torch draws have the moments of N(0, 1)', { skip }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  const n = 1_000_000;
  const x = await draw([1000, 1000], 777);
  let s1 = 0, s2 = 0, s3 = 0, s4 = 0, tail = 0;
  for (const v of x) {
    s1 += v;
    s2 += v * v;
    s3 += v * v * v;
    s4 += v * v * v * v;
    if (Math.abs(v) > 1.959964) tail++;
  }
  const mean = s1 / n, m2 = s2 / n;
  // Standard errors at 10⁶ draws: mean 1e-3, E[x²] 1.4e-3, E[x³] 3.9e-3, E[x⁴] 9.8e-3, tail 2.2e-4; allow 5σ.
  assert.ok(Math.abs(mean) < 5e-3, `mean ${mean}`);
  assert.ok(Math.abs(m2 - 1) < 7e-3, `E[x²] ${m2}`);
  assert.ok(Math.abs(s3 / n) < 2e-2, `E[x³] ${s3 / n}`);
  assert.ok(Math.abs(s4 / n - 3) < 5e-2, `E[x⁴] ${s4 / n}`);
  assert.ok(Math.abs(tail / n - 0.05) < 1.1e-3, `P(|x| > 1.96) ${tail / n}`);
  const scaled = randomNormal([100000], 5, 3, 0.5);
  const sv = (await scaled.data()) as Float32Array;
  scaled.dispose();
  const sm = sv.reduce((a, b) => a + b, 0) / sv.length;
  const ss = Math.sqrt(sv.reduce((a, b) => a + (b - sm) ** 2, 0) / sv.length);
  assert.ok(Math.abs(sm - 3) < 0.01 && Math.abs(ss - 0.5) < 0.01, `mean 3, std 0.5: got ${sm}, ${ss}`);
});

test('without the kernel (cpu), or inside withHostRandom, randomNormal is tfjs\'s seeded host generator', async () => {
  await initEngine({ backend: 'cpu' });
  assert.equal(backendRandom(), false);
  const ours = await draw([3, 7], 42);
  const t = tf.randomNormal([3, 7], 0, 1, 'float32', tfSeed(42));
  assert.deepEqual(Array.from(ours), Array.from(await t.data()));
  t.dispose();
  assert.throws(() => randomNormal([2], -1), /seed must be a non-negative integer, got -1/);
  assert.throws(() => randomNormal([2], 1.5), /seed must be a non-negative integer/);
});

test('a stage-1 run on torch draws on the device and resumes exactly from a snapshot (same losses)', { skip }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'lia-random-resume-'));
  try {
    const cfg = resolveDecoderConfig({ data: 'shapes:64', resolution: 8, batch: 4, latentSize: 16, widthBase: 64, widthMax: 16, phiBlocks: 2, r1Interval: 2, emaKimg: 0.01, mixingProb: 0.5, seed: 3 });
    const ds = await loadDataset(cfg.data, { resolution: 8 });
    const a = new DecoderTrainer(cfg, ds);
    for (let i = 0; i < 2; i++) await a.trainStep();
    const snap = join(dir, 'snap.safetensors');
    await a.saveSnapshot(snap);
    const tail: StepLosses[] = [];
    for (let i = 0; i < 4; i++) tail.push(await a.trainStep());
    a.dispose();
    const b = await DecoderTrainer.resume(snap, ds);
    const resumed: StepLosses[] = [];
    for (let i = 0; i < 4; i++) resumed.push(await b.trainStep());
    b.dispose();
    assert.deepEqual(resumed, tail);
    // And the device draws are what the run used: the same run on host draws gives other losses.
    const c = await DecoderTrainer.resume(snap, ds);
    const host = await withHostRandom(async () => [await c.trainStep()]);
    c.dispose();
    assert.notDeepEqual(host[0], tail[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
