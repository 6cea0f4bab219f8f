// Where the images a metric compares come from: N images drawn from a generator with seeded
// latents, and the real test split streamed from the data layer. Both yield NHWC [B, H, W, C]
// tensors in [-1, 1] that the consumer disposes.
import * as tf from '@tensorflow/tfjs';
import { evalBatches, rangeSize, type Dataset } from '../data/index.js';
import { Rng } from '../util/rng.js';
import { toBytes, type Uint8Images } from '../io/pixel-bytes.js';
import type { GeneratorLike, ImageSource } from './types.js';

/** n standard-normal latents [n, dz] from rng (row by row, so a batch's rows do not depend on the batch size). */
export function sampleLatents(rng: Rng, n: number, dz: number): tf.Tensor2D {
  const z = new Float32Array(n * dz);
  for (let i = 0; i < z.length; i++) z[i] = rng.normal();
  return tf.tensor2d(z, [n, dz]);
}

/** x = synthesis(mapping(z)) for z [N, dz], with the fixed noise maps or fresh noise from `noiseSeed`. */
export function generate(g: GeneratorLike, z: tf.Tensor2D, noiseSeed?: number): tf.Tensor4D {
  return tf.tidy(() => g.synthesis(g.mapping(z), noiseSeed));
}

function checkCount(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${n}`);
}

/**
 * `num` images from `g` in batches of `batch`, z ~ N(0, I) from Rng(seed). With the fixed noise maps
 * (`noise` 'const', the default here) the same seed gives the same images whatever the batch size;
 * with 'random' each batch draws fresh noise from a seed made of `seed` and its first image's index.
 */
export function generatedImages(g: GeneratorLike, opts: { num: number; batch: number; seed: number; noise?: 'const' | 'random' }): ImageSource {
  checkCount('number of images', opts.num);
  checkCount('batch', opts.batch);
  return async function* () {
    const rng = new Rng(opts.seed);
    for (let done = 0; done < opts.num; done += opts.batch) {
      const n = Math.min(opts.batch, opts.num - done);
      yield tf.tidy(() => {
        const x = generate(g, sampleLatents(rng, n, g.latentSize), opts.noise === 'random' ? opts.seed * 1_000_003 + done + 1 : undefined);
        if (x.rank !== 4 || x.shape[0] !== n || x.shape[1] !== g.resolution || x.shape[2] !== g.resolution || x.shape[3] !== g.channels) {
          throw new Error(`generator returned [${x.shape.join(', ')}], expected [${n}, ${g.resolution}, ${g.resolution}, ${g.channels}]`);
        }
        return x;
      });
      // Let the event loop breathe between batches (progress bars, Ctrl-C).
      await new Promise((r) => setImmediate(r));
    }
  };
}

/** The first `num` images (default all) of a dataset split, in the dataset's order. */
export function realImages(ds: Dataset, opts: { split?: 'test' | 'train'; num?: number; batch: number }): ImageSource {
  checkCount('batch', opts.batch);
  const split = opts.split ?? 'test';
  const range = split === 'test' ? ds.test : ds.train;
  const num = Math.min(opts.num ?? Infinity, rangeSize(range));
  if (num < 1) throw new Error(`${ds.name}: the ${split} split is empty`);
  return async function* () {
    for (const b of evalBatches(ds, { start: range.start, end: range.start + num }, opts.batch)) {
      yield tf.tensor4d(b.data, b.shape);
      await new Promise((r) => setImmediate(r));
    }
  };
}

/** Images held in memory (reconstructions, refined images), flat NHWC in [-1, 1], `batch` at a time. */
export function arrayImages(x: Float32Array, shape: { resolution: number; channels: number }, batch: number): ImageSource {
  checkCount('batch', batch);
  const { resolution: r, channels: c } = shape;
  const size = r * r * c;
  const n = x.length / size;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${x.length} values are not a whole number of ${r}×${r}×${c} images`);
  return async function* () {
    for (let i = 0; i < n; i += batch) yield tf.tensor4d(x.subarray(i * size, Math.min(n, i + batch) * size), [Math.min(batch, n - i), r, r, c]);
  };
}

/** Number of images a split offers (for naming metrics by what they used). */
export function realCount(ds: Dataset, split: 'test' | 'train' = 'test', num = Infinity): number {
  return Math.min(num, rangeSize(split === 'test' ? ds.test : ds.train));
}

/** Collects a source into uint8 pixels (ProGAN quantises every image to 8 bits before its metrics). */
export async function collectUint8(source: ImageSource, limit = Infinity): Promise<Uint8Images> {
  const parts: Uint8Array[] = [];
  let shape: number[] | null = null;
  let n = 0;
  for await (const x of source()) {
    try {
      if (n >= limit) break;
      if (shape && (x.shape[1] !== shape[1] || x.shape[2] !== shape[2] || x.shape[3] !== shape[3])) {
        throw new Error(`image source changed shape from [${shape.slice(1).join(', ')}] to [${x.shape.slice(1).join(', ')}]`);
      }
      shape = x.shape;
      const take = Math.min(x.shape[0], limit - n);
      const data = (await x.data()) as Float32Array;
      const size = x.shape[1] * x.shape[2] * x.shape[3];
      parts.push(toBytes(data.subarray(0, take * size)));
      n += take;
    } finally {
      x.dispose();
    }
  }
  if (!shape) throw new Error('image source yielded no images');
  const pixels = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    pixels.set(p, at);
    at += p.length;
  }
  return { pixels, n, h: shape[1], w: shape[2], c: shape[3] };
}
