//! Without `bench-metrics` the harness still runs the work under tracing, records nothing,
//! and writes no file (an empty snapshot would read as a run that measured nothing).
#![cfg(not(feature = "bench-metrics"))]

use starkscope_harness::{Harness, Install};

#[test]
fn runs_the_work_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let collected = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .output(&path)
        .run(|| tracing::info_span!("work").in_scope(|| 6 * 7))
        .unwrap();
    assert_eq!(collected.value, 42);
    assert!(collected.snapshot.is_empty());
    assert!(collected.written_to.is_none());
    assert!(!path.exists());
}

#[test]
fn exporter_variables_set_in_a_build_without_exporters_are_warnings() {
    // The only test in this binary that touches the environment.
    std::env::set_var("METRICS_ENDPOINT", "http://127.0.0.1:4318/v1/metrics");
    let collected = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .export_from_env()
        .expect("not read, so never malformed")
        .run(|| ())
        .unwrap();
    std::env::remove_var("METRICS_ENDPOINT");
    assert_eq!(collected.warnings.len(), 1, "{:?}", collected.warnings);
    let w = collected.warnings[0].to_string();
    assert!(
        w.contains("METRICS_ENDPOINT is set, but this build has no otlp exporter")
            && w.contains("--features exporters"),
        "{w}"
    );
    assert!(collected.exported.is_empty());
}
