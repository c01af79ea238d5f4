//! How long prof takes on big snapshots, against the yardstick of merely parsing the JSON.
//!
//! ```sh
//! cargo bench -p starkscope-prof --bench prof            # 64 and 1024 segments
//! PROF_BENCH_SEGMENTS=4096 cargo bench -p starkscope-prof --bench prof
//! ```
//!
//! Each stage runs on the same file in the same process; the table shows medians and the
//! ratio to the parse-only yardstick (`Snapshot::read`).

use std::path::Path;
use std::time::{Duration, Instant};

use starkscope_prof::{analyse, markdown::Report, run, ProfOptions, Run};
use starkscope_snapshot::Entry;
use starkscope_snapshot::Snapshot;

const AIRS: usize = 12;

/// An app of `segments` segments with `AIRS` AIRs, opcodes and regions, plus a leaf layer
/// per 8 segments and a root: the shape (and roughly the size) of a real aggregated run.
fn synthetic(segments: usize, skew: f64) -> Snapshot {
    let mut s = Snapshot::default();
    let entry = |metric: &str, labels: Vec<(&str, String)>, value: String| Entry {
        metric: metric.to_string(),
        labels: labels
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        value,
    };
    let phases = [
        "main_trace_commit",
        "generate_perm_trace",
        "perm_trace_commit",
        "quotient_poly_compute",
        "quotient_poly_commit",
        "pcs_opening",
    ];
    let proof = |s: &mut Snapshot, scope: Vec<(&'static str, String)>, seed: usize, app: bool| {
        let t = |k: usize| format!("{:.3}", (10 + (seed * 7 + k * 13) % 50) as f64 * skew);
        let mut sum = 0.0;
        for (k, p) in phases.iter().enumerate() {
            s.gauge
                .push(entry(&format!("{p}_time_ms"), scope.clone(), t(k)));
            sum += t(k).parse::<f64>().unwrap_or(0.0);
        }
        s.gauge.push(entry(
            "stark_prove_excluding_trace_time_ms",
            scope.clone(),
            format!("{sum:.3}"),
        ));
        s.gauge
            .push(entry("trace_gen_time_ms", scope.clone(), t(7)));
        s.gauge.push(entry(
            "total_proof_time_ms",
            scope.clone(),
            format!("{:.3}", sum * 1.4),
        ));
        if app {
            s.gauge.push(entry("execute_time_ms", scope.clone(), t(8)));
            s.counter
                .push(entry("total_cycles", scope.clone(), format!("{}", 1 << 20)));
            for op in [
                "add",
                "mul",
                "load",
                "store",
                "beq",
                "jal",
                "poseidon2",
                "ext_mul",
            ] {
                let mut l = scope.clone();
                l.push(("opcode", op.to_string()));
                s.counter
                    .push(entry("frequency", l, format!("{}", 1000 + seed)));
            }
            for region in ["main", "main;loop", "main;loop;hash", "setup"] {
                let mut l = scope.clone();
                l.push(("region", region.to_string()));
                s.counter
                    .push(entry("cycles", l, format!("{}", 1000 / (region.len() + 1))));
            }
        }
        for air in 0..AIRS {
            let mut l = scope.clone();
            l.push(("air_name", format!("air_{air}")));
            l.push(("air_id", air.to_string()));
            for (m, v) in [
                ("rows", 1 << 16),
                ("cells", (1 << 16) * (air + 4)),
                ("main_cols", air + 4),
                ("perm_cols", 4),
            ] {
                s.counter.push(entry(m, l.clone(), v.to_string()));
            }
        }
        s.counter.push(entry(
            "total_cells",
            scope.clone(),
            format!("{}", (1 << 16) * AIRS * 10),
        ));
        s.counter.push(entry(
            "proof_size_bytes",
            scope,
            format!("{}", 200_000 + seed),
        ));
    };
    for seg in 0..segments {
        proof(
            &mut s,
            vec![("group", "fib".into()), ("segment", seg.to_string())],
            seg,
            true,
        );
    }
    for idx in 0..segments.div_ceil(8) {
        proof(
            &mut s,
            vec![("group", "leaf".into()), ("idx", idx.to_string())],
            idx,
            false,
        );
    }
    proof(
        &mut s,
        vec![("group", "root".into()), ("idx", "0".into())],
        0,
        false,
    );
    s
}

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn bench(segments: usize, dir: &Path) {
    let run_path = dir.join(format!("run-{segments}.json"));
    let base_path = dir.join(format!("base-{segments}.json"));
    synthetic(segments, 1.0)
        .write_atomic(&run_path)
        .expect("write run");
    synthetic(segments, 1.1)
        .write_atomic(&base_path)
        .expect("write baseline");
    let size_mb = std::fs::metadata(&run_path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let runs = if segments > 1024 { 5 } else { 11 };
    let inputs = vec![run_path.clone()];
    let baselines = vec![base_path.clone()];

    let parse = median(
        || {
            std::hint::black_box(Snapshot::read(&run_path).expect("parse"));
        },
        runs,
    );
    let analysed = median(
        || {
            let r = Run::read(&inputs).expect("read");
            std::hint::black_box(analyse(&r, Some(8)));
        },
        runs,
    );
    let markdown = median(
        || {
            let r = Run::read(&inputs).expect("read");
            let b = Run::read(&baselines).expect("read");
            let (a, ba) = (analyse(&r, Some(8)), analyse(&b, Some(8)));
            let rep = Report {
                run: &r,
                analysis: &a,
                baseline: Some((&b, &ba)),
                threshold_pct: 2.0,
            };
            std::hint::black_box((rep.summary(), rep.detailed()));
        },
        runs,
    );
    let out = dir.join(format!("out-{segments}"));
    let full = median(
        || {
            let o = ProfOptions {
                inputs: inputs.clone(),
                baselines: baselines.clone(),
                out_dir: Some(out.clone()),
                provers: Some(8),
                ..ProfOptions::default()
            };
            std::hint::black_box(run(&o).expect("prof run"));
        },
        runs,
    );
    println!("\n{segments} segments x {AIRS} AIRs ({size_mb:.1} MB of JSON per snapshot), median of {runs}:");
    println!("| stage | median ms | x parse |\n|---|---:|---:|");
    for (name, d) in [
        ("parse one snapshot (yardstick)", parse),
        ("read + validate + analyse", analysed),
        ("+ baseline, summary and detailed markdown", markdown),
        ("full run: + charts, flamegraphs, HTML, files", full),
    ] {
        println!(
            "| {name} | {:.1} | {:.2} |",
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() / parse.as_secs_f64()
        );
    }
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench`-less args; keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().expect("temp dir");
    let sizes: Vec<usize> = match std::env::var("PROF_BENCH_SEGMENTS") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) if quick => vec![8],
        Err(_) => vec![64, 1024],
    };
    for s in sizes {
        bench(s, dir.path());
    }
}
