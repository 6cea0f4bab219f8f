// Loads the native half of the `torch` backend (native/torch, built by `npm install` through
// scripts/build-torch.mjs when a libtorch is found). Node only.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** dtype codes shared with native/torch/lia_torch.cc. */
export const DTYPE_CODES = { float32: 0, int32: 1, bool: 2 } as const;
export const CODE_DTYPES = ['float32', 'int32', 'bool'] as const;

export interface TorchAddon {
  /** Op name → op code for run(). */
  ops: Record<string, number>;
  /** Runs op `code` on the tensors behind `inputs`; results are described in the scratch buffer. */
  run(code: number, outDtype: number, inputs: number[], attrs: number[]): void;
  setScratch(buffer: Int32Array): void;
  write(values: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: number): number;
  read(handle: number): Float32Array | Int32Array | Uint8Array;
  free(handle: number): void;
  /** Live handles and the bytes of the distinct libtorch storages behind them. */
  memory(): { handles: number; bytes: number };
  setThreads(n: number): number;
  /** 'cpu', 'cuda' or 'cuda:N' (CUDA only when built against a CUDA libtorch); only before tensors exist. */
  setDevice(name: string): string;
  getThreads(): number;
  /** Whether cuDNN convolutions / cuBLAS matrix products may use TF32 (CUDA); returns the flags in force. */
  setTF32(convs: boolean, matmuls: boolean): { convs: boolean; matmuls: boolean };
  getTF32(): { convs: boolean; matmuls: boolean };
  /** Waits for every queued kernel of the device (CUDA); returns at once on the CPU. */
  sync(): void;
  torchVersion: string;
  cuda: boolean;
}

/** Where `npm install` puts the addon (LIA_TORCH_ADDON overrides it). */
export const ADDON_PATH = process.env.LIA_TORCH_ADDON || fileURLToPath(new URL('../../../native/torch/build/Release/lia_torch.node', import.meta.url));

export const INSTALL_HINT =
  'install libtorch and a compiler (Debian: `apt-get install -y libtorch-dev build-essential`; elsewhere a PyTorch in python3) and run `npm run build:torch`';

let cached: TorchAddon | null = null;
let loadError: string | null = null;

/** The addon, or null with the reason in torchAddonError(). */
export function loadTorchAddon(): TorchAddon | null {
  if (cached) return cached;
  if (loadError !== null) return null;
  if (!existsSync(ADDON_PATH)) {
    loadError = `the torch addon is not built (${ADDON_PATH} is missing): ${INSTALL_HINT}`;
    return null;
  }
  try {
    cached = createRequire(import.meta.url)(ADDON_PATH) as TorchAddon;
    return cached;
  } catch (e) {
    loadError = `the torch addon at ${ADDON_PATH} failed to load (${(e as Error).message.split('\n')[0]}); rebuild it with \`npm run build:torch\``;
    return null;
  }
}

export function torchAddonError(): string | null {
  loadTorchAddon();
  return loadError;
}
