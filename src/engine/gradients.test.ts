// Second-order gradients (R1 and path-length style) through conv + leakyRelu + avgPool + dense,
// on wasm (fast kernels) against the cpu backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from './backend.js';
import { relativeError } from './reference.js';
import { Rng } from '../util/rng.js';

const TOL = 1e-5;
// The backend under test (LIA_TEST_BACKEND=webgpu on a GPU machine); the cpu backend is the reference.
const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

function rand(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return tf.tensor(a, shape);
}

interface Net {
  x: number[];
  w1: number[];
  w2: number[];
  wd: number[];
}
const NET: Net = { x: [3, 8, 8, 3], w1: [3, 3, 3, 5], w2: [3, 3, 5, 6], wd: [2 * 2 * 6, 1] };

/** A tiny discriminator: conv → lrelu → avgPool → conv(stride 1) → lrelu → avgPool → dense. */
function disc(x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, wd: tf.Tensor): tf.Tensor {
  let h = tf.leakyRelu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'), 0.2);
  h = tf.avgPool(h as tf.Tensor4D, 2, 2, 'valid');
  h = tf.leakyRelu(tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same'), 0.2);
  h = tf.avgPool(h as tf.Tensor4D, 2, 2, 'valid');
  return tf.matMul(tf.reshape(h, [x.shape[0], -1]), wd as tf.Tensor2D);
}

/** ∂/∂(w1, w2, wd) of the R1 penalty Σ‖∂ΣD(x)/∂x‖², and the penalty itself. */
function r1Grads(x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, wd: tf.Tensor): tf.Tensor[] {
  const penalty = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
    const gx = tf.grad((xx: tf.Tensor) => tf.sum(disc(xx, a, b, c)))(x);
    return tf.sum(tf.square(gx));
  };
  const { value, grads } = tf.variableGrads(() => penalty(w1, w2, wd) as tf.Scalar, [w1, w2, wd] as tf.Variable[]);
  return [value, ...Object.values(grads)];
}

async function computeOn(backend: BackendName, seed: number, f: (ts: tf.Tensor[]) => tf.Tensor[]): Promise<Float32Array[]> {
  await initEngine({ backend });
  const rng = new Rng(seed);
  const result = tf.tidy(() => {
    const ts = [rand(rng, NET.x), tf.variable(rand(rng, NET.w1, 0.5)), tf.variable(rand(rng, NET.w2, 0.5)), tf.variable(rand(rng, NET.wd, 0.5))];
    const out = f(ts);
    // Variables are not tracked by tidy; dispose them explicitly.
    return { out, vars: ts.slice(1) };
  });
  const data = await Promise.all(result.out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([...result.out, ...result.vars]);
  return data;
}

test(`R1 gradient-of-gradient through conv + leakyRelu + avgPool + dense: ${BACKEND} equals cpu`, async () => {
  for (const seed of [1, 2, 3]) {
    const r1 = ([x, w1, w2, wd]: tf.Tensor[]) => r1Grads(x, w1, w2, wd);
    const ref = await computeOn('cpu', seed, r1);
    const got = await computeOn(BACKEND, seed, r1);
    assert.ok(ref[0][0] > 0, 'penalty is positive on random inputs');
    for (let i = 0; i < ref.length; i++) {
      const e = relativeError(got[i], ref[i]);
      assert.ok(e <= TOL, `seed ${seed} output ${i}: relative error ${e}`);
      assert.ok(ref[i].some((v) => v !== 0), `output ${i} is not all zeros`);
    }
  }
});

test(`gradient of a filter-gradient (Conv2DBackpropFilter second order): ${BACKEND} equals cpu`, async () => {
  // Path-length-style: G = ∂Σ(conv(x, w)·r)/∂w, penalty Σ G², differentiated w.r.t. x and r.
  const f = ([x, w1]: tf.Tensor[]) => {
    const rng = new Rng(7);
    const r = rand(rng, [3, 4, 4, 5]);
    const xs = tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid');
    const pen = (xx: tf.Tensor, rr: tf.Tensor) => {
      const G = tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same'), rr)))(w1);
      return tf.sum(tf.square(G));
    };
    return tf.grads(pen)([xs, r]);
  };
  const ref = await computeOn('cpu', 11, f);
  const got = await computeOn(BACKEND, 11, f);
  for (let i = 0; i < ref.length; i++) assert.ok(relativeError(got[i], ref[i]) <= TOL, `output ${i}: ${relativeError(got[i], ref[i])}`);
});

test('second-order step leaks no tensors', async () => {
  await initEngine({ backend: BACKEND });
  const rng = new Rng(3);
  const x = rand(rng, NET.x);
  const vars = [tf.variable(rand(rng, NET.w1, 0.5)), tf.variable(rand(rng, NET.w2, 0.5)), tf.variable(rand(rng, NET.wd, 0.5))];
  const step = () => tf.dispose(r1Grads(x, vars[0], vars[1], vars[2]));
  step();
  const before = tf.memory();
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(tf.memory().numDataBuffers, before.numDataBuffers);
  tf.dispose([x, ...vars]);
});
