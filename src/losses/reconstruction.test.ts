// Stage-2 reconstruction losses against independent values: the pixel loss on a hand-computed pair,
// the perceptual loss of a tiny feature network against its activations recomputed in float64 plain
// JS from the same weights (conv 3×3 'same' + bias, leaky ReLU 0.2, 2×2 average pooling). cpu backend.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { avgPoolRef, conv2dRef } from '../engine/reference.js';
import { FeatureNet } from '../models/features.js';
import type { TensorMap } from '../io/safetensors.js';
import { Rng } from '../util/rng.js';
import { perceptualLoss, pixelLoss } from './reconstruction.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

test('pixel loss is the mean squared difference over every pixel of the batch (hand-computed 0.71875)', () => {
  // image 1: x − x̃ = [−0.5, 0, −1, 2] → squares 0.25, 0, 1, 4 (sum 5.25);
  // image 2: x − x̃ = [0.5, 0.5, 0, 0] → squares 0.25, 0.25, 0, 0 (sum 0.5). Mean of the 8: 5.75 / 8.
  const x = tf.tensor4d([0, 0.5, -1, 1, 1, 0, 0.5, -0.5], [2, 2, 2, 1]);
  const xr = tf.tensor4d([0.5, 0.5, 0, -1, 0.5, -0.5, 0.5, -0.5], [2, 2, 2, 1]);
  const got = pixelLoss(x, xr).dataSync()[0];
  assert.ok(Math.abs(got - 5.75 / 8) < 1e-7, `pixel loss ${got}, expected 0.71875`);
  assert.equal(pixelLoss(x, x).dataSync()[0], 0);
  tf.dispose([x, xr]);
});

const R = 16;
const WIDTHS: [number, number, number] = [2, 3, 3];

/** Random weights and non-zero biases, so that the bias terms count in the comparison. */
function tinyNetWeights(seed: number): TensorMap {
  const rng = new Rng(seed);
  const shapes: Record<string, number[]> = {
    'conv1.weight': [3, 3, 1, WIDTHS[0]], 'conv1.bias': [WIDTHS[0]],
    'conv2.weight': [3, 3, WIDTHS[0], WIDTHS[0]], 'conv2.bias': [WIDTHS[0]],
    'conv3.weight': [3, 3, WIDTHS[0], WIDTHS[1]], 'conv3.bias': [WIDTHS[1]],
    'conv4.weight': [3, 3, WIDTHS[1], WIDTHS[1]], 'conv4.bias': [WIDTHS[1]],
    'conv5.weight': [3, 3, WIDTHS[1], WIDTHS[2]], 'conv5.bias': [WIDTHS[2]],
    'fc.weight': [(R / 8) ** 2 * WIDTHS[2], 4], 'fc.bias': [4],
    'logits.weight': [4, 2], 'logits.bias': [2],
  };
  const out: TensorMap = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out[name] = { dtype: 'F32', shape, data: Float32Array.from({ length: n }, () => 0.4 * rng.normal()) };
  }
  return out;
}

/** conv1 → conv2 → pool1 of the feature network, in float64. */
function featuresRef(w: TensorMap, x: Float32Array, n: number): { conv1: Float64Array; pool1: Float64Array } {
  const lrelu = (v: number) => (v > 0 ? v : 0.2 * v);
  const conv = (name: string, input: Float64Array | Float32Array, cin: number, cout: number) => {
    const o = conv2dRef(input, [n, R, R, cin], w[`${name}.weight`].data as Float32Array, [3, 3, cin, cout], [1, 1], [1, 1], [R, R]);
    const b = w[`${name}.bias`].data as Float32Array;
    return o.map((v, i) => lrelu(v + b[i % cout]));
  };
  const conv1 = conv('conv1', x, 1, WIDTHS[0]);
  const conv2 = conv('conv2', conv1, WIDTHS[0], WIDTHS[0]);
  return { conv1, pool1: avgPoolRef(conv2, [n, R, R, WIDTHS[0]], [2, 2], [2, 2]) };
}

test('perceptual loss is the mean squared difference of the chosen layer, as recomputed in float64', () => {
  const weights = tinyNetWeights(5);
  const net = new FeatureNet({ name: 'tiny', resolution: R, channels: 1, widths: WIDTHS, fcWidth: 4, classNames: ['a', 'b'], seed: 0 }, weights);
  const rng = new Rng(6);
  const n = 3;
  const xa = Float32Array.from({ length: n * R * R }, () => Math.tanh(rng.normal()));
  const xb = Float32Array.from(xa, (v) => v + 0.3 * rng.normal());
  const fa = featuresRef(weights, xa, n);
  const fb = featuresRef(weights, xb, n);
  const x = tf.tensor4d(xa, [n, R, R, 1]);
  const xr = tf.tensor4d(xb, [n, R, R, 1]);
  for (const layer of ['conv1', 'pool1'] as const) {
    let want = 0;
    for (let i = 0; i < fa[layer].length; i++) want += (fa[layer][i] - fb[layer][i]) ** 2;
    want /= fa[layer].length;
    const got = perceptualLoss(net, layer, x, xr).dataSync()[0];
    // Float32 convolutions of 9–18 terms against float64: measured ≤ 8e-8 relative.
    assert.ok(Math.abs(got - want) <= 1e-6 * want, `${layer}: ${got}, float64 ${want}`);
    assert.equal(perceptualLoss(net, layer, x, x).dataSync()[0], 0, `${layer}: identical images`);
  }
  tf.dispose([x, xr]);
  net.dispose();
});
