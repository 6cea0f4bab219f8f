// Commands that write a folder (pack-model, invert) never lose what a user owns (cpu backend, tiny
// checkpoints): an --out that is not their kind of folder is refused and survives byte for byte, and
// with --overwrite it is moved aside, not deleted; their own earlier output is replaced whole; a
// rerun killed while writing leaves the old folder or the new one, never a mix; staging debris of
// dead processes is cleaned, and nothing of a live process or of another name is touched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initEngine } from '../../engine/backend.js';
import { makeTinyCheckpoints, type TinyCheckpoints } from '../../testing/tiny.js';
import { readCodes } from '../../node.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-outfolders-'));
let ck: TinyCheckpoints;
const cli = fileURLToPath(new URL('../../cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--backend', 'cpu'], { encoding: 'utf8', timeout: 180_000 });
const pack = (out: string, ...more: string[]) => run('pack-model', '--ckpt', ck.encoder, '--out', out, '--samples', '4', '--fit-images', '32', '--unsupervised', '1', ...more);
const invert = (out: string, steps: number, ...more: string[]) => run('invert', '--ckpt', ck.encoder, '--limit', '3', '--steps', String(steps), '--beta', '0', '--out', out, '--quiet', ...more);

/** A pid no process has: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

before(async () => {
  await initEngine({ backend: 'cpu' });
  ck = await makeTinyCheckpoints(dir);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('pack-model: a folder that is not a model folder is refused and survives; --overwrite moves it aside', () => {
  const out = join(dir, 'mine');
  mkdirSync(join(out, 'sub'), { recursive: true });
  writeFileSync(join(out, 'canary.txt'), 'keep me\n');
  writeFileSync(join(out, 'sub', 'notes.md'), 'mine too\n');
  const r = pack(out);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--out .*mine: exists and is not a model folder.*--overwrite/);
  assert.equal(readFileSync(join(out, 'canary.txt'), 'utf8'), 'keep me\n');
  assert.equal(readFileSync(join(out, 'sub', 'notes.md'), 'utf8'), 'mine too\n');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('mine')), ['mine'], 'no staging folder left behind');

  const o = pack(out, '--overwrite');
  assert.equal(o.status, 0, o.stderr);
  assert.equal(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).format, 'lia-model');
  const aside = readdirSync(dir).filter((f) => f.startsWith('mine.replaced-'));
  assert.equal(aside.length, 1, `moved aside: ${readdirSync(dir)}`);
  assert.equal(readFileSync(join(dir, aside[0], 'canary.txt'), 'utf8'), 'keep me\n');
  assert.equal(readFileSync(join(dir, aside[0], 'sub', 'notes.md'), 'utf8'), 'mine too\n');
  assert.match(o.stderr, /aside to .*mine\.replaced-/);
});

test('pack-model: its own model folder is replaced whole; an invalid --ckpt leaves no staging folder; --out . is refused', () => {
  const out = join(dir, 'model');
  assert.equal(pack(out, '--title', 'first').status, 0);
  const second = pack(out, '--title', 'second');
  assert.equal(second.status, 0, second.stderr);
  assert.equal(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).title, 'second');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('model')), ['model'], 'no old or staging folder left');

  const bad = join(dir, 'not-a-checkpoint.safetensors');
  writeFileSync(bad, 'garbage');
  const r = run('pack-model', '--ckpt', bad, '--out', join(dir, 'broken'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not-a-checkpoint\.safetensors/);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('broken')), [], 'nothing left of the failed run');

  const cwd = mkdtempSync(join(dir, 'cwd-'));
  writeFileSync(join(cwd, 'canary.txt'), 'x');
  const dot = spawnSync(process.execPath, [cli, 'pack-model', '--ckpt', ck.encoder, '--out', '.', '--overwrite', '--backend', 'cpu'], { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(dot.status, 1);
  assert.match(dot.stderr, /working folder/);
  assert.equal(readFileSync(join(cwd, 'canary.txt'), 'utf8'), 'x');
});

test('pack-model cleans its own staging debris of dead processes, and only that', () => {
  const out = join(dir, 'deb');
  const dead = deadPid();
  mkdirSync(`${out}.tmp-${dead}`);
  writeFileSync(join(`${out}.tmp-${dead}`, 'model.safetensors'), 'half');
  mkdirSync(`${out}.tmp-${process.pid}`); // a live process's (this test's): kept
  mkdirSync(join(dir, `other.tmp-${dead}`)); // another folder's: kept
  const r = pack(out);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync(`${out}.tmp-${dead}`), 'dead staging folder removed');
  assert.ok(existsSync(`${out}.tmp-${process.pid}`), 'a live process’s staging folder kept');
  assert.ok(existsSync(join(dir, `other.tmp-${dead}`)), 'another name kept');
  assert.match(r.stderr, new RegExp(`removed .*deb\\.tmp-${dead}`));
});

/** Steps recorded by each of an invert folder's files: they must agree (one run's output). */
async function invertSteps(out: string): Promise<{ losses: number; summary: number; codes: number }> {
  const losses = readFileSync(join(out, 'losses.jsonl'), 'utf8').trim().split('\n').length;
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).steps as number;
  const codes = (await readCodes(join(out, 'codes.safetensors'))).about.steps as number;
  return { losses, summary, codes };
}

test('invert: a rerun killed while writing leaves the old folder or the new one, never a mix; the next run cleans up', async () => {
  const out = join(dir, 'inv');
  assert.equal(invert(out, 3).status, 0);
  assert.deepEqual(await invertSteps(out), { losses: 3, summary: 3, codes: 3 });
  const before = new Set(readdirSync(dir));
  // Rerun with 60 steps and kill it as soon as it has written any file (into --out, or a new entry beside it).
  const child = spawn(process.execPath, [cli, 'invert', '--ckpt', ck.encoder, '--limit', '3', '--steps', '60', '--beta', '0', '--out', out, '--quiet', '--backend', 'cpu'], { stdio: 'ignore' });
  const sizeOf = (f: string) => {
    try {
      return readFileSync(join(out, f)).length;
    } catch {
      return -1; // renamed away while listing
    }
  };
  const mtimes = () => readdirSync(out).map((f) => `${f}:${sizeOf(f)}`).join();
  const original = mtimes();
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const fresh = readdirSync(dir).filter((f) => !before.has(f));
      const wrote = fresh.some((f) => {
        try {
          return readdirSync(join(dir, f)).length > 0;
        } catch {
          return false;
        }
      });
      if (wrote || mtimes() !== original) {
        child.kill('SIGKILL');
        clearInterval(timer);
      }
    }, 2);
    child.on('exit', () => {
      clearInterval(timer);
      done();
    });
  });
  const steps = await invertSteps(out);
  assert.ok(
    (steps.losses === 3 && steps.summary === 3 && steps.codes === 3) || (steps.losses === 60 && steps.summary === 60 && steps.codes === 60),
    `a mix of two runs in ${out}: ${JSON.stringify(steps)}`,
  );
  // The next run replaces the folder whole and removes the killed run's staging folder.
  const again = invert(out, 4);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(await invertSteps(out), { losses: 4, summary: 4, codes: 4 });
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('inv')), ['inv'], `left beside it: ${readdirSync(dir)}`);
});

test('invert: refuses an --out holding other files; --overwrite keeps them aside', async () => {
  const out = join(dir, 'results');
  mkdirSync(out);
  writeFileSync(join(out, 'report.md'), 'my report\n');
  const r = invert(out, 2);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /exists and is not an invert folder.*--overwrite/);
  assert.equal(readFileSync(join(out, 'report.md'), 'utf8'), 'my report\n');
  const o = invert(out, 2, '--overwrite');
  assert.equal(o.status, 0, o.stderr);
  assert.deepEqual(await invertSteps(out), { losses: 2, summary: 2, codes: 2 });
  const aside = readdirSync(dir).filter((f) => f.startsWith('results.replaced-'));
  assert.equal(readFileSync(join(dir, aside[0], 'report.md'), 'utf8'), 'my report\n');
});
