#!/usr/bin/env bash
# With bench-metrics off, no crate of the workspace may pull in the `metrics` crates;
# with it on, each must (the feature is forwarded down to starkscope-metrics).
# The shipped binaries never enable the soundness-testing features (`forge`: lying
# witnesses; `ablation`: a backend that can drop a constraint; `test-support`: the
# backend's proof-mutation helpers for tests), with or without metrics.
# The libraries below the binaries (stark-backend, vm, recursion, sdk) depend only on what they emit
# with (starkscope-metrics): never on the harness, a tracing subscriber or an exporter.
# The binaries compile an exporter (HTTP client, async runtime, OpenTelemetry) only with
# their `exporters` feature, which does forward to the harness.
# Exit 1 naming the crate that breaks the rule.
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(starkscope starkscope-benchmarks starkscope-sdk starkscope-vm starkscope-recursion starkscope-stark-backend starkscope-metrics starkscope-harness starkscope-prof)
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
# What the libraries may not pull in, with any feature set users build with.
collectors='^(starkscope-harness|tracing-subscriber|tracing-forest|metrics-util|metrics-tracing-context|metrics-exporter-prometheus|opentelemetry[a-z_-]*) v'
# The check must see a collector where there is one (or it would pass vacuously).
if ! cargo tree -e normal -p starkscope --features bench-metrics --prefix none | grep -Eq "$collectors"; then
  echo "error: the library-shape check does not see the harness under the cli" >&2
  fail=1
fi
# `forbid PKG PATTERN WHY`: fails naming PKG when its build, with or without bench-metrics,
# compiles a crate matching PATTERN.
forbid() {
  local pkg=$1 pattern=$2 why=$3 features found
  for features in "" "--features=bench-metrics"; do
    found=$(cargo tree -e normal -p "$pkg" $features --prefix none | grep -E "$pattern" | sort -u || true)
    if [ -n "$found" ]; then
      echo "error: $pkg ${features:-(default features)} $why:" >&2
      echo "$found" >&2
      fail=1
    fi
  done
}
for lib in starkscope-stark-backend starkscope-vm starkscope-recursion starkscope-sdk; do
  forbid "$lib" "$collectors" "depends on collecting code; libraries emit through starkscope-metrics only"
done
# Exporter crates in a binary only with `exporters`.
exporter_crates='^(metrics-exporter-prometheus|opentelemetry[a-z_-]*|ureq|tokio) v'
for bin in starkscope starkscope-benchmarks; do
  forbid "$bin" "$exporter_crates" "compiles exporter crates; only --features exporters may"
  with=$(cargo tree -e normal -p "$bin" --features exporters --prefix none)
  for want in metrics-exporter-prometheus opentelemetry-otlp libc; do
    if ! grep -q "^$want v" <<<"$with"; then
      echo "error: $bin --features exporters does not compile $want: the feature is not forwarded to starkscope-harness/exporters" >&2
      fail=1
    fi
  done
done
# `soundness_features PKG ARGS...`: the forge/ablation/test-support features PKG's build enables.
soundness_features() {
  local pkg=$1
  shift
  for dep in starkscope-vm starkscope-recursion starkscope-stark-backend; do
    cargo tree -e features -i "$dep" -p "$pkg" "$@" --prefix none 2>/dev/null
  done | grep -Eo '^starkscope-(vm|recursion|stark-backend) feature "(forge|ablation|test-support)"' | sort -u || true
}
# The check must see the features when they are on (or it would pass vacuously).
if [ -z "$(soundness_features starkscope-vm --features ablation)" ]; then
  echo "error: the soundness-feature check does not see starkscope-vm's ablation feature" >&2
  fail=1
fi
if [ -z "$(soundness_features starkscope-stark-backend --features test-support)" ]; then
  echo "error: the soundness-feature check does not see starkscope-stark-backend's test-support feature" >&2
  fail=1
fi
for bin in starkscope starkscope-benchmarks; do
  for features in "" "--features=bench-metrics" "--features=exporters"; do
    found=$(soundness_features "$bin" $features)
    if [ -n "$found" ]; then
      echo "error: $bin ${features:-(default features)} enables a soundness-testing feature:" >&2
      echo "$found" >&2
      fail=1
    fi
  done
done
if [ "$fail" = 0 ]; then
  echo "ok: metrics absent without bench-metrics and present with it, in all ${#crates[@]} crates"
  echo "ok: no shipped binary enables forge, ablation or test-support"
  echo "ok: stark-backend, vm, recursion and sdk depend on no harness, subscriber or exporter"
  echo "ok: the binaries compile exporters only with --features exporters, and then all of them"
fi
exit "$fail"
