// Backend selection: torch (libtorch through a native addon; the default in Node when built), wasm
// (the default otherwise), webgpu, cpu, tensorflow (tfjs-node, optional).
// Node only; the platform-free part (the active backend, the browser's backends) is engine/core.ts.
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { ADDON_PATH, INSTALL_HINT } from './torch/addon.js';
import { registerFastConvGradients } from './conv-grads.js';
import { registerGradients, setBackendOrThrow, setEngineInfo, type EngineInfo } from './core.js';
import { withNodeWorkerUrls, withLogicalCores, unrefWasmWorkers } from './wasm-threads.js';

export { engineInfo, type EngineInfo } from './core.js';

export const BACKENDS = ['torch', 'wasm', 'webgpu', 'cpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface EngineConfig {
  backend: BackendName;
  /** wasm and torch: requested threads; default 2 when the machine has more than one core, else 1. */
  threads?: number;
  /** torch only: where tensors live, 'cpu' (default) or 'cuda' (an addon built against a CUDA libtorch). */
  device?: 'cpu' | 'cuda';
  /** Replace the slow/missing conv gradients with the fast forward-conv formulation (default true). */
  fastKernels?: boolean;
  /**
   * torch on CUDA: 'on' lets cuDNN convolutions and cuBLAS matrix products use TF32, 'off' neither;
   * unset keeps PyTorch's defaults (convolutions on, matrix products off).
   */
  tf32?: 'on' | 'off';
}


let active: EngineInfo | null = null;
let cleanup: (() => void) | null = null;

export function defaultThreads(): number {
  return availableParallelism() > 1 ? 2 : 1;
}

/**
 * Selects and initialises a backend. Gradients that tfjs lacks are registered once for all
 * backends. A second call with the same backend is a no-op; switching backends is allowed
 * (tests compare backends), but the wasm thread count is fixed by the first wasm initialisation.
 */
export async function initEngine(config: EngineConfig): Promise<EngineInfo> {
  const fastKernels = config.fastKernels ?? true;
  registerGradients();
  if (active && active.backend === config.backend && tf.getBackend() === config.backend) {
    if (config.backend === 'torch' && config.tf32) active = { ...active, device: await torchDevice(config.device ?? 'cpu', config.tf32) };
    return active;
  }
  switch (config.backend) {
    case 'cpu':
      await setBackendOrThrow('cpu');
      active = { backend: 'cpu', threads: 1, requestedThreads: 1, simd: false, multithread: false, fastKernels: false, device: 'plain JavaScript' };
      break;
    case 'wasm':
      active = await initWasm(config.threads ?? defaultThreads(), fastKernels);
      break;
    case 'torch':
      active = await initTorch(config.threads ?? defaultThreads(), config.device ?? 'cpu', config.tf32);
      break;
    case 'webgpu':
      active = await initWebGpu(fastKernels);
      break;
    case 'tensorflow':
      active = await initTensorflow();
      break;
    default:
      throw new Error(`unknown backend '${String(config.backend)}'; expected one of ${BACKENDS.join(', ')}`);
  }
  return setEngineInfo(active);
}

export interface StartOptions {
  /** Unset: torch when its addon is built, else wasm. */
  backend?: BackendName;
  threads?: number;
  device?: 'cpu' | 'cuda';
  fastKernels?: boolean;
  tf32?: 'on' | 'off';
}

/**
 * Starts the backend the options name; without one, torch when its addon is built (falling back to
 * wasm, with a notice, if it does not load), else wasm (with a notice saying why).
 */
export async function startEngine(opts: StartOptions = {}, notify: (notice: string) => void = () => undefined): Promise<EngineInfo> {
  if (opts.device && opts.backend && opts.backend !== 'torch') throw new Error(`--device applies to the torch backend, not '${opts.backend}'`);
  if (opts.tf32 && opts.backend && opts.backend !== 'torch') throw new Error(`--tf32 applies to the torch backend, not '${opts.backend}'`);
  if (opts.backend) return initEngine({ backend: opts.backend, threads: opts.threads, device: opts.device, fastKernels: opts.fastKernels, tf32: opts.tf32 });
  const choice = defaultBackend();
  if (choice.backend === 'torch' || opts.device) {
    try {
      return await initEngine({ backend: 'torch', threads: opts.threads, device: opts.device, tf32: opts.tf32 });
    } catch (e) {
      if (opts.device) throw e;
      notify(`the torch backend did not start (${(e as Error).message}); using wasm`);
    }
  } else {
    notify(`using the wasm backend (${choice.reason})`);
  }
  return initEngine({ backend: 'wasm', threads: opts.threads, fastKernels: opts.fastKernels });
}

/** Releases what keeps the process alive (webgpu's navigator.gpu). Safe to call more than once. */
export async function shutdownEngine(): Promise<void> {
  if (cleanup) {
    const c = cleanup;
    cleanup = null;
    c();
  }
}


/** torch when its addon is built, else wasm; with the reason (the addon is not loaded to decide). */
export function defaultBackend(): { backend: BackendName; reason: string } {
  if (existsSync(ADDON_PATH)) return { backend: 'torch', reason: `the libtorch addon is built (${ADDON_PATH})` };
  return { backend: 'wasm', reason: `the torch addon is not built: ${INSTALL_HINT}` };
}

/** Applies the TF32 choice (torch) and describes the device. */
async function torchDevice(device: 'cpu' | 'cuda', tf32?: 'on' | 'off'): Promise<string> {
  const { requireTorchAddon } = await import('./torch/index.js');
  const addon = requireTorchAddon();
  if (device !== 'cuda') return `libtorch ${addon.torchVersion} CPU, ${availableParallelism()} cores`;
  const flags = tf32 ? addon.setTF32(tf32 === 'on', tf32 === 'on') : addon.getTF32();
  return `libtorch ${addon.torchVersion} CUDA, TF32 convs ${flags.convs ? 'on' : 'off'} / matmuls ${flags.matmuls ? 'on' : 'off'}`;
}

async function initTorch(requested: number, device: 'cpu' | 'cuda', tf32?: 'on' | 'off'): Promise<EngineInfo> {
  if (!Number.isInteger(requested) || requested < 1) throw new Error(`--threads must be a positive integer, got ${requested}`);
  const torch = await import('./torch/index.js');
  const addon = torch.registerTorchBackend(Math.min(requested, availableParallelism()), device);
  await setBackendOrThrow('torch');
  return {
    backend: 'torch',
    threads: addon.getThreads(),
    requestedThreads: requested,
    simd: true,
    multithread: addon.getThreads() > 1,
    fastKernels: true,
    device: await torchDevice(device, tf32),
  };
}

let wasmInitialised: EngineInfo | null = null;

async function initWasm(requested: number, fastKernels: boolean): Promise<EngineInfo> {
  if (!Number.isInteger(requested) || requested < 1) throw new Error(`--threads must be a positive integer, got ${requested}`);
  if (wasmInitialised) {
    await setBackendOrThrow('wasm');
    return wasmInitialised;
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  // More threads than cores only adds contention; tfjs itself stops at 8.
  const threads = Math.min(requested, availableParallelism(), 8);
  const multithread = threads > 1 && simd;
  // tfjs disables threads in Node; we enable them and make the pthread workers loadable (wasm-threads.ts).
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', multithread);
  wasm.setThreadsCount(threads);
  if (fastKernels) registerFastConvGradients('wasm');
  if (multithread) await withLogicalCores(threads, () => withNodeWorkerUrls(() => setBackendOrThrow('wasm')));
  else await setBackendOrThrow('wasm');
  const backend = tf.backend() as unknown as { wasm: { PThread?: Parameters<typeof unrefWasmWorkers>[0]['PThread'] } };
  if (multithread) unrefWasmWorkers(backend.wasm);
  wasmInitialised = {
    backend: 'wasm',
    threads: wasm.getThreadsCount(),
    requestedThreads: requested,
    simd,
    multithread,
    fastKernels,
    device: `WebAssembly${simd ? ' SIMD' : ''}, ${availableParallelism()} cores`,
  };
  return wasmInitialised;
}

interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string; device?: string } } | null>;
}

let webgpuCreated = false;

/** Installs navigator.gpu from the `webgpu` package (Dawn) unless a real one exists (browser). */
async function ensureNavigatorGpu(): Promise<GpuLike> {
  const g = globalThis as unknown as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  let webgpu: { create(args: string[]): GpuLike; globals?: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (e) {
    throw new Error(`backend 'webgpu' needs the npm package 'webgpu' (Dawn for Node): ${(e as Error).message}`);
  }
  if (webgpu.globals) Object.assign(globalThis, webgpu.globals);
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  const gpu = webgpu.create([]);
  g.navigator!.gpu = gpu;
  webgpuCreated = true;
  return gpu;
}

/** Removes the navigator.gpu we installed: while it exists Dawn keeps Node from exiting. */
function releaseNavigatorGpu(): void {
  const g = globalThis as unknown as { navigator?: { gpu?: GpuLike } };
  if (webgpuCreated && g.navigator) delete g.navigator.gpu;
  webgpuCreated = false;
}

/** Asks for a GPU adapter; resolves to a description, or null within 20 s when there is none. */
export async function probeWebGpu(): Promise<string | null> {
  const gpu = await ensureNavigatorGpu();
  const adapter = await Promise.race([
    gpu.requestAdapter().catch(() => null),
    new Promise<null>((resolve) => {
      const t = setTimeout(() => resolve(null), 20_000);
      (t as unknown as { unref?: () => void }).unref?.();
    }),
  ]);
  if (!adapter) return null;
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'WebGPU adapter';
}

async function initWebGpu(fastKernels: boolean): Promise<EngineInfo> {
  const device = await probeWebGpu();
  if (!device) {
    releaseNavigatorGpu();
    throw new Error(
      "backend 'webgpu': no GPU adapter found (WebGPU through Dawn needs a Vulkan-capable GPU and driver; software Vulkan is rejected). Use --backend wasm on a CPU machine.",
    );
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  if (fastKernels) registerFastConvGradients('webgpu');
  try {
    await setBackendOrThrow('webgpu');
  } catch (e) {
    releaseNavigatorGpu();
    throw e;
  }
  cleanup = () => {
    tf.removeBackend('webgpu');
    releaseNavigatorGpu();
  };
  return { backend: 'webgpu', threads: 1, requestedThreads: 1, simd: false, multithread: false, fastKernels, device };
}

/** Whether @tensorflow/tfjs-node can be resolved (it is an optional, user-installed extra). */
export function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

async function initTensorflow(): Promise<EngineInfo> {
  try {
    // Optional dependency, resolved at run time only; not in package.json because its install
    // script downloads libtensorflow.
    const name = '@tensorflow/tfjs-node';
    await import(name);
  } catch (e) {
    throw new Error(
      `backend 'tensorflow' needs @tensorflow/tfjs-node, which is not installed (${(e as Error).message.split('\n')[0]}). ` +
        'Install it with `npm install @tensorflow/tfjs-node@4.22.0` on a machine that can download libtensorflow, or use --backend wasm.',
    );
  }
  await setBackendOrThrow('tensorflow');
  return { backend: 'tensorflow', threads: 1, requestedThreads: 1, simd: false, multithread: false, fastKernels: false, device: 'libtensorflow (tfjs-node)' };
}
