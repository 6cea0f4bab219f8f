// The fast conv-gradient kernels against the cpu backend (random shapes, every padding kind, strides
// 1 and 2) and against float64 finite differences; leak checks at tensor and buffer level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from './backend.js';
import { conv2dRef, relativeError } from './reference.js';
import { Rng } from '../util/rng.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
const TOL = 1e-5;
// The backend under test (LIA_TEST_BACKEND=webgpu on a GPU machine); the cpu backend is the reference.
const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

function randArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** Runs `fn` on `backend` with fresh tensors made from plain arrays; returns the outputs' data. */
async function runOn(backend: BackendName, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await initEngine({ backend });
  const outs = tf.tidy(fn);
  const list = Array.isArray(outs) ? outs : [outs];
  const data = await Promise.all(list.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(list);
  return data;
}

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  cout: number;
  stride: number;
  pad: Pad;
}

function randomCase(rng: Rng, stride: number): Case {
  const kh = [1, 2, 3, 4][rng.int(4)];
  const kw = [1, 3, 4][rng.int(3)];
  const pads: Pad[] = ['same', 'valid', rng.int(2), [[0, 0], [rng.int(3), rng.int(3)], [rng.int(2), rng.int(3)], [0, 0]]];
  return {
    x: [1 + rng.int(3), kh + 2 + rng.int(8), kw + 2 + rng.int(8), 1 + rng.int(9)],
    k: [kh, kw],
    cout: 1 + rng.int(9),
    stride,
    pad: pads[rng.int(pads.length)],
  };
}

function describe(c: Case): string {
  return `x ${c.x.join('×')} k ${c.k.join('×')}→${c.cout} stride ${c.stride} pad ${JSON.stringify(c.pad)}`;
}

function outShape(c: Case): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(c.x, [c.k[0], c.k[1], c.x[3], c.cout], c.stride, 1, c.pad);
  return [c.x[0], info.outHeight, info.outWidth, c.cout];
}

test(`Conv2DBackpropInput and Conv2DBackpropFilter on ${BACKEND} match the cpu backend (random shapes)`, async () => {
  const rng = new Rng(1234);
  for (let i = 0; i < 48; i++) {
    const c = randomCase(rng, i % 3 === 2 ? 2 : 1);
    const wShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.cout];
    const dyShape = outShape(c);
    const x = randArray(rng, c.x.reduce((a, b) => a * b));
    const w = randArray(rng, wShape.reduce((a, b) => a * b));
    const dy = randArray(rng, dyShape.reduce((a, b) => a * b));
    const attrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const run = () => [
      tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(w, wShape) }, { ...attrs, inputShape: c.x } as unknown as tf.NamedAttrMap) as tf.Tensor,
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, dyShape) }, { ...attrs, filterShape: wShape } as unknown as tf.NamedAttrMap) as tf.Tensor,
    ];
    const [refDx, refDw] = await runOn('cpu', run);
    const [dx, dw] = await runOn(BACKEND, run);
    assert.ok(relativeError(dx, refDx) <= TOL, `backprop-input ${describe(c)}: rel err ${relativeError(dx, refDx)}`);
    assert.ok(relativeError(dw, refDw) <= TOL, `backprop-filter ${describe(c)}: rel err ${relativeError(dw, refDw)}`);
  }
});

test(`conv2d gradients on ${BACKEND} agree with float64 finite differences`, async () => {
  const rng = new Rng(99);
  await initEngine({ backend: BACKEND });
  for (const c of [
    { x: [2, 5, 6, 3], k: [3, 3], cout: 4, stride: 1, pad: 'same' },
    { x: [1, 7, 7, 2], k: [3, 3], cout: 3, stride: 2, pad: 'valid' },
    { x: [2, 6, 5, 2], k: [4, 4], cout: 2, stride: 1, pad: 'same' },
  ] as Case[]) {
    const wShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.cout];
    const oShape = outShape(c);
    const info = tf.backend_util.computeConv2DInfo(c.x, wShape, c.stride, 1, c.pad);
    const x = randArray(rng, c.x.reduce((a, b) => a * b));
    const w = randArray(rng, wShape.reduce((a, b) => a * b));
    const r = randArray(rng, oShape.reduce((a, b) => a * b));
    // L(x, w) = Σ conv(x, w) · r, evaluated in float64.
    const loss = (xv: Float64Array, wv: Float64Array) => {
      const o = conv2dRef(xv, c.x, wv, wShape, [c.stride, c.stride], [info.padInfo.top, info.padInfo.left], [oShape[1], oShape[2]]);
      let s = 0;
      for (let i = 0; i < o.length; i++) s += o[i] * r[i];
      return s;
    };
    const grads = tf.tidy(() => {
      const f = (xt: tf.Tensor, wt: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, c.stride, c.pad as 'same'), tf.tensor4d(r, oShape)));
      return tf.grads(f)([tf.tensor4d(x, c.x), tf.tensor4d(w, wShape)]);
    });
    const [gx, gw] = (await Promise.all(grads.map((t) => t.data()))) as Float32Array[];
    tf.dispose(grads);
    const h = 1e-3;
    const fd = (vals: Float32Array, which: 'x' | 'w') => {
      const base = Float64Array.from(vals);
      const out = new Float64Array(vals.length);
      for (let i = 0; i < vals.length; i++) {
        const p = Float64Array.from(base);
        const m = Float64Array.from(base);
        p[i] += h;
        m[i] -= h;
        out[i] = which === 'x' ? (loss(p, Float64Array.from(w)) - loss(m, Float64Array.from(w))) / (2 * h) : (loss(Float64Array.from(x), p) - loss(Float64Array.from(x), m)) / (2 * h);
      }
      return out;
    };
    // float32 kernels vs float64 differences of a linear function: agreement to float32 rounding.
    assert.ok(relativeError(gx, fd(x, 'x')) < 1e-5, `d/dx ${describe(c)}: ${relativeError(gx, fd(x, 'x'))}`);
    assert.ok(relativeError(gw, fd(w, 'w')) < 1e-5, `d/dw ${describe(c)}: ${relativeError(gw, fd(w, 'w'))}`);
  }
});

test('fast conv gradients leak neither tensors nor backend buffers', async () => {
  await initEngine({ backend: BACKEND });
  const rng = new Rng(5);
  const x = tf.tensor4d(randArray(rng, 2 * 9 * 9 * 5), [2, 9, 9, 5]);
  const w = tf.tensor4d(randArray(rng, 3 * 3 * 5 * 6), [3, 3, 5, 6]);
  const step = () => {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [2, 2], 'same'))))([x, w]);
    const g1 = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))))([x, w]);
    tf.dispose([...g, ...g1]);
  };
  step();
  const before = tf.memory();
  for (let i = 0; i < 3; i++) step();
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numDataBuffers, before.numDataBuffers);
  tf.dispose([x, w]);
});
