#!/usr/bin/env node
// Writes Fashion-MNIST images as grey PNG files in one sub-folder per class, files ordered class by
// class — the commonest layout of a user's image folder — to check `lia data info` and `lia demo
// --train --data <folder>` on it (the class-sorted folder acceptance of the models issue).
//   node scripts/make-class-folder.mjs <out-dir> [images per class, default 300]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDataset } from '../dist/data/index.js';

const [out, perClassArg] = process.argv.slice(2);
if (!out) {
  console.error('usage: make-class-folder.mjs <out-dir> [images per class]');
  process.exit(2);
}
const perClass = Number(perClassArg ?? 300);
const ds = await loadDataset('fashion-mnist', { resolution: 32, channels: 1 });
const counts = new Map();
let written = 0;
for (let i = 0; i < ds.labels.length && written < perClass * ds.classNames.length; i++) {
  const l = ds.labels[i];
  const k = counts.get(l) ?? 0;
  if (k >= perClass) continue;
  counts.set(l, k + 1);
  const dir = join(out, ds.classNames[l].replace(/[^A-Za-z0-9_-]+/g, '_'));
  mkdirSync(dir, { recursive: true });
  await sharp(Buffer.from(ds.pixels.subarray(i * 1024, (i + 1) * 1024)), { raw: { width: 32, height: 32, channels: 1 } }).png().toFile(join(dir, `${String(k).padStart(5, '0')}.png`));
  written++;
}
console.log(`wrote ${written} grey PNGs into ${ds.classNames.length} class folders under ${out}`);
