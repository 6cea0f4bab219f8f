// The experiment's report: its introduction (how it was produced, from which inputs, at what scale)
// above the sections of the parts, written as report.md and report.html beside results.json.
import { join } from 'node:path';
import { writeTextAtomic } from '../../io/files.js';
import { reportMarkdown, reportHtml, type Report, type Section } from '../../demo/report.js';
import { say, type PaperModels, type PaperRun } from './run.js';

export function writePaperReport(run: PaperRun, models: { decKimg: number; encKimg: number }, sections: Section[]): Report {
  const { opts, engine, ds } = run;
  const wall = (Date.now() - run.startedAt) / 1000;
  run.results.timing_sec = { ...run.timing, total: wall };
  const r = ds.resolution;
  const report: Report = {
    title: `LIA: the paper's comparisons at small scale (${opts.data}, budget ${opts.budget})`,
    intro: [
      `Produced by \`node dist/cli.js experiment paper --data ${opts.data} --budget ${opts.budget}\` on ${engine.backend} with ${engine.threads} thread(s), ` +
        `in ${(wall / 60).toFixed(1)} minutes. Every number below comes from that run; results.json holds them all.`,
      `Inputs: LIA decoder \`${opts.liaDecoder}\`, MLP decoder \`${opts.mlpDecoder}\`, LIA encoder \`${opts.liaEncoder}\`, baseline encoder ` +
        `\`${opts.baselineEncoder}\`, evaluation network \`${opts.evalNet}\` (FID, SWD, PPL; never the perceptual network of the encoders' loss).`,
      `Scale: ${r}×${r} ${ds.name}, decoders trained for ${models.decKimg} k images and encoders for ${models.encKimg} k, ` +
        'against the paper’s 25 M and 12 M at 128–1024 px. Where a result contradicts the paper, the text says so and gives the likely reason.',
    ],
    sections,
  };
  writeTextAtomic(join(opts.out, 'report.md'), reportMarkdown(report));
  writeTextAtomic(join(opts.out, 'report.html'), reportHtml(report));
  writeTextAtomic(join(opts.out, 'results.json'), JSON.stringify(run.results, null, 1) + '\n');
  say(opts.quiet, `wrote ${opts.out}/report.md, report.html, results.json in ${(wall / 60).toFixed(1)} min`);
  return report;
}

/** How long the decoder and the LIA encoder were trained, in thousands of images. */
export function trainedKimg(models: PaperModels): { decKimg: number; encKimg: number } {
  return { decKimg: models.lia.decoder.train.kimg, encKimg: models.lia.encoder!.train.kimg };
}
