// '@tensorflow/tfjs' in the browser build (see vite.config.ts): what the union package gives lia —
// tfjs-core with every gradient and the chained ops, and the cpu and WebGL backends — without the
// layers, converter and data packages. wasm and WebGPU are imported by engine/core.ts when chosen.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';

export * from '@tensorflow/tfjs-core';
