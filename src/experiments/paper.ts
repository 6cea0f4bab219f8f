// `lia experiment paper`: every comparison listed under "What the paper measures" in PAPER.md, at
// small scale, from trained decoders and encoders; writes <out>/report.{md,html} with its tables and
// figures, and results.json with every number. One part per file in paper/:
//
// - Table 2 (table2.ts): PPL of generated images interpolating in z vs in y.
// - Table 3 (table3.ts): test reconstructions of LIA, LIA + refinement, StyleGAN + encoder, and
//   MSE-based optimisation from the mean and from random starts at the same step count.
// - Figures 10 and 11 (figures10-11.ts): refinement in y vs in z; refinement loss from three starts.
// - Figure 12 (figure12.ts): encoder gradient stability, LIA's deterministic encoder vs a VAE-style
//   encoder on the same Φ decoder, over several seeds, with a 95 % interval of the paired difference.
// - Cost (cost.ts): one encoder pass vs N optimisation steps, per image; and the time the encoder plus
//   K refinement steps needs to reach the MSE of N-step optimisation from the mean.
// The budgets (budgets.ts), the statistics (statistics.ts), the verdict rules (verdicts.ts), what the
// parts share (run.ts) and the report (report.ts) have their own files.
import { mkdirSync } from 'node:fs';
import type { EngineInfo } from '../engine/backend.js';
import type { Report, Section } from '../demo/report.js';
import type { PaperOptions } from './paper/budgets.js';
import { startRun, loadEncoders, disposeEncoders } from './paper/run.js';
import { table2Section } from './paper/table2.js';
import { table3Section } from './paper/table3.js';
import { figures10And11Section } from './paper/figures10-11.js';
import { figure12Section } from './paper/figure12.js';
import { costSection } from './paper/cost.js';
import { trainedKimg, writePaperReport } from './paper/report.js';

export { PAPER_BUDGETS, type PaperBudget, type PaperOptions, type BudgetSettings } from './paper/budgets.js';
export { meanWithCi } from './paper/statistics.js';
export { VERDICTS, type Verdict } from './paper/verdicts.js';

export async function runPaperExperiment(opts: PaperOptions, engine: EngineInfo): Promise<{ report: Report; results: Record<string, unknown> }> {
  const run = await startRun(opts, engine);
  try {
    mkdirSync(opts.out, { recursive: true });
    const sections: Section[] = [await table2Section(run)];
    run.results.verdicts = run.verdicts; // after table2 in results.json, filled as the parts judge
    const models = await loadEncoders(opts);
    let kimg: { decKimg: number; encKimg: number };
    try {
      kimg = trainedKimg(models);
      const table3 = await table3Section(run, models);
      sections.push(table3.section);
      sections.push(await figures10And11Section(run, models, table3.encoded));
      sections.push(await figure12Section(run, models));
      sections.push(await costSection(run, models, table3.encoded));
    } finally {
      disposeEncoders(models);
    }
    return { report: writePaperReport(run, kimg, sections), results: run.results };
  } finally {
    run.evalNet.dispose();
  }
}
