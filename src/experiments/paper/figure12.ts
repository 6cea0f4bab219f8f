// Figure 12: gradient stability of the encoder — LIA's deterministic encoder against a VAE-style
// encoder on the same Φ decoder (a Gaussian posterior over z, decoded g(Φ⁻¹(z))), both trained from
// scratch with the same data, batch, losses, schedule and seed, over several seeds, with a 95 %
// confidence interval of the paired difference of their coefficients of variation.
import { join } from 'node:path';
import { EncoderTrainer } from '../../train/stage2.js';
import { resolveEncoderConfig } from '../../train/encoder-config.js';
import { writeTextAtomic } from '../../io/files.js';
import { lineChartSvg } from '../../io/chart.js';
import type { Section } from '../../demo/report.js';
import { meanWithCi, stats } from './statistics.js';
import { f4, say, type PaperModels, type PaperRun } from './run.js';

/** Global gradient norm of the encoder and its pixel MSE at every step, for the trainer's kimg thousand images. */
async function gradientTrace(t: EncoderTrainer, quiet: boolean | undefined, label: string): Promise<{ norms: number[]; mse: number[] }> {
  const norms: number[] = [];
  const mse: number[] = [];
  const total = t.cfg.kimg * 1000;
  while (t.imagesSeen < total) {
    const l = await t.trainStep();
    mse.push(l.mse);
    let ss = 0;
    for (const v of t.lastGradNorms.values()) ss += v * v;
    norms.push(Math.sqrt(ss));
    if (t.step % 50 === 0) {
      say(quiet, `  ${label}: ${(t.imagesSeen / 1000).toFixed(2)}/${t.cfg.kimg} kimg, ‖∇‖ ${norms.at(-1)!.toFixed(4)}, mse ${l.mse.toFixed(4)}`);
    }
    await new Promise((res) => setImmediate(res));
  }
  return { norms, mse };
}

interface SeedRow {
  seed: number;
  /** Per encoder (LIA, VAE-style): CV and mean of ‖∇‖ over the second half, mean MSE of the last 50 steps. */
  cv: number[];
  mean: number[];
  mse: number[];
}

/** Trains both encoders for every seed; the seed-0 gradient traces are kept for the figure. */
async function traceSeeds(run: PaperRun, models: PaperModels, kinds: ReadonlyArray<readonly [string, number]>) {
  const { opts, budget: B } = run;
  const perSeed: SeedRow[] = [];
  const firstTraces: Record<string, number[]> = {};
  for (let seed = 0; seed < B.fig12Seeds; seed++) {
    const row: SeedRow = { seed, cv: [], mean: [], mse: [] };
    for (const [key, kl] of kinds) {
      const cfg = resolveEncoderConfig({
        decoder: opts.liaDecoder,
        preset: 'quick',
        kimg: B.fig12Kimg,
        data: opts.data,
        perceptualNet: models.perceptualPath,
        perceptualLayer: models.layer,
        kl,
        seed,
        outDir: opts.out,
      });
      const t = await EncoderTrainer.create({ ...cfg, beta1: models.beta }, run.ds, models.perceptualNet);
      const tr = await gradientTrace(t, opts.quiet, `${key}, seed ${seed}`);
      t.dispose();
      const s2 = stats(tr.norms.slice(Math.floor(tr.norms.length / 2)));
      row.cv.push(s2.cv);
      row.mean.push(s2.mean);
      row.mse.push(stats(tr.mse.slice(-50)).mean);
      if (seed === 0) firstTraces[key] = tr.norms;
    }
    perSeed.push(row);
  }
  return { perSeed, firstTraces };
}

function finding(verdict: string, ci: string): string {
  const how = ' Coefficient of variation = standard deviation / mean of the global gradient norm over the second half of each run.';
  if (verdict === 'agrees') {
    return (
      "**Agrees with the paper:** the LIA encoder's gradient norm varies less from step to step than the VAE-style encoder's on the same decoder; " +
      `the difference of the coefficients of variation (VAE − LIA) is ${ci}, above 0.${how}`
    );
  }
  if (verdict === 'contradicts') {
    return (
      "**Contradicts the paper:** the LIA encoder's gradient norm varies more than the VAE-style encoder's on the same decoder: " +
      `the difference (VAE − LIA) is ${ci}, below 0. Likely reason: short runs with small batches, where minibatch noise dominates the sampling noise of z.${how}`
    );
  }
  return (
    `**Inconclusive:** the difference of the coefficients of variation (VAE − LIA) is ${ci}; the interval contains 0, so these runs neither confirm nor ` +
    `contradict the paper's claim of steadier gradients. More seeds or longer runs (--budget full) narrow it.${how}`
  );
}

export async function figure12Section(run: PaperRun, models: PaperModels): Promise<Section> {
  const { opts, budget: B } = run;
  say(opts.quiet, `Figure 12: LIA and VAE-style encoders on the Φ decoder from scratch, ${B.fig12Kimg} kimg each, ${B.fig12Seeds} seeds`);
  const kinds = [['LIA (y, deterministic)', 0], [`VAE-style (z ~ q(z|x), g(Φ⁻¹(z)), KL ${opts.kl})`, opts.kl]] as const;
  const { perSeed, firstTraces } = await traceSeeds(run, models, kinds);
  const series = Object.entries(firstTraces).map(([k, norms]) => ({ name: k, points: norms.map((v, i) => [i + 1, v] as [number, number]) }));
  const chart = { title: "Figure 12: the encoder's gradient norm per step (seed 0)", xLabel: 'step', yLabel: '‖∇f‖ (all layers)', logY: true };
  writeTextAtomic(join(opts.out, 'fig12-gradient-norms.svg'), lineChartSvg(series, chart));
  const cvDiff = meanWithCi(perSeed.map((p) => p.cv[1] - p.cv[0]));
  const avg = (k: 'cv' | 'mean' | 'mse', i: number) => perSeed.reduce((a, p) => a + p[k][i], 0) / perSeed.length;
  run.results.figure12 = {
    decoder: opts.liaDecoder,
    kimg: B.fig12Kimg,
    seeds: perSeed,
    encoders: kinds.map(([k]) => k),
    cv_difference_vae_minus_lia: cvDiff,
    norms_seed0: firstTraces,
  };
  const verdict = run.judge('figure12', { mean: cvDiff.mean, lo: cvDiff.lo, hi: cvDiff.hi });
  const interval = Number.isFinite(cvDiff.lo) ? `${cvDiff.lo.toPrecision(3)} to ${cvDiff.hi.toPrecision(3)}` : 'unbounded with one seed';
  const ci = `${cvDiff.mean.toPrecision(3)} (95 % interval ${interval}, ${cvDiff.n} seeds)`;
  const rows = perSeed.map((p) => [p.seed, f4(p.cv[0]), f4(p.cv[1]), f4(p.cv[1] - p.cv[0]), f4(p.mean[0]), f4(p.mean[1]), f4(p.mse[0]), f4(p.mse[1])]);
  rows.push(['mean', f4(avg('cv', 0)), f4(avg('cv', 1)), f4(cvDiff.mean), f4(avg('mean', 0)), f4(avg('mean', 1)), f4(avg('mse', 0)), f4(avg('mse', 1))]);
  run.lap('figure12');
  return {
    title: 'Figure 12: gradient stability of the encoder',
    blocks: [
      {
        kind: 'figure',
        src: 'fig12-gradient-norms.svg',
        caption:
          "Global gradient norm of the encoder per step (seed 0): LIA's deterministic encoder and a VAE-style encoder, both trained from scratch " +
          `for ${B.fig12Kimg} kimg on the same Φ decoder with the same data, batch, losses, schedule and seed — ` +
          'the only difference is the sampled, KL-regularised z.',
      },
      {
        kind: 'table',
        head: [
          ...['seed', 'CV of ‖∇‖, LIA', 'CV, VAE-style', 'difference (VAE − LIA)'],
          ...['mean ‖∇‖, LIA', 'mean ‖∇‖, VAE-style', 'pixel MSE last 50 steps, LIA', 'VAE-style'],
        ],
        rows,
      },
      { kind: 'text', text: finding(verdict, ci) },
    ],
  };
}
