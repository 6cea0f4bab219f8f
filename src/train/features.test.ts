// Feature-net training on a tiny synthetic dataset: it learns (accuracy above chance), reports
// progress, writes a loadable file with its provenance, and leaves only the network's weights behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { loadFeatureNet } from '../models/features.js';
import { trainFeatureNet, type TrainFeatureProgress } from './features.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

test('trainFeatureNet: learns the shapes, reports progress, saves a loadable network with provenance; no leaks', async () => {
  await initEngine({ backend: BACKEND });
  const dir = await mkdtemp(join(tmpdir(), 'lia-feat-'));
  try {
    const out = join(dir, 'nested', 'net.safetensors');
    const before = tf.memory().numTensors;
    const progress: TrainFeatureProgress[] = [];
    const result = await trainFeatureNet({
      data: 'shapes:400',
      resolution: 16,
      epochs: 3,
      batch: 32,
      lr: 3e-3,
      role: 'perceptual',
      name: 'shapesnet',
      widths: [8, 8, 16],
      fcWidth: 16,
      mirror: true,
      out,
      onProgress: (p) => progress.push(p),
    });
    const { net } = result;
    assert.equal(tf.memory().numTensors, before + Object.keys(net.params).length, 'only the weights remain');
    const chance = 1 / net.numClasses;
    assert.ok(result.testAccuracy > chance + 0.15, `accuracy ${result.testAccuracy} vs chance ${chance}`);
    assert.equal(progress.length, 3 * Math.floor(360 / 32));
    assert.deepEqual(progress.filter((p) => p.epochEnd).map((p) => p.epoch), [0, 1, 2]);
    assert.equal(progress.at(-1)!.epochEnd!.testAccuracy, result.testAccuracy);

    const loaded = await loadFeatureNet(out);
    assert.equal(loaded.config.name, 'shapesnet');
    assert.equal(loaded.config.seed, 2, 'role perceptual defaults to seed 2');
    assert.equal(loaded.config.training?.role, 'perceptual');
    assert.equal(loaded.config.training?.testAccuracy, result.testAccuracy);
    assert.match(loaded.config.training?.dataset ?? '', /^shapes:400: synthetic shapes/);
    assert.deepEqual(loaded.config.classNames, net.config.classNames);
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1) as tf.Tensor4D;
    const [a, b] = [net.forward(x), loaded.forward(x)];
    assert.deepEqual(await a.data(), await b.data());
    tf.dispose([x, a, b]);
    net.dispose();
    loaded.dispose();
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
