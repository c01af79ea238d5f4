//! Per-segment metrics, read back from the harness's snapshot.
#![cfg(feature = "bench-metrics")]

mod common;

use common::*;
use starkscope_harness::Snapshot;
use starkscope_harness::{Harness, Install};
use starkscope_metrics::names;
use starkscope_vm::{execute, record, ExecConfig, Opcode};

fn collect<R>(f: impl FnOnce() -> R) -> (R, Snapshot) {
    let c = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .run(f)
        .unwrap();
    (c.value, c.snapshot)
}

fn check(snap: &Snapshot, report: &starkscope_vm::ExecutionReport) {
    assert_eq!(report.segments.len(), 3);
    for seg in &report.segments {
        let idx = seg.index.to_string();
        let scope = [("group", "fib"), ("segment", idx.as_str())];
        assert_eq!(
            snap.counter_value(names::TOTAL_CYCLES, &scope),
            Some(seg.cycles),
            "segment {idx}"
        );
        for (op, n) in seg.opcode_counts.nonzero() {
            let labels = [scope[0], scope[1], ("opcode", op.mnemonic())];
            assert_eq!(
                snap.counter_value(names::FREQUENCY, &labels),
                Some(n),
                "{op} in segment {idx}"
            );
        }
        for r in &seg.regions {
            let labels = [scope[0], scope[1], ("region", r.path.as_str())];
            assert_eq!(snap.counter_value(names::CYCLES, &labels), Some(r.cycles));
        }
        let t = snap
            .gauge_value(names::EXECUTE_TIME_MS, &scope)
            .expect("execute_time_ms per segment");
        assert!(t >= 0.0);
    }
    // Nothing escaped its segment span.
    for e in snap
        .counters(names::TOTAL_CYCLES)
        .chain(snap.counters(names::FREQUENCY))
    {
        assert!(
            e.label("segment").is_some() && e.label("group") == Some("fib"),
            "unscoped: {e:?}"
        );
    }
    assert_eq!(
        snap.counter_sum(names::TOTAL_CYCLES, &[("group", "fib")]),
        report.cycles
    );
    assert_eq!(
        snap.counter_sum(names::FREQUENCY, &[("opcode", Opcode::Add.mnemonic())]),
        report.opcode_counts[Opcode::Add]
    );
}

#[test]
fn fast_mode_emits_once_per_segment_with_scope_labels() {
    let p = bench_program("fibonacci.sasm");
    let cfg = ExecConfig::default().with_segment_size(40);
    let (report, snap) = collect(|| {
        let _g = tracing::info_span!("app", group = "fib").entered();
        execute(&p, &[f(20)], &cfg).unwrap()
    });
    check(&snap, &report);
}

#[test]
fn recording_mode_emits_the_same_counters() {
    let p = bench_program("fibonacci.sasm");
    let cfg = ExecConfig::default().with_segment_size(40);
    // The reference run gets a harness too: instrumented code run with no subscriber while
    // the other test's thread-local one is being set up can cache a callsite as disabled
    // for every subscriber (a race in tracing-core's interest cache), which made the other
    // test lose its span labels now and then.
    let (report, _) = collect(|| execute(&p, &[f(20)], &cfg).unwrap());
    let (segments, snap) = collect(|| {
        let _g = tracing::info_span!("app", group = "fib").entered();
        record(&p, &[f(20)], &cfg).unwrap()
    });
    assert_eq!(segments.len(), 3);
    check(&snap, &report);
}
