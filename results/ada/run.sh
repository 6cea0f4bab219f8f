#!/usr/bin/env bash
# The small-data experiment of results/ada/README.md (StyleGAN2-ADA's result in small): the quick
# Fashion-MNIST decoder trained on only the first 2,000 training images, the same kimg, once with
# `--augment off` and once with `--augment ada`; FID10k of every snapshot against the 10,000 test
# images; the runs' small outputs copied here. One process at a time, one thread (a shared machine).
#   results/ada/run.sh [kimg=120] [snapshot-kimg=20] [runs-parent=runs/ada-small]
# A run folder that already exists in runs-parent is resumed (its newest snapshot), not restarted.
set -euo pipefail
cd "$(dirname "$0")/../.."
kimg=${1:-120}
every=${2:-20}
parent=${3:-runs/ada-small}
lia="node dist/cli.js"
common=(--data fashion-mnist --train 2000 --preset quick --kimg "$kimg" --snapshot-kimg "$every" --seed 0 --backend torch --threads 1 --quiet)
for mode in off ada; do
  out="$parent/$mode"
  run=$(ls -d "$out"/0*-fashion-mnist-32 2>/dev/null | head -1 || true)
  if [ -n "$run" ]; then
    $lia train-decoder --resume "$run" --kimg "$kimg" --threads 1 --quiet
  else
    $lia train-decoder "${common[@]}" --augment "$mode" --out "$out"
    run=$(ls -d "$out"/0*-fashion-mnist-32 | head -1)
  fi
  # FID10k of every snapshot not scored yet (metrics.jsonl of the run folder).
  for snap in "$run"/snapshot-*.safetensors; do
    if [ -f "$run/metrics.jsonl" ] && grep "$(basename "$snap")" "$run/metrics.jsonl" | grep -q '"fid10k_'; then continue; fi
    $lia eval --ckpt "$snap" --metrics fid --num-images 10000 --threads 1
  done
  mkdir -p "results/ada/$mode"
  scripts/collect-run.sh "$run" "results/ada/$mode" >/dev/null
done
node results/ada/report.mjs
