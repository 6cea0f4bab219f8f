// `lia data info` in process: the split rule and per-class counts of both parts in the text and
// JSON reports, --split and --background passed through, a mixed folder's notice printed once.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { registerData } from './data.js';

let root: string;

async function png(path: string, rgb: [number, number, number], alpha?: number): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const channels = alpha === undefined ? 3 : 4;
  const background = { r: rgb[0], g: rgb[1], b: rgb[2], ...(alpha === undefined ? {} : { alpha: alpha / 255 }) };
  await sharp({ create: { width: 8, height: 8, channels, background } }).png().toFile(path);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lia-data-cli-'));
  for (const cls of ['a', 'b']) for (let i = 0; i < 20; i++) await png(join(root, 'classes', cls, `${i}.png`), [i, i, i]);
  await png(join(root, 'mixed', 'grey.png'), [9, 9, 9]);
  await png(join(root, 'mixed', 'red.png'), [200, 0, 0]);
  await png(join(root, 'clear', 'clear.png'), [0, 0, 0], 0);
});
after(() => rm(root, { recursive: true, force: true }));

/** Runs `lia data info ARGS`, returning what it printed to stdout and stderr. */
async function info(t: TestContext, ...args: string[]): Promise<{ out: string; err: string[] }> {
  const log = t.mock.method(console, 'log', () => undefined);
  const warn = t.mock.method(console, 'warn', () => undefined);
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerData(program);
  await program.parseAsync(['data', 'info', '--resolution', '8', ...args], { from: 'user' });
  const result = { out: log.mock.calls.map((c) => String(c.arguments[0])).join('\n'), err: warn.mock.calls.map((c) => String(c.arguments[0])) };
  log.mock.restore();
  warn.mock.restore();
  return result;
}

test('lia data info: a class-sorted grey folder reports the stratified rule, 1 channel and per-class counts of both parts', async (t) => {
  const text = await info(t, '--data', join(root, 'classes'));
  assert.match(text.out, /^split {7}stratified by class \(stable hash of the relative path\), 10 % of each class to test/m);
  assert.match(text.out, /1 channel \(grey\)/);
  assert.match(text.out, /^ +0 +a +18 +2\n +1 +b +18 +2$/m);

  const json = JSON.parse((await info(t, '--data', join(root, 'classes'), '--json')).out);
  assert.equal(json.split.rule, 'stratified');
  assert.deepEqual(json.classes.map((c: { name: string; train: number; test: number }) => [c.name, c.train, c.test]), [['a', 18, 2], ['b', 18, 2]]);
  assert.equal(json.channels, 1);

  const ordered = JSON.parse((await info(t, '--data', join(root, 'classes'), '--json', '--split', 'ordered')).out);
  assert.deepEqual([ordered.split.rule, ordered.classes[1].test], ['ordered', 4]);
});

test('lia data info: a mixed folder prints its notice once; --background reaches the loader', async (t) => {
  const mixed = await info(t, '--data', join(root, 'mixed'), '--json');
  assert.equal(mixed.err.length, 1);
  assert.match(mixed.err[0], /^lia: note: .*1 of 2 images are in colour \(red\.png\)/);
  assert.equal(JSON.parse(mixed.out).notices.length, 1);

  const clear = JSON.parse((await info(t, '--data', join(root, 'clear'), '--json', '--background', '#102030')).out);
  assert.match(clear.source, /transparency over #102030: 1 image\(s\) with alpha/);
  assert.deepEqual(clear.pixels.perChannel.map((p: { mean: number }) => Math.round((p.mean + 1) * 127.5)), [16, 32, 48]);
  await assert.rejects(info(t, '--data', join(root, 'clear'), '--background', 'red'), /background must be white, black or #rrggbb, got 'red'/);
});
