#!/usr/bin/env bash
# Fuzzes the readers of untrusted files with cargo-fuzz (libFuzzer), one target after the
# other, each for SECONDS (default 600). Not part of the test command: the kept corpora
# are replayed there by ordinary tests (see docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: asm proof_file key_files
#                                             prof_snapshot bench_config (default: all)
#
# New inputs that reach new code are added to fuzz/corpus/<target>/, which is then
# minimised (`cargo fuzz cmin`); a crash, timeout or out-of-memory input is written to
# fuzz/artifacts/<target>/ and reported at the end. Logs: $FUZZ_LOGS (default fuzz/logs).
# SANITIZER=none skips AddressSanitizer (faster, and for hosts where it does not link).
#
# cargo-fuzz needs nightly rustc flags; RUSTC_BOOTSTRAP=1 lets the pinned stable
# toolchain accept them. Nothing else in the project depends on it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(asm proof_file key_files prof_snapshot bench_config)
fi
sanitizer=${SANITIZER:-address}
logs=${FUZZ_LOGS:-$root/fuzz/logs}
mkdir -p "$logs"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
# cargo-fuzz passes its flags in RUSTFLAGS, which replaces .cargo/config.toml's
# target-cpu=native: without it Plonky3 hashes unpacked and keygen is several times slower.
export RUSTFLAGS="${RUSTFLAGS:-} -Ctarget-cpu=native"
fuzz=(cargo fuzz)
run() { nice -n 19 "$@"; }

run "${fuzz[@]}" build --fuzz-dir "$root/fuzz" --sanitizer "$sanitizer"

# Inputs libFuzzer saved as failures (slow-unit-* files are only slow, under load too).
findings() {
  find "fuzz/artifacts/$1" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \
    -o -name 'leak-*' \) 2>/dev/null | wc -l
}

failed=()
for target in "${targets[@]}"; do
  log="$logs/$target.log"
  dict=()
  if [ -f "fuzz/dict/$target.dict" ]; then
    dict=(-dict="$root/fuzz/dict/$target.dict")
  fi
  before=$(findings "$target")
  echo "==> $target: ${seconds}s, log $log"
  # One process (-jobs=1 writes the worker's log to fuzz-0.log in the working directory,
  # hence the cd). -timeout: reading a proving key runs keygen (about a second when
  # instrumented); ten times that is a hang.
  (cd "$logs" && run "${fuzz[@]}" run --fuzz-dir "$root/fuzz" --sanitizer "$sanitizer" \
    "$target" -- -max_total_time="$seconds" -jobs=1 -workers=1 -print_final_stats=1 \
    -timeout=30 -rss_limit_mb=2048 "${dict[@]}") >"$log" 2>&1 || true
  # Kept by edge coverage (set cover, no hit counts): counters would keep dozens of
  # near-copies of the 70 kB seed proof, each reaching one loop a different number of times.
  (cd "$logs" && run "${fuzz[@]}" cmin --fuzz-dir "$root/fuzz" --sanitizer "$sanitizer" \
    "$target" -- -set_cover_merge=1 -use_counters=0) >"$logs/$target.cmin.log" 2>&1
  after=$(findings "$target")
  executions=$(grep -o 'number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo '?')
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  echo "    executions $executions, corpus $corpus files, new artifacts $((after - before))"
  if [ "$after" -gt "$before" ]; then
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "findings in: ${failed[*]} (inputs in fuzz/artifacts/; reproduce with" \
    "RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>)"
  exit 1
fi
