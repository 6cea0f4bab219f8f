#!/usr/bin/env bash
# Scores the four Fashion-MNIST models in models/ with the wide evaluation network
# (results/features/fmnist-eval-wide.safetensors, `fmnistnet-wide`), which differs from the
# perceptual network in architecture (widths 16/48/96, fc 192 vs 8/32/64, fc 128) and recipe
# (mirroring, seed 3), so FID of reconstructions is no longer scored by a twin of the encoders' loss.
# Adds fid10k_fmnistnet-wide of samples (fresh noise) and of test reconstructions to each manifest;
# the older fid10k_fmnistnet figures stay beside them (comparable only with each other).
#   scripts/rescore-fmnist.sh            # THREADS (default 2), OUT (default results/models)
set -euo pipefail
cd "$(dirname "$0")/.."
NET=results/features/fmnist-eval-wide.safetensors
THREADS=${THREADS:-2}
OUT=${OUT:-results/models}
lia() { node dist/cli.js "$@"; }
for pair in fmnist32-lia:fmnist32-invertible fmnist32-baseline:fmnist32-mlp \
            fmnist32-quick-lia:fmnist32-quick-invertible fmnist32-quick-baseline:fmnist32-quick-mlp; do
  model=${pair%%:*} decoder=results/decoders/${pair##*:}.safetensors
  samples=$OUT/$model-wide-samples.jsonl recon=$OUT/$model-wide-reconstruction.json
  [ -s "$samples" ] || { lia eval --ckpt "$decoder" --feature-net "$NET" --metrics fid --num-images 10000 --threads "$THREADS" --json --no-append > "$samples.tmp" && mv "$samples.tmp" "$samples"; }
  [ -s "$recon" ] || lia eval-reconstruction --ckpt "models/$model/model.safetensors" --feature-net "$NET" --metrics fid --split test --limit 10000 --threads "$THREADS" --no-append --out "$recon"
  node -e '
    const fs = require("node:fs");
    const [manifestPath, samplesPath, reconPath] = process.argv.slice(1);
    const m = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
    for (const line of fs.readFileSync(samplesPath, "utf8").split("\n").filter((l) => l.trim())) {
      const r = JSON.parse(line);
      m.sampleMetrics = { ...m.sampleMetrics, [r.metric]: r.value };
    }
    const rec = JSON.parse(fs.readFileSync(reconPath, "utf8"));
    for (const [k, v] of Object.entries(rec)) if (k.startsWith("fid")) m.metrics[k] = v;
    fs.writeFileSync(manifestPath + ".tmp", JSON.stringify(m, null, 2) + "\n");
    fs.renameSync(manifestPath + ".tmp", manifestPath);
    console.log(manifestPath, JSON.stringify({ samples: m.sampleMetrics, recon: Object.fromEntries(Object.entries(m.metrics).filter(([k]) => k.startsWith("fid"))) }));
  ' "models/$model/manifest.json" "$samples" "$recon"
done
