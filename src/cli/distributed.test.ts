// The training commands' data-parallel options: the plan read from options and torchrun's variables;
// and, with two real ranks of `lia train-decoder` (torch backend, gloo), that a rank killed with
// SIGKILL makes rank 0 stop with a message naming it well within 60 s, that the rerun resumes from
// the last snapshot, and that only rank 0 writes (rank 1 is given its own --out, and on resume its
// own copy of the run folder: neither may change).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { distributedPlan } from './distributed.js';
import { distributedSupport } from '../engine/torch/dist.js';
import { resumedBatch } from '../train/data-parallel.js';

test('the plan: single, --nproc, explicit ranks, torchrun variables, and clear errors', () => {
  assert.deepEqual(distributedPlan({}, {}), { kind: 'single' });
  assert.deepEqual(distributedPlan({ nproc: 1 }, {}), { kind: 'single' });
  assert.deepEqual(distributedPlan({ nproc: 3 }, {}), { kind: 'launch', nproc: 3 });
  assert.deepEqual(distributedPlan({ distUrl: 'tcp://10.0.0.1:29500', rank: 1, worldSize: 4 }, {}), {
    kind: 'worker', url: 'tcp://10.0.0.1:29500', rank: 1, worldSize: 4, backend: undefined, timeoutMs: 300_000,
  });
  const env = { MASTER_ADDR: 'node0', MASTER_PORT: '1234', RANK: '2', WORLD_SIZE: '3' };
  assert.deepEqual(distributedPlan({ distTimeout: 30, distBackend: 'gloo' }, env), { kind: 'worker', url: 'tcp://node0:1234', rank: 2, worldSize: 3, backend: 'gloo', timeoutMs: 30_000 });
  assert.throws(() => distributedPlan({ nproc: 2, rank: 0 }, {}), /--nproc starts its own workers/);
  assert.throws(() => distributedPlan({ rank: 3, worldSize: 2, distUrl: 'tcp://h:1' }, {}), /--rank 3 is not below --world-size 2/);
  assert.throws(() => distributedPlan({ worldSize: 2, rank: 0 }, {}), /needs --dist-url/);
  assert.throws(() => distributedPlan({ distUrl: 'http://h:1', rank: 0, worldSize: 2 }, {}), /expected tcp:\/\/HOST:PORT/);
  assert.throws(() => distributedPlan({}, { WORLD_SIZE: '2', MASTER_ADDR: 'a', MASTER_PORT: '1', RANK: 'x' }), /RANK=x/);
  assert.throws(() => distributedPlan({ distTimeout: 0 }, {}), /--dist-timeout must be a positive/);
});

test('resuming with another world size keeps the global batch, or refuses clearly', () => {
  assert.deepEqual(resumedBatch(8, 2, 2), { batch: 8 });
  const one = resumedBatch(8, 2, 1);
  assert.equal(one.batch, 16);
  assert.match(one.notice!, /2 ranks × batch 8; continuing with 1 rank × batch 16, the same global batch of 16/);
  assert.equal(resumedBatch(32, 1, 4).batch, 8);
  assert.throws(() => resumedBatch(8, 2, 3), /global batch 16\), which does not split over 3 ranks/);
});

const support = distributedSupport();
const skip = support.available ? false : `torch.distributed is not built: ${support.why}`;
const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
const MODEL = ['--data', 'shapes:256', '--resolution', '16', '--batch', '8', '--latent', '32', '--width-base', '128', '--width-max', '32', '--phi-blocks', '2', '--mlp-layers', '2'];
const COMMON = ['--backend', 'torch', '--threads', '1', '--quiet', '--dist-timeout', '60'];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

interface Rank {
  proc: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function startRank(args: string[]): Rank {
  const proc = spawn(process.execPath, [cli, 'train-decoder', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  return { proc, stderr: () => err, exit };
}

/** Every file under dir with its size and modification time. */
function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .sort()
    .map((f) => {
      const s = statSync(join(dir, f));
      return `${f} ${s.size} ${s.mtimeMs}`;
    });
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('kill -9 of rank 1: rank 0 stops naming it; the rerun resumes from the last snapshot; only rank 0 writes', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-dist-cli-'));
  try {
    const out0 = join(dir, 'runs');
    const out1 = join(dir, 'rank1-runs');
    const url = `tcp://127.0.0.1:${await freePort()}`;
    const world = ['--dist-url', url, '--world-size', '2'];
    const r0 = startRank([...MODEL, ...COMMON, ...world, '--rank', '0', '--kimg', '100', '--snapshot-kimg', '0.032', '--out', out0]);
    const r1 = startRank([...MODEL, ...COMMON, ...world, '--rank', '1', '--kimg', '100', '--snapshot-kimg', '0.032', '--out', out1]);
    const runDir = () => (existsSync(out0) ? readdirSync(out0).map((d) => join(out0, d))[0] : undefined);
    const snapshots = () => (runDir() ? readdirSync(runDir()!).filter((f) => f.startsWith('snapshot-')) : []);
    // Two snapshots after the initial one: the ranks have trained together for a while.
    await waitFor(() => snapshots().length >= 3, 120_000, `rank 0's snapshots (rank 0: ${r0.stderr()} rank 1: ${r1.stderr()})`);
    const killedAt = Date.now();
    r1.proc.kill('SIGKILL');
    const e0 = await r0.exit;
    const seconds = (e0.at - killedAt) / 1000;
    assert.notEqual(e0.code, 0, 'rank 0 must exit non-zero');
    assert.ok(seconds < 60, `rank 0 stopped ${seconds} s after the kill`);
    assert.match(r0.stderr(), /rank 0 of 2: .*failed.*rank 1 is dead or hung/s, r0.stderr());
    console.log(`rank 0 stopped ${seconds.toFixed(1)} s after rank 1 was killed: ${r0.stderr().trim().split('\n').pop()}`);
    assert.deepEqual(listing(out1), [], 'rank 1 wrote into its --out');
    assert.equal(readdirSync(out0).length, 1, 'one run folder');

    // Rerun: both ranks resume; rank 1 from its own copy of the run folder, which must stay as it is.
    const last = snapshots().sort().pop()!;
    const lastKimg = Number(/snapshot-(\d+)/.exec(last)![1]) / 1000;
    const copy = join(dir, 'rank1-copy');
    cpSync(runDir()!, copy, { recursive: true });
    const before = listing(copy);
    const target = String(lastKimg + 0.032);
    const url2 = `tcp://127.0.0.1:${await freePort()}`;
    const world2 = ['--dist-url', url2, '--world-size', '2'];
    const s0 = startRank([...COMMON, ...world2, '--rank', '0', '--resume', runDir()!, '--kimg', target]);
    const s1 = startRank([...COMMON, ...world2, '--rank', '1', '--resume', copy, '--kimg', target]);
    const [f0, f1] = await Promise.all([s0.exit, s1.exit]);
    assert.equal(f0.code, 0, s0.stderr());
    assert.equal(f1.code, 0, s1.stderr());
    assert.match(s0.stderr(), new RegExp(`resuming .*${last}`));
    assert.ok(snapshots().includes(`snapshot-${String(Math.round(Number(target) * 1000)).padStart(9, '0')}.safetensors`), snapshots().join(' '));
    assert.deepEqual(listing(copy), before, "rank 1 wrote into its run folder");
    const log = readFileSync(join(runDir()!, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kimg?: number });
    assert.ok(log.at(-1)!.kimg! >= Number(target) - 1e-9, 'the log continues to the new target');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
