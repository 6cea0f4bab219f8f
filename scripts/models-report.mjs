#!/usr/bin/env node
// The table of every shipped model (models/*/manifest.json: training length, wall time, machine,
// sample FID/SWD, reconstruction metrics) and the metric curves of the decoders trained by
// scripts/train-models.sh (<runs>/<prefix>-<model>-curve.jsonl, copied next to the report), written
// to results/models/README.md and results/models/curve-{fid,swd}.svg (the final decoders' metrics,
// <prefix>-<model>-decoder-metrics.jsonl, end the curves).
//   node scripts/models-report.mjs [runs/models]        (after npm run build)
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg } from '../dist/io/chart.js';
import { sampleMetricName } from '../dist/io/model-folders.js';

const runs = process.argv[2] ?? 'runs/models';
const out = 'results/models';
mkdirSync(out, { recursive: true });
const lines = (p) => readFileSync(p, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const fmt = (v, digits = 4) => (typeof v === 'number' && Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : '');
const time = (s) => (typeof s === 'number' ? (s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : `${Math.round(s / 60)} min`) : '');

const models = readdirSync('models')
  .filter((d) => existsSync(join('models', d, 'manifest.json')))
  .map((d) => ({ id: d, m: JSON.parse(readFileSync(join('models', d, 'manifest.json'), 'utf8')) }));
const rows = models.map(({ id, m }) => {
  const s = m.sampleMetrics ?? {};
  const fid = sampleMetricName(s, 'fid');
  const swd = sampleMetricName(s, 'swd');
  const t = m.training ?? {};
  const rfid = sampleMetricName(m.metrics ?? {}, 'fid');
  const older = Object.keys(s).filter((k) => k.startsWith('fid') && k !== fid && !k.endsWith('_constnoise'));
  return `| ${id} | ${m.mapping === 'invertible' ? 'LIA (Φ)' : 'StyleGAN (MLP)'} | ${t.decoder?.kimg ?? ''} | ${t.encoder?.kimg ?? ''} | ${time(t.decoder?.seconds)} + ${time(t.encoder?.seconds)} | ${t.trainedOn ?? ''} | ${fid ? `${fmt(s[fid])} (${fid})` : ''}${older.map((k) => `; ${fmt(s[k])} (${k})`).join('')} | ${swd ? `${fmt(s[swd])} (${swd})` : ''} | ${fmt(m.metrics?.mse)} | ${fmt(m.metrics?.psnr)} | ${fmt(m.metrics?.ssim)} | ${rfid ? `${fmt(m.metrics[rfid])} (${rfid})` : ''} |`;
});

// Metric curves: one series per decoder run; the curves of runs/ are copied next to the report first,
// so curves of earlier sessions (whose runs/ is gone) stay in it.
if (existsSync(runs)) {
  for (const f of readdirSync(runs).filter((f) => f.endsWith('-curve.jsonl') || f.endsWith('-decoder-metrics.jsonl'))) copyFileSync(join(runs, f), join(out, f));
}
const curves = readdirSync(out).filter((f) => f.endsWith('-curve.jsonl') && !f.endsWith('-encoder-curve.jsonl')).sort();
const series = { fid: [], swd: [] };
const curveRows = [];
for (const f of curves) {
  // The final decoder's metrics (the same evaluation) end the curve.
  const last = f.replace(/-curve\.jsonl$/, '-decoder-metrics.jsonl');
  // (skipped where the curve already scored the final snapshot: the same metric at the same kimg).
  const curveRecs = lines(join(out, f));
  const finalRecs = existsSync(join(out, last)) ? lines(join(out, last)) : [];
  const recs = [...curveRecs, ...finalRecs.filter((r) => !curveRecs.some((c) => c.metric === r.metric && c.kimg === r.kimg))];
  const name = f.replace(/-curve\.jsonl$/, '');
  for (const key of ['fid', 'swd']) {
    // One network per curve: the FID points through the network of the run's first FID record.
    const metric = recs.find((r) => r.metric.startsWith(key))?.metric;
    const pts = recs.filter((r) => r.metric === metric && typeof r.kimg === 'number').map((r) => [r.kimg, r.value]).sort((a, b) => a[0] - b[0]);
    if (pts.length) series[key].push({ name, points: pts });
  }
  for (const r of recs) curveRows.push(`| ${name} | ${fmt(r.kimg, 5)} | ${r.metric} | ${fmt(r.value)} |`);
}
for (const key of ['fid', 'swd']) {
  if (series[key].length) writeFileSync(join(out, `curve-${key}.svg`), lineChartSvg(series[key], { title: `sample ${key.toUpperCase()} against the test split by decoder kimg`, xLabel: 'kimg', yLabel: key.toUpperCase(), logY: true }));
}

// Grids by scripts/model-grids.sh, and real-data floors by scripts/real-floor.mjs, when present.
const grids = models.filter(({ id }) => existsSync(join(out, `${id}-samples.png`)) || existsSync(join(out, `${id}-reconstructions.png`)))
  .map(({ id }) => [`### ${id}`, '', ...[['samples', '64 samples (seed 0)'], ['reconstructions', 'the first 32 test images (rows 1, 3) above their one-pass reconstructions (rows 2, 4)']]
    .filter(([k]) => existsSync(join(out, `${id}-${k}.png`))).map(([k, what]) => `${what}:\n\n![${id} ${k}](${id}-${k}.png)\n`)].join('\n'));
const floors = readdirSync(out).filter((f) => f.endsWith('-real-floor.jsonl')).flatMap((f) => lines(join(out, f)))
  .map((r) => `| ${r.data} ${r.resolution}×${r.resolution} | ${r.reference} | ${r.metric} | ${fmt(r.value)} |`);

// Encoder curves: test-split reconstruction MSE of an encoder run's snapshots (what more encoder kimg buys).
const encCurves = readdirSync(out).filter((f) => f.endsWith('-encoder-curve.jsonl')).sort();
// Each record names its recipe in "run" (scripts/encoder-curve.sh LABEL=…); "of" is the run length
// planned when the snapshot was written (its learning-rate schedule).
const encRows = encCurves.flatMap((f) => lines(join(out, f)).map((r) => `| ${f.replace(/-encoder-curve\.jsonl$/, '')} | ${r.run ?? ''} | ${r.kimg} of ${r.of} | ${fmt(r.mse)} | ${fmt(r.psnr)} | ${fmt(r.ssim)} | ${r.images} |`));

const md = `# The shipped models

Every folder in [\`models/\`](../../models) (made by \`lia pack-model\`; the longer ones trained by
\`scripts/train-models.sh\`, the quick ones by the stage-1/stage-2 commands in results/stage*/). Sample
FID/SWD: 10,000 samples against the test split with the evaluation network; names say how they were
measured (\`_constnoise\`: the fixed noise maps; without it fresh noise per image, as StyleGAN2-ADA).
Reconstruction: the encoder's one-pass reconstructions of the test split (MSE and PSNR on [0, 1] images).
FIDs through different evaluation networks are not comparable: the Fashion-MNIST models were first
scored through \`fmnistnet\` (the perceptual network's architecture, another seed) and rescored through
\`fmnistnet-wide\` (another architecture and recipe; \`scripts/rescore-fmnist.sh\`), the default since;
the curves keep the network they were measured with.
Regenerate with \`node scripts/models-report.mjs\`.

| model | mapping | decoder kimg | encoder kimg | wall time (decoder + encoder) | trained on | sample FID | sample SWD | recon. MSE | PSNR | SSIM | recon. FID |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${floors.length ? `Floors — what real images score against the test split (\`node scripts/real-floor.mjs <data> <res> <net>\`):

| data | reference | metric | value |
|---|---|---|---|
${floors.join('\n')}
` : ''}
## Metric curves of the decoders

${series.fid.length ? '![FID by kimg](curve-fid.svg)\n\n![SWD by kimg](curve-swd.svg)\n' : 'No curve files found.'}

| run | kimg | metric | value |
|---|---|---|---|
${curveRows.join('\n')}
${encRows.length ? `\n## Encoder curves\n\nTest-split reconstruction of the snapshots of longer encoder runs on the shipped decoder (\`lia train-encoder --snapshot-kimg 20\` with the recipe named, then \`scripts/encoder-curve.sh <run> <file>\`: \`lia eval-reconstruction --metrics ''\` on each snapshot). \"k of n\": a snapshot at k kimg of a run planned for n, whose learning-rate schedule (×decay every quarter of n) it followed, so a point is not the end of a shorter run.\n\n| model | encoder run | kimg | MSE | PSNR | SSIM | images |\n|---|---|---|---|---|---|---|\n${encRows.join('\n')}\n` : ''}
${grids.length ? `\n## Sample and reconstruction grids\n\nMade by \`scripts/model-grids.sh\`.\n\n${grids.join('\n')}` : ''}`;
writeFileSync(join(out, 'README.md'), md);
console.log(`wrote ${out}/README.md (${models.length} models, ${curves.length} curves)`);
