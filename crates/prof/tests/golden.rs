//! Golden-file tests of the markdown reports on hand-written fixtures.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p starkscope-prof --test golden`.

mod common;

use common::*;
use starkscope_prof::{analyse, markdown::Report, Run};

fn detailed(inputs: &[&str], baseline: &[&str]) -> String {
    let run = Run::read(&inputs.iter().map(|i| fixture(i)).collect::<Vec<_>>()).unwrap();
    let a = analyse(&run, None);
    let base = (!baseline.is_empty())
        .then(|| Run::read(&baseline.iter().map(|i| fixture(i)).collect::<Vec<_>>()).unwrap());
    let ba = base.as_ref().map(|b| analyse(b, None));
    Report {
        run: &run,
        analysis: &a,
        baseline: base.as_ref().zip(ba.as_ref()),
        threshold_pct: 2.0,
    }
    .detailed()
}

#[test]
fn multi_segment_app() {
    check_golden(
        "app_segments.summary.md",
        &summary_of(&opts(&["app_segments.json"])),
    );
    check_golden(
        "app_segments.detailed.md",
        &detailed(&["app_segments.json"], &[]),
    );
}

#[test]
fn app_with_aggregation_layers() {
    let mut o = opts(&["aggregation.json"]);
    o.provers = Some(2);
    check_golden("aggregation.summary.md", &summary_of(&o));
}

#[test]
fn openvm_format() {
    check_golden("openvm.summary.md", &summary_of(&opts(&["openvm.json"])));
    check_golden("openvm.detailed.md", &detailed(&["openvm.json"], &[]));
}

#[test]
fn openvm_format_aggregation_tree() {
    check_golden(
        "openvm_aggregation.summary.md",
        &summary_of(&opts(&["openvm_aggregation.json"])),
    );
}

#[test]
fn openvm_aggregation_tree_against_a_baseline_tree() {
    let mut o = opts(&["openvm_aggregation.json"]);
    o.baselines = vec![fixture("openvm_aggregation_baseline.json")];
    check_golden("openvm_aggregation_vs_baseline.summary.md", &summary_of(&o));
}

#[test]
fn against_a_baseline() {
    let mut o = opts(&["app_segments.json"]);
    o.baselines = vec![fixture("baseline.json")];
    check_golden("app_vs_baseline.summary.md", &summary_of(&o));
    check_golden(
        "app_vs_baseline.detailed.md",
        &detailed(&["app_segments.json"], &["baseline.json"]),
    );
}
