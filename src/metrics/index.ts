// The metrics layer: FID, SWD and PPL behind a registry, computed by name. `lia eval` calls
// computeMetrics with a generator loaded from a checkpoint and appends the results to metrics.jsonl.
import { resolveMetric } from './registry.js';
import type { MetricContext, MetricResult } from './types.js';

export type { GeneratorLike, ImageSource, MetricContext, MetricDefinition, MetricResult } from './types.js';
export { asGeneratorLike } from './adapters.js';
export { registerMetric, listMetrics, resolveMetric, countLabel } from './registry.js';
export { appendMetrics, readMetrics, toMetricRecord, type MetricRecord } from './jsonl.js';
export { featureStats, frechetDistance, computeFid, FID_LAYER, type GaussianStats } from './fid.js';
export { computeSwd, laplacianPyramid, pyrDown, pyrUp, slicedWasserstein, sortFloat32, SWD_DEFAULTS, type SwdOptions, type SwdResult } from './swd.js';
export type { Uint8Images } from '../io/pixel-bytes.js';
export { computePpl, pathLengths, perceptualDistance, pixelDistance, slerp, summarisePathLengths, PPL_EPSILON, PPL_LAYERS, type ImageDistance, type PplOptions, type PplResult, type PplSpace } from './ppl.js';
export { generatedImages, realImages, arrayImages, collectUint8, sampleLatents, generate } from './sources.js';
export { MomentAccumulator, symmetricEigen, sqrtPsd, traceSqrtProduct } from './linalg.js';

function checkContext(ctx: MetricContext): void {
  for (const key of ['numImages', 'batch'] as const) {
    const v = ctx[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`metrics: ${key} must be a positive integer, got ${v}`);
  }
  if (ctx.pplSamples !== undefined && (!Number.isInteger(ctx.pplSamples) || ctx.pplSamples < 1)) {
    throw new Error(`metrics: pplSamples must be a positive integer, got ${ctx.pplSamples}`);
  }
  if (!Number.isSafeInteger(ctx.seed)) throw new Error(`metrics: seed must be an integer, got ${ctx.seed}`);
  const g = ctx.generator;
  const net = ctx.featureNet;
  // The network that scores a model must never be the one its encoder was trained against.
  if (net?.config.training?.role === 'perceptual') {
    throw new Error(`metrics: feature network '${net.config.name}' was trained with role perceptual (an encoder's loss); score models with a role eval network`);
  }
  if (g && net && (g.resolution !== net.config.resolution || g.channels !== net.config.channels)) {
    throw new Error(
      `metrics: the generator makes ${g.resolution}×${g.resolution}×${g.channels} images, the feature network '${net.config.name}' reads ` +
        `${net.config.resolution}×${net.config.resolution}×${net.config.channels}`,
    );
  }
}

/**
 * Computes the named metrics in order ('fid', 'swd', 'ppl_z', 'ppl_y', or full names such as
 * 'fid10k_fmnistnet'). Every name is checked before any work starts. Real-image statistics are
 * shared between metrics through ctx.cache (created here when absent).
 */
export async function computeMetrics(names: string[], ctx: MetricContext): Promise<MetricResult[]> {
  checkContext(ctx);
  const defs = names.map((n) => resolveMetric(n.trim(), ctx));
  const full = defs.map((d) => d.fullName(ctx));
  const withCache: MetricContext = { ...ctx, cache: ctx.cache ?? new Map() };
  const results: MetricResult[] = [];
  for (let i = 0; i < defs.length; i++) {
    const started = performance.now();
    const values = await defs[i].compute(withCache);
    const primary = values[defs[i].primary];
    if (primary === undefined) throw new Error(`metric ${full[i]} returned no '${defs[i].primary}'`);
    results.push({
      metric: full[i],
      value: primary,
      values,
      numImages: defs[i].numImages(ctx),
      featureNet: defs[i].usesFeatureNet ? (ctx.featureNet?.config.name ?? null) : null,
      seconds: (performance.now() - started) / 1000,
    });
  }
  return results;
}

