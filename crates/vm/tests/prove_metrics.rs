//! Per-segment proving metrics, scoped by the enclosing spans.
#![cfg(feature = "bench-metrics")]

mod common;

use std::time::Instant;

use common::{bench_program, fs};
use starkscope_harness::{Harness, Install};
use starkscope_metrics::{names, spans};
use starkscope_stark_backend::FriPreset;
use starkscope_vm::prove::{vm_keygen, Continuation};
use starkscope_vm::{ExecConfig, RecordingExecutor};
use tracing::info_span;

#[test]
fn each_segment_reports_its_proving_metrics() {
    let program = bench_program("fibonacci.sasm");
    let pk = vm_keygen(&program, FriPreset::Fast).unwrap();
    let inputs = fs(&[40]);
    let collected = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .filter("info,p3_=warn")
        .run(|| {
            let app = info_span!("app_proof", group = "fib");
            let _app = app.enter();
            let mut cont = Continuation::start(&program);
            let mut exec = RecordingExecutor::new(
                &program,
                &inputs,
                &ExecConfig::default().with_segment_size(64),
            )
            .unwrap();
            let mut segments = 0;
            loop {
                let started = Instant::now();
                let Some(segment) = exec.next() else { break };
                let execute = started.elapsed();
                let segment = segment.unwrap();
                let index = segment.index;
                let span = info_span!("segment", segment = index);
                let _s = span.enter();
                let proof = cont.advance(segment, execute).prove(&pk).unwrap();
                assert_eq!(proof.execute, execute);
                segments += 1;
            }
            segments
        })
        .unwrap();
    let s = &collected.snapshot;
    assert!(collected.value >= 3);
    let ms = |name: &str, labels: &[(&str, &str)]| {
        s.gauge_value(name, labels)
            .unwrap_or_else(|| panic!("{name}{labels:?} missing"))
    };
    for i in 0..collected.value {
        let seg = i.to_string();
        let l = [("group", "fib"), ("segment", seg.as_str())];
        let execute = ms(names::EXECUTE_TIME_MS, &l);
        let trace_gen = ms(names::TRACE_GEN_TIME_MS, &l);
        let prove = ms(names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS, &l);
        let total = ms(names::TOTAL_PROOF_TIME_MS, &l);
        let parts = execute + trace_gen + prove;
        assert!(
            (total - parts).abs() <= 0.05 * total + 0.5,
            "segment {i}: total {total} vs parts {parts}"
        );
        let phases: f64 = spans::PROVER_PHASES
            .iter()
            .map(|p| ms(&format!("{p}_time_ms"), &l))
            .sum();
        assert!(
            phases <= prove * 1.01 && phases >= prove * 0.8,
            "segment {i}: phases {phases} vs prove {prove}"
        );
        let cycles = s.counter_value(names::TOTAL_CYCLES, &l).unwrap();
        assert!(cycles > 0);
        let main_used = s.counter_value(names::MAIN_CELLS_USED, &l).unwrap();
        let total_used = s.counter_value(names::TOTAL_CELLS_USED, &l).unwrap();
        assert!(
            main_used > 0 && total_used > main_used,
            "{main_used} {total_used}"
        );
        // Per-chip trace generation, and the backend's per-AIR counters, carry air_name.
        for chip in [
            "cpu",
            "memory_boundary",
            "merkle",
            "poseidon2",
            "range16",
            "program",
        ] {
            let cl = [
                ("group", "fib"),
                ("segment", seg.as_str()),
                ("air_name", chip),
            ];
            assert!(
                s.gauge_value("chip_trace_gen_time_ms", &cl).is_some(),
                "{chip} trace gen timing"
            );
            assert!(s.counter_value(names::ROWS, &cl).is_some(), "{chip} rows");
        }
        let cpu_rows = s
            .counter_value(
                names::ROWS,
                &[("segment", seg.as_str()), ("air_name", "cpu")],
            )
            .unwrap();
        assert!(
            cpu_rows >= cycles,
            "cpu rows {cpu_rows} hold every cycle {cycles}"
        );
    }
}
