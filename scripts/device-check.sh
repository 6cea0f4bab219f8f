#!/usr/bin/env bash
# The GPU check (run on the device machine after the kit prefix; see ../shared/device/README.md):
# engine tests on webgpu against the cpu backend, doctor, and the kernel benchmark vs PyTorch CUDA.
set -u
out=${OUT:-/tmp/lia-device}
mkdir -p "$out"
nvidia-smi -L >"$out/gpu.txt" 2>&1 || true
node --version >>"$out/gpu.txt"
node dist/cli.js doctor --backend webgpu --no-bench >"$out/doctor.txt" 2>&1
LIA_TEST_BACKEND=webgpu timeout 240 node --test dist/engine/conv-grads.test.js dist/engine/gradients.test.js >"$out/tests-webgpu.tap" 2>&1
echo "tests rc=$?" >>"$out/tests-webgpu.tap"
timeout 200 node dist/cli.js bench kernels --backend webgpu --vs-torch --repeats 9 >"$out/bench-webgpu.txt" 2>"$out/bench-webgpu.err"
timeout 120 node dist/cli.js bench kernels --backend webgpu --no-fast-kernels --repeats 9 --json >"$out/bench-webgpu-builtin.jsonl" 2>>"$out/bench-webgpu.err"
echo done >>"$out/gpu.txt"
