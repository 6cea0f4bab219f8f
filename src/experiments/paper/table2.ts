// Table 2: perceptual path length of generated images, interpolating in z (slerp) and in y (lerp),
// for the LIA decoder (Φ⁻¹) and the StyleGAN decoder (MLP mapping).
import { computeMetrics, asGeneratorLike } from '../../metrics/index.js';
import * as api from '../../node.js';
import type { Section } from '../../demo/report.js';
import { f4, loadDecoder, say, type PaperRun } from './run.js';

export async function table2Section(run: PaperRun): Promise<Section> {
  const { opts, budget: B, evalNet } = run;
  say(opts.quiet, `Table 2: PPL in z and y, ${B.pplSamples} paths per space and decoder`);
  const rows: Array<[string, number, number, number]> = [];
  const ppl: Record<string, Record<string, number>> = {};
  for (const [name, path] of [['LIA (Φ⁻¹)', opts.liaDecoder], ['StyleGAN (MLP mapping)', opts.mlpDecoder]] as const) {
    const m = await loadDecoder(path);
    try {
      const ctx = { generator: asGeneratorLike(m.G), featureNet: evalNet, numImages: B.pplSamples, pplSamples: B.pplSamples, seed: 0, batch: 100 };
      const ms = await computeMetrics(['ppl_z', 'ppl_y'], ctx);
      ppl[name] = Object.fromEntries(ms.map((r) => [r.metric, r.value]));
      rows.push([name, ms[0].value, ms[1].value, ms[1].value / ms[0].value]);
    } finally {
      api.disposeModel(m);
    }
  }
  run.results.table2 = ppl;
  const [, z, y] = rows[0];
  const verdict = run.judge('table2', { z, y });
  const finding =
    verdict === 'agrees'
      ? '**Agrees with the paper:** interpolating in y gives a shorter path than in z for the LIA decoder.'
      : '**Contradicts the paper:** for this decoder the path in y is not shorter than in z. Likely reason: a decoder trained for minutes on CPU, ' +
        'whose Φ has barely moved from initialisation (learning-rate multiplier 0.01).';
  run.lap('table2');
  return {
    title: 'Table 2: perceptual path length, z vs y',
    blocks: [
      { kind: 'table', head: ['decoder', `PPL in z (slerp)`, `PPL in y (lerp)`, 'y / z'], rows: rows.map(([name, ...v]) => [name, ...v.map(f4)]) },
      {
        kind: 'text',
        text:
          `${B.pplSamples} paths per space, ε = 1e-4, distances from the evaluation network \`${evalNet.config.name}\` ` +
          `(not VGG16: PPL values are not comparable with the paper's). ${finding}`,
      },
    ],
  };
}
