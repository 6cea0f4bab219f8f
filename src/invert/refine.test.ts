// Refinement (equation 13): every space lowers the loss from a perturbed start, y ↔ z ↔ wplus starting
// points render the same image, a batch is N independent optimisations, bad arguments are refused,
// and nothing leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { Generator, defaultGeneratorConfig } from '../models/generator.js';
import { FeatureNet } from '../models/features.js';
import { refine, renderCode, yToSpace, REFINE_SPACES } from './refine.js';
import { Rng } from '../util/rng.js';

let G: Generator;
let net: FeatureNet;
const d = 16;

function randn(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => scale * rng.normal()), shape);
}

before(async () => {
  await initEngine({ backend: 'wasm', threads: 1 });
  G = new Generator(5, defaultGeneratorConfig({ resolution: 16, channels: 1, latentSize: d, widths: { base: 64, max: 16 }, phiBlocks: 2 }));
  net = new FeatureNet({ name: 'tinyperc', resolution: 16, channels: 1, widths: [4, 8, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 3, training: { dataset: 'none', role: 'perceptual' } });
});

test('y, z and wplus starting points from the same y render the same images', () => {
  const y = G.toY(randn(new Rng(1), [3, d]) as tf.Tensor2D);
  const ref = renderCode(G, 'y', y);
  for (const space of ['z', 'wplus'] as const) {
    const code = yToSpace(G, space, y);
    const img = renderCode(G, space, code);
    const err = tf.max(tf.abs(tf.sub(img, ref))).dataSync()[0];
    assert.ok(err < 1e-4, `${space}: max |Δ| ${err}`);
    tf.dispose([code, img]);
  }
  tf.dispose([y, ref]);
});

test('refinement lowers the loss in every space, without leaking tensors', () => {
  const rng = new Rng(7);
  const yTrue = G.toY(randn(rng, [4, d]) as tf.Tensor2D);
  const x = renderCode(G, 'y', yTrue);
  const yStart = tf.add(yTrue, randn(rng, [4, d], 0.7)) as tf.Tensor2D;
  for (const space of REFINE_SPACES) {
    const init = yToSpace(G, space, yStart);
    const before = tf.memory().numTensors;
    const r = refine(G, x, init, { steps: 40, lr: 0.05, beta: 0.5, perceptualNet: net, space });
    const first = r.history[0].loss;
    const last = r.history.at(-1)!.loss;
    assert.equal(r.history.length, 40);
    assert.deepEqual(r.code.shape, init.shape);
    assert.ok(last < 0.5 * first, `${space}: loss ${first} → ${last}`);
    assert.equal(r.finalMse.length, 4);
    // The final per-image MSE agrees with the rendered images, on [0, 1] images (a quarter of it on [-1, 1]).
    const m = tf.tidy(() => tf.mean(tf.squaredDifference(x, r.images)).dataSync()[0]) / 4;
    const mean = r.finalMse.reduce((a, b) => a + b, 0) / 4;
    assert.ok(Math.abs(m - mean) < 1e-6);
    tf.dispose([r.code, r.images]);
    assert.equal(tf.memory().numTensors, before, `${space}: tensors leaked`);
    init.dispose();
  }
  tf.dispose([yTrue, x, yStart]);
});

test('a batch is independent optimisations: image 0 refines the same alone or with others', () => {
  const rng = new Rng(11);
  const x = renderCode(G, 'y', G.toY(randn(rng, [3, d]) as tf.Tensor2D));
  const init = G.toY(randn(rng, [3, d]) as tf.Tensor2D);
  const all = refine(G, x, init, { steps: 10, lr: 0.02, beta: 0, space: 'y' });
  const one = refine(G, x.slice(0, 1), init.slice(0, 1), { steps: 10, lr: 0.02, beta: 0, space: 'y' });
  const diff = tf.max(tf.abs(tf.sub(all.code.slice(0, 1), one.code))).dataSync()[0];
  assert.ok(diff < 1e-3, `code of image 0 differs by ${diff}`);
  tf.dispose([x, init, all.code, all.images, one.code, one.images]);
});

test('bad arguments are refused with clear errors', () => {
  const x = tf.zeros([2, 16, 16, 1]) as tf.Tensor4D;
  const y = tf.zeros([2, d]);
  assert.throws(() => refine(G, x, y, { steps: 5, lr: 0.01, beta: 0, space: 'wplus' }), /initial code for space wplus must be \[2,\d+,16\], got \[2,16\]/);
  assert.throws(() => refine(G, x, y, { steps: 5, lr: 0.01, beta: 1, space: 'y' }), /needs a perceptual network/);
  assert.throws(() => refine(G, x, y, { steps: 5, lr: 0, beta: 0, space: 'y' }), /learning rate must be positive/);
  const mlp = new Generator(1, defaultGeneratorConfig({ resolution: 16, channels: 1, latentSize: d, widths: { base: 64, max: 16 }, mapping: 'mlp', mlpLayers: 2 }));
  assert.throws(() => yToSpace(mlp, 'z', y as tf.Tensor2D), /MLP mapping/);
  mlp.dispose();
  tf.dispose([x, y]);
});
