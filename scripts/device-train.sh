#!/usr/bin/env bash
# GPU check of stage 1 (run on the device machine after the kit prefix): training throughput on
# webgpu against PyTorch CUDA with the same architecture, batch and steps.
set -u
out=${OUT:-/tmp/lia-device}
mkdir -p "$out"
timeout 240 node dist/cli.js bench train --backend webgpu --preset quick --batch 32 --steps 32 --warmup 4 --vs-torch >"$out/bench-train-webgpu.txt" 2>"$out/bench-train-webgpu.err"
timeout 150 node dist/cli.js bench train --backend webgpu --preset small --batch 64 --steps 32 --warmup 4 --vs-torch --json >"$out/bench-train-webgpu-small.json" 2>>"$out/bench-train-webgpu.err"
echo done >>"$out/bench-train-webgpu.err"
