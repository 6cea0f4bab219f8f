// The `torch` backend's entry: registers it with tfjs (Node only; needs the native addon).
import * as tf from '@tensorflow/tfjs';
import { loadTorchAddon, torchAddonError, type TorchAddon } from './addon.js';
import { TorchBackend } from './backend.js';
import { registerTorchKernels, TORCH_BACKEND } from './kernels.js';

export { TorchBackend } from './backend.js';
export { TORCH_BACKEND } from './kernels.js';
export { loadTorchAddon, torchAddonError } from './addon.js';

/** The addon, or a clear error naming how to build it. */
export function requireTorchAddon(): TorchAddon {
  const addon = loadTorchAddon();
  if (!addon) throw new Error(`backend 'torch': ${torchAddonError()}`);
  return addon;
}

/**
 * Registers the `torch` backend and its kernels (once), and sets libtorch's intra-op threads.
 * The backend factory is synchronous, so tfjs can rebuild it after engine resets.
 */
export function registerTorchBackend(threads: number, device: 'cpu' | 'cuda' = 'cpu'): TorchAddon {
  const addon = requireTorchAddon();
  registerTorchKernels();
  if (device !== 'cpu' && !addon.cuda) {
    throw new Error(`backend 'torch': --device ${device} needs an addon built against a CUDA libtorch (this one is libtorch ${addon.torchVersion} without CUDA); rebuild with LIA_TORCH_DIR=<CUDA libtorch> npm run build:torch on a machine with a GPU`);
  }
  if (device !== 'cpu') addon.setDevice(device);
  if (!tf.findBackendFactory(TORCH_BACKEND)) tf.registerBackend(TORCH_BACKEND, () => new TorchBackend(addon), 1);
  addon.setThreads(threads);
  return addon;
}
