// The codes of many images, a batch at a time: what `lia encode` writes and `lia batch worker`
// writes per shard — one home, so both give the same bits for the same batches. (The torch backend's
// convolutions are not batch-invariant to the last bit: an image encoded in a batch of 10 can differ
// by ~1e-5 from the same image in a batch of 64, so callers that must agree also agree on batches.)
import * as tf from '@tensorflow/tfjs';
import { InvertibleNetwork } from '../models/invertible.js';
import type { Encoder } from '../models/encoder.js';
import type { Generator } from '../models/generator.js';
import type { EncoderSnapshotConfig } from '../models/checkpoints.js';
import type { Code, CodeSpace } from './codes.js';

/** Images [n, R, R, C] in [-1, 1], row-major. */
export interface ImageArray {
  data: Float32Array;
  n: number;
}

/**
 * y (or ws, or the baseline's z) for every image, and z = Φ(y) when the decoder's mapping is
 * invertible and y is one vector, encoded `batch` images at a time from the first. `afterBatch` is
 * awaited after each batch (a batch worker yields to its event loop there, so its job lock is renewed).
 */
export async function encodeAll(
  E: Encoder,
  G: Generator,
  config: EncoderSnapshotConfig,
  images: ImageArray,
  batch: number,
  afterBatch?: (done: number, total: number) => Promise<void> | void,
): Promise<Partial<Record<CodeSpace, Code>>> {
  const { resolution: r, channels: c, latentSize: d } = config.decoder.generator;
  const size = r * r * c;
  const wplus = config.encoder.latent === 'wplus';
  const per = wplus ? config.encoder.numWs * d : d;
  const code = new Float32Array(images.n * per);
  const z = config.predicts === 'y' && !wplus && G.mapping instanceof InvertibleNetwork ? new Float32Array(images.n * d) : null;
  for (let i = 0; i < images.n; i += batch) {
    const b = Math.min(batch, images.n - i);
    const out = tf.tidy(() => {
      const x = tf.tensor4d(images.data.subarray(i * size, (i + b) * size), [b, r, r, c]);
      const y = E.forward(x, false);
      return z ? [y, (G.mapping as InvertibleNetwork).forward(y as tf.Tensor2D)] : [y];
    });
    code.set((await out[0].data()) as Float32Array, i * per);
    if (z) z.set((await out[1].data()) as Float32Array, i * d);
    tf.dispose(out);
    await afterBatch?.(i + b, images.n);
  }
  const name: CodeSpace = config.predicts === 'z' ? 'z' : wplus ? 'ws' : 'y';
  const result: Partial<Record<CodeSpace, Code>> = { [name]: { shape: wplus ? [images.n, config.encoder.numWs, d] : [images.n, d], data: code } };
  if (z) result.z = { shape: [images.n, d], data: z };
  return result;
}
