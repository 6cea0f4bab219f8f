// The shard processor, run by BullMQ in a worker thread (a sandboxed processor): the tensor work of a
// shard blocks this thread only, so the worker's main thread keeps renewing the shard's lock and
// checking for stalled jobs however long a batch takes. The thread is kept between shards, and with
// it the engine, the model and the dataset (src/batch/shard.ts ShardRunner).
import { threadId, workerData } from 'node:worker_threads';
import type { SandboxedJob } from 'bullmq';
import { startEngine, type StartOptions } from '../engine/backend.js';
import { ShardRunner, type ShardResult } from './shard.js';
import type { ShardJob } from './plan.js';

const log = (line: string) => console.error(`lia batch: ${line}`);

let ready: Promise<ShardRunner> | null = null;

function runner(): Promise<ShardRunner> {
  ready ??= (async () => {
    const engine = await startEngine((workerData as { engine?: StartOptions } | null)?.engine ?? {}, (notice) => log(notice));
    log(`thread ${threadId} of pid ${process.pid}: backend ${engine.backend}, ${engine.threads} thread(s)`);
    return new ShardRunner(log);
  })();
  return ready;
}

export default async function processShard(job: SandboxedJob<ShardJob, ShardResult>): Promise<ShardResult> {
  const r = await runner();
  return r.run(job.data, job.id!, (done, total) => job.updateProgress({ done, total }).catch(() => undefined));
}
