// Scoring reconstructions (PAPER.md Table 3): every held-out image encoded and decoded in one pass,
// x̃ = g(f(x)), with the encoder's own time; per-image MSE and PSNR on [0, 1] images and SSIM,
// averaged over the set; and distribution metrics (FID, SWD) of the reconstructions against the
// real split. The one home of this for `lia eval-reconstruction`, `lia experiment paper` and the demo.
//
// Batch sizes are parameters because float32 sums depend on them: each caller keeps the batches it
// has always used, so its numbers stay comparable with the ones it reported before.
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/index.js';
import type { Encoder } from '../models/encoder.js';
import type { FeatureNet } from '../models/features.js';
import type { Generator } from '../models/generator.js';
import type { ImageShape } from '../io/pixels.js';
import { qualitySums } from './image-quality.js';
import { computeMetrics } from './index.js';
import { arrayImages } from './sources.js';
import type { MetricResult } from './types.js';

/** What reconstructs: the encoder f, the frozen generator g, and what f predicts (a loaded model with an encoder is one). */
export interface Autoencoder {
  /** Where the model came from; errors name it. */
  source: string;
  G: Generator;
  E?: Encoder;
  /** y for LIA; z for the StyleGAN + encoder baseline (decoded through its MLP mapping). */
  encoder?: { predicts: 'y' | 'z' };
}

/** How well a set of reconstructions matches its originals. */
export interface ReconstructionScores {
  /** Images scored. */
  images: number;
  /** Mean per-image MSE on images scaled to [0, 1]. */
  mse01: number;
  /** Mean per-image PSNR in dB (peak 1). */
  psnr: number;
  /** Mean per-image SSIM. */
  ssim: number;
  /** Images per second through the encoder f alone (without g), when the reconstructions were made here. */
  encoder_images_per_sec?: number;
  /** Distribution metrics of the reconstructions against the real split (full names: fid10k_…, swd10k), when asked for. */
  distributions?: MetricResult[];
}

/** Images in [-1, 1], NHWC [N, R, R, C] flattened; `shape` gives R and C. */
function countOf(x: Float32Array, shape: ImageShape, what: string): number {
  const size = shape.resolution * shape.resolution * shape.channels;
  if (x.length === 0 || x.length % size !== 0) {
    throw new Error(`${what}: ${x.length} values are not a whole number of ${shape.resolution}×${shape.resolution}×${shape.channels} images`);
  }
  return x.length / size;
}

function checkBatch(batch: number): void {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
}

/**
 * g(f(x)) for every image of x, `batch` images per pass, and the seconds f itself took (its code
 * read back, so that lazy backends are timed too). W+ encoders and the baseline's z included.
 */
export async function reconstructImages(
  m: Autoencoder,
  x: Float32Array,
  shape: ImageShape,
  batch: number,
  onProgress?: (done: number, total: number) => void,
): Promise<{ images: Float32Array; encoderSeconds: number }> {
  if (!m.E || !m.encoder) throw new Error(`reconstruction needs an encoder checkpoint (from lia train-encoder); ${m.source} is a decoder snapshot`);
  checkBatch(batch);
  const n = countOf(x, shape, 'reconstruction');
  const { resolution: r, channels: c } = shape;
  const size = r * r * c;
  const images = new Float32Array(x.length);
  let encoderSeconds = 0;
  for (let i = 0; i < n; i += batch) {
    const b = Math.min(batch, n - i);
    const xt = tf.tensor4d(x.subarray(i * size, (i + b) * size), [b, r, r, c]);
    const t0 = performance.now();
    const code = m.E.forward(xt, false);
    await code.data();
    encoderSeconds += (performance.now() - t0) / 1000;
    const xr = m.G.render(code, m.encoder.predicts);
    images.set((await xr.data()) as Float32Array, i * size);
    tf.dispose([xt, code, xr]);
    onProgress?.(i + b, n);
  }
  return { images, encoderSeconds };
}

/** Mean per-image MSE, PSNR ([0, 1] images) and SSIM of xr against x, summed `batch` images at a time. */
export function imageQuality(x: Float32Array, xr: Float32Array, shape: ImageShape, batch: number): Pick<ReconstructionScores, 'images' | 'mse01' | 'psnr' | 'ssim'> {
  checkBatch(batch);
  if (x.length !== xr.length) throw new Error(`image quality: ${x.length} original values but ${xr.length} reconstructed`);
  const n = countOf(x, shape, 'image quality');
  const { resolution: r, channels: c } = shape;
  const size = r * r * c;
  const sums = { mse01: 0, psnr: 0, ssim: 0 };
  for (let i = 0; i < n; i += batch) {
    const b = Math.min(batch, n - i);
    const part = (v: Float32Array) => tf.tensor4d(v.subarray(i * size, (i + b) * size), [b, r, r, c]);
    const q = tf.tidy(() => qualitySums(part(x), part(xr)));
    sums.mse01 += q.mse01;
    sums.psnr += q.psnr;
    sums.ssim += q.ssim;
  }
  return { images: n, mse01: sums.mse01 / n, psnr: sums.psnr / n, ssim: sums.ssim / n };
}

/** The real side of the distribution metrics and how they run. */
export interface DistributionOptions {
  /** Metrics by base or full name ('fid', 'swd'). */
  metrics: string[];
  /** The dataset whose `realSplit` (default test) is the reference. */
  realTest: Dataset;
  realSplit?: 'test' | 'train';
  /** The evaluation network of FID (role eval: never the encoder's perceptual network). */
  featureNet: FeatureNet;
  /** Images per pass. */
  batch: number;
  /** Real-image statistics kept between calls. */
  cache?: Map<string, unknown>;
}

/** FID, SWD, … of a set of images held in memory (reconstructions, refined images) against the real split, seed 0. */
export async function distributionScores(xr: Float32Array, shape: ImageShape, opts: DistributionOptions): Promise<MetricResult[]> {
  const n = countOf(xr, shape, 'distribution metrics');
  return computeMetrics(opts.metrics, {
    realTest: opts.realTest,
    realSplit: opts.realSplit,
    featureNet: opts.featureNet,
    numImages: n,
    seed: 0,
    batch: opts.batch,
    cache: opts.cache,
    fakeImages: arrayImages(xr, shape, opts.batch),
  });
}

/** Distribution metrics to compute (none when `metrics` is absent or empty: then nothing else is needed). */
export type ScoreOptions = Partial<DistributionOptions> & { batch: number };

function checkScoreOptions(opts: ScoreOptions): string[] {
  const metrics = opts.metrics ?? [];
  if (metrics.length && (!opts.realTest || !opts.featureNet)) {
    throw new Error(`${metrics.join(', ')} of reconstructions need the real data and an evaluation network`);
  }
  return metrics;
}

/** Quality of xr against x and, when asked for, the distribution metrics of xr; both `batch` images per pass. */
export async function scoreImages(x: Float32Array, xr: Float32Array, shape: ImageShape, opts: ScoreOptions): Promise<ReconstructionScores> {
  const metrics = checkScoreOptions(opts);
  const scores: ReconstructionScores = imageQuality(x, xr, shape, opts.batch);
  if (metrics.length) {
    const { realTest, featureNet, realSplit, cache, batch } = opts;
    scores.distributions = await distributionScores(xr, shape, { metrics, realTest: realTest!, featureNet: featureNet!, realSplit, cache, batch });
  }
  return scores;
}

/**
 * Reconstructs every image of x with m, `batch` images per pass, and scores the reconstructions
 * (scoreImages, `scoreBatch` images per pass, default `batch`) with the encoder's throughput.
 */
export async function scoreReconstructions(
  m: Autoencoder,
  x: Float32Array,
  shape: ImageShape,
  opts: ScoreOptions & { scoreBatch?: number; onProgress?: (done: number, total: number) => void },
): Promise<{ scores: ReconstructionScores; reconstructions: Float32Array }> {
  checkScoreOptions(opts);
  const { images, encoderSeconds } = await reconstructImages(m, x, shape, opts.batch, opts.onProgress);
  const { distributions, ...quality } = await scoreImages(x, images, shape, { ...opts, batch: opts.scoreBatch ?? opts.batch });
  const scores: ReconstructionScores = { ...quality, encoder_images_per_sec: quality.images / encoderSeconds };
  if (distributions) scores.distributions = distributions;
  return { scores, reconstructions: images };
}
