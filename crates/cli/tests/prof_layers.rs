//! The per-layer audit through the shipped binary: `starkscope prof` on an OpenVM-format
//! snapshot of an aggregation tree, alone and against a baseline tree; bad input still
//! exits 3 with the file and the problem named, and writes nothing.

mod common;

use std::path::PathBuf;

use common::{s, starkscope, text};
use starkscope_sdk::Exit;

fn prof_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../prof/tests/fixtures")
        .join(name)
}

fn layer_row<'a>(summary: &'a str, group: &str) -> &'a str {
    let layers = &summary[summary.find("## Layers").expect("a Layers section")..];
    layers
        .lines()
        .find(|l| l.starts_with(&format!("| {group} |")))
        .unwrap_or_else(|| panic!("no row for {group} in\n{summary}"))
}

#[test]
fn prof_prints_the_per_layer_audit_of_an_openvm_tree() {
    let run = prof_fixture("openvm_aggregation.json");
    let o = starkscope(&["prof", s(&run)]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(out.contains(
        "| layer | nodes | children per node | proof time ms (sum) | slowest node ms | cells | proof bytes | peak RSS bytes | share of time | share of critical path | share of cells |"
    ));
    assert_eq!(
        layer_row(&out, "internal.0"),
        "| internal.0 | 2 | 2 (derived; limit 3) | 5,142 | 3,822 (idx 0) | 53,870,682 | - | - | 23.6% | 29.7% | 21.4% |"
    );
    for group in ["fibonacci_program", "leaf", "internal.1", "root"] {
        layer_row(&out, group);
    }
}

#[test]
fn prof_diffs_the_layers_against_a_baseline_and_charts_them() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("report");
    let run = prof_fixture("openvm_aggregation.json");
    let base = prof_fixture("openvm_aggregation_baseline.json");
    let o = starkscope(&[
        "prof",
        s(&run),
        "--baseline",
        s(&base),
        "--out-dir",
        s(&out_dir),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        layer_row(&out, "leaf").starts_with(
            "| leaf | 4 <span style=\"color: gray\">(+2 [+100.0%])</span> | 1 <span style=\"color: gray\">(-1 [-50.0%])</span> (derived; limit 1) |"
        ),
        "{}",
        layer_row(&out, "leaf")
    );
    assert!(layer_row(&out, "internal.1").contains("| 1 (new) |"));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("summary.md")).unwrap(),
        out
    );
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    for chart in [
        "<figcaption>proof time per layer</figcaption>",
        "<figcaption>share of the run&#39;s cost per layer</figcaption>",
    ] {
        assert!(html.contains(chart), "{chart} missing from report.html");
    }
}

#[test]
fn prof_still_refuses_a_malformed_layer_name() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("report");
    let bad = prof_fixture("bad/bad_group.json");
    let o = starkscope(&["prof", s(&bad), "--out-dir", s(&out_dir)]);
    let err = text(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(i32::from(Exit::BadInput.code())),
        "{err}"
    );
    assert!(err.contains("bad_group.json"), "{err}");
    assert!(err.contains("internal.x"), "{err}");
    assert!(!out_dir.exists(), "nothing is written on bad input");
}
