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
//   emoji[:google|:twitter]
//                         the 64×64 emoji PNGs of the npm packages emoji-datasource-google and
//                         -twitter, labelled by emoji category (src/data/emoji.ts); never downloaded
//                         at run time
//   anything else         an image folder (src/data/folder.ts); write ./shapes or ./emoji for a
//                         folder of that name
//
// Order and split (opts.split):
//   - 'ordered', as in the paper ("first 65,000 train, last 5,000 test, in the dataset's order"):
//     images in the source's order, the first `train` are the train part, the rest the test part.
//     Default `train`: all but the last tenth (floor(N/10) test images). The rule of IDX files,
//     shapes and folders without labels;
//   - 'stratified', the default for labelled folders (class sub-folders or labels.csv) and emoji,
//     whose path order is class by class: within each class, images are ordered by a stable hash
//     of their relative path (FNV-1a 32 of the UTF-8 path, ties by the path), and the last
//     floor(n_c/10) of each class (for an explicit `train`, the test images apportioned to the
//     classes by size) are its test share. The dataset holds all train images (classes
//     interleaved), then all test images, so train and test stay contiguous ranges and every class
//     with ten or more images is on both sides (src/data/split.ts). An unlabelled folder asked for
//     it is one class: a deterministic shuffle;
//   - IDX train + t10k files (Fashion-MNIST's own split): the train file is the train part, the t10k
//     file the test part; `train` keeps only the first `train` images of the train file. IDX files
//     and shapes have no paths to hash: 'stratified' is an error for them.
//   `limit` keeps only the first `limit` images of each source (each IDX file, the folder, the shapes
//   count), before the split: a small, quick dataset with both parts present. A stratified source
//   is taken in its classes' interleaved hash order, so the kept images hold every class.
// Resolution: a power of two ≥ 8. 28×28 sources are zero-padded to 32×32 (black: −1 after
// scaling), then resampled from that frame for other resolutions (see fitToResolution); folders are
// resized to cover the square and centre-cropped; shapes are drawn at the resolution.
// Channels: default 1 for (Fashion-)MNIST, 3 for shapes and emoji; a folder is 1 channel when all its
// images are grey (grey PNGs, or colour files with R = G = B everywhere) and 3 otherwise, with one
// notice in ds.notices when it mixes grey and colour images. Grey sources asked for 3 repeat the
// grey channel, colour sources asked for 1 take libvips' luminance.
// Transparency (folders, emoji): composited over opts.background, white by default; ds.source says
// over what (src/data/decode.ts).
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readIdxPair } from './idx.js';
import { readImageFolder } from './folder.js';
import { describeBackground, validateBackground, type Rgb } from './decode.js';
import { parseEmojiVendors, readEmoji } from './emoji.js';
import { describeStratified, SPLIT_RULES, stratifiedSplit, type SplitRule } from './split.js';
import { fitToResolution, greyToRgb, type PixelStack } from './resample.js';
import { generateShapes, SHAPE_NAMES, type ShapeFactors } from './shapes.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist/';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const SHAPES_DEFAULT_COUNT = 10_000;

export type { SplitRule } from './split.js';
export type { Rgb } from './decode.js';

/** Half-open range of dataset indices [start, end). */
export interface IndexRange {
  start: number;
  end: number;
}

export interface Dataset {
  /** 'fashion-mnist', 'mnist', 'shapes', 'folder', 'emoji' or 'emoji:<vendor>'. */
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
  /** Relative path of each image (folders and emoji). */
  files?: string[];
  /** How train and test were chosen (the loaders here always say; other producers may not). */
  split?: SplitInfo;
  /** Things worth one line to the user (e.g. a folder mixing grey and colour images). */
  notices?: string[];
}

export interface SplitInfo {
  /** 'source': the source's own parts (IDX train + t10k files). */
  rule: SplitRule | 'source';
  description: string;
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
  /** How to split (see the header comment); default: 'stratified' for labelled folders and emoji, else 'ordered'. */
  split?: SplitRule;
  /** Colour that transparent pixels are composited over (folders, emoji); default white. */
  background?: Rgb;
  /** Package roots of the emoji datasets (default: $LIA_EMOJI_DIR, else Node's module resolution). */
  emojiDirs?: string[];
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
  if (opts.split !== undefined && !SPLIT_RULES.includes(opts.split)) {
    throw new Error(`split must be ${SPLIT_RULES.join(' or ')}, got '${opts.split}'`);
  }
  if (opts.background !== undefined) validateBackground(opts.background);
}

/** IDX files and shapes have no paths to hash: only their own order. */
function requireOrdered(opts: LoadOptions, name: string): void {
  if (opts.split === 'stratified') {
    throw new Error(`${name} has no file paths to hash: split 'stratified' is for image folders and emoji; ${name} splits in its own order`);
  }
}

/** The pixels of image i, uint8 [H, W, C] (a view, not a copy). */
export function imageAt(ds: Dataset, i: number): Uint8Array {
  const size = ds.resolution * ds.resolution * ds.channels;
  return ds.pixels.subarray(i * size, (i + 1) * size);
}

export const rangeSize = (r: IndexRange) => r.end - r.start;

/** First `train` images train, the rest test; default keeps the last tenth for test. */
function splitSingle(count: number, train: number | undefined, source: string): { train: IndexRange; test: IndexRange; split: SplitInfo } {
  const nTrain = train ?? count - Math.floor(count / 10);
  if (nTrain > count) throw new Error(`train = ${train} is more than the ${count} images of ${source}`);
  const description = train === undefined ? 'ordered: the last tenth (floor(N/10)) to test, in the source\'s order' : `ordered: the first ${train} train, the rest test, in the source's order`;
  return { train: { start: 0, end: nTrain }, test: { start: nTrain, end: count }, split: { rule: 'ordered', description } };
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
  requireOrdered(opts, name);
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
    ? {
        train: { start: 0, end: train.n },
        test: { start: train.n, end: count },
        split: { rule: 'source' as const, description: `the source's own: the train file is train${opts.train !== undefined ? ` (its first ${opts.train})` : ''}, the t10k file test` },
      }
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
  requireOrdered(opts, 'shapes');
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

/** Decoded images with a relative path each, in the reader's decode order. */
interface PathImages {
  files: string[];
  pixels: Uint8Array;
  channels: 1 | 3;
  labels: Int32Array | null;
  classNames: string[];
}

/**
 * Moves image order[to] to position `to` for every `to`, in place, one cycle of the permutation at
 * a time: the cache may be most of the memory there is, so it is not copied.
 */
function permuteImages(pixels: Uint8Array, size: number, order: number[]): void {
  const done = new Uint8Array(order.length);
  const held = new Uint8Array(size);
  for (let start = 0; start < order.length; start++) {
    if (done[start]) continue;
    held.set(pixels.subarray(start * size, (start + 1) * size));
    let to = start;
    for (let from = order[to]; from !== start; to = from, from = order[to]) {
      pixels.copyWithin(to * size, from * size, (from + 1) * size);
      done[to] = 1;
    }
    pixels.set(held, to * size);
    done[to] = 1;
  }
}

/** Puts images (and their labels and paths) in a new order: image order[k] becomes image k. */
function reorder(images: PathImages, order: number[], resolution: number): PathImages {
  permuteImages(images.pixels, resolution * resolution * images.channels, order);
  return {
    ...images,
    files: order.map((i) => images.files[i]),
    labels: images.labels ? Int32Array.from(order, (i) => images.labels?.[i] ?? -1) : null,
  };
}

/** Splits images that have paths by the rule (see the header comment), reordering them if stratified. */
function splitByPath(images: PathImages, rule: SplitRule, opts: LoadOptions, source: string): PathImages & { train: IndexRange; test: IndexRange; split: SplitInfo } {
  const count = images.files.length;
  if (rule === 'ordered') return { ...images, ...splitSingle(count, opts.train, source) };
  const { order, train } = stratifiedSplit(images.files, images.labels, opts.train, source);
  return {
    ...reorder(images, order, opts.resolution),
    train: { start: 0, end: train },
    test: { start: train, end: count },
    split: { rule: 'stratified', description: describeStratified(images.labels !== null, opts.train) },
  };
}

/** The notice of a folder that mixes grey and colour images (read as RGB). */
function mixedNotice(dir: string, colourFiles: string[], count: number): string {
  const examples = colourFiles.slice(0, 3).join(', ') + (colourFiles.length > 3 ? ', …' : '');
  return (
    `${dir}: ${colourFiles.length} of ${count} images are in colour (${examples}), the others grey: ` +
    `read as 3 channels (RGB), grey images repeated in R, G and B (--channels 1 reads all as grey)`
  );
}

async function loadFolder(dir: string, opts: LoadOptions): Promise<Dataset> {
  const folder = await readImageFolder(dir, {
    resolution: opts.resolution,
    channels: opts.channels,
    background: opts.background,
    limit: opts.limit,
    order: opts.split,
  });
  const count = folder.files.length;
  const parts = [
    `image folder ${dir}: ${count} images, resized to cover ${opts.resolution}×${opts.resolution} and centre-cropped`,
    folder.channels === 1 && opts.channels === undefined ? 'all grey: 1 channel' : `${folder.channels} channel${folder.channels > 1 ? 's' : ''}`,
    `transparency over ${describeBackground(folder.background)}: ${folder.alphaCount} image(s) with alpha`,
    folder.labelSource === 'none' ? 'unlabelled' : `labels from ${folder.labelSource}`,
    ...(folder.skipped.length ? [`${folder.skipped.length} undecodable file(s) skipped`] : []),
  ];
  const split = splitByPath(folder, folder.order, opts, dir);
  const mixed = opts.channels === undefined && folder.channels === 3 && folder.colourFiles.length < count;
  return {
    name: 'folder',
    source: parts.join(', '),
    pixels: split.pixels,
    count,
    resolution: opts.resolution,
    channels: folder.channels,
    labels: split.labels,
    classNames: folder.classNames,
    files: split.files,
    train: split.train,
    test: split.test,
    split: split.split,
    notices: mixed ? [mixedNotice(dir, folder.colourFiles, count)] : [],
  };
}

async function loadEmoji(rest: string | undefined, opts: LoadOptions): Promise<Dataset> {
  const vendors = parseEmojiVendors(rest);
  const emoji = await readEmoji(vendors, {
    resolution: opts.resolution,
    channels: opts.channels,
    background: opts.background,
    limit: opts.limit,
    order: opts.split ?? 'stratified',
    dirs: opts.emojiDirs,
  });
  const count = emoji.files.length;
  const packages = emoji.packages.map((p) => `${p.images} from ${p.root}${p.version ? ` (v${p.version})` : ''}`).join(' + ');
  const parts = [
    `emoji ${vendors.join(' + ')}, ${count} images (one per emoji, no skin-tone variants): ${packages}`,
    `64×64 PNG${opts.resolution === 64 ? '' : ` resized to ${opts.resolution}×${opts.resolution}`}, ${emoji.channels} channel${emoji.channels > 1 ? 's' : ''}`,
    `transparency over ${describeBackground(emoji.background)}: ${emoji.alphaCount} image(s) with alpha`,
    `labels: the ${emoji.classNames.length} categories of emoji.json`,
    ...(emoji.skipped.length ? [`${emoji.skipped.length} undecodable file(s) skipped`] : []),
  ];
  const split = splitByPath(emoji, opts.split ?? 'stratified', opts, `emoji:${vendors.join('+')}`);
  return {
    name: vendors.length === 1 ? `emoji:${vendors[0]}` : 'emoji',
    source: parts.join(', '),
    pixels: split.pixels,
    count,
    resolution: opts.resolution,
    channels: emoji.channels,
    labels: split.labels,
    classNames: emoji.classNames,
    files: split.files,
    train: split.train,
    test: split.test,
    split: split.split,
    notices: [],
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
  if (head === 'emoji') return loadEmoji(rest, opts);

  const info = await stat(spec).catch(() => null);
  if (info?.isDirectory()) return loadFolder(spec, opts);
  if (info) throw new Error(`${spec} is a file, not an image folder (for an IDX file write mnist:${spec})`);
  throw new Error(`unknown dataset '${spec}': expected fashion-mnist, mnist:PATH, shapes[:COUNT], emoji[:google|:twitter] or an existing image folder`);
}
