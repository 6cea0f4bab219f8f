#!/usr/bin/env bash
# The small-data experiment of results/ada/README.md (StyleGAN2-ADA's result in small): the quick
# Fashion-MNIST decoder trained on only the first 2,000 training images, the same kimg, once with
# `--augment off` and once with `--augment ada`; FID10k of every snapshot against the 10,000 test
# images; the runs' small outputs copied here and the curves drawn (report.mjs).
# One process at a time, one thread (a shared machine). The two runs advance in turns, `chunk` kimg
# at a time (each turn resumes the run exactly from its newest snapshot), so that wherever the
# experiment is stopped both runs have seen the same number of images, give or take one chunk.
#   results/ada/run.sh [kimg=120] [chunk=20] [runs-parent=runs/ada-small]
# Rerunning continues from where it stopped; a finished experiment only redraws the curves.
set -euo pipefail
cd "$(dirname "$0")/../.."
kimg=${1:-120}
chunk=${2:-20}
parent=${3:-runs/ada-small}
lia="node dist/cli.js"
common=(--data fashion-mnist --train 2000 --preset quick --snapshot-kimg "$chunk" --seed 0 --backend torch --threads 1 --quiet)
run_of() { ls -d "$parent/$1"/0*-fashion-mnist-32 2>/dev/null | head -1 || true; }
seen() { # kimg seen by a run's newest snapshot (0 without one)
  local snap; snap=$(ls "$1"/snapshot-*.safetensors 2>/dev/null | sort | tail -1 || true)
  [ -n "$snap" ] || { echo 0; return; }
  node --input-type=module -e 'import { readSnapshot } from "./dist/train/snapshot.js"; const s = await readSnapshot(process.argv[1]); console.log(s.state.imagesSeen / 1000);' "$snap"
}
for ((target = chunk; target <= kimg; target += chunk)); do
  for mode in off ada; do
    run=$(run_of "$mode")
    if [ -z "$run" ]; then
      $lia train-decoder "${common[@]}" --kimg "$target" --augment "$mode" --out "$parent/$mode"
      run=$(run_of "$mode")
    elif awk -v s="$(seen "$run")" -v t="$target" 'BEGIN { exit !(s < t) }'; then
      $lia train-decoder --resume "$run" --kimg "$target" --threads 1 --quiet
    fi
    # FID10k of every snapshot not scored yet (the run folder's metrics.jsonl).
    for snap in "$run"/snapshot-*.safetensors; do
      if [ -f "$run/metrics.jsonl" ] && grep "$(basename "$snap")" "$run/metrics.jsonl" | grep -q '"fid10k_'; then continue; fi
      $lia eval --ckpt "$snap" --metrics fid --num-images 10000 --threads 1
    done
    mkdir -p "results/ada/$mode"
    scripts/collect-run.sh "$run" "results/ada/$mode" >/dev/null
  done
  node results/ada/report.mjs > /dev/null
done
node results/ada/report.mjs
