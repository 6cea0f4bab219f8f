// FID: streaming feature statistics against a one-shot float64 computation, batch-size invariance,
// FID ordering on toy generators, no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { FeatureNet, validateFeatureNetConfig } from '../models/features.js';
import { computeFid, featureStats, frechetDistance } from './fid.js';
import { generatedImages } from './sources.js';
import { linearGenerator } from './toy.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

function smallNet(): FeatureNet {
  return new FeatureNet(validateFeatureNetConfig({ name: 'tiny', resolution: 16, channels: 1, widths: [4, 6, 8], fcWidth: 12, classNames: ['a', 'b'], seed: 7 }));
}

test('featureStats: streamed float64 moments equal a one-shot computation, whatever the batch size', async () => {
  await initEngine({ backend: BACKEND });
  const net = smallNet();
  const g = linearGenerator({ latentSize: 8, resolution: 16, channels: 1, seed: 1 });
  const before = tf.memory().numTensors;
  const a = await featureStats(net, generatedImages(g, { num: 90, batch: 7, seed: 3 }));
  const b = await featureStats(net, generatedImages(g, { num: 90, batch: 90, seed: 3 }));
  assert.equal(tf.memory().numTensors, before, 'featureStats leaks no tensors');
  // Reference: all features at once, two-pass float64.
  const images = (await generatedImages(g, { num: 90, batch: 90, seed: 3 })()[Symbol.asyncIterator]().next()).value as tf.Tensor4D;
  const f = net.penultimate(images);
  const data = await f.data();
  tf.dispose([images, f]);
  const [n, d] = [90, 12];
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += data[r * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] += ((data[r * d + i] - mean[i]) * (data[r * d + j] - mean[j])) / (n - 1);
  const scale = Math.max(...cov.map(Math.abs));
  for (const s of [a, b]) {
    assert.equal(s.count, 90);
    for (let j = 0; j < d; j++) assert.ok(Math.abs(s.mean[j] - mean[j]) < 1e-5 * (1 + Math.abs(mean[j])));
    for (let k = 0; k < d * d; k++) assert.ok(Math.abs(s.cov[k] - cov[k]) < 1e-5 * scale, `cov[${k}] ${s.cov[k]} vs ${cov[k]}`);
  }
  assert.ok(frechetDistance(a, b) < 1e-6 * scale);
  g.dispose();
  net.dispose();
});

test('FID: same distribution < shifted distribution; identical sets ≈ 0', async () => {
  await initEngine({ backend: BACKEND });
  const net = smallNet();
  const g = linearGenerator({ latentSize: 8, resolution: 16, channels: 1, seed: 1, scale: 0.3 });
  const shifted = linearGenerator({ latentSize: 8, resolution: 16, channels: 1, seed: 1, scale: 0.3, offset: 0.3 });
  const before = tf.memory().numTensors;
  const real = await featureStats(net, generatedImages(g, { num: 200, batch: 50, seed: 1 }));
  const self = await computeFid(net, real, generatedImages(g, { num: 200, batch: 50, seed: 1 }));
  const same = await computeFid(net, real, generatedImages(g, { num: 200, batch: 50, seed: 2 }));
  const far = await computeFid(net, real, generatedImages(shifted, { num: 200, batch: 50, seed: 2 }));
  assert.equal(tf.memory().numTensors, before, 'computeFid leaks no tensors');
  assert.ok(self < 1e-6, `identical sets: ${self}`);
  assert.ok(same > 0 && same < far / 3, `independent samples ${same} vs shifted ${far}`);
  for (const x of [g, shifted, net]) x.dispose();
});
