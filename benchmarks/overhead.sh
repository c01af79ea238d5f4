#!/usr/bin/env bash
# Instrumentation overhead: builds starkscope-bench twice (with and without bench-metrics),
# then proves the same benchmark with each in interleaved rounds and prints the median ratio.
#
#   bash benchmarks/overhead.sh                                   # fibonacci, 7 rounds
#   bash benchmarks/overhead.sh --rounds 9 --segment-size 65536 --max-ratio 1.02
#
# Extra arguments go to `starkscope-bench overhead` (see its --help). Exit codes are its own.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
bins="$target/overhead"
mkdir -p "$bins"

# One target dir for both: the Plonky3 crates are shared, only ours build twice.
cargo build --release -p starkscope-benchmarks
cp "$target/release/starkscope-bench" "$bins/starkscope-bench-off"
cargo build --release -p starkscope-benchmarks --features bench-metrics
cp "$target/release/starkscope-bench" "$bins/starkscope-bench-on"

exec "$bins/starkscope-bench-on" overhead \
    --on "$bins/starkscope-bench-on" --off "$bins/starkscope-bench-off" "$@"
