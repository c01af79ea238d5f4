//! Bad input: a clear error naming the file and the problem, and no output file left
//! behind (nor an existing one touched). The exit codes are tested through the binary
//! (crates/cli/tests/gate.rs).

mod common;

use std::fs;
use std::path::Path;

use common::*;
use starkscope_prof::{run, ProfError, ProfOptions};

/// Runs prof with `o` into a fresh out dir holding one older file; returns the error text
/// after checking that nothing was added or changed.
fn fails(mut o: ProfOptions) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("summary.md"), "old summary").unwrap();
    o.out_dir = Some(out.clone());
    o.json = Some(dir.path().join("bench.json"));
    let err = run(&o).unwrap_err();
    let left: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("summary.md")],
        "partial output left behind"
    );
    assert_eq!(
        fs::read_to_string(out.join("summary.md")).unwrap(),
        "old summary"
    );
    assert!(!dir.path().join("bench.json").exists());
    err.to_string()
}

fn bad(name: &str) -> String {
    format!("bad/{name}")
}

#[test]
fn missing_file_is_named() {
    let msg = fails(opts(&["does_not_exist.json"]));
    assert!(
        msg.contains("tests/fixtures/does_not_exist.json") && msg.contains("cannot read"),
        "{msg}"
    );
}

#[test]
fn malformed_json_names_file_and_line() {
    let msg = fails(opts(&[&bad("malformed.json")]));
    assert!(
        msg.starts_with("tests/fixtures/bad/malformed.json:"),
        "{msg}"
    );
}

#[test]
fn snapshot_without_known_metrics_is_rejected() {
    let msg = fails(opts(&[&bad("no_metrics.json")]));
    assert!(
        msg.contains("bad/no_metrics.json") && msg.contains("no recognisable metrics"),
        "{msg}"
    );
}

#[test]
fn contradicting_values_within_a_file() {
    let msg = fails(opts(&[&bad("contradicting.json")]));
    assert!(
        msg.contains("contradicting values for total_proof_time_ms{group=fib,segment=0}"),
        "{msg}"
    );
    assert!(
        msg.contains("10.5") && msg.contains("11.5") && msg.contains("bad/contradicting.json"),
        "{msg}"
    );
}

#[test]
fn contradicting_values_across_files_name_both() {
    let msg = fails(opts(&["app_segments.json", &bad("contradicts_app.json")]));
    assert!(
        msg.contains("app_segments.json") && msg.contains("contradicts_app.json"),
        "{msg}"
    );
    assert!(
        msg.contains("total_proof_time_ms{group=fib,segment=0}"),
        "{msg}"
    );
}

#[test]
fn the_same_file_twice_is_not_a_contradiction() {
    let o = opts(&["app_segments.json", "app_segments.json"]);
    assert_eq!(
        summary_of(&o)
            .lines()
            .filter(|l| l.starts_with("| total proof time"))
            .count(),
        1
    );
    let single = summary_of(&opts(&["app_segments.json"]));
    let twice = summary_of(&o);
    assert_eq!(
        single.split("## Summary").nth(1),
        twice.split("## Summary").nth(1)
    );
}

#[test]
fn process_totals_of_several_processes_combine() {
    // Parts of one run made by two processes (say, the app proof and its aggregation):
    // their run-level resource totals differ without contradicting (largest peak, summed
    // CPU time and I/O).
    let dir = tempfile::tempdir().unwrap();
    let part = |name: &str, group: &str, rss: u64, cpu: f64| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                r#"{{"gauge":[{{"metric":"total_proof_time_ms","labels":[["group","{group}"],["segment","0"]],"value":"10"}},
                             {{"metric":"run_peak_rss_bytes","labels":[],"value":"{rss}"}},
                             {{"metric":"run_cpu_time_ms","labels":[],"value":"{cpu}"}}]}}"#
            ),
        )
        .unwrap();
        path
    };
    let mut o = opts(&[]);
    o.inputs = vec![
        part("a.json", "a", 500, 100.0),
        part("b.json", "b", 700, 100.0),
    ];
    let run = starkscope_prof::Run::read(&o.inputs).unwrap();
    let value = |m: &str| run.samples().find(|s| s.metric == m).unwrap().value;
    assert_eq!(value("run_peak_rss_bytes"), 700.0);
    assert_eq!(value("run_cpu_time_ms"), 200.0);
    assert!(summary_of(&o).contains("| peak memory (RSS) | bytes | 700 |"));
}

#[test]
fn a_label_given_twice_is_rejected() {
    let msg = fails(opts(&[&bad("duplicate_label.json")]));
    assert!(
        msg.contains("label `segment` is given twice") && msg.contains("duplicate_label.json"),
        "{msg}"
    );
}

#[test]
fn bad_group_and_bad_value_are_named() {
    let msg = fails(opts(&[&bad("bad_group.json")]));
    assert!(
        msg.contains("bad_group.json") && msg.contains("internal.x"),
        "{msg}"
    );
    let msg = fails(opts(&[&bad("bad_value.json")]));
    assert!(
        msg.contains("bad_value.json") && msg.contains("`many`"),
        "{msg}"
    );
    // Counters are unsigned 64-bit: 2^64 and -1 are refused, not clamped.
    for (file, value) in [
        ("counter_above_u64.json", "18446744073709551616"),
        ("negative_counter.json", "-1"),
    ] {
        let msg = fails(opts(&[&bad(file)]));
        assert!(
            msg.contains(file) && msg.contains(&format!("`{value}`")),
            "{msg}"
        );
    }
}

#[test]
fn a_bad_baseline_fails_the_same_way() {
    let mut o = opts(&["app_segments.json"]);
    o.baselines = vec![fixture(&bad("malformed.json"))];
    let msg = fails(o);
    assert!(msg.contains("malformed.json"), "{msg}");
}

#[test]
fn bad_options_are_errors() {
    let mut o = opts(&["app_segments.json"]);
    o.fail_on_regression_pct = Some(5.0);
    assert!(fails(o).contains("needs a --baseline"));
    let mut o = opts(&["app_segments.json"]);
    o.threshold_pct = f64::NAN;
    assert!(fails(o).contains("--threshold"));
    let mut o = opts(&["app_segments.json"]);
    o.provers = Some(0);
    assert!(fails(o).contains("--provers"));
    assert!(matches!(
        run(&ProfOptions::default()),
        Err(ProfError::Options(_))
    ));
}

#[test]
fn unwritable_out_dir_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a_file");
    fs::write(&file, "x").unwrap();
    let mut o = opts(&["app_segments.json"]);
    o.out_dir = Some(file.join("sub"));
    let err = run(&o).unwrap_err();
    assert!(err.to_string().contains("a_file/sub"), "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(Path::new(&file).is_file());
}

#[test]
fn json_into_a_missing_directory_fails_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(&["app_segments.json"]);
    o.out_dir = Some(dir.path().join("out"));
    o.json = Some(dir.path().join("no/such/dir/bench.json"));
    let err = run(&o).unwrap_err().to_string();
    assert!(err.contains("no/such/dir"), "{err}");
    assert!(!dir.path().join("out").exists());
}
