import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { Generator, defaultGeneratorConfig } from '../models/generator.js';
import type { Generator as G } from '../models/generator.js';
import { sefaDirections, pcaDirections, FIRST_AFFINE } from './unsupervised.js';
import { Rng } from '../util/rng.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);

test('PCA finds a planted principal axis and its variance (y = z·L with known L)', async () => {
  const d = 6;
  // y = z · diag(1, 4, 2, 1, 1, 1) then rotated by 45° in the (1, 2) plane: the top axis is (e1 + e2)/√2 with variance 16.
  const c = Math.SQRT1_2;
  const L = tf.tensor2d([
    [1, 0, 0, 0, 0, 0],
    [0, 4 * c, 4 * c, 0, 0, 0],
    [0, -2 * c, 2 * c, 0, 0, 0],
    [0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 1],
  ]);
  const fake = { config: { latentSize: d }, toY: (z: tf.Tensor2D) => tf.matMul(z, L) } as unknown as G;
  const [top, second] = await pcaDirections(fake, 2, { samples: 20_000, seed: 3 });
  assert.ok(Math.abs(Math.abs(top.n[1]) - c) < 0.02 && Math.abs(Math.abs(top.n[2]) - c) < 0.02, `top axis ${Array.from(top.n)}`);
  assert.ok(Math.abs(top.value! - 16) / 16 < 0.05, `variance ${top.value}`);
  assert.ok(Math.abs(top.scale - 4) / 4 < 0.05, `scale ${top.scale}`);
  assert.ok(Math.abs(second.value! - 4) / 4 < 0.06, `second variance ${second.value}`);
  assert.ok(Math.abs(dot(top.n, second.n)) < 1e-9, 'axes are orthogonal');
  L.dispose();
});

test("SeFa's directions are orthonormal eigenvectors of W Wᵀ, the first the one W changes most", async () => {
  const G = new Generator(1, defaultGeneratorConfig({ resolution: 8, channels: 1, latentSize: 16, widths: { base: 64, max: 16 } }));
  const dirs = await sefaDirections(G, 4, { samples: 500 });
  const w = G.namedState().get(FIRST_AFFINE)!;
  const [rows, cols] = w.shape;
  const W = Array.from(await w.data());
  // ‖Wᵀ n‖², computed directly (not through W Wᵀ).
  const gain = (n: ArrayLike<number>) => {
    let s = 0;
    for (let col = 0; col < cols; col++) {
      let p = 0;
      for (let r = 0; r < rows; r++) p += W[r * cols + col] * n[r];
      s += p * p;
    }
    return s;
  };
  for (let i = 0; i < dirs.length; i++) {
    assert.ok(Math.abs(dot(dirs[i].n, dirs[i].n) - 1) < 1e-9);
    assert.ok(Math.abs(gain(dirs[i].n) - dirs[i].value!) / dirs[i].value! < 1e-6, `direction ${i}: gain ${gain(dirs[i].n)} vs eigenvalue ${dirs[i].value}`);
    if (i > 0) assert.ok(dirs[i].value! <= dirs[i - 1].value!, 'eigenvalues are in decreasing order');
    for (let j = 0; j < i; j++) assert.ok(Math.abs(dot(dirs[i].n, dirs[j].n)) < 1e-9);
  }
  // No unit vector gains more than the first direction.
  const rng = new Rng(5);
  for (let t = 0; t < 500; t++) {
    const v = Array.from({ length: rows }, () => rng.normal());
    const norm = Math.hypot(...v);
    assert.ok(gain(v.map((x) => x / norm)) <= dirs[0].value! * (1 + 1e-9));
  }
  G.dispose();
});

test('a direction count outside 1…d is refused', async () => {
  const G = new Generator(1, defaultGeneratorConfig({ resolution: 8, channels: 1, latentSize: 16, widths: { base: 64, max: 16 } }));
  await assert.rejects(() => pcaDirections(G, 0), /1…16/);
  await assert.rejects(() => sefaDirections(G, 17), /1…16/);
  G.dispose();
});
