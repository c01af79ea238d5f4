//! Segmentation and the cycle tracker: where segments are cut, what crosses a boundary,
//! how regions nest and split.

mod common;

use common::*;
use starkscope_vm::{execute, ExecConfig, RecordingExecutor, RegionCycles, TrapKind};

fn regions(list: &[(&str, u64)]) -> Vec<RegionCycles> {
    list.iter()
        .map(|&(p, c)| RegionCycles {
            path: p.into(),
            cycles: c,
        })
        .collect()
}

#[test]
fn segments_are_cut_every_n_cycles() {
    let p = bench_program("fibonacci.sasm");
    // fib(20): 106 cycles
    for size in [1u64, 2, 7, 16, 105, 106, 107, 1 << 20] {
        let run = run_both(&p, &[f(20)], &ExecConfig::default().with_segment_size(size));
        assert_eq!(run.report.cycles, 106);
        assert_eq!(
            run.segments.len() as u64,
            106u64.div_ceil(size),
            "segment size {size}"
        );
        let per_segment: u64 = run.report.segments.iter().map(|s| s.cycles).sum();
        assert_eq!(per_segment, 106);
        let fib_cycles: u64 = run
            .report
            .segments
            .iter()
            .flat_map(|s| &s.regions)
            .map(|r| r.cycles)
            .sum();
        assert_eq!(
            fib_cycles, 101,
            "region cycles split across segments must add up"
        );
    }
}

#[test]
fn a_region_spanning_a_boundary_is_split_between_segments() {
    // 10 cycles of `li` inside the region, cut at 4: 4 + 4 + 2 (+ halt outside).
    let p = asm(&format!(
        "ct_start \"r\"\n{}ct_end\nhalt 0\n",
        "li 0, 1\n".repeat(10)
    ));
    let run = run_both(&p, &[], &ExecConfig::default().with_segment_size(4));
    let per: Vec<_> = run
        .report
        .segments
        .iter()
        .map(|s| s.regions.clone())
        .collect();
    assert_eq!(
        per,
        vec![
            regions(&[("r", 4)]),
            regions(&[("r", 4)]),
            regions(&[("r", 2)])
        ]
    );
    assert_eq!(run.report.regions, regions(&[("r", 10)]));
}

#[test]
fn markers_before_a_loop_label_run_once_markers_after_it_every_iteration() {
    let p = asm(r#"
        li 0, 3
        ct_start "outer"          ; before the label: opened once
loop:   ct_start "body"           ; after the label: every iteration
        addi 0, 0, -1
        ct_end
        bnei 0, 0, loop
        ct_end
        halt 0
"#);
    let run = run_both(&p, &[], &ExecConfig::default().with_segment_size(5));
    // outer: 3 x (addi + bnei) = 6; body: the addi of each iteration = 3
    assert_eq!(
        run.report.regions,
        regions(&[("outer", 6), ("outer;body", 3)])
    );
}

#[test]
fn regions_in_called_functions_nest_under_the_caller() {
    let p = asm(r#"
.const RET 10
.const SINK 11
        jal RET, f                ; top level: path "f"
        ct_start "main"
        jal RET, f                ; inside main: path "main;f"
        jal RET, f
        ct_end
        halt 0
f:      ct_start "f"              ; label first: calls pass the marker
        li 0, 1
        li 0, 2
        ct_end
        jalr SINK, RET
"#);
    let run = run_both(&p, &[], &ExecConfig::default().with_segment_size(3));
    // f: 2 cycles per call; main: 2 calls x (jal + 2 + jalr)
    assert_eq!(
        run.report.regions,
        regions(&[("f", 2), ("main", 8), ("main;f", 4)])
    );
}

#[test]
fn halt_closes_open_regions() {
    let p = asm("ct_start \"a\"\nct_start \"b\"\nli 0, 1\nhalt 0\n");
    let run = run_both(&p, &[], &ExecConfig::default());
    assert_eq!(run.report.regions, regions(&[("a", 2), ("a;b", 2)]));
}

#[test]
fn the_recording_executor_streams_and_stops() {
    let p = bench_program("fibonacci.sasm");
    let mut exec =
        RecordingExecutor::new(&p, &[f(10)], &ExecConfig::default().with_segment_size(16)).unwrap();
    let mut n = 0;
    while let Some(seg) = exec.next_segment() {
        let seg = seg.unwrap();
        assert_eq!(seg.index, n);
        assert_eq!(exec.cycles(), seg.end.cycle);
        n += 1;
    }
    assert_eq!(n, 4); // 56 cycles
    assert_eq!(exec.exit_code(), Some(0));
    assert_eq!(exec.outputs(), &[f(55)]);
    assert!(exec.next_segment().is_none());

    // A trap ends the stream after an error.
    let p = asm("li 0, 1\nli 0, 2\nli 0, 3\nhint 1\nhalt 0\n");
    let mut exec =
        RecordingExecutor::new(&p, &[], &ExecConfig::default().with_segment_size(2)).unwrap();
    assert!(exec.next_segment().unwrap().is_ok());
    let err = exec.next_segment().unwrap().unwrap_err();
    assert!(
        matches!(
            err.trap().map(|t| &t.kind),
            Some(TrapKind::HintExhausted { .. })
        ),
        "{err}"
    );
    assert!(exec.next_segment().is_none());
}

#[test]
fn fast_mode_reports_the_segments_recording_would_cut() {
    let p = bench_program("matmul.sasm");
    let mut inputs = vec![f(3)];
    inputs.extend((1..=18).map(f));
    let cfg = ExecConfig::default().with_segment_size(50);
    let report = execute(&p, &inputs, &cfg).unwrap();
    assert_eq!(report.segment_size, 50);
    assert_eq!(report.segments.len() as u64, report.cycles.div_ceil(50));
    run_both(&p, &inputs, &cfg);
}

#[test]
fn recycled_buffers_give_the_same_segments() {
    let p = bench_program("matmul.sasm");
    let mut inputs = vec![f(4)];
    inputs.extend((1..=32).map(f));
    let cfg = ExecConfig::default().with_segment_size(64);
    let expected = starkscope_vm::record(&p, &inputs, &cfg).unwrap();
    let mut exec = RecordingExecutor::new(&p, &inputs, &cfg).unwrap();
    let mut i = 0;
    while let Some(seg) = exec.next_segment() {
        let seg = seg.unwrap();
        assert_eq!(seg, expected[i]);
        i += 1;
        exec.recycle(seg);
    }
    assert_eq!(i, expected.len());
}
