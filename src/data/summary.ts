// A dataset's vital statistics, as printed by `lia data info` and saved beside runs.
import { rangeSize, type Dataset, type IndexRange, type SplitInfo } from './dataset.js';

export interface PixelStats {
  /** Mean and standard deviation of pixel values scaled to [-1, 1], over all channels. */
  mean: number;
  std: number;
  /** The same per channel (one entry for grey, R, G, B for colour). */
  perChannel: { mean: number; std: number }[];
}

export interface ClassCount {
  label: number;
  name: string;
  train: number;
  test: number;
}

export interface DatasetSummary {
  name: string;
  source: string;
  count: number;
  resolution: number;
  channels: number;
  train: IndexRange & { count: number };
  test: IndexRange & { count: number };
  /** How train and test were chosen; null when the dataset's producer did not say. */
  split: SplitInfo | null;
  /** Per-class image counts in each part; null for unlabelled data. */
  classes: ClassCount[] | null;
  /** Over the train part (the whole dataset when the train part is empty). */
  pixels: PixelStats;
  /** The loader's notices (e.g. a folder mixing grey and colour images). */
  notices: string[];
}

/** Pixel statistics over a range of images, in the [-1, 1] scale the models see. */
export function pixelStats(ds: Dataset, range: IndexRange): PixelStats {
  const c = ds.channels;
  const imageSize = ds.resolution * ds.resolution * c;
  // Sums of bytes are exact integers up to 2^53, far beyond any dataset held in memory.
  const sum = new Array<number>(c).fill(0);
  const sumSq = new Array<number>(c).fill(0);
  const pixels = ds.pixels.subarray(range.start * imageSize, range.end * imageSize);
  for (let i = 0; i < pixels.length; i += c) {
    for (let k = 0; k < c; k++) {
      const v = pixels[i + k];
      sum[k] += v;
      sumSq[k] += v * v;
    }
  }
  const perPixel = pixels.length / c;
  // Moments of bytes, then the affine map x / 127.5 − 1 (std scales by 1/127.5).
  const moments = (s: number, s2: number, n: number) => {
    const mean = n > 0 ? s / n : 0;
    const variance = n > 0 ? Math.max(s2 / n - mean * mean, 0) : 0;
    return { mean: mean / 127.5 - 1, std: Math.sqrt(variance) / 127.5 };
  };
  const total = moments(
    sum.reduce((a, b) => a + b, 0),
    sumSq.reduce((a, b) => a + b, 0),
    pixels.length,
  );
  return { ...total, perChannel: sum.map((s, k) => moments(s, sumSq[k], perPixel)) };
}

export function summariseDataset(ds: Dataset): DatasetSummary {
  let classes: ClassCount[] | null = null;
  if (ds.labels) {
    classes = ds.classNames.map((name, label) => ({ label, name, train: 0, test: 0 }));
    for (let i = 0; i < ds.count; i++) {
      const entry = classes[ds.labels[i]];
      if (i >= ds.train.start && i < ds.train.end) entry.train++;
      else if (i >= ds.test.start && i < ds.test.end) entry.test++;
    }
  }
  const statsRange = rangeSize(ds.train) > 0 ? ds.train : { start: 0, end: ds.count };
  return {
    name: ds.name,
    source: ds.source,
    count: ds.count,
    resolution: ds.resolution,
    channels: ds.channels,
    train: { ...ds.train, count: rangeSize(ds.train) },
    test: { ...ds.test, count: rangeSize(ds.test) },
    split: ds.split ?? null,
    classes,
    pixels: pixelStats(ds, statsRange),
    notices: ds.notices ?? [],
  };
}
