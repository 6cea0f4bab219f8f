// The `torch` backend against the cpu backend (the reference): one stage-1 step (D, R1, G, EMA)
// and one stage-2 step from the same snapshot and batch agree within 1e-4 relative in every loss
// and every updated variable; training on torch resumes exactly and leaks neither tfjs tensors nor
// libtorch memory; a missing addon gives a clear error. Skipped when the addon is not built (CI
// builds it: .ci/run installs libtorch-dev).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../backend.js';
import { withHostRandom } from '../random.js';
import { loadTorchAddon } from './addon.js';
import { maxRelativeError as relDiff } from '../reference.js';
import { loadDataset } from '../../data/index.js';
import { resolveDecoderConfig, type DecoderTrainConfig } from '../../train/decoder-config.js';
import { DecoderTrainer, type StepLosses } from '../../train/stage1.js';
import { EncoderTrainer } from '../../train/stage2.js';
import { loadFeatureNet } from '../../io/network-files.js';
import { makeTinyCheckpoints } from '../../testing/tiny.js';
import type { VariableGroups } from '../../io/checkpoint.js';

const addon = loadTorchAddon();
const skip = addon ? false : 'the torch addon is not built (npm run build:torch)';

const TINY: Partial<DecoderTrainConfig> = {
  data: 'shapes:96', resolution: 8, batch: 4, kimg: 1, latentSize: 16, widthBase: 64, widthMax: 16,
  phiBlocks: 2, mlpLayers: 2, r1Interval: 2, snapshotKimg: 1, emaKimg: 0.01, seed: 7,
};

/** Every variable of every group, read to float32 arrays. */
async function readGroups(groups: VariableGroups): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [g, vars] of Object.entries(groups)) {
    for (const [name, v] of vars) out.set(`${g}.${name}`, v instanceof tf.Variable ? ((await v.data()) as Float32Array) : await v.read());
  }
  return out;
}


const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Compares every variable. A variable whose gradient is zero in exact arithmetic (a bias feeding a
 * training-mode batch norm) gets float noise as its gradient on both backends, which Adam's first
 * step scales up to ±lr: for those (first moment < 1e-7 on cpu) only "noise on both" is checked.
 */
function compareStates(torch: Map<string, Float32Array>, cpu: Map<string, Float32Array>, tol: number): { worst: string; rel: number } {
  assert.deepEqual([...torch.keys()].sort(), [...cpu.keys()].sort());
  const noise = new Set<string>();
  for (const [k, m] of cpu) {
    const hit = /^opt_(\w+)\.(.+)\.m$/.exec(k);
    if (!hit || maxAbs(m) >= 1e-7) continue;
    assert.ok(maxAbs(torch.get(k)!) < 1e-7, `${k}: the gradient is float noise on cpu but not on torch`);
    for (const key of [`${hit[1]}.${hit[2]}`, k, k.replace(/\.m$/, '.v')]) noise.add(key);
  }
  assert.ok(noise.size <= 6, `too many variables with a vanishing gradient: ${[...noise].join(', ')}`);
  let worst = { worst: '', rel: 0 };
  for (const [k, ref] of cpu) {
    if (noise.has(k)) continue;
    const rel = relDiff(torch.get(k)!, ref);
    assert.ok(rel <= tol, `${k}: torch differs from cpu by ${rel.toExponential(2)} relative (tolerance ${tol})`);
    if (rel > worst.rel) worst = { worst: k, rel };
  }
  return worst;
}

function compareLosses(torch: object, cpu: object, tol: number): number {
  let worst = 0;
  for (const [k, v] of Object.entries(cpu)) {
    if (typeof v !== 'number') continue;
    const t = (torch as Record<string, number>)[k];
    const rel = Math.abs(t - v) / Math.max(Math.abs(v), 1e-6);
    assert.ok(rel <= tol, `loss ${k}: torch ${t} vs cpu ${v} (${rel.toExponential(2)} relative)`);
    worst = Math.max(worst, rel);
  }
  return worst;
}

test('one stage-1 step (D, R1, G, EMA) on torch equals the cpu backend within 1e-4 relative', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-torch-parity-'));
  const ds = await loadDataset(TINY.data!, { resolution: 8 });
  for (const mapping of ['invertible', 'mlp'] as const) {
    await initEngine({ backend: 'cpu' });
    const init = new DecoderTrainer(resolveDecoderConfig({ ...TINY, mapping }), ds);
    const snap = join(dir, `init-${mapping}.safetensors`);
    await init.saveSnapshot(snap);
    init.dispose();

    const results: { losses: StepLosses; state: Map<string, Float32Array> }[] = [];
    for (const backend of ['torch', 'cpu'] as const) {
      await initEngine({ backend, threads: 2 });
      const trainer = await DecoderTrainer.resume(snap, ds);
      // Both backends draw latents and noise on the host (torch would draw its own): the same step.
      const losses = await withHostRandom(() => trainer.trainStep()); // step 0: an R1 step (interval 2)
      assert.ok(losses.r1 !== undefined, 'the step ran R1');
      results.push({ losses, state: await readGroups(trainer.stateGroups()) });
      trainer.dispose();
    }
    const lossRel = compareLosses(results[0].losses, results[1].losses, 1e-4);
    const worst = compareStates(results[0].state, results[1].state, 1e-4);
    t.diagnostic(`${mapping}: worst loss ${lossRel.toExponential(1)}, worst variable ${worst.worst} ${worst.rel.toExponential(1)} (relative)`);
  }
});

test('one stage-2 (encoder) step on torch equals the cpu backend within 1e-4 relative', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-torch-parity2-'));
  await initEngine({ backend: 'cpu' });
  const tiny = await makeTinyCheckpoints(dir, 'invertible', 0);
  const results: { losses: object; state: Map<string, Float32Array> }[] = [];
  for (const backend of ['torch', 'cpu'] as const) {
    await initEngine({ backend, threads: 2 });
    const net = await loadFeatureNet(tiny.perceptual);
    const trainer = await EncoderTrainer.resume(tiny.encoder, tiny.ds, net);
    const losses = await trainer.trainStep();
    results.push({ losses, state: await readGroups(trainer.stateGroups()) });
    trainer.dispose();
    net.dispose();
  }
  const lossRel = compareLosses(results[0].losses, results[1].losses, 1e-4);
  const worst = compareStates(results[0].state, results[1].state, 1e-4);
  t.diagnostic(`worst loss ${lossRel.toExponential(1)}, worst variable ${worst.worst} ${worst.rel.toExponential(1)} (relative)`);
});

test('training on torch resumes exactly and leaks neither tensors nor libtorch memory over 100 steps', { skip }, async () => {
  await initEngine({ backend: 'torch', threads: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'lia-torch-resume-'));
  const ds = await loadDataset(TINY.data!, { resolution: 8 });
  const a = new DecoderTrainer(resolveDecoderConfig(TINY), ds);
  for (let i = 0; i < 3; i++) await a.trainStep();
  const snap = join(dir, 'snap.safetensors');
  await a.saveSnapshot(snap);
  const tail: StepLosses[] = [];
  for (let i = 0; i < 3; i++) tail.push(await a.trainStep());
  const b = await DecoderTrainer.resume(snap, ds);
  const resumed: StepLosses[] = [];
  for (let i = 0; i < 3; i++) resumed.push(await b.trainStep());
  b.dispose();
  assert.deepEqual(resumed, tail, 'losses after resume differ on torch');

  // Leaks: after a warm-up, 100 more steps change neither count (R1 steps included).
  const before = { tensors: tf.memory().numTensors, native: addon!.memory() };
  for (let i = 0; i < 100; i++) await a.trainStep();
  const after = { tensors: tf.memory().numTensors, native: addon!.memory() };
  a.dispose();
  assert.equal(after.tensors, before.tensors, 'tfjs tensors leaked');
  assert.equal(after.native.handles, before.native.handles, 'libtorch handles leaked');
  assert.equal(after.native.bytes, before.native.bytes, 'libtorch bytes leaked');
});

test('the fused activation on torch equals the composed ops on cpu, up to second-order gradients', { skip }, async () => {
  const { fusedLeakyRelu } = await import('../fused.js');
  const shape = [4, 6, 6, 5];
  const xs = Float32Array.from({ length: 4 * 6 * 6 * 5 }, (_, i) => Math.sin(i * 12.9898) * 3);
  const ws = Float32Array.from({ length: 5 }, (_, i) => 0.5 + i * 0.3);
  // R1-shaped: the gradient with respect to w of |∂/∂x Σ f(x·w)·x|², through f's first derivative.
  const run = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(xs, shape as [number, number, number, number]);
      const w = tf.tensor1d(ws);
      const f = (xx: tf.Tensor, ww: tf.Tensor) => fusedLeakyRelu(tf.mul(xx, ww), 0.2, Math.SQRT2);
      const y = f(x, w);
      const gx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx, w), x)))(x);
      const gw = tf.grad((ww: tf.Tensor) => tf.sum(tf.square(tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx, ww), x)))(x))))(w);
      return [y, gx, gw];
    });
  const results: Float32Array[][] = [];
  for (const backend of ['torch', 'cpu'] as const) {
    await initEngine({ backend, threads: 1 });
    const outs = run();
    results.push(await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>)));
    tf.dispose(outs);
  }
  ['value', 'gradient', 'second-order gradient'].forEach((what, i) => {
    const rel = relDiff(results[0][i], results[1][i]);
    assert.ok(rel <= 1e-6, `${what}: torch (fused) vs cpu (composed) differ by ${rel.toExponential(2)}`);
  });
});

test('disposing a tensor frees its libtorch memory at once', { skip }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  const m0 = addon!.memory();
  const x = tf.ones([256, 1024]);
  const y = tf.tidy(() => x.mul(2).add(1).reshape([1024, 256]));
  const m1 = addon!.memory();
  assert.equal(m1.handles - m0.handles, 2);
  assert.equal(m1.bytes - m0.bytes, 2 * 256 * 1024 * 4);
  assert.deepEqual(Array.from((await y.data()).slice(0, 3)), [3, 3, 3]);
  x.dispose();
  y.dispose();
  assert.deepEqual(addon!.memory(), m0);
});

test('--backend torch without the addon names the install command', () => {
  const backendModule = fileURLToPath(new URL('../backend.js', import.meta.url));
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `const { initEngine } = await import(${JSON.stringify(backendModule)}); try { await initEngine({ backend: 'torch' }); console.log('INITIALISED'); } catch (e) { console.log('ERROR ' + e.message); }`],
    { encoding: 'utf8', env: { ...process.env, LIA_TORCH_ADDON: join(tmpdir(), 'no-such-addon.node') }, timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ERROR backend 'torch': the torch addon is not built/);
  assert.match(r.stdout, /apt-get install -y libtorch-dev build-essential/);
  assert.match(r.stdout, /npm run build:torch/);
});
