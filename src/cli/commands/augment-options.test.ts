// Discriminator augmentation on the command line: every augmentation flag of `lia train-decoder`
// reaches options.json; without --augment a small training set gets ADA with every default written
// out; `lia data info` says which default a dataset gets (30,000 training images is the boundary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defaultAugmentMode } from '../../augment/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-augment-cli-'));
const cli = fileURLToPath(new URL('../../cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
const TINY = ['--data', 'shapes:96', '--resolution', '8', '--batch', '4', '--kimg', '0.004', '--latent', '16', '--width-base', '64', '--width-max', '16', '--phi-blocks', '2', '--backend', 'cpu', '--quiet'];

function trainOptions(parent: string): Record<string, unknown> {
  const [runDir] = readdirSync(parent);
  return JSON.parse(readFileSync(join(parent, runDir, 'options.json'), 'utf8')).train;
}

test('train-decoder: the augmentation flags reach options.json; the default for a small training set is ada, written out in full', () => {
  const out = join(dir, 'flags');
  const r = run('train-decoder', ...TINY, '--augment', 'fixed', '--augment-p', '0.25', '--ada-target', '0.7', '--augment-pipe', 'bg', '--ada-interval', '2', '--ada-kimg', '100', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const got = trainOptions(out);
  assert.deepEqual([got.augment, got.augmentP, got.adaTarget, got.augmentPipe, got.adaInterval, got.adaKimg], ['fixed', 0.25, 0.7, 'bg', 2, 100]);

  const def = join(dir, 'default');
  const d = run('train-decoder', ...TINY, '--out', def);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stderr, /augment ada \(bgc, p 0, target 0\.6\)/);
  const dg = trainOptions(def);
  assert.deepEqual([dg.augment, dg.augmentP, dg.adaTarget, dg.augmentPipe, dg.adaInterval, dg.adaKimg], ['ada', 0, 0.6, 'bgc', 4, 500]);

  const bad = run('train-decoder', ...TINY, '--augment', 'ada', '--augment-p', '1.5', '--out', join(dir, 'bad'));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid augmentP: 1\.5 \(expected a number in \[0, 1\]\)/);
});

test('lia data info states the augmentation default; the boundary is 30,000 training images', () => {
  const r = run('data', 'info', '--data', 'shapes:96', '--resolution', '8', '--json');
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.augment.default, 'ada');
  assert.match(json.augment.why, /87 training images < 30000/);
  const text = run('data', 'info', '--data', 'shapes:96', '--resolution', '8');
  assert.match(text.stdout, /^train-decoder --augment default: ada \(adaptive discriminator augmentation/m);
  assert.equal(defaultAugmentMode(29_999), 'ada');
  assert.equal(defaultAugmentMode(30_000), 'off');
});
