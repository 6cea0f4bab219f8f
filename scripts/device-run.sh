#!/usr/bin/env bash
# The whole GPU-machine session in one command (the device tool runs it in the repository root):
# unpacks the torch kit (.devkit/torch-kit.tar.xz from scripts/device-kit.sh --emoji, carried with
# the working tree; a carried .devkit/dist replaces the kit's dist), then scripts/device-cuda.sh (build, parity, end to end, benchmark) with, when
# EMOJI_TRAIN_S is set, scripts/device-train.sh training the emoji model alongside for that many
# seconds (issue 25). Environment: DEVICE_BUDGET_S (device-cuda.sh's budget), EMOJI_TRAIN_S,
# EMOJI_ARGS (train-decoder options of the emoji run), EMOJI_RESUME (parts folder to resume).
set -u
cd "$(dirname "$0")/.."
t0=$SECONDS
mkdir -p /tmp/kit && tar -xJf .devkit/torch-kit.tar.xz -C /tmp/kit || { echo "device-run: no kit (.devkit/torch-kit.tar.xz)" >&2; exit 1; }
export PATH=/tmp/kit/bin:$PATH
# A newer build carried beside the kit (.devkit/dist, see scripts/device-kit.sh --dist-only) wins over the kit's own.
rm -rf node_modules dist && ln -s /tmp/kit/node_modules node_modules
# (copied, not linked: scripts find their neighbours, e.g. scripts/bench_train_torch.py, from dist's real path)
if [ -f .devkit/dist/cli.js ]; then cp -r .devkit/dist dist; else cp -r /tmp/kit/dist dist; fi
export NAPI_HEADERS=/tmp/kit/napi-headers
[ -d /tmp/kit/emoji ] && export LIA_EMOJI_DIR=/tmp/kit/emoji/google:/tmp/kit/emoji/twitter
export OUT=${OUT:-/tmp/lia-device}
echo "device-run: kit unpacked in $((SECONDS - t0)) s"
alongside=""
if [ -n "${EMOJI_TRAIN_S:-}" ]; then
  export LIA_TORCH_ADDON=${BUILD_DIR:-/tmp/lia-torch}/lia_torch.node
  alongside="OUT=$OUT/emoji TRAIN_DEVICE=${DEVICE:-cuda} TRAIN_BUDGET_S=$EMOJI_TRAIN_S ${EMOJI_RESUME:+RESUME=$EMOJI_RESUME} bash scripts/device-train.sh ${EMOJI_ARGS:-}"
fi
ALONGSIDE=$alongside bash scripts/device-cuda.sh
echo "device-run: done in $((SECONDS - t0)) s"
