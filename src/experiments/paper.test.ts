// `lia experiment paper --budget smoke` end to end on tiny checkpoints: every section, figure and
// number is written, and inputs of the wrong kind are refused.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, engineInfo } from '../engine/backend.js';
import { makeTinyCheckpoints, TINY_DATA, type TinyCheckpoints } from '../testing/tiny.js';
import { FeatureNet } from '../models/features.js';
import { saveFeatureNet } from '../io/network-files.js';
import { runPaperExperiment, type PaperOptions } from './paper.js';

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
  assert.match(md, /Agrees with the paper|Contradicts the paper/);
  for (const f of ['table3-reconstructions.png', 'fig11-refinement-starts.svg', 'fig10-y-vs-z.svg', 'fig12-gradient-norms.svg', 'report.html']) assert.ok(existsSync(join(out, f)), f);
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  for (const k of ['table2', 'table3', 'figures10_11', 'figure12', 'cost']) assert.ok(json[k], k);
  const t3 = results.table3 as { full: { lia: { mse01: number; fid: number } } };
  assert.ok(t3.full.lia.mse01 > 0 && Number.isFinite(t3.full.lia.fid));
  assert.ok((json.cost.speedup as number) > 1, 'an encoder pass is faster than 10 optimisation steps');
});

test('experiment paper refuses swapped encoders and a perceptual network as the evaluation network', async () => {
  await assert.rejects(runPaperExperiment({ ...options(join(dir, 'x')), liaEncoder: mlp.encoder }, engineInfo()!), /expected a LIA encoder \(predicting y\), found one predicting z/);
  await assert.rejects(runPaperExperiment({ ...options(join(dir, 'y')), evalNet: lia.perceptual }, engineInfo()!), /is a perceptual network/);
  await assert.rejects(runPaperExperiment({ ...options(join(dir, 'z')), liaEncoder: join(dir, 'nope.safetensors') }, engineInfo()!), /LIA encoder .*nope.safetensors not found/);
});
