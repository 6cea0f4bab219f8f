// Stage 1 with discriminator augmentation (src/augment): a resumed ADA run restores p, the
// controller's partial sums and the augmentation stream exactly (the losses after the snapshot
// equal an uninterrupted run); p is reported every step; DiffAugment trains; no tensor leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { loadDataset } from '../data/index.js';
import { resolveDecoderConfig, type DecoderTrainConfig } from './decoder-config.js';
import { DecoderTrainer, type StepLosses } from './stage1.js';

const TINY: Partial<DecoderTrainConfig> = {
  data: 'shapes:96', resolution: 8, batch: 4, kimg: 1, latentSize: 16, widthBase: 64, widthMax: 16,
  phiBlocks: 2, mlpLayers: 2, r1Interval: 2, snapshotKimg: 1, emaKimg: 0.01, seed: 3,
};

test('an ADA run resumes exactly: p, the controller and the augmentation stream (cpu)', async () => {
  await initEngine({ backend: 'cpu' });
  const dir = mkdtempSync(join(tmpdir(), 'lia-ada-resume-'));
  // A fast controller (p moves 0.004 per adjustment of 2 steps) that starts mid-range.
  const cfg = resolveDecoderConfig({ ...TINY, augment: 'ada', augmentP: 0.5, adaInterval: 2, adaKimg: 2 });
  const ds = await loadDataset(cfg.data, { resolution: 8 });
  const a = new DecoderTrainer(cfg, ds);
  const head: StepLosses[] = [];
  for (let i = 0; i < 5; i++) head.push(await a.trainStep()); // ends mid-interval
  assert.ok(head.every((l) => l.augment_p !== undefined && l.d_real_sign !== undefined));
  assert.ok(head.some((l) => l.augment_p !== 0.5), 'p never moved');
  const snap = join(dir, 'snap.safetensors');
  await a.saveSnapshot(snap);
  const pSaved = a.augment.p;
  const tail: StepLosses[] = [];
  const before = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) tail.push(await a.trainStep());
  assert.equal(tf.memory().numTensors, before, 'tensors leaked over 4 ADA steps');
  a.dispose();

  const b = await DecoderTrainer.resume(snap, ds);
  assert.equal(b.augment.mode, 'ada');
  assert.equal(b.augment.p, pSaved);
  const resumed: StepLosses[] = [];
  for (let i = 0; i < 4; i++) resumed.push(await b.trainStep());
  b.dispose();
  assert.deepEqual(resumed, tail, 'the steps after resume differ');
});

test('DiffAugment and a fixed p train without leaks and report p; off reports nothing', async () => {
  await initEngine({ backend: 'cpu' });
  const ds = await loadDataset(TINY.data!, { resolution: 8 });
  for (const [augment, p] of [['diffaugment', 1], ['fixed', 0.7], ['off', undefined]] as const) {
    const t = new DecoderTrainer(resolveDecoderConfig({ ...TINY, augment, augmentP: augment === 'fixed' ? 0.7 : undefined }), ds);
    await t.trainStep();
    const before = tf.memory().numTensors;
    const l = await t.trainStep();
    assert.equal(tf.memory().numTensors, before, `${augment}: tensors leaked`);
    assert.equal(l.augment_p, p, augment);
    assert.equal(l.d_real_sign, undefined);
    t.dispose();
  }
  assert.throws(() => resolveDecoderConfig({ ...TINY, augment: 'ada', augmentPipe: 'bgcfn' }), /invalid augmentPipe: "bgcfn" \(expected blit, geom, color, bg, bgc\)/);
});
