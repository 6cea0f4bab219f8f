// The real-image applications on a tiny trained encoder checkpoint (cpu backend): interpolation starts
// and ends at the two reconstructions (in y and in z) and its midpoint in y renders the mean code;
// style mixing gives style inputs < k the first image's code and ≥ k the second's, and renders exactly
// that code. The expected codes are built in plain JS from each image's own encoding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { makeTinyCheckpoints } from '../testing/tiny.js';
import { toUnitRange } from '../data/index.js';
import { reconstruct } from '../models/checkpoints.js';
import { disposeModel, encodeY, modelFromBytes, requireEncoder, type LiaModel } from './model.js';
import { interpolateImages, mixImages } from './apps.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-apps-lib-'));
let m: LiaModel;
let a: tf.Tensor4D;
let b: tf.Tensor4D;

before(async () => {
  await initEngine({ backend: 'cpu' });
  const ck = await makeTinyCheckpoints(dir);
  m = modelFromBytes(readFileSync(ck.encoder), ck.encoder);
  const r = ck.ds.resolution;
  const size = r * r * ck.ds.channels;
  const image = (i: number) => tf.tensor4d(toUnitRange(ck.ds.pixels.subarray((ck.ds.test.start + i) * size, (ck.ds.test.start + i + 1) * size)), [1, r, r, ck.ds.channels]);
  a = image(0);
  b = image(1);
});

after(() => {
  tf.dispose([a, b]);
  disposeModel(m);
  rmSync(dir, { recursive: true, force: true });
});

/** max |x − y| over two images (or batches) of the same shape. */
function maxDiff(x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]);
}

const codeOf = (x: tf.Tensor4D) => tf.tidy(() => Array.from(encodeY(m, x).dataSync()));

test('interpolation starts and ends at the reconstructions g(f(a)), g(f(b)), in y and in z; the y midpoint renders the mean code', () => {
  const { E, config } = requireEncoder(m, 'test');
  const ra = reconstruct(E, m.G, config.predicts, a);
  const rb = reconstruct(E, m.G, config.predicts, b);
  assert.ok(maxDiff(ra, rb) > 1e-2, 'the two reconstructions differ, so the end points are told apart');
  for (const space of ['y', 'z'] as const) {
    const path = interpolateImages(m, a, b, space, 3);
    assert.deepEqual(path.shape, [3, ...a.shape.slice(1)]);
    const [first, mid, last] = tf.split(path, 3);
    // In z the end points go through Φ(f(x)) and back through Φ⁻¹: float32 round-trip error only.
    const tol = space === 'y' ? 1e-6 : 1e-5; // measured: 0 in y, 8e-7 in z
    assert.ok(maxDiff(first, ra) <= tol, `${space}: t = 0 is g(f(a)) (max |Δ| ${maxDiff(first, ra)})`);
    assert.ok(maxDiff(last, rb) <= tol, `${space}: t = 1 is g(f(b)) (max |Δ| ${maxDiff(last, rb)})`);
    if (space === 'y') {
      const ya = codeOf(a);
      const yb = codeOf(b);
      const meanCode = tf.tensor2d(ya.map((v, i) => (v + yb[i]) / 2), [1, ya.length]);
      const want = m.G.render(meanCode);
      assert.ok(maxDiff(mid, want) <= 1e-5, `y: t = 1/2 renders (f(a) + f(b))/2 (max |Δ| ${maxDiff(mid, want)})`);
      tf.dispose([meanCode, want]);
    }
    tf.dispose([path, first, mid, last]);
  }
  tf.dispose([ra, rb]);
});

test('style mixing at crossover k: style inputs < k carry f(coarse), ≥ k carry f(fine), and the mix renders that code', () => {
  const yc = codeOf(a);
  const yf = codeOf(b);
  const d = yc.length;
  assert.ok(Math.max(...yc.map((v, i) => Math.abs(v - yf[i]))) > 1e-3, 'the two codes differ, so the layers are told apart');
  const n = m.G.numWs;
  const render = m.G.render.bind(m.G);
  const seen: number[][][][] = [];
  m.G.render = (code, from) => {
    if (code.rank === 3) seen.push(code.arraySync() as number[][][]);
    return render(code, from);
  };
  try {
    for (let k = 1; k < n; k++) {
      seen.length = 0;
      const out = mixImages(m, a, b, k);
      assert.equal(seen.length, 1, 'the mix is rendered from one per-layer code');
      const ws = seen[0][0];
      assert.equal(ws.length, n);
      for (let layer = 0; layer < n; layer++) {
        const want = layer < k ? yc : yf;
        const err = Math.max(...ws[layer].map((v, j) => Math.abs(v - want[j])));
        assert.ok(err === 0, `k ${k}, style input ${layer}: should be f(${layer < k ? 'coarse' : 'fine'}) (max |Δ| ${err})`);
      }
      // The images: [g(f(coarse)), g(f(fine)), g(ws)] with ws built here from the two codes.
      const wsRef = tf.tensor3d(Float32Array.from({ length: n * d }, (_, i) => (Math.floor(i / d) < k ? yc : yf)[i % d]), [1, n, d]);
      const want = tf.concat([render(tf.tensor2d([...yc, ...yf], [2, d])), render(wsRef)]);
      assert.ok(maxDiff(out, want) <= 1e-6, `k ${k}: images differ from the reference by ${maxDiff(out, want)}`);
      tf.dispose([out, wsRef, want]);
    }
  } finally {
    m.G.render = render;
  }
  assert.throws(() => mixImages(m, a, b, n), new RegExp(`--crossover must be an integer in 1…${n - 1}`));
  assert.throws(() => mixImages(m, a, b, 0), /--crossover must be an integer/);
});
