#!/usr/bin/env node
// The floor of the sample metrics on a dataset: FID and SWD of its real training images scored as if
// they were generated, against its test split (what a perfect generator of the training set would
// get; with a small test split, FID's covariance estimate keeps this well above 0).
//   node scripts/real-floor.mjs <data> <resolution> <evaluation network> [--threads N]   (after npm run build)
//   node scripts/real-floor.mjs emoji 64 results/features/emoji-eval.safetensors
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../dist/engine/backend.js';
import { loadDataset, evalBatches } from '../dist/data/index.js';
import { loadFeatureNet } from '../dist/io/network-files.js';
import { computeMetrics } from '../dist/metrics/index.js';

const [data, res, netPath] = process.argv.slice(2);
if (!data || !res || !netPath) {
  console.error('usage: node scripts/real-floor.mjs <data> <resolution> <evaluation network> [--threads N]');
  process.exit(2);
}
const ti = process.argv.indexOf('--threads');
await initEngine({ backend: 'torch', threads: ti > 0 ? Number(process.argv[ti + 1]) : 2 });
const ds = await loadDataset(data, { resolution: Number(res) });
const featureNet = await loadFeatureNet(netPath);
const nTrain = ds.train.end - ds.train.start;
const fakeImages = async function* () {
  for (const b of evalBatches(ds, 'train', 64)) yield tf.tensor4d(b.data, b.shape);
};
const results = await computeMetrics(['fid', 'swd'], { realTest: ds, featureNet, numImages: nTrain, seed: 0, batch: 64, fakeImages });
for (const r of results) console.log(JSON.stringify({ data, resolution: Number(res), reference: `train (${nTrain} images) as fake vs test`, metric: r.metric, value: r.value, values: r.values, featureNet: r.featureNet }));
