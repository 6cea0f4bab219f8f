#!/usr/bin/env node
// Records in the quick models' manifests what was measured when they were trained but packed without
// (pack-model had no --sample-metrics / --decoder then): the decoders' sample FID/SWD at 60 kimg and
// their wall time, from the committed stage-1 results (results/stage1-quick-*/{metrics,log}.jsonl).
// Those were measured with the fixed noise maps, so they are recorded as *_constnoise; the same
// decoders scored with fresh noise (the default since), when results/models/<model>-fresh-noise.jsonl
// exists (lia eval --ckpt results/decoders/fmnist32-quick-<invertible|mlp>.safetensors --metrics fid,swd
// --json --no-append > that file), are added under the plain names.
//   node scripts/annotate-quick-models.mjs
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const lines = (p) => readFileSync(p, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
for (const [model, run] of [['fmnist32-quick-lia', 'stage1-quick-invertible'], ['fmnist32-quick-baseline', 'stage1-quick-mlp']]) {
  const path = `models/${model}/manifest.json`;
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  const metrics = lines(`results/${run}/metrics.jsonl`).filter((r) => r.kimg === 60 && /^(fid|swd)/.test(r.metric));
  const last = lines(`results/${run}/log.jsonl`).filter((r) => typeof r.elapsed_sec === 'number').at(-1);
  const opts = JSON.parse(readFileSync(`results/${run}/options.json`, 'utf8'));
  manifest.sampleMetrics = Object.fromEntries(metrics.map((r) => [`${r.metric}_constnoise`, r.value]));
  const fresh = `results/models/${model}-fresh-noise.jsonl`;
  if (existsSync(fresh)) for (const r of lines(fresh)) manifest.sampleMetrics[r.metric] = r.value;
  manifest.training.decoder = { ...manifest.training.decoder, imagesSeen: last.kimg * 1000, seconds: last.elapsed_sec };
  manifest.training.trainedOn ??= `${opts.backend ?? 'wasm'} backend, ${opts.threads ?? 1} thread(s), the 2-core development machine`;
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`${path}: ${JSON.stringify(manifest.sampleMetrics)}, decoder ${Math.round(last.elapsed_sec)} s`);
}
