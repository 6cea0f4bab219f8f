// computeMetrics end to end on a toy generator, a toy dataset and a tiny feature network: full
// names, values, the real-statistics cache, metrics.jsonl records; errors; no leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { FeatureNet, validateFeatureNetConfig } from '../models/features.js';
import { appendMetrics, computeMetrics, listMetrics, readMetrics, toMetricRecord, type MetricContext } from './index.js';
import { linearGenerator, renderUint8, toyDataset } from './toy.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

test('computeMetrics: fid, swd, ppl_z, ppl_y by name on a toy model; records appended as JSON lines', async () => {
  await initEngine({ backend: BACKEND });
  const g = linearGenerator({ latentSize: 8, resolution: 16, channels: 1, seed: 1, scale: 0.3 });
  const ds = toyDataset(await renderUint8(g, 96, 99), 96, 16, 1, 64);
  const net = new FeatureNet(validateFeatureNetConfig({ name: 'toynet', resolution: 16, channels: 1, widths: [4, 6, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 2 }));
  const ctx: MetricContext = { generator: g, realTest: ds, featureNet: net, numImages: 64, pplSamples: 32, seed: 3, batch: 32, cache: new Map() };
  const before = tf.memory().numTensors;
  const results = await computeMetrics(['fid', 'swd', 'ppl_z', 'ppl_y'], ctx);
  assert.equal(tf.memory().numTensors, before, 'computeMetrics leaks no tensors');
  assert.deepEqual(results.map((r) => r.metric), ['fid64_toynet', 'swd64', 'ppl32_z_toynet', 'ppl32_y_toynet']);
  assert.deepEqual(results.map((r) => r.numImages), [64, 64, 32, 32]);
  assert.deepEqual(results.map((r) => r.featureNet), ['toynet', null, 'toynet', 'toynet']);
  for (const r of results) assert.ok(Number.isFinite(r.value) && r.value > 0, `${r.metric} = ${r.value}`);
  assert.deepEqual(Object.keys(results[1].values).sort(), ['swd_16', 'swd_avg']);
  assert.equal(results[1].value, results[1].values.swd_avg);
  assert.equal(results[2].value, results[2].values.ppl);
  assert.equal(ctx.cache!.size, 2, 'real statistics of fid and swd are cached');

  // The same call again: cached real side, same seed, same numbers; full names are accepted too.
  const again = await computeMetrics(['fid64_toynet', 'swd'], ctx);
  assert.equal(again[0].value, results[0].value);
  assert.equal(again[1].value, results[1].value);
  assert.equal(tf.memory().numTensors, before);

  const dir = await mkdtemp(join(tmpdir(), 'lia-metrics-'));
  try {
    const path = join(dir, 'run', 'metrics.jsonl');
    const time = new Date('2026-01-02T03:04:05Z');
    await appendMetrics(path, results.slice(0, 2).map((r) => toMetricRecord(r, { snapshot: 'snap-000064.safetensors', kimg: 64, backend: BACKEND, time })));
    await appendMetrics(path, toMetricRecord(results[3], { backend: BACKEND, time }));
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 3);
    const records = await readMetrics(path);
    assert.deepEqual(records[0], {
      metric: 'fid64_toynet',
      value: results[0].value,
      values: { fid: results[0].value },
      kimg: 64,
      snapshot: 'snap-000064.safetensors',
      time: '2026-01-02T03:04:05.000Z',
      backend: BACKEND,
      num_images: 64,
      feature_net: 'toynet',
      seconds: records[0].seconds,
    });
    assert.equal(records[2].snapshot, null);
    assert.equal('kimg' in records[2], false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  g.dispose();
  net.dispose();
});

test('computeMetrics: unknown names, missing inputs and mismatched shapes fail before any work', async () => {
  await initEngine({ backend: BACKEND });
  assert.deepEqual(listMetrics().map((m) => m.base), ['fid', 'swd', 'ppl_z', 'ppl_y']);
  const g = linearGenerator({ latentSize: 4, resolution: 32, channels: 1, seed: 1 });
  const net = new FeatureNet(validateFeatureNetConfig({ name: 'n16', resolution: 16, channels: 1, widths: [2, 2, 2], fcWidth: 2, classNames: ['a', 'b'], seed: 0 }));
  const base = { numImages: 10, seed: 0, batch: 5 };
  await assert.rejects(computeMetrics(['fid', 'is50k'], { ...base, generator: g }), /unknown metric 'is50k'.*fid, swd, ppl_z, ppl_y/);
  await assert.rejects(computeMetrics(['fid'], { ...base, generator: g }), /fid needs a feature network/);
  await assert.rejects(computeMetrics(['ppl_y'], { ...base, generator: g, featureNet: net }), /32×32×1 images.*reads 16×16×1/);
  await assert.rejects(computeMetrics(['swd'], { ...base, batch: 0, generator: g }), /batch must be a positive integer/);
  const perceptual = new FeatureNet(validateFeatureNetConfig({ ...net.config, training: { dataset: 'toy', role: 'perceptual' } }));
  await assert.rejects(computeMetrics(['fid'], { ...base, generator: g, featureNet: perceptual }), /role perceptual/);
  perceptual.dispose();
  g.dispose();
  net.dispose();
});
