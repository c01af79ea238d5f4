#!/usr/bin/env bash
# Prints the Python of a virtual environment with Ray (made under the target directory and
# pip-installed on first use, about a minute), for the scripts that drive Ray.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
venv="$(mkdir -p "$target" && cd "$target" && pwd)/ray-venv"
if ! "$venv/bin/python" -c 'import ray' 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ray>=2.9,<3" >&2
fi
echo "$venv/bin/python"
