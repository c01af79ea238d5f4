#!/usr/bin/env bash
# The in-circuit verifier's full mutation run (issue 17; not part of the test command,
# which checks every mutant against the constraints but proves one per field kind): every
# single-field mutant of the child proof, and every length mutant of a pruned multiproof,
# filled as a forger would (`run_unchecked`, feature forge) and proven for real; no outer
# proof may verify and nothing may panic. Also runs the constraint and shape checks of
# tests/verifier_mutation.rs and prints every count.
set -euo pipefail
cd "$(dirname "$0")/.."
export VERIFIER_MUTATION=all
cargo test --release -p starkscope-recursion --features forge --test verifier_mutation -- \
  --nocapture --test-threads 1 2>&1 | grep -Ev '^(running|test result|$)'
