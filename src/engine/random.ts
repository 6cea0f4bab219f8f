// Random numbers for training steps, drawn where the tensors live. tfjs's own tf.randomNormal draws
// in JavaScript and uploads the values (on the torch backend with a GPU, a third of a training
// step's host time went there); a backend that registers RANDOM_NORMAL (torch: libtorch's CPU or
// CUDA generator) draws them itself. Every draw is seeded by the caller from the run's Rng, so a
// run's draws follow from the Rng's state alone: a snapshot that holds it resumes exactly.
//
// The same seed gives the same numbers on the same backend and device; backends draw different
// numbers. Whatever compares two backends (parity tests, `lia bench drift`) draws on the host on
// both: withHostRandom.
import * as tf from '@tensorflow/tfjs';
import { tfSeed } from '../util/rng.js';

/** Kernel: attrs seed (an integer 0 ≤ seed < 2^53), mean, stdDev, shape → float32 normal draws. */
export const RANDOM_NORMAL = 'LiaRandomNormal';

let hostOnly = 0;

/** Whether randomNormal draws on the backend now (false on backends without the kernel, or inside withHostRandom). */
export function backendRandom(): boolean {
  return hostOnly === 0 && tf.getKernel(RANDOM_NORMAL, tf.getBackend()) !== undefined;
}

/** Runs f with every randomNormal drawn by tfjs's host generator, as on the cpu backend. */
export async function withHostRandom<T>(f: () => Promise<T> | T): Promise<T> {
  hostOnly++;
  try {
    return await f();
  } finally {
    hostOnly--;
  }
}

/** N(mean, stdDev²) float32 draws of `shape`, seeded by `seed` (a uint32 from the run's Rng). */
export function randomNormal(shape: number[], seed: number, mean = 0, stdDev = 1): tf.Tensor {
  if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) throw new Error(`randomNormal: seed must be a non-negative integer, got ${seed}`);
  if (backendRandom()) return tf.engine().runKernel(RANDOM_NORMAL, {}, { seed, mean, stdDev, shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  return tf.randomNormal(shape, mean, stdDev, 'float32', tfSeed(seed));
}
