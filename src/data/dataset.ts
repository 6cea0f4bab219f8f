// The in-memory dataset and the names that select one: the Dataset type, its load options, and
// loadDataset, which dispatches a spec to its source's file (idx.ts, shapes.ts, emoji.ts, folder.ts). Every source is decoded once into a uint8
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
import { validateBackground, type Rgb } from './decode.js';
import { loadEmojiDataset } from './emoji.js';
import { loadFolderDataset } from './folder.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist, loadMnist } from './idx.js';
import { SPLIT_RULES, type SplitRule } from './split.js';
import { loadShapesDataset, SHAPES_DEFAULT_COUNT, type ShapeFactors } from './shapes.js';

// The sources' own files hold their constants; they are named here too, where callers look for them.
export { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, SHAPES_DEFAULT_COUNT };
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

/** The pixels of image i, uint8 [H, W, C] (a view, not a copy). */
export function imageAt(ds: Dataset, i: number): Uint8Array {
  const size = ds.resolution * ds.resolution * ds.channels;
  return ds.pixels.subarray(i * size, (i + 1) * size);
}

export const rangeSize = (r: IndexRange) => r.end - r.start;

/** Loads a dataset by its spec (see the header comment for the specs, the split and the resolution rules). */
export async function loadDataset(spec: string, opts: LoadOptions): Promise<Dataset> {
  validateOptions(opts);
  const colon = spec.indexOf(':');
  const head = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? undefined : spec.slice(colon + 1);

  if (head === 'fashion-mnist') return loadFashionMnist(rest, opts);
  if (head === 'mnist') return loadMnist(rest, opts);
  if (head === 'shapes') return loadShapesDataset(rest, opts);
  if (head === 'emoji') return loadEmojiDataset(rest, opts);

  const info = await stat(spec).catch(() => null);
  if (info?.isDirectory()) return loadFolderDataset(spec, opts);
  if (info) throw new Error(`${spec} is a file, not an image folder (for an IDX file write mnist:${spec})`);
  throw new Error(`unknown dataset '${spec}': expected fashion-mnist, mnist:PATH, shapes[:COUNT], emoji[:google|:twitter] or an existing image folder`);
}
