#!/usr/bin/env node
// The GPU benchmark table of scripts/device-cuda.sh: reads the JSON lines of `lia bench train
// --json` runs and the samples of `nvidia-smi dmon -s u -o DT` taken meanwhile, and prints a
// markdown table with each side's img/s, the ratio, kernel calls per step and the mean GPU (SM)
// utilisation during each side's own run (the windows the bench JSON records).
// Usage: node scripts/device-gpu-table.mjs bench-train.jsonl [dmon.txt]
import { readFileSync, existsSync } from 'node:fs';

const [benchFile, dmonFile] = process.argv.slice(2);
if (!benchFile) {
  console.error('usage: device-gpu-table.mjs <bench-train.jsonl> [<dmon.txt>]');
  process.exit(2);
}
const rows = readFileSync(benchFile, 'utf8')
  .split('\n')
  .filter((l) => l.trim().startsWith('{'))
  .map((l) => JSON.parse(l));

/** [{ t: Unix seconds, sm: percent }] from dmon's "#Date Time gpu sm …" layout. */
function readDmon(file) {
  if (!file || !existsSync(file)) return [];
  let cols = null;
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (line.startsWith('#')) {
      if (!cols && f.includes('sm')) cols = f.map((c) => c.replace(/^#/, ''));
      continue;
    }
    if (!cols || f.length < cols.length) continue;
    const at = (name) => f[cols.indexOf(name)];
    const d = at('Date');
    const t = at('Time');
    const sm = Number(at('sm'));
    if (!d || !t || !Number.isFinite(sm)) continue;
    const ms = new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${t}`).getTime();
    if (Number.isFinite(ms)) out.push({ t: ms / 1000, sm });
  }
  return out;
}

const samples = readDmon(dmonFile);
/** Mean SM % over the samples inside the windows of one side (null without samples). */
function busy(r, who) {
  const ws = (r.windows ?? []).filter((w) => w.who === who);
  const inside = samples.filter((s) => ws.some((w) => s.t >= w.from && s.t <= w.to));
  return inside.length ? `${Math.round(inside.reduce((a, s) => a + s.sm, 0) / inside.length)} % (${inside.length})` : '—';
}
const fmt = (x, d = 0) => (x === null || x === undefined ? '—' : Number(x).toFixed(d));

console.log('| model | batch | phases timed | lia img/s | PyTorch img/s | lia / PyTorch | kernel calls / step (native) | GPU busy lia | GPU busy PyTorch |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const model = `${r.preset} ${r.resolution}×${r.resolution}×${r.channels}`;
  const ratio = r.vs_torch === null || r.vs_torch === undefined ? '—' : `${r.vs_torch.toFixed(2)}×`;
  const calls = r.kernel_calls_per_step === undefined ? '—' : `${fmt(r.kernel_calls_per_step)} (${fmt(r.native_calls_per_step)})`;
  console.log(`| ${model} | ${r.batch} | ${r.phases === false ? 'no' : 'yes'} | ${fmt(r.img_per_sec, 1)} | ${fmt(r.torch?.img_per_sec, 1)} | ${ratio} | ${calls} | ${busy(r, 'lia')} | ${busy(r, 'torch')} |`);
}
const dev = rows.find((r) => r.device)?.device;
const tdev = rows.find((r) => r.torch?.device)?.torch;
if (dev) console.log(`\nlia: ${dev}; PyTorch ${tdev?.torch_version ?? '?'} on ${tdev?.device ?? '?'}. GPU busy: mean SM % of \`nvidia-smi dmon\` (samples) during that side's runs.`);
