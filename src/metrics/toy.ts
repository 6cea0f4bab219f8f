// Tiny generators and datasets for tests of the metrics (and of code that calls them): small,
// seeded, with behaviour that can be computed by hand.
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/index.js';
import { Rng } from '../util/rng.js';
import { toBytes } from '../io/pixel-bytes.js';
import type { GeneratorLike } from './types.js';

export interface LinearGenerator extends GeneratorLike {
  /** The synthesis matrix A [dy, R·R·C] (images = y A, reshaped); dispose when done. */
  matrix: tf.Tensor2D;
  dispose(): void;
}

/**
 * images = reshape(mapping(z) A), A with N(0, scale²) entries; mapping = identity unless given
 * (a function of a tensor, called inside tf.tidy).
 */
export function linearGenerator(opts: {
  latentSize: number;
  resolution: number;
  channels: number;
  seed: number;
  scale?: number;
  mapping?: (z: tf.Tensor2D) => tf.Tensor2D;
  /** Added to every pixel (to shift a distribution). */
  offset?: number;
}): LinearGenerator {
  const { latentSize, resolution, channels } = opts;
  const p = resolution * resolution * channels;
  const rng = new Rng(opts.seed);
  const scale = opts.scale ?? 1 / Math.sqrt(latentSize);
  const matrix = tf.tensor2d(Float32Array.from({ length: latentSize * p }, () => rng.normal() * scale), [latentSize, p]);
  const offset = opts.offset ?? 0;
  return {
    latentSize,
    resolution,
    channels,
    matrix,
    mapping: (z) => (opts.mapping ? opts.mapping(z) : tf.clone(z)),
    synthesis: (y) => tf.tidy(() => tf.add(tf.reshape(tf.matMul(y, matrix), [y.shape[0], resolution, resolution, channels]), offset) as tf.Tensor4D),
    dispose: () => matrix.dispose(),
  };
}

/** An unlabelled in-memory dataset from uint8 pixels NHWC; the last `test` images are the test split. */
export function toyDataset(pixels: Uint8Array, n: number, resolution: number, channels: 1 | 3, test: number): Dataset {
  if (pixels.length !== n * resolution * resolution * channels) throw new Error('toyDataset: pixels do not match the shape');
  return {
    name: 'toy',
    source: `toy: ${n} images`,
    pixels,
    count: n,
    resolution,
    channels,
    labels: null,
    classNames: [],
    train: { start: 0, end: n - test },
    test: { start: n - test, end: n },
  };
}

/** Images of a generator as uint8 pixels (for building a toyDataset of "real" images). */
export async function renderUint8(g: GeneratorLike, n: number, seed: number): Promise<Uint8Array> {
  const rng = new Rng(seed);
  const z = tf.tensor2d(Float32Array.from({ length: n * g.latentSize }, () => rng.normal()), [n, g.latentSize]);
  const x = tf.tidy(() => g.synthesis(g.mapping(z)));
  const data = (await x.data()) as Float32Array;
  tf.dispose([z, x]);
  return toBytes(data);
}
