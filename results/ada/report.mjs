#!/usr/bin/env node
// The curves of the small-data experiment (results/ada/run.sh): FID10k of the off and ada runs by
// kimg side by side (fid.svg), ADA's p and r_t = E[sign(D(real))] by kimg (p.svg), and the table
// (curves.md), from results/ada/{off,ada}/metrics.jsonl and log.jsonl.
//   node results/ada/report.mjs            (after npm run build)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lineChartSvg } from '../../dist/io/chart.js';

const here = dirname(fileURLToPath(import.meta.url));
const lines = (p) => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)) : []);
const fmt = (v, digits = 4) => (typeof v === 'number' && Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : '');

const modes = ['off', 'ada'].filter((m) => existsSync(join(here, m, 'log.jsonl')));
const fid = {};
const logs = {};
for (const m of modes) {
  // The last FID10k record of each snapshot (a rerun of the same evaluation replaces it).
  const byKimg = new Map();
  for (const r of lines(join(here, m, 'metrics.jsonl'))) if (r.metric?.startsWith('fid10k_')) byKimg.set(r.kimg, r);
  fid[m] = [...byKimg.values()].sort((a, b) => a.kimg - b.kimg);
  logs[m] = lines(join(here, m, 'log.jsonl')).filter((l) => typeof l.kimg === 'number');
}
// The chart: the snapshots both runs have, from the first after initialisation (the off run has two
// extra snapshots, written when its first, longer attempt was stopped; they are in the table).
const common = (k) => k > 0 && modes.every((m) => fid[m].some((r) => r.kimg === k));
const series = modes.map((m) => ({ name: `--augment ${m}`, points: fid[m].filter((r) => common(r.kimg)).map((r) => [r.kimg, r.value]) })).filter((s) => s.points.length);
if (series.length) {
  writeFileSync(join(here, 'fid.svg'), lineChartSvg(series, { title: 'Fashion-MNIST, 2,000 training images, quick preset: sample FID10k vs the test split', xLabel: 'kimg', yLabel: 'FID (fmnistnet-wide)', logY: true }));
}
const ada = logs.ada ?? [];
if (ada.length) {
  // r_t per log line is one step's mean sign; smooth over 10 lines for the chart.
  const smooth = ada.map((l, i) => {
    const win = ada.slice(Math.max(0, i - 9), i + 1).map((x) => x.d_real_sign).filter((v) => typeof v === 'number');
    return [l.kimg, win.reduce((a, b) => a + b, 0) / Math.max(1, win.length)];
  });
  writeFileSync(join(here, 'p.svg'), lineChartSvg([
    { name: 'p', points: ada.filter((l) => typeof l.augment_p === 'number').map((l) => [l.kimg, l.augment_p]) },
    { name: 'r_t (10-line mean)', points: smooth },
    { name: 'target', points: [[0, 0.6], [ada[ada.length - 1].kimg, 0.6]] },
  ], { title: 'ADA run: p and the overfitting heuristic r_t by kimg', xLabel: 'kimg', yLabel: 'p, r_t' }));
}
// Also for the off run: sign(D(real)) is not logged there, so d_real (the mean real logit) for both.
const rows = [];
const kimgs = [...new Set(modes.flatMap((m) => fid[m].map((r) => r.kimg)))].sort((a, b) => a - b);
for (const k of kimgs) {
  const cell = (m) => fmt(fid[m]?.find((r) => r.kimg === k)?.value);
  // Log lines within 2 kimg before the snapshot: the mean real logit (both runs) and r_t (ada).
  const win = (m, key) => {
    const v = (logs[m] ?? []).filter((l) => l.kimg <= k && l.kimg > k - 2 && typeof l[key] === 'number').map((l) => l[key]);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
  };
  const near = logs.ada?.reduce((best, l) => (Math.abs(l.kimg - k) < Math.abs((best?.kimg ?? Infinity) - k) ? l : best), null);
  rows.push(`| ${fmt(k, 5)} | ${cell('off')} | ${cell('ada')} | ${fmt(win('off', 'd_real'), 3)} | ${fmt(win('ada', 'd_real'), 3)} | ${fmt(win('ada', 'd_real_sign'), 3)} | ${near && typeof near.augment_p === 'number' ? fmt(near.augment_p, 3) : ''} |`);
}
const wall = (m) => { const l = logs[m]?.[logs[m].length - 1]; return l ? `${fmt(l.kimg, 5)} kimg in ${Math.round(l.elapsed_sec / 60)} min` : 'not run'; };
const md = [
  '| kimg | FID10k off | FID10k ada | D(real) logit, off | D(real) logit, ada | r_t = sign(D(real)), ada | p (ada) |',
  '|---|---|---|---|---|---|---|',
  ...rows,
  '',
  `Training: off ${wall('off')}, ada ${wall('ada')} (torch backend, 1 thread).`,
  '',
].join('\n');
writeFileSync(join(here, 'curves.md'), md);
console.log(md);
