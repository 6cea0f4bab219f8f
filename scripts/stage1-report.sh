#!/usr/bin/env bash
# Scores a finished stage-1 run (initial and final snapshot), draws samples and interpolations from the
# final one, and copies the small outputs to results/<name>/.
#   scripts/stage1-report.sh runs/00000-fashion-mnist-32 results/stage1-quick-invertible [threads]
set -euo pipefail
run=${1:?run folder}
dest=${2:?destination under results/}
threads=${3:-2}
lia="node dist/cli.js"
first=$(ls "$run"/snapshot-*.safetensors | head -1)
last=$(ls "$run"/snapshot-*.safetensors | tail -1)
mkdir -p "$dest"
$lia eval --ckpt "$first" --metrics fid,swd --threads "$threads"
$lia eval --ckpt "$last" --metrics fid,swd,ppl_z,ppl_y --threads "$threads"
$lia generate --ckpt "$last" --n 64 --out "$dest/samples.png" --threads "$threads"
$lia generate --ckpt "$last" --n 64 --truncation 0.7 --out "$dest/samples-psi0.7.png" --threads "$threads"
$lia interpolate --ckpt "$last" --space y --out "$dest/interpolate-y.png" --threads "$threads"
$lia interpolate --ckpt "$last" --space z --out "$dest/interpolate-z.png" --threads "$threads"
scripts/collect-run.sh "$run" "$dest"
