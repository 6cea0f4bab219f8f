// The demo's uses of a trained model on held-out images, one report section part each: samples,
// reconstruction (with its quality over the pool), refinement from three starts, interpolation,
// style mixing and edits along given directions. Each part is guarded: a part that fails becomes a
// sentence in the report (and an entry in `failures`), and the parts after it still run.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as lia from '../node.js';
import type { LiaModel } from '../invert/model.js';
import { initialCode } from '../invert/model.js';
import { renderCode, REFINE_DEFAULTS, type RefineInit } from '../invert/refine.js';
import type { Direction } from '../invert/directions.js';
import type { FeatureNet } from '../models/features.js';
import { writeRowsGrid } from '../io/images.js';
import { writeTextAtomic } from '../io/files.js';
import { lineChartSvg, type Series } from '../io/chart.js';
import { mse01 } from '../metrics/image-quality.js';
import { scoreReconstructions, type ReconstructionScores } from '../metrics/reconstruction.js';
import { writeSampleGrid, gridLatents } from '../train/sampling.js';
import type { Block } from './report.js';

/** Held-out images in [-1, 1] with their labels when the data has them. */
export interface Pool {
  x: Float32Array;
  n: number;
  resolution: number;
  channels: number;
  labels?: ArrayLike<number>;
  classNames: string[];
  /** Where the images came from, for the report. */
  source: string;
}

export interface Failure {
  part: string;
  error: string;
}

/** Where a part writes its files and records what went wrong and what it measured. */
export interface PartContext {
  dir: string;
  /** Prefix of the part's file names (one model's files apart from another's). */
  prefix: string;
  failures: Failure[];
  summary: Record<string, unknown>;
  quiet?: boolean;
}

/**
 * Runs one part; an error becomes a sentence in the report and an entry in ctx.failures instead of
 * stopping the demo (the report is written in any case).
 */
export async function guarded(ctx: PartContext, part: string, run: () => Promise<Block[]>): Promise<Block[]> {
  try {
    return await run();
  } catch (e) {
    const error = (e as Error).message.split('\n')[0];
    ctx.failures.push({ part: `${ctx.prefix}${part}`, error });
    if (!ctx.quiet) process.stderr.write(`${part} failed (the demo goes on): ${error}\n`);
    return [{ kind: 'text', text: `**${part} failed**: ${error}. The other parts of the demo are unaffected.` }];
  }
}

export function poolImages(pool: Pool, idx: number[]): tf.Tensor4D {
  const size = pool.resolution * pool.resolution * pool.channels;
  const data = new Float32Array(idx.length * size);
  idx.forEach((i, k) => data.set(pool.x.subarray(i * size, (i + 1) * size), k * size));
  return tf.tensor4d(data, [idx.length, pool.resolution, pool.resolution, pool.channels]);
}

/** Up to `count` pool images of different classes where there are labels (consecutive ones otherwise), from `offset` on. */
export function pickByClass(pool: Pool, count: number, offset = 0): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  for (let k = 0; k < pool.n && out.length < count; k++) {
    const i = (offset + k) % pool.n; // wraps around on small pools
    if (pool.labels) {
      const l = pool.labels[i];
      if (seen.has(l)) continue;
      seen.add(l);
    }
    out.push(i);
  }
  return out;
}

const range = (from: number, count: number, n: number) => Array.from({ length: Math.min(count, n) }, (_, k) => (from + k) % n);

export async function samplesPart(ctx: PartContext, m: LiaModel, seed: number, caption: string): Promise<Block[]> {
  return guarded(ctx, 'samples', async () => {
    const z = gridLatents(seed, 32, m.G.config.latentSize);
    try {
      await writeSampleGrid(m.G, z, join(ctx.dir, `${ctx.prefix}samples.png`), { cols: 16 });
    } finally {
      z.dispose();
    }
    return [{ kind: 'figure', src: `${ctx.prefix}samples.png`, caption }];
  });
}

/**
 * One-pass reconstructions of the whole pool (quality measured over it) and a grid of the first 16;
 * `others` add their reconstructions of the same images as more rows (the baseline beside LIA).
 */
export async function reconstructionPart(ctx: PartContext, m: LiaModel, pool: Pool, others: Array<{ name: string; m: LiaModel }> = []): Promise<{ blocks: Block[]; recon?: Float32Array; quality?: ReconstructionScores }> {
  let recon: Float32Array | undefined;
  let quality: ReconstructionScores | undefined;
  const blocks = await guarded(ctx, 'reconstruction', async () => {
    const { resolution: res, channels: ch } = pool;
    const size = res * res * ch;
    const { scores, reconstructions: out } = await scoreReconstructions(m, pool.x.subarray(0, pool.n * size), pool, { batch: 100 });
    recon = out;
    quality = scores;
    ctx.summary.reconstruction = quality;
    const shown = Math.min(16, pool.n);
    const rows = [pool.x.subarray(0, shown * size), out.subarray(0, shown * size)];
    const otherRows: Array<[string, number]> = [];
    for (const o of others) {
      const x = poolImages(pool, range(0, pool.n, pool.n));
      const xr = lia.reconstruct(o.m, x);
      rows.push(((await xr.data()) as Float32Array).subarray(0, shown * size));
      const mse = tf.tidy(() => tf.mean(mse01(x, xr)).dataSync()[0]);
      otherRows.push([o.name, mse]);
      tf.dispose([x, xr]);
    }
    await writeRowsGrid(join(ctx.dir, `${ctx.prefix}reconstructions.png`), rows, shown, res, ch);
    if (otherRows.length) ctx.summary.reconstruction_others = Object.fromEntries(otherRows);
    const rowNames = ['held-out images', 'their one-pass reconstructions g(f(x))', ...others.map((o) => `the ${o.name}'s reconstructions`)];
    return [
      { kind: 'figure', src: `${ctx.prefix}reconstructions.png`, caption: `Rows: ${rowNames.join('; ')}.` },
      {
        kind: 'table',
        head: ['model', 'held-out images', 'MSE ([0, 1])', 'PSNR (dB)', 'SSIM', 'encoder images/s'],
        rows: [['this model', scores.images, scores.mse01, scores.psnr, scores.ssim, Math.round(scores.encoder_images_per_sec!)], ...otherRows.map(([name, mse]) => [name, pool.n, mse, '', '', ''])],
      },
    ];
  });
  return { blocks, recon, quality };
}

/** Refinement (eq. 13) of 8 held-out images from the encoder, the mean and a random start. */
export async function refinementPart(ctx: PartContext, m: LiaModel, pool: Pool, net: FeatureNet | undefined, steps: number, netNote: string): Promise<Block[]> {
  return guarded(ctx, 'refinement', async () => {
    const idx = range(16, 8, pool.n);
    const x = poolImages(pool, idx);
    const series: Series[] = [];
    const table: Array<Array<string | number>> = [];
    const rows: Float32Array[] = [(await x.data()) as Float32Array];
    const beta = net && m.encoder ? m.encoder.train.beta1 : 0;
    const t0 = Date.now();
    try {
      for (const init of ['encoder', 'mean', 'random'] as RefineInit[]) {
        const code0 = initialCode(m, 'y', init, x, 1);
        const start = renderCode(m.G, 'y', code0);
        try {
          const s0 = tf.tidy(() => tf.mean(mse01(x, start)).dataSync()[0]);
          const r = await lia.refine(m, x, { init: code0, steps, lr: REFINE_DEFAULTS.lr, beta, perceptualNet: net, perceptualLayer: m.encoder?.train.perceptualLayer, space: 'y' });
          series.push({ name: `from ${init}`, points: r.history.map((h) => [h.step, h.loss]) });
          const s1 = r.finalMse.reduce((a, v) => a + v, 0) / r.finalMse.length;
          table.push([init, s0, s1, r.history[0].loss, r.history.at(-1)!.loss]);
          if (init === 'encoder') rows.push((await start.data()) as Float32Array);
          if (init !== 'random') rows.push((await r.images.data()) as Float32Array);
          tf.dispose([r.code, r.images]);
        } finally {
          tf.dispose([code0, start]);
        }
      }
    } finally {
      x.dispose();
    }
    ctx.summary.refinement = { steps, seconds: (Date.now() - t0) / 1000, perceptual_weight: beta, starts: table.map(([init, a, b]) => ({ init, mse01_start: a, mse01_after: b })) };
    await writeRowsGrid(join(ctx.dir, `${ctx.prefix}refinement.png`), rows, idx.length, pool.resolution, pool.channels);
    writeTextAtomic(join(ctx.dir, `${ctx.prefix}refinement-losses.svg`), lineChartSvg(series, { title: `refinement in y (${steps} Adam steps, ${idx.length} held-out images)`, xLabel: 'step', yLabel: beta ? 'MSE + β·perceptual' : 'MSE', logY: true }));
    return [
      { kind: 'figure', src: `${ctx.prefix}refinement.png`, caption: `Rows: held-out images; the encoder's reconstruction; after ${steps} steps from the encoder's code; after ${steps} steps from the mean y.` },
      { kind: 'figure', src: `${ctx.prefix}refinement-losses.svg`, caption: `Loss per step from the three starting points (PAPER.md Figure 11); ${netNote}.` },
      { kind: 'table', head: ['start', 'MSE before', `MSE after ${steps} steps`, 'loss before', 'loss after'], rows: table },
    ];
  });
}

/** Two held-out images of different classes at the ends; 8 images lerping in y and slerping in z. */
export async function interpolationPart(ctx: PartContext, m: LiaModel, pool: Pool): Promise<Block[]> {
  return guarded(ctx, 'interpolation', async () => {
    const [ia, ib] = pickByClass(pool, 2, 3);
    const xa = poolImages(pool, [ia]);
    const xb = poolImages(pool, [ib]);
    const rows: Float32Array[] = [];
    try {
      for (const space of ['y', 'z'] as const) {
        const strip = tf.tidy(() => {
          const imgs = lia.interpolate(m, xa, xb, { space, steps: 8 });
          return tf.concat([xa, imgs, xb]);
        });
        rows.push((await strip.data()) as Float32Array);
        strip.dispose();
      }
    } finally {
      tf.dispose([xa, xb]);
    }
    await writeRowsGrid(join(ctx.dir, `${ctx.prefix}interpolation.png`), rows, 10, pool.resolution, pool.channels);
    return [{ kind: 'figure', src: `${ctx.prefix}interpolation.png`, caption: 'Two held-out images at the ends; between them, 8 images lerping in y (top) and slerping in z = Φ(y) (bottom).' }];
  });
}

/** Coarse styles from one image, fine from another, for 4 pairs. */
export async function mixingPart(ctx: PartContext, m: LiaModel, pool: Pool): Promise<Block[]> {
  return guarded(ctx, 'style mixing', async () => {
    const pairs = pickByClass(pool, 8, 40);
    const crossover = Math.floor(m.G.numWs / 2);
    const size = pool.resolution * pool.resolution * pool.channels;
    const nPairs = Math.floor(pairs.length / 2);
    if (nPairs === 0) throw new Error('style mixing needs at least two held-out images');
    const cols = [0, 1, 2].map(() => new Float32Array(nPairs * size));
    for (let p = 0; p < nPairs; p++) {
      const all = tf.tidy(() => {
        const c = poolImages(pool, [pairs[2 * p]]);
        const f = poolImages(pool, [pairs[2 * p + 1]]);
        return tf.concat([c, f, lia.mix(m, c, f, crossover)]); // coarse, fine, rec c, rec f, mix
      });
      const v = (await all.data()) as Float32Array;
      all.dispose();
      cols[0].set(v.subarray(0, size), p * size);
      cols[1].set(v.subarray(size, 2 * size), p * size);
      cols[2].set(v.subarray(4 * size, 5 * size), p * size);
    }
    await writeRowsGrid(join(ctx.dir, `${ctx.prefix}mixing.png`), cols, nPairs, pool.resolution, pool.channels);
    return [{ kind: 'figure', src: `${ctx.prefix}mixing.png`, caption: `Style mixing: coarse styles (inputs 0–${crossover - 1}) from the top row, fine styles from the middle row; the mix at the bottom.` }];
  });
}

/**
 * Edits of held-out images along the given directions, one row each: class directions move an image
 * of another class towards the direction's class; unsupervised ones (SeFa, PCA) go both ways.
 */
export async function editingPart(ctx: PartContext, m: LiaModel, pool: Pool, dirs: Direction[], what: string): Promise<Block[]> {
  return guarded(ctx, `edits (${what})`, async () => {
    if (!dirs.length) throw new Error(`no ${what} directions`);
    const rows: Float32Array[] = [];
    const notes: string[] = [];
    const labelled = dirs[0].method === undefined || dirs[0].method === 'labels';
    const strengths = labelled ? [-2, -1, 0, 1, 2, 3] : [-3, -2, -1, 0, 1, 2, 3];
    for (const [k, d] of dirs.entries()) {
      let i = (60 + 7 * k) % pool.n;
      const target = pool.classNames.indexOf(d.name);
      if (labelled && pool.labels && target >= 0) {
        for (let t = 0; t < pool.n && pool.labels[i] === target; t++) i = (i + 1) % pool.n; // an image of another class
      }
      const x = poolImages(pool, [i]);
      const out = await lia.edit(m, x, d, strengths);
      const row = tf.concat([x, out]);
      rows.push((await row.data()) as Float32Array);
      tf.dispose([x, out, row]);
      const from = pool.labels ? ` a ${pool.classNames[pool.labels[i]] ?? `class ${pool.labels[i]}`}` : ` image ${i}`;
      notes.push(`row ${k + 1}:${from} along '${d.name}'${d.value !== undefined ? ` (${d.method} value ${d.value.toPrecision(3)})` : ''}`);
    }
    const file = `${ctx.prefix}edits-${what.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`;
    await writeRowsGrid(join(ctx.dir, file), rows, strengths.length + 1, pool.resolution, pool.channels);
    return [{ kind: 'figure', src: file, caption: `Edits along ${what} directions in y, α = ${strengths.join(', ')} standard deviations of the codes along each direction (first column: the held-out image). ${notes.join('; ')}.` }];
  });
}
