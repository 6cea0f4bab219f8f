import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { encodeIdx } from './idx.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, imageAt, loadDataset, type Dataset } from './dataset.js';
import { fnv1a32 } from './split.js';
import { summariseDataset } from './summary.js';

let root: string;
let idxDir: string;
const TRAIN = 30;
const TEST = 10;
const CLASSES = ['cat', 'dog', 'frog'];
const PER_CLASS = 30;

/** A grey PNG (one channel in the file) of one value, or an RGBA/RGB PNG from raw pixels. */
async function greyPng(path: string, value: number, size = 8): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await sharp(Buffer.alloc(size * size, value), { raw: { width: size, height: size, channels: 1 } }).toColourspace('b-w').png().toFile(path);
}
async function rawPng(path: string, pixels: number[], channels: 2 | 3 | 4, size = 8): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const img = sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels } });
  await (channels === 2 ? img.toColourspace('b-w') : img).png().toFile(path);
}
const fill = (size: number, px: number[]) => Array.from({ length: size * size }, () => px).flat();

/** 3 class sub-folders × 30 grey 8×8 PNGs, written class by class or in reverse. */
async function classFolder(dir: string, reverse = false): Promise<void> {
  const jobs = CLASSES.flatMap((cls, c) => Array.from({ length: PER_CLASS }, (_, i) => ({ path: join(dir, cls, `img${String(i).padStart(3, '0')}.png`), value: 80 * c + i })));
  for (const { path, value } of reverse ? jobs.reverse() : jobs) await greyPng(path, value);
}

/** Checks every image of a class folder against its file: label from the sub-folder, value 80·class + i. */
function pixelsFollowFiles(ds: Dataset): void {
  for (let i = 0; i < ds.count; i++) {
    const [cls, name] = (ds.files?.[i] ?? '').split('/');
    assert.equal(ds.labels?.[i], CLASSES.indexOf(cls), ds.files?.[i]);
    assert.equal(imageAt(ds, i)[0], 80 * CLASSES.indexOf(cls) + Number(name.slice(3, 6)), ds.files?.[i]);
  }
}

/** Per-class image counts of a range of the dataset. */
function classCounts(ds: Dataset, range: { start: number; end: number }): number[] {
  const counts = ds.classNames.map(() => 0);
  for (let i = range.start; i < range.end; i++) counts[ds.labels?.[i] ?? -1]++;
  return counts;
}

// Image i is filled with the value 3·i + 1 (so no image is all background), label i mod 10.
const fakeImages = (n: number, offset: number) => Uint8Array.from({ length: n * 28 * 28 }, (_, p) => 3 * (offset + Math.floor(p / 784)) + 1);
const fakeLabels = (n: number, offset: number) => Uint8Array.from({ length: n }, (_, i) => (offset + i) % 10);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lia-dataset-'));
  idxDir = join(root, 'idx');
  await mkdir(idxDir);
  await writeFile(join(idxDir, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx([TRAIN, 28, 28], fakeImages(TRAIN, 0))));
  await writeFile(join(idxDir, 'train-labels-idx1-ubyte'), encodeIdx([TRAIN], fakeLabels(TRAIN, 0)));
  await writeFile(join(idxDir, 't10k-images-idx3-ubyte'), encodeIdx([TEST, 28, 28], fakeImages(TEST, TRAIN)));
  await writeFile(join(idxDir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([TEST], fakeLabels(TEST, TRAIN))));
  const folder = join(root, 'folder');
  for (let i = 0; i < 5; i++) {
    await mkdir(join(folder, i < 3 ? 'a' : 'b'), { recursive: true });
    await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 40 * i, g: 0, b: 0 } } })
      .png()
      .toFile(join(folder, i < 3 ? 'a' : 'b', `${i}.png`));
  }
  await classFolder(join(root, 'classes'));
  await classFolder(join(root, 'classes-reversed'), true);
});
after(() => rm(root, { recursive: true, force: true }));

test('resolution must be a power of two ≥ 8; the error names the value', async () => {
  for (const resolution of [12, 4, 0, 31.5, 48]) {
    await assert.rejects(loadDataset('shapes:10', { resolution }), new RegExp(`power of two ≥ 8.*got ${resolution}$`));
  }
  await assert.rejects(loadDataset('shapes:10', { resolution: 32, channels: 2 as never }), /channels must be 1 or 3, got 2/);
  await assert.rejects(loadDataset('shapes:10', { resolution: 32, train: 0 }), /train must be a positive integer, got 0/);
});

test('IDX train + t10k: the files are the split, 28×28 is zero-padded to 32×32, train trims the train file', async () => {
  const ds = await loadDataset('mnist:' + idxDir, { resolution: 32 });
  assert.equal(ds.count, TRAIN + TEST);
  assert.deepEqual([ds.train, ds.test], [{ start: 0, end: TRAIN }, { start: TRAIN, end: TRAIN + TEST }]);
  assert.deepEqual([ds.resolution, ds.channels], [32, 1]);
  assert.deepEqual(Array.from(ds.labels ?? []), Array.from({ length: TRAIN + TEST }, (_, i) => i % 10));
  assert.deepEqual(ds.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  for (const i of [0, 17, TRAIN + 3]) {
    const img = imageAt(ds, i);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        assert.equal(img[y * 32 + x], inside ? 3 * i + 1 : 0, `image ${i} pixel (${x}, ${y})`);
      }
    }
  }

  const trimmed = await loadDataset('mnist', { resolution: 32, dataDir: idxDir, train: 20, channels: 3 });
  assert.deepEqual([trimmed.count, trimmed.train.end, trimmed.test.start, trimmed.test.end], [30, 20, 20, 30]);
  assert.equal(trimmed.channels, 3);
  assert.deepEqual(Array.from(imageAt(trimmed, 20).subarray(3 * (16 * 32 + 16), 3 * (16 * 32 + 16) + 3)), [3 * TRAIN + 1, 3 * TRAIN + 1, 3 * TRAIN + 1]);
  await assert.rejects(loadDataset('mnist:' + idxDir, { resolution: 32, train: 31 }), /train = 31 is more than the 30 images of .*train-images-idx3-ubyte\.gz/);

  const limited = await loadDataset('mnist:' + idxDir, { resolution: 16, limit: 4 });
  assert.deepEqual([limited.count, limited.train.end, limited.test.end, limited.resolution], [8, 4, 8, 16]);

  const fashion = await loadDataset('fashion-mnist', { resolution: 8, dataDir: idxDir });
  assert.deepEqual(fashion.classNames, FASHION_MNIST_CLASSES);
  assert.equal(fashion.name, 'fashion-mnist');
});

test('single sources split deterministically: the first N train, the rest test (default: last tenth)', async () => {
  const images = join(idxDir, 'train-images-idx3-ubyte.gz');
  const labels = join(idxDir, 'train-labels-idx1-ubyte');
  const single = await loadDataset(`mnist:${images},${labels}`, { resolution: 8 });
  assert.deepEqual([single.train, single.test], [{ start: 0, end: 27 }, { start: 27, end: 30 }]);
  const noLabels = await loadDataset(`mnist:${images}`, { resolution: 8, train: 25 });
  assert.equal(noLabels.labels, null);
  assert.deepEqual([noLabels.train, noLabels.test], [{ start: 0, end: 25 }, { start: 25, end: 30 }]);

  const a = await loadDataset('shapes:200', { resolution: 16, train: 150 });
  const b = await loadDataset('shapes:200', { resolution: 16, train: 150 });
  assert.deepEqual([a.train, a.test, a.count, a.channels], [{ start: 0, end: 150 }, { start: 150, end: 200 }, 200, 3]);
  assert.deepEqual(a.pixels, b.pixels);
  assert.deepEqual(a.labels, b.labels);
  // The split does not reorder: the test part of a 150/50 split is the tail of the 180/20 one.
  const c = await loadDataset('shapes:200', { resolution: 16 });
  assert.deepEqual([c.train.end, c.test.end], [180, 200]);
  assert.deepEqual(c.pixels, a.pixels);
  assert.ok(a.factors && a.factors.shape.length === 200);
  await assert.rejects(loadDataset('shapes:200', { resolution: 16, train: 201 }), /train = 201 is more than the 200 images/);
  await assert.rejects(loadDataset('shapes:abc', { resolution: 16 }), /shapes:COUNT needs a positive integer count, got 'abc'/);
});

test('folder specs, unknown specs and missing IDX folders', async () => {
  // Ordered: path order, the first N train.
  const ordered = await loadDataset(join(root, 'folder'), { resolution: 8, train: 4, split: 'ordered' });
  assert.deepEqual([ordered.name, ordered.count, ordered.channels, ordered.train.end, ordered.test.end], ['folder', 5, 3, 4, 5]);
  assert.deepEqual(ordered.classNames, ['a', 'b']);
  assert.deepEqual(ordered.files, ['a/0.png', 'a/1.png', 'a/2.png', 'b/3.png', 'b/4.png']);
  assert.equal(ordered.split?.rule, 'ordered');
  // Labelled, so stratified by default: one test image of 5 goes to the larger class a (0.6 vs 0.4).
  const ds = await loadDataset(join(root, 'folder'), { resolution: 8, train: 4 });
  assert.deepEqual([ds.count, ds.train.end, ds.test.end, ds.split?.rule], [5, 4, 5, 'stratified']);
  assert.deepEqual([...(ds.files ?? [])].sort(), ordered.files);
  assert.deepEqual(classCounts(ds, ds.test), [1, 0]);
  await assert.rejects(loadDataset('no-such-dataset', { resolution: 8 }), /unknown dataset 'no-such-dataset'/);
  const file = join(idxDir, 't10k-images-idx3-ubyte');
  await assert.rejects(loadDataset(file, { resolution: 8 }), /is a file, not an image folder/);
  await assert.rejects(loadDataset('fashion-mnist', { resolution: 32, dataDir: join(root, 'folder') }), /no train-images-idx3-ubyte.* in .*folder/);
  await assert.rejects(loadDataset('mnist', { resolution: 32 }), /mnist needs its files/);
});

test('Fashion-MNIST from /usr/share/datasets: 60,000 train, 10,000 test, 10 balanced labels', async (t) => {
  if (!existsSync(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz')) && !existsSync(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte'))) {
    t.skip(`${FASHION_MNIST_DIR} is absent (apt install dataset-fashion-mnist)`);
    return;
  }
  const ds = await loadDataset('fashion-mnist', { resolution: 32 });
  assert.deepEqual([ds.count, ds.train, ds.test], [70000, { start: 0, end: 60000 }, { start: 60000, end: 70000 }]);
  assert.equal(ds.classNames.length, 10);
  const counts = new Array(10).fill(0);
  for (const l of ds.labels ?? []) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(7000));
  // The padding is black.
  assert.ok(imageAt(ds, 0).subarray(0, 64).every((v) => v === 0));
});

test('a folder of class sub-folders splits by class: every class on both sides, deterministic, independent of creation order', async () => {
  const dir = join(root, 'classes');
  const ds = await loadDataset(dir, { resolution: 8 });
  assert.deepEqual([ds.count, ds.train, ds.test, ds.split?.rule], [90, { start: 0, end: 81 }, { start: 81, end: 90 }, 'stratified']);
  assert.deepEqual(ds.classNames, CLASSES);
  assert.deepEqual(classCounts(ds, ds.train), [27, 27, 27]);
  assert.deepEqual(classCounts(ds, ds.test), [3, 3, 3]);
  // Each class's test images are the last three of its hash order; pixels and labels moved with the files.
  for (const [c, cls] of CLASSES.entries()) {
    const paths = Array.from({ length: PER_CLASS }, (_, i) => `${cls}/img${String(i).padStart(3, '0')}.png`);
    const tail = [...paths].sort((a, b) => fnv1a32(a) - fnv1a32(b)).slice(-3);
    assert.deepEqual(new Set(ds.files?.slice(81).filter((f) => f.startsWith(`${cls}/`))), new Set(tail), cls);
  }
  pixelsFollowFiles(ds);
  // The first nine training images already hold every class (classes are interleaved).
  assert.deepEqual(classCounts(ds, { start: 0, end: 9 }), [3, 3, 3]);

  const again = await loadDataset(dir, { resolution: 8 });
  const reversed = await loadDataset(join(root, 'classes-reversed'), { resolution: 8 });
  assert.deepEqual(again.files, ds.files);
  assert.deepEqual(again.pixels, ds.pixels);
  assert.deepEqual(reversed.files, ds.files, 'files written in the reverse order split the same');
  assert.deepEqual(reversed.pixels, ds.pixels);

  // An explicit train count is shared by class size; limit keeps a share of every class.
  const sixty = await loadDataset(dir, { resolution: 8, train: 60 });
  assert.deepEqual([classCounts(sixty, sixty.train), classCounts(sixty, sixty.test)], [[20, 20, 20], [10, 10, 10]]);
  // 40 test images: 13⅓ per class, the one left over to the first class. Unequal parts move images
  // far from their decode order, so this also checks that pixels and labels travel with their files.
  const fifty = await loadDataset(dir, { resolution: 8, train: 50 });
  assert.deepEqual([classCounts(fifty, fifty.train), classCounts(fifty, fifty.test)], [[16, 17, 17], [14, 13, 13]]);
  pixelsFollowFiles(fifty);
  const limited = await loadDataset(dir, { resolution: 8, limit: 30 });
  assert.deepEqual([limited.count, classCounts(limited, limited.train), classCounts(limited, limited.test)], [30, [9, 9, 9], [1, 1, 1]]);

  // The paper's rule on request: the test part is the last tenth in path order, all frogs.
  const ordered = await loadDataset(dir, { resolution: 8, split: 'ordered' });
  assert.deepEqual(classCounts(ordered, ordered.test), [0, 0, 9]);

  const summary = summariseDataset(ds);
  assert.deepEqual(summary.classes?.map((c) => [c.name, c.train, c.test]), [['cat', 27, 3], ['dog', 27, 3], ['frog', 27, 3]]);
  assert.match(summary.split?.description ?? '', /stratified by class \(stable hash of the relative path\), 10 % of each class to test/);

  await assert.rejects(loadDataset('shapes:20', { resolution: 8, split: 'stratified' }), /shapes has no file paths to hash/);
  await assert.rejects(loadDataset(dir, { resolution: 8, split: 'random' as never }), /split must be ordered or stratified, got 'random'/);
});

test('grey folders load as one channel; one colour image makes the folder RGB with one notice', async (t) => {
  const dir = join(root, 'grey');
  await greyPng(join(dir, 'a.png'), 10);
  await greyPng(join(dir, 'b.png'), 200);
  // An RGB file whose pixels all have R = G = B is grey too.
  await rawPng(join(dir, 'c.png'), fill(8, [70, 70, 70]), 3);
  assert.equal((await sharp(join(dir, 'c.png')).metadata()).channels, 3);
  const grey = await loadDataset(dir, { resolution: 8 });
  assert.deepEqual([grey.channels, grey.pixels.length, grey.notices], [1, 3 * 64, []]);
  assert.deepEqual([imageAt(grey, 0)[0], imageAt(grey, 1)[0], imageAt(grey, 2)[0]], [10, 200, 70]);
  assert.match(grey.source, /all grey: 1 channel/);
  const asked = await loadDataset(dir, { resolution: 8, channels: 3 });
  assert.deepEqual([asked.channels, asked.notices, Array.from(imageAt(asked, 1).subarray(0, 3))], [3, [], [200, 200, 200]]);

  const mixed = join(root, 'mixed');
  await cp(dir, mixed, { recursive: true });
  const colour = fill(8, [70, 70, 70]);
  colour.splice(3 * 27, 3, 255, 0, 0); // one red pixel
  await rawPng(join(mixed, 'd.png'), colour, 3);
  const warn = t.mock.method(console, 'warn', () => undefined);
  const ds = await loadDataset(mixed, { resolution: 8 });
  assert.equal(ds.channels, 3);
  assert.equal(ds.notices?.length, 1);
  assert.match(ds.notices?.[0] ?? '', /1 of 4 images are in colour \(d\.png\).*read as 3 channels/);
  assert.ok(ds.notices?.[0].includes(mixed), 'the notice names the folder');
  assert.equal(warn.mock.callCount(), 0, 'the loader prints nothing itself; the command prints the notice once');
  assert.deepEqual(Array.from(imageAt(ds, 1).subarray(0, 3)), [200, 200, 200]);
  const forcedGrey = await loadDataset(mixed, { resolution: 8, channels: 1 });
  assert.deepEqual([forcedGrey.channels, forcedGrey.notices], [1, []]);
});

test('transparency is composited over white by default, or over the background asked for', async () => {
  const dir = join(root, 'alpha');
  // RGBA: the left half transparent, the right half opaque blue; row 0 of the right half red at alpha 128.
  const rgba: number[] = [];
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) rgba.push(...(x < 4 ? [9, 9, 9, 0] : y === 0 ? [255, 0, 0, 128] : [0, 0, 255, 255]));
  await rawPng(join(dir, 'rgba.png'), rgba, 4);
  // Grey + alpha, fully transparent: takes the background's colour, not its first component.
  await rawPng(join(dir, 'grey-alpha.png'), fill(8, [50, 0]), 2);
  assert.deepEqual(Object.values((({ channels, hasAlpha }) => ({ channels, hasAlpha }))(await sharp(join(dir, 'grey-alpha.png')).metadata())), [2, true]);
  const px = (ds: Dataset, i: number, x: number, y: number) => Array.from(imageAt(ds, i).subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
  const near = (got: number[], want: number[]) => assert.ok(got.every((v, k) => Math.abs(v - want[k]) <= 1), `${got} vs ${want}`);

  const white = await loadDataset(dir, { resolution: 8 });
  assert.deepEqual(white.files, ['grey-alpha.png', 'rgba.png']);
  assert.equal(white.channels, 3);
  assert.deepEqual(px(white, 0, 3, 3), [255, 255, 255]);
  assert.deepEqual(px(white, 1, 1, 5), [255, 255, 255]);
  assert.deepEqual(px(white, 1, 6, 5), [0, 0, 255]);
  near(px(white, 1, 6, 0), [255, 127, 127]);
  assert.match(white.source, /transparency over white \(#ffffff\): 2 image\(s\) with alpha/);

  const black = await loadDataset(dir, { resolution: 8, background: [0, 0, 0] });
  assert.deepEqual(px(black, 1, 1, 5), [0, 0, 0]);
  near(px(black, 1, 6, 0), [128, 0, 0]);
  assert.match(black.source, /transparency over black \(#000000\)/);
  const red = await loadDataset(dir, { resolution: 8, background: [255, 0, 0] });
  assert.deepEqual(px(red, 0, 3, 3), [255, 0, 0]);
  await assert.rejects(loadDataset(dir, { resolution: 8, background: [0, 0, 256] as never }), /background must be \[r, g, b\] with integers 0\.\.255, got \[0,0,256\]/);
});
