#!/usr/bin/env bash
# The recursion tables' full soundness sweep (not part of the test command): every lie of
# the catalogue proven and refused, the constraint coverage table, and every lie proven
# again with the constraints it trips dropped from prover and verifier alike (it must
# then verify).
set -euo pipefail
cd "$(dirname "$0")/.."
export RECURSION_SWEEP=all
cargo test --release -p starkscope-recursion --features ablation --test soundness -- \
  --nocapture --test-threads 1 2>&1 | grep -Ev '^(running|test result|$)'
