// `lia demo` — what `npm start` runs: the shipped models on held-out images with a report, or with
// --train a small LIA trained end to end first (src/demo/demo.ts, src/demo/shipped.ts).
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { addEngineOptions, initEngineFrom, type EngineOptions } from '../engine-options.js';
import { runDemo } from '../../demo/demo.js';
import { PACKAGE_ROOT } from '../../io/model-folders.js';

export function registerDemo(program: Command): void {
  addEngineOptions(
    program
      .command('demo')
      .description('use the shipped models (models/) on held-out images — samples, reconstruction beside the baseline, refinement, interpolation, mixing, class/SeFa/PCA edits — without training; with --train, train a small LIA end to end within a time budget first. Writes runs/<n>-demo/report.html, report.md and summary.json')
      .option('--train', 'train a small LIA from scratch (decoder, then encoder) instead of loading the shipped models')
      .option('--data <spec>', '--train: dataset (default: fashion-mnist when installed, otherwise the built-in shapes)')
      .addOption(
        new Option('--minutes <n>', '--train: wall-clock budget of the whole demo')
          .argParser((v) => {
            const n = Number(v);
            if (!(n > 0)) throw new Error(`--minutes: expected a positive number, got '${v}'`);
            return n;
          })
          .default(15),
      )
      .option('--models <dir>', 'folder of model folders (lia pack-model)', join(PACKAGE_ROOT, 'models'))
      .option('--model <folder...>', 'show these model folders instead of the longest-trained LIA model of each dataset')
      .option('--out <dir>', 'parent folder of the numbered demo folder', 'runs')
      .addOption(new Option('--seed <n>', 'seed').argParser((v) => Number.parseInt(v, 10)).default(0))
      .option('--quiet', 'no progress output'),
  ).action(async (opts: EngineOptions & { train?: boolean; data?: string; minutes: number; models: string; model?: string[]; out: string; seed: number; quiet?: boolean }) => {
    if (!opts.train && opts.data) throw new Error('--data needs --train (the shipped models come with their own data; see --model)');
    const engine = await initEngineFrom(opts);
    const r = await runDemo({ train: opts.train, data: opts.data, minutes: opts.minutes, modelsDir: opts.models, models: opts.model, outDir: opts.out, seed: opts.seed, quiet: opts.quiet }, engine);
    console.log(`report: ${r.dir}/report.html (and report.md, summary.json)`);
    const failures = r.summary.failures as unknown[] | undefined;
    if (failures?.length) console.log(`${failures.length} part(s) of the demo failed; the report says which and why`);
  });
}
