import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImageFile, writeImageGrid } from './images.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lia-images-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('writes an RGB grid of the expected size, mapping [-1, 1] to 0..255, and leaves no temp file', async () => {
  const n = 10;
  const data = new Float32Array(n * 8 * 8 * 3);
  for (let i = 0; i < n; i++) data.fill(i % 2 ? 1 : -1, i * 192, (i + 1) * 192);
  data.fill(0, 0, 3); // image 0, pixel (0, 0): mid grey
  const path = join(dir, 'out', 'grid.png');
  const size = await writeImageGrid(path, { data, n, h: 8, w: 8, c: 3 }, { cols: 4, padding: 2 });
  // 4 columns × (8 + 2) + 2 = 42 wide; 3 rows × (8 + 2) + 2 = 32 high.
  assert.deepEqual(size, { width: 42, height: 32 });
  const { data: px, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [42, 32, 3]);
  const at = (x: number, y: number) => Array.from(px.subarray((y * 42 + x) * 3, (y * 42 + x) * 3 + 3));
  assert.deepEqual(at(2, 2), [128, 128, 128]);
  assert.deepEqual(at(3, 2), [0, 0, 0]); // image 0 is -1
  assert.deepEqual(at(12 + 3, 2 + 3), [255, 255, 255]); // image 1 is +1
  assert.deepEqual(at(0, 0), [255, 255, 255]); // padding
  assert.deepEqual(at(2 + 2 * 10 + 3, 2 + 2 * 10 + 3), [255, 255, 255]); // empty cell 11 is background
  assert.deepEqual(await readdir(join(dir, 'out')), ['grid.png']);
});

test('grey uint8 grids stay one channel; labels add a caption strip; overwriting is atomic', async () => {
  const data = Uint8Array.from({ length: 4 * 16 * 16 }, (_, p) => Math.floor(p / 256) * 60);
  const path = join(dir, 'grey.png');
  await writeImageGrid(path, { data, n: 4, h: 16, w: 16, c: 1 }, { padding: 0 });
  const meta = await sharp(path).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels, meta.space], [32, 32, 1, 'b-w']);
  const plain = await sharp(path).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  assert.equal(plain.data[16 * 32 + 16], 180); // image 3 (bottom right) is 3 × 60
  await writeImageGrid(path, { data, n: 4, h: 16, w: 16, c: 1 }, { padding: 0, labels: ['a', 'b', 'c', 'Ankle boot'], scale: 2 });
  const labelled = await sharp(path).metadata();
  assert.deepEqual([labelled.width, labelled.height, labelled.channels], [64, 2 * (32 + 12), 1]);
  const rgbPath = join(dir, 'rgb-labelled.png');
  await writeImageGrid(rgbPath, { data: new Float32Array(2 * 8 * 8 * 3), n: 2, h: 8, w: 8, c: 3 }, { labels: ['x', 'y'] });
  const rgb = await sharp(rgbPath).metadata();
  assert.deepEqual([rgb.width, rgb.height, rgb.channels], [2 * 10 + 2, 8 + 12 + 2 + 2, 3]);
  assert.deepEqual(await readdir(dir).then((names) => names.filter((n) => n.includes('.tmp-'))), []);
});

test('bad batches are errors that say what was expected', async () => {
  const path = join(dir, 'bad.png');
  await assert.rejects(writeImageGrid(path, { data: new Float32Array(10), n: 1, h: 2, w: 2, c: 3 }), /holds 10 values, expected n·h·w·c = 1·2·2·3 = 12/);
  await assert.rejects(writeImageGrid(path, { data: new Float32Array(8), n: 1, h: 2, w: 2, c: 2 }), /channels must be 1 or 3, got 2/);
  await assert.rejects(writeImageGrid(path, { data: new Float32Array(4), n: 1, h: 2, w: 2, c: 1 }, { labels: [] }), /0 labels given for 1 images/);
});

test('decodeImageFile flattens transparency onto white (as folders are read) and fits the square', async () => {
  const path = join(dir, 'alpha.png');
  const rgba = Buffer.alloc(20 * 10 * 4);
  for (let p = 0; p < 200; p++) rgba.set(p % 20 < 10 ? [0, 0, 0, 0] : [0, 0, 0, 255], p * 4);
  await sharp(rgba, { raw: { width: 20, height: 10, channels: 4 } }).png().toFile(path);
  const grey = await decodeImageFile(path, 8, 1);
  assert.equal(grey.length, 64);
  assert.equal(grey[4 * 8 + 0], 255); // left: transparent black → white
  assert.equal(grey[4 * 8 + 7], 0); // right: opaque black
  await assert.rejects(decodeImageFile(join(dir, 'missing.png'), 8, 3), /missing\.png/);
});
