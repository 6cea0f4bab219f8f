// `lia experiment paper --budget smoke` end to end on tiny checkpoints: every section, figure and
// number is written, each verdict follows from the numbers in results.json and the report says it,
// and inputs of the wrong kind are refused. The verdict rules on constructed numbers, one per outcome.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, engineInfo } from '../engine/backend.js';
import { makeTinyCheckpoints, TINY_DATA, type TinyCheckpoints } from '../testing/tiny.js';
import { FeatureNet } from '../models/features.js';
import { saveFeatureNet } from '../io/network-files.js';
import { runPaperExperiment, VERDICTS, meanWithCi, type PaperOptions, type Verdict } from './paper.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-paper-'));
let lia: TinyCheckpoints;
let mlp: TinyCheckpoints;
const evalPath = join(dir, 'eval.safetensors');

before(async () => {
  await initEngine({ backend: 'wasm', threads: 1 });
  lia = await makeTinyCheckpoints(dir, 'invertible');
  mlp = await makeTinyCheckpoints(dir, 'mlp');
  const net = new FeatureNet({ name: 'tinyeval', resolution: 16, channels: 1, widths: [4, 8, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 4, training: { dataset: 'none', role: 'eval' } });
  await saveFeatureNet(net, evalPath);
  net.dispose();
});

function options(out: string): PaperOptions {
  return { data: TINY_DATA, budget: 'smoke', out, liaDecoder: lia.decoder, mlpDecoder: mlp.decoder, liaEncoder: lia.encoder, baselineEncoder: mlp.encoder, evalNet: evalPath, lr: 0.05, kl: 1e-3, quiet: true };
}

test('experiment paper (smoke budget) writes every table, figure and number', async () => {
  const out = join(dir, 'paper');
  const t0 = Date.now();
  const { results } = await runPaperExperiment(options(out), engineInfo()!);
  console.log(`smoke experiment: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  for (const h of ['Table 2', 'Table 3', 'Figures 11 and 10', 'Figure 12', 'Cost']) assert.match(md, new RegExp(`## ${h}`));
  assert.doesNotMatch(md, /\$\{/, 'no unfilled template in the report');
  for (const f of ['table3-reconstructions.png', 'fig11-refinement-starts.svg', 'fig10-y-vs-z.svg', 'fig12-gradient-norms.svg', 'report.html']) assert.ok(existsSync(join(out, f)), f);
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  for (const k of ['table2', 'table3', 'figures10_11', 'figure12', 'cost']) assert.ok(json[k], k);
  const t3 = results.table3 as { full: { lia: { mse01: number; fid: number } } };
  assert.ok(t3.full.lia.mse01 > 0 && Number.isFinite(t3.full.lia.fid));
  assert.ok((json.cost.speedup as number) > 1, 'an encoder pass is faster than 10 optimisation steps');

  // Each verdict was judged on the numbers results.json reports in its tables, by the rule...
  const ppl = json.table2['LIA (Φ⁻¹)'] as Record<string, number>;
  const pplIn = (space: string) => Object.entries(ppl).find(([k]) => k.startsWith('ppl') && k.includes(`_${space}_`))![1];
  const lastLoss = (k: string) => json.figures10_11[k].last.loss as number;
  const g12 = json.figure12 as { seeds: Array<{ cv: number[] }>; cv_difference_vae_minus_lia: { mean: number; lo: number; hi: number; n: number } };
  assert.equal(g12.seeds.length, 2, 'Figure 12 runs both encoders for every seed of the budget');
  // The interval is the one of the per-seed differences reported beside it.
  assert.deepEqual(g12.cv_difference_vae_minus_lia, meanWithCi(g12.seeds.map((p) => p.cv[1] - p.cv[0])));
  const cost = json.cost as { optimisation_sec_per_image: number; encoder_plus_refinement: { sec_per_image: number } | null };
  const numbers = {
    table2: { z: pplIn('z'), y: pplIn('y') },
    table3Encoder: { lia: json.table3.full.lia.mse01, baseline: json.table3.full.baseline.mse01 },
    table3Refinement: { refined: json.table3.subset.liaRefined.mse01, mean: json.table3.subset.mean.mse01, random: json.table3.subset.random.mse01 },
    figure11: { encoder: lastLoss('y from encoder'), mean: lastLoss('y from mean'), random: lastLoss('y from random') },
    figure10: { y: lastLoss('y from encoder'), z: lastLoss('z from encoder') },
    figure12: { mean: g12.cv_difference_vae_minus_lia.mean, lo: g12.cv_difference_vae_minus_lia.lo, hi: g12.cv_difference_vae_minus_lia.hi },
    costAtEqualMse: { encoderPlusRefinement: cost.encoder_plus_refinement?.sec_per_image ?? Number.POSITIVE_INFINITY, optimisation: cost.optimisation_sec_per_image },
  };
  const expected = Object.fromEntries(Object.entries(numbers).map(([k, n]) => [k, (VERDICTS[k as keyof typeof VERDICTS] as (n: object) => Verdict)(n)])) as Record<keyof typeof VERDICTS, Verdict>;
  assert.deepEqual(json.verdicts, Object.fromEntries(Object.entries(numbers).map(([k, n]) => [k, { verdict: expected[k as keyof typeof VERDICTS], numbers: n }])));
  // ...and the report states them, section by section, in order.
  const said = (heading: string) => {
    const section = md.split(/^## /m).find((p) => p.startsWith(heading))!;
    return [...section.matchAll(/\*\*(Agrees|Contradicts|Inconclusive)/g)].map((m) => ({ Agrees: 'agrees', Contradicts: 'contradicts', Inconclusive: 'inconclusive' })[m[1]]);
  };
  assert.deepEqual(said('Table 2'), [expected.table2]);
  assert.deepEqual(said('Table 3'), [expected.table3Encoder, expected.table3Refinement]);
  assert.deepEqual(said('Figures 11 and 10'), [expected.figure11, expected.figure10]);
  assert.deepEqual(said('Figure 12'), [expected.figure12]);
  assert.deepEqual(said('Cost'), [expected.costAtEqualMse]);
});

test('verdict rules: each comparison agrees only on a strict improvement; Figure 12 by the confidence interval of the paired difference', () => {
  assert.equal(VERDICTS.table2({ z: 80, y: 40 }), 'agrees');
  assert.equal(VERDICTS.table2({ z: 40, y: 80 }), 'contradicts');
  assert.equal(VERDICTS.table2({ z: 40, y: 40 }), 'contradicts', 'a tie is not a shorter path');
  assert.equal(VERDICTS.table3Encoder({ lia: 0.02, baseline: 0.03 }), 'agrees');
  assert.equal(VERDICTS.table3Encoder({ lia: 0.03, baseline: 0.02 }), 'contradicts');
  assert.equal(VERDICTS.table3Refinement({ refined: 0.01, mean: 0.02, random: 0.03 }), 'agrees');
  assert.equal(VERDICTS.table3Refinement({ refined: 0.025, mean: 0.02, random: 0.03 }), 'contradicts', 'beaten by the mean start');
  assert.equal(VERDICTS.table3Refinement({ refined: 0.025, mean: 0.03, random: 0.02 }), 'contradicts', 'beaten by the random start');
  assert.equal(VERDICTS.figure11({ encoder: 0.1, mean: 0.2, random: 0.3 }), 'agrees');
  assert.equal(VERDICTS.figure11({ encoder: 0.25, mean: 0.3, random: 0.2 }), 'contradicts');
  assert.equal(VERDICTS.figure10({ y: 0.1, z: 0.2 }), 'agrees');
  assert.equal(VERDICTS.figure10({ y: 0.2, z: 0.1 }), 'contradicts');
  // Figure 12: the 95 % interval of cv(VAE) − cv(LIA) above 0 agrees, below 0 contradicts, else inconclusive.
  assert.equal(VERDICTS.figure12({ mean: 0.2, lo: 0.01, hi: 0.39 }), 'agrees');
  assert.equal(VERDICTS.figure12({ mean: 0.2, lo: 0, hi: 0.4 }), 'inconclusive', 'an interval touching 0 does not exclude it');
  assert.equal(VERDICTS.figure12({ mean: 0.2, lo: -0.1, hi: 0.5 }), 'inconclusive');
  assert.equal(VERDICTS.figure12({ mean: -0.2, lo: -0.3, hi: -0.1 }), 'contradicts');
  assert.equal(VERDICTS.figure12({ mean: 0.2, lo: -Infinity, hi: Infinity }), 'inconclusive', 'one seed proves nothing');
  // Cost at equal MSE: strictly less time agrees; never reaching the MSE (infinite time) contradicts.
  assert.equal(VERDICTS.costAtEqualMse({ encoderPlusRefinement: 0.01, optimisation: 0.5 }), 'agrees');
  assert.equal(VERDICTS.costAtEqualMse({ encoderPlusRefinement: 0.5, optimisation: 0.5 }), 'contradicts');
  assert.equal(VERDICTS.costAtEqualMse({ encoderPlusRefinement: Number.POSITIVE_INFINITY, optimisation: 0.5 }), 'contradicts');
  // The interval: d = 1, 2, 3 has mean 2, sample sd 1, t(0.975, 2) = 4.303: 2 ± 4.303/√3.
  const ci = meanWithCi([1, 2, 3]);
  assert.ok(Math.abs(ci.mean - 2) < 1e-12 && Math.abs(ci.hi - (2 + 4.303 / Math.sqrt(3))) < 1e-9 && Math.abs(ci.lo - (2 - 4.303 / Math.sqrt(3))) < 1e-9, JSON.stringify(ci));
  assert.deepEqual(meanWithCi([0.5]), { mean: 0.5, lo: -Infinity, hi: Infinity, n: 1 });
});

test('experiment paper refuses swapped encoders and a perceptual network as the evaluation network', async () => {
  await assert.rejects(runPaperExperiment({ ...options(join(dir, 'x')), liaEncoder: mlp.encoder }, engineInfo()!), /expected a LIA encoder \(predicting y\), found one predicting z/);
  await assert.rejects(runPaperExperiment({ ...options(join(dir, 'y')), evalNet: lia.perceptual }, engineInfo()!), /is a perceptual network/);
  await assert.rejects(runPaperExperiment({ ...options(join(dir, 'z')), liaEncoder: join(dir, 'nope.safetensors') }, engineInfo()!), /LIA encoder .*nope.safetensors not found/);
});
