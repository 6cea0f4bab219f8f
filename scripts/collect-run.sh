#!/usr/bin/env bash
# Copies a run's small outputs (options, logs, metrics, grids; never the weights) into results/<name>/.
#   scripts/collect-run.sh runs/00000-fashion-mnist-32 results/stage1-quick-invertible
set -euo pipefail
run=${1:?run folder}
dest=${2:?destination under results/}
mkdir -p "$dest"
for f in options.json log.jsonl metrics.jsonl FAILED.txt; do [ -f "$run/$f" ] && cp "$run/$f" "$dest/"; done
cp "$run"/grid-*.png "$dest/" 2>/dev/null || true
ls -la "$dest"
