// PPL: slerp's geometry, StyleGAN's percentile filtering, per-path values of a linear generator
// against float64 closed forms in y and in z, determinism, the perceptual distance; no leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { FeatureNet, validateFeatureNetConfig } from '../models/features.js';
import { Rng } from '../util/rng.js';
import { computePpl, pathLengths, perceptualDistance, pixelDistance, slerp, summarisePathLengths, PPL_EPSILON } from './ppl.js';
import { linearGenerator } from './toy.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

test('slerp: unit vectors, endpoints â and b̂, angle proportional to t', () => {
  const rng = new Rng(1);
  const a = Float64Array.from({ length: 9 }, () => rng.normal());
  const b = Float64Array.from({ length: 9 }, () => rng.normal());
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  const theta = Math.acos(dot(a, b) / (na * nb));
  const s0 = slerp(a, b, 0);
  const s1 = slerp(a, b, 1);
  for (let i = 0; i < 9; i++) {
    assert.ok(Math.abs(s0[i] - a[i] / na) < 1e-12);
    assert.ok(Math.abs(s1[i] - b[i] / nb) < 1e-12);
  }
  for (const t of [0.1, 0.5, 0.8]) {
    const s = slerp(a, b, t);
    assert.ok(Math.abs(dot(s, s) - 1) < 1e-12);
    assert.ok(Math.abs(Math.acos(Math.min(1, dot(s, a) / na)) - t * theta) < 1e-9);
  }
});

test('summarisePathLengths: numpy percentiles (lower 1 %, higher 99 %) bound the mean', () => {
  const values = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1..1000, unsorted
  const r = summarisePathLengths(values);
  assert.equal(r.p1, 10); // np.percentile(1..1000, 1, interpolation='lower')
  assert.equal(r.p99, 991); // np.percentile(1..1000, 99, interpolation='higher')
  assert.equal(r.mean, 500.5); // mean of 10..991
  assert.equal(r.meanAll, 500.5);
  assert.equal(r.median, 500.5);
  assert.equal(r.samples, 1000);
  // Of 1000 values the 'higher' 99th percentile is the 991st smallest: the top nine go.
  const skewed = summarisePathLengths([...Array.from({ length: 991 }, () => 1), ...Array.from({ length: 9 }, () => 1e6)]);
  assert.equal(skewed.mean, 1, 'outliers above the 99th percentile are discarded');
  assert.equal(skewed.meanAll, (991 + 9e6) / 1000);
});

/** Replays the paths' random draws (z₁, z₂, t per path) and returns float64 closed-form values. */
function closedForm(a: Float32Array, dz: number, p: number, samples: number, seed: number, space: 'z' | 'y'): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(samples);
  // value = ‖Aᵀ v‖² / P, v = d interp/dt (identity mapping; images = y A).
  const quad = (v: Float64Array) => {
    let s = 0;
    for (let j = 0; j < p; j++) {
      let x = 0;
      for (let k = 0; k < dz; k++) x += v[k] * a[k * p + j];
      s += x * x;
    }
    return s / p;
  };
  for (let i = 0; i < samples; i++) {
    const z1 = Float64Array.from({ length: dz }, () => rng.normal());
    const z2 = Float64Array.from({ length: dz }, () => rng.normal());
    const t = rng.next();
    if (space === 'y') {
      out[i] = quad(z2.map((v, k) => v - z1[k]));
    } else {
      // d/dt of √dz·slerp = √dz·θ·(−â sin tθ + ĉ cos tθ).
      const n1 = Math.sqrt(dot(z1, z1));
      const n2 = Math.sqrt(dot(z2, z2));
      const au = z1.map((v) => v / n1);
      const bu = z2.map((v) => v / n2);
      const d = dot(au, bu);
      const theta = Math.acos(d);
      const c = bu.map((v, k) => v - d * au[k]);
      const nc = Math.sqrt(dot(c, c));
      const scale = Math.sqrt(dz) * theta;
      out[i] = quad(au.map((v, k) => scale * (-v * Math.sin(t * theta) + (c[k] / nc) * Math.cos(t * theta))));
    }
  }
  return out;
}

test('PPL of a linear generator with pixel distance: every path matches its float64 closed form, in y and in z', async () => {
  await initEngine({ backend: BACKEND });
  const [dz, res] = [8, 8];
  const g = linearGenerator({ latentSize: dz, resolution: res, channels: 1, seed: 3, scale: 0.05 });
  const a = (await g.matrix.data()) as Float32Array;
  const samples = 60;
  const before = tf.memory().numTensors;
  const means: Record<string, number> = {};
  for (const space of ['y', 'z'] as const) {
    const got = await pathLengths(g, { space, samples, batch: 16, seed: 11, distance: pixelDistance });
    const want = closedForm(a, dz, res * res, samples, 11, space);
    for (let i = 0; i < samples; i++) {
      // Float32 images at t and t + 1e-4: the difference keeps ~3–4 significant digits.
      assert.ok(Math.abs(got[i] - want[i]) <= 2e-2 * want[i], `${space} path ${i}: ${got[i]} vs ${want[i]}`);
    }
    means[space] = summarisePathLengths(got).mean;
  }
  assert.equal(tf.memory().numTensors, before, 'pathLengths leaks no tensors');
  // z paths swing through an angle of ~π/2 on a sphere of radius √dz: longer than y's chords here.
  assert.ok(Math.abs(means.z - means.y) > 0.05 * means.y, `z ${means.z} vs y ${means.y}`);
  g.dispose();
});

test('PPL is deterministic for a seed and independent of the batch size; the perceptual distance is 0 on equal images', async () => {
  await initEngine({ backend: BACKEND });
  const g = linearGenerator({ latentSize: 6, resolution: 16, channels: 1, seed: 4, scale: 0.2, mapping: (z) => tf.tanh(z) });
  const net = new FeatureNet(validateFeatureNetConfig({ name: 'tiny', resolution: 16, channels: 1, widths: [4, 6, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 1 }));
  const distance = perceptualDistance(net);
  const before = tf.memory().numTensors;
  const opts = { samples: 24, seed: 5, distance, epsilon: PPL_EPSILON };
  const r1 = await computePpl(g, { ...opts, space: 'y', batch: 8 });
  const r2 = await computePpl(g, { ...opts, space: 'y', batch: 8 });
  assert.deepEqual(r1, r2);
  const r3 = await computePpl(g, { ...opts, space: 'y', batch: 24 });
  assert.ok(Math.abs(r3.mean - r1.mean) < 1e-3 * r1.mean, `batch 24 ${r3.mean} vs batch 8 ${r1.mean}`);
  const rz = await computePpl(g, { ...opts, space: 'z', batch: 8 });
  assert.ok(r1.mean > 0 && rz.mean > 0 && rz.mean !== r1.mean);
  const x = tf.randomUniform([3, 16, 16, 1], -1, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.randomUniform([3, 16, 16, 1], -1, 1, 'float32', 2) as tf.Tensor4D;
  const [same, diff] = [distance(x, x), distance(x, y)];
  assert.deepEqual(same.shape, [3]);
  assert.ok((await same.data()).every((v) => v === 0));
  assert.ok((await diff.data()).every((v) => v > 0));
  tf.dispose([x, y, same, diff]);
  assert.equal(tf.memory().numTensors, before, 'computePpl and the distance leak no tensors');
  g.dispose();
  net.dispose();
});
