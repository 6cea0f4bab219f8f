#!/usr/bin/env bash
# The torch backend on a CUDA GPU: the one script to run on a GPU machine (issue 23; no Node.js
# or npm there: a kit brings node, the production node_modules and dist/, see
# ../shared/device/README.md). Start it in the project root with `node` on PATH:
#   OUT=/some/folder scripts/device-cuda.sh
# Stages, each under `timeout` and within one overall budget (DEVICE_BUDGET_S, default 420 s), so
# that one failure does not eat the rest and other work can follow:
#   1. build the addon against the machine's PyTorch with one g++ line (about 30 s) into
#      $BUILD_DIR (default /tmp/lia-torch) and point LIA_TORCH_ADDON at it;
#   2. CUDA parity: 20 stage-1 steps from one snapshot on torch/CUDA vs the cpu backend, TF32 off
#      (then with PyTorch's TF32 defaults if time allows); the step-1 drift goes to summary.txt;
#   3. end to end: `lia train-decoder --device cuda` (shapes, quick, 2 kimg) and `lia generate`;
#   4. the benchmark table: `lia bench train --backend torch --device cuda --vs-torch --json` for
#      the models and batches of $BENCH_CONFIGS (in priority order, until the budget is spent),
#      with `nvidia-smi dmon` sampling the GPU's utilisation in the background;
#   5. `lia bench kernels --device cuda --vs-torch` with TF32 off, if time is left.
# Everything is written under $OUT (default /tmp/lia-device-cuda): summary.txt first.
# Environment:
#   DEVICE=cpu        a dry run of every stage on the CPU with tiny settings (no GPU needed)
#   DEVICE_BUDGET_S   seconds for the whole script (default 420)
#   NAPI_HEADERS      folder with node_api.h, node_api_types.h, js_native_api.h, js_native_api_types.h
#                     (default native/torch/napi-headers, else /usr/include/node)
#   PYTHON            a python3 with torch (default python3; its torch/include and torch/lib are used,
#                     else Debian's libtorch-dev in /usr)
#   BUILD=0           skip the build and use LIA_TORCH_ADDON (or npm's build) as it is
#   BENCH_CONFIGS     "preset:res:channels:batch[:nophases]" words, in priority order
#   ALONGSIDE         a command run in the background on the same GPU after the build, while parity
#                     and the end-to-end run go on (e.g. scripts/device-train.sh), waited for before
#                     the benchmark so the timings are its own; output in $OUT/alongside.txt
#   BENCH_LIMIT       seconds for one benchmark configuration (default 90; 600 in the dry run)
set -u
cd "$(dirname "$0")/.."
export OUT=${OUT:-/tmp/lia-device-cuda}
mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}
BUDGET=${DEVICE_BUDGET_S:-420}
PYTHON=${PYTHON:-python3}
BUILD_DIR=${BUILD_DIR:-/tmp/lia-torch}
start=$SECONDS
summary="$OUT/summary.txt"
: >"$summary"

left() { echo $((BUDGET - (SECONDS - start))); }
note() { echo "[$(date -u +%H:%M:%S) +$((SECONDS - start)) s] $*" | tee -a "$summary" >&2; }
# stage NAME LIMIT COMMAND...: runs COMMAND under timeout min(LIMIT, budget left − 5 s); skipped
# when less than 15 s are left. Returns the command's status (124: timed out; 99: skipped).
stage() {
  local name=$1 limit=$2
  shift 2
  local l
  l=$(left)
  if ((l < 15)); then
    note "$name: skipped (budget spent)"
    return 99
  fi
  ((limit > l - 5)) && limit=$((l - 5))
  local t0=$SECONDS
  timeout --kill-after=5 "$limit" "$@"
  local rc=$?
  note "$name: exit $rc after $((SECONDS - t0)) s (limit $limit s)"
  return $rc
}

if [ "$DEVICE" = cpu ]; then
  # Dry run: the same commands on tiny settings.
  PARITY_STEPS=3
  E2E="--data shapes:64 --resolution 8 --batch 4 --kimg 0.02 --snapshot-kimg 0.01 --latent 16 --width-base 64 --width-max 16 --phi-blocks 2"
  BENCH_CONFIGS=${BENCH_CONFIGS:-"quick:8:1:4 quick:8:1:8:nophases"}
  BENCH_STEPS="--steps 2 --warmup 1 --count-steps 2"
  KERNELS="--res 32 --batch 2 --repeats 2 --warmup 1"
  THREADS=2
  BENCH_LIMIT=${BENCH_LIMIT:-600}
else
  PARITY_STEPS=20
  E2E="--data shapes --preset quick --batch 64 --kimg 2 --snapshot-kimg 1"
  BENCH_CONFIGS=${BENCH_CONFIGS:-"quick:32:1:32 quick:32:1:256 quick:32:1:32:nophases quick:32:1:256:nophases small:64:3:128 small:64:3:128:nophases quick:64:3:32 small:32:1:64 quick:32:1:128 small:32:1:256 quick:64:3:256 small:64:3:32 small:32:1:128:nophases quick:64:3:128:nophases"}
  BENCH_STEPS="--steps 32 --warmup 4 --count-steps 16"
  KERNELS="--repeats 9"
  THREADS=${THREADS:-4}
  BENCH_LIMIT=${BENCH_LIMIT:-90}
fi
lia() { node dist/cli.js "$@"; }
export -f lia

# --- 0. the machine ------------------------------------------------------------------------------
{
  date -u
  echo "DEVICE=$DEVICE budget ${BUDGET}s git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  nvidia-smi -L 2>&1 || echo 'no nvidia-smi'
  node --version
  "$PYTHON" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1
  nproc
} >"$OUT/machine.txt" 2>&1
note "machine: $(tr '\n' ' ' <"$OUT/machine.txt" | cut -c1-300)"

# --- 1. build ------------------------------------------------------------------------------------
build() {
  set -e
  local torch abi inc lib cuda_libs headers
  torch=$("$PYTHON" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
  abi=$("$PYTHON" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  if [ -d "$torch/include/torch" ]; then
    inc="-I$torch/include -I$torch/include/torch/csrc/api/include"
    lib="-L$torch/lib -Wl,-rpath,$torch/lib"
  else # Debian: python3-torch without headers, libtorch-dev in /usr
    inc="-I/usr/include -I/usr/include/torch/csrc/api/include"
    lib=""
  fi
  cuda_libs=""
  if [ -e "$torch/lib/libtorch_cuda.so" ]; then cuda_libs="-ltorch_cuda -lc10_cuda"; fi
  headers=${NAPI_HEADERS:-}
  if [ -z "$headers" ]; then
    if [ -f native/torch/napi-headers/node_api.h ]; then headers=native/torch/napi-headers; else headers=/usr/include/node; fi
  fi
  mkdir -p "$BUILD_DIR"
  echo "torch $torch, ABI $abi, N-API headers $headers, CUDA libraries: ${cuda_libs:-none}"
  # shellcheck disable=SC2086
  g++ -shared -fPIC -O2 -std=c++17 -fexceptions -frtti -Wno-deprecated-declarations -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -D_GLIBCXX_USE_CXX11_ABI="$abi" \
    -I"$headers" -Inode_modules/node-addon-api $inc native/torch/lia_torch.cc -o "$BUILD_DIR/lia_torch.node.tmp" \
    $lib -Wl,--no-as-needed $cuda_libs -ltorch_cpu -lc10 -Wl,--as-needed
  mv "$BUILD_DIR/lia_torch.node.tmp" "$BUILD_DIR/lia_torch.node"
}
export -f build
export PYTHON BUILD_DIR
if [ "${BUILD:-1}" != 0 ]; then
  rm -f "$BUILD_DIR/lia_torch.node" # never fall back on an earlier build
  stage build 240 bash -c build >"$OUT/build.txt" 2>&1
  if [ ! -f "$BUILD_DIR/lia_torch.node" ]; then
    note "build failed: see build.txt"
    tail -20 "$OUT/build.txt" >&2
    exit 1
  fi
  export LIA_TORCH_ADDON="$BUILD_DIR/lia_torch.node"
fi
node -e 'const a = require(process.env.LIA_TORCH_ADDON || "./native/torch/build/Release/lia_torch.node"); console.log(`addon: libtorch ${a.torchVersion}, CUDA ${a.cuda}, TF32 ${JSON.stringify(a.getTF32())}`)' >>"$OUT/build.txt" 2>&1
note "$(tail -1 "$OUT/build.txt")"

# --- 1b. other work on the GPU while parity and the end-to-end run go on ----------------------------
alongside_pid=""
if [ -n "${ALONGSIDE:-}" ]; then
  bash -c "$ALONGSIDE" >"$OUT/alongside.txt" 2>&1 &
  alongside_pid=$!
  note "alongside: started ($ALONGSIDE)"
fi

# --- 2. CUDA parity ------------------------------------------------------------------------------
parity() { # $1: tf32 on|off|default
  local tf=()
  [ "$1" != default ] && tf=(--tf32 "$1")
  stage "parity tf32 $1" "$2" node dist/cli.js bench drift --backends torch --device "$DEVICE" "${tf[@]}" --threads "$THREADS" --steps "$PARITY_STEPS" \
    --out "$OUT/parity-tf32-$1.json" >"$OUT/parity-tf32-$1.txt" 2>&1
  [ -f "$OUT/parity-tf32-$1.json" ] && note "parity tf32 $1: $(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const row of r.rows) console.log(`${row.backend}: step-1 loss drift ${row.lossDrift[0].toExponential(2)}, max over ${r.steps} steps ${Math.max(...row.lossDrift).toExponential(2)}, G weights ${row.paramDrift.toExponential(2)}, ${row.msPerStep.toFixed(1)} ms/step (cpu ${r.cpuMsPerStep.toFixed(0)})`);' "$OUT/parity-tf32-$1.json")"
}
parity off 200

# --- 3. end to end -------------------------------------------------------------------------------
e2e() {
  set -e
  # shellcheck disable=SC2086
  lia train-decoder --backend torch --device "$DEVICE" $E2E --out "$OUT/e2e" --quiet
  local run snap
  run=$(ls -1dt "$OUT"/e2e/*/ | head -1) # train-decoder made a new numbered run folder
  snap=$(ls -1 "$run"snapshot-*.safetensors | sort | tail -1)
  lia generate --backend torch --device "$DEVICE" --ckpt "$snap" --n 16 --out "$OUT/e2e/generate.png"
  tail -2 "${run}log.jsonl"
}
export -f e2e
export E2E DEVICE
stage "train-decoder end to end" 90 bash -c e2e >"$OUT/e2e.txt" 2>&1
note "end to end: $(grep -o '"img_per_sec":[0-9.]*' "$OUT/e2e.txt" | tail -1)"

if [ -n "$alongside_pid" ]; then
  wait "$alongside_pid"
  note "alongside: exit $? ($(tail -1 "$OUT/alongside.txt"))"
fi

# --- 4. benchmark table with GPU utilisation -----------------------------------------------------
dmon_pid=""
if [ "$DEVICE" = cuda ] && command -v nvidia-smi >/dev/null; then
  nvidia-smi dmon -s u -o DT -d 1 >"$OUT/dmon.txt" 2>&1 &
  dmon_pid=$!
fi
: >"$OUT/bench-train.jsonl"
reserve=$([ "$DEVICE" = cpu ] && echo 0 || echo 45) # seconds kept for the kernel table
for c in $BENCH_CONFIGS; do
  IFS=: read -r preset res ch batch mode <<<"$c"
  if (($(left) - reserve < 30)); then
    note "bench $c: skipped (budget)"
    continue
  fi
  extra=()
  [ "${mode:-}" = nophases ] && extra=(--no-phases)
  # shellcheck disable=SC2086
  stage "bench $c" "$BENCH_LIMIT" node dist/cli.js bench train --backend torch --device "$DEVICE" --threads "$THREADS" --vs-torch --json --preset "$preset" \
    --res "$res" --channels "$ch" --batch "$batch" $BENCH_STEPS "${extra[@]}" >>"$OUT/bench-train.jsonl" 2>>"$OUT/bench-train.err"
done
[ -n "$dmon_pid" ] && kill "$dmon_pid" 2>/dev/null
node scripts/device-gpu-table.mjs "$OUT/bench-train.jsonl" "$OUT/dmon.txt" >"$OUT/bench-train.md" 2>>"$OUT/bench-train.err"
cat "$OUT/bench-train.md" >>"$summary"

# --- 5. kernels vs PyTorch on the same device, and parity with PyTorch's TF32 defaults -------------
stage "bench kernels tf32 off" 60 node dist/cli.js bench kernels --backend torch --device "$DEVICE" --threads "$THREADS" --tf32 off --vs-torch $KERNELS \
  >"$OUT/bench-kernels-tf32-off.txt" 2>&1
grep -a "median ours/torch" "$OUT/bench-kernels-tf32-off.txt" >>"$summary" 2>/dev/null
(($(left) > 60)) && parity default 60
note "done in $((SECONDS - start)) s of $BUDGET"
