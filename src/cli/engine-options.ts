// Options shared by every command that computes with tensors: --backend and --threads.
import { Command, Option } from 'commander';
import { BACKENDS, type BackendName, initEngine, defaultBackend, type EngineInfo } from '../engine/backend.js';

export interface EngineOptions {
  /** Unset: torch when its addon is built, else wasm. */
  backend?: BackendName;
  threads?: number;
  device?: 'cpu' | 'cuda';
  fastKernels?: boolean;
}

export function addEngineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backend <name>', 'tensor backend (default: torch when its addon is built, else wasm)').choices([...BACKENDS]))
    .addOption(
      new Option('--threads <n>', 'threads of the torch and wasm backends (default: 2 when the machine has more than one core, else 1)').argParser(parsePositiveInt),
    )
    .addOption(new Option('--device <name>', 'torch backend: cpu, or cuda with an addon built against a CUDA libtorch').choices(['cpu', 'cuda']))
    .option('--no-fast-kernels', "use tfjs's own conv gradient kernels (wasm then has no backprop-filter)");
}

/**
 * Initialises the backend the options name; without --backend, torch when its addon is built
 * (falling back to wasm with a notice if it does not load), else wasm.
 */
export async function initEngineFrom(opts: EngineOptions): Promise<EngineInfo> {
  if (opts.device && opts.backend && opts.backend !== 'torch') throw new Error(`--device applies to the torch backend, not '${opts.backend}'`);
  if (opts.backend) return initEngine({ backend: opts.backend, threads: opts.threads, device: opts.device, fastKernels: opts.fastKernels });
  const choice = defaultBackend();
  if (choice.backend === 'torch' || opts.device) {
    try {
      return await initEngine({ backend: 'torch', threads: opts.threads, device: opts.device });
    } catch (e) {
      if (opts.device) throw e;
      console.error(`lia: the torch backend did not start (${(e as Error).message}); using wasm`);
    }
  } else {
    console.error(`lia: using the wasm backend (${choice.reason})`);
  }
  return initEngine({ backend: 'wasm', threads: opts.threads, fastKernels: opts.fastKernels });
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got '${value}'`);
  return n;
}

/** A finite number, or a clear error naming the value. */
export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`expected a number, got '${value}'`);
  return n;
}
