// Multi-threaded wasm in Node.
//
// tfjs forces WASM_HAS_MULTITHREAD_SUPPORT to false in Node (tfjs issue #3830) because Emscripten
// starts its pthread workers from `blob:` URLs, which Node's worker_threads refuse. Two blobs are
// involved: the worker script (passed to URL.createObjectURL in this thread by locateFile) and the
// module's main script (posted to each worker, which again turns it into an object URL and reads it
// with fs.readFileSync). We write the worker script to a real file whose prelude makes the worker's
// URL.createObjectURL return the real path of the module script in node_modules, and, only while the
// backend initialises, point this thread's URL.createObjectURL at that worker file.
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

interface EmscriptenWorker {
  unref(): void;
  terminate(): Promise<number> | void;
}
interface PThreadRegistry {
  unusedWorkers: EmscriptenWorker[];
  runningWorkers: EmscriptenWorker[];
}

let workerDir: string | null = null;

/** Writes the worker file once per process and returns its path. */
function workerScriptPath(): string {
  if (workerDir) return join(workerDir, 'tfjs-wasm-worker.cjs');
  const moduleScript = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as {
    wasmWorkerContents: string;
  };
  const prelude =
    `URL.createObjectURL = function () { return ${JSON.stringify(moduleScript)}; };\n` +
    `URL.revokeObjectURL = function () {};\n`;
  workerDir = mkdtempSync(join(tmpdir(), 'lia-wasm-'));
  const path = join(workerDir, 'tfjs-wasm-worker.cjs');
  // The template literal turned the script's "\n" escapes into real newlines inside string
  // literals; restore them, as tfjs does before making its Blob.
  writeFileSync(path, prelude + wasmWorkerContents.replace(/\n/g, '\\n'));
  process.once('exit', () => {
    if (workerDir) rmSync(workerDir, { recursive: true, force: true });
  });
  return path;
}

/**
 * Runs `init` (which must create the wasm backend) with URL.createObjectURL redirected so that
 * Emscripten's pthread workers start from a real file.
 */
export async function withNodeWorkerUrls<T>(init: () => Promise<T>): Promise<T> {
  const path = workerScriptPath();
  const original = URL.createObjectURL;
  URL.createObjectURL = ((obj: Blob) => (obj instanceof Blob ? path : original(obj))) as typeof URL.createObjectURL;
  try {
    return await init();
  } finally {
    URL.createObjectURL = original;
  }
}

/**
 * tfjs caps its XNNPACK pool at emscripten_num_logical_cores() / 2 ("many x86-64 processors have 2
 * threads per core"), which in Node is os.cpus().length / 2: a 2-vCPU machine gets 1 thread whatever
 * was requested. While the backend initialises, report enough logical cores for `threads` so that the
 * requested count (already limited by the caller to the real core count) is honoured.
 */
export async function withLogicalCores<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const os = require('node:os') as { cpus: () => unknown[] };
  const real = os.cpus;
  os.cpus = () => {
    const cpus = real();
    const out: unknown[] = [];
    while (out.length < 2 * threads) out.push(...cpus);
    return out;
  };
  try {
    return await init();
  } finally {
    os.cpus = real;
  }
}

/**
 * Lets the process exit while the thread pool is idle: Emscripten ref()s each worker when it
 * starts a pthread, and XNNPACK's pool threads never finish, so without this Node never exits.
 */
export function unrefWasmWorkers(wasmModule: { PThread?: PThreadRegistry }): number {
  const pt = wasmModule.PThread;
  if (!pt) return 0;
  const all = [...pt.runningWorkers, ...pt.unusedWorkers];
  for (const w of all) w.unref();
  return all.length;
}
