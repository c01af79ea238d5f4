#!/usr/bin/env bash
# The main job: build the CLI with metrics, prove the bundled fibonacci program in
# segments, aggregate them into one root proof, write the metrics snapshot and the root
# proof file, then verify it.
#
#   bash scripts/main-job.sh                 # writes run.json and root.bin here
#   METRIC_OUTPUT=out/fib.json bash scripts/main-job.sh
#   FIB_N=200000 SEGMENT_SIZE=65536 bash scripts/main-job.sh
#
# Fibonacci costs 5 cycles per step: n = 110000 is about 550k cycles, three segments of
# at most 2^18 cycles (the prove command's default segment size).
set -euo pipefail
cd "$(dirname "$0")/.."

FIB_N="${FIB_N:-110000}"
SEGMENT_SIZE="${SEGMENT_SIZE:-262144}"
METRICS="${METRIC_OUTPUT:-run.json}"
PROOF="${PROOF:-root.bin}"

step() { printf '\n==> %s\n' "$*" >&2; }

step "build: cargo build --release -p starkscope --features bench-metrics"
cargo build --release -p starkscope --features bench-metrics
BIN="${CARGO_TARGET_DIR:-target}/release/starkscope"

step "prove fibonacci($FIB_N) in segments of $SEGMENT_SIZE cycles, aggregate them (leaf, internal, root) -> $PROOF, metrics -> $METRICS"
started=$(date +%s)
"$BIN" prove benchmarks/programs/fibonacci.sasm --input "$FIB_N" \
    --segment-size "$SEGMENT_SIZE" --aggregate --out "$PROOF" --metrics "$METRICS"

step "verify the root proof $PROOF against the program"
"$BIN" verify "$PROOF" --program benchmarks/programs/fibonacci.sasm

step "done in $(( $(date +%s) - started )) s after the build: $METRICS, $PROOF"
