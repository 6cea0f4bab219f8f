// The platform-free part of the engine: which backend is active, and starting one of the backends a
// browser has (WebGPU, WebGL, wasm, cpu). Node's backends (torch, threaded wasm, Dawn's WebGPU,
// tfjs-node) are in engine/backend.ts, which builds on this module.
import * as tf from '@tensorflow/tfjs';
import { registerFastConvGradients } from './conv-grads.js';
import { registerSecondOrderGradients } from './gradients.js';
import { registerBroadcastGradients } from './broadcast-gradients.js';

export interface EngineInfo {
  backend: string;
  /** Threads actually running (the wasm thread pool, libtorch's intra-op threads; 1 elsewhere). */
  threads: number;
  requestedThreads: number;
  simd: boolean;
  multithread: boolean;
  fastKernels: boolean;
  /** Human-readable device description (GPU adapter for webgpu). */
  device: string;
}

let active: EngineInfo | null = null;

/** The backend started last, or null before any. */
export function engineInfo(): EngineInfo | null {
  return active;
}

/** Records the backend a start function brought up (engine/backend.ts and startBrowserEngine). */
export function setEngineInfo(info: EngineInfo): EngineInfo {
  active = info;
  return info;
}

/** Switches tfjs to a registered backend, or throws naming it. */
export async function setBackendOrThrow(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend '${name}' failed to initialise`);
  await tf.ready();
}

/**
 * The gradients tfjs lacks (second-order ones for R1) and cheaper ones for Tile, Sum and Mean,
 * registered once for every backend.
 */
export function registerGradients(): void {
  registerSecondOrderGradients();
  registerBroadcastGradients();
}

export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BrowserBackendName = (typeof BROWSER_BACKENDS)[number];

export interface BrowserEngineConfig {
  /** One backend, or 'auto' (default): the first of WebGPU, WebGL, wasm, cpu that starts. */
  backend?: BrowserBackendName | 'auto';
  /**
   * Where the wasm backend's .wasm files are served: a folder URL ending in '/', or one URL per file
   * name ('tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm').
   */
  wasmPaths?: string | Record<string, string>;
  /** wasm threads when the page is cross-origin isolated (default: the logical cores, at most 8). */
  threads?: number;
  /** Called with each backend that failed to start and why (auto mode moves on to the next). */
  onFallback?: (backend: BrowserBackendName, reason: string) => void;
}

/**
 * Starts a backend in a browser (or any JavaScript runtime without Node's native backends). In auto
 * mode a backend that fails to start (no WebGPU adapter, no WebGL2) is reported through onFallback
 * and the next is tried.
 */
export async function startBrowserEngine(config: BrowserEngineConfig = {}): Promise<EngineInfo> {
  registerGradients();
  const order: BrowserBackendName[] = !config.backend || config.backend === 'auto' ? [...BROWSER_BACKENDS] : [config.backend];
  for (const name of order) {
    if (!BROWSER_BACKENDS.includes(name)) throw new Error(`unknown backend '${String(name)}'; expected one of ${BROWSER_BACKENDS.join(', ')}`);
  }
  let lastError: Error | null = null;
  for (const name of order) {
    try {
      return setEngineInfo(await startOne(name, config));
    } catch (e) {
      lastError = e as Error;
      if (order.length === 1) throw e;
      config.onFallback?.(name, lastError.message);
    }
  }
  throw new Error(`no backend started (last: ${lastError?.message ?? 'none'})`);
}

interface NavigatorLike {
  gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> };
  hardwareConcurrency?: number;
}

async function startOne(name: BrowserBackendName, config: BrowserEngineConfig): Promise<EngineInfo> {
  const nav = (globalThis as unknown as { navigator?: NavigatorLike }).navigator;
  const cores = nav?.hardwareConcurrency ?? 1;
  const base = { threads: 1, requestedThreads: 1, simd: false, multithread: false, fastKernels: false };
  switch (name) {
    case 'webgpu': {
      if (!nav?.gpu) throw new Error('this browser has no WebGPU (navigator.gpu)');
      const adapter = await nav.gpu.requestAdapter();
      if (!adapter) throw new Error('WebGPU has no adapter');
      await import('@tensorflow/tfjs-backend-webgpu');
      registerFastConvGradients('webgpu');
      await setBackendOrThrow('webgpu');
      const i = adapter.info ?? {};
      return { ...base, backend: 'webgpu', fastKernels: true, device: [i.vendor, i.architecture, i.description].filter((s) => s).join(' ') || 'WebGPU adapter' };
    }
    case 'webgl': {
      if (!tf.findBackendFactory('webgl')) throw new Error('the WebGL backend is not bundled');
      await setBackendOrThrow('webgl');
      const gl = tf.env().getNumber('WEBGL_VERSION');
      if (gl < 2) throw new Error('WebGL2 is not available');
      return { ...base, backend: 'webgl', device: `WebGL ${gl}` };
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (config.wasmPaths) wasm.setWasmPaths(config.wasmPaths as string);
      const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
      const threads = isolated ? Math.max(1, Math.min(config.threads ?? cores, 8)) : 1;
      wasm.setThreadsCount(threads);
      registerFastConvGradients('wasm');
      await setBackendOrThrow('wasm');
      const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
      const multithread = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
      const running = wasm.getThreadsCount();
      return { ...base, backend: 'wasm', threads: running, requestedThreads: threads, simd, multithread, fastKernels: true, device: `WebAssembly${simd ? ' SIMD' : ''}, ${running} thread${running === 1 ? '' : 's'}` };
    }
    case 'cpu':
      await setBackendOrThrow('cpu');
      return { ...base, backend: 'cpu', device: 'plain JavaScript' };
  }
}
