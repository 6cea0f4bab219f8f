// Stage 2: exact resume (cpu), no leaks over 100 encoder steps and repeated encodes, the baseline
// predicts z through the MLP mapping, and checkpoints of the wrong kind are refused clearly.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { loadDataset, type Dataset } from '../data/index.js';
import { resolveDecoderConfig } from './decoder-config.js';
import { resolveEncoderConfig } from './encoder-config.js';
import { DecoderTrainer } from './stage1.js';
import { EncoderTrainer, loadEncoder, type EncoderStepLosses } from './stage2.js';
import { reconstruct } from '../models/checkpoints.js';
import { FeatureNet } from '../models/features.js';
import { InvertibleNetwork } from '../models/invertible.js';
import { saveFeatureNet } from '../io/network-files.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-stage2-'));
const decoders: Record<string, string> = {};
let ds: Dataset;
let perceptual: FeatureNet;
const percPath = join(dir, 'perc.safetensors');
const evalPath = join(dir, 'eval.safetensors');

before(async () => {
  await initEngine({ backend: 'cpu' });
  ds = await loadDataset('shapes:96', { resolution: 16, channels: 1 });
  for (const mapping of ['invertible', 'mlp'] as const) {
    const cfg = resolveDecoderConfig({ data: 'shapes:96', resolution: 16, channels: 1, batch: 4, latentSize: 16, widthBase: 64, widthMax: 16, phiBlocks: 2, mlpLayers: 2, mapping });
    const t = new DecoderTrainer(cfg, ds);
    await t.trainStep();
    decoders[mapping] = join(dir, `dec-${mapping}.safetensors`);
    await t.saveSnapshot(decoders[mapping]);
    t.dispose();
  }
  perceptual = new FeatureNet({ name: 'tinyperc', resolution: 16, channels: 1, widths: [4, 8, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 3, training: { dataset: 'none', role: 'perceptual' } });
  await saveFeatureNet(perceptual, percPath);
  const evalNet = new FeatureNet({ name: 'tinyeval', resolution: 16, channels: 1, widths: [4, 8, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 4, training: { dataset: 'none', role: 'eval' } });
  await saveFeatureNet(evalNet, evalPath);
  evalNet.dispose();
});

function encCfg(mapping: 'invertible' | 'mlp') {
  return { ...resolveEncoderConfig({ decoder: decoders[mapping], batch: 4, kimg: 1, widthBase: 64, widthMax: 16, perceptualNet: percPath, r1Interval: 2 }), beta1: 0.5 };
}

test('encoder resume continues exactly (cpu); the baseline predicts z through the MLP mapping', async () => {
  await initEngine({ backend: 'cpu' });
  for (const mapping of ['invertible', 'mlp'] as const) {
    const a = await EncoderTrainer.create(encCfg(mapping), ds, perceptual);
    assert.equal(a.predicts, mapping === 'mlp' ? 'z' : 'y');
    for (let i = 0; i < 2; i++) await a.trainStep();
    const snap = join(dir, `enc-${mapping}.safetensors`);
    await a.saveSnapshot(snap);
    const tail: EncoderStepLosses[] = [];
    for (let i = 0; i < 3; i++) tail.push(await a.trainStep());
    a.dispose();
    const b = await EncoderTrainer.resume(snap, ds, perceptual);
    const again: EncoderStepLosses[] = [];
    for (let i = 0; i < 3; i++) again.push(await b.trainStep());
    b.dispose();
    assert.deepEqual(again, tail, `${mapping}: losses after resume differ`);
    assert.ok(tail.every((l) => l.mse > 0 && l.perceptual > 0));
  }
});

test('a resumed encoder run takes a new length and learning rate: the schedule lr × decay^quarter is recomputed', async () => {
  await initEngine({ backend: 'cpu' });
  const snap = join(dir, 'enc-invertible.safetensors'); // 2 steps × 4 images of a 1-kimg run
  const b = await EncoderTrainer.resume(snap, ds, perceptual, { kimg: 0.01, lr: 3e-4, lrDecay: 0.5 });
  await b.trainStep(); // 8 of 10 images seen: quarter 3
  assert.ok(Math.abs(b.eOpt.config.lr - 3e-4 * 0.5 ** 3) < 1e-12, `lr ${b.eOpt.config.lr}, expected ${3e-4 * 0.5 ** 3}`);
  b.dispose();
  const c = await EncoderTrainer.resume(snap, ds, perceptual);
  await c.trainStep(); // 8 of 1000 images: quarter 0, the saved lr
  assert.equal(c.eOpt.config.lr, encCfg('invertible').lr);
  c.dispose();
});

test('100 encoder steps and repeated reconstructions leak no tensors (wasm)', async () => {
  await initEngine({ backend: 'wasm' });
  const t = await EncoderTrainer.create(encCfg('invertible'), ds, perceptual);
  await t.trainStep();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) await t.trainStep();
  assert.equal(tf.memory().numTensors, before);
  assert.ok(t.gradStats.size > 0 && [...t.gradStats.values()].every((s) => s.n === 101 && s.mean > 0));
  t.dispose();
  const { E, G, config } = await loadEncoder(join(dir, 'enc-invertible.safetensors'));
  const x = tf.randomUniform([8, 16, 16, 1], -1, 1) as tf.Tensor4D;
  tf.dispose(reconstruct(E, G, config.predicts, x));
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) tf.dispose(reconstruct(E, G, config.predicts, x));
  assert.equal(tf.memory().numTensors, n0);
  tf.dispose(x);
  E.dispose();
  G.dispose();
});

test('commands refuse checkpoints and networks of the wrong kind, saying what was expected', () => {
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--backend', 'cpu'], { encoding: 'utf8', timeout: 120_000 });
  let r = run('encode', '--ckpt', decoders.invertible, '--out', join(dir, 'x.safetensors'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /expected an encoder checkpoint .* found a decoder snapshot/);
  r = run('train-encoder', '--decoder', join(dir, 'enc-invertible.safetensors'), '--perceptual-net', percPath);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /expected a decoder snapshot .* found kind 'lia-encoder'/);
  r = run('train-encoder', '--decoder', decoders.invertible, '--perceptual-net', evalPath, '--kimg', '0.004');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is an evaluation network \(role eval\)/);
  r = run('train-encoder', '--decoder', decoders.mlp, '--perceptual-net', percPath, '--latent', 'wplus');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /baseline predicts one z/);
});

test("the encoder's output is standardised to the code distribution it predicts, and checkpoints keep it", async () => {
  await initEngine({ backend: 'cpu' });
  const t = await EncoderTrainer.create(encCfg('invertible'), ds, perceptual);
  // An independent estimate of y = Φ⁻¹(z) from other samples of z.
  const y = t.G.toY(tf.randomNormal([20000, 16], 0, 1, 'float32', 99) as tf.Tensor2D);
  const { mean, variance } = tf.moments(y, 0);
  const m = await mean.data();
  const s = Array.from(await variance.data(), Math.sqrt);
  const cm = await t.E.codeMean.data();
  const cs = await t.E.codeStd.data();
  for (let j = 0; j < 16; j++) {
    assert.ok(Math.abs(cm[j] - m[j]) < 6 * (s[j] / 100), `dim ${j}: mean ${cm[j]} vs ${m[j]}`);
    assert.ok(Math.abs(cs[j] / s[j] - 1) < 0.05, `dim ${j}: std ${cs[j]} vs ${s[j]}`);
  }
  assert.ok(Math.max(...Array.from(cm, Math.abs)) > 0, 'the statistics were set');
  const snap = join(dir, 'enc-stats.safetensors');
  await t.saveSnapshot(snap);
  const { E, G } = await loadEncoder(snap);
  assert.deepEqual(await E.codeMean.data(), cm);
  assert.deepEqual(await E.codeStd.data(), cs);
  tf.dispose([y, mean, variance]);
  E.dispose();
  G.dispose();
  t.dispose();
  const b = await EncoderTrainer.create(encCfg('mlp'), ds, perceptual);
  assert.deepEqual(Array.from(await b.E.codeMean.data()), new Array(16).fill(0));
  assert.deepEqual(Array.from(await b.E.codeStd.data()), new Array(16).fill(1));
  b.dispose();
});

test('the VAE-style encoder samples z, adds its KL term, resumes exactly; on a LIA decoder it decodes g(Φ⁻¹(z))', async () => {
  await initEngine({ backend: 'cpu' });
  const cfg = { ...encCfg('mlp'), kl: 0.01 };
  const a = await EncoderTrainer.create(cfg, ds, perceptual);
  assert.equal(a.E.config.variational, true);
  const first = await a.trainStep();
  assert.ok(first.kl! > 0 && Number.isFinite(first.kl!), `kl ${first.kl}`);
  const snap = join(dir, 'enc-vae.safetensors');
  await a.saveSnapshot(snap);
  const tail = [await a.trainStep(), await a.trainStep()];
  a.dispose();
  const b = await EncoderTrainer.resume(snap, ds, perceptual);
  const again = [await b.trainStep(), await b.trainStep()];
  b.dispose();
  assert.deepEqual(again, tail);
  const { E } = await loadEncoder(snap);
  const x = tf.randomUniform([2, 16, 16, 1], -1, 1) as tf.Tensor4D;
  const mu = E.forward(x);
  assert.deepEqual(mu.shape, [2, 16]);
  tf.dispose([x, mu]);
  E.dispose();
  // On the Φ decoder (Figure 12 without a confound): it predicts z, and its reconstruction is
  // g(Φ⁻¹(μ)) — the synthesis of y = Φ⁻¹(z), computed here through the inverse directly.
  const v = await EncoderTrainer.create({ ...encCfg('invertible'), kl: 0.01 }, ds, perceptual);
  assert.equal(v.predicts, 'z');
  const l = await v.trainStep();
  assert.ok(l.kl! > 0 && Number.isFinite(l.kl!), `kl ${l.kl}`);
  const x2 = tf.randomUniform([2, 16, 16, 1], -1, 1) as tf.Tensor4D;
  const viaTrainer = reconstruct(v.E, v.G, v.predicts, x2);
  const direct = tf.tidy(() => v.G.render((v.G.mapping as InvertibleNetwork).inverse(v.E.forward(x2) as tf.Tensor2D), 'y'));
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(viaTrainer, direct))).dataSync()[0]);
  assert.ok(diff < 1e-5, `g(Φ⁻¹(μ)) differs by ${diff}`);
  tf.dispose([x2, viaTrainer, direct]);
  v.dispose();
  await assert.rejects(EncoderTrainer.create({ ...encCfg('invertible'), kl: 0.01, latent: 'wplus' }, ds, perceptual), /cannot be a W\+ encoder/);
});
