#!/usr/bin/env bash
# Scores an encoder checkpoint on the whole test split and copies the run's small outputs.
#   scripts/stage2-report.sh runs/00002-…-encoder/snapshot-….safetensors results/<name> [threads]
set -euo pipefail
ckpt=${1:?encoder checkpoint}
dest=${2:?destination under results/}
threads=${3:-2}
mkdir -p "$dest"
node dist/cli.js eval-reconstruction --ckpt "$ckpt" --split test --threads "$threads" --out "$dest/eval-reconstruction.json"
node dist/cli.js reconstruct --ckpt "$ckpt" --images test --n 32 --out "$dest/reconstructions.png" --threads "$threads"
scripts/collect-run.sh "$(dirname "$ckpt")" "$dest"
