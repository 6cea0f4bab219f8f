// Options shared by every command that computes with tensors: --backend and --threads.
import { Command, Option } from 'commander';
import { BACKENDS, type BackendName, initEngine, type EngineInfo } from '../engine/backend.js';

export interface EngineOptions {
  backend: BackendName;
  threads?: number;
  fastKernels?: boolean;
}

export function addEngineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backend <name>', 'tensor backend').choices([...BACKENDS]).default('wasm'))
    .addOption(
      new Option('--threads <n>', 'wasm threads (default: 2 when the machine has more than one core, else 1)').argParser(parsePositiveInt),
    )
    .option('--no-fast-kernels', "use tfjs's own conv gradient kernels (wasm then has no backprop-filter)");
}

export async function initEngineFrom(opts: EngineOptions): Promise<EngineInfo> {
  return initEngine({ backend: opts.backend, threads: opts.threads, fastKernels: opts.fastKernels });
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
