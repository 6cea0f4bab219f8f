// Reconstruction scoring on tiny checkpoints: the reconstructions against the library's one-batch
// g(f(x)) (LIA and the baseline, whose code is z), the quality means against a float64 JS reference
// for MSE and PSNR and against per-image SSIM, the distribution metrics against computeMetrics on the
// same images, the composed score against its parts; no leaks; precise errors.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../engine/backend.js';
import { toUnitRange, type Dataset } from '../data/index.js';
import { FeatureNet } from '../models/features.js';
import { makeTinyCheckpoints } from '../testing/tiny.js';
import * as lia from '../node.js';
import { ssim } from './image-quality.js';
import { computeMetrics } from './index.js';
import { distributionScores, imageQuality, reconstructImages, scoreImages, scoreReconstructions } from './reconstruction.js';

const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;
const dir = mkdtempSync(join(tmpdir(), 'lia-recon-'));
let ds: Dataset;
let model: lia.LiaModel;
let baseline: lia.LiaModel;
let decoderOnly: lia.LiaModel;
let net: FeatureNet;
let x: Float32Array;
const shape = { resolution: 16, channels: 1 };
const size = 16 * 16;

before(async () => {
  await initEngine({ backend: BACKEND, threads: 1 });
  const inv = await makeTinyCheckpoints(dir, 'invertible');
  const mlp = await makeTinyCheckpoints(dir, 'mlp');
  ds = inv.ds;
  model = await lia.loadModel(inv.encoder);
  baseline = await lia.loadModel(mlp.encoder);
  decoderOnly = await lia.loadModel(inv.decoder);
  net = new FeatureNet({ name: 'tinyeval', resolution: 16, channels: 1, widths: [4, 8, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 4, training: { dataset: 'none', role: 'eval' } });
  const n = ds.test.end - ds.test.start; // the 9 test images of shapes:96
  assert.equal(n, 9);
  x = toUnitRange(ds.pixels.subarray(ds.test.start * size, (ds.test.start + n) * size));
});

/** g(f(x)) of all images in one batch through the library's own reconstruct. */
async function reference(m: lia.LiaModel): Promise<Float32Array> {
  const xt = tf.tensor4d(x, [x.length / size, 16, 16, 1]);
  const xr = lia.reconstruct(m, xt);
  const out = (await xr.data()) as Float32Array;
  tf.dispose([xt, xr]);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test('reconstructImages: g(f(x)) in batches equals one batch of lia.reconstruct (LIA and the z-predicting baseline); progress; no leaks', async () => {
  for (const m of [model, baseline]) {
    const want = await reference(m);
    const seen: Array<[number, number]> = [];
    const before = tf.memory().numTensors;
    const { images, encoderSeconds } = await reconstructImages(m, x, shape, 4, (done, total) => seen.push([done, total]));
    assert.equal(tf.memory().numTensors, before, 'no tensor is left behind');
    assert.equal(images.length, x.length);
    // Batches of 4 against one batch of 9: the same network, float32 rounding apart.
    assert.ok(maxAbsDiff(images, want) < 1e-5, `max |difference| ${maxAbsDiff(images, want)}`);
    assert.ok(encoderSeconds > 0 && Number.isFinite(encoderSeconds));
    assert.deepEqual(seen, [[4, 9], [8, 9], [9, 9]]);
  }
});

test('imageQuality: MSE and PSNR on [0, 1] images against float64 JS, SSIM against per-image ssim; the batch size changes only rounding', async () => {
  const { images: xr } = await reconstructImages(model, x, shape, 4);
  const n = x.length / size;
  let mse = 0;
  let psnr = 0;
  for (let i = 0; i < n; i++) {
    let se = 0;
    for (let k = i * size; k < (i + 1) * size; k++) {
      const a = Math.min(1, Math.max(0, (x[k] + 1) / 2));
      const b = Math.min(1, Math.max(0, (xr[k] + 1) / 2));
      se += (a - b) ** 2;
    }
    mse += se / size / n;
    psnr += (10 * Math.log10(size / se)) / n;
  }
  const ssimMean = tf.tidy(() => tf.mean(ssim(tf.tensor4d(x, [n, 16, 16, 1]), tf.tensor4d(xr, [n, 16, 16, 1]))).dataSync()[0]);
  const before = tf.memory().numTensors;
  const q = imageQuality(x, xr, shape, 3);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(q.images, n);
  assert.ok(Math.abs(q.mse01 - mse) < 1e-6 * mse, `mse ${q.mse01} vs ${mse}`);
  assert.ok(Math.abs(q.psnr - psnr) < 1e-4, `psnr ${q.psnr} vs ${psnr}`);
  assert.ok(Math.abs(q.ssim - ssimMean) < 1e-5, `ssim ${q.ssim} vs ${ssimMean}`);
  const whole = imageQuality(x, xr, shape, n);
  assert.ok(Math.abs(whole.mse01 - q.mse01) < 1e-6 * mse && Math.abs(whole.ssim - q.ssim) < 1e-6);
});

test('distributionScores and scoreImages: FID and SWD of images in memory equal computeMetrics on the same batches', async () => {
  const { images: xr } = await reconstructImages(model, x, shape, 5);
  const n = x.length / size;
  const fake = async function* () {
    for (let i = 0; i < n; i += 4) yield tf.tensor4d(xr.slice(i * size, Math.min(n, i + 4) * size), [Math.min(4, n - i), 16, 16, 1]);
  };
  const want = await computeMetrics(['fid', 'swd'], { realTest: ds, featureNet: net, numImages: n, seed: 0, batch: 4, fakeImages: fake });
  const before = tf.memory().numTensors;
  const got = await distributionScores(xr, shape, { metrics: ['fid', 'swd'], realTest: ds, featureNet: net, batch: 4 });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(got.map((r) => [r.metric, r.value, r.values]), want.map((r) => [r.metric, r.value, r.values]));
  const scored = await scoreImages(x, xr, shape, { batch: 4, metrics: ['fid', 'swd'], realTest: ds, featureNet: net });
  assert.deepEqual({ ...scored, distributions: undefined }, { ...imageQuality(x, xr, shape, 4), distributions: undefined });
  assert.deepEqual(scored.distributions!.map((r) => r.value), want.map((r) => r.value));
  const plain = await scoreImages(x, xr, shape, { batch: 4 });
  assert.equal(plain.distributions, undefined, 'no metrics asked, none computed');
});

test('scoreReconstructions: its parts composed, with the encoder throughput; errors name what is missing', async () => {
  const before = tf.memory().numTensors;
  const { scores, reconstructions } = await scoreReconstructions(model, x, shape, { batch: 3, scoreBatch: 4, metrics: ['swd'], realTest: ds, featureNet: net });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(reconstructions, (await reconstructImages(model, x, shape, 3)).images);
  const q = imageQuality(x, reconstructions, shape, 4);
  assert.deepEqual([scores.images, scores.mse01, scores.psnr, scores.ssim], [q.images, q.mse01, q.psnr, q.ssim]);
  assert.ok(scores.encoder_images_per_sec! > 0 && Number.isFinite(scores.encoder_images_per_sec));
  const swd = await distributionScores(reconstructions, shape, { metrics: ['swd'], realTest: ds, featureNet: net, batch: 4 });
  assert.deepEqual(scores.distributions!.map((r) => r.value), swd.map((r) => r.value));

  await assert.rejects(scoreReconstructions(decoderOnly, x, shape, { batch: 4 }), /needs an encoder checkpoint.*decoder snapshot/);
  await assert.rejects(scoreReconstructions(model, x, shape, { batch: 4, metrics: ['fid'] }), /fid of reconstructions need the real data and an evaluation network/);
  await assert.rejects(reconstructImages(model, x.subarray(0, 100), shape, 4), /100 values are not a whole number of 16×16×1 images/);
  await assert.rejects(reconstructImages(model, x, shape, 0), /batch must be a positive integer, got 0/);
  assert.throws(() => imageQuality(x, x.subarray(0, size), shape, 4), /2304 original values but 256 reconstructed/);
});
