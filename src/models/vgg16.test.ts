// VGG16 loading: a fake torchvision-named file with random weights of the real shapes is written,
// loaded and checked against a direct tf.conv2d; the same weights in Keras naming give the same
// features; shapes, names and preprocessing; no leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { type TensorMap } from '../io/safetensors.js';
import { writeSafetensorsFile } from '../io/safetensors-file.js';
import { Rng } from '../util/rng.js';
import { Vgg16, VGG16_CONVS, VGG16_LAYERS, canonicalVggLayer } from './vgg16.js';
import { loadVgg16 } from '../io/network-files.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;

/** torchvision-named random weights [out, in, 3, 3] (He-scaled so activations stay finite) and the same weights in Keras naming. */
function fakeWeights(seed: number): { torch: TensorMap; keras: TensorMap } {
  const rng = new Rng(seed);
  const torch: TensorMap = {};
  const keras: TensorMap = {};
  for (const [b, k, cin, cout, index] of VGG16_CONVS) {
    const w = new Float32Array(cout * cin * 9);
    const std = Math.sqrt(2 / (cin * 9));
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
    const bias = Float32Array.from({ length: cout }, () => rng.normal() * 0.1);
    torch[`features.${index}.weight`] = { dtype: 'F32', shape: [cout, cin, 3, 3], data: w };
    torch[`features.${index}.bias`] = { dtype: 'F32', shape: [cout], data: bias };
    // [out, in, kh, kw] → [kh, kw, in, out], by explicit index arithmetic.
    const hwio = new Float32Array(w.length);
    for (let o = 0; o < cout; o++) for (let c = 0; c < cin; c++) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) hwio[((y * 3 + x) * cin + c) * cout + o] = w[((o * cin + c) * 3 + y) * 3 + x];
    keras[`block${b}_conv${k}/kernel`] = { dtype: 'F32', shape: [3, 3, cin, cout], data: hwio };
    keras[`block${b}_conv${k}/bias`] = { dtype: 'F32', shape: [cout], data: bias };
  }
  // A classifier tensor, as a full torchvision state dict has: ignored.
  torch['classifier.6.bias'] = { dtype: 'F32', shape: [3], data: new Float32Array(3) };
  return { torch, keras };
}

test('VGG16: torchvision and Keras names load the same network; conv1_1 equals a direct conv; named layers', async () => {
  await initEngine({ backend: BACKEND });
  const { torch, keras } = fakeWeights(1);
  const dir = await mkdtemp(join(tmpdir(), 'lia-vgg-'));
  try {
    const path = join(dir, 'vgg16.safetensors');
    await writeSafetensorsFile(path, torch);
    const before = tf.memory().numTensors;
    const vt = await loadVgg16(path);
    const vk = Vgg16.fromSafetensors(keras, { preprocessing: 'torch' });
    assert.equal(vt.naming, 'torchvision');
    assert.equal(vt.preprocessing, 'torch');
    assert.equal(vk.naming, 'keras');
    const vc = Vgg16.fromSafetensors(keras);
    assert.equal(vc.preprocessing, 'caffe');
    vc.dispose();

    const rng = new Rng(2);
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 32 * 32 * 3 }, () => rng.uniform(-1, 1)), [2, 32, 32, 3]);
    const layers = ['conv1_1', 'conv4_3', 'block4_conv3', 'pool5'];
    const ft = vt.features(x, layers);
    const fk = vk.features(x, layers);
    assert.deepEqual(Object.keys(ft).sort(), [...layers].sort());
    assert.deepEqual(ft.conv1_1.shape, [2, 32, 32, 64]);
    assert.deepEqual(ft.conv4_3.shape, [2, 4, 4, 512]);
    assert.deepEqual(ft.pool5.shape, [2, 1, 1, 512]);
    assert.deepEqual(await ft.conv4_3.data(), await ft.block4_conv3.data());

    // conv1_1 by hand: torchvision preprocessing, the Keras-layout filter, conv, bias, ReLU.
    const ref = tf.tidy(() => {
      const pre = tf.div(tf.sub(tf.mul(tf.add(x, 1), 0.5), tf.tensor1d([0.485, 0.456, 0.406])), tf.tensor1d([0.229, 0.224, 0.225]));
      const w = keras['block1_conv1/kernel'];
      const b = keras['block1_conv1/bias'];
      return tf.relu(tf.add(tf.conv2d(pre as tf.Tensor4D, tf.tensor4d(w.data as Float32Array, [3, 3, 3, 64]), 1, 'same'), tf.tensor1d(b.data as Float32Array)));
    });
    const got = await ft.conv1_1.data();
    const want = await ref.data();
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `conv1_1[${i}] ${got[i]} vs ${want[i]}`);
    // Both namings, same numbers all the way down (same weights, same preprocessing).
    const [a, b] = [await ft.pool5.data(), await fk.pool5.data()];
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(b[i])), `pool5[${i}] ${a[i]} vs ${b[i]}`);

    tf.dispose([x, ref, ...Object.values(ft), ...Object.values(fk)]);
    vt.dispose();
    vk.dispose();
    assert.equal(tf.memory().numTensors, before, 'loading, features and dispose leave no tensors');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('VGG16: caffe preprocessing, grey input, names and precise errors', async () => {
  await initEngine({ backend: BACKEND });
  const { torch } = fakeWeights(3);
  const v = Vgg16.fromSafetensors(torch, { preprocessing: 'caffe' });
  const grey = tf.tensor4d([-1, 0, 0.5, 1], [1, 2, 2, 1]);
  const pre = v.preprocess(grey);
  const p = await pre.data();
  // pixel 0: x = −1 → 0 in [0, 255], minus the BGR mean, channels B, G, R.
  assert.deepEqual(Array.from(p.slice(0, 3)).map((t) => Math.round(t * 1000) / 1000), [-103.939, -116.779, -123.68]);
  assert.ok(Math.abs(p[9] - (255 - 103.939)) < 1e-3);
  tf.dispose([grey, pre]);
  v.dispose();

  assert.equal(canonicalVggLayer('block3_conv2'), 'conv3_2');
  assert.equal(canonicalVggLayer('block2_pool'), 'pool2');
  assert.equal(VGG16_LAYERS.length, 18);
  assert.throws(() => Vgg16.fromSafetensors({ 'x.weight': torch['features.0.bias'] }), /not a VGG16/);
  const { ['features.21.weight']: _gone, ...partial } = torch;
  assert.throws(() => Vgg16.fromSafetensors(partial, { source: 'f.safetensors' }), /f\.safetensors: VGG16 \(torchvision naming\) lacks features\.21\.weight/);
  const wrong = { ...torch, 'features.0.weight': { dtype: 'F32' as const, shape: [64, 3, 5, 5], data: new Float32Array(64 * 3 * 25) } };
  assert.throws(() => Vgg16.fromSafetensors(wrong), /features\.0\.weight: expected shape \[64, 3, 3, 3\]/);
  const v2 = Vgg16.fromSafetensors(torch);
  const x = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
  assert.throws(() => v2.features(x, ['conv6_1']), /unknown layer 'conv6_1'/);
  x.dispose();
  v2.dispose();
});
