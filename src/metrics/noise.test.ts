// Sample metrics draw fresh noise by default (StyleGAN2-ADA's metrics do), the fixed maps on request
// (named _constnoise); PPL always uses the fixed maps. Checked on a real generator whose noise
// strengths are set non-zero, so the noise changes the images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { Generator, defaultGeneratorConfig } from '../models/generator.js';
import { FeatureNet, validateFeatureNetConfig } from '../models/features.js';
import { asGeneratorLike, computeMetrics, type MetricContext } from './index.js';
import { generatedImages, sampleLatents } from './sources.js';
import { Rng } from '../util/rng.js';
import { renderUint8, toyDataset, linearGenerator } from './toy.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

async function collect(source: ReturnType<typeof generatedImages>): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for await (const x of source()) {
    parts.push((await x.data()) as Float32Array);
    x.dispose();
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('generated images for fid/swd: fresh noise per batch by default, reproducible by seed; const noise gives g(y) with the fixed maps', async () => {
  await initEngine({ backend: BACKEND });
  const G = new Generator(1, defaultGeneratorConfig({ resolution: 8, channels: 1, latentSize: 8, widths: { base: 64, max: 8 } }));
  for (const [name, v] of G.namedParameters()) if (name.endsWith('strength')) v.assign(tf.scalar(0.5));
  const g = asGeneratorLike(G);
  const random = await collect(generatedImages(g, { num: 8, batch: 4, seed: 5, noise: 'random' }));
  const random2 = await collect(generatedImages(g, { num: 8, batch: 4, seed: 5, noise: 'random' }));
  const constant = await collect(generatedImages(g, { num: 8, batch: 4, seed: 5, noise: 'const' }));
  const other = await collect(generatedImages(g, { num: 8, batch: 4, seed: 6, noise: 'random' }));
  assert.equal(maxDiff(random, random2), 0, 'the same seed gives the same images');
  assert.ok(maxDiff(random, constant) > 1e-3, 'fresh noise changes the images');
  // Const noise is exactly G.render (the fixed maps) of the same latents, batch by batch.
  const rng = new Rng(5);
  const rendered: number[] = [];
  for (let k = 0; k < 2; k++) {
    const x = tf.tidy(() => G.render(G.toY(sampleLatents(rng, 4, 8))));
    rendered.push(...((await x.data()) as Float32Array));
    x.dispose();
  }
  assert.ok(maxDiff(constant, Float32Array.from(rendered)) < 1e-6);
  // Same latents, different noise: images of seed 5 and 6 differ, and the two random batches of one run do not repeat the noise.
  assert.ok(maxDiff(random, other) > 1e-3);
  // With the noise strengths back at 0, random and const agree: the only difference is the noise.
  for (const [name, v] of G.namedParameters()) if (name.endsWith('strength')) v.assign(tf.scalar(0));
  const r0 = await collect(generatedImages(g, { num: 8, batch: 4, seed: 5, noise: 'random' }));
  const c0 = await collect(generatedImages(g, { num: 8, batch: 4, seed: 5, noise: 'const' }));
  assert.ok(maxDiff(r0, c0) < 1e-6, `noise off: random and const agree (max diff ${maxDiff(r0, c0)})`);
  G.dispose();
});

test('metric names: fid/swd of generated images end in _constnoise only with the fixed maps; reconstructions never do', async () => {
  await initEngine({ backend: BACKEND });
  const g = linearGenerator({ latentSize: 8, resolution: 16, channels: 1, seed: 1, scale: 0.3 });
  const ds = toyDataset(await renderUint8(g, 64, 99), 64, 16, 1, 32);
  const net = new FeatureNet(validateFeatureNetConfig({ name: 'toynet', resolution: 16, channels: 1, widths: [4, 6, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 2 }));
  const base: MetricContext = { generator: g, realTest: ds, featureNet: net, numImages: 32, seed: 3, batch: 16, cache: new Map() };
  assert.deepEqual((await computeMetrics(['fid', 'swd'], base)).map((r) => r.metric), ['fid32_toynet', 'swd32']);
  assert.deepEqual((await computeMetrics(['fid', 'swd'], { ...base, noise: 'const' })).map((r) => r.metric), ['fid32_toynet_constnoise', 'swd32_constnoise']);
  const fake = async function* () {
    yield tf.zeros([32, 16, 16, 1]) as tf.Tensor4D;
  };
  assert.deepEqual((await computeMetrics(['fid'], { ...base, noise: 'const', fakeImages: fake })).map((r) => r.metric), ['fid32_toynet']);
  await assert.rejects(computeMetrics(['fid'], { ...base, noise: 'fresh' as never }), /noise: expected 'random' or 'const', got 'fresh'/);
  net.dispose();
});
