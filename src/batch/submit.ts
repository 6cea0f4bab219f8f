// `lia batch submit`'s plan: the model and inputs checked, cut into shard jobs, the manifest made.
// No Redis here (src/batch/queue.ts adds the jobs), so a plan can be tested and inspected alone.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { readSnapshot } from '../train/snapshot.js';
import { requireEncoderSnapshot } from '../models/checkpoints.js';
import { loadImagesFor, type ImageTarget } from '../cli/images.js';
import { FEATURE_LAYERS, type FeatureLayer } from '../models/features.js';
import { canonicalJson, resolveInputs, sha256File, shardJobId, shardRanges, SHARD_JOB_VERSION, type RefineJob, type ShardJob } from './plan.js';
import { MANIFEST_FORMAT, type BatchManifest } from './manifest.js';
import { publicRedisUrl } from './queue.js';

export interface SubmitOptions {
  queue: string;
  name: string;
  /** An encoder checkpoint, or a model folder holding model.safetensors. */
  model: string;
  images: string;
  out: string;
  shard: number;
  batch: number;
  limit?: number;
  refineSteps: number;
  space: 'y' | 'wplus';
  lr: number;
  /** 'auto' (the encoder's β1 with its own perceptual network), or a number; 0: pixel MSE only. */
  beta?: string;
  perceptualNet?: string;
  perceptualLayer?: FeatureLayer;
  saveImages: boolean;
}

export interface BatchPlan {
  manifest: BatchManifest;
  jobs: Array<{ id: string; data: ShardJob }>;
  notices: string[];
}

function modelFile(path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) {
    const inner = join(path, 'model.safetensors');
    if (!existsSync(inner)) throw new Error(`--model ${path}: a folder without model.safetensors`);
    return resolve(inner);
  }
  if (!existsSync(path)) throw new Error(`--model ${path}: not found (an encoder checkpoint or a model folder)`);
  return resolve(path);
}

/** The refinement of each shard: the same options and defaults as `lia invert --init encoder`. */
function refinePlan(opts: SubmitOptions, encoderTrain: { perceptualNet: string; perceptualLayer: FeatureLayer; beta1: number }, latent: 'w' | 'wplus'): RefineJob | null {
  if (opts.refineSteps === 0) return null;
  if (!Number.isInteger(opts.refineSteps) || opts.refineSteps < 0) throw new Error(`--refine-steps must be a non-negative integer, got ${opts.refineSteps}`);
  if (latent === 'wplus' && opts.space !== 'wplus') throw new Error(`--model is a W+ encoder: refinement needs --space wplus`);
  if (!(opts.lr > 0)) throw new Error(`--lr must be positive, got ${opts.lr}`);
  const layer = opts.perceptualLayer ?? encoderTrain.perceptualLayer;
  if (!FEATURE_LAYERS.includes(layer)) throw new Error(`--perceptual-layer: expected one of ${FEATURE_LAYERS.join(', ')}, got '${layer}'`);
  const base = { steps: opts.refineSteps, space: opts.space, lr: opts.lr };
  const beta = opts.beta ?? 'auto';
  if (beta !== 'auto' && Number(beta) === 0) return { ...base, beta: 0 };
  const netPath = resolve(opts.perceptualNet ?? encoderTrain.perceptualNet);
  if (!existsSync(netPath)) throw new Error(`perceptual network ${netPath} not found: pass --perceptual-net, or --beta 0 for pixel MSE only`);
  let b: number;
  if (beta === 'auto') {
    if (netPath !== resolve(encoderTrain.perceptualNet) || layer !== encoderTrain.perceptualLayer) {
      throw new Error(`--beta auto is the encoder's β1 with its own perceptual network (${encoderTrain.perceptualNet}.${encoderTrain.perceptualLayer}); with another network give --beta W`);
    }
    b = encoderTrain.beta1;
  } else {
    b = Number(beta);
    if (!Number.isFinite(b) || b < 0) throw new Error(`--beta: expected 'auto' or a non-negative number, got '${beta}'`);
  }
  return { ...base, beta: b, perceptualNet: netPath, perceptualNetSha256: sha256File(netPath), perceptualLayer: layer };
}

/** Checks the model, the inputs and the options, and cuts the inputs into shard jobs. */
export async function planBatch(opts: SubmitOptions): Promise<BatchPlan> {
  if (!Number.isInteger(opts.shard) || opts.shard < 1) throw new Error(`--shard must be a positive integer, got ${opts.shard}`);
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new Error(`--batch must be a positive integer, got ${opts.batch}`);
  const model = modelFile(opts.model);
  const snap = await readSnapshot(model);
  const config = requireEncoderSnapshot(snap);
  const modelSha256 = sha256File(model);
  const g = config.decoder.generator;
  const target: ImageTarget = { resolution: g.resolution, channels: g.channels, data: config.train.data ?? config.decoder.train.data, dataDir: config.train.dataDir ?? config.decoder.train.dataDir };
  const refine = refinePlan(opts, config.train, config.encoder.latent);
  const dir = resolve(opts.out);
  const notices: string[] = [];
  if (opts.shard % opts.batch !== 0) {
    notices.push(`--shard ${opts.shard} is not a multiple of --batch ${opts.batch}: batches will not line up with \`lia encode --batch ${opts.batch}\`'s, and on the torch backend codes can then differ from its in the last bits`);
  }

  const source = resolveInputs(opts.images);
  let total: number;
  let inputs: string;
  if (source.kind === 'dataset') {
    const { images, dataset } = await loadImagesFor(source.spec, target, opts.limit);
    total = images.n;
    inputs = `dataset ${source.spec}: ${dataset.source}`;
  } else {
    total = Math.min(source.files.length, opts.limit ?? Infinity);
    inputs = `${source.what}: ${total} image files`;
  }

  const common = { version: SHARD_JOB_VERSION, dir, model, modelSha256, batch: opts.batch, refine, saveImages: opts.saveImages };
  const jobs = shardRanges(total, opts.shard).map(({ start, end }, shard) => {
    const data: ShardJob = {
      ...common,
      shard,
      first: start,
      count: end - start,
      images: source.kind === 'dataset' ? { kind: 'dataset', spec: source.spec, start, end } : { kind: 'files', root: source.root, files: source.files.slice(start, end) },
    };
    return { id: shardJobId(data), data };
  });
  const key = createHash('sha256')
    .update(canonicalJson({ ...common, images: opts.images, total, shard: opts.shard }))
    .digest('hex')
    .slice(0, 32);
  const manifest: BatchManifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    key,
    queue: publicRedisUrl(opts.queue),
    name: opts.name,
    model,
    modelSha256,
    images: opts.images,
    inputs,
    total,
    shardSize: opts.shard,
    batch: opts.batch,
    refine,
    saveImages: opts.saveImages,
    shards: jobs.map((j) => ({ shard: j.data.shard, jobId: j.id, first: j.data.first, count: j.data.count })),
  };
  return { manifest, jobs, notices };
}
