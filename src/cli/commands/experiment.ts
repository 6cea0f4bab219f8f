// `lia experiment paper`: the paper's comparisons at small scale (src/experiments/paper.ts).
import { Command, Option } from 'commander';
import { addEngineOptions, initEngineFrom, type EngineOptions, parseNumber } from '../engine-options.js';
import { DEFAULT_EVAL_NET, describeDefaultEvalNets } from '../../io/network-files.js';
import { runPaperExperiment, PAPER_BUDGETS, type PaperBudget } from '../../experiments/paper.js';

const num = parseNumber;

export function registerExperiment(program: Command): void {
  const exp = program.command('experiment').description('reproduce the paper’s measurements');
  addEngineOptions(
    exp
      .command('paper')
      .description('Table 2, Table 3, Figures 10–12 and the cost comparison of PAPER.md at small scale; writes <out>/report.md, report.html, results.json and figures')
      .option('--data <spec>', 'dataset', 'fashion-mnist')
      .addOption(new Option('--budget <b>', `small: ${JSON.stringify(PAPER_BUDGETS.small)}; full: ${JSON.stringify(PAPER_BUDGETS.full)}`).choices(Object.keys(PAPER_BUDGETS)).default('small'))
      .option('--out <dir>', 'output folder', 'results/paper')
      .option('--lia-decoder <file>', 'decoder with the invertible mapping', 'results/decoders/fmnist32-quick-invertible.safetensors')
      .option('--mlp-decoder <file>', 'decoder with the MLP mapping', 'results/decoders/fmnist32-quick-mlp.safetensors')
      .option('--lia-encoder <file>', 'LIA encoder', 'results/encoders/fmnist32-quick-lia.safetensors')
      .option('--baseline-encoder <file>', 'StyleGAN + encoder baseline', 'results/encoders/fmnist32-quick-baseline.safetensors')
      .option('--eval-net <file>', `evaluation network (FID, PPL; default: ${describeDefaultEvalNets()})`)
      .addOption(new Option('--lr <lr>', 'Adam learning rate of refinement and optimisation').argParser(num).default(0.1))
      .addOption(new Option('--kl <w>', 'KL weight of the VAE-style encoder (Figure 12)').argParser(num).default(1e-3))
      .option('--quiet', 'no progress output'),
  ).action(async (opts: EngineOptions & { data: string; budget: PaperBudget; out: string; liaDecoder: string; mlpDecoder: string; liaEncoder: string; baselineEncoder: string; evalNet?: string; lr: number; kl: number; quiet?: boolean }) => {
    const evalNet = opts.evalNet ?? DEFAULT_EVAL_NET[opts.data.split(':')[0]];
    if (!evalNet) throw new Error(`--eval-net is required for --data ${opts.data}: no evaluation network ships for it (train one with lia train-features --role eval)`);
    const engine = await initEngineFrom(opts);
    await runPaperExperiment({ ...opts, evalNet }, engine);
    console.log(`report: ${opts.out}/report.md`);
  });
}
