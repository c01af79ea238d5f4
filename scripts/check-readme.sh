#!/usr/bin/env bash
# Runs the README's quick start as a new user would, and checks what it promises.
#
#   bash scripts/check-readme.sh          # outputs removed afterwards
#   KEEP=1 bash scripts/check-readme.sh   # outputs kept
#   bash scripts/check-readme.sh --list   # only print the commands it would run
#
# Takes the first ```sh block under the README's "## Quick start" heading, and runs its
# commands verbatim and in order from the repository root (comment lines skipped, lines
# ending in a backslash joined), each with `bash -e`; stops at the first that fails, naming
# it. Then checks the files the block writes. It builds release binaries (a few minutes on
# a fresh checkout). The variables that would steer the scripts elsewhere (CARGO_TARGET_DIR,
# METRIC_OUTPUT, PROOF, FIB_N, SEGMENT_SIZE) are unset, as on a fresh machine.
#
# The outputs (run.json, root.bin, fib.tree.vk, prof-out, bench-out, ...) are gitignored. Ones that
# existed before are moved aside and put back afterwards, so a checkout's own run.json or
# root.bin survives; unless KEEP=1, what the block wrote is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

readme=README.md
# What the block writes, and the files that must exist after it.
outputs=(run.json root.bin fib.tree.vk prof-out bench-out bench-out-2 bench-diff)
expected=(run.json root.bin fib.tree.vk prof-out/summary.md prof-out/report.html bench-out/fibonacci.json
  bench-out-2/fibonacci.json bench-diff/summary.md)

die() { echo "error: $*" >&2; exit 1; }

[ -f "$readme" ] || die "$readme not found in $root"

# The block: the first ```sh fence after "## Quick start", before the next "## " heading.
block=$(awk '
  /^## Quick start[[:space:]]*$/ { in_section = 1; next }
  in_section && /^## / { exit }
  in_section && !in_block && /^```(sh|bash|shell)[[:space:]]*$/ { in_block = 1; found = 1; next }
  in_block && /^```[[:space:]]*$/ { exit }
  in_block { print }
  END { if (!found) exit 3 }
' "$readme") || die "$readme has no \`\`\`sh block under a '## Quick start' heading"

commands=()
pending=""
while IFS= read -r line || [ -n "$line" ]; do
  if [ -z "$pending" ]; then
    trimmed="${line#"${line%%[![:space:]]*}"}"
    [ -z "$trimmed" ] && continue
    [ "${trimmed:0:1}" = "#" ] && continue
  fi
  if [[ "$line" == *\\ ]]; then
    pending+="${line%\\} "
    continue
  fi
  commands+=("$pending$line")
  pending=""
done <<<"$block"
[ -z "$pending" ] || commands+=("$pending")
[ "${#commands[@]}" -gt 0 ] || die "the quick-start block of $readme has no command"

if [ "${1:-}" = --list ]; then
  printf '%s\n' "${commands[@]}"
  exit 0
fi
[ "$#" -eq 0 ] || die "usage: $0 [--list]"

# Move earlier outputs aside; put them back (and remove ours unless KEEP=1) on exit.
backup=$(mktemp -d "${TMPDIR:-/tmp}/starkscope-readme.XXXXXX")
for o in "${outputs[@]}"; do
  if [ -e "$o" ]; then mv "$o" "$backup/"; fi
done
restore() {
  local code=$?
  cd "$root"
  if [ "${KEEP:-0}" != 1 ]; then
    for o in "${outputs[@]}"; do rm -rf "$o"; done
  fi
  for o in "${outputs[@]}"; do
    if [ -e "$backup/$o" ]; then
      if [ -e "$o" ]; then
        echo "note: kept the quick start's $o; the earlier one is in $backup/$o" >&2
        continue
      fi
      mv "$backup/$o" "$o"
    fi
  done
  rmdir "$backup" 2>/dev/null || true
  exit "$code"
}
trap restore EXIT

unset CARGO_TARGET_DIR METRIC_OUTPUT PROOF FIB_N SEGMENT_SIZE

i=0
for cmd in "${commands[@]}"; do
  i=$((i + 1))
  printf '\n==> [%d/%d] %s\n' "$i" "${#commands[@]}" "$cmd" >&2
  cd "$root"
  code=0
  bash -e -o pipefail -c "$cmd" </dev/null || code=$?
  if [ "$code" -ne 0 ]; then
    die "README quick start, command $i of ${#commands[@]} failed (exit $code): $cmd"
  fi
done

missing=()
for f in "${expected[@]}"; do
  [ -s "$f" ] || missing+=("$f")
done
[ "${#missing[@]}" -eq 0 ] || die "the README quick start ran but did not write: ${missing[*]}"
grep -q '^baseline:' bench-diff/summary.md \
  || die "bench-diff/summary.md does not name a baseline: the comparison step compared nothing"

echo "ok: README quick start, ${#commands[@]} commands, wrote ${expected[*]}" >&2
