// Trains the feature network (src/models/features.ts) as a classifier: Adam + softmax cross-entropy
// on the train split, test accuracy on the test split, the result written atomically to safetensors
// with its config and provenance. The trained network then serves the metrics (role `eval`) or the
// encoder's perceptual loss (role `perceptual`); those two must be different networks.
import * as tf from '@tensorflow/tfjs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadDataset, BatchIterator, evalBatches, rangeSize, type Dataset } from '../data/index.js';
import { initEngine, type BackendName } from '../engine/backend.js';
import { FeatureNet, validateFeatureNetConfig, FEATURE_NET_DEFAULTS, type FeatureRole } from '../models/features.js';
import { saveFeatureNet } from '../io/network-files.js';

export interface TrainFeatureOptions {
  /** Dataset spec (see src/data/dataset.ts), e.g. 'fashion-mnist'. */
  data: string;
  dataDir?: string;
  /** Image side (default 32). */
  resolution?: number;
  /** 1 or 3 (default: the dataset's own). */
  channels?: 1 | 3;
  /** Passes over the train split (default 3). */
  epochs?: number;
  /** Batch size (default 64). */
  batch?: number;
  /** Adam learning rate, peak of the schedule (default 2e-3); cosine-decayed to 5 % over training. */
  lr?: number;
  /** Seed of the initial weights and the batch order (default 1 for eval, 2 for perceptual). */
  seed?: number;
  role?: FeatureRole;
  /** Network name used in metric names (default 'featnet'). */
  name?: string;
  widths?: [number, number, number];
  fcWidth?: number;
  /** Random left–right mirroring of training images (default false). */
  mirror?: boolean;
  /** Output .safetensors path; omit to skip writing. */
  out?: string;
  /** Backend to initialise (default: whatever is active). */
  backend?: BackendName;
  threads?: number;
  /** Images in the train part (first N; default: the dataset's own split). */
  train?: number;
  /** Keep only the first N images of each source (quick runs and tests). */
  limit?: number;
  /** Called after every step (and once per epoch with `epochEnd`). */
  onProgress?: (p: TrainFeatureProgress) => void;
}

export interface TrainFeatureProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  totalSteps: number;
  images: number;
  /** Mean training loss over the last ~50 steps. */
  loss: number;
  imagesPerSecond: number;
  elapsedSeconds: number;
  /** Set at the end of an epoch. */
  epochEnd?: { testAccuracy: number; trainLoss: number };
}

export interface TrainFeatureResult {
  net: FeatureNet;
  testAccuracy: number;
  wallSeconds: number;
  images: number;
  out?: string;
}

export const DEFAULT_ROLE_SEEDS: Record<FeatureRole, number> = { eval: 1, perceptual: 2 };

/** Fraction of `split` images that `net` classifies correctly. */
export async function classifierAccuracy(net: FeatureNet, ds: Dataset, split: 'train' | 'test' = 'test', batch = 500): Promise<number> {
  if (!ds.labels) throw new Error(`${ds.name}: accuracy needs labels`);
  let correct = 0;
  let total = 0;
  for (const b of evalBatches(ds, split, batch)) {
    const pred = tf.tidy(() => tf.argMax(net.forward(tf.tensor4d(b.data, b.shape)), 1));
    const p = (await pred.data()) as Int32Array;
    pred.dispose();
    for (let i = 0; i < p.length; i++) if (p[i] === b.labels![i]) correct++;
    total += p.length;
  }
  return total ? correct / total : NaN;
}

export async function trainFeatureNet(opts: TrainFeatureOptions): Promise<TrainFeatureResult> {
  const role = opts.role ?? 'eval';
  // Defaults: the recipe of the shipped Fashion-MNIST networks (results/features/README.md).
  const epochs = opts.epochs ?? 3;
  const batch = opts.batch ?? 64;
  const lr = opts.lr ?? 2e-3;
  const seed = opts.seed ?? DEFAULT_ROLE_SEEDS[role];
  const mirror = opts.mirror ?? false;
  for (const [k, v] of Object.entries({ epochs, batch })) if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
  if (!(lr > 0)) throw new Error(`lr must be positive, got ${lr}`);
  if (opts.backend) await initEngine({ backend: opts.backend, threads: opts.threads });

  const ds = await loadDataset(opts.data, { resolution: opts.resolution ?? 32, channels: opts.channels, dataDir: opts.dataDir, train: opts.train, limit: opts.limit });
  if (!ds.labels) throw new Error(`${opts.data}: training a classifier needs labels`);
  if (rangeSize(ds.test) === 0) throw new Error(`${opts.data}: no test images to measure accuracy on`);
  const cfg = validateFeatureNetConfig({
    name: opts.name ?? FEATURE_NET_DEFAULTS.name,
    resolution: ds.resolution,
    channels: ds.channels,
    widths: opts.widths,
    fcWidth: opts.fcWidth,
    classNames: ds.classNames,
    seed,
  });
  const net = new FeatureNet(cfg);
  const iter = new BatchIterator(ds, { batchSize: Math.min(batch, rangeSize(ds.train)), seed, mirror });
  const stepsPerEpoch = iter.batchesPerEpoch;
  const totalSteps = stepsPerEpoch * epochs;
  const optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  const vars = Object.values(net.params);
  const numClasses = net.numClasses;

  const started = performance.now();
  const recent: number[] = [];
  let epochLossSum = 0;
  let testAccuracy = NaN;
  try {
    for (let step = 0; step < totalSteps; step++) {
      // Cosine decay from lr to 0.05·lr: a few epochs reach a good optimum without tuning.
      (optimizer as unknown as { learningRate: number }).learningRate = lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
      const b = iter.next();
      const lossT = tf.tidy(() => {
        const x = tf.tensor4d(b.data, b.shape);
        const y = tf.oneHot(tf.tensor1d(b.labels!, 'int32'), numClasses);
        return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, net.forward(x)) as tf.Scalar, true, vars)!;
      });
      const loss = (await lossT.data())[0];
      lossT.dispose();
      if (!Number.isFinite(loss)) throw new Error(`feature net training diverged at step ${step} (loss ${loss}); try a lower --lr`);
      recent.push(loss);
      if (recent.length > 50) recent.shift();
      epochLossSum += loss;
      const elapsed = (performance.now() - started) / 1000;
      const epoch = Math.floor(step / stepsPerEpoch);
      const progress: TrainFeatureProgress = {
        epoch,
        epochs,
        step: step + 1,
        stepsPerEpoch,
        totalSteps,
        images: (step + 1) * iter.batchSize,
        loss: recent.reduce((a, c) => a + c, 0) / recent.length,
        imagesPerSecond: ((step + 1) * iter.batchSize) / elapsed,
        elapsedSeconds: elapsed,
      };
      if ((step + 1) % stepsPerEpoch === 0) {
        testAccuracy = await classifierAccuracy(net, ds, 'test');
        progress.epochEnd = { testAccuracy, trainLoss: epochLossSum / stepsPerEpoch };
        epochLossSum = 0;
      }
      opts.onProgress?.(progress);
    }
  } finally {
    optimizer.dispose();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const { getBackend } = tf;
  net.config.training = {
    dataset: `${opts.data}: ${ds.source}`,
    role,
    testAccuracy,
    epochs,
    batch: iter.batchSize,
    lr,
    mirror,
    backend: getBackend(),
    wallSeconds: Math.round(wallSeconds),
    date: new Date().toISOString(),
  };
  if (opts.out) {
    await mkdir(dirname(opts.out), { recursive: true });
    await saveFeatureNet(net, opts.out);
  }
  return { net, testAccuracy, wallSeconds, images: totalSteps * iter.batchSize, out: opts.out };
}
