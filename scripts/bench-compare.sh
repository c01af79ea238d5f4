#!/usr/bin/env bash
# Gates benchmark snapshots against a baseline and writes one markdown report: what the
# `compare` job of .github/workflows/benchmark.yml posts on a pull request.
#
#   scripts/bench-compare.sh RUN_DIR BASELINE_DIR OUT_DIR
#
# RUN_DIR holds `starkscope-bench run --samples N` snapshots (NAME.json, optionally
# NAME.cpu.txt naming the CPU it ran on); BASELINE_DIR the same for the baseline, and may be
# missing or empty (no baseline yet). For each benchmark, `starkscope prof RUN_DIR/NAME.json
# --baseline BASELINE_DIR/NAME.json --out-dir OUT_DIR/NAME --fail-on-regression
# $REGRESSION_PCT` (without the baseline flags when the baseline has no NAME.json). The gate
# (docs/prof.md): deterministic metrics (cycles, rows, cells, constraints, ...) exactly;
# peak memory and proof size sample against sample, with a tolerance; timings as medians of
# the samples in units of a yardstick measured in the same job, against a threshold derived
# from their spread. Every benchmark is compared, whatever the others did. Writes into OUT_DIR:
#
#   NAME/            prof's reports (summary.md, gate.md, gate.json, report.html, ...), prof.log
#   report.md        marker line, verdict table, each gate.md and summary.md in a <details> block
#   comment.md       report.md cut to fit one GitHub comment (COMMENT_LIMIT bytes)
#   verdicts.tsv     name, prof exit code (or "missing"), verdict
#
# Environment:
#   STARKSCOPE       the starkscope binary (default target/release/starkscope, built with
#                    --features bench-metrics)
#   REGRESSION_PCT   the smallest slowdown (in yardstick units) that fails; noisy samples
#                    raise the threshold above it (default 5)
#   BENCH_NAMES      the benchmarks expected, as a JSON array or separated by spaces or commas
#                    (default: every NAME.json in RUN_DIR); one without a snapshot is an error
#   BASELINE_NOTE    markdown saying where the baseline comes from
#   RUN_URL          link to the CI run, for the full reports
#   COMMENT_LIMIT    default 60000 (GitHub refuses comments over 65536 characters)
#
# Exit codes (starkscope_sdk::Exit's table, docs/sdk.md), so that a caller tells a
# regression from a failure:
#   0   every benchmark within the gate (or without a baseline)
#   4   a benchmark regressed, and every other one was compared
#   2   usage: wrong arguments or environment values (nothing compared)
#   3   bad input: RUN_DIR missing, a benchmark without a snapshot, a snapshot prof cannot read
#   75  worth retrying: jq missing, an output that could not be written
#   70  anything else (a bug)
# A benchmark that could not be compared outranks a regression elsewhere: the run is not
# judged. Several failures exit with the first one's code, 75 only when all are 75.
set -euo pipefail

MARKER='<!-- starkscope-benchmark -->'

# The codes of starkscope_sdk::Exit used here.
EXIT_USAGE=2
EXIT_BAD_INPUT=3
EXIT_REGRESSION=4
EXIT_INTERNAL=70
EXIT_RETRY=75

die() { # code message...
  local code=$1
  shift
  echo "error: $*" >&2
  exit "$code"
}
trap 'echo "error: $0: line $LINENO failed (exit $?)" >&2; exit $EXIT_INTERNAL' ERR

[ "$#" -eq 3 ] || die $EXIT_USAGE "usage: $0 RUN_DIR BASELINE_DIR OUT_DIR"
run_dir=$1
base_dir=$2
out_dir=$3
prof=${STARKSCOPE:-target/release/starkscope}
pct=${REGRESSION_PCT:-5}
limit=${COMMENT_LIMIT:-60000}

[[ "$pct" =~ ^[0-9]+([.][0-9]+)?$ ]] || die $EXIT_USAGE "REGRESSION_PCT=$pct is not a number"
[[ "$limit" =~ ^[0-9]+$ ]] || die $EXIT_USAGE "COMMENT_LIMIT=$limit is not a number"
[ -x "$prof" ] || die $EXIT_USAGE "STARKSCOPE=$prof: no such executable (cargo build --release -p starkscope --features bench-metrics)"
command -v jq >/dev/null 2>&1 || die $EXIT_RETRY "jq is missing (apt-get install jq)"
[ -d "$run_dir" ] || die $EXIT_BAD_INPUT "$run_dir: no such directory (the snapshots of this run)"
mkdir -p "$out_dir" || die $EXIT_RETRY "cannot create $out_dir"

# The benchmarks: as told, else what the run has.
names=()
if [ -n "${BENCH_NAMES:-}" ]; then
  if [[ "$BENCH_NAMES" == \[* ]]; then
    jq -e 'type == "array" and all(.[]; type == "string")' <<<"$BENCH_NAMES" >/dev/null 2>&1 \
      || die $EXIT_USAGE "BENCH_NAMES is not a JSON array of names: $BENCH_NAMES"
    mapfile -t names < <(jq -r '.[]' <<<"$BENCH_NAMES")
  else
    read -r -a names <<<"${BENCH_NAMES//,/ }"
  fi
else
  shopt -s nullglob
  for f in "$run_dir"/*.json; do names+=("$(basename "$f" .json)"); done
  shopt -u nullglob
fi
[ "${#names[@]}" -gt 0 ] || die $EXIT_BAD_INPUT "no benchmarks: $run_dir has no NAME.json and BENCH_NAMES is empty"
for n in "${names[@]}"; do
  [[ "$n" =~ ^[A-Za-z0-9_.-]+$ ]] || die $EXIT_USAGE "benchmark name '$n' is not a plain file name"
done

have_baseline=0
if [ -d "$base_dir" ] && compgen -G "$base_dir/*.json" >/dev/null; then
  have_baseline=1
fi

# The run's own samples, from its snapshot's meta.repeats: "median spread" of a series
# (spread: median absolute deviation over the median), empty without repeats.
# shellcheck disable=SC2016 # jq's own $variables
JQ_STATS='
  def median: sort | if length == 0 then null
                     elif length % 2 == 1 then .[length / 2 | floor]
                     else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def spread: median as $m | if $m == null or $m == 0 then null
                             else (map(. - $m | if . < 0 then -. else . end) | median) / $m end;
  def stats: if . == null then empty else "\(median) \(spread)" end;'
repeat_stats() { # snapshot series|yardstick
  local path
  if [ "$2" = yardstick ]; then path='.meta.repeats.yardstick.ms'; else path=".meta.repeats.series.$2"; fi
  jq -r "$JQ_STATS ($path // null) | stats" "$1" 2>/dev/null || true
}
fmt_stat() { # "median spread" ms|MiB -> "1234 ms ±1.2%"
  if [ -z "$1" ]; then printf -- "-"; return; fi
  local m s
  read -r m s <<<"$1"
  awk -v m="$m" -v s="$s" -v unit="$2" \
    'BEGIN { if (unit == "MiB") m /= 1048576; printf "%.0f %s ±%.1f%%", m, unit, s * 100 }'
}
gate_field() { # gate.json jq-filter -> text, empty when absent
  jq -r "$2 // empty" "$1" 2>/dev/null || true
}
fmt() { # printf-format number -> formatted, "" stays ""
  if [ -n "$2" ]; then awk -v v="$2" -v f="$1" 'BEGIN { printf f, v }'; fi
}
cpu_of() {
  if [ -f "$1" ]; then head -n 1 "$1" | tr -d '\r|'; fi
}

: >"$out_dir/verdicts.tsv"
rows=()
details=()
failures=()
n_ok=0 n_new=0 n_regressed=0 n_error=0
for n in "${names[@]}"; do
  run="$run_dir/$n.json"
  base="$base_dir/$n.json"
  dir="$out_dir/$n"
  rm -rf "$dir"
  mkdir -p "$dir"
  log="$dir/prof.log"
  gate="$dir/gate.json"
  notes=""
  wall="" yard="" ratio="" base_ratio="" change="" threshold="" exact="" rss=""

  if [ ! -f "$run" ]; then
    code=missing
    verdict="💥 no snapshot (its bench job failed?)"
    n_error=$((n_error + 1))
    failures+=("$EXIT_BAD_INPUT")
    echo "$n: no snapshot $run" >"$log"
  else
    args=("$run" --out-dir "$dir")
    if [ -f "$base" ]; then
      args+=(--baseline "$base" --fail-on-regression "$pct")
    fi
    code=0
    "$prof" prof "${args[@]}" >/dev/null 2>"$log" || code=$?
    wall=$(fmt_stat "$(repeat_stats "$run" app_proof_time_ms)" ms)
    yard=$(fmt_stat "$(repeat_stats "$run" yardstick)" ms)
    rss=$(fmt_stat "$(repeat_stats "$run" run_peak_rss_bytes)" MiB)
    if [ -f "$gate" ]; then
      # The app proof's wall time is the row's timing; gate.md has every gated timing.
      t='(.timings | map(select(.key == "app_proof_time_ms"))[0])'
      ratio=$(fmt "%.3f" "$(gate_field "$gate" "$t.run.ratio")")
      base_ratio=$(fmt "%.3f" "$(gate_field "$gate" "$t.base.ratio")")
      change=$(fmt "%+.1f%%" "$(gate_field "$gate" "$t.change_pct")")
      threshold=$(fmt "%.1f%%" "$(gate_field "$gate" "$t.threshold_pct")")
      exact=$(gate_field "$gate" '.exact | if .changed == 0 then "✅ \(.compared) equal" elif .failing == 0 then "✅ \(.changed) of \(.compared) lower" else "❌ \(.failing) of \(.compared) changed" end')
      mem=$(fmt "%+.1f%%" "$(gate_field "$gate" '.nearly_exact | map(select(.key == "run_peak_rss_bytes"))[0].change_pct')")
      if [ -n "$mem" ]; then rss="$rss ($mem)"; fi
      not_gated=$(gate_field "$gate" '.timings_not_gated')
      if [ -n "$not_gated" ]; then notes="timings not gated: $not_gated"; fi
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
      "$EXIT_REGRESSION")
        verdict="❌ regression"
        n_regressed=$((n_regressed + 1))
        found=$(gate_field "$gate" '.regressions | (.[:3] | join("; ")) + (if length > 3 then "; and \(length - 3) more" else "" end)')
        notes="${found:-$(sed -n '/^regression:/,$ { /^  /p }' "$log" | sed 's/^ *//' | head -n 3 | paste -sd ';' -)}${notes:+; $notes}"
        ;;
      *)
        verdict="💥 error (prof exit $code)"
        n_error=$((n_error + 1))
        failures+=("$code")
        notes=$(grep -m 1 '^error' "$log" || tail -n 1 "$log")
        ;;
    esac
    run_cpu=$(cpu_of "$run_dir/$n.cpu.txt")
    base_cpu=$(cpu_of "$base_dir/$n.cpu.txt")
    if [ -f "$base" ] && [ -n "$run_cpu" ] && [ -n "$base_cpu" ] && [ "$run_cpu" != "$base_cpu" ]; then
      notes="${notes:+$notes; }⚠️ other CPU than the baseline ($run_cpu vs $base_cpu): the yardstick cancels speed, not every difference between CPUs"
    fi
  fi
  printf '%s\t%s\t%s\n' "$n" "$code" "$verdict" >>"$out_dir/verdicts.tsv"
  # Table cells hold no pipes or newlines.
  notes=${notes//|/\\|}
  notes=${notes//$'\n'/ }
  rows+=("| \`$n\` | $verdict | ${wall:--} | ${yard:--} | ${ratio:--} | ${base_ratio:--} | ${change:--} | ${threshold:--} | ${exact:--} | ${rss:--} | ${notes:-} |")

  block="<details><summary><code>$n</code>: $verdict</summary>"$'\n\n'
  if [ -f "$dir/summary.md" ]; then
    # Their headings two levels down, under the comment's own.
    if [ -f "$dir/gate.md" ]; then
      block+="$(sed -E 's/^(#{1,4}) /##\1 /' "$dir/gate.md")"$'\n\n'
    fi
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
  # The first failure that is not worth retrying; 75 only when all are.
  status=$EXIT_RETRY
  for c in "${failures[@]}"; do
    if [ "$c" != "$EXIT_RETRY" ]; then
      status=$c
      break
    fi
  done
  # prof's own codes pass through; anything unknown (a crash, 101) is a bug.
  case "$status" in
    "$EXIT_USAGE" | "$EXIT_BAD_INPUT" | "$EXIT_INTERNAL" | "$EXIT_RETRY") ;;
    *) status=$EXIT_INTERNAL ;;
  esac
  headline_text="**${n_error} benchmark(s) could not be compared**"
elif [ "$n_regressed" -gt 0 ]; then
  status=$EXIT_REGRESSION
  headline_text="**${n_regressed} benchmark(s) regressed**"
else
  status=0
  headline_text="No regression"
fi

head_md="$MARKER
## starkscope benchmarks

$headline_text: ${#names[@]} benchmark(s), ${n_ok} ok, ${n_new} without a baseline, ${n_regressed} regressed, ${n_error} error(s).
"
if [ "$have_baseline" = 1 ]; then
  head_md+="
Baseline: ${BASELINE_NOTE:-the snapshots in \`$base_dir\`}. The gate (\`starkscope prof --fail-on-regression ${pct}\`, docs/prof.md): deterministic metrics (cycles, rows, cells, constraints) must not get worse; peak memory and proof size fail only when every sample is above every baseline sample by more than 3% and 1%; times are medians of repeated samples divided by the median of a yardstick (a fixed Plonky3 proof) timed in the same job, and fail when slower than the threshold: max(${pct}%, 4 standard errors of the measured spread).
"
else
  head_md+="
**No baseline yet**${BASELINE_NOTE:+ ($BASELINE_NOTE)}: nothing to compare with, so nothing can regress. Each benchmark is summarised on its own; a successful run on \`main\` uploads the baseline the next runs compare with.
"
fi
head_md+="
| benchmark | verdict | app proof wall (median ± spread) | yardstick | wall / yardstick | baseline | change | threshold | deterministic metrics | peak RSS | notes |
|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|
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
} >"$out_dir/report.md" || die $EXIT_RETRY "cannot write $out_dir/report.md"

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
printf '%s' "$comment" >"$out_dir/comment.md" || die $EXIT_RETRY "cannot write $out_dir/comment.md"

column -t -s $'\t' "$out_dir/verdicts.tsv" >&2 || cat "$out_dir/verdicts.tsv" >&2
echo "wrote $out_dir/report.md and $out_dir/comment.md ($(wc -c <"$out_dir/comment.md") bytes); exit $status" >&2
exit "$status"
