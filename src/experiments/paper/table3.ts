// Table 3: reconstruction of held-out test images by the LIA encoder and the StyleGAN + encoder
// baseline (one pass), and on the first images also LIA + refinement (eq. 13) and MSE-based
// optimisation from the mean and from random starts at the same step count.
import { join } from 'node:path';
import { reconstructImages, scoreImages, type ReconstructionScores } from '../../metrics/reconstruction.js';
import { writeRowsGrid } from '../../io/images.js';
import type { Block, Section } from '../../demo/report.js';
import { optimise, type OptRun, type OptSetting } from './optimise.js';
import { f4, say, testImages, type PaperModels, type PaperRun } from './run.js';

/** What the later parts reuse: the test images and the LIA encoder's one-pass reconstructions of them. */
export interface EncodedTestImages {
  x: Float32Array;
  n: number;
  lia: Float32Array;
}

/** Quality, FID and SWD of xr against x (200 images per pass), against the test split. */
function score(run: PaperRun, x: Float32Array, xr: Float32Array): Promise<ReconstructionScores> {
  return scoreImages(x, xr, run.ds, { batch: 200, metrics: ['fid', 'swd'], realTest: run.ds, featureNet: run.evalNet, cache: run.cache });
}

/** A row of results.json's table3: the quality means, and FID and SWD with their full names. */
function entry(s: ReconstructionScores) {
  const [fid, swd] = s.distributions ?? [];
  return { images: s.images, mse01: s.mse01, psnr: s.psnr, ssim: s.ssim, fid: fid?.value, fidName: fid?.metric, swd: swd?.value, swdName: swd?.metric };
}

type Entry = ReturnType<typeof entry>;

const row = (name: string, s: Entry) => [name, s.images, f4(s.mse01), f4(s.psnr), f4(s.ssim), f4(s.swd), f4(s.fid)];

/** Both encoders, one pass over the test images (64 per pass), scored. */
async function encoderRows(run: PaperRun, models: PaperModels) {
  const { ds, budget: B } = run;
  say(run.opts.quiet, `Table 3: encoders on ${Math.min(B.evalImages, ds.test.end - ds.test.start)} test images`);
  const x = testImages(ds, B.evalImages);
  const lia = (await reconstructImages(models.lia, x, ds, 64)).images;
  const base = (await reconstructImages(models.base, x, ds, 64)).images;
  const full = { lia: entry(await score(run, x, lia)), baseline: entry(await score(run, x, base)) };
  run.lap('table3_encoders');
  return { x, recon: { lia, base }, full };
}

/** Refinement and the two optimisations on the first optImages test images, and every row of that subset scored. */
async function optimisationRows(run: PaperRun, models: PaperModels, x: Float32Array, recon: { lia: Float32Array; base: Float32Array }) {
  const { ds, budget: B, opts } = run;
  const size = ds.resolution * ds.resolution * ds.channels;
  const nOpt = Math.min(B.optImages, x.length / size);
  const xOpt = x.subarray(0, nOpt * size);
  say(opts.quiet, `Table 3: optimisation rows on the first ${nOpt} test images, ${B.optSteps} steps each`);
  const setting = { space: 'y', steps: B.optSteps, lr: opts.lr, layer: models.layer } as const;
  const mseOnly = { ...setting, beta: 0, net: undefined };
  const run3 = (s: OptSetting) => optimise(models.lia, xOpt, ds.resolution, ds.channels, s, opts.quiet);
  const refined = await run3({ ...setting, init: 'encoder', beta: models.beta, net: models.perceptualNet });
  const fromMean = await run3({ ...mseOnly, init: 'mean' });
  const fromRandom = await run3({ ...mseOnly, init: 'random' });
  const subset = {
    lia: entry(await score(run, xOpt, recon.lia.subarray(0, nOpt * size))),
    liaRefined: entry(await score(run, xOpt, refined.images)),
    base: entry(await score(run, xOpt, recon.base.subarray(0, nOpt * size))),
    mean: entry(await score(run, xOpt, fromMean.images)),
    random: entry(await score(run, xOpt, fromRandom.images)),
  };
  run.lap('table3_optimisation');
  return { nOpt, xOpt, runs: { refined, fromMean, fromRandom } as Record<string, OptRun>, subset };
}

/** Table 3's two tables, its figure and the verdicts; returns the section and the test images with their LIA reconstructions. */
export async function table3Section(run: PaperRun, models: PaperModels): Promise<{ section: Section; encoded: EncodedTestImages }> {
  const { ds, budget: B, opts } = run;
  const { x, recon, full } = await encoderRows(run, models);
  const nAll = x.length / (ds.resolution * ds.resolution * ds.channels);
  const { nOpt, xOpt, runs, subset } = await optimisationRows(run, models, x, recon);
  run.results.table3 = { full, subset, optSteps: B.optSteps, lr: opts.lr, beta: models.beta };
  const grid = [xOpt, recon.lia, runs.refined.images, recon.base, runs.fromMean.images, runs.fromRandom.images];
  await writeRowsGrid(join(opts.out, 'table3-reconstructions.png'), grid, 12, ds.resolution, ds.channels);
  const encoderVerdict = run.judge('table3Encoder', { lia: full.lia.mse01, baseline: full.baseline.mse01 });
  const refinementVerdict = run.judge('table3Refinement', { refined: subset.liaRefined.mse01, mean: subset.mean.mse01, random: subset.random.mse01 });
  const head = (what: string, s: Entry) => [what, 'images', 'MSE ([0,1])', 'PSNR', 'SSIM', s.swdName ?? 'SWD', s.fidName ?? 'FID'];
  const blocks: Block[] = [
    {
      kind: 'table',
      head: head(`method (${nAll === ds.test.end - ds.test.start ? 'whole test split' : `first ${nAll} test images`})`, full.lia),
      rows: [row('LIA encoder (one pass)', full.lia), row('StyleGAN + encoder (one pass)', full.baseline)],
    },
    {
      kind: 'table',
      head: head(`method (first ${nOpt} test images)`, subset.lia),
      rows: [
        row('LIA encoder', subset.lia),
        row(`LIA + refinement (${B.optSteps} steps in y, eq. 13)`, subset.liaRefined),
        row('StyleGAN + encoder', subset.base),
        row(`MSE optimisation from the mean y (${B.optSteps} steps)`, subset.mean),
        row(`MSE optimisation from random y (${B.optSteps} steps)`, subset.random),
      ],
    },
    {
      kind: 'figure',
      src: 'table3-reconstructions.png',
      caption: `Rows: test images; LIA encoder; LIA + ${B.optSteps}-step refinement; StyleGAN + encoder; MSE optimisation from the mean; from a random start.`,
    },
    { kind: 'text', text: table3Findings(run, models, nOpt, encoderVerdict === 'agrees', refinementVerdict === 'agrees') },
  ];
  return { section: { title: 'Table 3: reconstruction of held-out images', blocks }, encoded: { x, n: nAll, lia: recon.lia } };
}

function table3Findings(run: PaperRun, models: PaperModels, nOpt: number, encoderAgrees: boolean, refinementAgrees: boolean): string {
  const encKimg = models.lia.encoder!.train.kimg;
  const setup =
    `Optimisation uses Adam (lr ${run.opts.lr}, β = (0.9, 0.999)) on the LIA decoder; refinement minimises eq. 13 with β = ${models.beta.toPrecision(3)} ` +
    "and the encoder's perceptual network, the MSE rows minimise pixel MSE only, as in the paper. " +
    `FID/SWD on ${nOpt} images are only comparable between rows of the same table.`;
  const encoder = encoderAgrees
    ? '**Agrees with the paper:** the LIA encoder reconstructs with lower MSE than the StyleGAN + encoder baseline.'
    : '**Contradicts the paper:** the LIA encoder does not reach a lower MSE than the StyleGAN + encoder baseline. ' +
      `Likely reasons: both encoders saw ${encKimg} k images (the official schedule is 12 M) and the decoders differ in quality after their short stage 1.`;
  const refinement = refinementAgrees
    ? '**Agrees with the paper:** refinement from the encoder ends lower than optimisation from the mean or a random start at the same step count.'
    : '**Contradicts the paper:** refinement from the encoder does not end below optimisation from the mean or random starts at the same step count ' +
      '(note that those minimise MSE only, which favours their MSE).';
  return `${setup} ${encoder} ${refinement}`;
}
