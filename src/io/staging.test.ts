// The staging primitives on their own: atomic file writers remove the temporary files that dead
// writers left beside the same path (and nothing else); a folder swap interrupted between its two
// renames is restored by the next run, even one that then fails; a foreign folder found beside a
// dead run's swap is kept aside, not deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeSafetensorsFile } from './safetensors-file.js';
import { writeImageGrid } from './images.js';
import { writeFolder, pidAlive, type FolderKind } from './staging.js';

const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

test('pidAlive: this process and a live child are alive, an exited one is not', () => {
  assert.equal(pidAlive(process.pid), true);
  assert.equal(pidAlive(deadPid()), false);
  assert.equal(pidAlive(0), false);
});

test('atomic writers remove dead writers’ temporary files of the same path, and only those', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-staging-'));
  try {
    const dead = deadPid();
    const names = [`a.safetensors.tmp-${dead}-0123456789ab`, `a.safetensors.tmp-${process.pid}-0123456789ab`, `b.safetensors.tmp-${dead}-0123456789ab`, `g.png.tmp-${dead}`, `a.safetensors.tmp-${dead}-notes`];
    for (const n of names) writeFileSync(join(dir, n), 'x');
    await writeSafetensorsFile(join(dir, 'a.safetensors'), { w: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
    await writeImageGrid(join(dir, 'g.png'), { data: new Uint8Array(4), n: 1, h: 2, w: 2, c: 1 });
    const left = new Set(readdirSync(dir));
    assert.ok(!left.has(names[0]) && !left.has(names[3]), [...left].join());
    for (const n of [names[1], names[2], names[4]]) assert.ok(left.has(n), `${n} kept`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const KIND: FolderKind = {
  what: 'a test folder',
  isOwn: (d) => existsSync(join(d, 'out.txt')),
  ownEntry: (rel) => rel === 'out.txt',
};

test('a swap interrupted between its renames is restored by the next run, even one that fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-staging-'));
  try {
    const out = join(dir, 'res');
    const dead = deadPid();
    // The dead run had moved its previous output aside and not yet renamed its staging folder in.
    mkdirSync(`${out}.old-${dead}`);
    writeFileSync(join(`${out}.old-${dead}`, 'out.txt'), 'previous');
    mkdirSync(`${out}.tmp-${dead}`);
    const lines: string[] = [];
    await assert.rejects(
      writeFolder(out, KIND, { log: (l) => lines.push(l) }, async () => {
        throw new Error('build failed');
      }),
      /build failed/,
    );
    assert.equal(readFileSync(join(out, 'out.txt'), 'utf8'), 'previous');
    assert.deepEqual(readdirSync(dir), ['res']);
    assert.ok(lines.some((l) => /restored/.test(l)), lines.join('\n'));
    // The next good run replaces it whole.
    await writeFolder(out, KIND, { log: () => undefined }, async (s) => writeFileSync(join(s, 'out.txt'), 'new'));
    assert.equal(readFileSync(join(out, 'out.txt'), 'utf8'), 'new');
    assert.deepEqual(readdirSync(dir), ['res']);
    // A dead run's moved-aside folder holding someone else's file, with the output in place: kept aside.
    mkdirSync(`${out}.old-${dead}`);
    writeFileSync(join(`${out}.old-${dead}`, 'mine.txt'), 'user data');
    await writeFolder(out, KIND, { log: () => undefined }, async (s) => writeFileSync(join(s, 'out.txt'), 'newer'));
    const aside = readdirSync(dir).filter((f) => f.startsWith('res.replaced-'));
    assert.equal(aside.length, 1);
    assert.equal(readFileSync(join(dir, aside[0], 'mine.txt'), 'utf8'), 'user data');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
