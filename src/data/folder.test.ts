import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readImageFolder } from './folder.js';

let root: string;

/** A solid-colour image file in the format its extension names. */
async function solid(path: string, rgb: [number, number, number], width = 24, height = 24): Promise<void> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  const ext = path.slice(path.lastIndexOf('.') + 1);
  const encoded = ext === 'png' ? img.png() : ext === 'webp' ? img.webp({ lossless: true }) : img.jpeg({ quality: 95 });
  await mkdir(join(path, '..'), { recursive: true });
  await encoded.toFile(path);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lia-folder-'));
  // Labelled by sub-folder: cats (PNG, JPEG), dogs (WebP, a nested PNG), plus two broken files.
  const byFolder = join(root, 'by-folder');
  await solid(join(byFolder, 'cats', 'a.png'), [255, 0, 0]);
  await solid(join(byFolder, 'cats', 'b.JPG'), [0, 255, 0]);
  await solid(join(byFolder, 'dogs', 'c.webp'), [0, 0, 255]);
  await solid(join(byFolder, 'dogs', 'nested', 'd.png'), [128, 128, 128]);
  const png = await sharp({ create: { width: 24, height: 24, channels: 3, background: '#fff' } }).png().toBuffer();
  await writeFile(join(byFolder, 'dogs', 'broken.png'), png.subarray(0, png.length - 30));
  await writeFile(join(byFolder, 'cats', 'fake.png'), 'this is text, not a PNG\n');
  await writeFile(join(byFolder, 'README.txt'), 'ignored: not an image extension');

  // Labelled by labels.csv (names), images at the root and in a sub-folder.
  const csv = join(root, 'csv');
  await solid(join(csv, 'x.png'), [255, 255, 255]);
  await solid(join(csv, 'sub', 'y.webp'), [0, 0, 0]);
  await writeFile(join(csv, 'labels.csv'), 'file,label\nx.png,shirt\n"sub/y.webp",coat\n');

  // Cover-and-crop: a 40×20 image whose middle half is green survives the centre crop as green.
  const wide = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++) {
    for (let x = 0; x < 40; x++) {
      const rgb = x < 10 ? [255, 0, 0] : x < 30 ? [0, 255, 0] : [0, 0, 255];
      wide.set(rgb, (y * 40 + x) * 3);
    }
  }
  await mkdir(join(root, 'wide'));
  await sharp(wide, { raw: { width: 40, height: 20, channels: 3 } }).png().toFile(join(root, 'wide', 'w.png'));

  await mkdir(join(root, 'empty', 'sub'), { recursive: true });
  await writeFile(join(root, 'empty', 'sub', 'notes.txt'), 'no images here');
});
after(() => rm(root, { recursive: true, force: true }));

test('reads PNG/JPEG/WebP recursively, labels from sub-folders, skips broken files with one warning each', async (t) => {
  const warn = t.mock.method(console, 'warn', () => undefined);
  const dir = join(root, 'by-folder');
  const got = await readImageFolder(dir, { resolution: 8, channels: 3, order: 'ordered' });
  assert.deepEqual(got.files, ['cats/a.png', 'cats/b.JPG', 'dogs/c.webp', 'dogs/nested/d.png']);
  assert.deepEqual(got.classNames, ['cats', 'dogs']);
  assert.deepEqual(Array.from(got.labels ?? []), [0, 0, 1, 1]);
  assert.equal(got.labelSource, 'sub-folders');
  assert.deepEqual(got.skipped.sort(), ['cats/fake.png', 'dogs/broken.png']);
  assert.equal(got.pixels.length, 4 * 8 * 8 * 3);
  const centre = (i: number) => Array.from(got.pixels.subarray((i * 64 + 4 * 8 + 4) * 3, (i * 64 + 4 * 8 + 4) * 3 + 3));
  assert.deepEqual(centre(0), [255, 0, 0]);
  const jpeg = centre(1);
  assert.ok(jpeg[0] < 10 && jpeg[1] > 245 && jpeg[2] < 10, `JPEG centre ${jpeg}`);
  assert.deepEqual(centre(2), [0, 0, 255]);
  assert.deepEqual(centre(3), [128, 128, 128]);

  assert.equal(warn.mock.callCount(), 2);
  const messages = warn.mock.calls.map((c) => String(c.arguments[0]));
  for (const name of ['fake.png', 'broken.png']) {
    const lines = messages.filter((m) => m.includes(join(dir, name === 'fake.png' ? 'cats' : 'dogs', name)));
    assert.equal(lines.length, 1, `one warning naming ${name}: ${messages.join(' | ')}`);
    assert.ok(!lines[0].includes('\n'), 'the warning is one line');
  }
});

test('labels.csv gives the labels; grey output has one channel; limit keeps the first images', async (t) => {
  t.mock.method(console, 'warn', () => undefined);
  const dir = join(root, 'csv');
  const got = await readImageFolder(dir, { resolution: 16, channels: 1, order: 'ordered' });
  assert.deepEqual(got.files, ['sub/y.webp', 'x.png']);
  assert.deepEqual(got.classNames, ['coat', 'shirt']);
  assert.deepEqual(Array.from(got.labels ?? []), [0, 1]);
  assert.equal(got.labelSource, 'labels.csv');
  assert.equal(got.pixels.length, 2 * 16 * 16);
  assert.ok(got.pixels.subarray(0, 256).every((v) => v === 0));
  assert.ok(got.pixels.subarray(256).every((v) => v === 255));

  const one = await readImageFolder(dir, { resolution: 8, channels: 3, limit: 1, order: 'ordered' });
  assert.deepEqual(one.files, ['sub/y.webp']);
  assert.deepEqual(one.classNames, ['coat', 'shirt'], 'classes come from all files, not only the kept ones');

  // Integer labels are class indices.
  await writeFile(join(dir, 'labels.csv'), 'x.png,3\nsub/y.webp,0\n');
  const ints = await readImageFolder(dir, { resolution: 8, channels: 1, order: 'ordered' });
  assert.deepEqual(ints.classNames, ['0', '1', '2', '3']);
  assert.deepEqual(Array.from(ints.labels ?? []), [0, 3]);

  await writeFile(join(dir, 'labels.csv'), 'file,label\nx.png,shirt\n');
  await assert.rejects(readImageFolder(dir, { resolution: 8, channels: 1 }), /labels\.csv has no row for 1 image\(s\).*sub\/y\.webp/);
  await writeFile(join(dir, 'labels.csv'), 'x.png,a\nsub/y.webp,b\nz.png,c\n');
  await assert.rejects(readImageFolder(dir, { resolution: 8, channels: 1 }), /names 1 file\(s\) that are not images.*z\.png/);
  await writeFile(join(dir, 'labels.csv'), 'file,label\nx.png,shirt\n"sub/y.webp",coat\n');
});

test('a labelled folder is decoded in its classes\' interleaved hash order, so limit keeps every class', async () => {
  const dir = join(root, 'many');
  for (const cls of ['a', 'b']) for (let i = 0; i < 6; i++) await solid(join(dir, cls, `${i}.png`), [cls === 'a' ? 20 : 255, 40 * i, 0], 8, 8);
  const got = await readImageFolder(dir, { resolution: 8, limit: 4 });
  assert.equal(got.order, 'stratified');
  assert.deepEqual(Array.from(got.labels ?? []), [0, 1, 0, 1]);
  assert.equal(got.channels, 3, 'colour images: 3 channels without being asked');
  assert.equal(got.colourFiles.length, 4);
  const ordered = await readImageFolder(dir, { resolution: 8, limit: 4, order: 'ordered' });
  assert.deepEqual(ordered.files, ['a/0.png', 'a/1.png', 'a/2.png', 'a/3.png']);
});

test('images are resized to cover the square and centre-cropped', async () => {
  const got = await readImageFolder(join(root, 'wide'), { resolution: 16, channels: 3 });
  assert.equal(got.labels, null);
  assert.equal(got.labelSource, 'none');
  // The kept square is the middle 20 of 40 columns: green, apart from resampling at the two edges.
  for (let y = 0; y < 16; y++) {
    for (const x of [2, 8, 13]) {
      const [r, g, b] = got.pixels.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3);
      assert.ok(g > 240 && r < 15 && b < 15, `pixel (${x}, ${y}) = ${[r, g, b]}`);
    }
  }
});

test('a folder without images is an error naming the folder', async () => {
  const dir = join(root, 'empty');
  await assert.rejects(readImageFolder(dir, { resolution: 8, channels: 3 }), (err: Error) => {
    assert.ok(err.message.includes(dir) && /no images found/.test(err.message), err.message);
    return true;
  });
  await assert.rejects(readImageFolder(join(root, 'nope'), { resolution: 8, channels: 3 }), /nope: not a folder/);
});
