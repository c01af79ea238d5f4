#!/usr/bin/env bash
# The test command: everything the tests need, on a fresh machine, then every test.
# Called verbatim by .ci/run and quoted in the README.
set -euo pipefail
cd "$(dirname "$0")/.."

# A one-shot build gains nothing from incremental caches, and they doubled the target
# directory's size on disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version
df -h . | tail -1

step "feature graph: no metrics crate without bench-metrics"
scripts/check-feature-graph.sh

step "workflows: actionlint with shellcheck"
scripts/check-workflows.sh

step "lints: rustfmt, clippy -D warnings with and without bench-metrics"
# As ci.yml's fmt and clippy jobs; skipped (loudly) on a toolchain without the components.
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
else
  echo "SKIPPED: rustfmt is not installed"
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --workspace --all-targets -- -D warnings
  cargo clippy --workspace --all-targets --features bench-metrics -- -D warnings
  cargo clippy -p starkscope-vm --all-targets --features ablation -- -D warnings
  cargo clippy -p starkscope-recursion --all-targets --features ablation -- -D warnings
  cargo clippy -p starkscope -p starkscope-benchmarks --all-targets --features exporters -- -D warnings
else
  echo "SKIPPED: clippy is not installed"
fi

step "test dependencies: prometheus, pushgateway, chromium"
scripts/install-test-deps.sh

step "tests without bench-metrics"
cargo test --workspace --no-fail-fast

step "tests with bench-metrics"
cargo test --workspace --no-fail-fast --features bench-metrics

step "soundness: every lie refused, every constraint covered (release, as users prove)"
cargo test --release -p starkscope-vm --features forge --test soundness --no-fail-fast

step "soundness: a lie per chip verifies once its constraints are dropped (ablation build)"
# The full sweep is scripts/soundness-sweep.sh (several minutes).
cargo test --release -p starkscope-vm --features ablation --test soundness --no-fail-fast \
  a_lie_verifies_once_its_constraints_are_dropped

step "recursion: lies refused, every table constraint covered, a sample verifying once its constraints are dropped"
# The full sweep (every lie proven, with and without its constraints) is
# scripts/recursion-sweep.sh (about 2 minutes).
cargo test --release -p starkscope-recursion --features ablation --test soundness --no-fail-fast

step "recursion: every mutant of a child proof refused by the verifier circuit's constraints"
# Every mutant checked against the constraints, one forged outer proof per field kind; the
# full run (every mutant proven) is scripts/verifier-mutation.sh (about 2.5 minutes).
cargo test --release -p starkscope-recursion --features forge --test verifier_mutation --no-fail-fast

step "recursion: the verifier circuit against the native verifier (transcripts, VM segment proofs, review) in release"
cargo test --release -p starkscope-recursion --features forge --no-fail-fast \
  --test verifier_transcript --test verifier_review --test verifier_review_var

step "aggregation tree: leaves, internal layers and a root over real segment proofs (release)"
cargo test --release -p starkscope-sdk --test tree --test root_mutation --no-fail-fast
cargo test --release -p starkscope-sdk --features bench-metrics --test tree_metrics --no-fail-fast
cargo test --release -p starkscope --test aggregate --no-fail-fast
cargo test --release -p starkscope --features bench-metrics --test aggregate_metrics --no-fail-fast

step "distributed: the Ray driver on a local two-node cluster (a worker killed mid-run, a corrupt child)"
scripts/test-distributed.sh

step "exporter and resource tests (real Prometheus, Pushgateway, OTLP receiver)"
cargo test -p starkscope-harness --no-fail-fast --features exporters

step "the CLI's exporters: real proofs pushed, scraped, queried by every dashboard query"
cargo test -p starkscope --no-fail-fast --features exporters --test exporters

step "the local metrics stack's configs (compose schema, promtool; no Docker here)"
scripts/check-stack.sh

step "README quick start, run verbatim"
scripts/check-readme.sh

step "disk: what this run's build left"
du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null || true
df -h . | tail -1
