// `lia invert`: refinement of codes by optimisation (PAPER.md equation 13), many images as one batch.
import { Command, Option } from 'commander';
import { statusLine } from '../../io/progress.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { addEngineOptions, initEngineFrom, parsePositiveInt, type EngineOptions, parseNumber } from '../engine-options.js';
import { loadImagesFor, imageTarget } from '../images.js';
import { initialCode, type LiaModel } from '../../invert/model.js';
import * as lia from '../../node.js';
import { renderCode, REFINE_SPACES, REFINE_INITS, REFINE_DEFAULTS, type RefineSpace, type RefineInit, type RefineStep } from '../../invert/refine.js';
import { FEATURE_LAYERS, type FeatureNet, type FeatureLayer } from '../../models/features.js';
import { loadFeatureNet } from '../../io/network-files.js';
import { calibratePerceptualWeight } from '../../losses/perceptual-weight.js';
import { DEFAULT_ENCODER_CONFIG } from '../../train/encoder-config.js';
import { qualitySums } from '../../metrics/image-quality.js';
import { writeRowsGrid } from '../../io/images.js';
import { writeTextAtomic } from '../../io/files.js';
import { writeFolder, type FolderKind } from '../../io/staging.js';
import { lineChartSvg } from '../../io/chart.js';
import { formatTable } from '../table.js';

const num = parseNumber;

export interface Quality {
  mse01: number;
  psnr: number;
  ssim: number;
}

/** Mean MSE ([0, 1] images), PSNR and SSIM of reconstructions xr against x. */
export function quality(x: tf.Tensor4D, xr: tf.Tensor4D): Quality {
  const n = x.shape[0];
  const s = qualitySums(x, xr);
  return { mse01: s.mse01 / n, psnr: s.psnr / n, ssim: s.ssim / n };
}

/** The perceptual network and weight of refinement: the encoder's own, or the default network, calibrated. */
export async function refinementLoss(m: LiaModel, x: tf.Tensor4D, opts: { perceptualNet?: string; perceptualLayer?: FeatureLayer; beta?: string }): Promise<{ net?: FeatureNet; layer: FeatureLayer; beta: number; how: string }> {
  const fromEncoder = m.encoder?.train;
  const layer = opts.perceptualLayer ?? fromEncoder?.perceptualLayer ?? DEFAULT_ENCODER_CONFIG.perceptualLayer;
  const path = opts.perceptualNet ?? fromEncoder?.perceptualNet ?? DEFAULT_ENCODER_CONFIG.perceptualNet;
  if (opts.beta !== undefined && opts.beta !== 'auto' && num(opts.beta) === 0) return { layer, beta: 0, how: 'pixel MSE only (β = 0)' };
  if (!existsSync(path)) throw new Error(`perceptual network ${path} not found: pass --perceptual-net, or --beta 0 for pixel MSE only`);
  const net = await loadFeatureNet(path);
  if (net.config.training?.role === 'eval') throw new Error(`${path} is an evaluation network (role eval); refinement must use a perceptual network`);
  const g = m.decoder.generator;
  if (net.config.resolution !== g.resolution || net.config.channels !== g.channels) {
    throw new Error(`perceptual network ${path} takes ${net.config.resolution}×${net.config.resolution}×${net.config.channels} images, this checkpoint makes ${g.resolution}×${g.resolution}×${g.channels}: pass a matching --perceptual-net, or --beta 0`);
  }
  if (opts.beta !== undefined && opts.beta !== 'auto') return { net, layer, beta: num(opts.beta), how: `β = ${opts.beta} (given)` };
  if (fromEncoder && fromEncoder.perceptualNet === path && fromEncoder.perceptualLayer === layer) return { net, layer, beta: fromEncoder.beta1, how: `β = ${fromEncoder.beta1.toPrecision(4)}, the encoder's β1` };
  const w = calibratePerceptualWeight(net, layer, x);
  return { net, layer, beta: w.beta1, how: `β = ${w.beta1.toPrecision(4)}, calibrated for ${net.config.name}.${layer}` };
}

/** What `lia invert` writes: an --out holding anything else is refused unless --overwrite. */
export const INVERT_FILES = ['codes.safetensors', 'images.png', 'losses.jsonl', 'loss-curve.svg', 'summary.json'];
export const INVERT_FOLDER: FolderKind = {
  what: 'an invert folder (lia invert: summary.json, codes.safetensors, …)',
  isOwn: (dir) => {
    try {
      const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
      return s.format === 'lia-invert' || ('checkpoint' in s && 'space' in s && 'steps' in s);
    } catch {
      return false;
    }
  },
  ownEntry: (rel) => INVERT_FILES.includes(rel),
};

interface InvertOpts extends EngineOptions {
  ckpt: string;
  images: string;
  limit: number;
  offset: number;
  space: RefineSpace;
  init: RefineInit;
  steps: number;
  lr: number;
  beta?: string;
  perceptualNet?: string;
  perceptualLayer?: FeatureLayer;
  seed: number;
  out: string;
  overwrite?: boolean;
  quiet?: boolean;
}

export function registerInvert(program: Command): void {
  addEngineOptions(
    program
      .command('invert')
      .description('refine a code per image by optimisation (Adam): pixel MSE + β·perceptual, generator frozen; writes codes, images, per-step losses and a loss chart')
      .requiredOption('--ckpt <file>', 'encoder checkpoint (lia train-encoder) or decoder snapshot (lia train-decoder; no --init encoder)')
      .addOption(new Option('--images <spec>', "'test' or 'train' (the checkpoint's dataset split), or any dataset spec (folder, mnist:…)").default('test'))
      .addOption(new Option('--limit <n>', 'images, optimised together as one batch').argParser(parsePositiveInt).default(16))
      .addOption(new Option('--offset <n>', 'skip the first N images').argParser((v) => Number.parseInt(v, 10)).default(0))
      .addOption(new Option('--space <s>', 'y: one y for all layers (LIA); z: through Φ⁻¹; wplus: one y per layer').choices([...REFINE_SPACES]).default('y'))
      .addOption(new Option('--init <s>', "start: the encoder's code, the mean y, or a random sample").choices([...REFINE_INITS]).default('encoder'))
      .addOption(new Option('--steps <n>', 'Adam steps').argParser((v) => Number.parseInt(v, 10)).default(REFINE_DEFAULTS.steps))
      .addOption(new Option('--lr <lr>', 'Adam learning rate (β = 0.9, 0.999)').argParser(num).default(REFINE_DEFAULTS.lr))
      .option('--beta <w>', "perceptual weight; 'auto': the encoder's β1, or calibrated for the network (default auto); 0: pixel MSE only")
      .option('--perceptual-net <file>', "perceptual network (default: the encoder's, else results/features/fmnist-perceptual.safetensors)")
      .addOption(new Option('--perceptual-layer <name>', 'its layer (default conv4)').choices([...FEATURE_LAYERS]))
      .addOption(new Option('--seed <n>', 'seed of --init random').argParser((v) => Number.parseInt(v, 10)).default(0))
      .requiredOption('--out <dir>', 'output folder (codes.safetensors, images.png, losses.jsonl, loss-curve.svg, summary.json), built beside it and renamed into place; an earlier invert folder is replaced, anything else refused')
      .option('--overwrite', 'replace an existing --out that is not an invert folder (it is moved aside to <out>.replaced-<time>, never deleted)')
      .option('--quiet', 'no progress output'),
  ).action(async (opts: InvertOpts) => {
    const engine = await initEngineFrom(opts);
    await writeFolder(opts.out, INVERT_FOLDER, { overwrite: opts.overwrite }, (dir) => invert(opts, engine, dir));
  });
}

async function invert(opts: InvertOpts, engine: { backend: string; threads: number }, dir: string): Promise<void> {
  const m = await lia.loadModel(opts.ckpt);
  const g = m.decoder.generator;
  const { images, names } = await loadImagesFor(opts.images, imageTarget(m), opts.limit, opts.offset);
  const n = images.n;
  const x = tf.tensor4d(images.data, [n, g.resolution, g.resolution, g.channels]);
  const init = initialCode(m, opts.space, opts.init, x, opts.seed);
  const loss = await refinementLoss(m, x, opts);
  const startImages = renderCode(m.G, opts.space, init);
  const start = quality(x, startImages);
  console.error(`inverting ${n} images in ${opts.space} from ${opts.init}: ${opts.steps} steps, lr ${opts.lr}, ${loss.how}`);
  const lines: string[] = [];
  const t0 = performance.now();
  const result = await lia.refine(m, x, {
    init,
    steps: opts.steps,
    lr: opts.lr,
    beta: loss.beta,
    perceptualNet: loss.net,
    perceptualLayer: loss.layer,
    space: opts.space,
    onStep: (s: RefineStep) => {
      lines.push(JSON.stringify({ ...s, mse01: s.mse / 4 }));
      if (!opts.quiet && (s.step % 10 === 0 || s.step === opts.steps)) statusLine(`step ${s.step}/${opts.steps}  loss ${s.loss.toFixed(5)}  mse ${s.mse.toFixed(5)}`, s.step === opts.steps);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const final = quality(x, result.images);
  writeTextAtomic(join(dir, 'losses.jsonl'), lines.join('\n') + (lines.length ? '\n' : ''));
  if (result.history.length) {
    writeTextAtomic(
      join(dir, 'loss-curve.svg'),
      lineChartSvg(
        [
          { name: 'loss', points: result.history.map((s) => [s.step, s.loss]) },
          { name: 'pixel MSE', points: result.history.map((s) => [s.step, s.mse]) },
        ],
        { title: `refinement in ${opts.space} from ${opts.init} (${n} images)`, xLabel: 'step', yLabel: 'batch mean', logY: true },
      ),
    );
  }
  const codeData = (await result.code.data()) as Float32Array;
  await lia.writeCodes(join(dir, 'codes.safetensors'), {
    codes: { [opts.space === 'wplus' ? 'ws' : opts.space]: { shape: result.code.shape, data: codeData } },
    names,
    about: { checkpoint: opts.ckpt, images: opts.images, space: opts.space, init: opts.init, steps: opts.steps, lr: opts.lr, beta: loss.beta },
  });
  const [xs, ss, rs] = await Promise.all([x.data(), startImages.data(), result.images.data()]);
  await writeRowsGrid(join(dir, 'images.png'), [xs as Float32Array, ss as Float32Array, rs as Float32Array], n, g.resolution, g.channels);
  const summary = {
    format: 'lia-invert',
    checkpoint: opts.ckpt,
    images: n,
    space: opts.space,
    init: opts.init,
    steps: opts.steps,
    lr: opts.lr,
    beta: loss.beta,
    perceptual: loss.net ? `${loss.net.config.name}.${loss.layer}` : null,
    start,
    final,
    seconds,
    seconds_per_image: seconds / n,
    backend: engine.backend,
    threads: engine.threads,
  };
  writeTextAtomic(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  console.log(
    formatTable(
      ['', 'MSE [0,1]', 'PSNR', 'SSIM'],
      [
        [`start (${opts.init})`, start.mse01.toPrecision(4), start.psnr.toFixed(2), start.ssim.toFixed(3)],
        [`after ${opts.steps} steps`, final.mse01.toPrecision(4), final.psnr.toFixed(2), final.ssim.toFixed(3)],
      ],
    ),
  );
  console.error(`wrote ${opts.out}/: codes.safetensors, images.png (originals / start / refined), losses.jsonl, loss-curve.svg, summary.json — ${seconds.toFixed(1)} s (${((1000 * seconds) / n).toFixed(0)} ms per image)`);
  tf.dispose([x, init, startImages, result.code, result.images]);
  loss.net?.dispose();
  lia.disposeModel(m);
}
