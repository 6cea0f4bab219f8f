#!/usr/bin/env bash
# Trains on the GPU machine for a fixed wall-clock budget and brings the run back under $OUT, for
# runs that span sessions (issue 25's emoji model): the GPU adds kimg in minutes, the run continues
# anywhere else from the returned snapshot.
#
#   TRAIN_BUDGET_S=300 scripts/device-train.sh [lia train-decoder options…]
#
# Environment:
#   TRAIN_BUDGET_S  seconds of training before the run writes a snapshot and stops (default 300)
#   TRAIN_DEVICE    cuda (default) or cpu, for a dry run
#   RESUME          a snapshot to resume, or a folder of its parts (NAME.part-NN, joined in order, checked
#                   against NAME.sha256 when present) — how a snapshot larger than one file's limit travels
#   OUT             where the run comes back (default ./device-out): $OUT/train/ holds options.json,
#                   log.jsonl, the sample grids and the newest snapshot split into 15 MiB parts with its
#                   sha256 (rejoin: cat NAME.part-* > NAME; sha256sum -c NAME.sha256)
# Assumes `node` on PATH with dist/ and node_modules/ (scripts/device-kit.sh) and LIA_TORCH_ADDON set
# to an addon built against the machine's PyTorch (scripts/device-cuda.sh builds one).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-device-out}
budget=${TRAIN_BUDGET_S:-300}
runs=$(mktemp -d)
mkdir -p "$OUT/train"

# A resumed run continues in a copy of its folder (its options.json and log.jsonl travel beside the parts).
resume=()
run=
if [ -n "${RESUME:-}" ]; then
  run=$runs/resumed
  mkdir -p "$run"
  if [ -d "$RESUME" ]; then
    parts=("$RESUME"/*.part-*)
    [ -e "${parts[0]}" ] || { echo "device-train: no NAME.part-NN files in $RESUME" >&2; exit 2; }
    name=$(basename "${parts[0]}"); name=${name%.part-*}
    cat "${parts[@]}" >"$run/$name"
    sums=$(realpath "$RESUME/$name.sha256")
    if [ -f "$sums" ]; then (cd "$run" && sha256sum -c --quiet "$sums"); fi
    cp "$RESUME"/options.json "$RESUME"/log.jsonl "$run/" 2>/dev/null || true
  else
    name=$(basename "$RESUME")
    cp "$RESUME" "$run/$name"
    cp "$(dirname "$RESUME")"/options.json "$(dirname "$RESUME")"/log.jsonl "$run/" 2>/dev/null || true
  fi
  resume=(--resume "$run/$name")
fi

# SIGINT at the budget's end: the trainer writes a snapshot and stops.
node dist/cli.js train-decoder --backend torch --device "${TRAIN_DEVICE:-cuda}" --out "$runs" "${resume[@]}" "$@" &
pid=$!
deadline=$((SECONDS + budget))
while kill -0 "$pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then kill -INT "$pid"; break; fi
  sleep 2
done
status=0
wait "$pid" || status=$?

[ -n "$run" ] || run=$(ls -d "$runs"/[0-9]*/ 2>/dev/null | sort | tail -1 || true)
[ -n "$run" ] || { echo "device-train: the run made no folder (exit $status)" >&2; exit 1; }
cp "$run"/options.json "$run"/log.jsonl "$OUT/train/" 2>/dev/null || true
# The first and the newest sample grids.
grids=$(ls "$run"/grid-*.png 2>/dev/null | sort || true)
if [ -n "$grids" ]; then
  cp $(echo "$grids" | sed -n '1p;$p' | sort -u) "$OUT/train/"
fi
snap=$(ls "$run"/snapshot-*.safetensors 2>/dev/null | sort | tail -1 || true)
if [ -n "$snap" ]; then
  name=$(basename "$snap")
  (cd "$(dirname "$snap")" && sha256sum "$name") >"$OUT/train/$name.sha256"
  split -b 15M -d -a 2 "$snap" "$OUT/train/$name.part-"
fi
echo "device-train: exit $status, run $(basename "$run"), snapshot ${snap:+$(basename "$snap")}"
exit "$status"
