#!/usr/bin/env bash
# The Ray driver's tests (distributed/tests): installs Ray into a virtual environment
# (first run ~1 min), builds the release binary with metrics, starts a local cluster of
# two one-CPU worker nodes on 127.0.0.1 inside the test (no dashboard) and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
venv="$(mkdir -p "$target" && cd "$target" && pwd)/ray-venv"
if ! "$venv/bin/python" -c 'import ray' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ray>=2.9,<3"
fi
"$venv/bin/python" -c 'import ray; print("ray", ray.__version__)'

cargo build --release -p starkscope --features bench-metrics
export STARKSCOPE_BIN="$(cd "$target/release" && pwd)/starkscope"

cd distributed
PYTHONPATH=. "$venv/bin/python" -m unittest discover -s tests -v
