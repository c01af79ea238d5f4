//! What a successful run writes, the diff rules seen end to end, and the regression gate.

mod common;

use std::fs;

use common::*;
use starkscope_prof::bench_json::BenchEntry;
use starkscope_prof::gate::exact::Direction;
use starkscope_prof::{files, run, Regression};

#[test]
fn out_dir_gets_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(&["aggregation.json"]);
    o.out_dir = Some(dir.path().join("report"));
    let outcome = run(&o).unwrap();
    assert!(!outcome.regressed());
    let out = dir.path().join("report");
    for f in [
        files::SUMMARY_MD,
        files::DETAILED_MD,
        files::REPORT_HTML,
        files::BENCH_JSON,
        files::CYCLES_FOLDED,
        files::CYCLES_SVG,
        files::PROVER_FOLDED,
        files::PROVER_SVG,
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Nothing else (no staging directory left).
    assert_eq!(fs::read_dir(&out).unwrap().count(), 8);
    assert_eq!(
        fs::read_to_string(out.join(files::SUMMARY_MD)).unwrap(),
        outcome.summary
    );
}

#[test]
fn folded_stacks_hold_self_counts_of_inclusive_regions() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(&["app_segments.json"]);
    o.out_dir = Some(dir.path().to_path_buf());
    run(&o).unwrap();
    let folded = fs::read_to_string(dir.path().join(files::CYCLES_FOLDED)).unwrap();
    let count = |stack: &str| -> u64 {
        folded
            .lines()
            .find_map(|l| {
                l.rsplit_once(' ')
                    .filter(|(s, _)| *s == stack)
                    .map(|(_, c)| c.parse().unwrap())
            })
            .unwrap_or_else(|| panic!("no `{stack}` in\n{folded}"))
    };
    // Per segment: main 0.9, main;loop 0.7, main;loop;hash 0.25, setup 0.05 of the cycles
    // (16384, 16384, 5000), inclusive. Self counts subtract the nested regions.
    let sum = |f: f64| -> u64 {
        [16384.0, 16384.0, 5000.0]
            .iter()
            .map(|c: &f64| (c * f) as u64)
            .sum()
    };
    assert_eq!(count("fib;main;loop;hash"), sum(0.25));
    assert_eq!(count("fib;main;loop"), sum(0.7) - sum(0.25));
    assert_eq!(count("fib;main"), sum(0.9) - sum(0.7));
    assert_eq!(count("fib;setup"), sum(0.05));
    assert_eq!(count("fib"), 37768 - sum(0.9) - sum(0.05));
    // Every cycle is accounted for exactly once.
    let total: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 37768);
    let svg = fs::read_to_string(dir.path().join(files::CYCLES_SVG)).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("hash"),
        "flamegraph lacks frames"
    );
}

#[test]
fn prover_phase_stacks_add_up_to_the_proof_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(&["app_segments.json"]);
    o.out_dir = Some(dir.path().to_path_buf());
    run(&o).unwrap();
    let folded = fs::read_to_string(dir.path().join(files::PROVER_FOLDED)).unwrap();
    let total_us: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    // total_proof_time_ms summed over the three segments, in microseconds (rounding per frame).
    let expected = (209.25 + 209.25 + 104.8125) * 1000.0;
    assert!(
        (total_us as f64 - expected).abs() < 20.0,
        "{total_us} vs {expected}\n{folded}"
    );
    assert!(
        folded.contains("fib;stark_prove;quotient_poly_compute "),
        "{folded}"
    );
    assert!(folded.contains("fib;execute "), "{folded}");
}

#[test]
fn bench_json_is_the_tracker_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(&["aggregation.json"]);
    o.json = Some(dir.path().join("bench.json"));
    let outcome = run(&o).unwrap();
    assert_eq!(outcome.written, vec![dir.path().join("bench.json")]);
    let entries: Vec<BenchEntry> =
        serde_json::from_slice(&fs::read(dir.path().join("bench.json")).unwrap()).unwrap();
    let get = |n: &str| {
        entries
            .iter()
            .find(|e| e.name == n)
            .unwrap_or_else(|| panic!("{n} missing: {entries:?}"))
    };
    assert_eq!(get("total proof time").unit, "ms");
    assert_eq!(get("total cycles").value, 29384.0);
    assert_eq!(get("proof size").value, 180000.0);
    assert_eq!(get("proof size").unit, "bytes");
    assert!(get("root proof time (sum)").value > 0.0);
    // The raw JSON has exactly the three keys github-action-benchmark reads.
    let raw: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("bench.json")).unwrap()).unwrap();
    for e in raw.as_array().unwrap() {
        let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name", "unit", "value"]);
    }
}

#[test]
fn aggregation_layers_sum_in_sequence_and_bound_parallelism() {
    let mut o = opts(&["aggregation.json"]);
    o.provers = Some(1);
    let one = summary_of(&o);
    o.provers = Some(2);
    let two = summary_of(&o);
    let value = |md: &str, row: &str| -> f64 {
        let line = md
            .lines()
            .find(|l| l.starts_with(&format!("| {row} |")))
            .unwrap();
        line.split('|')
            .nth(3)
            .unwrap()
            .trim()
            .replace(',', "")
            .parse()
            .unwrap()
    };
    let total = value(&one, "total proof time");
    let parallel = value(&one, "parallel proof time");
    assert_eq!(
        value(&one, "proof time with 1 provers"),
        total,
        "one prover does everything in sequence"
    );
    let bounded = value(&two, "proof time with 2 provers");
    assert!(
        parallel <= bounded && bounded < total,
        "{parallel} <= {bounded} < {total}"
    );
    for layer in ["fib", "leaf", "internal.0", "internal.1", "root"] {
        assert!(
            one.contains(&format!("| {layer} |")),
            "layer {layer} missing"
        );
    }
}

fn baseline_opts() -> starkscope_prof::ProfOptions {
    let mut o = opts(&["app_segments.json"]);
    o.baselines = vec![fixture("baseline.json")];
    o
}

#[test]
fn diff_colours_follow_direction_and_threshold() {
    let md = summary_of(&baseline_opts());
    let seg = |n: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {n} | ")))
            .unwrap()
            .to_string()
    };
    // Segment 1 proved 10% faster than the baseline: green on a lower-is-better time,
    // and the derived throughput (higher is better) is green too.
    let s1 = seg("1");
    assert!(
        s1.contains("166.5 <span style=\"color: green\">(-18.50 [-10.0%])</span>"),
        "{s1}"
    );
    assert!(
        s1.contains("78,298.7 <span style=\"color: green\">(+6,360.2 [+8.8%])</span>"),
        "{s1}"
    );
    // Segment 0 has more cells than the baseline: red. Its execute time moved 0.8%: hidden.
    let s0 = seg("0");
    assert!(
        s0.contains("1,138,688 <span style=\"color: red\">(+238,688 [+26.5%])</span>"),
        "{s0}"
    );
    assert!(s0.starts_with("| 0 | 12.50 | 30.25 |"), "{s0}");
    // With a threshold of 0.5% the execute change shows.
    let mut o = baseline_opts();
    o.threshold_pct = 0.5;
    let md = summary_of(&o);
    let s0 = md.lines().find(|l| l.starts_with("| 0 | ")).unwrap();
    assert!(
        s0.starts_with("| 0 | 12.50 <span style=\"color: green\">(-0.100 [-0.8%])</span> |"),
        "{s0}"
    );
}

#[test]
fn zero_and_missing_baselines_give_no_nan_or_inf() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = baseline_opts();
    o.out_dir = Some(dir.path().to_path_buf());
    let outcome = run(&o).unwrap();
    for f in [files::SUMMARY_MD, files::DETAILED_MD, files::REPORT_HTML] {
        let text = fs::read_to_string(dir.path().join(f)).unwrap();
        // As tokens: `inf` inside a word (e.g. `inferno`) is not a number.
        let tokens: Vec<&str> = text.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        for bad in ["NaN", "nan", "inf", "Infinity"] {
            assert!(!tokens.contains(&bad), "{f} contains {bad}");
        }
    }
    // Zero baseline: the change is shown as from 0, and red (a time appeared).
    assert!(
        outcome
            .summary
            .contains("<span style=\"color: red\">(+3.25 [from 0])</span>"),
        "{}",
        outcome.summary
    );
    // A metric present in the baseline only is listed, not dropped.
    assert!(outcome
        .summary
        .contains("Only in the baseline:\n\n- `peak_rss_bytes` in group `fib`"));
    let detailed = fs::read_to_string(dir.path().join(files::DETAILED_MD)).unwrap();
    assert!(detailed.contains("- (was 104,857,600)"));
    // A value present in the run only is marked new.
    assert!(
        detailed.contains("| fib | 2 | poseidon2 | 312 (new) |"),
        "{detailed}"
    );
}

#[test]
fn the_gate_compares_deterministic_metrics_exactly() {
    // The run against itself never regresses; its timings have no repeats to compare.
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(&["app_segments.json"]);
    o.baselines = vec![fixture("app_segments.json")];
    o.fail_on_regression_pct = Some(0.0);
    o.out_dir = Some(dir.path().join("same"));
    let outcome = run(&o).unwrap();
    assert!(!outcome.regressed(), "{:?}", outcome.regressions);
    let gate = outcome.gate.unwrap();
    assert!(gate.exact.compared > 50 && gate.exact.changes.is_empty());
    assert!(gate
        .timings
        .not_gated
        .unwrap()
        .contains("no repeated samples"));
    let md = fs::read_to_string(dir.path().join("same").join(files::GATE_MD)).unwrap();
    assert!(md.starts_with("### Gate: ✅ within"), "{md}");
    let json: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join("same").join(files::GATE_JSON)).unwrap(),
    )
    .unwrap();
    assert_eq!(json["regressed"], false);

    // The baseline had fewer cells in segment 0 and no poseidon2 in segment 2: the run's
    // extra cells (+26%) and its new opcode count both fail, whatever the threshold; its
    // times (better or worse) are not judged from single runs.
    let mut o = baseline_opts();
    o.fail_on_regression_pct = Some(50.0);
    let outcome = run(&o).unwrap();
    let found: Vec<String> = outcome.regressions.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        found,
        [
            "frequency{group=fib,opcode=poseidon2,segment=2}: absent -> 312 (new in the run)",
            "total_cells{group=fib,segment=0}: 900,000 -> 1,138,688 (worse)",
        ]
    );
    assert!(outcome
        .regressions
        .iter()
        .all(|r| matches!(r, Regression::Deterministic(_))));

    // The other way round: fewer cells is better and passes; the opcode count that
    // disappeared does not.
    let mut o = opts(&["baseline.json"]);
    o.baselines = vec![fixture("app_segments.json")];
    o.fail_on_regression_pct = Some(5.0);
    let outcome = run(&o).unwrap();
    let changes = &outcome.gate.as_ref().unwrap().exact.changes;
    let directions: Vec<(&str, Direction)> = changes
        .iter()
        .map(|c| (c.metric.as_str(), c.direction))
        .collect();
    assert_eq!(
        directions,
        [
            ("frequency", Direction::Missing),
            ("total_cells", Direction::Better)
        ]
    );
    assert_eq!(outcome.regressions.len(), 1);
}

#[test]
fn a_deterministic_series_missing_from_the_run_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let only_time = dir.path().join("only_time.json");
    fs::write(
        &only_time,
        r#"{"gauge":[{"metric":"total_proof_time_ms","labels":[["group","fib"],["segment","0"]],"value":"1"}]}"#,
    )
    .unwrap();
    let mut o = opts(&[]);
    o.inputs = vec![only_time];
    o.baselines = vec![fixture("app_segments.json")];
    o.fail_on_regression_pct = Some(1000.0);
    let outcome = run(&o).unwrap();
    let missing: Vec<String> = outcome.regressions.iter().map(|r| r.to_string()).collect();
    assert!(
        missing
            .iter()
            .any(|m| m.starts_with("total_cycles{group=fib,segment=0}: ")
                && m.ends_with(" -> absent (missing from the run)")),
        "{missing:?}"
    );
}

#[test]
fn a_panicked_run_is_flagged_and_its_meta_shown() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture("app_segments.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["meta"]["panic"] = "index out of bounds".into();
    let path = dir.path().join("panicked.json");
    fs::write(&path, json.to_string()).unwrap();
    let mut o = opts(&[]);
    o.inputs = vec![path];
    let outcome = run(&o).unwrap();
    assert!(
        outcome
            .summary
            .contains("(run `fixture-app`, git `0123abc`)"),
        "{}",
        outcome.summary
    );
    assert!(
        outcome.summary.contains("**Warning:**") && outcome.summary.contains("index out of bounds")
    );
    assert_eq!(outcome.warnings.len(), 1);
    assert!(outcome.warnings[0].contains("metrics are partial"));
}

#[test]
fn a_pipe_in_a_label_value_does_not_break_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipe.json");
    fs::write(
        &path,
        r#"{"counter":[{"metric":"cells","labels":[["group","a|b"],["segment","0"],["air_name","x|y"],["air_id","0"]],"value":"8"}],
            "gauge":[{"metric":"total_proof_time_ms","labels":[["group","a|b"],["segment","0"]],"value":"2.5"}]}"#,
    )
    .unwrap();
    let mut o = opts(&[]);
    o.inputs = vec![path];
    o.out_dir = Some(dir.path().join("out"));
    run(&o).unwrap();
    let detailed = fs::read_to_string(dir.path().join("out").join(files::DETAILED_MD)).unwrap();
    let row = detailed
        .lines()
        .find(|l| l.contains("x\\|y"))
        .expect("escaped label value");
    // 5 cells: group, segment, air_id, air_name, cells -> 6 unescaped pipes.
    assert_eq!(row.replace("\\|", "").matches('|').count(), 6, "{row}");
}

#[test]
fn samples_without_a_group_are_read_as_one_app() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nogroup.json");
    fs::write(
        &path,
        r#"{"counter":[{"metric":"total_cycles","labels":[["segment","0"]],"value":"100"},
                       {"metric":"total_cycles","labels":[["segment","1"]],"value":"50"}],
            "gauge":[{"metric":"total_proof_time_ms","labels":[["segment","0"]],"value":"4"},
                     {"metric":"total_proof_time_ms","labels":[["segment","1"]],"value":"2"}]}"#,
    )
    .unwrap();
    let mut o = opts(&[]);
    o.inputs = vec![path];
    let md = run(&o).unwrap().summary;
    assert!(md.contains("| total proof time | ms | 6 |"), "{md}");
    assert!(md.contains("| parallel proof time | ms | 4 |"), "{md}");
    assert!(md.contains("| total cycles | count | 150 |"), "{md}");
    assert!(md.contains("### Segments of `(no group)`"), "{md}");
}

#[test]
fn label_values_cannot_inject_html_into_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("html.json");
    fs::write(
        &path,
        r#"{"counter":[{"metric":"cells","labels":[["group","<b>g</b>"],["segment","0"],["air_name","<script>alert(1)</script>"],["air_id","0"]],"value":"8"}],
            "gauge":[{"metric":"total_proof_time_ms","labels":[["group","<b>g</b>"],["segment","0"]],"value":"2.5"}]}"#,
    )
    .unwrap();
    let mut o = opts(&[]);
    o.inputs = vec![path];
    o.out_dir = Some(dir.path().join("out"));
    run(&o).unwrap();
    let html = fs::read_to_string(dir.path().join("out").join(files::REPORT_HTML)).unwrap();
    assert!(
        !html.contains("<script>alert"),
        "label value reached the HTML unescaped"
    );
    assert!(
        !html.contains("<b>g</b>"),
        "group name reached the HTML unescaped"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn peak_memory_is_a_headline_when_sampled_and_the_gate_holds_its_median_to_a_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    // A snapshot whose own peak is the first sample's; `samples` empty: no repeats.
    let snapshot = |name: &str, samples: &[f64]| {
        let path = dir.path().join(name);
        let repeats = if samples.is_empty() {
            String::new()
        } else {
            let n = samples.len();
            let ms = vec![100.0; n];
            format!(
                r#","repeats":{{"samples":{n},"representative":0,"yardstick":{{"id":"y","ms":{ms:?}}},"series":{{"run_peak_rss_bytes":{samples:?}}}}}"#
            )
        };
        let rss = samples.first().copied().unwrap_or(1e9);
        fs::write(
            &path,
            format!(
                r#"{{"meta":{{"schema":1,"run_id":"r","started_at":"t"{repeats}}},
                     "gauge":[{{"metric":"total_proof_time_ms","labels":[["group","fib"],["segment","0"]],"value":"100"}},
                             {{"metric":"run_peak_rss_bytes","labels":[],"value":"{rss}"}}]}}"#
            ),
        )
        .unwrap();
        path
    };
    let base = snapshot("base.json", &[1.00e9, 1.01e9, 0.99e9, 1.0e9, 1.0e9]);
    // 1% more, and one odd sample 50% up: the samples overlap the baseline's.
    let same = snapshot("same.json", &[1.01e9, 1.5e9, 1.01e9, 1.0e9, 1.02e9]);
    let fat = snapshot("fat.json", &[1.3e9, 1.31e9, 1.29e9]);
    let single = snapshot("single.json", &[]);

    let mut o = opts(&[]);
    o.inputs = vec![same];
    o.baselines = vec![base.clone()];
    o.fail_on_regression_pct = Some(10.0);
    let outcome = run(&o).unwrap();
    assert!(
        outcome.summary.contains("peak memory (RSS)"),
        "{}",
        outcome.summary
    );
    assert!(outcome.regressions.is_empty(), "{:?}", outcome.regressions);

    o.inputs = vec![fat.clone()];
    let outcome = run(&o).unwrap();
    assert!(
        matches!(outcome.regressions[..], [Regression::NearlyExact(_)]),
        "{:?}",
        outcome.regressions
    );
    assert_eq!(
        outcome.regressions[0].to_string(),
        "peak memory (run_peak_rss_bytes): median 1,000,000,000 -> 1,300,000,000 bytes (+30.0%); the run's 3 samples span 1,290,000,000..1,310,000,000, the baseline's 5 span 990,000,000..1,010,000,000: lowest run sample +27.7% against the highest baseline sample, tolerance 3%"
    );

    // One run's peak is not judged, either way round.
    for (run_file, base_file) in [(single.clone(), base), (fat, single)] {
        o.inputs = vec![run_file];
        o.baselines = vec![base_file];
        let outcome = run(&o).unwrap();
        assert!(outcome.regressions.is_empty(), "{:?}", outcome.regressions);
        let why = outcome.gate.unwrap().nearly_exact.not_gated;
        assert!(
            why[0].starts_with("peak memory:") && why[0].contains("one run's"),
            "{why:?}"
        );
    }

    // Without the sampler there is no such headline (and nothing to compare).
    o.inputs = vec![fixture("app_segments.json")];
    o.baselines = vec![];
    o.fail_on_regression_pct = None;
    assert!(!run(&o).unwrap().summary.contains("peak memory"));
}
