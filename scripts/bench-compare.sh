#!/usr/bin/env bash
# Compares benchmark snapshots with a baseline and writes one markdown report: what the
# `compare` job of .github/workflows/benchmark.yml posts on a pull request.
#
#   scripts/bench-compare.sh RUN_DIR BASELINE_DIR OUT_DIR
#
# RUN_DIR holds `starkscope-bench run` snapshots (NAME.json, optionally NAME.cpu.txt naming
# the CPU it ran on); BASELINE_DIR the same for the baseline, and may be missing or empty
# (no baseline yet). For each benchmark, `starkscope prof RUN_DIR/NAME.json --baseline
# BASELINE_DIR/NAME.json --out-dir OUT_DIR/NAME --fail-on-regression $REGRESSION_PCT` (without
# the baseline flags when the baseline has no NAME.json). Every benchmark is compared, whatever
# the others did. Writes into OUT_DIR:
#
#   NAME/            prof's reports (summary.md, detailed.md, report.html, ...), prof.log
#   report.md        marker line, verdict table, every summary.md in a <details> block
#   comment.md       report.md cut to fit one GitHub comment (COMMENT_LIMIT bytes)
#   verdicts.tsv     name, prof exit code (or "missing"), verdict
#
# Environment:
#   STARKSCOPE       the starkscope binary (default target/release/starkscope, built with
#                    --features bench-metrics)
#   REGRESSION_PCT   a headline metric this many percent worse fails (default 10)
#   BENCH_NAMES      the benchmarks expected, as a JSON array or separated by spaces or commas
#                    (default: every NAME.json in RUN_DIR); one without a snapshot is an error
#   BASELINE_NOTE    markdown saying where the baseline comes from
#   RUN_URL          link to the CI run, for the full reports
#   COMMENT_LIMIT    default 60000 (GitHub refuses comments over 65536 characters)
#
# Exit: 0 every benchmark within the threshold (or without a baseline); 1 a benchmark could
# not be compared (missing snapshot, bad input: prof exit 1) or bad arguments; 2 otherwise,
# when a benchmark regressed (prof exit 2).
set -euo pipefail

MARKER='<!-- starkscope-benchmark -->'

die() { echo "error: $*" >&2; exit 1; }

[ "$#" -eq 3 ] || die "usage: $0 RUN_DIR BASELINE_DIR OUT_DIR"
run_dir=$1
base_dir=$2
out_dir=$3
prof=${STARKSCOPE:-target/release/starkscope}
pct=${REGRESSION_PCT:-10}
limit=${COMMENT_LIMIT:-60000}

[ -d "$run_dir" ] || die "$run_dir: no such directory (the snapshots of this run)"
[ -x "$prof" ] || die "$prof: no such executable (cargo build --release -p starkscope --features bench-metrics)"
[[ "$pct" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "REGRESSION_PCT=$pct is not a number"
command -v jq >/dev/null 2>&1 || die "jq is missing (apt-get install jq)"
mkdir -p "$out_dir"

# The benchmarks: as told, else what the run has.
names=()
if [ -n "${BENCH_NAMES:-}" ]; then
  if [[ "$BENCH_NAMES" == \[* ]]; then
    jq -e 'type == "array" and all(.[]; type == "string")' <<<"$BENCH_NAMES" >/dev/null 2>&1 \
      || die "BENCH_NAMES is not a JSON array of names: $BENCH_NAMES"
    mapfile -t names < <(jq -r '.[]' <<<"$BENCH_NAMES")
  else
    read -r -a names <<<"${BENCH_NAMES//,/ }"
  fi
else
  shopt -s nullglob
  for f in "$run_dir"/*.json; do names+=("$(basename "$f" .json)"); done
  shopt -u nullglob
fi
[ "${#names[@]}" -gt 0 ] || die "no benchmarks: $run_dir has no NAME.json and BENCH_NAMES is empty"
for n in "${names[@]}"; do
  [[ "$n" =~ ^[A-Za-z0-9_.-]+$ ]] || die "benchmark name '$n' is not a plain file name"
done

have_baseline=0
if [ -d "$base_dir" ] && compgen -G "$base_dir/*.json" >/dev/null; then
  have_baseline=1
fi

# "value" of a headline of prof's bench.json (customSmallerIsBetter), empty if absent.
headline() { jq -r --arg n "$2" 'map(select(.name == $n))[0].value // empty' "$1" 2>/dev/null || true; }
fmt_ms() {
  if [ -n "$1" ]; then printf "%'.1f ms" "$1"; else printf -- "-"; fi
}
change() { # run base -> "+12.3%"
  if [ -n "$1" ] && [ -n "$2" ]; then
    awk -v r="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%+.1f%%", (r - b) / b * 100 }'
  else
    printf -- "-"
  fi
}
cpu_of() {
  if [ -f "$1" ]; then head -n 1 "$1" | tr -d '\r|'; fi
}

: >"$out_dir/verdicts.tsv"
rows=()
details=()
n_ok=0 n_new=0 n_regressed=0 n_error=0
for n in "${names[@]}"; do
  run="$run_dir/$n.json"
  base="$base_dir/$n.json"
  dir="$out_dir/$n"
  rm -rf "$dir"
  mkdir -p "$dir"
  log="$dir/prof.log"
  run_ms="" base_ms="" run_par="" base_par="" notes=""

  if [ ! -f "$run" ]; then
    code=missing
    verdict="💥 no snapshot (its bench job failed?)"
    n_error=$((n_error + 1))
    echo "$n: no snapshot $run" >"$log"
  else
    args=("$run" --out-dir "$dir")
    if [ -f "$base" ]; then
      args+=(--baseline "$base" --fail-on-regression "$pct")
    fi
    code=0
    "$prof" prof "${args[@]}" >/dev/null 2>"$log" || code=$?
    run_ms=$(headline "$dir/bench.json" "total proof time")
    run_par=$(headline "$dir/bench.json" "parallel proof time")
    if [ -f "$base" ] && [ "$code" != 1 ]; then
      # The baseline's own headlines, for the table.
      if "$prof" prof "$base" --json "$dir/baseline-bench.json" >/dev/null 2>>"$log"; then
        base_ms=$(headline "$dir/baseline-bench.json" "total proof time")
        base_par=$(headline "$dir/baseline-bench.json" "parallel proof time")
      fi
    fi
    case "$code" in
      0)
        if [ -f "$base" ]; then
          verdict="✅ ok"
          n_ok=$((n_ok + 1))
        else
          verdict="🆕 no baseline"
          n_new=$((n_new + 1))
        fi
        ;;
      2)
        verdict="❌ regression > ${pct}%"
        n_regressed=$((n_regressed + 1))
        # prof names the regressed metrics on stderr, indented under "regression beyond".
        notes=$(sed -n '/^regression beyond/,$ { /^  /p }' "$log" | sed 's/^ *//' | paste -sd ';' - | sed 's/;/; /g')
        ;;
      *)
        verdict="💥 error (prof exit $code)"
        n_error=$((n_error + 1))
        notes=$(grep -m 1 '^error' "$log" || tail -n 1 "$log")
        ;;
    esac
    run_cpu=$(cpu_of "$run_dir/$n.cpu.txt")
    base_cpu=$(cpu_of "$base_dir/$n.cpu.txt")
    if [ -f "$base" ] && [ -n "$run_cpu" ] && [ -n "$base_cpu" ] && [ "$run_cpu" != "$base_cpu" ]; then
      notes="${notes:+$notes; }⚠️ other CPU than the baseline ($run_cpu vs $base_cpu): times are not comparable"
    fi
  fi
  printf '%s\t%s\t%s\n' "$n" "$code" "$verdict" >>"$out_dir/verdicts.tsv"
  # Table cells hold no pipes or newlines.
  notes=${notes//|/\\|}
  rows+=("| \`$n\` | $verdict | $(fmt_ms "$run_ms") | $(fmt_ms "$base_ms") | $(change "$run_ms" "$base_ms") | $(fmt_ms "$run_par") | $(change "$run_par" "$base_par") | ${notes:-} |")

  block="<details><summary><code>$n</code>: $verdict</summary>"$'\n\n'
  if [ -f "$dir/summary.md" ]; then
    # Its headings two levels down, under the comment's own.
    block+="$(sed -E 's/^(#{1,4}) /##\1 /' "$dir/summary.md")"
  else
    block+='```'$'\n'"$(cat "$log")"$'\n''```'
  fi
  block+=$'\n\n''</details>'
  details+=("$block")
done

# Baseline benchmarks this run no longer has.
dropped=()
if [ "$have_baseline" = 1 ]; then
  for f in "$base_dir"/*.json; do
    b=$(basename "$f" .json)
    keep=0
    for n in "${names[@]}"; do [ "$n" = "$b" ] && keep=1; done
    [ "$keep" = 1 ] || dropped+=("\`$b\`")
  done
fi

if [ "$n_error" -gt 0 ]; then
  status=1
  headline_text="**${n_error} benchmark(s) could not be compared**"
elif [ "$n_regressed" -gt 0 ]; then
  status=2
  headline_text="**${n_regressed} benchmark(s) regressed** by more than ${pct}%"
else
  status=0
  headline_text="No regression beyond ${pct}%"
fi

head_md="$MARKER
## starkscope benchmarks

$headline_text: ${#names[@]} benchmark(s), ${n_ok} ok, ${n_new} without a baseline, ${n_regressed} regressed, ${n_error} error(s).
"
if [ "$have_baseline" = 1 ]; then
  head_md+="
Baseline: ${BASELINE_NOTE:-the snapshots in \`$base_dir\`}. A run fails when a headline metric (total or parallel proof time, cycles, cells, proof size) is more than ${pct}% worse (\`starkscope prof --fail-on-regression ${pct}\`).
"
else
  head_md+="
**No baseline yet**${BASELINE_NOTE:+ ($BASELINE_NOTE)}: nothing to compare with, so nothing can regress. Each benchmark is summarised on its own; a successful run on \`main\` uploads the baseline the next runs compare with.
"
fi
head_md+="
| benchmark | verdict | total proof time | baseline | change | parallel proof time | change | notes |
|---|---|---:|---:|---:|---:|---:|---|
"
for r in "${rows[@]}"; do head_md+="$r"$'\n'; done
if [ "${#dropped[@]}" -gt 0 ]; then
  head_md+=$'\n'"In the baseline only (no longer benchmarked): ${dropped[*]}."$'\n'
fi
tail_md=""
if [ -n "${RUN_URL:-}" ]; then
  tail_md=$'\n'"Full reports (HTML with charts, flamegraphs, detailed tables): artifact \`bench-prof\` of [this run]($RUN_URL)."$'\n'
fi

{
  printf '%s\n' "$head_md"
  for d in "${details[@]}"; do printf '%s\n\n' "$d"; done
  printf '%s' "$tail_md"
} >"$out_dir/report.md"

# The comment: as many summaries as fit, in order; the rest are named.
comment="$head_md"$'\n'
left=()
for i in "${!details[@]}"; do
  d="${details[$i]}"
  if [ $(( $(printf '%s' "$comment$d$tail_md" | wc -c) + 400 )) -le "$limit" ]; then
    comment+="$d"$'\n\n'
  else
    left+=("\`${names[$i]}\`")
  fi
done
if [ "${#left[@]}" -gt 0 ]; then
  comment+="Summaries left out to fit one comment: ${left[*]} (see the job summary)."$'\n'
fi
comment+="$tail_md"
printf '%s' "$comment" >"$out_dir/comment.md"

column -t -s $'\t' "$out_dir/verdicts.tsv" >&2 || cat "$out_dir/verdicts.tsv" >&2
echo "wrote $out_dir/report.md and $out_dir/comment.md ($(wc -c <"$out_dir/comment.md") bytes); exit $status" >&2
exit "$status"
