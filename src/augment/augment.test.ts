// The augmentation pipeline (src/augment): p = 0 is exactly the identity; each transform against
// images computed by hand (a 90° rotation, an x-flip, one-pixel translations with both borders, a
// half-pixel shift, a hue rotation of pure red, a luma flip, brightness and contrast); gradients
// through the whole pipeline (ADA bgc at p = 1, DiffAugment) against central finite differences;
// the same augmented batch and gradient on torch and cpu within 1e-5 (the draws passed explicitly);
// no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { loadTorchAddon } from '../engine/torch/addon.js';
import { Rng } from '../util/rng.js';
import {
  DiscriminatorAugment, affineWarp, applyAugment, applyColor, applyGeometry, drawAugment, identityDraws, pipeSpec,
  rotate2d, rotate3d, scale2d, translate2d, scale3d, translate3d, identity, matmul, applyDiffAugment, drawDiffAugment, type AugmentDraws,
} from './index.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

/** A batch of n h×w×c images with distinct values, in [−1, 1]. */
function ramp(n: number, h: number, w: number, c: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * h * w * c }, () => rng.uniform(-1, 1));
}

const at = (a: ArrayLike<number>, h: number, w: number, c: number) => (b: number, i: number, j: number, k: number) => a[((b * h + i) * w + j) * c + k];

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0, where = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) { worst = d; where = i; }
  }
  assert.ok(worst <= tol, `${what}: |Δ| ${worst} at ${where} (got ${got[where]}, want ${want[where]}; tolerance ${tol})`);
}

async function geomOf(x: Float32Array, shape: [number, number, number, number], mats: Float64Array[], border: 'reflect' | 'zeros' = 'reflect'): Promise<Float32Array> {
  const t = tf.tensor4d(x, shape);
  const flat = new Float64Array(mats.length * 6);
  mats.forEach((m, i) => flat.set(m.subarray(0, 6), i * 6));
  const y = affineWarp(t, flat, border);
  const out = (await y.data()) as Float32Array;
  tf.dispose([t, y]);
  return out;
}

test('p = 0 is exactly the identity (ada and fixed, bgc, grey and RGB): the same tensor, no draw applied', async () => {
  await initEngine({ backend: BACKEND });
  for (const c of [1, 3]) {
    const x = tf.tensor4d(ramp(4, 8, 8, c), [4, 8, 8, c]);
    for (const mode of ['ada', 'fixed'] as const) {
      const aug = new DiscriminatorAugment({ augment: mode, augmentP: 0 }, 4, 3);
      for (let k = 0; k < 5; k++) {
        const y = aug.apply(x);
        assert.equal(y, x, `${mode}, ${c} channels: p = 0 returned a new tensor`);
      }
    }
    const d = drawAugment(new Rng(2), 4, 8, 8, c, 0, pipeSpec('bgc'));
    assert.deepEqual(d, identityDraws(4));
    x.dispose();
  }
  // Off is the identity too, whatever p says.
  const x = tf.tensor4d(ramp(2, 8, 8, 3), [2, 8, 8, 3]);
  assert.equal(new DiscriminatorAugment({ augment: 'off', augmentP: 1 }, 2, 0).apply(x), x);
  x.dispose();
});

test('geometric transforms against hand-computed images: 90° rotation, x-flip, one-pixel translations (reflect and zeros), half-pixel shift', async () => {
  await initEngine({ backend: BACKEND });
  const [n, h, w, c] = [2, 5, 5, 2];
  const x = ramp(n, h, w, c);
  const X = at(x, h, w, c);
  const expect = (f: (b: number, i: number, j: number, k: number) => number) => {
    const out = new Float32Array(n * h * w * c);
    for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) out[((b * h + i) * w + j) * c + k] = f(b, i, j, k);
    return out;
  };
  const snapRot = (t: number) => rotate2d(t).map((v) => (Math.abs(v - Math.round(v)) < 1e-12 ? Math.round(v) : v)) as Float64Array;
  // Output (x, y) reads input (−y, x): out[i][j] = in[j][w−1−i], numpy's rot90 (counter-clockwise).
  assertClose(await geomOf(x, [n, h, w, c], [snapRot(Math.PI / 2), snapRot(Math.PI / 2)]), expect((b, i, j, k) => X(b, j, w - 1 - i, k)), 1e-6, 'rot90');
  // An unsnapped matrix (cos(π/2) = 6e-17) still lands on the pixels within float error.
  assertClose(await geomOf(x, [n, h, w, c], [rotate2d(Math.PI / 2), rotate2d(-Math.PI / 2)]),
    expect((b, i, j, k) => (b === 0 ? X(b, j, w - 1 - i, k) : X(b, h - 1 - j, i, k))), 1e-5, 'rot90 ± without snapping');
  assertClose(await geomOf(x, [n, h, w, c], [scale2d(-1, 1), identity(3)]), expect((b, i, j, k) => (b === 0 ? X(b, i, w - 1 - j, k) : X(b, i, j, k))), 0, 'x-flip');
  // Shift right by one pixel: output x reads input x − 1; column 0 reads column 1 (reflect) or 0 (zeros).
  const right = translate2d(-1, 0);
  assertClose(await geomOf(x, [n, h, w, c], [right, right]), expect((b, i, j, k) => X(b, i, j === 0 ? 1 : j - 1, k)), 0, 'translate +1 px, reflect');
  assertClose(await geomOf(x, [n, h, w, c], [right, right], 'zeros'), expect((b, i, j, k) => (j === 0 ? 0 : X(b, i, j - 1, k))), 0, 'translate +1 px, zeros');
  const down = translate2d(0, -1);
  assertClose(await geomOf(x, [n, h, w, c], [down, down]), expect((b, i, j, k) => X(b, i === 0 ? 1 : i - 1, j, k)), 0, 'translate +1 px down, reflect');
  // Half a pixel left: the mean of a pixel and its right neighbour (the last column mirrors back).
  const half = translate2d(0.5, 0);
  assertClose(await geomOf(x, [n, h, w, c], [half, half]), expect((b, i, j, k) => (X(b, i, j, k) + X(b, i, j === w - 1 ? w - 2 : j + 1, k)) / 2), 1e-6, 'half-pixel shift');
  // Far outside: reflection repeats with period 2(w − 1); a 2(w−1)-pixel shift is the identity.
  assertClose(await geomOf(x, [n, h, w, c], [translate2d(2 * (w - 1), 0), translate2d(0, -2 * (h - 1))]), x, 0, 'reflection period');
});

test('colour transforms against hand-computed values: hue rotation of pure red, luma flip, brightness, contrast (RGB and grey)', async () => {
  await initEngine({ backend: BACKEND });
  const v: [number, number, number] = [1 / Math.sqrt(3), 1 / Math.sqrt(3), 1 / Math.sqrt(3)];
  // 120° about the grey axis takes red to green and green to blue.
  const img = new Float32Array(2 * 2 * 2 * 3);
  for (let p = 0; p < 4; p++) img.set([1, -1, -1], p * 3); // image 0: pure red
  for (let p = 4; p < 8; p++) img.set([-1, 1, -1], p * 3); // image 1: pure green
  const x = tf.tensor4d(img, [2, 2, 2, 3]);
  const rot = rotate3d(v, (2 * Math.PI) / 3);
  const y = applyColor(x, [rot, rot]);
  const want = new Float32Array(24);
  for (let p = 0; p < 4; p++) want.set([-1, 1, -1], p * 3);
  for (let p = 4; p < 8; p++) want.set([-1, -1, 1], p * 3);
  assertClose((await y.data()) as Float32Array, want, 1e-6, 'hue 120°');
  // Luma flip (I − 2vvᵀ): (r, g, b) → (r, g, b) − 2/3·(r + g + b)·(1, 1, 1).
  const flip = identity(4);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) flip[i * 4 + j] -= 2 / 3;
  const rgb = ramp(2, 2, 2, 3, 9);
  const x2 = tf.tensor4d(rgb, [2, 2, 2, 3]);
  const bright = translate3d(0.25, 0.25, 0.25);
  const y2 = applyColor(x2, [flip, bright]);
  const want2 = Float32Array.from(rgb, (val, q) => {
    const p = Math.floor(q / 3);
    if (p >= 4) return val + 0.25;
    const s = rgb[p * 3] + rgb[p * 3 + 1] + rgb[p * 3 + 2];
    return val - (2 / 3) * s;
  });
  assertClose((await y2.data()) as Float32Array, want2, 1e-6, 'luma flip, brightness');
  // Grey: contrast ×2 then brightness −0.1 is 2x − 0.1; the luma flip is −x.
  const grey = ramp(2, 3, 3, 1, 4);
  const x3 = tf.tensor4d(grey, [2, 3, 3, 1]);
  const y3 = applyColor(x3, [flip, matmul(translate3d(-0.1, -0.1, -0.1), scale3d(2, 2, 2))]);
  assertClose((await y3.data()) as Float32Array, Float32Array.from(grey, (g, q) => (q < 9 ? -g : 2 * g - 0.1)), 1e-6, 'grey luma flip, contrast + brightness');
  tf.dispose([x, y, x2, y2, x3, y3]);
});

/** ⟨R, aug(x)⟩ and its gradient w.r.t. x, against central differences at `probes` coordinates. */
async function checkGradient(apply: (x: tf.Tensor4D) => tf.Tensor4D, shape: [number, number, number, number], what: string): Promise<void> {
  const x0 = ramp(...shape, 11);
  const r = tf.tensor4d(ramp(...shape, 12), shape);
  const f = (x: tf.Tensor4D) => tf.sum(tf.mul(apply(x), r)) as tf.Scalar;
  const x = tf.tensor4d(x0, shape);
  const g = tf.grad((t: tf.Tensor) => f(t as tf.Tensor4D))(x);
  const analytic = (await g.data()) as Float32Array;
  tf.dispose([x, g]);
  const rng = new Rng(13);
  const eps = 0.05;
  let worst = 0;
  let nonzero = 0;
  for (let probe = 0; probe < 24; probe++) {
    const k = rng.int(x0.length);
    const plus = Float32Array.from(x0), minus = Float32Array.from(x0);
    plus[k] += eps;
    minus[k] -= eps;
    const vals = tf.tidy(() => [f(tf.tensor4d(plus, shape)), f(tf.tensor4d(minus, shape))]);
    const [fp, fm] = await Promise.all(vals.map(async (t) => (await t.data())[0]));
    tf.dispose(vals);
    const fd = (fp - fm) / (2 * eps);
    worst = Math.max(worst, Math.abs(fd - analytic[k]));
    if (Math.abs(analytic[k]) > 1e-3) nonzero++;
  }
  r.dispose();
  // The augmentations are linear in x for fixed draws: the differences are exact up to float32
  // rounding of sums of |x·r| ≈ 10² (≈ 1e-5) divided by 2·eps.
  assert.ok(worst < 2e-3, `${what}: analytic vs finite-difference gradient differ by ${worst}`);
  assert.ok(nonzero >= 12, `${what}: only ${nonzero} of 24 probed gradient entries are non-zero`);
}

test('gradients through the pipeline (bgc at p = 1, geometry alone, DiffAugment) equal central finite differences', async () => {
  await initEngine({ backend: BACKEND });
  const shape: [number, number, number, number] = [3, 8, 8, 3];
  const bgc = drawAugment(new Rng(21), 3, 8, 8, 3, 1, pipeSpec('bgc'));
  await checkGradient((x) => applyAugment(x, bgc), shape, 'bgc p = 1');
  const geom = drawAugment(new Rng(22), 3, 8, 8, 3, 1, pipeSpec('geom'));
  await checkGradient((x) => applyGeometry(x, geom.geom), shape, 'geom p = 1');
  // Scaling up (1/3 of a pixel per step) makes several outputs read the same input pixels: the
  // scatter-add must sum them.
  const zoom: AugmentDraws = { geom: [scale2d(1 / 3, 1 / 3), scale2d(0.5, 2), rotate2d(0.3)], color: identityDraws(3).color };
  await checkGradient((x) => applyAugment(x, zoom), shape, 'zoom ×3');
  const da = drawDiffAugment(new Rng(23), 3, 8, 8);
  await checkGradient((x) => applyDiffAugment(x, da), shape, 'diffaugment');
  const grey = drawAugment(new Rng(24), 2, 8, 8, 1, 1, pipeSpec('bgc'));
  await checkGradient((x) => applyAugment(x, grey), [2, 8, 8, 1], 'bgc grey');
});

test('applying and differentiating the pipeline leaks no tensor', async () => {
  await initEngine({ backend: BACKEND });
  const aug = new DiscriminatorAugment({ augment: 'fixed', augmentP: 1 }, 4, 1);
  const da = new DiscriminatorAugment({ augment: 'diffaugment' }, 4, 1);
  const x = tf.tensor4d(ramp(4, 8, 8, 3), [4, 8, 8, 3]);
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) {
    for (const a of [aug, da]) {
      a.apply(x).dispose();
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(a.apply(t as tf.Tensor4D))))(x);
      g.dispose();
    }
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

test('every transform of bgc is drawn: at p = 1 each image moves; the draw count does not depend on p', () => {
  const d1 = drawAugment(new Rng(5), 64, 16, 16, 3, 1, pipeSpec('bgc'));
  assert.ok(d1.geom.every((m) => m.some((v, i) => v !== identity(3)[i])), 'an image kept its geometry at p = 1');
  assert.ok(d1.color.every((m) => m.some((v, i) => v !== identity(4)[i])), 'an image kept its colours at p = 1');
  // Same rng state after drawing at p = 0.1 and at p = 0.9.
  const a = new Rng(6), b = new Rng(6);
  drawAugment(a, 8, 16, 16, 3, 0.1, pipeSpec('bgc'));
  drawAugment(b, 8, 16, 16, 3, 0.9, pipeSpec('bgc'));
  assert.deepEqual(a.getState(), b.getState());
  // p = 0.3: about 30 % of the images are x-flip candidates, half of those flip → ~15 %.
  const blit = drawAugment(new Rng(7), 4000, 16, 16, 3, 0.3, pipeSpec('blit'));
  const moved = blit.geom.filter((m) => m.some((v, i) => v !== identity(3)[i])).length / 4000;
  // P(some blit transform) = 1 − (1 − 0.3·½)(1 − 0.3·¾)(1 − 0.3·P(xint shift ≠ 0 ≈ 0.8)) ≈ 0.47
  assert.ok(moved > 0.4 && moved < 0.54, `share of moved images at p = 0.3: ${moved}`);
});

const addon = loadTorchAddon();

test('the same augmented batch and gradient on torch and cpu within 1e-5 (draws passed explicitly)', { skip: addon ? false : 'the torch addon is not built' }, async () => {
  const shape: [number, number, number, number] = [4, 16, 16, 3];
  const x0 = ramp(...shape, 31);
  const r0 = ramp(...shape, 32);
  const draws = drawAugment(new Rng(33), 4, 16, 16, 3, 1, pipeSpec('bgc'));
  const da = drawDiffAugment(new Rng(34), 4, 16, 16);
  const results: Float32Array[][] = [];
  for (const backend of ['torch', 'cpu'] as const) {
    await initEngine({ backend, threads: 1 });
    const x = tf.tensor4d(x0, shape);
    const r = tf.tensor4d(r0, shape);
    const outs: Float32Array[] = [];
    for (const apply of [(t: tf.Tensor4D) => applyAugment(t, draws), (t: tf.Tensor4D) => applyDiffAugment(t, da)]) {
      const y = apply(x);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(apply(t as tf.Tensor4D), r)))(x);
      outs.push((await y.data()) as Float32Array, (await g.data()) as Float32Array);
      tf.dispose([y, g]);
    }
    tf.dispose([x, r]);
    results.push(outs);
  }
  const names = ['bgc output', 'bgc gradient', 'diffaugment output', 'diffaugment gradient'];
  results[0].forEach((t, i) => assertClose(t, results[1][i], 1e-5, `torch vs cpu: ${names[i]}`));
});
