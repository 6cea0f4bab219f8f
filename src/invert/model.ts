// What the real-image commands (invert, interpolate, mix, directions, edit) work with: a frozen
// generator, and the encoder when the checkpoint has one. An encoder checkpoint (lia train-encoder)
// gives both; a decoder snapshot (lia train-decoder) gives the generator only, which is enough for
// refinement from the mean or a random start.
import * as tf from '@tensorflow/tfjs';
import { decodeSnapshot, type SnapshotContents } from '../io/checkpoint.js';
import { DECODER_KIND, generatorFromSnapshot, type DecoderSnapshotConfig } from '../models/checkpoints.js';
import { ENCODER_KIND, encoderFromSnapshot, codeStatistics, type EncoderSnapshotConfig } from '../models/checkpoints.js';
import type { Encoder } from '../models/encoder.js';
import type { Generator } from '../models/generator.js';
import { yToSpace, type RefineInit, type RefineSpace } from './refine.js';
import { Rng } from '../util/rng.js';

export interface LiaModel {
  /** Where the model came from (a file path, a URL or a file's name); errors name it. */
  source: string;
  G: Generator;
  decoder: DecoderSnapshotConfig;
  /** Present for encoder checkpoints. */
  E?: Encoder;
  encoder?: EncoderSnapshotConfig;
  /** The dataset the model was trained on (for 'test'/'train' image specs). */
  data: string;
  dataDir?: string;
  /** Set by disposeModel: every call then says so instead of failing inside TensorFlow.js. */
  disposed?: boolean;
}

/** A model from a decoded checkpoint: an encoder checkpoint (encoder + generator) or a decoder snapshot. */
export function modelFromSnapshot(snap: SnapshotContents): LiaModel {
  const source = snap.source;
  if (snap.kind === ENCODER_KIND) {
    const { E, G, config } = encoderFromSnapshot(snap);
    return { source, G, E, decoder: config.decoder, encoder: config, data: config.train.data ?? config.decoder.train.data, dataDir: config.train.dataDir ?? config.decoder.train.dataDir };
  }
  if (snap.kind === DECODER_KIND) {
    const { G, config } = generatorFromSnapshot(snap);
    return { source, G, decoder: config, data: config.train.data, dataDir: config.train.dataDir };
  }
  throw new Error(`${source}: expected an encoder checkpoint (lia train-encoder) or a decoder snapshot (lia train-decoder), found kind '${snap.kind}'`);
}

/** A model from checkpoint bytes; `source` names them in errors. Weights that are NaN or infinite are refused. */
export function modelFromBytes(bytes: Uint8Array, source: string): LiaModel {
  const snap = decodeSnapshot(bytes, source);
  for (const [name, t] of Object.entries(snap.tensors)) {
    if (t.dtype !== 'F32') continue;
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw new Error(`${source}: tensor '${name}' holds ${t.data[i]} at element ${i}: the checkpoint is damaged or its training diverged`);
  }
  return modelFromSnapshot(snap);
}

/** Frees the model's weights; a second call does nothing, and later calls with the model say it was disposed. */
export function disposeModel(m: LiaModel): void {
  if (m.disposed) return;
  m.G.dispose();
  m.E?.dispose();
  m.disposed = true;
}

/** Throws when the model was disposed (`what` names the call). */
export function requireLive(m: LiaModel, what: string): void {
  if (m.disposed) throw new Error(`${what}: the model ${m.source} has been disposed (lia.disposeModel); load it again`);
}

/** The model's encoder, or a clear error naming what the command needs. */
export function requireEncoder(m: LiaModel, what: string): { E: Encoder; config: EncoderSnapshotConfig } {
  if (!m.E || !m.encoder) throw new Error(`${what} needs an encoder checkpoint (from lia train-encoder); ${m.source} is a decoder snapshot`);
  return { E: m.E, config: m.encoder };
}

/**
 * y [N, d] for real images x [N, R, R, C] in [-1, 1]: f(x) for LIA, mapping(f(x)) for the
 * StyleGAN + encoder baseline (whose encoder predicts z). A W+ encoder has no single y.
 */
export function encodeY(m: LiaModel, x: tf.Tensor4D): tf.Tensor2D {
  const { E, config } = requireEncoder(m, 'encoding images');
  if (config.encoder.latent === 'wplus') throw new Error(`${m.source} is a W+ encoder (one y per layer); this command needs one y per image (train with --latent w)`);
  return tf.tidy(() => {
    const code = E.forward(x, false) as tf.Tensor2D;
    return config.predicts === 'z' ? m.G.toY(code) : code;
  });
}

/** The code of real images in y, or in z (Φ(f(x)) for LIA; f(x) itself for the baseline). */
export function encodeIn(m: LiaModel, x: tf.Tensor4D, space: 'y' | 'z'): tf.Tensor2D {
  const { E, config } = requireEncoder(m, 'encoding images');
  if (space === 'z' && config.predicts === 'z') return E.forward(x, false) as tf.Tensor2D;
  return tf.tidy(() => (space === 'y' ? encodeY(m, x) : (yToSpace(m.G, 'z', encodeY(m, x)) as tf.Tensor2D)));
}

/** The mean y of the generator's latent distribution (estimated from 10,000 samples of z). */
export function meanY(G: Generator, seed = 0): tf.Tensor1D {
  const { mean, std } = codeStatistics(G, 'y', 10_000, seed);
  std.dispose();
  return mean;
}

/**
 * The starting code of refinement in `space` for images x: the encoder's code (LIA), the mean y
 * (Image2StyleGAN's start), or a random draw y = Φ⁻¹(z) (seeded).
 */
export function initialCode(m: LiaModel, space: RefineSpace, init: RefineInit, x: tf.Tensor4D, seed = 0): tf.Tensor {
  const { G } = m;
  const n = x.shape[0];
  const d = G.config.latentSize;
  if (init === 'encoder') {
    const { E, config } = requireEncoder(m, '--init encoder');
    if (config.encoder.latent === 'wplus') {
      if (space !== 'wplus') throw new Error(`${m.source} is a W+ encoder: --init encoder works only with --space wplus`);
      return E.forward(x, false);
    }
    return space === 'wplus' ? tf.tidy(() => yToSpace(G, 'wplus', encodeY(m, x))) : encodeIn(m, x, space);
  }
  if (init === 'mean') {
    return tf.tidy(() => {
      const mean = meanY(G, seed);
      return yToSpace(G, space, tf.tile(tf.expandDims(mean, 0), [n, 1]) as tf.Tensor2D);
    });
  }
  const rng = new Rng(seed);
  const zData = Float32Array.from({ length: n * d }, () => rng.normal());
  return tf.tidy(() => {
    const z = tf.tensor2d(zData, [n, d]);
    return space === 'z' ? z.clone() : yToSpace(G, space, G.toY(z));
  });
}
