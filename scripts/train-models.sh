#!/usr/bin/env bash
# Trains the models shipped in models/ (the LIA decoder + encoder, and the StyleGAN + encoder
# baseline) on Fashion-MNIST or emoji, resumably: run it again and every stage continues from its newest snapshot, so
# the training can span several sessions; a finished stage is skipped.
#
#   scripts/train-models.sh fmnist [lia|baseline|both]      # Fashion-MNIST 32×32, default both
#   scripts/train-models.sh emoji [lia|baseline|both]       # emoji 64×64 RGB (npm emoji-datasource-*), default lia
#
# Environment: RUNS (default runs/models), DEC_KIMG (decoder length, default 1000), ENC_KIMG
# (encoder length, default 200), THREADS (per process, default 1: run lia and baseline side by side
# on a 2-core machine), STOP_AT (a `date +%s` time; each stage writes a snapshot and stops by then),
# EVAL_IMAGES (images for FID/SWD, default 10000), MODELS (where the packed folders go, default models),
# CURVE_KIMG (the metric curve evaluates a snapshot every CURVE_KIMG kimg, default 80), ENC_ARGS
# (extra lia train-encoder options, e.g. "--width-base 1024 --width-max 256 --lr-decay 0.5" for the
# wider encoder; recorded in the manifest's command), DEC_ARGS (extra lia train-decoder options for a
# new decoder run, e.g. "--preset small --augment ada --batch 64" for the emoji model at the small
# preset with adaptive discriminator augmentation; a --preset there replaces the default quick; a
# resumed run keeps the options it was started with, so use a fresh RUNS folder for a new recipe;
# recorded in the manifest's command). Without --augment, train-decoder's default applies: ada for
# training sets under 30,000 images (emoji), off for Fashion-MNIST.
# Stages: the dataset's feature networks when not committed (emoji: results/features/emoji-*) →
# per model: decoder (lia train-decoder, the quick architecture, longer) → export-decoder → FID/SWD
# of the final decoder and the metric curve → encoder (lia train-encoder) → export-encoder →
# lia eval-reconstruction → lia pack-model models/<fmnist32|emoji64>-<model>.
set -euo pipefail
cd "$(dirname "$0")/.."

data=${1:?usage: scripts/train-models.sh fmnist|emoji [lia|baseline|both]}
case $data in
  fmnist) which=${2:-both}; PREFIX=fmnist32; SPEC=fashion-mnist; RES=32; TITLE="Fashion-MNIST 32×32"
    EVAL_NET=results/features/fmnist-eval-wide.safetensors; PERC_NET=results/features/fmnist-perceptual.safetensors ;;
  emoji) which=${2:-lia}; PREFIX=emoji64; SPEC=emoji; RES=64; TITLE="Emoji 64×64 (Google + Twitter)"
    EVAL_NET=results/features/emoji-eval.safetensors; PERC_NET=results/features/emoji-perceptual.safetensors ;;
  *) echo "expected fmnist or emoji, got '$data'" >&2; exit 2 ;;
esac
RUNS=${RUNS:-runs/models}
DEC_KIMG=${DEC_KIMG:-1000}
ENC_KIMG=${ENC_KIMG:-200}
THREADS=${THREADS:-1}
EVAL_IMAGES=${EVAL_IMAGES:-10000}
MODELS=${MODELS:-models}
CURVE_KIMG=${CURVE_KIMG:-80}
lia() { node dist/cli.js "$@"; }

# The newest run folder under $1 (numbered NNNNN-…), or nothing.
newest_run() { { ls -d "$1"/[0-9]*/ 2>/dev/null || true; } | sort | tail -1 | sed 's:/$::'; }
# The newest snapshot of a run folder.
newest_snapshot() { { ls "$1"/snapshot-*.safetensors 2>/dev/null || true; } | sort | tail -1; }
# Seconds left before STOP_AT (a large number when unset).
budget_left() { if [ -n "${STOP_AT:-}" ]; then echo $(( STOP_AT - $(date +%s) )); else echo 999999; fi; }

# Runs a training command in the background and stops it with SIGINT (which writes a snapshot) at STOP_AT.
train_until() {
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(budget_left)" -le 0 ]; then kill -INT "$pid"; wait "$pid" || true; return 1; fi
    sleep 10
  done
  wait "$pid"
}

# Whether a run's newest snapshot has seen $2 kimg (default: its own planned length).
finished() {
  local snap; snap=$(newest_snapshot "$1")
  [ -n "$snap" ] && node --input-type=module -e '
    import { readSnapshot } from "./dist/train/snapshot.js";
    const { config: cfg, state: st } = await readSnapshot(process.argv[1]);
    const kimg = process.argv[2] ? Number(process.argv[2]) : cfg.train.kimg;
    process.exit(st.imagesSeen >= kimg * 1000 - 1e-6 ? 0 : 1);' "$snap" "${2:-}"
}

# Trains (or resumes, with the run length set to $2 kimg, longer or shorter than planned) the newest
# run under $1 until it has seen $2 kimg; $3… start a new run. Fails when stopped at STOP_AT.
stage() {
  local root=$1 kimg=$2 run
  shift 2
  run=$(newest_run "$root")
  if [ -z "$run" ]; then
    train_until lia "$@" --kimg "$kimg" --out "$root" --threads "$THREADS" --quiet || return 1
  elif ! finished "$run" "$kimg"; then
    train_until lia "$1" --resume "$run" --kimg "$kimg" --threads "$THREADS" --quiet || return 1
  fi
  finished "$(newest_run "$root")" "$kimg"
}

# The metric curve: FID and SWD of the first snapshot at or past each multiple of CURVE_KIMG kimg
# (snapshots of a resumed run are not on the grid), appended once each.
curve() {
  local run=$1 out=$2 snap kimg bin last=0
  touch "$out"
  for snap in "$run"/snapshot-*.safetensors; do
    kimg=$(( 10#$(basename "$snap" .safetensors | sed 's/snapshot-//') / 1000 ))
    bin=$(( kimg / CURVE_KIMG ))
    [ "$bin" -gt "$last" ] || continue
    last=$bin
    grep -q "$(basename "$snap")" "$out" && continue
    lia eval --ckpt "$snap" --feature-net "$EVAL_NET" --metrics fid,swd --num-images "$EVAL_IMAGES" --threads "$THREADS" --json --no-append >> "$out"
  done
}

# The feature networks of a dataset without committed ones: the evaluation network (FID) and the
# perceptual network (the encoder's loss) differ in architecture, not only in seed.
features() {
  [ -f "$EVAL_NET" ] || lia train-features --data "$SPEC" --resolution "$RES" --role eval --widths 16,48,96 --fc 192 --epochs 12 --threads "$THREADS" --out "$EVAL_NET"
  [ -f "$PERC_NET" ] || lia train-features --data "$SPEC" --resolution "$RES" --role perceptual --widths 8,32,64 --epochs 8 --mirror --threads "$THREADS" --out "$PERC_NET"
}

model() {
  local name=$1 mapping=$2
  local short=${PREFIX%%[0-9]*}
  local dec_root=$RUNS/$short-$name-decoder enc_root=$RUNS/$short-$name-encoder run
  [ "$data" = fmnist ] && dec_root=$RUNS/fm-$name-decoder enc_root=$RUNS/fm-$name-encoder
  local dec_preset=(--preset quick)
  case " ${DEC_ARGS:-} " in *" --preset "*) dec_preset=() ;; esac
  # shellcheck disable=SC2086 # DEC_ARGS is a list of options
  stage "$dec_root" "$DEC_KIMG" train-decoder "${dec_preset[@]}" --mapping "$mapping" --data "$SPEC" --resolution "$RES" --snapshot-kimg 20 ${DEC_ARGS:-} || return 0
  run=$(newest_run "$dec_root")
  local decoder=$RUNS/$PREFIX-$name-decoder.safetensors
  [ -f "$decoder" ] || lia export-decoder --ckpt "$(newest_snapshot "$run")" --out "$decoder"
  [ -f "$RUNS/$PREFIX-$name-decoder-metrics.jsonl" ] || lia eval --ckpt "$decoder" --feature-net "$EVAL_NET" --metrics fid,swd --num-images "$EVAL_IMAGES" --threads "$THREADS" --json --no-append > "$RUNS/$PREFIX-$name-decoder-metrics.jsonl"
  curve "$run" "$RUNS/$PREFIX-$name-curve.jsonl"

  # shellcheck disable=SC2086 # ENC_ARGS is a list of options
  stage "$enc_root" "$ENC_KIMG" train-encoder --decoder "$decoder" --preset quick --perceptual-net "$PERC_NET" ${ENC_ARGS:-} || return 0
  run=$(newest_run "$enc_root")
  local encoder=$RUNS/$PREFIX-$name-encoder.safetensors
  [ -f "$encoder" ] || lia export-encoder --ckpt "$(newest_snapshot "$run")" --out "$encoder"
  [ -f "$RUNS/$PREFIX-$name-reconstruction.json" ] || lia eval-reconstruction --ckpt "$encoder" --feature-net "$EVAL_NET" --split test --limit "$EVAL_IMAGES" --threads "$THREADS" --out "$RUNS/$PREFIX-$name-reconstruction.json"
  local title="$TITLE, LIA ($DEC_KIMG + $ENC_KIMG kimg)"
  [ "$name" = baseline ] && title="$TITLE, StyleGAN + encoder baseline ($DEC_KIMG + $ENC_KIMG kimg)"
  [ -f "$MODELS/$PREFIX-$name/manifest.json" ] && [ "$MODELS/$PREFIX-$name/manifest.json" -nt "$encoder" ] && return 0
  lia pack-model --ckpt "$encoder" --out "$MODELS/$PREFIX-$name" --title "$title" --threads "$THREADS" \
    --metrics "$RUNS/$PREFIX-$name-reconstruction.json" --sample-metrics "$RUNS/$PREFIX-$name-decoder-metrics.jsonl" \
    --decoder "$(newest_snapshot "$(newest_run "$dec_root")")" --trained-on "$(node -e 'console.log(`${require("os").cpus()[0].model.trim()}, ${require("os").cpus().length} cores`)'), torch backend, $THREADS thread(s) per model" \
    --command "${DEC_ARGS:+DEC_ARGS='$DEC_ARGS' }${ENC_ARGS:+ENC_ARGS='$ENC_ARGS' }DEC_KIMG=$DEC_KIMG ENC_KIMG=$ENC_KIMG scripts/train-models.sh $data $name"
}

features
case $which in
  lia) model lia invertible ;;
  baseline) model baseline mlp ;;
  both) model lia invertible & model baseline mlp & wait ;;
  *) echo "expected lia, baseline or both, got '$which'" >&2; exit 2 ;;
esac
