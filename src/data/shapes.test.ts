import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateShapes, sampleShapeFactors, SHAPE_COLOURS, SHAPE_NAMES, SHAPE_SIZE_RANGE } from './shapes.js';

test('shapes are deterministic from the seed, and the seed fixes the scenes at every resolution', () => {
  const a = generateShapes({ count: 50, resolution: 32, channels: 3, seed: 4 });
  const b = generateShapes({ count: 50, resolution: 32, channels: 3, seed: 4 });
  assert.deepEqual(a.pixels, b.pixels);
  assert.deepEqual(a.labels, b.labels);
  const c = generateShapes({ count: 50, resolution: 32, channels: 3, seed: 5 });
  assert.notDeepEqual(a.pixels, c.pixels);
  const big = generateShapes({ count: 50, resolution: 64, channels: 3, seed: 4 });
  assert.deepEqual(big.factors, a.factors);
  assert.deepEqual(a.labels, a.factors.shape);
});

test('factors cover every shape and colour, and keep the shape inside the image', () => {
  const f = sampleShapeFactors(2000, 1);
  assert.equal(new Set(f.shape).size, SHAPE_NAMES.length);
  assert.equal(new Set(f.colour).size, SHAPE_COLOURS.length);
  for (let i = 0; i < 2000; i++) {
    assert.ok(f.size[i] >= SHAPE_SIZE_RANGE[0] && f.size[i] < SHAPE_SIZE_RANGE[1]);
    for (const centre of [f.x[i], f.y[i]]) assert.ok(centre - f.size[i] > 0 && centre + f.size[i] < 1);
  }
});

test('each image shows its factors: colour, area, centroid, and nothing outside the bounding box', () => {
  const res = 64;
  const { pixels, factors: f } = generateShapes({ count: 60, resolution: res, channels: 3, seed: 9 });
  for (let i = 0; i < 60; i++) {
    const rgb = SHAPE_COLOURS[f.colour[i]].rgb;
    const k = rgb.indexOf(Math.max(...rgb)); // the brightest channel measures coverage most finely
    const r = f.size[i] * res;
    const cx = f.x[i] * res;
    const cy = f.y[i] * res;
    let area = 0;
    let mx = 0;
    let my = 0;
    for (let y = 0; y < res; y++) {
      for (let x = 0; x < res; x++) {
        const o = ((i * res + y) * res + x) * 3;
        const coverage = pixels[o + k] / rgb[k];
        if (Math.abs(x + 0.5 - cx) > r + 1 || Math.abs(y + 0.5 - cy) > r + 1) {
          assert.equal(pixels[o] + pixels[o + 1] + pixels[o + 2], 0, `image ${i}: pixel (${x}, ${y}) outside the shape is not black`);
        }
        area += coverage;
        mx += coverage * (x + 0.5);
        my += coverage * (y + 0.5);
      }
    }
    mx /= area;
    my /= area;
    const name = SHAPE_NAMES[f.shape[i]];
    const expected = { circle: Math.PI * r * r, square: 4 * r * r, triangle: 2 * r * r, cross: (20 / 9) * r * r }[name];
    assert.ok(Math.abs(area - expected) / expected < 0.03, `image ${i} (${name}): area ${area.toFixed(1)}, expected ${expected.toFixed(1)}`);
    // The triangle's centroid lies a third of the half-extent below the bounding-box centre.
    const ey = name === 'triangle' ? cy + r / 3 : cy;
    assert.ok(Math.hypot(mx - cx, my - ey) < 0.25, `image ${i} (${name}): centroid (${mx}, ${my}), expected (${cx}, ${ey})`);
    // Fully covered pixels carry the exact palette colour.
    const o = ((i * res + Math.floor(ey)) * res + Math.floor(cx)) * 3;
    assert.deepEqual(Array.from(pixels.subarray(o, o + 3)), [...rgb], `image ${i}: centre colour`);
  }
});

test('grey shapes are the luma of the colour ones', () => {
  const rgb = generateShapes({ count: 10, resolution: 16, channels: 3, seed: 2 });
  const grey = generateShapes({ count: 10, resolution: 16, channels: 1, seed: 2 });
  assert.equal(grey.pixels.length, rgb.pixels.length / 3);
  for (let p = 0; p < grey.pixels.length; p++) {
    const luma = 0.299 * rgb.pixels[3 * p] + 0.587 * rgb.pixels[3 * p + 1] + 0.114 * rgb.pixels[3 * p + 2];
    assert.ok(Math.abs(grey.pixels[p] - luma) <= 1.5, `pixel ${p}: ${grey.pixels[p]} vs ${luma}`);
  }
});
