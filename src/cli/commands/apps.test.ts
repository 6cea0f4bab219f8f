// The real-image commands end to end on tiny checkpoints (cpu backend): invert writes every file it
// promises and lowers the loss, interpolate/mix/edit write strips of the right size, the mix strip's
// pixels are the inputs and the library's lia.mix images, directions fit writes a readable file, and
// wrong inputs fail with clear messages.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { initEngine } from '../../engine/backend.js';
import { makeTinyCheckpoints, type TinyCheckpoints } from '../../testing/tiny.js';
import { readSafetensorsFile } from '../../io/safetensors-file.js';
import * as tf from '@tensorflow/tfjs';
import { readDirections, loadModel, mix, disposeModel } from '../../node.js';
import { toUnitRange } from '../../data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-apps-'));
let ck: TinyCheckpoints;
const cli = fileURLToPath(new URL('../../cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--backend', 'cpu'], { encoding: 'utf8', timeout: 120_000 });

before(async () => {
  await initEngine({ backend: 'cpu' });
  ck = await makeTinyCheckpoints(dir);
});

test('lia invert writes codes, images, per-step losses, a chart and a summary, and lowers the loss', async () => {
  const out = join(dir, 'inv');
  const r = run('invert', '--ckpt', ck.encoder, '--limit', '5', '--steps', '15', '--lr', '0.05', '--out', out, '--quiet');
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(join(out, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 15);
  assert.ok(lines[14].loss < lines[0].loss, `loss ${lines[0].loss} → ${lines[14].loss}`);
  const codes = await readSafetensorsFile(join(out, 'codes.safetensors'));
  assert.deepEqual(codes.tensors.y.shape, [5, 16]);
  assert.equal(JSON.parse(codes.metadata.names).length, 5);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.ok(summary.final.mse01 < summary.start.mse01);
  assert.match(readFileSync(join(out, 'loss-curve.svg'), 'utf8'), /<svg[\s\S]*<path[\s\S]*<\/svg>/);
  const meta = await sharp(join(out, 'images.png')).metadata();
  assert.ok(meta.width! > 5 * 16 && meta.height! > 3 * 16);
  // A decoder has no encoder to start from.
  const bad = run('invert', '--ckpt', ck.decoder, '--init', 'encoder', '--limit', '2', '--steps', '1', '--out', join(dir, 'x'));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--init encoder needs an encoder checkpoint/);
  const z = run('invert', '--ckpt', ck.decoder, '--init', 'mean', '--space', 'z', '--limit', '2', '--steps', '3', '--beta', '0', '--out', join(dir, 'inv-z'), '--quiet');
  assert.equal(z.status, 0, z.stderr);
  assert.deepEqual((await readSafetensorsFile(join(dir, 'inv-z', 'codes.safetensors'))).tensors.z.shape, [2, 16]);
});

/**
 * The mix strip holds, left to right, test:2, test:3, g(f(test:2)), g(f(test:3)) and the mix at the
 * default crossover (half the style inputs): cells of 16×16 images drawn at scale 2 with 2-pixel
 * padding. Every cell must equal those images computed here through the library (lia.mix, same
 * backend), quantised as the grid writer does.
 */
async function checkMixStrip(path: string): Promise<void> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  const r = 16;
  const scale = 2;
  const pad = 2;
  assert.equal(info.width, 5 * (r * scale + pad) + pad, 'five cells');
  const cell = (i: number, y: number, x: number) => data[((pad + y * scale) * info.width + pad + i * (r * scale + pad) + x * scale) * info.channels];
  const m = await loadModel(ck.encoder);
  const size = r * r;
  const image = (n: number) => tf.tensor4d(toUnitRange(ck.ds.pixels.subarray((ck.ds.test.start + n) * size, (ck.ds.test.start + n + 1) * size)), [1, r, r, 1]);
  const coarse = image(2);
  const fine = image(3);
  const mixed = mix(m, coarse, fine, Math.floor(m.G.numWs / 2));
  const parts = tf.split(mixed, 3);
  const want = [coarse, fine, ...parts].map((t) => Array.from(t.dataSync(), (v) => Math.min(255, Math.max(0, Math.round(((v + 1) / 2) * 255)))));
  const names = ['test:2', 'test:3', 'g(f(test:2))', 'g(f(test:3))', 'the mix'];
  for (let i = 0; i < 5; i++) {
    let worst = 0;
    for (let y = 0; y < r; y++) for (let x = 0; x < r; x++) worst = Math.max(worst, Math.abs(cell(i, y, x) - want[i][y * r + x]));
    assert.ok(worst <= 1, `cell ${i} (${names[i]}) differs from the library's image by ${worst} grey levels`);
  }
  const differ = (a: number[], b: number[]) => Math.max(...a.map((v, j) => Math.abs(v - b[j])));
  assert.ok(differ(want[4], want[2]) > 2 && differ(want[4], want[3]) > 2, 'the mix differs from both reconstructions, so the cells are told apart');
  tf.dispose([coarse, fine, mixed, ...parts]);
  disposeModel(m);
}

test('interpolate, mix and edit write strips; directions fit writes directions per class', async () => {
  let r = run('interpolate', '--ckpt', ck.encoder, '--a', 'test:0', '--b', 'test:1', '--steps', '5', '--space', 'z', '--out', join(dir, 'interp.png'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await sharp(join(dir, 'interp.png')).metadata()).width! > 7 * 32, true);
  r = run('mix', '--ckpt', ck.encoder, '--coarse', 'test:2', '--fine', 'test:3', '--out', join(dir, 'mix.png'));
  assert.equal(r.status, 0, r.stderr);
  await checkMixStrip(join(dir, 'mix.png'));
  r = run('mix', '--ckpt', ck.encoder, '--coarse', 'test:2', '--fine', 'test:3', '--crossover', '99', '--out', join(dir, 'mix2.png'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--crossover must be an integer in 1…5/);
  r = run('directions', 'fit', '--ckpt', ck.encoder, '--limit', '80', '--out', join(dir, 'dirs.safetensors'));
  assert.equal(r.status, 0, r.stderr);
  const dirs = await readDirections(join(dir, 'dirs.safetensors'));
  assert.equal(dirs.length, ck.ds.classNames.length);
  for (const d of dirs) assert.ok(Math.abs(Math.hypot(...d.n) - 1) < 1e-5 && d.scale > 0);
  r = run('edit', '--ckpt', ck.encoder, '--image', 'test:4', '--directions', join(dir, 'dirs.safetensors'), '--direction', dirs[0].name, '--strength', '-2,0,2', '--out', join(dir, 'edit.png'));
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'edit.png')));
  r = run('edit', '--ckpt', ck.encoder, '--image', 'test:4', '--directions', join(dir, 'dirs.safetensors'), '--direction', 'nope', '--out', join(dir, 'e2.png'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /has no direction 'nope' \(it has: /);
  r = run('edit', '--ckpt', ck.encoder, '--image', join(dir, 'missing.png'), '--directions', join(dir, 'dirs.safetensors'), '--direction', dirs[0].name, '--out', join(dir, 'e3.png'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /missing.png' not found/);
});
