#!/usr/bin/env bash
# Local vs Ray on this machine (docs/distributed.md): the same run proven by one process
# and on a local two-node Ray cluster; prints a table of medians. Several minutes.
# Options go to distributed/bench.py (--input, --segment-size, --repeats).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
venv="$(mkdir -p "$target" && cd "$target" && pwd)/ray-venv"
if ! "$venv/bin/python" -c 'import ray' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ray>=2.9,<3"
fi
cargo build --release -p starkscope --features bench-metrics
"$venv/bin/python" distributed/bench.py --binary "$(cd "$target/release" && pwd)/starkscope" "$@"
