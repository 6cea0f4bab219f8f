// `lia batch status`: the shards' states (from the queue, with the disk as the authority on what is
// done), throughput over the finished shards, an ETA, and every failure with its reason.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchManifest } from './manifest.js';
import type { ShardStatus } from './queue.js';
import { readShardEntries, shardDir, SHARD_FILES } from './shard.js';

export interface BatchStatus {
  shards: { total: number; waiting: number; active: number; done: number; failed: number; missing: number };
  images: { total: number; done: number; failed: number };
  /** Images per second over the finished shards: their images over the span from the first start to the last finish. */
  imagesPerSec: number | null;
  etaSec: number | null;
  active: Array<{ jobId: string; done: number; total: number }>;
  failedShards: Array<{ jobId: string; reason: string }>;
  failedImages: Array<{ index: number; name: string; reason: string }>;
}

export function summariseStatus(dir: string, m: BatchManifest, states: ShardStatus[]): BatchStatus {
  const s = { total: m.shards.length, waiting: 0, active: 0, done: 0, failed: 0, missing: 0 };
  const images = { total: m.total, done: 0, failed: 0 };
  const active: BatchStatus['active'] = [];
  const failedShards: BatchStatus['failedShards'] = [];
  const failedImages: BatchStatus['failedImages'] = [];
  let first = Infinity;
  let last = -Infinity;
  let timed = 0;
  m.shards.forEach((shard, k) => {
    const st = states[k];
    const sdir = shardDir({ dir, shard: shard.shard });
    const onDisk = existsSync(join(sdir, SHARD_FILES.mse));
    if (onDisk) {
      s.done++;
      const entries = readShardEntries(sdir);
      for (const e of entries) {
        if (e.error !== undefined) failedImages.push({ index: e.index, name: e.name, reason: e.error });
      }
      const bad = entries.filter((e) => e.error !== undefined).length;
      images.done += shard.count - bad;
      images.failed += bad;
      if (st.result && !st.result.alreadyDone && st.processedOn && st.finishedOn) {
        first = Math.min(first, st.processedOn);
        last = Math.max(last, st.finishedOn);
        timed += shard.count;
      }
      return;
    }
    if (st.state === 'active') {
      s.active++;
      if (st.progress) active.push({ jobId: st.jobId, ...st.progress });
    } else if (st.state === 'failed') {
      s.failed++;
      failedShards.push({ jobId: st.jobId, reason: st.failedReason ?? 'unknown' });
    } else if (st.state === 'missing' || st.state === 'done') s.missing++; // done in the queue but its folder is gone: retry-failed reruns it
    else s.waiting++;
  });
  const span = (last - first) / 1000;
  const imagesPerSec = timed > 0 && span > 0 ? timed / span : null;
  const left = images.total - images.done - images.failed;
  return { shards: s, images, imagesPerSec, etaSec: imagesPerSec ? left / imagesPerSec : null, active, failedShards, failedImages };
}
