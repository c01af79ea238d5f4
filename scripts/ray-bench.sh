#!/usr/bin/env bash
# Local vs Ray on this machine (docs/distributed.md): the same run proven by one process
# and on a local two-node Ray cluster; prints a table of medians. Several minutes.
# Options go to distributed/bench.py (--input, --segment-size, --repeats).
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/ray-venv.sh)
cargo build --release -p starkscope --features bench-metrics
target="${CARGO_TARGET_DIR:-target}"
"$python" distributed/bench.py --binary "$(cd "$target/release" && pwd)/starkscope" "$@"
