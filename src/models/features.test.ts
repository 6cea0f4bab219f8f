// The feature network: layer shapes at 16 and 32 px, grey and RGB; gradients inside tf.grad/tf.tidy
// against central differences; safetensors round trip; no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { Rng } from '../util/rng.js';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import { FeatureNet, FEATURE_LAYERS, validateFeatureNetConfig, type FeatureNetConfig } from './features.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

function config(over: Partial<FeatureNetConfig> = {}): FeatureNetConfig {
  return validateFeatureNetConfig({ name: 'testnet', resolution: 16, channels: 1, widths: [4, 6, 8], fcWidth: 10, classNames: ['a', 'b', 'c'], seed: 3, ...over });
}

function randomImages(rng: Rng, shape: [number, number, number, number]): tf.Tensor4D {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: n }, () => rng.uniform(-1, 1)), shape);
}

test('feature net: every layer has the documented shape (16 px grey, 32 px RGB)', async () => {
  await initEngine({ backend: BACKEND });
  for (const [res, ch] of [[16, 1], [32, 3]] as const) {
    const net = new FeatureNet(config({ resolution: res, channels: ch }));
    const x = randomImages(new Rng(1), [2, res, res, ch]);
    const before = tf.memory().numTensors;
    const f = net.features(x);
    const expected: Record<string, number[]> = {
      conv1: [2, res, res, 4],
      conv2: [2, res, res, 4],
      pool1: [2, res / 2, res / 2, 4],
      conv3: [2, res / 2, res / 2, 6],
      conv4: [2, res / 2, res / 2, 6],
      pool2: [2, res / 4, res / 4, 6],
      conv5: [2, res / 4, res / 4, 8],
      pool: [2, (res / 8) ** 2 * 8],
      fc: [2, 10],
      logits: [2, 3],
    };
    assert.deepEqual(Object.keys(f).sort(), [...FEATURE_LAYERS].sort());
    for (const name of FEATURE_LAYERS) {
      assert.deepEqual(f[name].shape, expected[name], `${res} px ${name}`);
      assert.equal(net.layerWidth(name), expected[name][expected[name].length - 1], `${name} width`);
    }
    assert.equal(tf.memory().numTensors, before + FEATURE_LAYERS.length, 'only the returned activations remain');
    tf.dispose(Object.values(f));
    // Only what was asked for, and the penultimate shortcut.
    const some = net.features(x, ['conv2', 'pool']);
    assert.deepEqual(Object.keys(some).sort(), ['conv2', 'pool']);
    tf.dispose(Object.values(some));
    const fc = net.penultimate(x);
    assert.deepEqual(fc.shape, [2, 10]);
    fc.dispose();
    assert.equal(tf.memory().numTensors, before);
    assert.equal(net.numParams, Object.values(net.params).reduce((s, v) => s + v.size, 0));
    x.dispose();
    net.dispose();
  }
});

test('feature net: conv1 and fc match direct tfjs computations', async () => {
  await initEngine({ backend: BACKEND });
  const net = new FeatureNet(config());
  const x = randomImages(new Rng(2), [3, 16, 16, 1]);
  const f = net.features(x, ['conv1', 'pool', 'fc']);
  const [c1, fc] = tf.tidy(() => {
    const p = net.params;
    const c1 = tf.leakyRelu(tf.add(tf.conv2d(x, p['conv1.weight'] as tf.Tensor4D, 1, 'same'), p['conv1.bias']), 0.2);
    const fc = tf.leakyRelu(tf.add(tf.matMul(f.pool as tf.Tensor2D, p['fc.weight'] as tf.Tensor2D), p['fc.bias']), 0.2);
    return [c1, fc];
  });
  assert.deepEqual(await f.conv1.data(), await c1.data());
  assert.deepEqual(await f.fc.data(), await fc.data());
  tf.dispose([c1, fc, x, ...Object.values(f)]);
  net.dispose();
});

test('feature net: input gradients inside tf.tidy match central differences; no leaks', async () => {
  await initEngine({ backend: BACKEND });
  const net = new FeatureNet(config());
  const rng = new Rng(4);
  const x = randomImages(rng, [2, 16, 16, 1]);
  const v = randomImages(rng, [2, 16, 16, 1]);
  const before = tf.memory().numTensors;
  // A perceptual-style loss on several layers, as the encoder will use it.
  const loss = (im: tf.Tensor) =>
    tf.tidy(() => {
      const f = net.features(im as tf.Tensor4D, ['conv2', 'conv4', 'fc']);
      return tf.addN([tf.mean(tf.square(f.conv2)), tf.mean(tf.square(f.conv4)), tf.mean(tf.square(f.fc))]) as tf.Scalar;
    });
  const g = tf.tidy(() => tf.grad(loss)(x));
  const dot = tf.tidy(() => tf.sum(tf.mul(g, v)));
  const analytic = (await dot.data())[0];
  const h = 1e-2;
  const fd = tf.tidy(() => tf.div(tf.sub(loss(tf.add(x, tf.mul(h, v))), loss(tf.sub(x, tf.mul(h, v)))), 2 * h));
  const numeric = (await fd.data())[0];
  assert.ok(Math.abs(analytic - numeric) <= 2e-2 * Math.abs(numeric) + 1e-6, `directional derivative ${analytic} vs finite difference ${numeric}`);
  // Weight gradients through the same call (the trainer's path).
  const { grads, value } = tf.variableGrads(() => loss(x));
  // Every weight up to fc gets one (the logits layer is not on this loss's path).
  assert.equal(Object.keys(grads).length, Object.keys(net.params).filter((k) => !k.startsWith('logits')).length);
  tf.dispose([g, dot, fd, value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, v]);
  net.dispose();
});

test('feature net: safetensors round trip keeps weights, config and outputs', async () => {
  await initEngine({ backend: BACKEND });
  const net = new FeatureNet(config({ training: { dataset: 'toy', role: 'eval', testAccuracy: 0.5 } }));
  const bytes = encodeSafetensors(await net.weights(), net.metadata());
  const { tensors, metadata } = decodeSafetensors(bytes);
  const back = FeatureNet.fromSafetensors(tensors, metadata, 'mem');
  assert.deepEqual(back.config, net.config);
  const x = randomImages(new Rng(5), [2, 16, 16, 1]);
  const [a, b] = [net.forward(x), back.forward(x)];
  assert.deepEqual(await a.data(), await b.data());
  tf.dispose([a, b, x]);
  assert.throws(() => FeatureNet.fromSafetensors(tensors, { ...metadata, kind: 'other' }, 'mem'), /expected a feature network/);
  const { ['fc.bias']: _dropped, ...missing } = tensors;
  assert.throws(() => FeatureNet.fromSafetensors(missing, metadata, 'mem'), /lack fc\.bias/);
  // Same seed, same initial weights; another seed, others.
  const again = new FeatureNet(config());
  const other = new FeatureNet(config({ seed: 4 }));
  assert.deepEqual(await again.params['conv3.weight'].data(), await net.params['conv3.weight'].data());
  assert.notDeepEqual(await other.params['conv3.weight'].data(), await net.params['conv3.weight'].data());
  for (const n of [net, back, again, other]) n.dispose();
});

test('feature net: config validation names the field', () => {
  assert.throws(() => config({ resolution: 24 }), /resolution/);
  assert.throws(() => config({ resolution: 8 }), /resolution/);
  assert.throws(() => config({ channels: 2 as 1 }), /channels/);
  assert.throws(() => config({ widths: [4, 4] as unknown as [number, number, number] }), /widths/);
  assert.throws(() => config({ classNames: ['one'] }), /class names/);
  assert.throws(() => config({ name: 'has space' }), /name/);
});
