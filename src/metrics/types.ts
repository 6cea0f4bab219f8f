// The interfaces the metrics work against: a generator seen as mapping + synthesis, a metric's
// context, and what a metric returns.
import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/index.js';
import type { FeatureNet } from '../models/features.js';

export interface GeneratorLike {
  latentSize: number;
  resolution: number;
  channels: number;
  /** z [N, dz] → y [N, dy] (Φ⁻¹ or the MLP mapping); inside tf.tidy */
  mapping(z: tf.Tensor2D): tf.Tensor2D;
  /**
   * y [N, dy] → images [N, H, W, C] in [-1, 1]; inside tf.tidy. Without `noiseSeed` the fixed noise
   * maps (the same y always gives the same image: PPL); with it, fresh per-pixel noise drawn from that
   * seed (how StyleGAN2-ADA samples for FID).
   */
  synthesis(y: tf.Tensor2D, noiseSeed?: number): tf.Tensor4D;
}

/**
 * A stream of image batches, NHWC [B, H, W, C] in [-1, 1]. Each call starts a fresh pass; every
 * yielded tensor belongs to the consumer, which disposes it.
 */
export type ImageSource = () => AsyncIterable<tf.Tensor4D>;

export interface MetricContext {
  /** The model under evaluation (needed by fid, swd and ppl). */
  generator?: GeneratorLike;
  /** Real images: the dataset whose `realSplit` part (default its test split) is the reference. */
  realTest?: Dataset;
  realSplit?: 'test' | 'train';
  /** The fixed feature network of FID and PPL (role eval; never the encoder's perceptual net). */
  featureNet?: FeatureNet;
  /** Images generated for FID and SWD (real: as many, or the whole split when it is smaller). */
  numImages: number;
  /** Path samples for PPL (default: numImages). */
  pplSamples?: number;
  /** Seed of every random draw (latents, neighbourhoods, directions, t). */
  seed: number;
  /** Images per forward pass. */
  batch: number;
  /**
   * Noise of the generated images of fid and swd: 'random' (default; fresh noise per image, as
   * StyleGAN2-ADA's metrics) or 'const' (the fixed noise maps; the name then ends in _constnoise).
   */
  noise?: 'random' | 'const';
  /**
   * Instead of images from `generator`: any other source of "fake" images, e.g. reconstructions of
   * the test split (PAPER.md Table 3). Used by fid and swd; ppl always needs the generator.
   */
  fakeImages?: ImageSource;
  /** Real-image statistics kept between calls (several snapshots scored against one test split). */
  cache?: Map<string, unknown>;
  /** Progress: metric name, images done, images in all. */
  onProgress?: (metric: string, done: number, total: number) => void;
}

export interface MetricDefinition {
  /** Base name: 'fid', 'swd', 'ppl_z', 'ppl_y'. */
  base: string;
  description: string;
  /** The key of compute()'s result that is the metric's headline value. */
  primary: string;
  /** The full name saying how it is measured in `ctx`, e.g. fid10k_fmnistnet. */
  fullName(ctx: MetricContext): string;
  /** Generated images (or PPL paths) it uses in `ctx`. */
  numImages(ctx: MetricContext): number;
  /** Whether the number depends on the feature network (then recorded with its name). */
  usesFeatureNet: boolean;
  compute(ctx: MetricContext): Promise<Record<string, number>>;
}

/** One metric's outcome, as computeMetrics returns it. */
export interface MetricResult {
  /** Full name, e.g. fid10k_fmnistnet. */
  metric: string;
  /** The headline number. */
  value: number;
  /** Every number the metric produced (SWD per level, PPL statistics). */
  values: Record<string, number>;
  numImages: number;
  /** Name of the feature network used, or null. */
  featureNet: string | null;
  seconds: number;
}
