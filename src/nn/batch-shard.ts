// Data-parallel training splits each global batch of W·n rows over W ranks, rank r taking rows
// r, r + W, r + 2W, … (strided rather than contiguous so that the minibatch-std groups of the global
// batch — rows k, k + N/G, … in nn/minibatch-std.ts — fall whole into one rank when n is a multiple of
// the group size). Random inputs (latents, noise maps) are drawn for the global batch on every rank
// and cut with takeShard, so W ranks see exactly the rows one process would.
import * as tf from '@tensorflow/tfjs';

/** This process's share of a global batch: rank `rank` of `count` (count 1: the whole batch). */
export interface BatchShard {
  rank: number;
  count: number;
}

/** Row indices of `shard` within a global batch of `globalRows` rows. */
export function shardRows(globalRows: number, shard: BatchShard): number[] {
  if (globalRows % shard.count !== 0) throw new Error(`a global batch of ${globalRows} rows does not split over ${shard.count} ranks`);
  return Array.from({ length: globalRows / shard.count }, (_, j) => j * shard.count + shard.rank);
}

/** x [W·n, …] → this shard's rows [n, …] (x itself when there is one shard). */
export function takeShard<T extends tf.Tensor>(x: T, shard: BatchShard | undefined): T {
  if (!shard || shard.count === 1) return x;
  return tf.tidy(() => {
    const [rows, ...rest] = x.shape;
    if (rows % shard.count !== 0) throw new Error(`a global batch of ${rows} rows does not split over ${shard.count} ranks`);
    const n = rows / shard.count;
    const grouped = tf.reshape(x, [n, shard.count, ...rest]);
    return tf.reshape(tf.slice(grouped, [0, shard.rank, ...rest.map(() => 0)], [n, 1, ...rest]), [n, ...rest]) as T;
  });
}
