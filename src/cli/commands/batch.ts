// `lia batch submit | worker | status | retry-failed | collect`: encoding (and refining) many images
// as shard jobs on a BullMQ queue in Redis, run by any number of worker processes or machines.
// Without these commands nothing needs a server: `lia encode` and `lia invert` stay single-process.
import { Command, Option } from 'commander';
import { mkdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { addEngineOptions, parsePositiveInt, parseNumber, type EngineOptions } from '../engine-options.js';
import { FEATURE_LAYERS, type FeatureLayer } from '../../models/features.js';
import { REFINE_DEFAULTS } from '../../invert/refine.js';
import * as lia from '../../node.js';
import { planBatch, type SubmitOptions } from '../../batch/submit.js';
import { readManifest, writeManifest, manifestPath } from '../../batch/manifest.js';
import { addShardJobs, connect, openQueue, publicRedisUrl, retryFailed, runWorker, shardStates, DEFAULT_QUEUE_NAME } from '../../batch/queue.js';
import { summariseStatus } from '../../batch/status.js';
import { collectBatch, missingShards } from '../../batch/collect.js';
import { formatTable } from '../table.js';

const log = (line: string) => console.error(`lia batch: ${line}`);

function formatSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** The queue URL of a batch folder: --queue when given, else the one its manifest names (if it had no password). */
function queueOf(opts: { queue?: string }, manifestQueue: string): string {
  const url = opts.queue ?? manifestQueue;
  if (url.includes(':***@')) throw new Error(`the batch's queue needs a password: pass --queue redis://…`);
  return url;
}

export function registerBatch(program: Command): void {
  const batch = program.command('batch').description('encode (and refine) many images as shard jobs on a BullMQ queue in Redis: submit, run workers, watch, collect');

  batch
    .command('submit')
    .description('cut the images into shards and add one queue job per shard (a job id is a hash of its inputs and options: submitting again adds nothing)')
    .requiredOption('--queue <url>', 'Redis: redis://HOST:PORT[/DB]')
    .option('--name <queue>', 'queue name', DEFAULT_QUEUE_NAME)
    .requiredOption('--model <file>', 'encoder checkpoint or model folder (on storage every worker reads)')
    .requiredOption('--images <spec>', "a folder (its images in path order), a list file (one path per line), or a dataset spec as `lia encode` takes it ('test', 'train', fashion-mnist, mnist:…)")
    .requiredOption('--out <dir>', 'output folder: batch.json and shard-NNNNN/ folders')
    .addOption(new Option('--shard <n>', 'images per shard (job)').argParser(parsePositiveInt).default(512))
    .addOption(new Option('--batch <n>', 'images per forward pass (as lia encode --batch)').argParser(parsePositiveInt).default(64))
    .addOption(new Option('--limit <n>', 'the first N images only').argParser(parsePositiveInt))
    .addOption(new Option('--refine-steps <k>', 'Adam refinement steps after encoding (as lia invert --init encoder); 0: encode only').argParser((v) => Number.parseInt(v, 10)).default(0))
    .addOption(new Option('--space <s>', 'refinement space: y (one code per image) or wplus (one per style input)').choices(['y', 'wplus']).default('y'))
    .addOption(new Option('--lr <lr>', 'refinement learning rate').argParser(parseNumber).default(REFINE_DEFAULTS.lr))
    .option('--beta <w>', "refinement's perceptual weight: 'auto' (the encoder's β1 with its perceptual network, default) or a number; 0: pixel MSE only")
    .option('--perceptual-net <file>', "refinement's perceptual network (default: the encoder's)")
    .addOption(new Option('--perceptual-layer <name>', "its layer (default: the encoder's)").choices([...FEATURE_LAYERS]))
    .option('--save-images', 'also write each reconstruction as shard-NNNNN/images/<index>.png')
    .action(async (opts: Omit<SubmitOptions, 'saveImages'> & { saveImages?: boolean; perceptualLayer?: FeatureLayer }) => {
      const plan = await planBatch({ ...opts, saveImages: Boolean(opts.saveImages) });
      for (const n of plan.notices) log(`notice: ${n}`);
      const dir = resolve(opts.out);
      if (existsSync(manifestPath(dir))) {
        const old = readManifest(dir);
        if (old.key !== plan.manifest.key) throw new Error(`${dir} holds another batch (${old.images} with ${old.model}, other options); give another --out`);
      }
      const client = await connect(opts.queue);
      const queue = openQueue(opts.name, client);
      try {
        mkdirSync(dir, { recursive: true });
        writeManifest(dir, plan.manifest);
        const r = await addShardJobs(queue, plan.jobs);
        log(`${plan.manifest.total} images (${plan.manifest.inputs}) in ${plan.jobs.length} shards of ${opts.shard}: ${r.added} job(s) added, ${r.existing} already in queue '${opts.name}'`);
        console.log(JSON.stringify({ dir, shards: plan.jobs.length, images: plan.manifest.total, added: r.added, existing: r.existing }));
      } finally {
        await queue.close();
        client.disconnect();
      }
    });

  addEngineOptions(
    batch
      .command('worker')
      .description('run shard jobs from the queue until stopped (SIGINT/SIGTERM finish the active shard first)')
      .requiredOption('--queue <url>', 'Redis: redis://HOST:PORT[/DB]')
      .option('--name <queue>', 'queue name', DEFAULT_QUEUE_NAME)
      .addOption(new Option('--concurrency <n>', 'shards at once, each in its own worker thread (with its own engine, model and data)').argParser(parsePositiveInt).default(1))
      .addOption(new Option('--lock-seconds <s>', "a shard's lock: renewed while the worker runs; a dead worker's shard is back in the queue at most three lock durations after it died").argParser(parseNumber).default(30))
      .option('--exit-when-done', 'leave when no shard is waiting or active'),
  ).action(async (opts: EngineOptions & { queue: string; name: string; concurrency: number; lockSeconds: number; exitWhenDone?: boolean }) => {
    if (!(opts.lockSeconds >= 1)) throw new Error(`--lock-seconds must be at least 1, got ${opts.lockSeconds}`);
    await connect(opts.queue).then((c) => c.disconnect());
    log(`worker on queue '${opts.name}' at ${publicRedisUrl(opts.queue)}: concurrency ${opts.concurrency}, pid ${process.pid}`);
    const engine = { backend: opts.backend, threads: opts.threads, device: opts.device, fastKernels: opts.fastKernels };
    const r = await runWorker({ url: opts.queue, name: opts.name, concurrency: opts.concurrency, lockMs: Math.round(opts.lockSeconds * 1000), exitWhenDone: Boolean(opts.exitWhenDone), engine, log });
    log(`worker done: ${r.shards} shard(s), ${r.images} images in ${r.seconds.toFixed(1)} s`);
  });

  batch
    .command('status')
    .description('shards waiting / active / done / failed, images per second, ETA, and failures with their reasons')
    .requiredOption('--dir <dir>', 'the batch folder (submit --out)')
    .option('--queue <url>', "Redis (default: the batch's)")
    .option('--json', 'print one JSON object')
    .action(async (opts: { dir: string; queue?: string; json?: boolean }) => {
      const dir = resolve(opts.dir);
      const m = readManifest(dir);
      const client = await connect(queueOf(opts, m.queue));
      const queue = openQueue(m.name, client);
      try {
        const st = summariseStatus(dir, m, await shardStates(queue, m.shards));
        if (opts.json) {
          console.log(JSON.stringify(st));
          return;
        }
        const s = st.shards;
        console.log(
          formatTable(
            ['shards', 'waiting', 'active', 'done', 'failed', 'not queued', 'images done', 'failed images', 'images/s', 'ETA'],
            [[s.total, s.waiting, s.active, s.done, s.failed, s.missing, `${st.images.done}/${st.images.total}`, st.images.failed, st.imagesPerSec?.toFixed(1) ?? '–', st.etaSec === null ? '–' : formatSeconds(st.etaSec)]],
          ),
        );
        for (const a of st.active) console.log(`active ${a.jobId}: ${((100 * a.done) / Math.max(1, a.total)).toFixed(0)} %`);
        for (const f of st.failedShards) console.log(`failed shard ${f.jobId}: ${f.reason}`);
        for (const f of st.failedImages.slice(0, 20)) console.log(`failed image ${f.index} ${f.name}: ${f.reason}`);
        if (st.failedImages.length > 20) console.log(`… and ${st.failedImages.length - 20} more failed images (--json lists all)`);
        if (s.missing) console.log(`${s.missing} shard(s) are neither queued nor on disk: \`lia batch retry-failed\` reruns finished ones whose folder was removed; running the same \`lia batch submit\` again re-adds jobs Redis lost`);
      } finally {
        await queue.close();
        client.disconnect();
      }
    });

  batch
    .command('retry-failed')
    .description('put the shards that failed after all their attempts back in the queue, and the finished ones whose folder is gone')
    .requiredOption('--dir <dir>', 'the batch folder (submit --out)')
    .option('--queue <url>', "Redis (default: the batch's)")
    .action(async (opts: { dir: string; queue?: string }) => {
      const dir = resolve(opts.dir);
      const m = readManifest(dir);
      const client = await connect(queueOf(opts, m.queue));
      const queue = openQueue(m.name, client);
      try {
        const gone = new Set(missingShards(dir, m));
        const retried = await retryFailed(queue, m.shards.map((s) => ({ jobId: s.jobId, folderMissing: gone.has(s.shard) })));
        log(`${retried.length} shard(s) back in queue '${m.name}'${retried.length ? `: ${retried.slice(0, 8).join(', ')}${retried.length > 8 ? ', …' : ''}` : ''}`);
      } finally {
        await queue.close();
        client.disconnect();
      }
    });

  batch
    .command('collect')
    .description("concatenate every shard's codes in input order into one codes file (what lia decode reads); failed images are listed in its metadata")
    .requiredOption('--dir <dir>', 'the batch folder (submit --out)')
    .requiredOption('--out <file>', 'codes (.safetensors)')
    .action(async (opts: { dir: string; out: string }) => {
      const c = collectBatch(resolve(opts.dir));
      await lia.writeCodes(opts.out, c.file);
      const spaces = Object.entries(c.file.codes).map(([k, v]) => `${k} [${v.shape.join(', ')}]`).join(', ');
      log(`wrote ${opts.out}: ${spaces} from ${c.shards} shards${c.failed.length ? `; ${c.failed.length} image(s) failed and have no code (listed in the file's metadata, e.g. ${c.failed[0].name}: ${c.failed[0].reason})` : ''}`);
    });
}
