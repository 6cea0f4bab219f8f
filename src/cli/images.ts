// Images for the commands that take real images (--images): 'test' or 'train' (a split of the
// checkpoint's own dataset) or any dataset spec (a folder, an IDX pair, mnist:…, fashion-mnist),
// converted to the checkpoint's resolution and channels with one notice.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { loadDataset, toUnitRange, type Dataset } from '../data/index.js';
import { decodeImageFile } from '../io/images.js';
import type { LiaModel } from '../invert/model.js';

export interface ImageBatch {
  data: Float32Array; // [n, r, r, c] in [-1, 1]
  n: number;
}

export interface ImageTarget {
  resolution: number;
  channels: number;
  /** The checkpoint's dataset, for 'test' and 'train'. */
  data: string;
  dataDir?: string;
}

/** The images a model takes, and its own dataset for 'test' / 'train'. */
export function imageTarget(m: LiaModel): ImageTarget {
  const g = m.decoder.generator;
  return { resolution: g.resolution, channels: g.channels, data: m.data, dataDir: m.dataDir };
}

export interface LoadedImages {
  images: ImageBatch;
  names: string[];
  /** Class index per image where the dataset has labels. */
  labels?: Int32Array;
  dataset: Dataset;
}

export async function loadImagesFor(spec: string, target: ImageTarget, limit?: number, offset = 0): Promise<LoadedImages> {
  const split = spec === 'test' || spec === 'train' ? spec : null;
  const source = split ? target.data : spec;
  const ds = await loadDataset(source, { resolution: target.resolution, channels: target.channels as 1 | 3, dataDir: split ? target.dataDir : undefined });
  if (!split) console.error(`notice: ${spec} is read as ${target.resolution}×${target.resolution}×${target.channels} images for this checkpoint (${ds.source})`);
  const range = split ? ds[split] : { start: 0, end: ds.count };
  const start = range.start + offset;
  const n = Math.min(range.end - start, limit ?? Infinity);
  if (!(n > 0)) throw new Error(`${spec}: no images${offset ? ` after the first ${offset}` : ''}`);
  const size = target.resolution * target.resolution * target.channels;
  const data = toUnitRange(ds.pixels.subarray(start * size, (start + n) * size));
  const names = Array.from({ length: n }, (_, i) => (ds.files ? ds.files[start + i] : `${ds.name}[${start + i}]`));
  const labels = ds.labels ? Int32Array.from(ds.labels.subarray(start, start + n)) : undefined;
  return { images: { data, n }, names, labels, dataset: ds };
}

/**
 * One image for the commands that take single images (--a, --b, --coarse, --fine, --image): an
 * image file (PNG, JPEG, WebP, …) or 'test:N' / 'train:N', the N-th image of the checkpoint's split.
 */
export async function loadOneImage(spec: string, target: ImageTarget): Promise<{ data: Float32Array; name: string }> {
  const m = /^(test|train):(\d+)$/.exec(spec);
  if (m) {
    const { images, names } = await loadImagesFor(m[1], target, 1, Number(m[2]));
    return { data: images.data, name: names[0] };
  }
  if (!existsSync(spec)) throw new Error(`image '${spec}' not found (give an image file, or test:N / train:N for the N-th image of the checkpoint's dataset split)`);
  const pixels = await decodeImageFile(spec, target.resolution, target.channels as 1 | 3);
  return { data: toUnitRange(pixels), name: basename(spec) };
}
