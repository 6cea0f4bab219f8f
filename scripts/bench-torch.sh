#!/usr/bin/env bash
# The torch backend's benchmarks (issue: "the torch backend"), on a quiet machine: training
# throughput vs PyTorch on the same machine (alternating rounds, medians) for the quick and small
# presets at 32×32 grey and a 64×64 RGB model at batch 32; the same models on wasm for the speed-up;
# the kernel table vs PyTorch. Writes JSON lines and tables under results/engine/torch/ (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/engine/torch}
mkdir -p "$out"
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
lia() { node dist/cli.js "$@"; }
: >"$out/bench-train.jsonl"
for args in "--preset quick --res 32 --channels 1" "--preset small --res 32 --channels 1" "--preset quick --res 64 --channels 3"; do
  echo "bench train torch $args" >&2
  lia bench train --backend torch --threads "$threads" $args --batch 32 --steps 16 --vs-torch --rounds "$rounds" --json >>"$out/bench-train.jsonl"
  echo "bench train wasm $args" >&2
  lia bench train --backend wasm --threads "$threads" $args --batch 32 --steps 8 --json >>"$out/bench-train.jsonl"
done
echo "bench kernels torch" >&2
lia bench kernels --backend torch --threads "$threads" --vs-torch --repeats 9 >"$out/bench-kernels.txt" 2>/dev/null
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const key = (r) => `${r.preset} ${r.resolution}×${r.resolution}×${r.channels}`;
const wasm = new Map(rows.filter((r) => r.backend === "wasm").map((r) => [key(r), r]));
console.log("| model | batch | lia torch img/s (median run) | PyTorch img/s (median run) | torch / PyTorch: median of rounds (each round) | lia wasm img/s | torch / wasm | peak RSS MB torch / PyTorch |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows.filter((r) => r.backend === "torch")) {
  const w = wasm.get(key(r));
  console.log(`| ${key(r)} (${(r.g_params / 1e6).toFixed(2)} M / ${(r.d_params / 1e6).toFixed(2)} M) | ${r.batch} | ${r.img_per_sec.toFixed(1)} | ${r.torch.img_per_sec.toFixed(1)} | ${r.vs_torch.toFixed(2)}× (${r.vs_torch_per_round.map((x) => x.toFixed(2)).join(", ")}) | ${w ? w.img_per_sec.toFixed(1) : "—"} | ${w ? (r.img_per_sec / w.img_per_sec).toFixed(1) + "×" : "—"} | ${r.peak_rss_mb.toFixed(0)} / ${r.torch.peak_rss_mb.toFixed(0)} |`);
}' "$out/bench-train.jsonl" >"$out/bench-train.md"
cat "$out/bench-train.md"
