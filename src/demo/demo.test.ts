// The demo end to end on a small slice of the shapes dataset within a half-minute budget: both
// stages train, every application runs, and the report refers only to files that exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../engine/backend.js';
import { runDemo } from './demo.js';
import { reportFigures } from './report.js';

test('lia demo trains both stages and writes a complete report (shapes, 0.4 min)', async () => {
  const engine = await initEngine({ backend: 'wasm', threads: 1 });
  const out = mkdtempSync(join(tmpdir(), 'lia-demo-'));
  const { dir, report, summary } = await runDemo({ train: true, data: 'shapes:300', minutes: 0.4, outDir: out, quiet: true }, engine);
  for (const f of reportFigures(report)) assert.ok(existsSync(join(dir, f)), `figure ${f} missing`);
  for (const f of ['report.md', 'report.html', 'summary.json', 'perceptual.safetensors']) assert.ok(existsSync(join(dir, f)), f);
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  for (const h of ['Setup', 'Stage 1', 'Stage 2', 'Refinement', 'Interpolation']) assert.match(md, new RegExp(`## ${h}`));
  assert.match(md, /No evaluation network for this dataset/);
  const rec = summary.reconstruction as { mse01: number; images: number };
  assert.ok(rec.mse01 > 0 && rec.mse01 < 1 && rec.images > 0);
  const dec = summary.decoder as { kimg: number };
  assert.ok(dec.kimg > 0);
});
