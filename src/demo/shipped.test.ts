// The shipped-models demo (npm start) on a copy of a shipped model folder: every part runs, the
// report refers only to files that exist, the measured reconstruction error is the library's own on
// the same images; and a broken directions file fails only the parts that need it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import * as lia from '../node.js';
import { loadDataset, toUnitRange } from '../data/index.js';
import { mse01 } from '../metrics/image-quality.js';
import { PACKAGE_ROOT } from '../io/model-folders.js';
import { runShippedDemo, chooseModels } from './shipped.js';
import { listModelFolders } from '../io/model-folders.js';
import { reportFigures } from './report.js';

const QUICK = join(PACKAGE_ROOT, 'models', 'fmnist32-quick-lia');

test('chooseModels picks the longest-trained LIA model of each dataset, never a baseline', () => {
  const all = listModelFolders(join(PACKAGE_ROOT, 'models'));
  const chosen = chooseModels(all);
  assert.ok(chosen.length >= 1);
  for (const f of chosen) {
    assert.equal(f.manifest.mapping, 'invertible');
    const rivals = all.filter((g) => g.manifest.mapping === 'invertible' && g.manifest.data === f.manifest.data && g.manifest.resolution === f.manifest.resolution);
    for (const g of rivals) assert.ok((g.manifest.training?.decoder?.kimg ?? 0) + (g.manifest.training?.encoder?.kimg ?? 0) <= (f.manifest.training?.decoder?.kimg ?? 0) + (f.manifest.training?.encoder?.kimg ?? 0));
  }
});

test('npm start (the shipped-models demo) runs every part on held-out images and writes the report', async () => {
  const engine = await initEngine({ backend: 'wasm', threads: 1 });
  const models = mkdtempSync(join(tmpdir(), 'lia-models-'));
  cpSync(QUICK, join(models, 'm'), { recursive: true });
  const out = mkdtempSync(join(tmpdir(), 'lia-demo-'));
  const { dir, report, summary } = await runShippedDemo({ modelsDir: models, outDir: out, quiet: true, images: 100, refineSteps: 4 }, engine);
  assert.deepEqual(summary.failures, []);
  const figures = reportFigures(report);
  for (const f of ['m-samples.png', 'm-reconstructions.png', 'm-refinement.png', 'm-interpolation.png', 'm-mixing.png', 'm-edits-class.png', 'm-edits-sefa.png', 'm-edits-pca.png']) assert.ok(figures.includes(f), `${f} in the report`);
  for (const f of figures) assert.ok(existsSync(join(dir, f)), `figure ${f} missing`);
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(md, /Fashion-MNIST 32×32, LIA/);
  assert.match(md, /nothing is trained here/);

  // The reported MSE is the library's reconstruction error on the first 100 test images (recomputed here).
  const rec = (summary.models as Record<string, { reconstruction: { mse01: number; images: number } }>).m.reconstruction;
  assert.equal(rec.images, 100);
  const ds = await loadDataset('fashion-mnist', { resolution: 32, channels: 1 });
  const m = await lia.loadModel(join(QUICK, 'model.safetensors'));
  const x = tf.tensor4d(toUnitRange(ds.pixels.subarray(ds.test.start * 1024, (ds.test.start + 100) * 1024)), [100, 32, 32, 1]);
  const xr = lia.reconstruct(m, x);
  const expected = tf.mean(mse01(x, xr)).dataSync()[0];
  tf.dispose([x, xr]);
  lia.disposeModel(m);
  assert.ok(Math.abs(rec.mse01 - expected) < 1e-5, `reported ${rec.mse01}, recomputed ${expected}`);
});

test('a broken directions file fails only the edits; the report is still written and says why', async () => {
  const engine = await initEngine({ backend: 'wasm', threads: 1 });
  const models = mkdtempSync(join(tmpdir(), 'lia-models-'));
  cpSync(QUICK, join(models, 'm'), { recursive: true });
  writeFileSync(join(models, 'm', 'directions.safetensors'), 'not a safetensors file');
  const out = mkdtempSync(join(tmpdir(), 'lia-demo-'));
  const { dir, summary } = await runShippedDemo({ modelsDir: models, outDir: out, quiet: true, images: 40, refineSteps: 2 }, engine);
  const failures = summary.failures as Array<{ part: string; error: string }>;
  assert.ok(failures.some((f) => f.part === 'm-directions' && /directions\.safetensors/.test(f.error)), JSON.stringify(failures));
  assert.ok(!failures.some((f) => /reconstruction|refinement|interpolation|mixing/.test(f.part)), JSON.stringify(failures));
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(md, /\*\*directions failed\*\*/);
  assert.ok(existsSync(join(dir, 'm-reconstructions.png')) && existsSync(join(dir, 'summary.json')));
});
