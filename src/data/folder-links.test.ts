// Unreadable inputs are named and loops are skipped: a symbolic-link loop in an image folder (a link
// back to an ancestor, a link onto itself) is skipped with a warning naming it while every real image
// is read once; a file that is not an image gives an error naming that file, through the library's
// readImage and the commands' single-image loader (mix --coarse/--fine, edit --image, …).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readImageFolder } from './folder.js';
import { loadOneImage } from '../cli/images.js';
import * as lia from '../node.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-links-'));

before(async () => {
  await lia.startEngine({ backend: 'cpu' });
  const png = (v: number) => sharp({ create: { width: 8, height: 8, channels: 3, background: { r: v, g: v, b: v } } }).png().toBuffer();
  mkdirSync(join(dir, 'data', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'data', 'a.png'), await png(10));
  writeFileSync(join(dir, 'data', 'sub', 'b.png'), await png(200));
  symlinkSync(join(dir, 'data'), join(dir, 'data', 'sub', 'up')); // back to an ancestor
  symlinkSync('self.png', join(dir, 'data', 'self.png')); // onto itself: ELOOP
  writeFileSync(join(dir, 'not-an-image.png'), 'plain text, not a PNG');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('a symbolic-link loop in an image folder is skipped with a warning; every real image is read once', async () => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
  try {
    const f = await readImageFolder(join(dir, 'data'), { resolution: 8, channels: 1 });
    assert.deepEqual(f.files, ['a.png', 'sub/b.png']);
  } finally {
    console.warn = warn;
  }
  assert.ok(warnings.some((w) => w.includes(join('sub', 'up')) && /loop/.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('self.png') && /symbolic link/.test(w)), warnings.join('\n'));
});

test('an unreadable image is named in the error', async () => {
  const bad = join(dir, 'not-an-image.png');
  await assert.rejects(lia.readImage(bad, { resolution: 16, channels: 1 }), (e: Error) => e.message.startsWith(`${bad}: cannot read the image`));
  await assert.rejects(loadOneImage(bad, { resolution: 16, channels: 1, data: 'shapes:16' }), (e: Error) => e.message.startsWith(`${bad}: cannot read the image`));
});
