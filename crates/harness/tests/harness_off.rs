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
