import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import sharp from 'sharp';
import { imageAt, loadDataset } from './dataset.js';
import { EMOJI_DIR_ENV, EMOJI_INSTALL_COMMAND, findEmojiPackages } from './emoji.js';

// Fake emoji-datasource-google and -twitter packages: the real layout (emoji.json and
// img/<vendor>/64/<image>), a handful of 64×64 RGBA PNGs, no download.
let root: string;
let google: string;
let twitter: string;
const CATEGORIES = ['Smileys & Emotion', 'Animals & Nature', 'Flags'];
const PER_CATEGORY = 10;

/** A 64×64 RGBA emoji: a coloured disc on a transparent ground. */
async function emojiPng(path: string, rgb: [number, number, number]): Promise<void> {
  const data = Buffer.alloc(64 * 64 * 4);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const inside = (x - 31.5) ** 2 + (y - 31.5) ** 2 < 20 ** 2;
      data.set(inside ? [...rgb, 255] : [0, 0, 0, 0], (y * 64 + x) * 4);
    }
  }
  await sharp(data, { raw: { width: 64, height: 64, channels: 4 } }).png().toFile(path);
}

async function fakePackage(vendor: 'google' | 'twitter'): Promise<string> {
  const pkg = join(root, `emoji-datasource-${vendor}`);
  const images = join(pkg, 'img', vendor, '64');
  await mkdir(images, { recursive: true });
  const entries: Record<string, unknown>[] = [];
  for (const [c, category] of CATEGORIES.entries()) {
    for (let i = 0; i < PER_CATEGORY; i++) {
      const image = `1f${c}${String(i).padStart(2, '0')}.png`;
      // Every vendor has every emoji, except that twitter lacks the first flag.
      const has = vendor === 'google' || !(category === 'Flags' && i === 0);
      entries.push({ image, category, has_img_google: true, has_img_twitter: has, skin_variations: { '1F3FB': { image: `x-${image}` } } });
      if (has) await emojiPng(join(images, image), [40 * c, vendor === 'google' ? 200 : 100, 10 * i]);
    }
  }
  // An entry neither vendor draws, and the skin-tone variant files that are left out.
  entries.push({ image: 'ffff.png', category: 'Symbols', has_img_google: false, has_img_twitter: false });
  await emojiPng(join(images, 'x-1f000.png'), [1, 2, 3]);
  await writeFile(join(pkg, 'emoji.json'), JSON.stringify(entries));
  await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: `emoji-datasource-${vendor}`, version: '99.0.0' }));
  return pkg;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lia-emoji-'));
  google = await fakePackage('google');
  twitter = await fakePackage('twitter');
});
after(() => rm(root, { recursive: true, force: true }));

test('emoji from (fake) packages: labels are emoji.json categories, 3 channels, over white, split by category', async () => {
  const ds = await loadDataset('emoji', { resolution: 16, emojiDirs: [google, twitter] });
  assert.deepEqual([ds.name, ds.count, ds.channels, ds.resolution], ['emoji', 59, 3, 16]);
  assert.deepEqual(ds.classNames, ['Animals & Nature', 'Flags', 'Smileys & Emotion']);
  assert.ok(ds.files?.every((f) => /^(google|twitter)\/1f\d{3}\.png$/.test(f)), 'one image per entry, no skin-tone variants');
  assert.equal(ds.files?.filter((f) => f.startsWith('twitter/')).length, 29);
  // Each image's label and pixels are its file's: the disc colour encodes vendor, category and index.
  for (let i = 0; i < ds.count; i++) {
    const file: string = ds.files?.[i] ?? '';
    const c: number = Number(file.slice(-7, -6));
    assert.equal(ds.classNames[ds.labels?.[i] ?? -1], CATEGORIES[c], file);
    const want = [40 * c, file.startsWith('google/') ? 200 : 100, 10 * Number(file.slice(-6, -4))];
    const centre = Array.from(imageAt(ds, i).subarray((8 * 16 + 8) * 3, (8 * 16 + 8) * 3 + 3));
    assert.ok(centre.every((v, k) => Math.abs(v - want[k]) <= 1), `${file}: centre ${centre}, expected ${want}`);
  }
  // Transparent corners over white.
  assert.deepEqual(Array.from(imageAt(ds, 0).subarray(0, 3)), [255, 255, 255]);
  // Stratified by category: 20, 19 and 20 images → 2, 1 and 2 test images.
  const testLabels = Array.from(ds.labels?.subarray(ds.test.start, ds.test.end) ?? []);
  assert.deepEqual([0, 1, 2].map((c) => testLabels.filter((l) => l === c).length), [2, 1, 2]);
  assert.deepEqual([ds.split?.rule, ds.train.end, ds.test.end], ['stratified', 54, 59]);
  assert.match(ds.source, /emoji google \+ twitter, 59 images.*v99\.0\.0.*transparency over white/);

  const black = await loadDataset('emoji:twitter', { resolution: 16, emojiDirs: [twitter], background: [0, 0, 0], split: 'ordered' });
  assert.deepEqual([black.name, black.count, black.split?.rule], ['emoji:twitter', 29, 'ordered']);
  assert.equal(black.files?.[0], 'twitter/1f000.png', 'ordered: emoji.json order');
  assert.deepEqual(Array.from(imageAt(black, 0).subarray(0, 3)), [0, 0, 0]);
});

test('LIA_EMOJI_DIR lists package roots', async (t) => {
  const saved = process.env[EMOJI_DIR_ENV];
  t.after(() => (saved === undefined ? delete process.env[EMOJI_DIR_ENV] : (process.env[EMOJI_DIR_ENV] = saved)));
  process.env[EMOJI_DIR_ENV] = [twitter, google].join(delimiter);
  const ds = await loadDataset('emoji:google', { resolution: 8, limit: 6 });
  assert.equal(ds.count, 6);
  assert.ok(ds.files?.every((f) => f.startsWith('google/')));
  // limit takes the categories interleaved: two of each.
  assert.deepEqual([0, 1, 2].map((c) => Array.from(ds.labels ?? []).filter((l) => l === c).length), [2, 2, 2]);
});

test('missing emoji packages: the error names the npm command that installs them', async (t) => {
  const saved = process.env[EMOJI_DIR_ENV];
  t.after(() => (saved === undefined ? delete process.env[EMOJI_DIR_ENV] : (process.env[EMOJI_DIR_ENV] = saved)));
  delete process.env[EMOJI_DIR_ENV];
  assert.equal(EMOJI_INSTALL_COMMAND, 'npm install --no-save emoji-datasource-google emoji-datasource-twitter');
  const named = (err: Error) => {
    assert.ok(err.message.includes(EMOJI_INSTALL_COMMAND), err.message);
    assert.match(err.message, /downloads nothing at run time/);
    return true;
  };
  // Module resolution from a folder without node_modules.
  await assert.rejects(findEmojiPackages(['google', 'twitter'], { searchFrom: [join(root, 'package.json')] }), (err: Error) => {
    assert.match(err.message, /emoji-datasource-google and emoji-datasource-twitter: not installed/);
    return named(err);
  });
  // Roots that lack a vendor.
  await assert.rejects(loadDataset('emoji', { resolution: 8, emojiDirs: [google] }), (err: Error) => {
    assert.match(err.message, /emoji-datasource-twitter: none of the folders in emojiDirs \(.*emoji-datasource-google\)/);
    return named(err);
  });
  await assert.rejects(loadDataset('emoji:apple', { resolution: 8, emojiDirs: [google] }), /emoji:VENDOR takes google or twitter, got 'apple'/);
});
