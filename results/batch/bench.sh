#!/usr/bin/env bash
# Benchmark of `lia batch` on this machine (one run; results/batch/README.md reads it):
#   1. encode only, 2,048 Fashion-MNIST test images, shards of 512: 1 worker, then 2 workers
#   2. encode + 50 refinement steps (y, β auto), 128 images, shards of 32: 1 worker, then 2 workers
#   3. queue overhead per shard: encode only, 1,024 images in 16 shards of 64, 1 worker
#   4. single-process `lia encode` on the same 2,048 images, for comparison
# Every worker: torch backend, 1 thread. Writes results/batch/bench.jsonl and bench.log; shard folders
# go to runs/batch-bench/. Usage (repository root): results/batch/bench.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=runs/batch-bench
RES=results/batch
PORT=${PORT:-16412}
LIA="node dist/cli.js"
ENGINE="--backend torch --threads 1"
rm -rf "$OUT" && mkdir -p "$OUT/redis"
: >"$RES/bench.jsonl"
exec > >(tee "$RES/bench.log") 2>&1

redis-server --port "$PORT" --bind 127.0.0.1 --dir "$PWD/$OUT/redis" --save '' --appendonly yes --maxmemory-policy noeviction --daemonize no >"$OUT/redis/log" 2>&1 &
REDIS=$!
trap 'kill $REDIS 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
Q=redis://127.0.0.1:$PORT

# run NAME WORKERS SUBMIT-ARGS...: submit, run WORKERS workers until the queue is empty, record timings.
run() {
  local name=$1 workers=$2
  shift 2
  local dir=$OUT/$name
  local t0 t1 pids=()
  t0=$(date +%s.%N)
  $LIA batch submit --queue "$Q" --model models/fmnist32-lia --images test --out "$dir" "$@" >/dev/null
  for w in $(seq "$workers"); do
    $LIA batch worker --queue "$Q" $ENGINE --exit-when-done 2>"$dir.worker-$w.log" &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(date +%s.%N)
  node results/batch/jobtimes.mjs "$dir" "$Q" | node -e "
    const r = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    const jobs = r.jobs; // in start order
    // Overhead per shard: time outside the shard function, after each worker's first shard.
    const byEnd = jobs.slice().sort((a, b) => a.finishedOn - b.finishedOn);
    const after = jobs.slice($workers);
    const overhead = $workers === 1 && jobs.length > 1 ? ((byEnd.at(-1).finishedOn - byEnd[0].finishedOn) / 1000 - jobs.slice(1).reduce((a, j) => a + j.seconds, 0)) / (jobs.length - 1) : null;
    const perImage = after.length ? after.reduce((a, j) => a + j.seconds, 0) / after.reduce((a, j) => a + j.images, 0) : null;
    const out = { run: '$name', workers: $workers, args: '$*', images: r.images, shards: r.shards, wallSeconds: +($t1 - $t0).toFixed(2), spanSeconds: +r.spanSeconds.toFixed(2), imagesPerSec: +r.imagesPerSec.toFixed(2), processorSecondsPerImage: perImage, overheadSecondsPerShard: overhead, stalled: jobs.reduce((a, j) => a + j.stalled, 0) };
    console.log(JSON.stringify(out));
  " | tee -a "$RES/bench.jsonl"
}

run encode-1w 1 --limit 2048 --shard 512 --batch 64
run encode-2w 2 --limit 2048 --shard 512 --batch 64
run refine50-1w 1 --limit 128 --shard 32 --batch 32 --refine-steps 50
run refine50-2w 2 --limit 128 --shard 32 --batch 32 --refine-steps 50
run overhead-64 1 --limit 1024 --shard 64 --batch 64

t0=$(date +%s.%N)
$LIA encode --ckpt models/fmnist32-lia/model.safetensors --images test --limit 2048 --batch 64 --out "$OUT/encode.safetensors" $ENGINE
t1=$(date +%s.%N)
echo "{\"run\":\"lia-encode\",\"workers\":1,\"images\":2048,\"wallSeconds\":$(echo "$t1 - $t0" | bc)}" | tee -a "$RES/bench.jsonl"
