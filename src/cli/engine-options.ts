// Options shared by every command that computes with tensors: --backend and --threads.
import { Command, Option } from 'commander';
import { BACKENDS, startEngine, type EngineInfo, type StartOptions } from '../engine/backend.js';

export type EngineOptions = StartOptions;

export function addEngineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backend <name>', 'tensor backend (default: torch when its addon is built, else wasm)').choices([...BACKENDS]))
    .addOption(
      new Option('--threads <n>', 'threads of the torch and wasm backends (default: 2 when the machine has more than one core, else 1)').argParser(parsePositiveInt),
    )
    .addOption(new Option('--device <name>', 'torch backend: cpu, or cuda with an addon built against a CUDA libtorch').choices(['cpu', 'cuda']))
    .addOption(new Option('--tf32 <on|off>', 'torch on CUDA: TF32 in convolutions and matrix products (default as PyTorch: convolutions on, matrix products off)').choices(['on', 'off']))
    .option('--no-fast-kernels', "use tfjs's own conv gradient kernels (wasm then has no backprop-filter)");
}

/** Initialises the backend the options name (engine/backend.ts startEngine), with notices on stderr. */
export async function initEngineFrom(opts: EngineOptions): Promise<EngineInfo> {
  return startEngine(opts, (notice) => console.error(`lia: ${notice}`));
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
