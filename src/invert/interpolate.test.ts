// Latent interpolation against hand-computed points: lerp's end points and midpoint, slerp between
// orthogonal vectors of different norms (angle and norm both interpolated), and slerp's fallback to
// lerp for (anti)parallel end points. cpu backend.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { interpolateLatents, slerp } from './interpolate.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

function rows(t: tf.Tensor): number[][] {
  const out = t.arraySync() as number[][];
  t.dispose();
  return out;
}

function assertRow(got: number[], want: number[], what: string, tol = 1e-6): void {
  assert.equal(got.length, want.length, what);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= tol, `${what}[${i}]: ${v}, expected ${want[i]}`));
}

test('lerp: t = 0 and t = 1 are the end points, t = 1/2 their mean', () => {
  const a = tf.tensor2d([[1, -2, 0.5]]);
  const b = tf.tensor2d([[3, 2, -0.5]]);
  const path = rows(interpolateLatents(a, b, 5, 'lerp'));
  assert.equal(path.length, 5);
  assertRow(path[0], [1, -2, 0.5], 't = 0', 0);
  assertRow(path[4], [3, 2, -0.5], 't = 1', 0);
  assertRow(path[2], [2, 0, 0], 't = 1/2');
  assertRow(path[1], [1.5, -1, 0.25], 't = 1/4');
  tf.dispose([a, b]);
});

test('slerp between orthogonal vectors of norms 3 and 5: the angle and the norm move linearly', () => {
  // a = 3·e1, b = 5·e2 (90° apart). At t the direction is cos(tπ/2)·e1 + sin(tπ/2)·e2 and the norm
  // 3 + 2t: t = 1/2 → 4·(1/√2, 1/√2) = (2.828427, 2.828427); t = 1/3 → (11/3)·(cos 30°, sin 30°) =
  // (3.175426, 1.833333).
  const a = tf.tensor2d([[3, 0, 0]]);
  const b = tf.tensor2d([[0, 5, 0]]);
  const three = rows(interpolateLatents(a, b, 3, 'slerp'));
  assertRow(three[0], [3, 0, 0], 't = 0');
  assertRow(three[1], [2 * Math.SQRT2, 2 * Math.SQRT2, 0], 't = 1/2');
  assertRow(three[2], [0, 5, 0], 't = 1');
  const four = rows(interpolateLatents(a, b, 4, 'slerp'));
  assertRow(four[1], [(11 / 3) * Math.cos(Math.PI / 6), (11 / 3) * Math.sin(Math.PI / 6), 0], 't = 1/3');
  tf.dispose([a, b]);
});

test('slerp falls back to lerp for parallel and anti-parallel end points, row by row', () => {
  const a = tf.tensor2d([[1, 1], [1, 0], [3, 0]]);
  const b = tf.tensor2d([[2, 2], [-1, 0], [0, 4]]);
  const t = tf.fill([3, 1], 0.25) as tf.Tensor2D;
  const out = rows(slerp(a, b, t));
  assertRow(out[0], [1.25, 1.25], 'parallel');
  assertRow(out[1], [0.5, 0], 'anti-parallel');
  // The third row is an ordinary slerp (90° apart; at t = 1/4 the angle is 22.5°, the norm 3.25).
  assertRow(out[2], [3.25 * Math.cos(Math.PI / 8), 3.25 * Math.sin(Math.PI / 8)], 'orthogonal row');
  tf.dispose([a, b, t]);
});
