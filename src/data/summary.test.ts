import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset } from './dataset.js';
import { summariseDataset } from './summary.js';
import { toUnitRange } from './batches.js';

test('summary: split counts, per-class counts and pixel moments in [-1, 1] match a direct computation', async () => {
  const ds = await loadDataset('shapes:120', { resolution: 8, train: 100 });
  const s = summariseDataset(ds);
  assert.deepEqual([s.count, s.train.count, s.test.count, s.channels], [120, 100, 20, 3]);
  assert.deepEqual([s.split?.rule, s.notices], ['ordered', []]);
  assert.match(s.split?.description ?? '', /first 100 train/);
  assert.equal(s.classes?.length, 4);
  assert.equal(s.classes?.reduce((a, c) => a + c.train, 0), 100);
  assert.equal(s.classes?.reduce((a, c) => a + c.test, 0), 20);
  for (const c of s.classes ?? []) {
    assert.equal(c.train, Array.from(ds.labels ?? []).slice(0, 100).filter((l) => l === c.label).length);
  }
  const values = toUnitRange(ds.pixels.subarray(0, 100 * 192));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  assert.ok(Math.abs(s.pixels.mean - mean) < 1e-6 && Math.abs(s.pixels.std - std) < 1e-6, `${s.pixels.mean} ${s.pixels.std} vs ${mean} ${std}`);
  const red = values.filter((_, i) => i % 3 === 0);
  assert.ok(Math.abs(s.pixels.perChannel[0].mean - red.reduce((a, b) => a + b, 0) / red.length) < 1e-6);
});
