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
