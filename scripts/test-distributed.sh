#!/usr/bin/env bash
# The Ray driver's tests (distributed/tests): installs Ray into a virtual environment
# (scripts/ray-venv.sh), builds the release binary with metrics, starts a local cluster of
# two one-CPU worker nodes on 127.0.0.1 inside the test (no dashboard) and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/ray-venv.sh)
"$python" -c 'import ray; print("ray", ray.__version__)'
cargo build --release -p starkscope --features bench-metrics
target="${CARGO_TARGET_DIR:-target}"
STARKSCOPE_BIN="$(cd "$target/release" && pwd)/starkscope"
export STARKSCOPE_BIN
cd distributed
PYTHONPATH=. "$python" -m unittest discover -s tests -v
