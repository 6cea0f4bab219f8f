#!/usr/bin/env bash
# The reconstruction curve of an encoder run: every snapshot of the run folder is scored on the test
# split (MSE, PSNR, SSIM; no FID) and appended to a JSON-lines file, one line per snapshot, skipping
# snapshots already in the file (so it can be rerun while the run goes on). "of" is the run length
# planned when the snapshot was written, which sets its learning-rate schedule.
#
#   scripts/encoder-curve.sh <encoder run folder> <out.jsonl> [images, default 10000]
#
# Environment: THREADS (default 1), LABEL (an extra "run" field naming the recipe).
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:?usage: scripts/encoder-curve.sh <encoder run folder> <out.jsonl> [images]}
out=${2:?usage: scripts/encoder-curve.sh <encoder run folder> <out.jsonl> [images]}
images=${3:-10000}
[ -d "$run" ] || { echo "no run folder '$run'" >&2; exit 2; }
touch "$out"
shopt -s nullglob
snaps=("$run"/snapshot-*.safetensors)
[ ${#snaps[@]} -gt 0 ] || { echo "no snapshot-*.safetensors in '$run'" >&2; exit 2; }
for snap in "${snaps[@]}"; do
  grep -qF "\"snapshot\":\"$snap\"" "$out" && continue
  node dist/cli.js eval-reconstruction --ckpt "$snap" --metrics '' --split test --limit "$images" \
      --threads "${THREADS:-1}" --no-append --json |
    node --input-type=module -e '
      import { readSnapshot } from "./dist/train/snapshot.js";
      let d = "";
      process.stdin.on("data", (c) => (d += c)).on("end", async () => {
        const r = JSON.parse(d);
        // Images seen, and the run length planned when the snapshot was written (its learning-rate schedule).
        const { config, state } = await readSnapshot(process.argv[1]);
        const line = { kimg: state.imagesSeen / 1000, of: config.train.kimg, mse: r.mse, psnr: r.psnr, ssim: r.ssim, images: r.images, split: r.split, snapshot: process.argv[1] };
        if (process.argv[2]) line.run = process.argv[2];
        console.log(JSON.stringify(line));
      });' "$snap" "${LABEL:-}" >> "$out"
  tail -1 "$out"
done
