// takeShard cuts rows r, r + W, … of a global batch; with W = 1 it is the identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { shardRows, takeShard } from './batch-shard.js';

test('takeShard: strided rows of a global batch, for any trailing shape', async () => {
  await initEngine({ backend: 'cpu' });
  const before = tf.memory().numTensors;
  const x = tf.tensor3d(Array.from({ length: 6 * 2 * 3 }, (_, i) => i), [6, 2, 3]);
  const rows = (t: tf.Tensor) => (t.arraySync() as number[][][]).map((r) => r[0][0] / 6);
  for (const count of [1, 2, 3]) {
    for (let rank = 0; rank < count; rank++) {
      const part = takeShard(x, { rank, count });
      assert.deepEqual(rows(part), shardRows(6, { rank, count }));
      assert.deepEqual(shardRows(6, { rank, count }), [0, 1, 2, 3, 4, 5].filter((i) => i % count === rank));
      if (part !== x) part.dispose();
    }
  }
  assert.equal(takeShard(x, undefined), x);
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => shardRows(6, { rank: 0, count: 4 }), /does not split over 4 ranks/);
});
