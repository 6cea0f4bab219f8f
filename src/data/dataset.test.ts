import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { encodeIdx } from './idx.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, imageAt, loadDataset } from './dataset.js';

let root: string;
let idxDir: string;
const TRAIN = 30;
const TEST = 10;
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
  const ds = await loadDataset(join(root, 'folder'), { resolution: 8, train: 4 });
  assert.deepEqual([ds.name, ds.count, ds.channels, ds.train.end, ds.test.end], ['folder', 5, 3, 4, 5]);
  assert.deepEqual(ds.classNames, ['a', 'b']);
  assert.deepEqual(ds.files, ['a/0.png', 'a/1.png', 'a/2.png', 'b/3.png', 'b/4.png']);
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
