// `lia eval`: metrics of a decoder snapshot (its EMA generator), appended to the run's metrics.jsonl.
import { Command, Option } from 'commander';
import { statusLine } from '../../io/progress.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { addEngineOptions, initEngineFrom, parsePositiveInt, type EngineOptions } from '../engine-options.js';
import { loadGenerator } from '../../train/stage1.js';
import { readSnapshot } from '../../train/snapshot.js';
import type { DecoderLoopState } from '../../train/stage1.js';
import { loadDataset } from '../../data/index.js';
import { loadFeatureNet, DEFAULT_EVAL_NET, describeDefaultEvalNets } from '../../io/network-files.js';
import { computeMetrics, appendMetrics, toMetricRecord, listMetrics, asGeneratorLike } from '../../metrics/index.js';
import { formatTable } from '../table.js';


interface EvalOpts extends EngineOptions {
  ckpt: string;
  metrics: string;
  featureNet?: string;
  numImages: number;
  pplSamples?: number;
  batch: number;
  seed: number;
  json?: boolean;
  append: boolean;
  noise: 'random' | 'const';
}

export function registerEval(program: Command): void {
  addEngineOptions(
    program
      .command('eval')
      .description(`metrics of a decoder snapshot against its dataset's test split (${listMetrics().map((m) => m.base).join(', ')})`)
      .requiredOption('--ckpt <snapshot>', 'decoder snapshot (.safetensors)')
      .option('--metrics <list>', 'comma-separated metric names', 'fid,swd,ppl_z,ppl_y')
      .option('--feature-net <file>', `evaluation feature network (role eval); default: ${describeDefaultEvalNets()}`)
      .addOption(new Option('--num-images <n>', 'generated images for FID/SWD').argParser(parsePositiveInt).default(10000))
      .addOption(new Option('--ppl-samples <n>', 'path samples for PPL (default: as many as --num-images)').argParser(parsePositiveInt))
      .addOption(new Option('--batch <n>', 'images per forward pass').argParser(parsePositiveInt).default(100))
      .addOption(new Option('--seed <n>', 'seed of every random draw').argParser((v) => Number.parseInt(v, 10)).default(0))
      .addOption(new Option('--noise <mode>', "noise of the generated images of fid/swd: fresh per image (random, as StyleGAN2-ADA) or the fixed maps (const; the metric name then ends in _constnoise); PPL always uses the fixed maps").choices(['random', 'const']).default('random'))
      .option('--json', 'print one JSON line per metric')
      .option('--no-append', "do not append to the run's metrics.jsonl"),
  ).action(async (opts: EvalOpts) => {
    const engine = await initEngineFrom(opts);
    const { G, config } = await loadGenerator(opts.ckpt);
    const state = (await readSnapshot(opts.ckpt)).state as DecoderLoopState | null;
    const cfg = config.train;
    const netPath = opts.featureNet ?? DEFAULT_EVAL_NET[cfg.data];
    if (!netPath) throw new Error(`no default evaluation network for dataset '${cfg.data}': train one with \`lia train-features --role eval\` and pass --feature-net`);
    if (!existsSync(netPath)) throw new Error(`evaluation network ${netPath} not found (train it with \`lia train-features --data ${cfg.data} --role eval --out ${netPath}\`)`);
    const featureNet = await loadFeatureNet(netPath);
    if (featureNet.config.training?.role === 'perceptual') throw new Error(`${netPath} is a perceptual-loss network (role perceptual); metrics must use an evaluation network (role eval)`);
    const ds = await loadDataset(cfg.data, { resolution: cfg.resolution, channels: cfg.channels, train: cfg.trainImages, dataDir: cfg.dataDir });
    const results = await computeMetrics(opts.metrics.split(','), {
      generator: asGeneratorLike(G),
      realTest: ds,
      featureNet,
      numImages: opts.numImages,
      pplSamples: opts.pplSamples,
      seed: opts.seed,
      batch: opts.batch,
      noise: opts.noise,
      onProgress: opts.json ? undefined : (m, done, total) => statusLine(`${m}: ${done}/${total}   `, done >= total),
    });
    const kimg = state ? state.imagesSeen / 1000 : undefined;
    const records = results.map((r) => toMetricRecord(r, { snapshot: opts.ckpt, kimg, backend: engine.backend }));
    if (opts.append) await appendMetrics(join(dirname(opts.ckpt), 'metrics.jsonl'), records);
    if (opts.json) for (const r of records) console.log(JSON.stringify(r));
    else {
      console.log(
        formatTable(
          ['metric', 'value', 'details', 'seconds'],
          results.map((r) => [r.metric, r.value, Object.entries(r.values).filter(([k]) => k !== 'value').map(([k, v]) => `${k}=${v.toPrecision(4)}`).join(' '), r.seconds]),
        ),
      );
    }
    G.dispose();
    featureNet.dispose();
  });
}
