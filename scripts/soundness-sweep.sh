#!/usr/bin/env bash
# The full soundness sweep (not part of the test command; several minutes on 2 cores):
# every lie of the catalogue proven and refused, the constraint coverage table, and every
# lie that depends on constraints proven again with those constraints dropped from prover
# and verifier alike (it must then verify). Prints both tables.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOUNDNESS_SWEEP=all
cargo test --release -p starkscope-vm --features ablation --test soundness -- \
  --nocapture --test-threads 1 2>&1 | grep -Ev '^(running|test result|$)'
