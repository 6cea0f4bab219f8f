import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, readIdxImages, readIdxLabels, readIdxPair } from './idx.js';

let dir: string;
const images = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 7) % 256);
const labels = Uint8Array.from([2, 0, 9]);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lia-idx-'));
  await writeFile(join(dir, 'images.idx'), encodeIdx([3, 4, 5], images));
  await writeFile(join(dir, 'images.idx.gz'), gzipSync(encodeIdx([3, 4, 5], images)));
  await writeFile(join(dir, 'labels.idx'), encodeIdx([3], labels));
  await writeFile(join(dir, 'labels-gz-no-suffix'), gzipSync(encodeIdx([3], labels)));
  await writeFile(join(dir, 'labels4.idx'), encodeIdx([4], Uint8Array.from([1, 2, 3, 4])));
});
after(() => rm(dir, { recursive: true, force: true }));

test('raw and gzipped IDX files read back exactly (gzip detected from content, not name)', async () => {
  for (const name of ['images.idx', 'images.idx.gz']) {
    const got = await readIdxImages(join(dir, name));
    assert.deepEqual([got.count, got.height, got.width], [3, 4, 5]);
    assert.deepEqual(got.pixels, images);
  }
  assert.deepEqual(await readIdxLabels(join(dir, 'labels.idx')), Int32Array.from(labels));
  assert.deepEqual(await readIdxLabels(join(dir, 'labels-gz-no-suffix')), Int32Array.from(labels));
  const pair = await readIdxPair(join(dir, 'images.idx.gz'), join(dir, 'labels.idx'));
  assert.deepEqual(pair.labels, Int32Array.from(labels));
  assert.equal((await readIdxPair(join(dir, 'images.idx'))).labels, null);
});

test('wrong magic names the file, the magic found and the one expected', async () => {
  const path = join(dir, 'labels.idx');
  await assert.rejects(readIdxImages(path), (err: Error) => {
    assert.ok(err.message.includes(path), err.message);
    assert.match(err.message, /magic 0x00000801, expected 0x00000803/);
    return true;
  });
  const text = join(dir, 'notes.txt');
  await writeFile(text, 'hello world, not an idx file');
  await assert.rejects(readIdxLabels(text), new RegExp(`${text}.*magic 0x68656c6c, expected 0x00000801`));
});

test('image and label counts that disagree name both files and both counts', async () => {
  const img = join(dir, 'images.idx');
  const lab = join(dir, 'labels4.idx');
  await assert.rejects(readIdxPair(img, lab), (err: Error) => {
    for (const part of [img, lab, '3 images', '4 labels']) assert.ok(err.message.includes(part), err.message);
    return true;
  });
});

test('truncated files (raw, gzipped, header only) are reported with the file name', async () => {
  const full = encodeIdx([3, 4, 5], images);
  const cut = join(dir, 'cut.idx');
  await writeFile(cut, full.subarray(0, full.length - 10));
  await assert.rejects(readIdxImages(cut), new RegExp(`${cut}: truncated IDX images file: header says \\[3, 4, 5\\] = 60 bytes of data, found 50`));
  const cutHeader = join(dir, 'cut-header.idx');
  await writeFile(cutHeader, full.subarray(0, 9));
  await assert.rejects(readIdxImages(cutHeader), new RegExp(`${cutHeader}: truncated IDX file`));
  const gz = gzipSync(full);
  const cutGz = join(dir, 'cut.idx.gz');
  await writeFile(cutGz, gz.subarray(0, gz.length - 12));
  await assert.rejects(readIdxImages(cutGz), new RegExp(`${cutGz}: cannot gunzip`));
  await assert.rejects(readIdxImages(join(dir, 'missing.idx')), /missing\.idx: no such file/);
});
