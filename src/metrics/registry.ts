// The metric registry: base name → definition. A metric's full name says how it was measured
// (fid10k_fmnistnet: 10k generated images against the real split through the feature network named
// fmnistnet; swd10k; ppl10k_z_fmnistnet), and that full name is what metrics.jsonl records.
import { featureStats, frechetDistance, type GaussianStats } from './fid.js';
import { computePpl, perceptualDistance, type PplSpace } from './ppl.js';
import { collectUint8, generatedImages, realCount, realImages } from './sources.js';
import { computeSwd } from './swd.js';
import type { Uint8Images } from '../io/pixel-bytes.js';
import type { ImageSource, MetricContext, MetricDefinition } from './types.js';

const registry = new Map<string, MetricDefinition>();

export function registerMetric(def: MetricDefinition): void {
  if (registry.has(def.base)) throw new Error(`metric '${def.base}' is already registered`);
  registry.set(def.base, def);
}

export function listMetrics(): MetricDefinition[] {
  return [...registry.values()];
}

/** The definition for a base name ('fid') or for the full name it has in `ctx` ('fid10k_fmnistnet'). */
export function resolveMetric(name: string, ctx?: MetricContext): MetricDefinition {
  const byBase = registry.get(name);
  if (byBase) return byBase;
  if (ctx) {
    for (const def of registry.values()) {
      try {
        if (def.fullName(ctx) === name) return def;
      } catch {
        // this metric cannot be named in ctx (e.g. no feature network): not a match
      }
    }
  }
  throw new Error(`unknown metric '${name}'; known: ${[...registry.keys()].join(', ')}`);
}

/** 10000 → '10k', 2500 → '2500'. */
export function countLabel(n: number): string {
  return n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

function need<T>(value: T | undefined, what: string, metric: string): T {
  if (value === undefined || value === null) throw new Error(`metric ${metric} needs ${what}`);
  return value;
}

function featureNetName(ctx: MetricContext, metric: string): string {
  return need(ctx.featureNet, 'a feature network (role eval)', metric).config.name;
}

/** Images the fake side of fid/swd uses: ctx.fakeImages, or numImages drawn from the generator. */
function fakeSource(ctx: MetricContext, metric: string, num: number): ImageSource {
  if (ctx.fakeImages) return ctx.fakeImages;
  const g = need(ctx.generator, 'a generator (or fakeImages)', metric);
  return generatedImages(g, { num, batch: ctx.batch, seed: ctx.seed, noise: ctx.noise ?? 'random' });
}

/** '_constnoise' when fid/swd score generated images with the fixed noise maps (fresh noise, the default, adds nothing). */
function noiseSuffix(ctx: MetricContext): string {
  if (ctx.noise !== undefined && ctx.noise !== 'random' && ctx.noise !== 'const') throw new Error(`noise: expected 'random' or 'const', got '${ctx.noise}'`);
  return !ctx.fakeImages && ctx.noise === 'const' ? '_constnoise' : '';
}

function withProgress(source: ImageSource, ctx: MetricContext, metric: string, total: number): ImageSource {
  if (!ctx.onProgress) return source;
  return async function* () {
    let done = 0;
    for await (const x of source()) {
      done += x.shape[0];
      ctx.onProgress!(metric, done, total);
      yield x;
    }
  };
}

/** A value cached in ctx.cache under `key` for as long as the `owners` are the same objects. */
async function cached<T>(ctx: MetricContext, key: string, owners: object[], make: () => Promise<T>): Promise<T> {
  const hit = ctx.cache?.get(key) as { owners: object[]; value: T } | undefined;
  if (hit && hit.owners.length === owners.length && hit.owners.every((o, i) => o === owners[i])) return hit.value;
  const value = await make();
  ctx.cache?.set(key, { owners, value });
  return value;
}

function realSet(ctx: MetricContext, metric: string) {
  const ds = need(ctx.realTest, 'real images (a dataset)', metric);
  const split = ctx.realSplit ?? 'test';
  return { ds, split, count: realCount(ds, split, ctx.numImages) };
}

registerMetric({
  base: 'fid',
  description:
    'Fréchet distance between Gaussians fitted to the feature network\'s penultimate (fc) activations of numImages generated images and of the real split (at most numImages of it)',
  primary: 'fid',
  usesFeatureNet: true,
  numImages: (ctx) => ctx.numImages,
  fullName: (ctx) => `fid${countLabel(ctx.numImages)}_${featureNetName(ctx, 'fid')}${noiseSuffix(ctx)}`,
  async compute(ctx) {
    const name = this.fullName(ctx);
    const net = need(ctx.featureNet, 'a feature network', name);
    const { ds, split, count } = realSet(ctx, name);
    const realStats = await cached<GaussianStats>(ctx, `fid-real:${split}:${count}`, [net, ds], () =>
      featureStats(net, withProgress(realImages(ds, { split, num: count, batch: ctx.batch }), ctx, `${name} (real)`, count)),
    );
    const fake = withProgress(fakeSource(ctx, name, ctx.numImages), ctx, name, ctx.numImages);
    return { fid: frechetDistance(realStats, await featureStats(net, fake)) };
  },
});

registerMetric({
  base: 'swd',
  description:
    'ProGAN sliced Wasserstein distance ×1e3 between Laplacian-pyramid 7×7 neighbourhoods (128 per image, 16×16 up to full resolution, 4×128 directions) of generated and real images; per level and averaged',
  primary: 'swd_avg',
  usesFeatureNet: false,
  // Both sets hold equally many images: numImages, or the whole real split when that is smaller.
  numImages: (ctx) => (ctx.realTest ? realSet(ctx, 'swd').count : ctx.numImages),
  fullName(ctx) {
    return `swd${countLabel(this.numImages(ctx))}${noiseSuffix(ctx)}`;
  },
  async compute(ctx) {
    const name = this.fullName(ctx);
    const { ds, split, count } = realSet(ctx, name);
    const real = await cached<Uint8Images>(ctx, `swd-real:${split}:${count}`, [ds], () => collectUint8(realImages(ds, { split, num: count, batch: ctx.batch })));
    const fake = await collectUint8(withProgress(fakeSource(ctx, name, count), ctx, name, count), count);
    const n = Math.min(real.n, fake.n);
    const size = real.h * real.w * real.c;
    const trim = (s: Uint8Images): Uint8Images => ({ ...s, n, pixels: s.pixels.subarray(0, n * size) });
    const r = await computeSwd(trim(real), trim(fake), { seed: ctx.seed });
    const out: Record<string, number> = {};
    r.resolutions.forEach((res, i) => (out[`swd_${res}`] = r.perLevel[i]));
    out.swd_avg = r.average;
    return out;
  },
});

function pplMetric(space: PplSpace): MetricDefinition {
  return {
    base: `ppl_${space}`,
    description:
      `perceptual path length in ${space} (StyleGAN; ε = 1e-4, t ~ U(0, 1), ${space === 'z' ? 'slerp in z, then the mapping' : 'lerp between mapped y₁, y₂'}), ` +
      'LPIPS-style distance with unit weights on the feature network\'s conv2, conv4, conv5; mean inside the 1–99 % percentiles',
    primary: 'ppl',
    usesFeatureNet: true,
    numImages: (ctx) => ctx.pplSamples ?? ctx.numImages,
    fullName: (ctx) => `ppl${countLabel(ctx.pplSamples ?? ctx.numImages)}_${space}_${featureNetName(ctx, `ppl_${space}`)}`,
    async compute(ctx) {
      const name = this.fullName(ctx);
      const g = need(ctx.generator, 'a generator', name);
      const net = need(ctx.featureNet, 'a feature network', name);
      const samples = ctx.pplSamples ?? ctx.numImages;
      const r = await computePpl(g, {
        space,
        samples,
        batch: ctx.batch,
        seed: ctx.seed,
        distance: perceptualDistance(net),
        onProgress: ctx.onProgress ? (done, total) => ctx.onProgress!(name, done, total) : undefined,
      });
      return { ppl: r.mean, ppl_all: r.meanAll, ppl_median: r.median, ppl_p1: r.p1, ppl_p99: r.p99 };
    },
  };
}
registerMetric(pplMetric('z'));
registerMetric(pplMetric('y'));
