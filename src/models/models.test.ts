// Model tests: Φ is exactly invertible, the modulated conv equals its per-sample-weights definition,
// minibatch std and upsampling match plain-JS references, and no forward leaks tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { InvertibleNetwork } from './invertible.js';
import { Generator, defaultGeneratorConfig } from './generator.js';
import { Discriminator } from './discriminator.js';
import { ModulatedConv2d } from '../nn/modulated-conv.js';
import { minibatchStd } from '../nn/minibatch-std.js';
import { upsample2x } from '../nn/ops.js';
import { relativeError } from '../engine/reference.js';
import { randn } from '../nn/module.js';
import { Rng } from '../util/rng.js';

await initEngine({ backend: 'wasm' });

function relNorm(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0] / tf.norm(b).dataSync()[0]);
}

for (const coupling of ['additive', 'affine'] as const) {
  test(`Φ (${coupling}) is invertible to 1e-5 on 1000 random vectors, at init and after training steps`, () => {
    const phi = new InvertibleNetwork(new Rng(3), { latentSize: 128, blocks: 4, coupling, lrMul: 0.01 });
    const check = (label: string) => {
      const rng = new Rng(label.length);
      const y = randn(rng, [1000, 128], 1.5);
      const z = randn(rng, [1000, 128]);
      const e1 = tf.tidy(() => relNorm(phi.inverse(phi.forward(y as tf.Tensor2D)), y));
      const e2 = tf.tidy(() => relNorm(phi.forward(phi.inverse(z as tf.Tensor2D)), z));
      assert.ok(e1 < 1e-5, `${label}: ‖Φ⁻¹(Φ(y)) − y‖/‖y‖ = ${e1}`);
      assert.ok(e2 < 1e-5, `${label}: ‖Φ(Φ⁻¹(z)) − z‖/‖z‖ = ${e2}`);
      // Φ must not be the identity, or the test would prove nothing.
      const moved = tf.tidy(() => relNorm(phi.forward(z as tf.Tensor2D), z));
      assert.ok(moved > 1e-3, `${label}: Φ moved its input by only ${moved}`);
      tf.dispose([y, z]);
    };
    check('at initialisation');
    // Train Φ to map random y to a shifted target; its weights move far from initialisation.
    const opt = tf.train.adam(0.05);
    const rng = new Rng(9);
    for (let i = 0; i < 30; i++) {
      const y = randn(rng, [64, 128]);
      const loss = opt.minimize(() => tf.mean(tf.square(tf.sub(phi.forward(y as tf.Tensor2D), tf.add(tf.mul(y, 2), 1)))) as tf.Scalar, true, phi.parameters());
      tf.dispose(y);
      loss?.dispose();
    }
    check('after 30 Adam steps');
    phi.dispose();
    opt.dispose();
  });
}

test('modulated conv equals the conv with per-sample modulated, demodulated weights', async () => {
  const rng = new Rng(4);
  const m = new ModulatedConv2d(rng, 5, 6, 3, 8);
  const x = randn(rng, [3, 7, 7, 5]) as tf.Tensor4D;
  const y = randn(rng, [3, 8]) as tf.Tensor2D;
  const got = m.forward(x, y);
  // Reference: for each sample, W' = W·c·s_i / ‖W·c·s‖ per output channel (StyleGAN2 eq. 1–3).
  const expected = tf.tidy(() => {
    const s = m.affine.forward(y); // [3, 5]
    const w = tf.mul(m.weight, 1 / Math.sqrt(5 * 9));
    const outs: tf.Tensor[] = [];
    for (let i = 0; i < 3; i++) {
      const si = tf.reshape(tf.slice(s, [i, 0], [1, 5]), [1, 1, 5, 1]);
      let wi = tf.mul(w, si);
      wi = tf.div(wi, tf.sqrt(tf.add(tf.sum(tf.square(wi), [0, 1, 2], true), 1e-8)));
      outs.push(tf.conv2d(tf.slice(x, [i, 0, 0, 0], [1, 7, 7, 5]) as tf.Tensor4D, wi as tf.Tensor4D, 1, 'same'));
    }
    return tf.concat(outs, 0);
  });
  assert.ok(relativeError(await got.data(), await expected.data()) < 1e-5);
  tf.dispose([x, y, got, expected]);
  m.dispose();
});

test('minibatch std matches a plain-JS reference', async () => {
  const rng = new Rng(5);
  const x = randn(rng, [8, 2, 3, 4]) as tf.Tensor4D;
  const out = minibatchStd(x, 4);
  assert.deepEqual(out.shape, [8, 2, 3, 5]);
  const xs = await x.data();
  const o = await out.data();
  // group of sample k: {j, j + 2, j + 4, j + 6} with j = k mod 2
  for (let k = 0; k < 8; k++) {
    const j = k % 2;
    let acc = 0;
    for (let p = 0; p < 2 * 3 * 4; p++) {
      const vals = [0, 1, 2, 3].map((g) => xs[(j + 2 * g) * 24 + p]);
      const mean = vals.reduce((a, b) => a + b) / 4;
      acc += Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / 4 + 1e-8);
    }
    const want = acc / 24;
    for (let p = 0; p < 6; p++) assert.ok(Math.abs(o[k * 30 + p * 5 + 4] - want) < 1e-5, `sample ${k}`);
  }
  tf.dispose([x, out]);
});

test('upsample2x repeats pixels and its gradient (and gradient of gradient) is a 2×2 sum', async () => {
  const rng = new Rng(6);
  const x = randn(rng, [2, 3, 4, 2]) as tf.Tensor4D;
  const up = upsample2x(x);
  const xs = await x.data();
  const us = await up.data();
  for (let n = 0; n < 2; n++)
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 8; j++)
        for (let c = 0; c < 2; c++) assert.equal(us[((n * 6 + i) * 8 + j) * 2 + c], xs[((n * 3 + (i >> 1)) * 4 + (j >> 1)) * 2 + c]);
  const r = randn(rng, [2, 6, 8, 2]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(upsample2x(t as tf.Tensor4D), r)))(x);
  const gs = await g.data();
  const rs = await r.data();
  const want = (n: number, i: number, j: number, c: number) =>
    [0, 1].flatMap((a) => [0, 1].map((b) => rs[((n * 6 + 2 * i + a) * 8 + 2 * j + b) * 2 + c])).reduce((p, q) => p + q);
  assert.ok(Math.abs(gs[((1 * 3 + 2) * 4 + 3) * 2 + 1] - want(1, 2, 3, 1)) < 1e-5);
  // second order: d/dx Σ (∂/∂x Σ up(x)²)² = d/dx Σ (8x)² → 128 x
  const gg = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.grad((u: tf.Tensor) => tf.sum(tf.square(upsample2x(u as tf.Tensor4D))))(t))))(x);
  assert.ok(relativeError(await gg.data(), Float32Array.from(xs, (v) => 128 * v)) < 1e-5);
  tf.dispose([x, up, r, g, gg]);
});

test('generator and discriminator forwards: shapes, finite values, no leaks; mixing and truncation', async () => {
  const cfg = defaultGeneratorConfig({ resolution: 16, channels: 3, latentSize: 32, widths: { base: 256, max: 32 } });
  const G = new Generator(1, cfg);
  const D = new Discriminator(new Rng(2), { resolution: 16, channels: 3, widths: cfg.widths, mbstdGroup: 4 });
  assert.equal(G.numWs, 6);
  const z = randn(new Rng(7), [4, 32]) as tf.Tensor2D;
  const z2 = randn(new Rng(8), [4, 32]) as tf.Tensor2D;
  const run = () => {
    const x = G.forward(z, { noiseSeed: 1 });
    const xm = G.forward(z, { noiseSeed: 1, mix: { z: z2, crossover: 3 }, truncation: 0.7 });
    const d = D.forward(x);
    return [x, xm, d];
  };
  tf.dispose(run());
  const before = tf.memory().numTensors;
  const [x, xm, d] = run();
  assert.deepEqual(x.shape, [4, 16, 16, 3]);
  assert.deepEqual(d.shape, [4, 1]);
  for (const t of [x, xm, d]) assert.ok((await t.data()).every(Number.isFinite));
  assert.ok(relNorm(x, xm) > 1e-3, 'mixing/truncation changes the images');
  tf.dispose([x, xm, d]);
  assert.equal(tf.memory().numTensors, before);
  // Mixing with crossover = numWs is the unmixed image.
  const a = G.forward(z, { noise: 'const' });
  const b = G.forward(z, { noise: 'const', mix: { z: z2, crossover: G.numWs } });
  assert.ok(relNorm(b, a) < 1e-6);
  tf.dispose([a, b, z, z2]);
  G.dispose();
  D.dispose();
});
