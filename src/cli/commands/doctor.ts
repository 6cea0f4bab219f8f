// `lia doctor`: what this machine offers — backends, threads, datasets, PyTorch — and a short
// kernel benchmark on the chosen backend.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { availableParallelism, totalmem, cpus } from 'node:os';
import { addEngineOptions, initEngineFrom, type EngineOptions } from '../engine-options.js';
import { probeWebGpu, shutdownEngine, tfjsNodeInstalled, initEngine, defaultBackend } from '../../engine/backend.js';
import { loadTorchAddon, torchAddonError } from '../../engine/torch/addon.js';
import { benchKernels } from '../../bench/kernels.js';
import { findTorchPython } from '../../bench/python.js';
import { formatTable } from '../table.js';

const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

interface DoctorOpts extends EngineOptions {
  json?: boolean;
  bench: boolean;
}

export function registerDoctor(program: Command): void {
  addEngineOptions(
    program
      .command('doctor')
      .description('report backends, threads, dataset paths and PyTorch, then run a short kernel benchmark')
      .option('--json', 'print the report as one JSON object')
      .option('--no-bench', 'skip the kernel benchmark'),
  ).action(async (opts: DoctorOpts) => {
    const report: Record<string, unknown> = {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpu: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    };
    const say = (s: string) => !opts.json && console.log(s);
    say(`lia doctor — Node ${report.node}, ${report.platform}, ${report.cpu}, ${report.memoryGiB} GiB`);

    // Backends. webgpu is probed first, then released so it does not keep the process alive.
    const backends: Record<string, string> = {};
    let gpu: string | null = null;
    try {
      gpu = await probeWebGpu();
      backends.webgpu = gpu ? `available: ${gpu}` : 'no GPU adapter (expected on CPU-only machines)';
    } catch (e) {
      backends.webgpu = `unavailable: ${(e as Error).message}`;
    }
    await shutdownEngine();
    backends.tensorflow = tfjsNodeInstalled() ? 'installed (@tensorflow/tfjs-node)' : 'not installed (optional: npm install @tensorflow/tfjs-node)';
    const torchAddon = loadTorchAddon();
    backends.torch = torchAddon
      ? `available: libtorch ${torchAddon.torchVersion}${torchAddon.cuda ? ' with CUDA' : ' CPU'}`
      : `unavailable: ${torchAddonError()}`;
    const chosen = defaultBackend();
    report.defaultBackend = chosen;
    const cpuInfo = await initEngine({ backend: 'cpu' });
    backends.cpu = `available (${cpuInfo.device}; the reference for tests, too slow to train)`;
    const info = await initEngineFrom(opts);
    if (info.backend !== 'cpu') backends[info.backend] = `active: ${info.device}`;
    if (info.backend !== 'wasm') backends.wasm = backends.wasm ?? 'not initialised (run with --backend wasm)';
    report.backends = backends;
    report.engine = info;
    say('\nbackends');
    for (const [k, v] of Object.entries(backends)) say(`  ${k.padEnd(10)} ${v}`);
    say(`\ndefault backend ${chosen.backend}: ${chosen.reason}`);
    say(`active backend ${info.backend}: threads ${info.threads} (requested ${info.requestedThreads}), SIMD ${info.simd ? 'yes' : 'no'}, fast conv gradients ${info.fastKernels ? 'on' : 'off'}`);

    // Datasets.
    const datasets: Record<string, string> = {};
    const fm = FASHION_FILES.map((f) => [f, existsSync(`${FASHION_MNIST_DIR}/${f}.gz`) || existsSync(`${FASHION_MNIST_DIR}/${f}`)] as const);
    datasets['fashion-mnist'] = fm.every(([, ok]) => ok)
      ? `found in ${FASHION_MNIST_DIR}`
      : `missing (${fm.filter(([, ok]) => !ok).map(([f]) => f).join(', ')}); install with: apt-get install -y dataset-fashion-mnist, or pass --data-dir`;
    datasets.shapes = 'built in (synthetic, nothing to install)';
    report.datasets = datasets;
    say('\ndatasets');
    for (const [k, v] of Object.entries(datasets)) say(`  ${k.padEnd(14)} ${v}`);

    const torch = findTorchPython();
    report.pytorch = torch ? `${torch.torchVersion} (${torch.python})` : null;
    say(`\nPyTorch (reference comparisons only): ${torch ? report.pytorch : 'not found (Debian: apt-get install python3-torch)'}`);

    if (opts.bench) {
      say('\nkernel benchmark (batch 8, 16×16 and 32×32 layers of the 32×32 model; median of 5)');
      const rows = await benchKernels({ resolutions: [32], batch: 8, repeats: 5, warmup: 1, backend: info.backend, threads: info.threads });
      const picked = rows.filter((r) => r.op === 'matmul' || r.dims[1] >= 16);
      report.bench = picked.map((r) => ({ op: r.op, shape: r.shape, ms: r.ms, gflops: r.gflops }));
      say(formatTable(['op', 'shape', 'ms', 'GFLOP/s', 'vs fwd'], picked.map((r) => [r.op, r.shape, r.ms, r.gflops, r.vsForward ? `${r.vsForward.toFixed(2)}×` : ''])));
    }
    if (opts.json) console.log(JSON.stringify(report));
  });
}
