// Sample grids of a decoder: fixed latents per run, rendered through the EMA generator.
import * as tf from '@tensorflow/tfjs';
import { tfSeed } from '../util/rng.js';
import { writeImageGrid } from '../io/images.js';
import type { Generator } from '../models/generator.js';

/** Fixed latents for the sample grids of a run (the same at every snapshot and after a resume). */
export function gridLatents(seed: number, n: number, latentSize: number): tf.Tensor2D {
  return tf.randomNormal([n, latentSize], 0, 1, 'float32', tfSeed(seed + 1234)) as tf.Tensor2D;
}

/** Renders `z` through a generator in batches and writes a PNG grid. */
export async function writeSampleGrid(G: Generator, z: tf.Tensor2D, path: string, opts: { truncation?: number; batch?: number; cols?: number } = {}): Promise<void> {
  const { resolution: r, channels: c } = G.config;
  const n = z.shape[0];
  const b = opts.batch ?? 32;
  const out = new Float32Array(n * r * r * c);
  for (let i = 0; i < n; i += b) {
    const imgs = tf.tidy(() => G.forward(tf.slice(z, [i, 0], [Math.min(b, n - i), -1]) as tf.Tensor2D, { noise: 'const', truncation: opts.truncation }));
    out.set((await imgs.data()) as Float32Array, i * r * r * c);
    imgs.dispose();
  }
  await writeImageGrid(path, { data: out, n, h: r, w: r, c }, { cols: opts.cols });
}

