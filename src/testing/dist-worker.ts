// One rank of a data-parallel test (train/data-parallel.test.ts): resumes a decoder or encoder
// snapshot in a process group, takes `steps` training steps, writes the state after the steps listed
// in saveAfter (`<out>-r<rank>-s<step>.safetensors`), the losses of every step and the live tensor
// count after each (`<out>-r<rank>-losses.json`, `<out>-r<rank>-tensors.json`).
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { loadDataset } from '../data/index.js';
import { DataParallel, resumedBatch } from '../train/data-parallel.js';
import { DecoderTrainer } from '../train/stage1.js';
import { EncoderTrainer } from '../train/stage2.js';
import { readSnapshot } from '../train/snapshot.js';
import { loadFeatureNet } from '../io/network-files.js';
import { startFromRankZero } from '../cli/distributed.js';

export interface WorkerArgs {
  kind: 'decoder' | 'encoder';
  snapshot: string;
  data: string;
  resolution: number;
  channels?: 1 | 3;
  perceptualNet?: string;
  url: string;
  rank: number;
  worldSize: number;
  steps: number;
  saveAfter: number[];
  out: string;
}

const a = JSON.parse(process.argv[2]) as WorkerArgs;
await initEngine({ backend: 'torch', threads: 1 });
const parallel = DataParallel.init({ url: a.url, rank: a.rank, worldSize: a.worldSize, backend: 'gloo', timeoutMs: 60_000 });
const snap = await readSnapshot(a.snapshot);
const savedBatch = (snap.config as { train: { batch: number } }).train.batch;
const { batch } = resumedBatch(savedBatch, (snap.state as { worldSize?: number }).worldSize ?? 1, a.worldSize);
const ds = await loadDataset(a.data, { resolution: a.resolution, channels: a.channels });
const trainer =
  a.kind === 'decoder'
    ? await DecoderTrainer.resume(a.snapshot, ds, { batch }, parallel)
    : await EncoderTrainer.resume(a.snapshot, ds, await loadFeatureNet(a.perceptualNet!), { batch }, parallel);
await startFromRankZero(parallel, trainer);
const losses: object[] = [];
const tensors: number[] = [];
for (let s = 1; s <= a.steps; s++) {
  losses.push(await trainer.trainStep());
  tensors.push(tf.memory().numTensors);
  if (a.saveAfter.includes(s)) await trainer.saveSnapshot(`${a.out}-r${a.rank}-s${s}.safetensors`);
}
writeFileSync(`${a.out}-r${a.rank}-losses.json`, JSON.stringify(losses));
writeFileSync(`${a.out}-r${a.rank}-tensors.json`, JSON.stringify(tensors));
trainer.dispose();
parallel.destroy(true);
