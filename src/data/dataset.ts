// The in-memory dataset and the names that select one. Every source is decoded once into a uint8
// cache, NHWC [N, H, W, C], H = W = the training resolution; batches are cut from that cache, so no
// image is ever decoded twice.
//
// Dataset specs (the command line's --data):
//   fashion-mnist[:DIR]   IDX files in DIR (default /usr/share/datasets/fashion-mnist/, Debian's
//                         dataset-fashion-mnist; or opts.dataDir): train-images-idx3-ubyte[.gz],
//                         train-labels-idx1-ubyte[.gz], and t10k-… for the test part
//   mnist:DIR | mnist:IMAGES[,LABELS]
//                         the same four standard names in DIR, or one IDX image file (+ labels);
//                         plain `mnist` reads opts.dataDir
//   shapes[:COUNT]        the synthetic shapes (src/data/shapes.ts), COUNT images (default 10,000),
//                         always from seed 0 so that "shapes" names one fixed dataset
//   anything else         an image folder (src/data/folder.ts); write ./shapes for a folder of that name
//
// Order and split (as in the paper, "first 65,000 train, last 5,000 test, in the dataset's order"):
//   - one source (a folder, shapes, a single IDX pair): images in the source's order, the first
//     `train` are the train part, the rest the test part. Default `train`: all but the last tenth
//     (floor(N/10) test images);
//   - IDX train + t10k files (Fashion-MNIST's own split): the train file is the train part, the t10k
//     file the test part; `train` keeps only the first `train` images of the train file.
//   `limit` keeps only the first `limit` images of each source (each IDX file, the folder, the shapes
//   count), before the split: a small, quick dataset with both parts present.
// Resolution: a power of two ≥ 8. 28×28 sources are zero-padded to 32×32 (black: −1 after
// scaling), then resampled from that frame for other resolutions (see fitToResolution); folders are
// resized to cover the square and centre-cropped; shapes are drawn at the resolution.
// Channels: default 1 for (Fashion-)MNIST, 3 for shapes and folders; grey sources asked for 3 repeat
// the grey channel, colour sources asked for 1 take BT.601 luma.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readIdxPair } from './idx.js';
import { readImageFolder } from './folder.js';
import { fitToResolution, greyToRgb, type PixelStack } from './resample.js';
import { generateShapes, SHAPE_NAMES, type ShapeFactors } from './shapes.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist/';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const SHAPES_DEFAULT_COUNT = 10_000;

/** Half-open range of dataset indices [start, end). */
export interface IndexRange {
  start: number;
  end: number;
}

export interface Dataset {
  /** 'fashion-mnist', 'mnist', 'shapes' or 'folder'. */
  name: string;
  /** Where the images came from and what was done to them, for logs and run folders. */
  source: string;
  /** uint8 [count, resolution, resolution, channels], 0..255. */
  pixels: Uint8Array;
  count: number;
  resolution: number;
  channels: 1 | 3;
  /** One class index per image, or null for unlabelled data. */
  labels: Int32Array | null;
  /** Name of each class index ([] when unlabelled). */
  classNames: string[];
  train: IndexRange;
  test: IndexRange;
  /** Ground-truth generative factors, row i for image i (shapes only). */
  factors?: ShapeFactors;
  /** Relative path of each image (folders only). */
  files?: string[];
}

export interface LoadOptions {
  /** Side of the square images, a power of two ≥ 8. */
  resolution: number;
  /** 1 (grey) or 3 (RGB); default: the source's own. */
  channels?: 1 | 3;
  /** Images in the train part (see the header comment); default: the source's split or 90 %. */
  train?: number;
  /** Folder of the IDX files for `fashion-mnist` and `mnist`. */
  dataDir?: string;
  /** Keep only the first `limit` images of each source. */
  limit?: number;
}

export function validateResolution(resolution: number): void {
  if (!Number.isInteger(resolution) || resolution < 8 || (resolution & (resolution - 1)) !== 0) {
    throw new Error(`resolution must be a power of two ≥ 8 (8, 16, 32, 64, …), got ${resolution}`);
  }
}

function validateOptions(opts: LoadOptions): void {
  validateResolution(opts.resolution);
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) {
    throw new Error(`channels must be 1 or 3, got ${opts.channels}`);
  }
  for (const key of ['train', 'limit'] as const) {
    const v = opts[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`${key} must be a positive integer, got ${v}`);
  }
}

/** The pixels of image i, uint8 [H, W, C] (a view, not a copy). */
export function imageAt(ds: Dataset, i: number): Uint8Array {
  const size = ds.resolution * ds.resolution * ds.channels;
  return ds.pixels.subarray(i * size, (i + 1) * size);
}

export const rangeSize = (r: IndexRange) => r.end - r.start;

/** First `train` images train, the rest test; default keeps the last tenth for test. */
function splitSingle(count: number, train: number | undefined, source: string): { train: IndexRange; test: IndexRange } {
  const nTrain = train ?? count - Math.floor(count / 10);
  if (nTrain > count) throw new Error(`train = ${train} is more than the ${count} images of ${source}`);
  return { train: { start: 0, end: nTrain }, test: { start: nTrain, end: count } };
}

const exists = (path: string) => stat(path).then((s) => s.isFile(), () => false);

/** Finds `<base>` or `<base>.gz` in dir. */
async function findIdx(dir: string, base: string): Promise<string | undefined> {
  for (const name of [base, `${base}.gz`]) if (await exists(join(dir, name))) return join(dir, name);
  return undefined;
}

interface IdxSource {
  images: string;
  labels?: string;
}

/** The standard train/t10k file names in a folder. */
async function findIdxFolder(dir: string, datasetName: string): Promise<{ train: IdxSource; test?: IdxSource }> {
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new Error(`${datasetName}: ${dir} is not a folder`);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map((b) => findIdx(dir, b)),
  );
  if (!trainImages) {
    throw new Error(`${datasetName}: no train-images-idx3-ubyte or train-images-idx3-ubyte.gz in ${dir}`);
  }
  if (testImages && Boolean(trainLabels) !== Boolean(testLabels)) {
    throw new Error(`${datasetName}: ${dir} has labels for only one of train and t10k`);
  }
  return {
    train: { images: trainImages, labels: trainLabels },
    test: testImages ? { images: testImages, labels: testLabels } : undefined,
  };
}

/** Reads one IDX pair, keeps the first `keep` images, and brings them to the resolution. */
async function loadIdxPart(
  src: IdxSource,
  resolution: number,
  keep: number | undefined,
): Promise<PixelStack & { labels: Int32Array | null; nativeH: number; nativeW: number; fileCount: number }> {
  const idx = await readIdxPair(src.images, src.labels);
  const n = Math.min(idx.count, keep ?? Infinity);
  const stack = fitToResolution({ pixels: idx.pixels.subarray(0, n * idx.height * idx.width), n, h: idx.height, w: idx.width, c: 1 }, resolution);
  return { ...stack, labels: idx.labels ? idx.labels.slice(0, n) : null, nativeH: idx.height, nativeW: idx.width, fileCount: idx.count };
}

function describeFit(h: number, w: number, resolution: number): string {
  if (h === 28 && w === 28) return resolution === 32 ? '28×28 grey, zero-padded to 32×32' : `28×28 grey, zero-padded to 32×32, resampled to ${resolution}×${resolution}`;
  return h === resolution && w === resolution ? `${h}×${w} grey` : `${h}×${w} grey, resampled to ${resolution}×${resolution}`;
}

async function loadIdxDataset(
  name: string,
  files: { train: IdxSource; test?: IdxSource },
  opts: LoadOptions,
  classNames: string[] | null,
): Promise<Dataset> {
  const { resolution } = opts;
  const channels = opts.channels ?? 1;
  const trainFileLimit = files.test ? Math.min(opts.limit ?? Infinity, opts.train ?? Infinity) : opts.limit;
  const train = await loadIdxPart(files.train, resolution, trainFileLimit);
  if (files.test && opts.train !== undefined && opts.train > train.fileCount) {
    throw new Error(`train = ${opts.train} is more than the ${train.fileCount} images of ${files.train.images}`);
  }
  const test = files.test ? await loadIdxPart(files.test, resolution, opts.limit) : null;

  const count = train.n + (test?.n ?? 0);
  let stack: PixelStack = { pixels: new Uint8Array(count * resolution * resolution), n: count, h: resolution, w: resolution, c: 1 };
  stack.pixels.set(train.pixels, 0);
  if (test) stack.pixels.set(test.pixels, train.pixels.length);
  if (channels === 3) stack = greyToRgb(stack);

  let labels: Int32Array | null = null;
  if (train.labels) {
    labels = new Int32Array(count);
    labels.set(train.labels, 0);
    if (test?.labels) labels.set(test.labels, train.n);
  }
  const maxLabel = labels ? labels.reduce((a, b) => Math.max(a, b), 0) : -1;
  const names = labels ? (classNames ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i))) : [];
  if (labels && maxLabel >= names.length) throw new Error(`${name}: label ${maxLabel} found, but the dataset has ${names.length} classes`);

  const parts = [files.train, ...(files.test ? [files.test] : [])].map((f) => f.images + (f.labels ? ` + ${f.labels}` : ''));
  const split = files.test
    ? { train: { start: 0, end: train.n }, test: { start: train.n, end: count } }
    : splitSingle(count, opts.train, files.train.images);
  return {
    name,
    source: `${parts.join('; ')} (${describeFit(train.nativeH, train.nativeW, resolution)})`,
    pixels: stack.pixels,
    count,
    resolution,
    channels,
    labels,
    classNames: names,
    ...split,
  };
}

async function loadShapes(countText: string | undefined, opts: LoadOptions): Promise<Dataset> {
  const requested = countText === undefined ? SHAPES_DEFAULT_COUNT : Number(countText);
  if (!Number.isInteger(requested) || requested < 1) throw new Error(`shapes:COUNT needs a positive integer count, got '${countText}'`);
  const count = Math.min(requested, opts.limit ?? Infinity);
  const channels = opts.channels ?? 3;
  const { pixels, labels, factors } = generateShapes({ count, resolution: opts.resolution, channels, seed: 0 });
  return {
    name: 'shapes',
    source: `synthetic shapes, ${count} images drawn at ${opts.resolution}×${opts.resolution} from seed 0`,
    pixels,
    count,
    resolution: opts.resolution,
    channels,
    labels,
    classNames: [...SHAPE_NAMES],
    factors,
    ...splitSingle(count, opts.train, 'shapes'),
  };
}

async function loadFolder(dir: string, opts: LoadOptions): Promise<Dataset> {
  const channels = opts.channels ?? 3;
  const folder = await readImageFolder(dir, { resolution: opts.resolution, channels, limit: opts.limit });
  const count = folder.files.length;
  const skipped = folder.skipped.length ? `, ${folder.skipped.length} undecodable file(s) skipped` : '';
  const labelled = folder.labelSource === 'none' ? 'unlabelled' : `labels from ${folder.labelSource}`;
  return {
    name: 'folder',
    source: `image folder ${dir}: ${count} images, resized to cover ${opts.resolution}×${opts.resolution} and centre-cropped, ${labelled}${skipped}`,
    pixels: folder.pixels,
    count,
    resolution: opts.resolution,
    channels,
    labels: folder.labels,
    classNames: folder.classNames,
    files: folder.files,
    ...splitSingle(count, opts.train, dir),
  };
}

/** Loads a dataset by its spec (see the header comment for the specs, the split and the resolution rules). */
export async function loadDataset(spec: string, opts: LoadOptions): Promise<Dataset> {
  validateOptions(opts);
  const colon = spec.indexOf(':');
  const head = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? undefined : spec.slice(colon + 1);

  if (head === 'fashion-mnist') {
    const dir = rest ?? opts.dataDir ?? FASHION_MNIST_DIR;
    return loadIdxDataset('fashion-mnist', await findIdxFolder(dir, 'fashion-mnist'), opts, FASHION_MNIST_CLASSES);
  }
  if (head === 'mnist') {
    const target = rest ?? opts.dataDir;
    if (!target) throw new Error(`mnist needs its files: --data mnist:DIR, --data mnist:IMAGES[,LABELS], or --data-dir DIR`);
    const [images, labels, ...extra] = target.split(',');
    if (extra.length > 0) throw new Error(`mnist:IMAGES[,LABELS] takes at most two files, got '${target}'`);
    const isDir = await stat(images).then((s) => s.isDirectory(), () => false);
    const files = isDir && labels === undefined ? await findIdxFolder(images, 'mnist') : { train: { images, labels } };
    return loadIdxDataset('mnist', files, opts, null);
  }
  if (head === 'shapes') return loadShapes(rest, opts);

  const info = await stat(spec).catch(() => null);
  if (info?.isDirectory()) return loadFolder(spec, opts);
  if (info) throw new Error(`${spec} is a file, not an image folder (for an IDX file write mnist:${spec})`);
  throw new Error(`unknown dataset '${spec}': expected fashion-mnist, mnist:PATH, shapes[:COUNT] or an existing image folder`);
}
