// How a dataset is split into train and test. Sources without paths (IDX files, shapes) keep their
// own order: the first `train` images train, the rest test (splitSingle). Sources that carry a path
// per image (image folders, emoji) may be split by class instead (splitByPath, rule 'stratified'),
// because sorting by path and cutting after the first N puts whole classes on one side when a folder
// is organised in class sub-folders. The stratified rule:
//   - within each class, images are ordered by a stable hash of their relative path (FNV-1a, 32 bit,
//     of the UTF-8 bytes; ties by the path itself, code-unit order), which depends on neither the
//     file system's listing order nor the order the files were created in;
//   - the last part of each class's hash order is its test share: floor(n_c / 10) by default, or,
//     for an explicit train count N of M images, the M − N test images apportioned to the classes in
//     proportion to their size (largest remainder, ties to the lower class index);
//   - the dataset's order is every train image, then every test image, so train and test stay
//     contiguous index ranges; within each part the classes are interleaved evenly (image k of a
//     class with m images in the part sits at (k + ½) / m of the way through it), so any prefix of
//     a part holds every class in about its share.
// An unlabelled source split this way is one class: a deterministic shuffle by path hash.

import type { IndexRange, LoadOptions, SplitInfo } from './dataset.js';

export type SplitRule = 'ordered' | 'stratified';
export const SPLIT_RULES: readonly SplitRule[] = ['ordered', 'stratified'];

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** FNV-1a, 32 bit, of the UTF-8 bytes of text; an unsigned integer. */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET;
  for (const byte of utf8.encode(text)) h = Math.imul(h ^ byte, FNV_PRIME);
  return h >>> 0;
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Indices of `paths`, ordered by hash of the path, ties by the path. */
export function hashOrder(paths: string[], indices: number[] = paths.map((_, i) => i)): number[] {
  const hashes = new Map(indices.map((i) => [i, fnv1a32(paths[i])]));
  return [...indices].sort((a, b) => (hashes.get(a) ?? 0) - (hashes.get(b) ?? 0) || byCodeUnits(paths[a], paths[b]));
}

/** Item indices grouped by class (one group for unlabelled data), each group in hash order. */
function classGroups(paths: string[], labels: ArrayLike<number> | null): number[][] {
  if (!labels) return [hashOrder(paths)];
  const groups: number[][] = [];
  for (let i = 0; i < paths.length; i++) (groups[labels[i]] ??= []).push(i);
  return Array.from(groups, (g) => hashOrder(paths, g ?? []));
}

/**
 * Merges groups so each spreads evenly over the result: item k of a group of m items gets the key
 * (k + ½) / m; ties go to the lower group index. Keys are compared as exact integer products.
 */
export function interleave(groups: number[][]): number[] {
  const slots: { g: number; k: number }[] = [];
  groups.forEach((group, g) => group.forEach((_, k) => slots.push({ g, k })));
  slots.sort((a, b) => {
    const ma = groups[a.g].length;
    const mb = groups[b.g].length;
    return (2 * a.k + 1) * mb - (2 * b.k + 1) * ma || a.g - b.g;
  });
  return slots.map(({ g, k }) => groups[g][k]);
}

/**
 * The order in which a `limit` keeps images of a stratified source: every class interleaved in hash
 * order, so the first `limit` hold each class in proportion to its size.
 */
export function samplingOrder(paths: string[], labels: ArrayLike<number> | null): number[] {
  return interleave(classGroups(paths, labels));
}

/** Test images per class: floor(n/10) each, or `total` apportioned by size (largest remainder). */
function testShares(sizes: number[], total: number | undefined): number[] {
  if (total === undefined) return sizes.map((n) => Math.floor(n / 10));
  const count = sizes.reduce((a, b) => a + b, 0);
  if (count === 0) return sizes.map(() => 0);
  const shares = sizes.map((n) => Math.floor((total * n) / count));
  // Remainders as exact integers: total·n mod count.
  const byRemainder = sizes.map((n, c) => ({ c, r: (total * n) % count })).sort((a, b) => b.r - a.r || a.c - b.c);
  let left = total - shares.reduce((a, b) => a + b, 0);
  for (const { c } of byRemainder) {
    if (left === 0) break;
    shares[c]++;
    left--;
  }
  return shares;
}

export interface StratifiedSplit {
  /** Item indices in dataset order: train images first, then test images. */
  order: number[];
  /** Images in the train part (the first `train` of `order`). */
  train: number;
}

/**
 * The stratified split (see the header comment) of items with relative paths and class labels;
 * `train` is an explicit train count, or undefined for floor(n_c / 10) test images per class.
 */
export function stratifiedSplit(paths: string[], labels: ArrayLike<number> | null, train: number | undefined, source: string): StratifiedSplit {
  if (train !== undefined && train > paths.length) throw new Error(`train = ${train} is more than the ${paths.length} images of ${source}`);
  const groups = classGroups(paths, labels);
  const shares = testShares(
    groups.map((g) => g.length),
    train === undefined ? undefined : paths.length - train,
  );
  const trainGroups = groups.map((g, c) => g.slice(0, g.length - shares[c]));
  const testGroups = groups.map((g, c) => g.slice(g.length - shares[c]));
  const trainOrder = interleave(trainGroups);
  return { order: [...trainOrder, ...interleave(testGroups)], train: trainOrder.length };
}

/** One line saying how a stratified split was made, for logs and `lia data info`. */
export function describeStratified(labelled: boolean, train: number | undefined): string {
  const by = labelled ? 'stratified by class (stable hash of the relative path)' : 'one class, unlabelled (stable hash of the relative path)';
  return train === undefined
    ? `${by}, 10 % of each class to test (the last floor(n/10) of its hash order)`
    : `${by}, train ${train}: the test images shared among the classes in proportion to their size`;
}

/** IDX files and shapes have no paths to hash: only their own order. */
export function requireOrdered(opts: LoadOptions, name: string): void {
  if (opts.split === 'stratified') {
    throw new Error(`${name} has no file paths to hash: split 'stratified' is for image folders and emoji; ${name} splits in its own order`);
  }
}

/** First `train` images train, the rest test; default keeps the last tenth for test. */
export function splitSingle(count: number, train: number | undefined, source: string): { train: IndexRange; test: IndexRange; split: SplitInfo } {
  const nTrain = train ?? count - Math.floor(count / 10);
  if (nTrain > count) throw new Error(`train = ${train} is more than the ${count} images of ${source}`);
  const description =
    train === undefined
      ? "ordered: the last tenth (floor(N/10)) to test, in the source's order"
      : `ordered: the first ${train} train, the rest test, in the source's order`;
  return { train: { start: 0, end: nTrain }, test: { start: nTrain, end: count }, split: { rule: 'ordered', description } };
}

/** Decoded images with a relative path each, in the reader's decode order. */
export interface PathImages {
  files: string[];
  /** uint8 [N, resolution, resolution, channels]. */
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
export function splitByPath(
  images: PathImages,
  rule: SplitRule,
  opts: LoadOptions,
  source: string,
): PathImages & { train: IndexRange; test: IndexRange; split: SplitInfo } {
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
