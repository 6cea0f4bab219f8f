// SWD: the radix sort against Array.prototype.sort, pyrDown/pyrUp against a direct 2-D 5×5
// convolution with scipy's 'mirror' border, the Laplacian pyramid's exact reconstruction, and SWD's
// ordering on toy image sets; no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { Rng } from '../util/rng.js';
import { collectUint8, generatedImages } from './sources.js';
import { computeSwd, laplacianPyramid, pyramidResolutions, pyrDown, pyrUp, sortFloat32 } from './swd.js';
import { linearGenerator } from './toy.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

test('sortFloat32 sorts like the numeric comparison sort (negatives, zeros, ±0, large and tiny values)', () => {
  const rng = new Rng(1);
  for (const n of [0, 1, 2, 17, 5000, 150_000]) {
    const a = Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? -0 : rng.normal() * 10 ** rng.int(12) * (rng.next() < 0.5 ? -1e-6 : 1)));
    const expected = Float32Array.from(a).sort();
    const got = sortFloat32(Float32Array.from(a), new Uint32Array(n));
    for (let i = 0; i < n; i++) assert.ok(Object.is(got[i], expected[i]), `n ${n} at ${i}: ${got[i]} vs ${expected[i]}`);
  }
});

/** scipy.ndimage.convolve(mode='mirror') with a 5×5 kernel, float64, one image [h, w]. */
function convolveMirror(img: Float64Array, h: number, w: number, kernel: number[][]): Float64Array {
  const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) s += kernel[dy + 2][dx + 2] * img[reflect(y + dy, h) * w + reflect(x + dx, w)];
      out[y * w + x] = s;
    }
  return out;
}

const G5 = [1, 4, 6, 4, 1].map((a) => [1, 4, 6, 4, 1].map((b) => (a * b) / 256));

test('pyrDown / pyrUp equal ProGAN\'s scipy formulation (2-D 5×5 kernel, mirror borders) to 1e-5', () => {
  const rng = new Rng(2);
  const [h, w] = [16, 16];
  const img = Float64Array.from({ length: h * w }, () => rng.uniform(0, 255));
  const stack = { data: Float32Array.from(img), n: 1, h, w, c: 1 };
  const blurred = convolveMirror(img, h, w, G5);
  const down = pyrDown(stack);
  assert.deepEqual([down.h, down.w], [8, 8]);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) assert.ok(Math.abs(down.data[y * 8 + x] - blurred[2 * y * w + 2 * x]) < 1e-3);
  const zeros = new Float64Array(h * w);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) zeros[2 * y * w + 2 * x] = down.data[y * 8 + x];
  const upRef = convolveMirror(zeros, h, w, G5.map((r) => r.map((v) => 4 * v)));
  const up = pyrUp(down);
  for (let i = 0; i < h * w; i++) assert.ok(Math.abs(up.data[i] - upRef[i]) < 1e-3, `up[${i}] ${up.data[i]} vs ${upRef[i]}`);
});

test('Laplacian pyramid: levels 32, 16; G₀ = L₀ + pyrUp(G₁) exactly; channels stay separate', () => {
  const rng = new Rng(3);
  const c = 3;
  const data = Float32Array.from({ length: 2 * 32 * 32 * c }, () => rng.uniform(0, 255));
  assert.deepEqual(pyramidResolutions(32), [32, 16]);
  assert.deepEqual(pyramidResolutions(64), [64, 32, 16]);
  const [l0, g1] = laplacianPyramid({ data, n: 2, h: 32, w: 32, c }, 2);
  assert.deepEqual([l0.h, g1.h, g1.c], [32, 16, 3]);
  const up = pyrUp(g1);
  for (let i = 0; i < data.length; i++) assert.ok(Math.abs(l0.data[i] + up.data[i] - data[i]) < 1e-3);
  // A constant image has no detail and a constant low-pass level.
  const flat = laplacianPyramid({ data: new Float32Array(32 * 32).fill(100), n: 1, h: 32, w: 32, c: 1 }, 2);
  assert.ok(flat[0].data.every((v) => Math.abs(v) < 1e-4));
  assert.ok(flat[1].data.every((v) => Math.abs(v - 100) < 1e-4));
});

test('SWD: 0 for a set against itself; same distribution < another distribution; seeded; no leaks', async () => {
  await initEngine({ backend: BACKEND });
  const g = linearGenerator({ latentSize: 16, resolution: 32, channels: 1, seed: 1, scale: 0.25 });
  // Another distribution: the same kind of images, made blocky (2×2 averages repeated).
  const other = {
    ...g,
    synthesis: (y: tf.Tensor2D) => tf.tidy(() => tf.image.resizeNearestNeighbor(tf.avgPool(g.synthesis(y), 2, 2, 'valid'), [32, 32]) as tf.Tensor4D),
  };
  const n = 32;
  const a = await collectUint8(generatedImages(g, { num: n, batch: 16, seed: 1 }));
  const b = await collectUint8(generatedImages(g, { num: n, batch: 16, seed: 2 }));
  const c = await collectUint8(generatedImages(other, { num: n, batch: 16, seed: 2 }));
  const before = tf.memory().numTensors;
  const opts = { seed: 5, dirRepeats: 1 };
  const self = await computeSwd(a, a, opts);
  const same = await computeSwd(a, b, opts);
  const diff = await computeSwd(a, c, opts);
  assert.equal(tf.memory().numTensors, before, 'computeSwd leaks no tensors');
  assert.deepEqual(self.resolutions, [32, 16]);
  assert.deepEqual(self.perLevel, [0, 0]);
  // Blockiness is fine detail: it shows at the 32×32 level (the 16×16 low-pass level barely changes).
  assert.ok(same.perLevel[0] < diff.perLevel[0] / 1.5, `32×32: same ${same.perLevel[0]} vs other ${diff.perLevel[0]}`);
  assert.ok(same.average < diff.average, `average: same ${same.average} vs other ${diff.average}`);
  assert.ok(Math.abs(same.average - (same.perLevel[0] + same.perLevel[1]) / 2) < 1e-12);
  assert.deepEqual(await computeSwd(a, b, opts), same, 'same seed, same numbers');
  await assert.rejects(computeSwd(a, { ...b, n: n - 1, pixels: b.pixels.subarray(0, (n - 1) * 1024) }), /equally many/);
  g.dispose();
});
