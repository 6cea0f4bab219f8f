// The stage-1 GAN objectives against values worked out by hand (softplus(v) = ln(1 + eᵛ), in float64):
// c's logistic loss, g's non-saturating loss and their gradients, the R1 penalty of a discriminator
// whose input gradient is known in closed form, and the lazy-R1 weight and schedule. cpu backend.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { dLogisticLoss, gNonSaturatingLoss, isLazyR1Step, lazyR1Weight, r1Penalty } from './gan.js';

// Float32 evaluation of a few softplus terms against float64: a few ulps of values ≤ 60.
const TOL = 1e-6;
const close = (got: number, want: number, what: string, tol = TOL) => assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${got}, expected ${want}`);
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

before(async () => {
  await initEngine({ backend: 'cpu' });
});

test('logistic losses at zero logits are ln 2 per term: c 2 ln 2, g ln 2', () => {
  const zero = tf.zeros([4, 1]);
  close(dLogisticLoss(zero, zero).dataSync()[0], 2 * Math.LN2, 'D loss');
  close(gNonSaturatingLoss(zero).dataSync()[0], Math.LN2, 'G loss');
  zero.dispose();
});

test("c's logistic loss is mean softplus(fake) + mean softplus(−real), with gradients σ(fake)/N and −σ(−real)/N", () => {
  // real [1, −2], fake [0.5, 3]: softplus(0.5) = 0.974077, softplus(3) = 3.048587, softplus(−1) = 0.313262,
  // softplus(2) = 2.126928 → (0.974077 + 3.048587)/2 + (0.313262 + 2.126928)/2 = 3.231427.
  const real = tf.tensor2d([[1], [-2]]);
  const fake = tf.tensor2d([[0.5], [3]]);
  close(dLogisticLoss(real, fake).dataSync()[0], 3.231427017157522, 'D loss');
  const [gReal, gFake] = tf.grads((r: tf.Tensor, f: tf.Tensor) => dLogisticLoss(r, f))([real, fake]);
  const gr = gReal.dataSync();
  const gf = gFake.dataSync();
  [1, -2].forEach((v, i) => close(gr[i], -sigmoid(-v) / 2, `∂/∂real[${i}]`));
  [0.5, 3].forEach((v, i) => close(gf[i], sigmoid(v) / 2, `∂/∂fake[${i}]`));
  tf.dispose([real, fake, gReal, gFake]);
});

test("g's non-saturating loss is mean softplus(−fake), with gradient −σ(−fake)/N", () => {
  // fake [0.5, 3, −1]: softplus(−0.5) = 0.474077, softplus(−3) = 0.048587, softplus(1) = 1.313262 → 0.611975.
  const fake = tf.tensor2d([[0.5], [3], [-1]]);
  close(gNonSaturatingLoss(fake).dataSync()[0], 0.6119753410906905, 'G loss');
  const g = tf.tidy(() => tf.grad((f: tf.Tensor) => gNonSaturatingLoss(f))(fake).dataSync());
  [0.5, 3, -1].forEach((v, i) => close(g[i], -sigmoid(-v) / 3, `∂/∂fake[${i}]`));
  fake.dispose();
});

test('the losses stay finite and linear for confident wrong logits (softplus(30) = 30 + 9e-14)', () => {
  tf.tidy(() => {
    close(dLogisticLoss(tf.tensor2d([[-30]]), tf.tensor2d([[30]])).dataSync()[0], 60, 'D loss');
    close(gNonSaturatingLoss(tf.tensor2d([[-30]])).dataSync()[0], 30, 'G loss');
  });
});

test('R1 is the per-image squared input-gradient norm, averaged over the batch (hand-computed 177)', () => {
  // c(x) = Σ a ⊙ x² per image, so ∇ₓc = 2a ⊙ x. With a = [1, −1, 0.5, 2] on 2×2×1 images:
  //   image 1, x = [1, 2, 3, 4]:    ∇ = [2, −4, 3, 16]  → ‖∇‖² = 4 + 16 + 9 + 256 = 285
  //   image 2, x = [0.5, −1, 0, 2]: ∇ = [1, 2, 0, 8]    → ‖∇‖² = 1 + 4 + 0 + 64 = 69
  // R1 = (285 + 69) / 2 = 177.
  const a = tf.tensor4d([1, -1, 0.5, 2], [1, 2, 2, 1]);
  const x = tf.tensor4d([1, 2, 3, 4, 0.5, -1, 0, 2], [2, 2, 2, 1]);
  const d = (xx: tf.Tensor4D) => tf.sum(tf.mul(a, tf.square(xx)), [1, 2, 3]).reshape([-1, 1]);
  close(r1Penalty(d, x).dataSync()[0], 177, 'R1');
  // Its gradient with respect to a: ∂/∂a_j mean_n Σ (2 a x_n)² = mean_n 8 a_j x_nj².
  const ga = tf.tidy(() => tf.grad((aa: tf.Tensor) => r1Penalty((xx) => tf.sum(tf.mul(aa, tf.square(xx)), [1, 2, 3]).reshape([-1, 1]), x))(a).dataSync());
  const av = [1, -1, 0.5, 2];
  const x1 = [1, 2, 3, 4];
  const x2 = [0.5, -1, 0, 2];
  av.forEach((aj, j) => close(ga[j], (8 * aj * (x1[j] ** 2 + x2[j] ** 2)) / 2, `∂R1/∂a[${j}]`));
  tf.dispose([a, x]);
});

test('lazy R1: every interval-th D step, weighted γ/2 · interval, so the weight per step averages γ/2', () => {
  assert.equal(lazyR1Weight(10, 16), 80);
  assert.equal(lazyR1Weight(10, 1), 5);
  for (const [gamma, interval] of [[10, 16], [1, 4], [0.5, 1]]) {
    const steps = Array.from({ length: 3 * interval }, (_, s) => s);
    assert.deepEqual(steps.filter((s) => isLazyR1Step(s, gamma, interval)), [0, interval, 2 * interval], `γ ${gamma} every ${interval}`);
    const mean = steps.reduce((sum, s) => sum + (isLazyR1Step(s, gamma, interval) ? lazyR1Weight(gamma, interval) : 0), 0) / steps.length;
    close(mean, gamma / 2, `mean weight per step, γ ${gamma} every ${interval}`, 1e-15);
  }
  assert.ok(!isLazyR1Step(0, 0, 16), 'γ = 0 turns R1 off');
});
