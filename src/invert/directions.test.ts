// Direction fitting: recovers a planted direction from noisy codes, reports held-out accuracy, and
// edits move the projection by α·scale exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitDirection, fitDirectionsFromCodes, editSeries } from './directions.js';
import { Rng } from '../util/rng.js';

test('fitDirection finds the Bayes-optimal normal Σ⁻¹Δμ in anisotropic codes', () => {
  const rng = new Rng(3);
  const d = 24;
  const n = 2000;
  const truth = Float64Array.from({ length: d }, () => rng.normal());
  const tn = Math.hypot(...truth);
  for (let j = 0; j < d; j++) truth[j] /= tn;
  const scales = Float64Array.from({ length: d }, (_, j) => 0.5 + (j % 5));
  const y = new Float64Array(n * d);
  const label: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const cls = rng.next() < 0.3;
    label.push(cls);
    for (let j = 0; j < d; j++) y[i * d + j] = 2 + scales[j] * rng.normal() + (cls ? 3 : -1) * truth[j];
  }
  const dir = fitDirection('planted', y, n, d, label);
  // Two Gaussians with a shared diagonal covariance: the optimal boundary's normal is Σ⁻¹(μ₊ − μ₋).
  const opt = Float64Array.from(truth, (t, j) => t / scales[j] ** 2);
  const on = Math.hypot(...opt);
  let cos = 0;
  for (let j = 0; j < d; j++) cos += (dir.n[j] * opt[j]) / on;
  assert.ok(cos > 0.95, `cosine to Σ⁻¹Δμ ${cos}`);
  assert.ok(Math.abs(Math.hypot(...dir.n) - 1) < 1e-12);
  assert.ok(dir.heldOutAccuracy > 0.75 && dir.trainAccuracy > 0.75, `accuracy ${dir.trainAccuracy} / ${dir.heldOutAccuracy}`);
  assert.ok(dir.meanPos > dir.meanNeg);
  assert.equal(dir.positives, label.filter(Boolean).length);
});

test('codes ordered class by class in a cycle (an interleaved split) fit every class, each with held-out images', () => {
  // 10 classes cycling 0, 1, …, 9, 0, 1, …: a held-out rule of "every 5th image" would hold out
  // classes 4 and 9 entirely. Class k's codes sit at +3 along axis k.
  const rng = new Rng(4);
  const d = 10;
  const n = 1000;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const y = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) y[i * d + j] = rng.normal() + (labels[i] === j ? 3 : 0);
  const names = Array.from({ length: 10 }, (_, k) => `c${k}`);
  const dirs = fitDirectionsFromCodes(y, labels, names, d);
  for (const [k, dir] of dirs.entries()) {
    assert.equal(dir.positives, 100);
    assert.ok(dir.n[k] > 0.75, `${dir.name}: the normal points along its axis (${dir.n[k]})`);
    assert.ok(dir.heldOutAccuracy > 0.8, `${dir.name}: held-out accuracy ${dir.heldOutAccuracy}`);
  }
});

test('editSeries moves the projection by α·scale and nothing else', () => {
  const d = 6;
  const dir = { name: 'x', n: Float64Array.from([0.6, 0.8, 0, 0, 0, 0]), scale: 2, meanPos: 0, meanNeg: 0, trainAccuracy: 1, heldOutAccuracy: 1, positives: 1 };
  const y = [1, 2, 3, 4, 5, 6];
  const s = editSeries(y, dir, [-1, 0, 2.5]);
  for (const [k, a] of [-1, 0, 2.5].entries()) {
    const proj = 0.6 * s[k * d] + 0.8 * s[k * d + 1];
    assert.ok(Math.abs(proj - (0.6 + 1.6 + 2 * a)) < 1e-5);
    assert.deepEqual(Array.from(s.subarray(k * d + 2, k * d + 6)), [3, 4, 5, 6]);
  }
  assert.throws(() => editSeries([1, 2], dir, [1]), /code has 2 entries/);
});

test('fitDirection refuses labels with one class only', () => {
  assert.throws(() => fitDirection('none', new Float64Array(20), 10, 2, new Array(10).fill(false)), /both images with the label and without it/);
});
