#!/usr/bin/env bash
# The root-file mutation sweep: every field kind of a root proof changed, and a few
# thousand changed bytes of its file, each refused by the decoder or by verification
# (crates/sdk/tests/root_mutation.rs, which the test command runs with 3000 bytes).
#   bash scripts/root-mutation.sh            # 30000 bytes (a few minutes)
#   ROOT_MUTATION_BYTES=10000 bash scripts/root-mutation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_MUTATION_BYTES="${ROOT_MUTATION_BYTES:-30000}" \
  cargo test --release -p starkscope-sdk --test root_mutation -- --nocapture
