// Batch jobs on BullMQ and Redis: submit a batch (one job per shard), run workers, report status,
// retry failed shards. BullMQ gives at-least-once delivery: a worker that dies loses its job's lock,
// and the stalled-job check of another worker puts the job back in the queue; shard outputs are
// idempotent (src/batch/shard.ts), so running a shard twice is harmless.
import { Redis } from 'ioredis';
import { Queue, Worker, type Job } from 'bullmq';
import { fileURLToPath } from 'node:url';
import type { StartOptions } from '../engine/backend.js';
import type { ShardJob } from './plan.js';
import type { ShardResult } from './shard.js';

/** The queue name workers serve unless --name says otherwise. */
export const DEFAULT_QUEUE_NAME = 'lia-batch';

/** redis://[user:password@]host:port[/db] (or rediss:// for TLS), checked before any connection. */
export function parseRedisUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue: expected redis://HOST:PORT[/DB], got '${url}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--queue: expected a redis:// or rediss:// URL, got '${url}'`);
  if (!u.hostname) throw new Error(`--queue: no host in '${url}'`);
  if (u.pathname && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname)) throw new Error(`--queue: the path of '${url}' must be a database number (/0, /1, …)`);
  return u;
}

/** The URL without its password, for files and logs. */
export function publicRedisUrl(url: string): string {
  const u = parseRedisUrl(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/**
 * An ioredis client for BullMQ. Workers need `maxRetriesPerRequest: null` (their blocking commands
 * wait through a Redis restart); short-lived commands (submit, status) fail fast instead, with a
 * message naming the server. BullMQ 6 in ESM needs a constructed client, not plain options.
 */
export function redisClient(url: string, role: 'worker' | 'client'): Redis {
  parseRedisUrl(url);
  if (role === 'worker') return new Redis(url, { maxRetriesPerRequest: null });
  return new Redis(url, { maxRetriesPerRequest: 2, retryStrategy: (times) => (times > 3 ? null : 200 * times), lazyConnect: true });
}

/** Connects a client, or throws a clear error naming the server. */
export async function connect(url: string): Promise<Redis> {
  const client = redisClient(url, 'client');
  client.on('error', () => undefined); // reported by the failing command below
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    client.disconnect();
    throw new Error(`cannot reach Redis at ${publicRedisUrl(url)} (${(e as Error).message}); start one with \`redis-server --appendonly yes\` or pass --queue`);
  }
  return client;
}

export function openQueue(name: string, client: Redis): Queue<ShardJob, ShardResult> {
  return new Queue<ShardJob, ShardResult>(name, { connection: client });
}

/** Retries of a shard that throws (a missing model, a full disk) before it counts as failed. */
export const JOB_ATTEMPTS = 3;

export interface AddResult {
  added: number;
  existing: number;
}

/** Adds shard jobs; those whose id the queue already holds (in any state) are left as they are. */
export async function addShardJobs(queue: Queue<ShardJob, ShardResult>, jobs: Array<{ id: string; data: ShardJob }>): Promise<AddResult> {
  let added = 0;
  let existing = 0;
  const CHUNK = 500;
  for (let s = 0; s < jobs.length; s += CHUNK) {
    const part = jobs.slice(s, s + CHUNK);
    const present = await Promise.all(part.map((j) => queue.getJob(j.id)));
    const fresh = part.filter((_, k) => !present[k]);
    existing += part.length - fresh.length;
    added += fresh.length;
    if (fresh.length) {
      await queue.addBulk(
        fresh.map((j) => ({
          name: 'shard',
          data: j.data,
          // removeOnComplete/Fail false: the finished job stays, so adding the same id again adds nothing.
          opts: { jobId: j.id, attempts: JOB_ATTEMPTS, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false, removeOnFail: false },
        })),
      );
    }
  }
  return { added, existing };
}

export interface WorkerOptions {
  url: string;
  name: string;
  concurrency: number;
  /** Lock of an active shard; renewed every half of it while the worker runs, lost when it dies. */
  lockMs: number;
  /** Leave when no shard is waiting, delayed or active (a dead worker's shard counts as active until it is put back). */
  exitWhenDone: boolean;
  /** The tensor backend of the processor threads. */
  engine: StartOptions;
  log: (line: string) => void;
}

/** The sandboxed processor (src/batch/processor.ts), run in worker threads. */
const PROCESSOR = fileURLToPath(new URL('./processor.js', import.meta.url));

/**
 * Runs a worker until it is closed (SIGINT/SIGTERM) or, with exitWhenDone, the queue is empty. Shards
 * run in worker threads (one per --concurrency), so this thread only talks to Redis: lock renewal
 * does not wait for tensor work.
 */
export async function runWorker(opts: WorkerOptions): Promise<{ shards: number; images: number; seconds: number }> {
  const client = redisClient(opts.url, 'worker');
  client.on('error', (e) => opts.log(`redis: ${e.message}`));
  let shards = 0;
  let images = 0;
  const t0 = performance.now();
  const worker = new Worker<ShardJob, ShardResult>(
    opts.name,
    PROCESSOR,
    {
      useWorkerThreads: true,
      workerThreadsOptions: { workerData: { engine: opts.engine } },
      connection: client,
      concurrency: opts.concurrency,
      lockDuration: opts.lockMs,
      // The stalled-job check runs as often as a lock lasts and moves a job whose lock is gone at the
      // second check that finds it: a dead worker's shard is back in the queue at most three lock
      // durations after its last renewal.
      stalledInterval: opts.lockMs,
      maxStalledCount: 3,
    },
  );
  worker.on('error', (e) => opts.log(`worker: ${e.message}`));
  worker.on('active', (job: Job<ShardJob, ShardResult>) => opts.log(`start ${job.id} (${job.data.count} images, attempt ${job.attemptsMade + 1}, stalled ${job.stalledCounter})`));
  worker.on('completed', (job, r) => {
    shards++;
    images += r.images;
    opts.log(`done ${job.id}: ${r.alreadyDone ? 'already on disk' : `${r.images} images in ${r.seconds.toFixed(2)} s`}${r.failed.length ? `, ${r.failed.length} failed image(s)` : ''}`);
  });
  worker.on('failed', (job, e) => opts.log(`failed ${job?.id}: ${e.message}`));
  worker.on('lockRenewalFailed', (ids) => opts.log(`lock renewal failed for ${ids.join(', ')}`));

  let closing: Promise<void> | null = null;
  const close = () => (closing ??= worker.close().then(() => undefined));
  const onSignal = (sig: string) => {
    if (closing) {
      opts.log(`${sig} again: leaving now`);
      process.exit(130);
    }
    opts.log(`${sig}: finishing the active shard(s), then leaving`);
    void close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let poll: NodeJS.Timeout | undefined;
  if (opts.exitWhenDone) {
    const queue = openQueue(opts.name, client);
    await new Promise<void>((resolvePoll) => {
      const check = async () => {
        if (closing) return resolvePoll();
        try {
          const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
          if (Object.values(c).every((v) => v === 0)) {
            opts.log('queue empty: leaving');
            await close();
            return resolvePoll();
          }
        } catch (e) {
          opts.log(`queue check: ${(e as Error).message}`);
        }
        poll = setTimeout(check, 1000);
      };
      poll = setTimeout(check, 1000);
    });
    await queue.close();
  }
  await (closing ?? new Promise<void>((r) => worker.once('closed', () => r())));
  clearTimeout(poll);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await client.quit().catch(() => client.disconnect());
  return { shards, images, seconds: (performance.now() - t0) / 1000 };
}

export type ShardState = 'waiting' | 'active' | 'done' | 'failed' | 'missing';

export interface ShardStatus {
  jobId: string;
  state: ShardState;
  count: number;
  progress?: { done: number; total: number };
  failedReason?: string;
  result?: ShardResult;
  processedOn?: number;
  finishedOn?: number;
}

/** The state of each shard job in the queue (not looking at the disk). */
export async function shardStates(queue: Queue<ShardJob, ShardResult>, shards: Array<{ jobId: string; count: number }>): Promise<ShardStatus[]> {
  const out: ShardStatus[] = [];
  const CHUNK = 200;
  for (let s = 0; s < shards.length; s += CHUNK) {
    const part = shards.slice(s, s + CHUNK);
    const jobs = await Promise.all(part.map((sh) => queue.getJob(sh.jobId)));
    const states = await Promise.all(jobs.map((j) => (j ? j.getState() : Promise.resolve('missing' as const))));
    part.forEach((sh, k) => {
      const j = jobs[k];
      const st = states[k];
      const state: ShardState = st === 'completed' ? 'done' : st === 'failed' ? 'failed' : st === 'active' ? 'active' : st === 'missing' || st === 'unknown' ? 'missing' : 'waiting';
      const p = j?.progress as { done?: number; total?: number } | undefined;
      out.push({
        jobId: sh.jobId,
        state,
        count: sh.count,
        progress: state === 'active' && p && typeof p.done === 'number' && typeof p.total === 'number' ? { done: p.done, total: p.total } : undefined,
        failedReason: state === 'failed' ? j?.failedReason : undefined,
        result: state === 'done' ? (j?.returnvalue ?? undefined) : undefined,
        processedOn: j?.processedOn,
        finishedOn: j?.finishedOn,
      });
    });
  }
  return out;
}

/** Puts failed shard jobs back in the queue, and finished ones whose output folder is gone; returns their ids. */
export async function retryFailed(queue: Queue<ShardJob, ShardResult>, shards: Array<{ jobId: string; folderMissing: boolean }>): Promise<string[]> {
  const retried: string[] = [];
  for (const { jobId, folderMissing } of shards) {
    const job = await queue.getJob(jobId);
    const state = job ? await job.getState() : null;
    if (job && (state === 'failed' || (state === 'completed' && folderMissing))) {
      await job.retry(state);
      retried.push(jobId);
    }
  }
  return retried;
}
