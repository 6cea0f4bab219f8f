// `lia demo` — what `npm start` runs: a small LIA end to end with a report (src/demo/demo.ts).
import { Command, Option } from 'commander';
import { addEngineOptions, initEngineFrom, type EngineOptions } from '../engine-options.js';
import { runDemo } from '../../demo/demo.js';

export function registerDemo(program: Command): void {
  addEngineOptions(
    program
      .command('demo')
      .description('train a small LIA end to end (decoder, then encoder) within a time budget, then reconstruct, refine, interpolate, mix and edit held-out images; writes runs/<n>-demo/report.html and report.md')
      .option('--data <spec>', 'dataset (default: fashion-mnist when installed, otherwise the built-in shapes)')
      .addOption(
        new Option('--minutes <n>', 'wall-clock budget of the whole demo')
          .argParser((v) => {
            const n = Number(v);
            if (!(n > 0)) throw new Error(`--minutes: expected a positive number, got '${v}'`);
            return n;
          })
          .default(15),
      )
      .option('--out <dir>', 'parent folder of the numbered demo folder', 'runs')
      .addOption(new Option('--seed <n>', 'seed').argParser((v) => Number.parseInt(v, 10)).default(0))
      .option('--quiet', 'no progress output'),
  ).action(async (opts: EngineOptions & { data?: string; minutes: number; out: string; seed: number; quiet?: boolean }) => {
    const engine = await initEngineFrom(opts);
    const r = await runDemo({ data: opts.data, minutes: opts.minutes, outDir: opts.out, seed: opts.seed, quiet: opts.quiet }, engine);
    console.log(`report: ${r.dir}/report.html (and report.md, summary.json)`);
  });
}
