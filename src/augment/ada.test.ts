// The ADA p controller: p rises on a stream of confident real outputs (r_t = 1 > target), falls on
// uncertain ones (r_t = 0), moves by exactly batch·interval/(speed·1000) once per interval, stays in
// [0, 1], and its saved state continues the same sequence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaController } from './ada.js';

const opts = { target: 0.6, batch: 32, interval: 4, speedKimg: 500, p: 0 };

test('p rises on confident real outputs, falls on uncertain ones, by batch·interval/500k per adjustment', () => {
  const c = new AdaController({ ...opts, p: 0.5 });
  const step = (32 * 4) / 500_000;
  assert.equal(c.stepSize, step);
  for (let i = 0; i < 3; i++) c.observe(1);
  assert.equal(c.p, 0.5, 'p moved before the interval ended');
  c.observe(1);
  assert.ok(Math.abs(c.p - (0.5 + step)) < 1e-15, `after one interval of r_t = 1: ${c.p}`);
  assert.equal(c.lastRt, 1);
  for (let i = 0; i < 40; i++) c.observe(1);
  assert.ok(Math.abs(c.p - (0.5 + 11 * step)) < 1e-12, `after 11 intervals: ${c.p}`);
  const high = c.p;
  // Uncertain: D's sign is a coin flip (mean ≈ 0), below the target: p falls.
  for (let i = 0; i < 40; i++) c.observe(i % 2 ? 0.25 : -0.25);
  assert.ok(Math.abs(c.p - (high - 10 * step)) < 1e-12, `after 10 uncertain intervals: ${c.p}`);
  // r_t is the mean over the interval: 0.5, 0.7, 0.7, 0.7 → 0.65 > 0.6 rises; 0.5 ×3 + 0.7 → 0.55 falls.
  const p0 = c.p;
  for (const s of [0.5, 0.7, 0.7, 0.7]) c.observe(s);
  assert.ok(c.p > p0);
  for (const s of [0.5, 0.5, 0.5, 0.7]) c.observe(s);
  assert.ok(Math.abs(c.p - p0) < 1e-12);
});

test('p stays in [0, 1] over long confident and uncertain streams, and at its bounds', () => {
  const c = new AdaController({ ...opts, batch: 4096, p: 0.3 }); // 0.03 per adjustment
  let max = 0;
  for (let i = 0; i < 400; i++) {
    c.observe(1);
    max = Math.max(max, c.p);
    assert.ok(c.p >= 0 && c.p <= 1, `p ${c.p}`);
  }
  assert.equal(c.p, 1);
  assert.equal(max, 1);
  for (let i = 0; i < 400; i++) {
    c.observe(-1);
    assert.ok(c.p >= 0 && c.p <= 1, `p ${c.p}`);
  }
  assert.equal(c.p, 0);
  assert.throws(() => c.observe(Number.NaN), /mean sign of D\(real\) must be in/);
  assert.throws(() => new AdaController({ ...opts, target: 1.5 }), /ADA target must be in \[0, 1\], got 1.5/);
});

test('a controller restored from getState() continues the same sequence of p', () => {
  const a = new AdaController(opts);
  const stream = Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.7));
  for (const s of stream.slice(0, 23)) a.observe(s); // mid-interval: partial sums must be kept
  const b = new AdaController(opts);
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  for (const s of stream.slice(23)) {
    a.observe(s);
    b.observe(s);
    assert.equal(b.p, a.p);
  }
});

test('observeSum over the steps up to each adjustment gives the p of per-step observe; a sum crossing an adjustment is refused', () => {
  const stream = Array.from({ length: 60 }, (_, i) => 0.5 * Math.cos(i * 0.37) + 0.45); // around the target
  const start = { ...opts, p: 0.5 };
  const perStep = new AdaController(start);
  const summed = new AdaController(start);
  const interval = opts.interval;
  // Pieces of 1..interval steps that never straddle an adjustment, as a trainer reading its
  // device-side sum at every adjustment and at snapshots would make.
  let i = 0;
  let piece = 1;
  while (i < stream.length) {
    const toBoundary = interval - (i % interval);
    const n = Math.min(piece, toBoundary, stream.length - i);
    const part = stream.slice(i, i + n);
    for (const s of part) perStep.observe(s);
    summed.observeSum(part.reduce((a, b) => a + b, 0), n);
    i += n;
    piece = (piece % interval) + 1;
    assert.ok(Math.abs(summed.p - perStep.p) < 1e-12, `step ${i}: p ${summed.p} vs ${perStep.p}`);
  }
  assert.notEqual(perStep.p, start.p, 'p never moved: the comparison shows nothing');
  const c = new AdaController(opts);
  c.observe(0.5);
  assert.throws(() => c.observeSum(1, interval), /cross an adjustment/);
  assert.throws(() => c.observeSum(3, 2), /must be in \[−2, 2\]/);
});
