//! prof on a snapshot recorded by the real harness (spans -> timing gauges, scope labels
//! from enclosing spans), not a hand-written one. Needs `--features bench-metrics`.
#![cfg(feature = "bench-metrics")]

use starkscope_harness::{Harness, Install};
use starkscope_metrics::metrics::{counter, gauge};
use starkscope_metrics::{labels, names};
use starkscope_prof::{analyse, analysis::headline, files, run, ProfOptions, Run};
use tracing::info_span;

/// Work the optimiser cannot remove, so that every span has a non-zero duration.
fn spin(n: u64) -> u64 {
    (0..n).fold(0x9e37_79b9u64, |x, i| {
        std::hint::black_box((x.rotate_left(7) ^ i).wrapping_mul(0x2545_f491))
    })
}

/// One proof as the prover lays it out: execute, trace_gen, stark_prove > phases, and their
/// total emitted as `total_proof_time_ms` (as the VM does: it is not a span).
fn prove(work: u64, app: bool) -> u64 {
    let started = std::time::Instant::now();
    let x = {
        let mut x = 0;
        if app {
            x ^= info_span!("execute").in_scope(|| spin(work));
        }
        x ^= info_span!("trace_gen").in_scope(|| spin(work));
        x ^= info_span!("stark_prove_excluding_trace").in_scope(|| {
            let mut y = info_span!("main_trace_commit").in_scope(|| spin(work));
            y ^= info_span!("generate_perm_trace").in_scope(|| spin(work / 2));
            y ^= info_span!("perm_trace_commit").in_scope(|| spin(work / 2));
            y ^= info_span!("quotient_poly_compute").in_scope(|| spin(work * 2));
            y ^= info_span!("quotient_poly_commit").in_scope(|| spin(work / 2));
            y ^ info_span!("pcs_opening").in_scope(|| spin(work))
        });
        counter!(names::TOTAL_CELLS).absolute(work * 8);
        counter!(names::PROOF_SIZE_BYTES).absolute(1000 + work / 100);
        x
    };
    gauge!(names::TOTAL_PROOF_TIME_MS).set(started.elapsed().as_secs_f64() * 1000.0);
    x
}

#[test]
fn prof_reads_what_the_harness_records() {
    let collected = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .run(|| {
            let mut x = 0;
            info_span!("app_proof", group = "fib").in_scope(|| {
                for segment in 0..3u64 {
                    info_span!("segment", segment).in_scope(|| {
                        x ^= prove(20_000 * (segment + 1), true);
                        counter!(names::TOTAL_CYCLES).absolute(1000 * (segment + 1));
                        counter!(names::CYCLES, labels::REGION => "main")
                            .absolute(800 * (segment + 1));
                        counter!(names::CYCLES, labels::REGION => "main;loop")
                            .absolute(500 * (segment + 1));
                    });
                }
            });
            info_span!("agg", group = "leaf").in_scope(|| {
                for idx in 0..2u64 {
                    info_span!("node", idx).in_scope(|| x ^= prove(30_000, false));
                }
            });
            info_span!("agg", group = "root").in_scope(|| {
                info_span!("node", idx = 0u64).in_scope(|| x ^= prove(30_000, false));
            });
            x
        })
        .expect("harness runs");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    collected.snapshot.write_atomic(&path).unwrap();

    // The headline total is the sum of every proof's total_proof_time_ms.
    let recorded: f64 = collected
        .snapshot
        .gauges(names::TOTAL_PROOF_TIME_MS)
        .map(|g| g.value.parse::<f64>().unwrap())
        .sum();
    assert_eq!(
        collected
            .snapshot
            .gauges(names::TOTAL_PROOF_TIME_MS)
            .count(),
        6,
        "3 segments + 2 leaves + root"
    );
    let analysis = analyse(&Run::read(std::slice::from_ref(&path)).unwrap(), None);
    let total = analysis
        .headline(headline::TOTAL_PROOF_TIME)
        .unwrap()
        .value
        .unwrap();
    assert!((total - recorded).abs() < 1e-9, "{total} vs {recorded}");
    assert_eq!(
        analysis.headline(headline::TOTAL_CYCLES).unwrap().value,
        Some(6000.0)
    );
    let layers: Vec<String> = analysis
        .layers
        .iter()
        .map(|l| format!("{}:{}", l.group, l.nodes))
        .collect();
    assert_eq!(layers, ["fib:3", "leaf:2", "root:1"]);

    let out = dir.path().join("report");
    let outcome = run(&ProfOptions {
        inputs: vec![path],
        out_dir: Some(out.clone()),
        ..ProfOptions::default()
    })
    .unwrap();
    // One row per segment (the span around all segments is not one), each with all three
    // phases, a total and a throughput.
    let table = outcome
        .summary
        .split("### Segments of `fib`")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .nth(1)
        .unwrap();
    assert_eq!(table.lines().count(), 2 + 3, "{table}");
    for segment in 0..3 {
        let row = outcome
            .summary
            .lines()
            .find(|l| l.starts_with(&format!("| {segment} | ")))
            .unwrap();
        assert!(
            !row.contains(" - "),
            "segment {segment} lacks a value: {row}"
        );
    }
    let folded = std::fs::read_to_string(out.join(files::CYCLES_FOLDED)).unwrap();
    assert!(
        folded.contains("fib;main;loop 3000\n") && folded.contains("fib;main 1800\n"),
        "{folded}"
    );
    let phases = std::fs::read_to_string(out.join(files::PROVER_FOLDED)).unwrap();
    for frame in [
        "fib;execute ",
        "leaf;trace_gen ",
        "root;stark_prove;pcs_opening ",
    ] {
        assert!(phases.contains(frame), "no `{frame}` in\n{phases}");
    }
}
