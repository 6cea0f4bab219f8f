import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchIterator, evalBatches, toUnitRange, type Batch } from './batches.js';
import { imageAt, loadDataset, type Dataset } from './dataset.js';

const load = () => loadDataset('shapes:100', { resolution: 8, train: 80 });
const same = (a: Batch, b: Batch) => {
  assert.deepEqual(a.indices, b.indices);
  assert.deepEqual(a.mirrored, b.mirrored);
  assert.deepEqual(a.data, b.data);
  assert.equal(a.epoch, b.epoch);
};

/** The image as float [-1, 1], optionally mirrored left–right: the reference for batch contents. */
function reference(ds: Dataset, i: number, mirror: boolean): Float32Array {
  const { resolution: r, channels: c } = ds;
  const src = toUnitRange(imageAt(ds, i));
  const out = new Float32Array(src.length);
  for (let y = 0; y < r; y++) for (let x = 0; x < r; x++) for (let k = 0; k < c; k++) {
    out[(y * r + x) * c + k] = src[(y * r + (mirror ? r - 1 - x : x)) * c + k];
  }
  return out;
}

test('batches are float NHWC in [-1, 1], x / 127.5 − 1, with labels; an epoch visits each train image once', async () => {
  const ds = await load();
  const it = new BatchIterator(ds, { batchSize: 16, seed: 1 });
  assert.equal(it.batchesPerEpoch, 5);
  const seen: number[] = [];
  for (let b = 0; b < 5; b++) {
    const batch = it.next();
    assert.deepEqual(batch.shape, [16, 8, 8, 3]);
    assert.equal(batch.data.length, 16 * 8 * 8 * 3);
    assert.ok(batch.data.every((v) => v >= -1 && v <= 1));
    assert.equal(batch.epoch, 0);
    batch.indices.forEach((i, k) => {
      assert.deepEqual(batch.data.subarray(k * 192, (k + 1) * 192), reference(ds, i, false));
      assert.equal(batch.labels?.[k], ds.labels?.[i]);
    });
    seen.push(...batch.indices);
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 80 }, (_, i) => i));
  assert.notDeepEqual(seen, Array.from({ length: 80 }, (_, i) => i), 'shuffled');
  const next = it.next();
  assert.equal(next.epoch, 1);
  assert.deepEqual(toUnitRange(Uint8Array.from([0, 255, 128])), Float32Array.from([-1, 1, 128 / 127.5 - 1]));
});

test('mirroring flips about half the images left–right, exactly', async () => {
  const ds = await load();
  const it = new BatchIterator(ds, { batchSize: 40, seed: 3, mirror: true });
  let flipped = 0;
  for (let b = 0; b < 4; b++) {
    const batch = it.next();
    batch.indices.forEach((i, k) => {
      assert.deepEqual(batch.data.subarray(k * 192, (k + 1) * 192), reference(ds, i, batch.mirrored[k] === 1));
      flipped += batch.mirrored[k];
    });
  }
  assert.ok(flipped > 55 && flipped < 105, `${flipped} of 160 mirrored`);
  assert.ok(new BatchIterator(ds, { batchSize: 40 }).next().mirrored.every((m) => m === 0), 'no mirroring unless asked');
});

test('the stream is deterministic from the seed and resumes exactly from a saved state', async () => {
  const ds = await load();
  const opts = { batchSize: 12, seed: 7, mirror: true };
  const a = new BatchIterator(ds, opts);
  const b = new BatchIterator(ds, opts);
  for (let i = 0; i < 8; i++) same(a.next(), b.next());
  assert.notDeepEqual(new BatchIterator(ds, { ...opts, seed: 8 }).next().indices, new BatchIterator(ds, opts).next().indices);

  // Save mid-epoch (6 batches per epoch), run on across two epoch boundaries, resume a fresh iterator.
  const saved = JSON.parse(JSON.stringify(a.getState()));
  const expected = Array.from({ length: 10 }, () => a.next());
  const resumed = new BatchIterator(ds, opts);
  resumed.setState(saved);
  for (const batch of expected) same(resumed.next(), batch);
  assert.equal(resumed.imagesSeen, a.imagesSeen);

  assert.throws(() => new BatchIterator(ds, { ...opts, batchSize: 10 }).setState(saved), /batchSize = 12, this iterator 10/);
  assert.throws(() => new BatchIterator(ds, { ...opts, split: 'all' }).setState(saved), /covers images \[0, 80\), this iterator \[0, 100\)/);
});

test('evalBatches walks a split in order with a short last batch; bad sizes are errors', async () => {
  const ds = await load();
  const batches = [...evalBatches(ds, 'test', 8)];
  assert.deepEqual(batches.map((b) => b.shape[0]), [8, 8, 4]);
  assert.deepEqual(batches.flatMap((b) => Array.from(b.indices)), Array.from({ length: 20 }, (_, i) => 80 + i));
  assert.deepEqual(batches[2].data.subarray(0, 192), reference(ds, 96, false));
  assert.throws(() => new BatchIterator(ds, { batchSize: 21, split: 'test' }), /batch size 21 is larger than the 20 images of \[80, 100\)/);
  assert.throws(() => new BatchIterator(ds, { batchSize: 4, split: { start: 90, end: 120 } }), /not inside the dataset's 100 images/);
});

test('shards: 2 iterators of one seed take rows r, r + 2, … of the same global batches (data-parallel)', async () => {
  const ds = await load();
  const whole = new BatchIterator(ds, { batchSize: 8, seed: 5, mirror: true });
  const shards = [0, 1].map((rank) => new BatchIterator(ds, { batchSize: 8, seed: 5, mirror: true, shard: { rank, count: 2 } }));
  const imageSize = ds.resolution * ds.resolution * ds.channels;
  for (let step = 0; step < 25; step++) {
    // 25 steps of 8 from 80 images: three epoch boundaries.
    const g = whole.next();
    const parts = shards.map((s) => s.next());
    for (const [rank, p] of parts.entries()) {
      assert.equal(p.indices.length, 4);
      assert.equal(p.epoch, g.epoch);
      for (let j = 0; j < 4; j++) {
        const row = 2 * j + rank;
        assert.equal(p.indices[j], g.indices[row]);
        assert.equal(p.mirrored[j], g.mirrored[row]);
        assert.deepEqual(p.data.subarray(j * imageSize, (j + 1) * imageSize), g.data.subarray(row * imageSize, (row + 1) * imageSize));
      }
    }
    assert.equal(new Set([...parts[0].indices, ...parts[1].indices]).size, 8, 'disjoint shares');
  }
  assert.deepEqual(shards[1].getState(), whole.getState(), 'a shard resumes from the global state');
  assert.throws(() => new BatchIterator(ds, { batchSize: 8, shard: { rank: 0, count: 3 } }), /batch shard 0 of 3 does not fit a global batch of 8/);
});
