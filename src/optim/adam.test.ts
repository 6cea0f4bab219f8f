// Adam: the JS update path equals the tensor path and a float64 reference; state round-trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { Adam, type AdamMode } from './adam.js';
import { relativeError } from '../engine/reference.js';
import { randn } from '../nn/module.js';
import { Rng } from '../util/rng.js';
import { loadTorchAddon } from '../engine/torch/addon.js';
import { updateEma } from '../train/ema.js';
import { Module } from '../nn/module.js';

await initEngine({ backend: 'wasm' });
const CFG = { lr: 0.01, beta1: 0.5, beta2: 0.99, eps: 1e-8 };

/** Minimises Σ (w ⊙ a − b)² for 6 steps; returns the final weights. */
async function run(mode: AdamMode): Promise<Float32Array[]> {
  const rng = new Rng(2);
  const params = new Map([
    ['w1', tf.variable(randn(rng, [5, 7]))],
    ['w2', tf.variable(randn(rng, [3]))],
  ]);
  const a = randn(rng, [5, 7]);
  const b = randn(rng, [3]);
  const opt = new Adam(params, CFG, mode);
  for (let i = 0; i < 6; i++) {
    const loss = opt.minimize(() => tf.add(tf.sum(tf.square(tf.mul(params.get('w1')!, a))), tf.sum(tf.square(tf.sub(params.get('w2')!, b)))) as tf.Scalar);
    loss.dispose();
  }
  const out = await Promise.all([...params.values()].map((p) => p.data() as Promise<Float32Array>));
  tf.dispose([a, b, ...params.values()]);
  opt.dispose();
  return out;
}

/** The same optimisation in float64 plain JS (textbook Adam with bias correction). */
function reference(): Float64Array[] {
  const rng = new Rng(2);
  const draw = (n: number) => Float64Array.from({ length: n }, () => Math.fround(rng.normal()));
  const w1 = draw(35);
  const w2 = draw(3);
  const a = draw(35);
  const b = draw(3);
  const ws = [w1, w2];
  const m = ws.map((w) => new Float64Array(w.length));
  const v = ws.map((w) => new Float64Array(w.length));
  for (let t = 1; t <= 6; t++) {
    const grads = [Float64Array.from(w1, (x, i) => 2 * x * a[i] * a[i]), Float64Array.from(w2, (x, i) => 2 * (x - b[i]))];
    ws.forEach((w, k) => {
      for (let i = 0; i < w.length; i++) {
        m[k][i] = CFG.beta1 * m[k][i] + (1 - CFG.beta1) * grads[k][i];
        v[k][i] = CFG.beta2 * v[k][i] + (1 - CFG.beta2) * grads[k][i] ** 2;
        const mh = m[k][i] / (1 - CFG.beta1 ** t);
        const vh = v[k][i] / (1 - CFG.beta2 ** t);
        w[i] -= (CFG.lr * mh) / (Math.sqrt(vh) + CFG.eps);
      }
    });
  }
  return ws;
}

test('Adam: the js and tensor update paths match each other and a float64 reference', async () => {
  const js = await run('js');
  const tensor = await run('tensor');
  const ref = reference();
  for (let k = 0; k < 2; k++) {
    assert.ok(relativeError(js[k], tensor[k]) < 1e-6, `js vs tensor, param ${k}: ${relativeError(js[k], tensor[k])}`);
    assert.ok(relativeError(js[k], ref[k]) < 1e-5, `js vs float64, param ${k}: ${relativeError(js[k], ref[k])}`);
  }
});

test('Adam and EMA: the fused torch kernels give exactly the js path\'s numbers', { skip: loadTorchAddon() ? false : 'the torch addon is not built' }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  try {
    const fused = await run('fused');
    await initEngine({ backend: 'wasm' });
    const js = await run('js');
    for (let k = 0; k < 2; k++) assert.deepEqual(Array.from(fused[k]), Array.from(js[k]), `param ${k}: fused (torch) differs from js`);

    // EMA: one step of each mode on the same weights.
    class Two extends Module {
      constructor(seed: number) {
        super();
        const rng = new Rng(seed);
        this.param('a', randn(rng, [4, 3]));
        this.param('b', randn(rng, [5]));
      }
    }
    const emaOn = async (backend: 'torch' | 'wasm', mode: AdamMode) => {
      await initEngine({ backend, threads: 1 });
      const ema = new Two(1);
      const model = new Two(2);
      updateEma(ema, model, 0.37, mode);
      const out = await Promise.all([...ema.namedState().values()].map((v) => v.data() as Promise<Float32Array>));
      ema.dispose();
      model.dispose();
      return out.map((a) => Array.from(a));
    };
    assert.deepEqual(await emaOn('torch', 'fused'), await emaOn('wasm', 'js'));
  } finally {
    await initEngine({ backend: 'wasm' });
  }
});

test('Adam state round-trips through namedState (both modes)', async () => {
  for (const mode of ['js', 'tensor'] as const) {
    const p = new Map([['w', tf.variable(tf.tensor([1, 2, 3]))]]);
    const opt = new Adam(p, CFG, mode);
    opt.minimize(() => tf.sum(tf.square(p.get('w')!)) as tf.Scalar).dispose();
    const state = opt.namedState();
    const m = Float32Array.from(await state.get('w.m')!.read());
    assert.ok(m.some((x) => x !== 0));
    const other = new Adam(p, CFG, mode);
    other.namedState().get('w.m')!.write(m);
    assert.deepEqual(Array.from(await other.namedState().get('w.m')!.read()), Array.from(m));
    opt.dispose();
    other.dispose();
    p.get('w')!.dispose();
  }
});

test('Adam and EMA on torch: the multi-tensor call equals the per-parameter kernels bit for bit, in one kernel call', { skip: loadTorchAddon() ? false : 'the torch addon is not built' }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  try {
    // Parameters of several ranks, a scalar included; a loss whose gradients differ per parameter.
    class Many extends Module {
      constructor(seed: number) {
        super();
        const rng = new Rng(seed);
        this.param('conv', randn(rng, [3, 3, 4, 5]));
        this.param('dense', randn(rng, [6, 7]));
        this.param('bias', randn(rng, [7]));
        this.param('gain', randn(rng, []));
        this.buffer('fixed', randn(rng, [2, 2]));
      }
    }
    const train = (mode: AdamMode) => {
      const model = new Many(4);
      const ema = new Many(5);
      const params = model.namedParameters();
      const opt = new Adam(params, CFG, mode);
      for (let i = 0; i < 5; i++) {
        const before = tf.memory().numTensors;
        const loss = opt.minimize(() =>
          tf.addN([...params.values()].map((p, k) => tf.sum(tf.mul(tf.square(tf.sub(p, 0.1 * k)), 1 + k)))) as tf.Scalar,
        );
        loss.dispose();
        updateEma(ema, model, 0.9 - 0.1 * i, mode);
        assert.equal(tf.memory().numTensors, before, `${mode}: tensors leaked in step ${i}`);
      }
      return { model, ema, opt };
    };
    const read = async (m: Module) => Promise.all([...m.namedState().values()].map(async (v) => Array.from((await v.data()) as Float32Array)));
    const multi = train('multi');
    const fused = train('fused');
    assert.deepEqual(await read(multi.model), await read(fused.model), 'parameters');
    assert.deepEqual(await read(multi.ema), await read(fused.ema), 'EMA');
    for (const [k, e] of multi.opt.namedState()) assert.deepEqual(Array.from(await e.read()), Array.from(await fused.opt.namedState().get(k)!.read()), `moment ${k}`);
    // One native call for all four parameters (the per-parameter path makes four).
    const kernels = async (mode: AdamMode, opt: Adam, model: Module, ema: Module) => {
      const prof = await tf.profile(() => {
        const g = Object.fromEntries([...model.namedParameters().values()].map((p) => [p.name, tf.onesLike(p)]));
        (opt as unknown as { apply(g: tf.NamedTensorMap): void }).apply(g);
        tf.dispose(Object.values(g));
        updateEma(ema, model, 0.5, mode);
      });
      return prof.kernels.map((k) => k.name).filter((n) => n.startsWith('Lia'));
    };
    assert.deepEqual(await kernels('multi', multi.opt, multi.model, multi.ema), ['LiaAdamStepMulti', 'LiaEmaStepMulti']);
    assert.equal((await kernels('fused', fused.opt, fused.model, fused.ema)).length, 8);
    for (const r of [multi, fused]) {
      r.model.dispose();
      r.ema.dispose();
      r.opt.dispose();
    }
  } finally {
    await initEngine({ backend: 'wasm' });
  }
});
