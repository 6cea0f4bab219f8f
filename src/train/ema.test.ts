// The generator EMA against hand-computed values: β = 0.5^(batch / half-life), the half-life ramp-up,
// one update ema ← p + β (ema − p) in each arithmetic mode, and the stage-1 trainer applying exactly
// that update after a step. cpu backend.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { Module } from '../nn/module.js';
import { loadDataset } from '../data/index.js';
import { resolveDecoderConfig } from './decoder-config.js';
import { DecoderTrainer } from './stage1.js';
import { emaBeta, emaHalfLifeImages, updateEma } from './ema.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

test('β = 0.5^(batch / half-life): 0.997784 for 32 images at 10 kimg, and the old weights halve over one half-life', () => {
  // 0.5^(32/10000) = exp(−0.0032 · ln 2) = 0.99778438712...
  assert.ok(Math.abs(emaBeta(32, 10_000) - 0.9977843871238888) < 1e-15);
  // 250 steps of 40 images = 10 k images = one half-life: the EMA keeps half of its old value.
  assert.ok(Math.abs(emaBeta(40, 10_000) ** 250 - 0.5) < 1e-12);
  assert.ok(Math.abs(emaBeta(32, 5_000) ** (5_000 / 32) - 0.5) < 1e-12);
  assert.equal(emaBeta(32, 0), 0, 'no half-life: the EMA is a copy');
});

test('the half-life ramps up as 5 % of the images seen, up to emaKimg thousand', () => {
  assert.equal(emaHalfLifeImages(10, 0), 0);
  assert.equal(emaHalfLifeImages(10, 100_000), 5_000);
  assert.equal(emaHalfLifeImages(10, 200_000), 10_000);
  assert.equal(emaHalfLifeImages(10, 1_000_000), 10_000);
  assert.equal(emaHalfLifeImages(5, 1_000_000), 5_000);
});

class Tiny extends Module {
  constructor(a: number[], buf: number[]) {
    super();
    this.param('a', tf.tensor1d(a));
    this.buffer('buf', tf.tensor1d(buf));
  }
}

test('updateEma moves each parameter to p + β (ema − p) and copies buffers (js and tensor modes)', async () => {
  for (const mode of ['js', 'tensor'] as const) {
    for (const [beta, want] of [
      [0.25, [2.5, -1, 0]], // 3 + 0.25·(1 − 3) = 2.5;  −2 + 0.25·(2 − (−2)) = −1;  0 + 0.25·0 = 0
      [0, [3, -2, 0]], // β = 0: a copy of the model
      [1, [1, 2, 0]], // β = 1: unchanged
    ] as Array<[number, number[]]>) {
      const ema = new Tiny([1, 2, 0], [7]);
      const model = new Tiny([3, -2, 0], [9]);
      updateEma(ema, model, beta, mode);
      const s = ema.namedState();
      assert.deepEqual(Array.from(await s.get('a')!.data()), want, `${mode} β ${beta}`);
      assert.deepEqual(Array.from(await s.get('buf')!.data()), [9], `${mode} β ${beta}: buffers are copied`);
      ema.dispose();
      model.dispose();
    }
  }
});

async function state(m: Module): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of m.namedState()) out.set(k, (await v.data()) as Float32Array);
  return out;
}

test('a stage-1 step updates the EMA generator with β from the ramped half-life', async () => {
  const cfg = resolveDecoderConfig({ data: 'shapes:96', resolution: 8, batch: 4, latentSize: 16, widthBase: 64, widthMax: 16, phiBlocks: 2, emaKimg: 0.01 });
  const trainer = new DecoderTrainer(cfg, await loadDataset(cfg.data, { resolution: 8 }));
  const trainable = new Set(trainer.G.namedParameters().keys());
  // Step 1 from scratch: 4 images seen, half-life min(10, 0.05·4) = 0.2 images, β = 0.5^20.
  // Step 2 as if 100 k images had been seen: half-life min(10, 5000) = 10 images, β = 0.5^0.4 = 0.757858.
  for (const [imagesBefore, beta] of [[0, 0.5 ** 20], [100_000, 0.757858283255199]]) {
    trainer.imagesSeen = imagesBefore;
    const emaBefore = await state(trainer.Gema);
    await trainer.trainStep();
    const g = await state(trainer.G);
    const ema = await state(trainer.Gema);
    let moved = 0;
    for (const [k, e] of ema) {
      const p = g.get(k)!;
      const e0 = emaBefore.get(k)!;
      for (let i = 0; i < e.length; i++) {
        // Buffers (ȳ, fixed noise) are copied; parameters follow the formula, in float32 arithmetic.
        const want = trainable.has(k) ? p[i] + beta * (e0[i] - p[i]) : p[i];
        assert.ok(Math.abs(e[i] - want) <= 1e-6 * Math.max(1, Math.abs(want)), `after ${imagesBefore} images, ${k}[${i}]: ${e[i]}, expected ${want}`);
        if (trainable.has(k) && e0[i] !== p[i]) moved++;
      }
    }
    assert.ok(moved > 100, `the step changed ${moved} parameters: the check compared something`);
  }
  trainer.dispose();
});
