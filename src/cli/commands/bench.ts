// `lia bench …`: performance measurements. Targets live here, never in unit tests.
import { Command, Option } from 'commander';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { addEngineOptions, initEngineFrom, parsePositiveInt, type EngineOptions } from '../engine-options.js';
import { defaultBackend, BACKENDS, type BackendName } from '../../engine/backend.js';
import { benchDrift } from '../../bench/drift.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchStudio, studioBenchTable, ensureDir } from '../../bench/studio.js';
import { PACKAGE_ROOT } from './studio.js';
import { addTorchReference, benchKernels, median, type KernelRow } from '../../bench/kernels.js';
import { formatTable } from '../table.js';
import { benchTrain, benchTrainTorch, benchConfig, randomDataset, type TrainBenchOptions } from '../../bench/train.js';
import { PRESETS, type PresetName } from '../../train/decoder-config.js';
import { DecoderTrainer } from '../../train/stage1.js';
import * as tf from '@tensorflow/tfjs';
import { addDistributedOptions, distributedPlan, joinProcessGroup, type DistOptions } from '../distributed.js';
import { benchScaling } from '../../bench/scaling.js';

interface KernelOpts extends EngineOptions {
  res: number[];
  batch: number;
  repeats: number;
  warmup: number;
  json?: boolean;
  vsTorch?: boolean;
  compareThreads?: number[];
}

const TARGETS = { conv_bwd_input: 0.8, conv_bwd_filter: 0.6 } as const;

function parseList(v: string): number[] {
  return v.split(',').map((s) => parsePositiveInt(s.trim()));
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('performance benchmarks (medians of repeated runs)');
  registerBenchTrain(bench);
  registerBenchDrift(bench);
  registerBenchStudio(bench);
  addEngineOptions(
    bench
      .command('kernels')
      .description('time conv forward, backprop-input, backprop-filter and matMul at the 32×32 and 64×64 model shapes')
      .addOption(new Option('--res <list>', 'model resolutions whose layer shapes are timed').argParser(parseList).default([32, 64], '32,64'))
      .addOption(new Option('--batch <n>', 'batch size').argParser(parsePositiveInt).default(32))
      .addOption(new Option('--repeats <n>', 'timed runs per op (the median is reported)').argParser(parsePositiveInt).default(7))
      .addOption(new Option('--warmup <n>', 'untimed runs before timing').argParser(parsePositiveInt).default(2))
      .option('--json', 'print one JSON object per line instead of a table')
      .option('--vs-torch', 'also time the same shapes with PyTorch (python3 with torch) on this machine')
      .addOption(new Option('--compare-threads <list>', 'wasm: run once per thread count (child processes) and report the speed-up').argParser(parseList)),
  ).action(async (opts: KernelOpts) => {
    if (opts.compareThreads) return compareThreads(opts);
    const info = await initEngineFrom(opts);
    const log = (s: string) => (opts.json ? undefined : process.stderr.write(s));
    log(`backend ${info.backend} (${info.device}), threads ${info.threads}${info.requestedThreads !== info.threads ? ` (requested ${info.requestedThreads})` : ''}, fast kernels ${info.fastKernels ? 'on' : 'off'}\n`);
    const rows = await benchKernels({
      resolutions: opts.res,
      batch: opts.batch,
      repeats: opts.repeats,
      warmup: opts.warmup,
      backend: info.backend,
      threads: info.threads,
      onRow: (r) => log(`  ${r.op} ${r.shape}: ${r.ms.toFixed(2)} ms\n`),
      onError: (c, e) => process.stderr.write(`  ${c.op} ${c.shape}: failed: ${e.message.split('\n')[0]}\n`),
    });
    let torch: string | null = null;
    if (opts.vsTorch) {
      // The reference runs where lia ran: CUDA for webgpu (TF32 off unless --tf32 says, as WebGPU has
      // none) and for torch --device cuda (TF32 as lia's: --tf32, else PyTorch's defaults).
      const cuda = info.backend === 'webgpu' || opts.device === 'cuda';
      torch = addTorchReference(rows, Math.max(1, info.threads), opts.repeats, opts.warmup, cuda, opts.tf32 ?? (info.backend === 'webgpu' ? 'off' : undefined));
      if (!torch) log('PyTorch not found (tried $LIA_PYTHON, python3, /usr/bin/python3; Debian: apt-get install python3-torch): continuing without the comparison\n');
    }
    if (opts.json) {
      for (const r of rows) {
        const o: Record<string, unknown> = { op: r.op, shape: r.shape, backend: r.backend, threads: r.threads, ms: round(r.ms), gflops: round(r.gflops) };
        if (r.vsForward !== undefined) o.vs_forward = round(r.vsForward);
        if (r.torchMs !== undefined) Object.assign(o, { torch_ms: round(r.torchMs), torch_gflops: round(r.torchGflops!), vs_torch: round(r.vsTorch!) });
        console.log(JSON.stringify(o));
      }
      return;
    }
    const header = ['op', 'shape (N×H×W×Cin→Cout)', 'ms', 'GFLOP/s', 'vs fwd'];
    if (torch) header.push('torch ms', 'torch GFLOP/s', 'ours/torch');
    console.log(
      formatTable(
        header,
        rows.map((r) => {
          const cells: (string | number)[] = [r.op, r.shape, r.ms, r.gflops, r.vsForward !== undefined ? `${r.vsForward.toFixed(2)}×` : ''];
          if (torch) cells.push(r.torchMs ?? '', r.torchGflops ?? '', r.vsTorch !== undefined ? `${r.vsTorch.toFixed(2)}×` : '');
          return cells;
        }),
      ),
    );
    console.log(summary(rows));
    if (torch) console.log(`PyTorch ${torch}: median ours/torch ${median(rows.filter((r) => r.vsTorch).map((r) => r.vsTorch!)).toFixed(2)}×`);
  });
}

interface TrainOpts extends EngineOptions, DistOptions {
  out?: string;
  res: number;
  batch: number;
  channels: number;
  steps: number;
  warmup: number;
  preset: PresetName;
  mapping: 'invertible' | 'mlp';
  json?: boolean;
  vsTorch?: boolean;
  profile?: boolean;
  rounds: number;
  countSteps: number;
  phases: boolean;
}

function registerBenchTrain(bench: Command): void {
  addDistributedOptions(addEngineOptions(
    bench
      .command('train')
      .description('stage-1 training throughput on random data: img/s, ms per step (D, R1, G), peak RSS; optionally vs PyTorch')
      .addOption(new Option('--res <px>', 'resolution').argParser(parsePositiveInt).default(32))
      .addOption(new Option('--batch <n>', 'batch size').argParser(parsePositiveInt).default(32))
      .addOption(new Option('--channels <n>', 'image channels').choices(['1', '3']).default('1'))
      .addOption(new Option('--steps <n>', 'timed steps').argParser(parsePositiveInt).default(16))
      .addOption(new Option('--warmup <n>', 'untimed steps').argParser(parsePositiveInt).default(2))
      .addOption(new Option('--preset <name>', 'model size of this training preset').choices(Object.keys(PRESETS)).default('quick'))
      .addOption(new Option('--mapping <kind>', 'invertible or mlp').choices(['invertible', 'mlp']).default('invertible'))
      .option('--json', 'one JSON object')
      .option('--vs-torch', 'run the same architecture and batch through PyTorch on this machine (scripts/bench_train_torch.py)')
      .option('--profile', 'also list the kernels that cost most in one step')
      .option('--no-phases', 'no read inside the steps (the throughput of a training run; on a GPU the host then runs ahead): no D/R1/G times, on both sides')
      .addOption(new Option('--count-steps <n>', 'after timing, count kernel calls per step over this many whole steps (tf.profile; 0: no count)').argParser((v) => (v === '0' ? 0 : parsePositiveInt(v))).default(16))
      .addOption(new Option('--rounds <n>', 'with --vs-torch or --nproc: alternate the runs n times and report medians (a noisy machine moves all of them)').argParser(parsePositiveInt).default(1))
      .option('--out <file>', 'with --nproc: also write the JSON result to this file'),
  )).action(async (opts: TrainOpts) => {
    // --nproc N: the scaling benchmark (bench/scaling.ts), each set-up in its own processes.
    const plan = distributedPlan(opts);
    if (plan.kind === 'launch') return benchScalingCommand(plan.nproc, opts);
    const info = await initEngineFrom(opts);
    const parallel = joinProcessGroup(plan, info, opts.device);
    const model = PRESETS[opts.preset];
    const bo: TrainBenchOptions = {
      resolution: opts.res,
      channels: Number(opts.channels) as 1 | 3,
      batch: opts.batch,
      steps: opts.steps,
      warmup: opts.warmup,
      config: { ...model, mapping: opts.mapping },
      countSteps: opts.countSteps,
      tf32: opts.tf32,
      phases: opts.phases,
    };
    const cfg = benchConfig(bo);
    const log = (s: string) => (opts.json ? undefined : process.stderr.write(s));
    log(`bench train: ${opts.res}×${opts.res}×${opts.channels}, batch ${opts.batch}, ${opts.preset} model (latent ${cfg.latentSize}, widths min(${cfg.widthMax}, ${cfg.widthBase}/r)), ${opts.mapping} mapping, R1 every ${cfg.r1Interval}; backend ${info.backend}, ${info.threads} thread(s)\n`);
    const oursRuns: Awaited<ReturnType<typeof benchTrain>>[] = [];
    const torchRuns: NonNullable<ReturnType<typeof benchTrainTorch>>[] = [];
    // Wall-clock windows (Unix seconds) of each side's runs, to match with a GPU monitor's samples.
    const windows: { who: 'lia' | 'torch'; from: number; to: number }[] = [];
    for (let round = 0; round < (opts.vsTorch ? opts.rounds : 1); round++) {
      if (opts.rounds > 1) log(`round ${round + 1}/${opts.rounds}\n`);
      const t0 = Date.now() / 1000;
      oursRuns.push(await benchTrain({ ...bo, countSteps: round === 0 ? bo.countSteps : 0 }, (i, ms) => log(`  step ${i + 1}/${bo.warmup + bo.steps}: ${ms.toFixed(0)} ms\n`), parallel));
      windows.push({ who: 'lia', from: t0, to: Date.now() / 1000 });
      if (opts.vsTorch) {
        log('running the PyTorch reference …\n');
        const t1 = Date.now() / 1000;
        const t = benchTrainTorch(bo, Math.max(1, info.threads), info.backend === 'webgpu' || opts.device === 'cuda' ? 'cuda' : 'cpu');
        windows.push({ who: 'torch', from: t1, to: Date.now() / 1000 });
        if (!t) {
          log('PyTorch not found (tried $LIA_PYTHON, python3, /usr/bin/python3): continuing without the comparison\n');
          break;
        }
        torchRuns.push(t);
        log(`  lia ${oursRuns.at(-1)!.img_per_sec.toFixed(1)} img/s, PyTorch ${t.img_per_sec.toFixed(1)} img/s\n`);
      }
    }
    if (parallel) {
      parallel.destroy(true);
      if (!parallel.isPrimary) return;
    }
    const ours = { ...medianRun(oursRuns), ...pickCounts(oursRuns[0]) };
    const torch = torchRuns.length ? medianRun(torchRuns) : null;
    const ratios = torchRuns.map((t, i) => oursRuns[i].img_per_sec / t.img_per_sec);
    let top: { kernel: string; ms: number; calls: number }[] = [];
    if (opts.profile) top = await profileStep(bo);
    if (opts.json) {
      console.log(
        JSON.stringify({
          backend: info.backend,
          threads: info.threads,
          device: info.device,
          preset: opts.preset,
          resolution: opts.res,
          channels: Number(opts.channels),
          batch: opts.batch,
          rounds: oursRuns.length,
          ...ours,
          torch,
          // The median of the per-round ratios: each round's two runs saw the same machine state.
          vs_torch: ratios.length ? median(ratios) : null,
          vs_torch_per_round: ratios,
          img_per_sec_per_round: oursRuns.map((r) => r.img_per_sec),
          torch_img_per_sec_per_round: torchRuns.map((r) => r.img_per_sec),
          top_kernels: top,
          phases: opts.phases,
          windows,
        }),
      );
      return;
    }
    const rows: (string | number)[][] = [['lia (' + info.backend + ')', ours.img_per_sec, ours.ms_per_step, ours.ms_d ?? '', ours.ms_r1 ?? '', ours.ms_g ?? '', ours.peak_rss_mb, `${(ours.g_params / 1e6).toFixed(3)} / ${(ours.d_params / 1e6).toFixed(3)}`]];
    if (torch) rows.push([`PyTorch ${torch.torch_version} (${torch.device})`, torch.img_per_sec, torch.ms_per_step, torch.ms_d ?? '', torch.ms_r1 ?? '', torch.ms_g ?? '', torch.peak_rss_mb, `${(torch.g_params / 1e6).toFixed(3)} / ${(torch.d_params / 1e6).toFixed(3)}`]);
    console.log(formatTable(['', 'img/s', 'ms/step', 'D step', 'R1 step', 'G step', 'peak RSS MB', 'G / D params (M)'], rows));
    const goal = info.backend === 'torch' ? '≥ 0.8× on torch' : info.backend === 'wasm' ? '≥ 0.3× on wasm' : 'none set';
    if (torch)
      console.log(
        `lia / PyTorch img/s: ${median(ratios).toFixed(2)}× (goal ${goal})` +
          (ratios.length > 1 ? `: the median of the per-round ratios ${ratios.map((r) => r.toFixed(2)).join(', ')} (${ratios.length} alternating rounds; the table shows median runs)` : ''),
      );
    if (ours.kernel_calls_per_step !== undefined)
      console.log(`kernel calls per step: ${ours.kernel_calls_per_step.toFixed(0)}${ours.native_calls_per_step !== undefined ? ` (native calls ${ours.native_calls_per_step.toFixed(0)})` : ''}, over ${ours.count_steps} steps; most: ${Object.entries(ours.kernel_calls_by_name ?? {}).slice(0, 8).map(([k, n]) => `${k} ${n.toFixed(0)}`).join(', ')}`);
    if (top.length) console.log('\nkernels by time in one step:\n' + formatTable(['kernel', 'ms', 'calls'], top.map((t) => [t.kernel, t.ms, t.calls])));
  });
}

async function benchScalingCommand(nproc: number, opts: TrainOpts): Promise<void> {
  const args = ['--preset', opts.preset, '--res', String(opts.res), '--channels', String(opts.channels), '--steps', String(opts.steps), '--warmup', String(opts.warmup), '--mapping', opts.mapping];
  const log = (s: string) => (opts.json ? undefined : process.stderr.write(s));
  log(`bench train --nproc ${nproc}: ${opts.preset} model, ${opts.res}×${opts.res}×${opts.channels}, batch ${opts.batch} per rank, ${opts.rounds} round(s), torch backend\n`);
  const r = await benchScaling({ nproc, batch: opts.batch, rounds: opts.rounds, args }, log);
  const result = { date: new Date().toISOString(), command: `lia bench train ${process.argv.slice(4).join(' ')}`, preset: opts.preset, resolution: opts.res, channels: Number(opts.channels), steps: opts.steps, ...r };
  if (opts.out) writeFileSync(opts.out, JSON.stringify(result, null, 1) + '\n');
  if (opts.json) return console.log(JSON.stringify(result));
  console.log(
    formatTable(
      ['set-up', 'batch', 'img/s (median)', 'ms/step', 'all-reduce MB/step', 'all-reduce ms/step', 'wait for slowest rank ms/step'],
      r.setups.map((s) => [
        s.name,
        s.processes > 1 ? `${s.batch} × ${s.processes}` : s.batch,
        median(s.img_per_sec),
        median(s.ms_per_step),
        s.allreduce_bytes_per_step !== undefined ? s.allreduce_bytes_per_step / 1e6 : '',
        s.allreduce_ms_per_step?.length ? median(s.allreduce_ms_per_step) : '',
        s.wait_ms_per_step?.length ? median(s.wait_ms_per_step) : '',
      ]),
    ),
  );
  console.log(`scaling efficiency ${nproc} ranks / (${nproc} × 1 rank): ${(100 * r.efficiency).toFixed(0)} % (goal ≥ 90 %); ${nproc} ranks × 1 thread vs 1 process × ${nproc} threads: ${r.ranksVsThreads.toFixed(2)}× (medians of per-round ratios)`);
}

interface DriftOpts {
  steps: number;
  backends: string;
  threads?: number;
  json?: boolean;
  out?: string;
  device?: 'cpu' | 'cuda';
  tf32?: 'on' | 'off';
}

function registerBenchStudio(bench: Command): void {
  bench
    .command('studio')
    .description('the studio in headless Chromium per backend: first load, encode + reconstruct latency of one image (median), refinement steps/s, bytes loaded, build size')
    .option('--backends <list>', 'browser backends', 'wasm,webgl,webgpu,cpu')
    .addOption(new Option('--runs <n>', 'timed encode + reconstruct runs per backend (after 2 warm-up runs)').argParser(parsePositiveInt).default(20))
    .option('--model <id>', 'model folder under models/', 'fmnist32-quick-lia')
    .option('--out <dir>', 'write bench.json, bench.md and a screenshot per backend here')
    .option('--json', 'one JSON object')
    .action(async (opts: { backends: string; runs: number; model: string; out?: string; json?: boolean }) => {
      const webDir = join(PACKAGE_ROOT, 'dist', 'web');
      if (opts.out) ensureDir(opts.out);
      const r = await benchStudio({ webDir, modelsDir: join(PACKAGE_ROOT, 'models'), backends: opts.backends.split(',').map((b) => b.trim()), runs: opts.runs, model: opts.model, screenshots: opts.out });
      const head = ['backend', 'device', `encode + reconstruct ms, median of ${r.runs} (min–max)`, 'refinement steps/s', 'first load s', 'loaded KiB (JS + wasm)'];
      const table = formatTable(head, studioBenchTable(r));
      const b = r.bundleKiB;
      const sizes = `build (dist/web): ${b.jsAndWasm} KiB of JavaScript and wasm (${b.js} JS + ${b.wasm} wasm), ${b.total} KiB in all; models apart`;
      if (opts.out) {
        writeFileSync(join(opts.out, 'bench.json'), JSON.stringify(r, null, 1) + '\n');
        const md = ['| ' + head.join(' | ') + ' |', '|' + head.map(() => '---').join('|') + '|', ...studioBenchTable(r).map((row) => '| ' + row.join(' | ') + ' |')].join('\n');
        writeFileSync(join(opts.out, 'bench.md'), `${md}\n\n${sizes}. ${r.chromium}, ${r.date}.\n`);
      }
      if (opts.json) return console.log(JSON.stringify(r));
      console.log(table);
      console.log(sizes);
    });
}

function registerBenchDrift(bench: Command): void {
  bench
    .command('drift')
    .description('GAN training on fast backends vs the cpu backend from one snapshot: loss and weight drift over N steps')
    .addOption(new Option('--steps <n>', 'training steps').argParser(parsePositiveInt).default(50))
    .option('--backends <list>', 'backends compared with cpu', 'torch,wasm')
    .addOption(new Option('--threads <n>', 'threads of the torch and wasm backends').argParser(parsePositiveInt))
    .addOption(new Option('--batch <n>', 'batch size of the model (default 8)').argParser(parsePositiveInt))
    .option('--json', 'one JSON object')
    .option('--out <file>', 'also write the JSON result to this file')
    .addOption(new Option('--device <name>', 'where the torch backend computes').choices(['cpu', 'cuda']))
    .addOption(new Option('--tf32 <on|off>', 'torch on CUDA: TF32 in convolutions and matrix products (default as PyTorch: convolutions on)').choices(['on', 'off']))
    .action(async (opts: DriftOpts & { batch?: number }) => {
      const backends = opts.backends.split(',').map((b) => b.trim()) as BackendName[];
      for (const b of backends) if (!BACKENDS.includes(b)) throw new Error(`--backends: unknown backend '${b}'; expected some of ${BACKENDS.join(', ')}`);
      const log = (s: string) => (opts.json ? undefined : process.stderr.write(s));
      const r = await benchDrift({ steps: opts.steps, backends, threads: opts.threads ?? 2, config: opts.batch ? { batch: opts.batch } : {}, device: opts.device, tf32: opts.tf32 }, log);
      const result = { date: new Date().toISOString(), ...r };
      if (opts.out) writeFileSync(opts.out, JSON.stringify(result, null, 1) + '\n');
      if (opts.json) return console.log(JSON.stringify(result));
      const marks = Object.keys(r.rows[0]?.atSteps ?? {});
      console.log(`model: ${JSON.stringify(r.config)}; cpu ${r.cpuMsPerStep.toFixed(0)} ms/step`);
      console.log(
        formatTable(
          ['backend', ...marks.map((m) => `loss drift @${m}`), 'max loss drift', `G weights drift @${r.steps}`, 'worst variable', 'ms/step'],
          r.rows.map((row) => [
            row.backend,
            ...marks.map((m) => row.atSteps[m].toExponential(1)),
            Math.max(...row.lossDrift).toExponential(1),
            row.paramDrift.toExponential(1),
            `${row.worstVariable.name} ${row.worstVariable.drift.toExponential(1)}`,
            row.msPerStep,
          ]),
        ),
      );
      console.log('drift = max over the losses of |backend − cpu| / max(|cpu|, 1e-3) at that step; weights: ‖Δw‖ / ‖w‖ over all of G; worst variable: max|Δw| / max|w|');
    });
}

/** The kernel counts of a run (the first round counts them). */
function pickCounts(r: Awaited<ReturnType<typeof benchTrain>>) {
  const { kernel_calls_per_step, native_calls_per_step, kernel_calls_by_name, count_steps } = r;
  return { kernel_calls_per_step, native_calls_per_step, kernel_calls_by_name, count_steps };
}

/** The run with the median img/s. */
function medianRun<T extends { img_per_sec: number }>(runs: T[]): T {
  const sorted = [...runs].sort((a, b) => a.img_per_sec - b.img_per_sec);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** tf.profile of one training step, kernels summed by name. */
async function profileStep(bo: TrainBenchOptions): Promise<{ kernel: string; ms: number; calls: number }[]> {
  const trainer = new DecoderTrainer(benchConfig(bo), randomDataset(bo.resolution, bo.channels));
  try {
    await trainer.trainStep();
    const prof = await tf.profile(() => trainer.trainStep() as unknown as tf.TensorContainer);
    const by = new Map<string, { ms: number; calls: number }>();
    for (const k of prof.kernels) {
      const e = by.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += k.kernelTimeMs as number;
      e.calls++;
      by.set(k.name, e);
    }
    return [...by.entries()].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms).slice(0, 10);
  } finally {
    trainer.dispose();
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function summary(rows: KernelRow[]): string {
  const lines: string[] = [];
  for (const [op, target] of Object.entries(TARGETS)) {
    const ratios = rows.filter((r) => r.op === op && r.vsForward !== undefined).map((r) => r.vsForward!);
    if (!ratios.length) continue;
    const med = median(ratios);
    lines.push(`${op} / forward GFLOP/s: median ${med.toFixed(2)}×, min ${Math.min(...ratios).toFixed(2)}× (target ≥ ${target}×: ${med >= target ? 'met' : 'NOT met'} at the median)`);
  }
  return lines.join('\n');
}

/** Runs this command in child processes, one per thread count (wasm threads are fixed per process). */
function compareThreads(opts: KernelOpts): void {
  const backend = opts.backend ?? defaultBackend().backend;
  if (backend !== 'wasm' && backend !== 'torch') throw new Error(`--compare-threads applies to the wasm and torch backends, not '${backend}'`);
  const cli = fileURLToPath(new URL('../../cli.js', import.meta.url));
  const results = new Map<number, KernelRow[]>();
  for (const t of opts.compareThreads!) {
    process.stderr.write(`running with --threads ${t} …\n`);
    const args = [cli, 'bench', 'kernels', '--backend', backend, '--threads', String(t), '--json', '--res', opts.res.join(','), '--batch', String(opts.batch), '--repeats', String(opts.repeats), '--warmup', String(opts.warmup)];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new Error(`bench with --threads ${t} failed: ${r.stderr.trim()}`);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as KernelRow);
    results.set(t, rows);
  }
  const counts = [...results.keys()];
  const base = results.get(counts[0])!;
  const actual = counts.map((t) => results.get(t)![0]?.threads ?? t);
  const header = ['op', 'shape', ...counts.map((t, i) => `ms @${actual[i]}t`), ...counts.slice(1).map((t, i) => `gain @${actual[i + 1]}t`)];
  const gains: number[][] = counts.slice(1).map(() => []);
  const rows = base.map((row, k) => {
    const ms = counts.map((t) => results.get(t)![k].ms);
    const g = ms.slice(1).map((m, i) => {
      gains[i].push(ms[0] / m);
      return `${(ms[0] / m).toFixed(2)}×`;
    });
    return [row.op, row.shape, ...ms, ...g];
  });
  if (opts.json) {
    for (const [t, rs] of results) for (const r of rs) console.log(JSON.stringify({ ...r, requested_threads: t }));
    return;
  }
  console.log(formatTable(header, rows));
  counts.slice(1).forEach((t, i) => {
    const totals = counts.map((c) => results.get(c)!.reduce((s, r) => s + r.ms, 0));
    console.log(`${actual[i + 1]} threads vs ${actual[0]}: median gain ${median(gains[i]).toFixed(2)}×, total-time gain ${(totals[0] / totals[i + 1]).toFixed(2)}×`);
  });
}
