#!/usr/bin/env bash
# Acceptance run of `lia batch`: the whole Fashion-MNIST test split (10,000 images) with the shipped
# models/fmnist32-lia, 2 workers (torch, 1 thread each), one SIGKILLed in the middle of a shard; the
# collected codes are compared byte for byte with single-process `lia encode` on the same backend.
# Writes results/batch/acceptance.json and acceptance.log; the shard folders go to runs/batch-accept/.
# Usage (repository root): results/batch/acceptance.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=runs/batch-accept
RES=results/batch
PORT=${PORT:-16411}
LIA="node dist/cli.js"
ENGINE="--backend torch --threads 1"
rm -rf "$OUT" && mkdir -p "$OUT/redis"
exec > >(tee "$RES/acceptance.log") 2>&1

redis-server --port "$PORT" --bind 127.0.0.1 --dir "$PWD/$OUT/redis" --save '' --appendonly yes --maxmemory-policy noeviction --daemonize no >"$OUT/redis/log" 2>&1 &
REDIS=$!
trap 'kill $REDIS 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
Q=redis://127.0.0.1:$PORT

t0=$(date +%s.%N)
$LIA batch submit --queue "$Q" --model models/fmnist32-lia --images test --shard 512 --batch 64 --out "$OUT/batch"
$LIA batch worker --queue "$Q" $ENGINE --lock-seconds 10 --exit-when-done 2>"$OUT/worker-a.log" &
A=$!
$LIA batch worker --queue "$Q" $ENGINE --lock-seconds 10 --exit-when-done 2>"$OUT/worker-b.log" &
B=$!
# Kill worker A one second into its second shard (the first one also loads the model and data).
for _ in $(seq 600); do [ "$(grep -c 'lia batch: start ' "$OUT/worker-a.log" || true)" -ge 2 ] && break; sleep 0.2; done
sleep 1
KILLED=$(grep 'lia batch: start ' "$OUT/worker-a.log" | tail -1 | sed 's/.*start \([^ ]*\).*/\1/')
grep -q "done $KILLED" "$OUT/worker-a.log" && { echo "worker A finished $KILLED before the kill"; exit 1; }
kill -KILL $A
echo "killed worker A (pid $A) in the middle of $KILLED"
$LIA batch status --dir "$OUT/batch"
wait $B
t1=$(date +%s.%N)
$LIA batch status --dir "$OUT/batch"
$LIA batch status --dir "$OUT/batch" --json >"$OUT/status.json"
$LIA batch collect --dir "$OUT/batch" --out "$OUT/collected.safetensors"

t2=$(date +%s.%N)
$LIA encode --ckpt models/fmnist32-lia/model.safetensors --images test --batch 64 --out "$OUT/encode.safetensors" $ENGINE
t3=$(date +%s.%N)

node --input-type=module -e "
import { readSafetensorsFile } from './dist/io/safetensors-file.js';
import { readFileSync, writeFileSync } from 'node:fs';
const [a, b] = await Promise.all(['$OUT/collected.safetensors', '$OUT/encode.safetensors'].map((p) => readSafetensorsFile(p)));
const bytes = (t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const names = JSON.stringify(JSON.parse(a.metadata.names)) === JSON.stringify(JSON.parse(b.metadata.names));
const equal = Object.fromEntries(Object.keys(b.tensors).map((k) => [k, Boolean(a.tensors[k]) && bytes(a.tensors[k]).equals(bytes(b.tensors[k]))]));
const starts = (f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.includes('lia batch: start ')).map((l) => l.split('start ')[1].split(' ')[0]);
const all = [...starts('$OUT/worker-a.log'), ...starts('$OUT/worker-b.log')];
const status = JSON.parse(readFileSync('$OUT/status.json', 'utf8'));
const r = {
  images: JSON.parse(a.metadata.names).length, shards: status.shards, killed: '$KILLED', shardStarts: all.length, killedShardStarts: all.filter((s) => s === '$KILLED').length,
  namesEqual: names, codesBitEqual: equal, batchSeconds: +($t1 - $t0).toFixed(1), encodeSeconds: +($t3 - $t2).toFixed(1),
  backend: 'torch, 1 thread per process', machine: '2 shared CPU cores (AMD EPYC), other jobs running', date: new Date().toISOString(),
};
writeFileSync('$RES/acceptance.json', JSON.stringify(r, null, 2) + '\n');
console.log(JSON.stringify(r));
if (!names || !Object.values(equal).every(Boolean) || r.images !== 10000) process.exit(1);
"
