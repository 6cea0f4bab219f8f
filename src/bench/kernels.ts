// `lia bench kernels`: conv forward, backprop-input, backprop-filter and matMul at the layer shapes
// of the 32×32 and 64×64 models; medians over repeated runs; optional PyTorch reference.
import * as tf from '@tensorflow/tfjs';
import { channelWidth, levels } from '../models/widths.js';
import { findTorchPython, runTorchScript } from './python.js';

export type KernelOp = 'conv_fwd' | 'conv_bwd_input' | 'conv_bwd_filter' | 'matmul';

export interface KernelCase {
  op: KernelOp;
  /** conv: [N, H, W, Cin, Cout, k]; matmul: [M, K, N]. */
  dims: number[];
  shape: string;
  flops: number;
}

export interface KernelRow extends KernelCase {
  backend: string;
  threads: number;
  ms: number;
  gflops: number;
  /** This op's GFLOP/s over the forward conv's at the same shape (conv backward rows only). */
  vsForward?: number;
  torchMs?: number;
  torchGflops?: number;
  /** Our GFLOP/s over PyTorch's on the same machine. */
  vsTorch?: number;
}

/** The distinct 3×3 conv and dense shapes of the generator/discriminator at the given resolutions. */
export function kernelCases(resolutions: number[], batch: number): KernelCase[] {
  const convs = new Map<string, number[]>();
  for (const res of resolutions) {
    for (const r of levels(res)) {
      const w = channelWidth(r);
      const prev = r > 4 ? channelWidth(r / 2) : w;
      for (const cin of new Set([prev, w])) convs.set(`${r}:${cin}:${w}`, [batch, r, r, cin, w, 3]);
    }
  }
  const cases: KernelCase[] = [];
  const sorted = [...convs.values()].sort((a, b) => a[1] - b[1] || b[3] - a[3]);
  for (const d of sorted) {
    const [n, h, w, cin, cout, k] = d;
    const flops = 2 * n * h * w * cin * cout * k * k;
    const shape = `${n}×${h}×${w}×${cin}→${cout} k${k}`;
    for (const op of ['conv_fwd', 'conv_bwd_input', 'conv_bwd_filter'] as KernelOp[]) cases.push({ op, dims: d, shape, flops });
  }
  const latent = channelWidth(4);
  for (const [m, k, n] of [
    [batch, latent, latent], // mapping / Φ coupling layers and style affines
    [batch, latent * 16, latent], // discriminator's dense layer after 4×4 features
  ]) {
    cases.push({ op: 'matmul', dims: [m, k, n], shape: `${m}×${k}·${k}×${n}`, flops: 2 * m * k * n });
  }
  return cases;
}

function buildOp(c: KernelCase): { run: () => tf.Tensor; inputs: tf.Tensor[] } {
  if (c.op === 'matmul') {
    const [m, k, n] = c.dims;
    const a = tf.randomNormal([m, k]) as tf.Tensor2D;
    const b = tf.randomNormal([k, n]) as tf.Tensor2D;
    return { run: () => tf.matMul(a, b), inputs: [a, b] };
  }
  const [n, h, w, cin, cout, k] = c.dims;
  const x = tf.randomNormal([n, h, w, cin]) as tf.Tensor4D;
  const f = tf.randomNormal([k, k, cin, cout]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, h, w, cout]) as tf.Tensor4D;
  switch (c.op) {
    case 'conv_fwd':
      return { run: () => tf.conv2d(x, f, 1, 'same'), inputs: [x, f, dy] };
    case 'conv_bwd_input':
      return { run: () => tf.conv2dTranspose(dy, f, [n, h, w, cin], 1, 'same'), inputs: [x, f, dy] };
    case 'conv_bwd_filter':
      return {
        run: () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
            strides: [1, 1],
            pad: 'same',
            dataFormat: 'NHWC',
            dimRoundingMode: undefined,
            filterShape: [k, k, cin, cout],
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
        inputs: [x, f, dy],
      };
  }
}

/**
 * Waits until `t` is computed: on torch the device finishes its queue (no copy of the result, as
 * PyTorch's reference times it); elsewhere the result is read.
 */
export async function settle(t: tf.Tensor): Promise<void> {
  const b = tf.backend() as unknown as { addon?: { sync?: () => void } };
  if (tf.getBackend() === 'torch' && typeof b.addon?.sync === 'function') b.addon.sync();
  else await t.data();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times one case: `warmup` untimed runs, then the median of `repeats` runs (each synchronised). */
export async function timeCase(c: KernelCase, repeats: number, warmup: number): Promise<number> {
  const { run, inputs } = buildOp(c);
  const times: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    const t0 = performance.now();
    const out = run();
    await settle(out);
    const dt = performance.now() - t0;
    out.dispose();
    if (i >= warmup) times.push(dt);
  }
  tf.dispose(inputs);
  return median(times);
}

export interface BenchKernelOptions {
  resolutions: number[];
  batch: number;
  repeats: number;
  warmup: number;
  backend: string;
  threads: number;
  onRow?: (row: KernelRow) => void;
  onError?: (c: KernelCase, e: Error) => void;
}

export async function benchKernels(opts: BenchKernelOptions): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  const fwd = new Map<string, number>();
  for (const c of kernelCases(opts.resolutions, opts.batch)) {
    let ms: number;
    try {
      ms = await timeCase(c, opts.repeats, opts.warmup);
    } catch (e) {
      // e.g. wasm without the fast kernels has no Conv2DBackpropFilter at all.
      opts.onError?.(c, e as Error);
      continue;
    }
    const gflops = c.flops / (ms * 1e6);
    const row: KernelRow = { ...c, backend: opts.backend, threads: opts.threads, ms, gflops };
    if (c.op === 'conv_fwd') fwd.set(c.shape, gflops);
    else if (c.op !== 'matmul' && fwd.has(c.shape)) row.vsForward = gflops / fwd.get(c.shape)!;
    rows.push(row);
    opts.onRow?.(row);
  }
  return rows;
}

// PyTorch reference: the same shapes in NCHW, the backward ops through aten::convolution_backward
// (the kernels autograd itself calls), timed the same way (warmup, then the median).
const TORCH_SCRIPT = String.raw`
import json, sys, time, statistics, torch
cfg = json.loads(sys.stdin.read())
torch.set_num_threads(cfg["threads"])
dev = "cuda" if cfg["cuda"] and torch.cuda.is_available() else "cpu"
if dev == "cuda" and cfg.get("tf32") in ("on", "off"):
    torch.backends.cuda.matmul.allow_tf32 = cfg["tf32"] == "on"
    torch.backends.cudnn.allow_tf32 = cfg["tf32"] == "on"
tf32 = None if dev == "cpu" else {"convs": torch.backends.cudnn.allow_tf32, "matmuls": torch.backends.cuda.matmul.allow_tf32}
sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
reps, warm = cfg["repeats"], cfg["warmup"]
def timeit(f):
    ts = []
    for i in range(warm + reps):
        sync(); t0 = time.perf_counter(); f(); sync(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts[warm:]) * 1000
print(json.dumps({"device": dev if dev == "cpu" else torch.cuda.get_device_name(), "tf32": tf32}), flush=True)
with torch.no_grad():
    for c in cfg["cases"]:
        op, d = c["op"], c["dims"]
        if op == "matmul":
            m, k, n = d; a = torch.randn(m, k, device=dev); b = torch.randn(k, n, device=dev)
            ms = timeit(lambda: a @ b)
        else:
            n, h, w, cin, cout, k = d
            x = torch.randn(n, cin, h, w, device=dev); f = torch.randn(cout, cin, k, k, device=dev); dy = torch.randn(n, cout, h, w, device=dev)
            p = k // 2
            if op == "conv_fwd":
                ms = timeit(lambda: torch.nn.functional.conv2d(x, f, padding=p))
            else:
                mask = [op == "conv_bwd_input", op == "conv_bwd_filter", False]
                ms = timeit(lambda: torch.ops.aten.convolution_backward(dy, x, f, None, [1, 1], [p, p], [1, 1], False, [0, 0], 1, mask))
        print(json.dumps({"op": op, "shape": c["shape"], "ms": ms}), flush=True)
`;

/**
 * Adds PyTorch timings to `rows` in place (on CUDA when `cuda` and a GPU is there, float32; TF32 in
 * convolutions and matrix products 'on', 'off', or unset: PyTorch's defaults); returns a description
 * of the reference, or null when torch is missing.
 */
export function addTorchReference(rows: KernelRow[], threads: number, repeats: number, warmup: number, cuda = false, tf32?: 'on' | 'off'): string | null {
  const py = findTorchPython();
  if (!py) return null;
  const input = { threads, repeats, warmup, cuda, tf32: tf32 ?? null, cases: rows.map(({ op, dims, shape }) => ({ op, dims, shape })) };
  const lines = runTorchScript(py, TORCH_SCRIPT, JSON.stringify(input)).trim().split('\n');
  const head = JSON.parse(lines[0]) as { device: string; tf32: { convs: boolean; matmuls: boolean } | null };
  const device = head.tf32 ? `${head.device}, TF32 convs ${head.tf32.convs ? 'on' : 'off'} / matmuls ${head.tf32.matmuls ? 'on' : 'off'}` : head.device;
  const byKey = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const r = JSON.parse(line) as { op: string; shape: string; ms: number };
    byKey.set(`${r.op}|${r.shape}`, r.ms);
  }
  for (const row of rows) {
    const ms = byKey.get(`${row.op}|${row.shape}`);
    if (ms === undefined) continue;
    row.torchMs = ms;
    row.torchGflops = row.flops / (ms * 1e6);
    row.vsTorch = row.gflops / row.torchGflops;
  }
  return `${py.torchVersion} on ${device === 'cpu' ? `cpu, ${threads} thread${threads > 1 ? 's' : ''}` : device} (${py.python})`;
}
