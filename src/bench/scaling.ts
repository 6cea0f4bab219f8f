// `lia bench train --nproc N`: data-parallel scaling on this machine, in one run. Three set-ups of the
// same model, each in fresh processes of `lia bench train --json` (torch backend):
//   1 process  × 1 thread,  batch b        the per-rank baseline
//   1 process  × N threads, batch N·b      the same global batch with the cores as threads
//   N ranks    × 1 thread,  batch b each   data-parallel (gloo on 127.0.0.1)
// Scaling efficiency = img/s of N ranks / (N × img/s of one rank alone). Rounds alternate the
// set-ups, so that a busy machine slows each about equally, and the medians are reported.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TrainBenchResult } from './train.js';
import { median } from './kernels.js';

export interface ScalingOptions {
  nproc: number;
  /** Per-rank batch. */
  batch: number;
  rounds: number;
  /** The model and run options passed on to every `lia bench train` (preset, res, channels, steps, warmup, mapping). */
  args: string[];
}

export interface ScalingSetup {
  name: string;
  processes: number;
  threads: number;
  batch: number;
  img_per_sec: number[];
  ms_per_step: number[];
  allreduce_bytes_per_step?: number;
  allreduce_ms_per_step?: number[];
  wait_ms_per_step?: number[];
}

export interface ScalingResult {
  nproc: number;
  batch: number;
  rounds: number;
  setups: ScalingSetup[];
  /** Medians over rounds. */
  efficiency: number;
  ranksVsThreads: number;
}

const cli = fileURLToPath(new URL('../cli.js', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function runJson(args: string[]): Promise<TrainBenchResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, 'bench', 'train', '--json', '--backend', 'torch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`lia bench train ${args.join(' ')} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      const line = out.trim().split('\n').pop();
      resolve(line ? (JSON.parse(line) as TrainBenchResult) : ({} as TrainBenchResult));
    });
  });
}

export async function benchScaling(o: ScalingOptions, log: (s: string) => void = () => {}): Promise<ScalingResult> {
  const n = o.nproc;
  const setups: ScalingSetup[] = [
    { name: '1 process × 1 thread', processes: 1, threads: 1, batch: o.batch, img_per_sec: [], ms_per_step: [] },
    { name: `1 process × ${n} threads`, processes: 1, threads: n, batch: n * o.batch, img_per_sec: [], ms_per_step: [] },
    { name: `${n} ranks × 1 thread`, processes: n, threads: 1, batch: o.batch, img_per_sec: [], ms_per_step: [], allreduce_ms_per_step: [], wait_ms_per_step: [] },
  ];
  for (let round = 0; round < o.rounds; round++) {
    for (const s of setups) {
      const common = [...o.args, '--threads', String(s.threads), '--batch', String(s.batch)];
      let r: TrainBenchResult;
      if (s.processes === 1) r = await runJson(common);
      else {
        const url = `tcp://127.0.0.1:${await freePort()}`;
        const ranks = await Promise.all(Array.from({ length: s.processes }, (_, rank) => runJson([...common, '--dist-url', url, '--rank', String(rank), '--world-size', String(s.processes)])));
        r = ranks[0];
        s.allreduce_bytes_per_step = r.allreduce_bytes_per_step;
        s.allreduce_ms_per_step!.push(r.allreduce_ms_per_step ?? 0);
        s.wait_ms_per_step!.push(r.wait_ms_per_step ?? 0);
      }
      s.img_per_sec.push(r.img_per_sec);
      s.ms_per_step.push(r.ms_per_step);
      log(`round ${round + 1}/${o.rounds}: ${s.name}, batch ${s.batch}${s.processes > 1 ? ' each' : ''}: ${r.img_per_sec.toFixed(1)} img/s${r.allreduce_ms_per_step !== undefined ? `, all-reduce ${r.allreduce_ms_per_step.toFixed(1)} ms/step (after waiting ${(r.wait_ms_per_step ?? 0).toFixed(1)} ms for the slowest rank)` : ''}\n`);
    }
  }
  // Per-round ratios (each round's set-ups saw about the same machine), then their medians.
  const [one, threads, ranks] = setups.map((s) => s.img_per_sec);
  return {
    nproc: n,
    batch: o.batch,
    rounds: o.rounds,
    setups,
    efficiency: median(ranks.map((r, i) => r / (n * one[i]))),
    ranksVsThreads: median(ranks.map((r, i) => r / threads[i])),
  };
}
