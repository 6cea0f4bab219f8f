// The Tile, Sum and Mean gradients of engine/broadcast-gradients.ts against hand-computed float64
// references (first and second order; float32 sums of a few dozen terms with cancellation: 1e-5),
// and their kernel count, which must not grow with the number of repetitions (tfjs's own Tile
// gradient made one Slice and one Add per repetition); on torch, no upload of the input's size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from './backend.js';
import { maxRelativeError } from './reference.js';
import { loadTorchAddon } from './torch/addon.js';

await initEngine({ backend: 'cpu' });

const values = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k) * 1.3);
const read = async (t: tf.Tensor) => Float64Array.from((await t.data()) as Float32Array);

test('Tile: first- and second-order gradients equal the float64 sums over the repetitions', async () => {
  const shape = [2, 3, 1, 2];
  const reps = [4, 1, 3, 2];
  const out = shape.map((s, i) => s * reps[i]);
  const xs = values(12, 0);
  const ws = values(out.reduce((a, b) => a * b), 1);
  // S = Σ over repetitions of W's slices, in float64.
  const S = new Float64Array(12);
  for (let o = 0; o < ws.length; o++) {
    let rem = o;
    const idx = [0, 0, 0, 0];
    for (let d = 3; d >= 0; d--) {
      idx[d] = rem % out[d];
      rem = Math.floor(rem / out[d]);
    }
    const xi = idx.map((v, d) => v % shape[d]);
    S[((xi[0] * shape[1] + xi[1]) * shape[2] + xi[2]) * shape[3] + xi[3]] += ws[o];
  }
  const x = tf.tensor(xs, shape);
  const w = tf.tensor(ws, out);
  // g(x) = Σ tile(x)² ⊙ W  →  ∂g/∂x = 2 x S;   h(x) = Σ (∂g/∂x)²  →  ∂h/∂x = 8 x S².
  const dg = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.tile(v, reps)), w)));
  const first = await read(dg(x));
  const second = await read(tf.grad((v: tf.Tensor) => tf.sum(tf.square(dg(v))))(x));
  const e1 = maxRelativeError(first, Float64Array.from(xs, (v, i) => 2 * v * S[i]));
  assert.ok(e1 < 1e-5, `first order: ${e1} ${first.slice(0, 3)} vs ${Array.from(xs.slice(0, 3), (v, i) => 2 * v * S[i])}`);
  assert.ok(maxRelativeError(second, Float64Array.from(xs, (v, i) => 8 * v * S[i] * S[i])) < 1e-4);
  tf.dispose([x, w]);
});

test('Sum and Mean: gradients are dy broadcast over the reduced axes (Mean divided by the count), also second order', async () => {
  const shape = [3, 4, 5];
  const xs = values(60, 2);
  const vs = values(4, 3); // weights of the reduced result (axes 0 and 2 reduced → [4])
  const x = tf.tensor(xs, shape);
  const v = tf.tensor(vs, [4]);
  for (const op of ['sum', 'mean'] as const) {
    const f = (t: tf.Tensor) => tf.sum(tf.mul(op === 'sum' ? tf.sum(tf.square(t), [0, 2]) : tf.mean(tf.square(t), [0, 2]), v));
    const scale = op === 'sum' ? 1 : 1 / 15;
    // ∂f/∂x = 2 x v_j · scale;  Σ(∂f/∂x)² → 8 x (v_j scale)².
    const first = await read(tf.grad(f)(x));
    const second = await read(tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.grad(f)(t))))(x));
    const j = (i: number) => Math.floor(i / 5) % 4;
    assert.ok(maxRelativeError(first, Float64Array.from(xs, (a, i) => 2 * a * vs[j(i)] * scale)) < 1e-6, `${op} first order`);
    assert.ok(maxRelativeError(second, Float64Array.from(xs, (a, i) => 8 * a * (vs[j(i)] * scale) ** 2)) < 1e-5, `${op} second order`);
  }
  tf.dispose([x, v]);
});

test('the Tile gradient costs the same kernels for 2 and for 64 repetitions; Sum and Mean upload nothing', async () => {
  const kernels = async (n: number) => {
    const c = tf.zeros([1, 4, 4, 8]);
    const prof = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.sum(tf.tile(v, [n, 1, 1, 1])))(c));
    c.dispose();
    tf.dispose(prof.result);
    return prof.kernels.length;
  };
  assert.equal(await kernels(64), await kernels(2));
  // The Sum and Mean gradients broadcast dy (Tile) instead of multiplying by tfjs's ones().
  const x = tf.zeros([64, 32]);
  for (const f of [(t: tf.Tensor) => tf.sum(t), (t: tf.Tensor) => tf.sum(tf.mean(t, 0))]) {
    const prof = await tf.profile(() => tf.grad(f)(x));
    tf.dispose(prof.result);
    const names = prof.kernels.map((k) => k.name);
    assert.ok(names.includes('Tile') && !names.includes('Multiply'), names.join(', '));
  }
  x.dispose();
});

test('on torch, the gradients of a step-sized Sum, Mean and Tile upload no array of the batch\'s size', { skip: loadTorchAddon() ? false : 'the torch addon is not built' }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  try {
    const x = tf.zeros([64, 4, 4, 8]);
    const backend = tf.backend() as unknown as { write: (...a: unknown[]) => unknown };
    const orig = backend.write;
    let largest = 0;
    backend.write = function (this: unknown, values: unknown, ...rest: unknown[]) {
      largest = Math.max(largest, (values as ArrayLike<number> | null)?.length ?? 0);
      return orig.call(this, values, ...rest);
    };
    try {
      const f = (t: tf.Tensor) => tf.add(tf.sum(tf.mean(tf.square(t), [1, 2])), tf.sum(tf.square(tf.tile(tf.mean(t, 0, true), [64, 1, 1, 1]))));
      tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.grad(f)(t))))(x));
    } finally {
      backend.write = orig;
    }
    assert.ok(largest < 64, `an array of ${largest} values was uploaded`);
    x.dispose();
  } finally {
    await initEngine({ backend: 'cpu' });
  }
});
