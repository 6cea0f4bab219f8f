// Cost: one encoder pass against N steps of optimisation, per image; and the time the encoder plus
// K refinement steps needs to reach the MSE of N-step optimisation from the mean. Both optimisations
// minimise pixel MSE only with the same Adam; every time is per image and includes the synthesis g.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initialCode, type LiaModel } from '../../invert/model.js';
import type { RefineInit } from '../../invert/refine.js';
import * as api from '../../node.js';
import { imageQuality } from '../../metrics/reconstruction.js';
import { writeTextAtomic } from '../../io/files.js';
import { lineChartSvg } from '../../io/chart.js';
import type { Section } from '../../demo/report.js';
import { f4, say, type PaperModels, type PaperRun } from './run.js';
import type { EncodedTestImages } from './table3.js';

interface CostPoint {
  step: number;
  /** Seconds per image after this step. */
  sec: number;
  /** Pixel MSE on [0, 1] images before this step's update. */
  mse01: number;
}

/** Seconds per image of one pass g(f(x)) over the batch. */
async function encoderSeconds(m: LiaModel, x: tf.Tensor4D): Promise<number> {
  const t0 = performance.now();
  const images = api.reconstruct(m, x);
  await images.data();
  const sec = (performance.now() - t0) / 1000 / x.shape[0];
  images.dispose();
  return sec;
}

/** Pixel-MSE optimisation of the batch in y from `init`, with the wall time per image after every step. */
async function timedOptimisation(m: LiaModel, x: tf.Tensor4D, init: RefineInit, steps: number, lr: number): Promise<{ curve: CostPoint[]; images: Float32Array }> {
  const n = x.shape[0];
  const code0 = initialCode(m, 'y', init, x, 1000);
  const stamps: number[] = [];
  const t = performance.now();
  const res = await api.refine(m, x, { init: code0, steps, lr, beta: 0, space: 'y', onStep: () => stamps.push((performance.now() - t) / 1000 / n) });
  const images = (await res.images.data()) as Float32Array;
  tf.dispose([code0, res.code, res.images]);
  // Pixel MSE on [0, 1] images after each step (the loss is on [-1, 1]: a quarter of it).
  return { curve: res.history.map((h, k) => ({ step: h.step, sec: stamps[k], mse01: h.mse / 4 })), images };
}

function writeChart(out: string, encSec: number, fromEnc: CostPoint[], fromMean: CostPoint[], nCost: number, lr: number): void {
  const series = [
    { name: 'from the encoder (encoder time added)', points: fromEnc.map((p) => [encSec + p.sec, p.mse01] as [number, number]) },
    { name: 'from the mean y', points: fromMean.map((p) => [p.sec, p.mse01] as [number, number]) },
  ];
  const title = `MSE against wall time per image (${nCost} test images, pixel-MSE Adam, lr ${lr})`;
  writeTextAtomic(join(out, 'cost-mse-vs-time.svg'), lineChartSvg(series, { title, xLabel: 'seconds per image', yLabel: 'MSE ([0, 1])', logY: true }));
}

/** Times and MSEs of the comparison, into results.json's `cost`. */
async function measureCost(run: PaperRun, models: PaperModels, test: EncodedTestImages) {
  const { ds, budget: B, opts } = run;
  const size = ds.resolution * ds.resolution * ds.channels;
  const nCost = Math.min(B.costImages, test.n);
  const xCost = test.x.subarray(0, nCost * size);
  say(opts.quiet, `Cost: ${B.costSteps}-step MSE optimisation of ${nCost} images from the mean and from the encoder`);
  const xt = tf.tensor4d(xCost, [nCost, ds.resolution, ds.resolution, ds.channels]);
  let encSec: number;
  let fromMean: Awaited<ReturnType<typeof timedOptimisation>>;
  let fromEnc: Awaited<ReturnType<typeof timedOptimisation>>;
  try {
    encSec = await encoderSeconds(models.lia, xt); // f and g, this batch
    fromMean = await timedOptimisation(models.lia, xt, 'mean', B.costSteps, opts.lr);
    fromEnc = await timedOptimisation(models.lia, xt, 'encoder', B.costSteps, opts.lr);
  } finally {
    xt.dispose();
  }
  const optimisationMse = imageQuality(xCost, fromMean.images, ds, 200).mse01;
  const encoderMse = imageQuality(xCost, test.lia.subarray(0, nCost * size), ds, 200).mse01;
  const optSec = fromMean.curve.at(-1)!.sec;
  const target = fromMean.curve.at(-1)!.mse01;
  // The first refinement step from the encoder's code whose batch MSE is at or below the target (the
  // history's MSE is measured before that step's update: step k's images are reached after k − 1 updates).
  const reach = fromEnc.curve.find((p) => p.mse01 <= target);
  const encPlusSec = reach ? encSec + (reach.step > 1 ? fromEnc.curve[reach.step - 2].sec : 0) : Number.POSITIVE_INFINITY;
  writeChart(opts.out, encSec, fromEnc.curve, fromMean.curve, nCost, opts.lr);
  run.results.cost = {
    images: nCost,
    steps: B.costSteps,
    encoder_sec_per_image: encSec,
    optimisation_sec_per_image: optSec,
    speedup: optSec / encSec,
    encoder_mse01: encoderMse,
    optimisation_mse01: optimisationMse,
    target_mse01: target,
    encoder_plus_refinement: reach ? { steps: reach.step - 1, sec_per_image: encPlusSec, mse01: reach.mse01 } : null,
    curves: { mean: fromMean.curve, encoder: fromEnc.curve },
  };
  return { nCost, encSec, optSec, target, reach, encPlusSec, encoderMse, lastFromEncoder: fromEnc.curve.at(-1)!.mse01 };
}

export async function costSection(run: PaperRun, models: PaperModels, test: EncodedTestImages): Promise<Section> {
  const { budget: B, engine } = run;
  const { nCost, encSec, optSec, target, reach, encPlusSec, encoderMse, lastFromEncoder } = await measureCost(run, models, test);
  const verdict = run.judge('costAtEqualMse', { encoderPlusRefinement: encPlusSec, optimisation: optSec });
  const speedup = optSec / encSec;
  const how = reach ? `needs ${encPlusSec.toExponential(2)} s per image, not less than optimisation's ${optSec.toExponential(2)} s,` : 'never reaches';
  const within = reach ? '' : ` within ${B.costSteps} steps`;
  const finding =
    verdict === 'agrees'
      ? `**Agrees with the paper:** at equal MSE, the encoder plus ${reach!.step - 1} refinement steps takes ${encPlusSec.toExponential(2)} s per image ` +
        `against ${optSec.toExponential(2)} s for optimisation from the mean — ${(optSec / encPlusSec).toFixed(1)}× less.`
      : `**Contradicts the paper:** the encoder plus refinement ${how} the MSE of ${B.costSteps}-step optimisation from the mean${within}.`;
  const refinedRow = reach
    ? [`LIA encoder + ${reach.step - 1} MSE refinement steps (the first to reach that MSE)`, encPlusSec.toExponential(2), f4(reach.mse01)]
    : [`LIA encoder + up to ${B.costSteps} MSE refinement steps`, 'never reached', f4(lastFromEncoder)];
  run.lap('cost');
  return {
    title: 'Cost: one encoder pass vs optimisation',
    blocks: [
      {
        kind: 'table',
        head: ['method', 'seconds per image (including g)', 'MSE ([0,1])'],
        rows: [
          ['LIA encoder, one pass g(f(x))', encSec.toExponential(2), f4(encoderMse)],
          [`MSE optimisation from the mean y, ${B.costSteps} steps`, optSec.toExponential(2), f4(target)],
          refinedRow,
        ],
      },
      {
        kind: 'figure',
        src: 'cost-mse-vs-time.svg',
        caption:
          'Pixel MSE of the batch against wall time per image: refinement from the encoder’s code (the encoder’s own time added) and from the mean y ' +
          '(PAPER.md Figure 11 as time). Both optimise pixel MSE only with the same Adam settings.',
      },
      {
        kind: 'text',
        text:
          `One encoder pass is **${Math.round(speedup).toLocaleString('en')}×** faster per image than ${B.costSteps} optimisation steps (goal ≥ 1000×), ` +
          `at MSE ${encoderMse.toPrecision(3)} against ${target.toPrecision(3)}. ${finding} Times are wall time of this process on ${engine.backend} ` +
          `with ${engine.threads} thread(s), batch ${nCost}, every one including the synthesis g.`,
      },
    ],
  };
}
