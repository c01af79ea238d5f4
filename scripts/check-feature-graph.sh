#!/usr/bin/env bash
# With bench-metrics off, no crate of the workspace may pull in the `metrics` crates;
# with it on, each must (the feature is forwarded down to starkscope-metrics).
# Exit 1 naming the crate that breaks the rule.
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(starkscope starkscope-benchmarks starkscope-sdk starkscope-vm starkscope-stark-backend starkscope-metrics starkscope-prof)
fail=0
for c in "${crates[@]}"; do
  off=$(cargo tree -e normal -p "$c" --no-default-features --prefix none)
  on=$(cargo tree -e normal -p "$c" --features bench-metrics --prefix none)
  if grep -Eq '^metrics(-[a-z-]+)? v' <<<"$off"; then
    echo "error: $c depends on a metrics crate with bench-metrics off:" >&2
    grep -E '^metrics(-[a-z-]+)? v' <<<"$off" >&2
    fail=1
  fi
  if ! grep -q '^metrics v' <<<"$on"; then
    echo "error: $c with bench-metrics does not depend on metrics: the feature is not forwarded" >&2
    fail=1
  fi
done
if [ "$fail" = 0 ]; then
  echo "ok: metrics absent without bench-metrics and present with it, in all ${#crates[@]} crates"
fi
exit "$fail"
