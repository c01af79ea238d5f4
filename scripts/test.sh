#!/usr/bin/env bash
# The test command: everything the tests need, on a fresh machine, then every test.
# Called verbatim by .ci/run and quoted in the README.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version

step "feature graph: no metrics crate without bench-metrics"
scripts/check-feature-graph.sh

scripts/install-test-deps.sh  # prometheus + pushgateway for the exporter tests
step "tests without bench-metrics"
cargo test --workspace --no-fail-fast

step "tests with bench-metrics"
cargo test --workspace --no-fail-fast --features bench-metrics
