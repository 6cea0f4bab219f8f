// The training commands' data-parallel options (train/data-parallel.ts):
//   --nproc N                       N worker processes on this machine, rendezvous on a free 127.0.0.1 port
//   --dist-url tcp://HOST:PORT --rank R --world-size W
//                                   one process per GPU or machine, started by the user or a launcher
//                                   (or MASTER_ADDR / MASTER_PORT / RANK / WORLD_SIZE, as torchrun sets them)
//   --dist-backend gloo|nccl        --dist-timeout SECONDS
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import { DataParallel } from '../train/data-parallel.js';
import { distributedSupport, type DistBackend } from '../engine/torch/dist.js';
import type { EngineInfo } from '../engine/backend.js';
import type { VariableGroups } from '../io/checkpoint.js';
import { parsePositiveInt, parseNumber } from './engine-options.js';

export interface DistOptions {
  nproc?: number;
  distUrl?: string;
  rank?: number;
  worldSize?: number;
  distBackend?: DistBackend;
  distTimeout?: number;
  device?: 'cpu' | 'cuda';
  threads?: number;
}

export const DEFAULT_DIST_TIMEOUT_SEC = 300;

export function addDistributedOptions(cmd: Command): Command {
  const nonNegative = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`expected a rank ≥ 0, got '${v}'`);
    return n;
  };
  return cmd
    .addOption(new Option('--nproc <n>', 'data-parallel: train with n worker processes on this machine (--batch is per process; each its own threads, or its own GPU with --device cuda)').argParser(parsePositiveInt))
    .option('--dist-url <url>', 'data-parallel across machines: rendezvous tcp://HOST:PORT (rank 0 listens there) or file:///shared/path (default from MASTER_ADDR/MASTER_PORT)')
    .addOption(new Option('--rank <r>', 'this process\'s rank, 0 … world size − 1 (default $RANK)').argParser(nonNegative))
    .addOption(new Option('--world-size <w>', 'number of processes (default $WORLD_SIZE)').argParser(parsePositiveInt))
    .addOption(new Option('--dist-backend <name>', 'collectives: gloo (CPU tensors) or nccl (CUDA, when the libtorch has it) (default: nccl with --device cuda when built, else gloo)').choices(['gloo', 'nccl']))
    .addOption(new Option('--dist-timeout <s>', `seconds any rank waits for the others before stopping with an error (default ${DEFAULT_DIST_TIMEOUT_SEC})`).argParser(parseNumber));
}

export type DistPlan =
  | { kind: 'single' }
  | { kind: 'launch'; nproc: number }
  | { kind: 'worker'; url: string; rank: number; worldSize: number; backend: DistBackend | undefined; timeoutMs: number };

/** What the options (and torchrun's variables) ask for: one process, a launcher, or one worker. */
export function distributedPlan(opts: DistOptions, env: NodeJS.ProcessEnv = process.env): DistPlan {
  const timeoutSec = opts.distTimeout ?? DEFAULT_DIST_TIMEOUT_SEC;
  if (!(timeoutSec > 0)) throw new Error(`--dist-timeout must be a positive number of seconds, got ${timeoutSec}`);
  const explicit = opts.distUrl !== undefined || opts.rank !== undefined || opts.worldSize !== undefined;
  if (opts.nproc !== undefined) {
    if (explicit) throw new Error('--nproc starts its own workers: it cannot be combined with --dist-url, --rank or --world-size');
    return opts.nproc === 1 ? { kind: 'single' } : { kind: 'launch', nproc: opts.nproc };
  }
  const fromEnv = !explicit && env.WORLD_SIZE !== undefined;
  if (!explicit && !fromEnv) return { kind: 'single' };
  const url = opts.distUrl ?? (env.MASTER_ADDR && env.MASTER_PORT ? `tcp://${env.MASTER_ADDR}:${env.MASTER_PORT}` : undefined);
  const worldSize = opts.worldSize ?? intFromEnv(env, 'WORLD_SIZE');
  const rank = opts.rank ?? intFromEnv(env, 'RANK');
  if (!url) throw new Error('data-parallel training needs --dist-url tcp://HOST:PORT (or MASTER_ADDR and MASTER_PORT)');
  if (worldSize === undefined) throw new Error('data-parallel training needs --world-size (or WORLD_SIZE)');
  if (rank === undefined) throw new Error('data-parallel training needs --rank (or RANK)');
  if (rank >= worldSize) throw new Error(`--rank ${rank} is not below --world-size ${worldSize}`);
  if (!/^(tcp:\/\/[^:/]+:\d+|file:\/\/\/.+)$/.test(url)) throw new Error(`--dist-url ${url}: expected tcp://HOST:PORT or file:///path`);
  return { kind: 'worker', url, rank, worldSize, backend: opts.distBackend, timeoutMs: timeoutSec * 1000 };
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
}

/**
 * Joins the process group of a worker plan (after the engine started); null for a single process.
 * The group lives until the process exits (the addon stops its heartbeat then): after a failure the
 * other ranks may be gone, so there is nothing to tear down collectively.
 */
export function joinProcessGroup(plan: DistPlan, engine: EngineInfo, device?: 'cpu' | 'cuda'): DataParallel | null {
  if (plan.kind !== 'worker') return null;
  if (engine.backend !== 'torch') throw new Error(`data-parallel training runs on the torch backend (torch.distributed); this process has ${engine.backend}`);
  const backend = plan.backend ?? (device === 'cuda' && distributedSupport().backends.includes('nccl') ? 'nccl' : 'gloo');
  watchParent();
  return DataParallel.init({ url: plan.url, rank: plan.rank, worldSize: plan.worldSize, backend, timeoutMs: plan.timeoutMs });
}

/**
 * What every rank does once its trainer exists: check that all ranks start from the same step, then
 * take rank 0's weights and optimiser state.
 */
export async function startFromRankZero(parallel: DataParallel | null, trainer: { step: number; imagesSeen: number; stateGroups(): VariableGroups }): Promise<void> {
  if (!parallel) return;
  parallel.agree('the step to start from (step, images seen)', [trainer.step, trainer.imagesSeen]);
  await parallel.broadcastState(trainer.stateGroups());
}

// A worker of --nproc stops when its launcher is gone (the launcher was killed), instead of waiting
// for a rendezvous or collective that cannot come.
function watchParent(): void {
  const parent = Number(process.env.LIA_DIST_LAUNCHER_PID);
  if (!parent) return;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      console.error(`lia: rank ${process.env.RANK ?? '?'}: the --nproc launcher (pid ${parent}) is gone; stopping`);
      process.exit(1);
    }
  }, 2000).unref();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The command line without --nproc (and its value). */
function argsWithoutNproc(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc') i++;
    else if (!argv[i].startsWith('--nproc=')) out.push(argv[i]);
  }
  return out;
}

/**
 * --nproc N: starts N copies of this command as ranks 0 … N−1 on 127.0.0.1 and waits for them. Rank 0
 * prints as usual; the others' messages come prefixed with their rank. When a rank fails, the others
 * stop by themselves (their next collective fails, naming it); any still running after the timeout
 * are terminated. Exits with the first failing rank's status.
 */
export async function launchWorkers(nproc: number, opts: DistOptions): Promise<void> {
  const port = await freePort();
  const url = `tcp://127.0.0.1:${port}`;
  const args = argsWithoutNproc(process.argv.slice(2));
  // Each worker gets its share of the cores unless --threads says otherwise.
  const threads = opts.threads ?? Math.max(1, Math.floor(availableParallelism() / nproc));
  const visible = process.env.CUDA_VISIBLE_DEVICES?.split(',').filter(Boolean);
  console.error(`lia: ${nproc} ranks on ${url}, ${opts.device === 'cuda' ? 'one GPU' : `${threads} thread${threads > 1 ? 's' : ''}`} each`);
  const children: ChildProcess[] = [];
  const status: (string | null)[] = new Array(nproc).fill(null);
  let firstFailure: { rank: number; code: number } | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const timeoutMs = (opts.distTimeout ?? DEFAULT_DIST_TIMEOUT_SEC) * 1000;

  const done = new Promise<void>((resolve) => {
    let left = nproc;
    for (let rank = 0; rank < nproc; rank++) {
      const env: NodeJS.ProcessEnv = { ...process.env, LIA_DIST_LAUNCHER_PID: String(process.pid), RANK: String(rank), WORLD_SIZE: String(nproc) };
      if (opts.device === 'cuda') env.CUDA_VISIBLE_DEVICES = visible ? visible[rank % visible.length] : String(rank);
      const extra = ['--dist-url', url, '--rank', String(rank), '--world-size', String(nproc)];
      if (opts.threads === undefined) extra.push('--threads', String(threads));
      if (rank > 0 && !args.includes('--quiet')) extra.push('--quiet');
      // Own process group: a Ctrl-C reaches the launcher only, which passes it on once.
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...args, ...extra], {
        env,
        detached: true,
        stdio: rank === 0 ? 'inherit' : ['ignore', 'ignore', 'pipe'],
      });
      console.error(`lia: rank ${rank} is pid ${child.pid}`);
      if (rank > 0) prefixLines(child, `[rank ${rank}] `);
      children.push(child);
      child.on('exit', (code, signal) => {
        status[rank] = signal ? `killed by ${signal}` : `exit code ${code}`;
        const failed = signal !== null || code !== 0;
        if (failed && !firstFailure) {
          firstFailure = { rank, code: code ?? 1 };
          console.error(`lia: rank ${rank} (pid ${child.pid}) ${status[rank]}; the other ranks stop when their next collective fails (at most --dist-timeout ${timeoutMs / 1000} s)`);
          killTimer = setTimeout(() => {
            for (const [r, c] of children.entries()) {
              if (status[r] === null) {
                console.error(`lia: rank ${r} still running after the timeout: terminating it`);
                c.kill('SIGKILL');
              }
            }
          }, timeoutMs + 30_000);
        }
        if (--left === 0) resolve();
      });
    }
  });
  const forward = (sig: NodeJS.Signals) => () => {
    for (const [r, c] of children.entries()) if (status[r] === null) c.kill(sig);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    await done;
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  const failure = firstFailure as { rank: number; code: number } | null;
  if (failure) throw new Error(`data-parallel run failed: rank ${failure.rank} ${status[failure.rank]} (ranks: ${status.map((s, r) => `${r} ${s}`).join(', ')})`);
}

function prefixLines(child: ChildProcess, prefix: string): void {
  let pending = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) process.stderr.write(`${prefix}${l}\n`);
  });
  child.stderr?.on('end', () => {
    if (pending) process.stderr.write(`${prefix}${pending}\n`);
  });
}
