// Feature-net training on a tiny synthetic dataset: it learns (accuracy above chance), reports
// progress, writes a loadable file with its provenance, and leaves only the network's weights behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { encodeIdx } from '../data/index.js';
import { loadFeatureNet } from '../io/network-files.js';
import { Rng } from '../util/rng.js';
import { trainFeatureNet, type TrainFeatureProgress } from './features.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

/** 16×16 grey IDX files: class k has a bright 6×6 square in quadrant k, on noise; the last 100 are the test part. */
async function writeQuadrants(dir: string, count: number): Promise<string> {
  const rng = new Rng(9);
  const pixels = new Uint8Array(count * 256);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const k = rng.int(4);
    labels[i] = k;
    const [y0, x0] = [(k >> 1) * 8 + 1 + rng.int(2), (k & 1) * 8 + 1 + rng.int(2)];
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) pixels[i * 256 + y * 16 + x] = y >= y0 && y < y0 + 6 && x >= x0 && x < x0 + 6 ? 200 + rng.int(56) : rng.int(120);
  }
  const images = join(dir, 'images.idx');
  await writeFile(images, encodeIdx([count, 16, 16], pixels));
  await writeFile(join(dir, 'labels.idx'), encodeIdx([count], labels));
  return `mnist:${images},${join(dir, 'labels.idx')}`;
}

test('trainFeatureNet: learns a toy task, reports progress, saves a loadable network with provenance; no leaks', async () => {
  await initEngine({ backend: BACKEND });
  const dir = await mkdtemp(join(tmpdir(), 'lia-feat-'));
  try {
    const out = join(dir, 'nested', 'net.safetensors');
    const before = tf.memory().numTensors;
    const progress: TrainFeatureProgress[] = [];
    const data = await writeQuadrants(dir, 400);
    const result = await trainFeatureNet({
      data,
      resolution: 16,
      train: 300,
      epochs: 3,
      batch: 32,
      lr: 3e-3,
      role: 'perceptual',
      name: 'quadnet',
      widths: [8, 8, 16],
      fcWidth: 16,
      mirror: false,
      out,
      onProgress: (p) => progress.push(p),
    });
    const { net } = result;
    assert.equal(tf.memory().numTensors, before + Object.keys(net.params).length, 'only the weights remain');
    const chance = 1 / net.numClasses;
    assert.ok(result.testAccuracy > chance + 0.4, `accuracy ${result.testAccuracy} vs chance ${chance}`);
    assert.equal(progress.length, 3 * Math.floor(300 / 32));
    assert.deepEqual(progress.filter((p) => p.epochEnd).map((p) => p.epoch), [0, 1, 2]);
    assert.equal(progress.at(-1)!.epochEnd!.testAccuracy, result.testAccuracy);

    const loaded = await loadFeatureNet(out);
    assert.equal(loaded.config.name, 'quadnet');
    assert.equal(loaded.config.seed, 2, 'role perceptual defaults to seed 2');
    assert.equal(loaded.config.training?.role, 'perceptual');
    assert.equal(loaded.config.training?.testAccuracy, result.testAccuracy);
    assert.match(loaded.config.training?.dataset ?? '', /^mnist:.*images\.idx/);
    assert.deepEqual(loaded.config.classNames, net.config.classNames);
    const x = tf.randomUniform([2, 16, 16, 1], -1, 1) as tf.Tensor4D;
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
