import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsampleBox, fitToResolution, greyToRgb, padCentre, resizeBilinear } from './resample.js';

test('28×28 sources are zero-padded by 2 on each side to 32×32', () => {
  const pixels = new Uint8Array(2 * 28 * 28).fill(200);
  const out = fitToResolution({ pixels, n: 2, h: 28, w: 28, c: 1 }, 32);
  assert.deepEqual([out.n, out.h, out.w, out.c], [2, 32, 32, 1]);
  const at = (i: number, y: number, x: number) => out.pixels[(i * 32 + y) * 32 + x];
  assert.equal(at(1, 0, 5), 0);
  assert.equal(at(1, 1, 1), 0);
  assert.equal(at(1, 2, 2), 200);
  assert.equal(at(1, 29, 29), 200);
  assert.equal(at(1, 30, 30), 0);
  // 16×16 is the 32×32 frame box-averaged: the corner block mixes 1 of 4 content pixels.
  const small = fitToResolution({ pixels, n: 2, h: 28, w: 28, c: 1 }, 16);
  assert.deepEqual([small.h, small.w], [16, 16]);
  assert.equal(small.pixels[0], 0);
  assert.equal(small.pixels[16 + 1], 200);
  const big = fitToResolution({ pixels, n: 1, h: 28, w: 28, c: 1 }, 64);
  assert.deepEqual([big.h, big.w], [64, 64]);
  assert.equal(big.pixels[32 * 64 + 32], 200);
  assert.equal(big.pixels[0], 0);
});

test('box downsampling averages blocks; bilinear resize keeps constant images constant; grey → RGB repeats', () => {
  const src = { pixels: Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150]), n: 1, h: 4, w: 4, c: 1 };
  assert.deepEqual(Array.from(downsampleBox(src, 2).pixels), [25, 45, 105, 125]);
  const flat = { pixels: new Uint8Array(5 * 7 * 3).fill(77), n: 1, h: 5, w: 7, c: 3 };
  assert.ok(resizeBilinear(flat, 16, 16).pixels.every((v) => v === 77));
  assert.deepEqual(Array.from(greyToRgb({ pixels: Uint8Array.from([1, 2]), n: 1, h: 1, w: 2, c: 1 }).pixels), [1, 1, 1, 2, 2, 2]);
  const padded = padCentre({ pixels: Uint8Array.from([9]), n: 1, h: 1, w: 1, c: 1 }, 3, 3, 5);
  assert.deepEqual(Array.from(padded.pixels), [5, 5, 5, 5, 9, 5, 5, 5, 5]);
});
