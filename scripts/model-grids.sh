#!/usr/bin/env bash
# The sample and reconstruction grids of every shipped model, into results/models/:
#   <model>-samples.png          64 samples of its decoder (results/decoders/<prefix>-<invertible|mlp>.safetensors, seed 0)
#   <model>-reconstructions.png  the first 32 test images (rows 1, 3) above their one-pass reconstructions (rows 2, 4)
# Needs the models' datasets (Fashion-MNIST; emoji: LIA_EMOJI_DIR or the npm packages).
#   scripts/model-grids.sh [model…]      (after npm run build; default: every folder in models/)
set -euo pipefail
cd "$(dirname "$0")/.."
lia() { node dist/cli.js "$@"; }
models=("$@")
[ ${#models[@]} -gt 0 ] || models=($(ls models))
for id in "${models[@]}"; do
  [ -f "models/$id/manifest.json" ] || continue
  decoder=results/decoders/$(echo "$id" | sed -e 's/-lia$/-invertible/' -e 's/-baseline$/-mlp/').safetensors
  if [ -f "$decoder" ]; then
    lia generate --ckpt "$decoder" --n 64 --seed 0 --threads 1 --out "results/models/$id-samples.png"
  else
    echo "$id: no decoder file $decoder; samples skipped" >&2
  fi
  lia reconstruct --ckpt "models/$id/model.safetensors" --images test --n 32 --threads 1 --out "results/models/$id-reconstructions.png"
done
