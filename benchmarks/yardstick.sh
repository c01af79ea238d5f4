#!/usr/bin/env bash
# The backend yardstick, from here: our multi-AIR prover against p3-batch-stark 0.8.0 on the
# same AIRs, heights and FRI parameters, alternating in one process; prints medians and the
# ratio ours / theirs. Arguments go to the bench (see crates/stark-backend/benches/vs_batch_stark.rs).
#
#   bash benchmarks/yardstick.sh                          # default heights and samples
#   bash benchmarks/yardstick.sh --samples 9 --heights 16,18
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p starkscope-stark-backend --bench vs_batch_stark -- "$@"
