// `lia train-features`: trains the small feature network (src/models/features.ts) as a classifier.
// Role `eval` gives the network that scores models (FID, PPL); role `perceptual` the one an encoder
// is trained against. The two must differ, so each role has its own default seed and file name.
// The defaults are the recipe of the shipped Fashion-MNIST networks (results/features/README.md):
// `lia train-features --data fashion-mnist` reproduces results/features/fmnist-eval.safetensors.
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { addEngineOptions, initEngineFrom, parsePositiveInt, type EngineOptions } from '../engine-options.js';
import { addDataOptions, type DataOptions } from './data.js';
import { trainFeatureNet, DEFAULT_ROLE_SEEDS, type TrainFeatureProgress } from '../../train/features.js';
import { FEATURE_NET_DEFAULTS, type FeatureRole } from '../../models/features.js';

interface FeatureOpts extends EngineOptions, DataOptions {
  epochs: number;
  batch: number;
  lr: number;
  seed?: number;
  role: FeatureRole;
  name?: string;
  widths?: [number, number, number];
  fc: number;
  mirror?: boolean;
  out?: string;
}

/** Short name of a dataset spec for file and network names: fashion-mnist → fmnist. */
export function datasetShortName(spec: string): string {
  const head = spec.split(':')[0];
  if (head === 'fashion-mnist') return 'fmnist';
  if (head === 'mnist' || head === 'shapes') return head;
  return (head.split(/[\\/]/).filter(Boolean).pop() ?? 'data').replace(/[^A-Za-z0-9_-]/g, '') || 'data';
}

function parseWidths(v: string): [number, number, number] {
  const parts = v.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n > 0)) throw new InvalidArgumentError('Expected three positive integers, e.g. 16,32,64.');
  return parts as [number, number, number];
}

function parsePositiveNumber(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('Expected a positive number.');
  return n;
}

function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('Expected an integer.');
  return n;
}

/** A bar on a terminal; a plain line every 15 s (and at each epoch's end) when stderr is a file. */
function progressReporter(): { update(p: TrainFeatureProgress): void; stop(): void } {
  const tty = Boolean(process.stderr.isTTY);
  const fields = (p: TrainFeatureProgress) => ({
    ep: `${p.epoch + 1}/${p.epochs}`,
    ips: p.imagesPerSecond.toFixed(0),
    loss: p.loss.toFixed(4),
  });
  const bars = new cliProgress.MultiBar(
    {
      format: 'epoch {ep} |{bar}| {percentage}% | {ips} img/s | loss {loss} | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | null = null;
  let lastLine = 0;
  const eta = (p: TrainFeatureProgress) => Math.round((p.elapsedSeconds / p.step) * (p.totalSteps - p.step));
  return {
    update(p) {
      if (tty) {
        bar ??= bars.create(p.totalSteps, 0, fields(p));
        bar.update(p.step, fields(p));
        if (p.epochEnd) bars.log(`epoch ${p.epoch + 1}/${p.epochs}: train loss ${p.epochEnd.trainLoss.toFixed(4)}, test accuracy ${(100 * p.epochEnd.testAccuracy).toFixed(2)} %\n`);
        return;
      }
      const now = Date.now();
      if (p.epochEnd || now - lastLine > 15_000) {
        lastLine = now;
        const f = fields(p);
        const acc = p.epochEnd ? `, test accuracy ${(100 * p.epochEnd.testAccuracy).toFixed(2)} %` : '';
        process.stderr.write(`epoch ${f.ep} step ${p.step}/${p.totalSteps} | ${f.ips} img/s | loss ${f.loss} | ${p.elapsedSeconds.toFixed(0)} s, ETA ${eta(p)} s${acc}\n`);
      }
    },
    stop() {
      bars.stop();
    },
  };
}

export function registerFeatures(program: Command): void {
  addEngineOptions(
    addDataOptions(
      program
        .command('train-features')
        .description('train the small feature network (a classifier) used by FID/PPL (role eval) or as the perceptual loss (role perceptual)'),
    )
      .addOption(new Option('--epochs <n>', 'passes over the train split').argParser(parsePositiveInt).default(3))
      .addOption(new Option('--batch <n>', 'batch size').argParser(parsePositiveInt).default(64))
      .addOption(new Option('--lr <x>', 'Adam learning rate (cosine-decayed to 5 % of it)').argParser(parsePositiveNumber).default(2e-3))
      .addOption(new Option('--seed <n>', `seed of the weights and batch order (default: ${DEFAULT_ROLE_SEEDS.eval} for eval, ${DEFAULT_ROLE_SEEDS.perceptual} for perceptual)`).argParser(parseSeed))
      .addOption(new Option('--role <role>', 'what the network is for; recorded in its file').choices(['eval', 'perceptual']).default('eval'))
      .option('--name <name>', 'network name used in metric names, e.g. fid10k_<name> (default: <dataset>net for eval, <dataset>net-perceptual for perceptual; fmnistnet for fashion-mnist)')
      .addOption(new Option('--widths <a,b,c>', 'conv widths of the three stages').argParser(parseWidths).default(FEATURE_NET_DEFAULTS.widths, FEATURE_NET_DEFAULTS.widths.join(',')))
      .addOption(new Option('--fc <n>', 'width of the fc layer').argParser(parsePositiveInt).default(FEATURE_NET_DEFAULTS.fcWidth))
      .option('--mirror', 'random left–right mirroring of training images')
      .option('--out <file>', 'output .safetensors (default: results/features/<dataset>-<role>.safetensors)'),
  ).action(async (opts: FeatureOpts) => {
    const info = await initEngineFrom(opts);
    const short = datasetShortName(opts.data);
    const out = opts.out ?? `results/features/${short}-${opts.role}.safetensors`;
    const seed = opts.seed ?? DEFAULT_ROLE_SEEDS[opts.role];
    process.stderr.write(
      `training feature net (${opts.role}, seed ${seed}) on ${opts.data} at ${opts.resolution} px, widths ${(opts.widths ?? FEATURE_NET_DEFAULTS.widths).join('/')}, fc ${opts.fc}, ` +
        `${opts.epochs} epochs × batch ${opts.batch}, lr ${opts.lr}; backend ${info.backend}, ${info.threads} thread(s)\n`,
    );
    const reporter = progressReporter();
    let result;
    try {
      result = await trainFeatureNet({
        data: opts.data,
        dataDir: opts.dataDir,
        resolution: opts.resolution,
        channels: opts.channels,
        train: opts.train,
        limit: opts.limit,
        epochs: opts.epochs,
        batch: opts.batch,
        lr: opts.lr,
        seed,
        role: opts.role,
        // The perceptual net gets its own name, so a metric computed with it by mistake says so.
        name: opts.name ?? (opts.role === 'eval' ? `${short}net` : `${short}net-${opts.role}`),
        widths: opts.widths,
        fcWidth: opts.fc,
        mirror: Boolean(opts.mirror),
        out,
        onProgress: (p) => reporter.update(p),
      });
    } finally {
      reporter.stop();
    }
    const { net } = result;
    console.log(
      `${out}: ${net.config.name} (${opts.role}), ${net.numParams} parameters, test accuracy ${(100 * result.testAccuracy).toFixed(2)} %, ` +
        `${result.images} training images in ${result.wallSeconds.toFixed(0)} s (${(result.images / result.wallSeconds).toFixed(0)} img/s)`,
    );
    net.dispose();
  });
}
