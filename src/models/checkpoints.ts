// Models from checkpoints, platform-free: the two checkpoint kinds (a stage-1 decoder snapshot, a
// stage-2 encoder checkpoint), their configs, and building the frozen generator and the encoder from
// a decoded snapshot (io/checkpoint.ts). Training (train/) writes them; inference only reads.
import * as tf from '@tensorflow/tfjs';
import { Generator, type GeneratorConfig } from './generator.js';
import { Encoder, type EncoderConfig } from './encoder.js';
import { loadGroup, type SnapshotContents } from '../io/checkpoint.js';
import { Rng } from '../util/rng.js';
import type { DecoderTrainConfig } from '../train/decoder-config.js';
import type { EncoderTrainConfig } from '../train/encoder-config.js';

export const DECODER_KIND = 'lia-decoder';
export const ENCODER_KIND = 'lia-encoder';

/** What a decoder snapshot's metadata `config` holds. */
export interface DecoderSnapshotConfig {
  train: DecoderTrainConfig;
  generator: GeneratorConfig;
  discriminator: { mbstdGroup: number };
}

export interface EncoderSnapshotConfig {
  train: EncoderTrainConfig & { beta1: number };
  encoder: EncoderConfig;
  decoder: DecoderSnapshotConfig;
  /** What the encoder predicts: y (LIA) or z (the baseline, through the MLP mapping). */
  predicts: 'y' | 'z';
}

/** Encoder checkpoints written before the output standardisation have no code statistics: identity. */
export const ENCODER_OPTIONAL_STATE: ReadonlySet<string> = new Set(['code_mean', 'code_std']);

/** Checks that a snapshot is a stage-1 decoder and returns its config. */
export function requireDecoderSnapshot(snap: SnapshotContents): DecoderSnapshotConfig {
  if (snap.kind !== DECODER_KIND) throw new Error(`${snap.source}: expected a decoder snapshot (kind '${DECODER_KIND}'), found kind '${snap.kind}'`);
  const c = snap.config as DecoderSnapshotConfig;
  if (!c?.train || !c?.generator) throw new Error(`${snap.source}: decoder snapshot without train/generator config`);
  return c;
}

/** loadGenerator for a snapshot already read. */
export function generatorFromSnapshot(snap: SnapshotContents, which: 'g_ema' | 'g' = 'g_ema'): { G: Generator; config: DecoderSnapshotConfig } {
  const config = requireDecoderSnapshot(snap);
  const G = new Generator(config.train.seed, config.generator);
  loadGroup(snap, which, G.namedState());
  return { G, config };
}

export function requireEncoderSnapshot(snap: SnapshotContents): EncoderSnapshotConfig {
  if (snap.kind !== ENCODER_KIND) {
    const what = snap.kind === 'lia-decoder' ? 'a decoder snapshot (stage 1)' : `kind '${snap.kind}'`;
    throw new Error(`${snap.source}: expected an encoder checkpoint (kind '${ENCODER_KIND}', from lia train-encoder), found ${what}`);
  }
  const c = snap.config as EncoderSnapshotConfig;
  if (!c?.encoder || !c?.decoder) throw new Error(`${snap.source}: encoder checkpoint without encoder/decoder config`);
  return c;
}

/** loadEncoder for a snapshot already read. */
export function encoderFromSnapshot(snap: SnapshotContents): { E: Encoder; G: Generator; config: EncoderSnapshotConfig } {
  const config = requireEncoderSnapshot(snap);
  const E = new Encoder(new Rng(0), config.encoder);
  const G = new Generator(config.decoder.train.seed, config.decoder.generator);
  loadGroup(snap, 'e', E.namedState(), ENCODER_OPTIONAL_STATE);
  loadGroup(snap, 'g_ema', G.namedState());
  return { E, G, config };
}

/** The images an encoder reconstructs: x̃ = g(f(x)) for LIA, g(mapping(f(x))) for the baseline. */
export function reconstruct(E: Encoder, G: Generator, predicts: 'y' | 'z', x: tf.Tensor4D, training = false): tf.Tensor4D {
  return tf.tidy(() => G.render(E.forward(x, training), predicts));
}

/**
 * Per-dimension mean and standard deviation of the code an encoder predicts: y = Φ⁻¹(z) estimated
 * from `samples` draws of z for LIA; exactly 0 and 1 for the baseline, whose code is z ~ N(0, I).
 */
export function codeStatistics(G: Generator, predicts: 'y' | 'z', samples: number, seed: number): { mean: tf.Tensor1D; std: tf.Tensor1D } {
  const d = G.config.latentSize;
  if (predicts === 'z') return { mean: tf.zeros([d]), std: tf.ones([d]) };
  // Two passes over the same seeded draws, accumulated on the device (no read-back, so it runs on
  // every backend, browsers' GPUs included): the mean, then the mean squared deviation from it.
  const chunks = (visit: (y: tf.Tensor2D) => tf.Tensor1D): tf.Tensor1D => {
    const rng = new Rng(seed);
    let acc = tf.zeros([d]) as tf.Tensor1D;
    for (let done = 0; done < samples; ) {
      const n = Math.min(1000, samples - done);
      const z = new Float32Array(n * d);
      for (let i = 0; i < z.length; i++) z[i] = rng.normal();
      const next = tf.tidy(() => tf.add(acc, visit(G.toY(tf.tensor2d(z, [n, d])))) as tf.Tensor1D);
      acc.dispose();
      acc = next;
      done += n;
    }
    return acc;
  };
  const sum = chunks((y) => tf.sum(y, 0) as tf.Tensor1D);
  const mean = tf.tidy(() => tf.div(sum, samples) as tf.Tensor1D);
  sum.dispose();
  const sq = chunks((y) => tf.sum(tf.square(tf.sub(y, mean)), 0) as tf.Tensor1D);
  const std = tf.tidy(() => tf.sqrt(tf.maximum(tf.div(sq, samples), 1e-12)) as tf.Tensor1D);
  sq.dispose();
  return { mean, std };
}
