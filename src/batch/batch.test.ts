// lia batch end to end against a real Redis (started here on a free port, stopped at the end), with
// the shipped Fashion-MNIST model on LIA_TEST_BACKEND (default wasm), one thread per worker:
// - three workers, one SIGKILLed in the middle of a shard: every shard finishes, every image is in
//   collect's output exactly once, in input order, with the very bits `lia encode` writes; no shard
//   but the killed one ran twice (the others kept their 2-second locks while they worked);
// - a corrupt image fails only its own entry; submitting twice adds no job and runs no shard again;
//   a shard whose folder is removed is rerun by retry-failed and writes the same bytes;
// - Redis restarted (append-only file) in the middle of a run: no job is lost, the run finishes.
// Skips with a message when redis-server or the Fashion-MNIST files are missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { TestRedis, redisServerMissing } from '../testing/redis.js';
import { readSafetensorsFile } from '../io/safetensors-file.js';
import { FASHION_MNIST_DIR, loadDataset } from '../data/index.js';

const BACKEND = process.env.LIA_TEST_BACKEND ?? 'wasm';
const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../models/fmnist32-lia/model.safetensors', import.meta.url));
const IMAGES = 384; // 6 shards of 64, each a few seconds' work for one wasm thread
const skip = redisServerMissing() || (existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz')) ? false : `no Fashion-MNIST at ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
if (skip) console.log(`# skipping lia batch tests: ${skip}`);

const tmp = mkdtempSync(join(tmpdir(), 'lia-batch-'));
const engine = ['--backend', BACKEND, '--threads', '1'];

function lia(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `lia ${args.join(' ')}\n${r.stderr}`);
  return r;
}

interface WorkerProc {
  proc: ChildProcess;
  lines: string[];
  exit: Promise<number | null>;
  waitFor(re: RegExp, ms?: number): Promise<string>;
}

function startWorker(url: string, lockSeconds: number): WorkerProc {
  const proc = spawn(process.execPath, [cli, 'batch', 'worker', '--queue', url, '--lock-seconds', String(lockSeconds), '--exit-when-done', ...engine], { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) if (w.re.test(line)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(line));
    }
  });
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const waitFor = (re: RegExp, ms = 120_000) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((l) => re.test(l));
      if (seen) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`no line matching ${re} in ${ms} ms:\n${lines.join('\n')}`)), ms);
      waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  return { proc, lines, exit, waitFor };
}

const started = (ws: WorkerProc[]) => ws.flatMap((w) => w.lines.map((l) => /lia batch: start (\S+)/.exec(l)?.[1]).filter((id): id is string => Boolean(id)));

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function codes(path: string) {
  const f = await readSafetensorsFile(path);
  return { names: JSON.parse(f.metadata.names) as string[], about: JSON.parse(f.metadata.config ?? '{}') as Record<string, unknown>, tensors: f.tensors };
}

function assertSameCodes(got: Awaited<ReturnType<typeof codes>>, want: Awaited<ReturnType<typeof codes>>, what: string) {
  assert.deepEqual(got.names, want.names, `${what}: names (each image once, in input order)`);
  assert.deepEqual(Object.keys(got.tensors).sort(), Object.keys(want.tensors).sort());
  for (const k of Object.keys(want.tensors)) {
    const a = got.tensors[k].data as Float32Array;
    const b = want.tensors[k].data as Float32Array;
    assert.deepEqual(got.tensors[k].shape, want.tensors[k].shape);
    // Bit for bit: compare the raw bytes, not the values.
    assert.ok(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${what}: codes '${k}' differ from lia encode's`);
  }
}

let reference: Awaited<ReturnType<typeof codes>>;
const servers: TestRedis[] = [];
const workers: WorkerProc[] = [];

before(async () => {
  if (skip) return;
  lia('encode', '--ckpt', MODEL, '--images', 'test', '--limit', String(IMAGES), '--batch', '64', '--out', join(tmp, 'ref.safetensors'), ...engine);
  reference = await codes(join(tmp, 'ref.safetensors'));
});

after(async () => {
  for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
  for (const s of servers) await s.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('three workers, one SIGKILLed mid-shard: every shard finishes, every image once, codes equal lia encode bit for bit', { skip }, async () => {
  const redis = await TestRedis.start();
  servers.push(redis);
  const dir = join(tmp, 'kill');
  lia('batch', 'submit', '--queue', redis.url, '--model', MODEL, '--images', 'test', '--limit', String(IMAGES), '--shard', '64', '--batch', '64', '--out', dir);
  const ws = [0, 1, 2].map(() => startWorker(redis.url, 2));
  workers.push(...ws);
  const [victim, ...rest] = ws;
  const victimJob = /start (\S+)/.exec(await victim.waitFor(/lia batch: start /))![1];
  // The first shard of a worker also loads the dataset and the model: 0.5 s in, it is mid-shard.
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!victim.lines.some((l) => l.includes(`done ${victimJob}`)), 'the victim finished its shard before the kill: the test would prove nothing');
  victim.proc.kill('SIGKILL');
  const codesOut = await withTimeout(Promise.all(rest.map((w) => w.exit)), 150_000, 'the surviving workers');
  assert.deepEqual(codesOut, [0, 0], rest.map((w) => w.lines.join('\n')).join('\n---\n'));

  // The killed shard ran twice (once killed), every other shard once: locks held while working.
  const starts = started(ws);
  const count = new Map<string, number>();
  for (const id of starts) count.set(id, (count.get(id) ?? 0) + 1);
  assert.equal(count.size, IMAGES / 64);
  assert.equal(count.get(victimJob), 2, starts.join('\n'));
  for (const [id, n] of count) if (id !== victimJob) assert.equal(n, 1, `${id} started ${n} times`);
  // Nothing half-written is left: no temporary shard folders.
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), []);

  lia('batch', 'collect', '--dir', dir, '--out', join(tmp, 'kill.safetensors'));
  assertSameCodes(await codes(join(tmp, 'kill.safetensors')), reference, 'collected after a kill');
  const status = JSON.parse(lia('batch', 'status', '--dir', dir, '--json').stdout);
  assert.deepEqual(status.shards, { total: 6, waiting: 0, active: 0, done: 6, failed: 0, missing: 0 });
  assert.deepEqual(status.images, { total: IMAGES, done: IMAGES, failed: 0 });
  assert.ok(status.imagesPerSec > 0);
  await redis.stop();
});

test('a corrupt image fails only its entry; submitting twice adds nothing and runs nothing twice', { skip }, async () => {
  const redis = await TestRedis.start();
  servers.push(redis);
  // 21 Fashion-MNIST test images as PNG files, the 19th (img-018.png) corrupt: shards of 8 put it
  // in the last shard, whose 4 good images are one batch for both lia encode and the worker.
  const folder = join(tmp, 'pngs');
  mkdirSync(folder);
  const ds = await loadDataset('fashion-mnist', { resolution: 32, channels: 1 });
  for (let i = 0; i < 21; i++) {
    const path = join(folder, `img-${String(i).padStart(3, '0')}.png`);
    if (i === 18) writeFileSync(path, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png')]));
    else {
      const px = ds.pixels.subarray((ds.test.start + i) * 1024, (ds.test.start + i + 1) * 1024);
      await sharp(Buffer.from(px), { raw: { width: 32, height: 32, channels: 1 } }).png().toFile(path);
    }
  }
  const dir = join(tmp, 'corrupt');
  const submit = () => JSON.parse(lia('batch', 'submit', '--queue', redis.url, '--model', MODEL, '--images', folder, '--shard', '8', '--batch', '8', '--out', dir).stdout);
  assert.deepEqual([submit(), submit()].map((r) => [r.added, r.existing]), [[3, 0], [0, 3]]);
  const waiting = JSON.parse(lia('batch', 'status', '--dir', dir, '--json').stdout);
  assert.equal(waiting.shards.waiting, 3);

  const w1 = startWorker(redis.url, 5);
  workers.push(w1);
  assert.equal(await withTimeout(w1.exit, 120_000, 'the worker'), 0, w1.lines.join('\n'));
  assert.equal(started([w1]).length, 3, w1.lines.join('\n'));

  const entries = JSON.parse(readFileSync(join(dir, 'shard-00002', 'mse.json'), 'utf8')).images as Array<{ index: number; name: string; mse?: number; error?: string }>;
  assert.deepEqual(entries.map((e) => e.index), [16, 17, 18, 19, 20]);
  assert.match(entries[2].error ?? '', /cannot decode/);
  assert.equal(entries[2].mse, undefined);
  for (const e of [entries[0], entries[1], entries[3], entries[4]]) assert.ok(e.error === undefined && e.mse! > 0 && e.mse! < 0.1, JSON.stringify(e));

  lia('batch', 'collect', '--dir', dir, '--out', join(tmp, 'corrupt.safetensors'));
  lia('encode', '--ckpt', MODEL, '--images', folder, '--batch', '8', '--out', join(tmp, 'corrupt-ref.safetensors'), ...engine);
  const got = await codes(join(tmp, 'corrupt.safetensors'));
  assertSameCodes(got, await codes(join(tmp, 'corrupt-ref.safetensors')), 'a folder with a corrupt image');
  assert.equal(got.names.length, 20);
  assert.deepEqual((got.about.failed as Array<{ name: string }>).map((f) => f.name), ['img-018.png']);
  const status = JSON.parse(lia('batch', 'status', '--dir', dir, '--json').stdout);
  assert.deepEqual(status.images, { total: 21, done: 20, failed: 1 });
  assert.equal(status.failedImages[0].name, 'img-018.png');

  // A finished shard whose folder is removed: status counts it missing, retry-failed reruns it, and
  // the rerun writes the same bytes.
  const kept = readFileSync(join(dir, 'shard-00001', 'codes.safetensors'));
  rmSync(join(dir, 'shard-00001'), { recursive: true });
  assert.equal(JSON.parse(lia('batch', 'status', '--dir', dir, '--json').stdout).shards.missing, 1);
  assert.match(lia('batch', 'retry-failed', '--dir', dir).stderr, /1 shard\(s\) back/);
  const w3 = startWorker(redis.url, 5);
  workers.push(w3);
  assert.equal(await withTimeout(w3.exit, 60_000, 'the retrying worker'), 0);
  assert.equal(started([w3]).length, 1, w3.lines.join('\n'));
  assert.ok(readFileSync(join(dir, 'shard-00001', 'codes.safetensors')).equals(kept), 'the rerun shard wrote other bytes');

  // After the run: submitting again adds nothing, and a worker finds nothing to do.
  assert.deepEqual([submit()].map((r) => [r.added, r.existing]), [[0, 3]]);
  const w2 = startWorker(redis.url, 5);
  workers.push(w2);
  assert.equal(await withTimeout(w2.exit, 60_000, 'the second worker'), 0);
  assert.equal(started([w2]).length, 0, w2.lines.join('\n'));
  await redis.stop();
});

test('Redis restarted (append-only file) during a run: no job lost, every shard done', { skip }, async () => {
  const redis = await TestRedis.start();
  servers.push(redis);
  const dir = join(tmp, 'restart');
  lia('batch', 'submit', '--queue', redis.url, '--model', MODEL, '--images', 'test', '--limit', String(IMAGES), '--shard', '64', '--batch', '64', '--out', dir);
  const ws = [startWorker(redis.url, 3), startWorker(redis.url, 3)];
  workers.push(...ws);
  await Promise.race(ws.map((w) => w.waitFor(/lia batch: done /)));
  const doneBefore = ws.flatMap((w) => w.lines.filter((l) => / done /.test(l) && !l.includes('worker done'))).length;
  await redis.restart();
  // Straight after the restart the queue holds every job, and the finished ones are still finished.
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue('lia-batch', { connection: client });
  const counts = await queue.getJobCounts('completed', 'active', 'waiting', 'delayed', 'failed', 'prioritized');
  await queue.close();
  client.disconnect();
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), IMAGES / 64, JSON.stringify(counts));
  assert.ok(counts.completed >= doneBefore, `${counts.completed} completed after the restart, ${doneBefore} before: ${JSON.stringify(counts)}`);

  const exits = await withTimeout(Promise.all(ws.map((w) => w.exit)), 150_000, 'the workers after the restart');
  assert.deepEqual(exits, [0, 0], ws.map((w) => w.lines.join('\n')).join('\n---\n'));
  lia('batch', 'collect', '--dir', dir, '--out', join(tmp, 'restart.safetensors'));
  assertSameCodes(await codes(join(tmp, 'restart.safetensors')), reference, 'collected across a Redis restart');
  await redis.stop();
});
