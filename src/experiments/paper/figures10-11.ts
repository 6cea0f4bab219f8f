// Figures 10 and 11: refinement curves (eq. 13) on a few test images — Figure 11 from three starts
// in y (the encoder's code, the mean y, a random y), Figure 10 from the encoder's code in y and in
// z = Φ(y).
import { join } from 'node:path';
import { writeTextAtomic } from '../../io/files.js';
import { lineChartSvg } from '../../io/chart.js';
import type { Section } from '../../demo/report.js';
import { optimise, type OptRun } from './optimise.js';
import { f4, say, type PaperModels, type PaperRun } from './run.js';
import type { EncodedTestImages } from './table3.js';

const STARTS = [
  ['y from encoder', 'y', 'encoder'],
  ['y from mean', 'y', 'mean'],
  ['y from random', 'y', 'random'],
  ['z from encoder', 'z', 'encoder'],
] as const;

function writeCharts(out: string, curves: Record<string, OptRun>, nCurve: number): void {
  const pts = (run: OptRun): Array<[number, number]> => run.history.map((h) => [h.step, h.loss]);
  const axes = { xLabel: 'Adam step', yLabel: 'MSE + β·perceptual', logY: true };
  const fromStarts = ['y from encoder', 'y from mean', 'y from random'].map((k) => ({ name: k.replace('y ', ''), points: pts(curves[k]) }));
  const title11 = `Figure 11: refinement loss from three starts (${nCurve} test images)`;
  writeTextAtomic(join(out, 'fig11-refinement-starts.svg'), lineChartSvg(fromStarts, { title: title11, ...axes }));
  const spaces = [
    { name: 'in y', points: pts(curves['y from encoder']) },
    { name: 'in z = Φ(y)', points: pts(curves['z from encoder']) },
  ];
  const title10 = `Figure 10: refinement in y vs in z from the encoder's code (${nCurve} images)`;
  writeTextAtomic(join(out, 'fig10-y-vs-z.svg'), lineChartSvg(spaces, { title: title10, ...axes }));
}

export async function figures10And11Section(run: PaperRun, models: PaperModels, test: EncodedTestImages): Promise<Section> {
  const { ds, budget: B, opts } = run;
  const nCurve = Math.min(B.curveImages, test.n);
  const xCurve = test.x.subarray(0, nCurve * ds.resolution * ds.resolution * ds.channels);
  say(opts.quiet, `Figures 10 and 11: eq. 13 from three starts and in z, ${nCurve} images`);
  const curves: Record<string, OptRun> = {};
  for (const [key, space, init] of STARTS) {
    const setting = { space, init, steps: B.optSteps, lr: opts.lr, beta: models.beta, net: models.perceptualNet, layer: models.layer };
    curves[key] = await optimise(models.lia, xCurve, ds.resolution, ds.channels, setting, opts.quiet);
  }
  writeCharts(opts.out, curves, nCurve);
  const last = (k: string) => curves[k].history.at(-1)!.loss;
  const first = (k: string) => curves[k].history[0].loss;
  const ends = (v: OptRun) => ({ first: v.history[0], last: v.history.at(-1), secPerImage: v.secPerImage });
  run.results.figures10_11 = Object.fromEntries(Object.entries(curves).map(([k, v]) => [k, ends(v)]));
  const figure11 = run.judge('figure11', { encoder: last('y from encoder'), mean: last('y from mean'), random: last('y from random') });
  const figure10 = run.judge('figure10', { y: last('y from encoder'), z: last('z from encoder') });
  const text11 =
    figure11 === 'agrees'
      ? '**Agrees with the paper (Figure 11):** the encoder start stays lowest.'
      : '**Contradicts the paper (Figure 11):** the encoder start does not end lowest. ' +
        'Likely reason: an encoder trained on 40 k images starts from codes whose loss the optimiser can leave behind quickly.';
  const text10 =
    figure10 === 'agrees'
      ? '**Agrees with the paper (Figure 10):** optimisation in y ends lower than in z from the same start.'
      : '**Contradicts the paper (Figure 10):** optimisation in z is not worse than in y here. Likely reason: Φ of this short stage-1 run is close to ' +
        'the identity plus a small shift (learning-rate multiplier 0.01), so z and y are nearly the same space.';
  run.lap('figures10_11');
  return {
    title: 'Figures 11 and 10: refinement curves',
    blocks: [
      {
        kind: 'figure',
        src: 'fig11-refinement-starts.svg',
        caption: 'Figure 11: batch-mean loss of eq. 13 per step from the encoder’s code, the mean y and a random y.',
      },
      { kind: 'figure', src: 'fig10-y-vs-z.svg', caption: 'Figure 10: the same optimisation from the same start, in y and in z = Φ(y).' },
      { kind: 'table', head: ['run', 'loss at step 1', `loss at step ${B.optSteps}`], rows: Object.keys(curves).map((k) => [k, f4(first(k)), f4(last(k))]) },
      { kind: 'text', text: `${text11} ${text10}` },
    ],
  };
}
