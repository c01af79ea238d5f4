//! Labels of the SDK's metrics with a thread-local harness. In its own test binary: tracing
//! caches callsite interest process-wide, and a test running the same spans concurrently
//! without any subscriber can leave a span disabled for the harness's thread (seen here:
//! the `keygen` span lost, its counters recorded without `group`).
#![cfg(feature = "bench-metrics")]

use starkscope_sdk::{FriPreset, Sdk, SdkConfig};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::Val;
use starkscope_vm::{assemble, Program};

const FIB: &str = include_str!("../../../benchmarks/programs/fibonacci.sasm");

fn fib() -> Program {
    let mut p = assemble(FIB, "fibonacci.sasm").expect("assembles");
    p.name = "fibonacci".into();
    p
}

fn sdk(segment_size: u64, threads: usize) -> Sdk {
    Sdk::new(
        SdkConfig::default()
            .with_segment_size(segment_size)
            .with_threads(threads)
            .with_fri(FriPreset::Testing),
    )
    .expect("sdk")
}

#[test]
fn every_segment_is_labelled_with_group_and_segment_on_worker_threads() {
    use starkscope_metrics::names;
    let collected = starkscope_harness::Harness::new()
        .install(starkscope_harness::Install::Local)
        .span_tree(false)
        .run(|| {
            let sdk = sdk(16, 2);
            let pk = sdk.keygen(&fib()).unwrap();
            sdk.prove(&pk, &[Val::from_u32(15)]).unwrap().1
        })
        .unwrap();
    let report = collected.value;
    let snap = collected.snapshot;
    assert!(report.segments.len() >= 4);
    for s in &report.segments {
        let seg = s.index.to_string();
        let labels = [("group", "fibonacci"), ("segment", seg.as_str())];
        for gauge in [
            names::EXECUTE_TIME_MS,
            names::TRACE_GEN_TIME_MS,
            names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS,
            names::TOTAL_PROOF_TIME_MS,
        ] {
            assert!(
                snap.gauge_value(gauge, &labels).is_some(),
                "{gauge} {labels:?}"
            );
        }
        assert_eq!(
            snap.counter_value(names::TOTAL_CYCLES, &labels),
            Some(s.cycles)
        );
        assert_eq!(
            snap.counter_value(names::MAIN_CELLS_USED, &labels),
            Some(s.main_cells_used)
        );
        let total = snap
            .gauge_value(names::TOTAL_PROOF_TIME_MS, &labels)
            .unwrap();
        assert!(
            (total - s.total().as_secs_f64() * 1e3).abs() < 1e-3,
            "{total} vs {:?}",
            s.total()
        );
    }
    let keygen: Vec<_> = snap.counters(names::CONSTRAINTS).collect();
    assert!(
        snap.counter_value(names::CONSTRAINTS, &[("group", "keygen")])
            .is_some(),
        "{keygen:?}"
    );
}
