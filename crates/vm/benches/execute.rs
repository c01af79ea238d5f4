//! Executor speed, side by side with its yardsticks in one run.
//!
//! - `fast/field_loop`: fast-mode throughput on a loop of field ops (criterion reports the
//!   median time and elements/s = cycles/s).
//! - `record_vs_fast`: the recording executor against the fast one on the same run.
//! - `metrics` (with `--features bench-metrics`): fast mode inside the metrics harness
//!   (subscriber, timing layer, recorder; one emission per segment) against fast mode with
//!   nothing installed.
//!
//! After criterion, the same pairs are timed interleaved and the medians and ratios are
//! printed, so a single `cargo bench -p starkscope-vm --bench execute` gives the numbers:
//!
//!     CARGO_TARGET_DIR=target-vm cargo bench -p starkscope-vm --features bench-metrics --bench execute

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use p3_field::PrimeCharacteristicRing;
use starkscope_vm::{assemble_file, execute, record, ExecConfig, Program, F};

fn program(name: &str) -> Program {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../benchmarks/programs")
        .join(name);
    assemble_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Field-loop iterations: 6 cycles each.
const FAST_N: u32 = 1_000_000;
const RECORD_N: u32 = 100_000;
const SEGMENT: u64 = 1 << 16;

fn cycles(p: &Program, n: u32, cfg: &ExecConfig) -> u64 {
    execute(p, &[F::from_u32(n)], cfg)
        .map(|r| r.cycles)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn run_fast(p: &Program, n: u32, cfg: &ExecConfig) -> u64 {
    execute(black_box(p), &[F::from_u32(n)], cfg)
        .map(|r| r.cycles)
        .unwrap_or(0)
}

fn run_record(p: &Program, n: u32, cfg: &ExecConfig) -> usize {
    record(black_box(p), &[F::from_u32(n)], cfg)
        .map(|s| s.iter().map(|s| s.accesses.len()).sum())
        .unwrap_or(0)
}

#[cfg(feature = "bench-metrics")]
fn run_fast_with_metrics(p: &Program, n: u32, cfg: &ExecConfig) -> u64 {
    use starkscope_metrics::{Harness, Install};
    Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .run(|| run_fast(p, n, cfg))
        .map(|c| c.value)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn criterion_benches(c: &mut Criterion, p: &Program) {
    let cfg = ExecConfig::default().with_segment_size(SEGMENT);

    let mut g = c.benchmark_group("fast");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(cycles(p, FAST_N, &cfg)));
    g.bench_function("field_loop", |b| b.iter(|| run_fast(p, FAST_N, &cfg)));
    g.finish();

    let mut g = c.benchmark_group("record_vs_fast");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(cycles(p, RECORD_N, &cfg)));
    g.bench_function(BenchmarkId::new("fast", RECORD_N), |b| {
        b.iter(|| run_fast(p, RECORD_N, &cfg))
    });
    g.bench_function(BenchmarkId::new("record", RECORD_N), |b| {
        b.iter(|| run_record(p, RECORD_N, &cfg))
    });
    g.finish();

    #[cfg(feature = "bench-metrics")]
    {
        let mut g = c.benchmark_group("metrics");
        g.sample_size(20).measurement_time(Duration::from_secs(8));
        g.throughput(Throughput::Elements(cycles(p, FAST_N, &cfg)));
        g.bench_function("off", |b| b.iter(|| run_fast(p, FAST_N, &cfg)));
        g.bench_function("on", |b| b.iter(|| run_fast_with_metrics(p, FAST_N, &cfg)));
        g.finish();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Times `a` and `b` alternately `rounds` times; returns their medians.
fn interleaved(rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        a();
        ta.push(t.elapsed());
        let t = Instant::now();
        b();
        tb.push(t.elapsed());
    }
    (median(ta), median(tb))
}

fn ratios(p: &Program) {
    let cfg = ExecConfig::default().with_segment_size(SEGMENT);
    let fast_cycles = cycles(p, FAST_N, &cfg) as f64;
    let rec_cycles = cycles(p, RECORD_N, &cfg) as f64;
    println!("\n== medians of interleaved runs (segment size {SEGMENT}) ==");

    let (fast, _) = interleaved(
        15,
        || {
            black_box(run_fast(p, FAST_N, &cfg));
        },
        || {},
    );
    println!(
        "fast field_loop      {:>10.3} ms  {:>7.1} M cycles/s  ({} cycles)",
        fast.as_secs_f64() * 1e3,
        fast_cycles / fast.as_secs_f64() / 1e6,
        fast_cycles
    );

    let (f, r) = interleaved(
        9,
        || {
            black_box(run_fast(p, RECORD_N, &cfg));
        },
        || {
            black_box(run_record(p, RECORD_N, &cfg));
        },
    );
    println!(
        "record vs fast       {:>10.3} ms vs {:.3} ms  ratio {:.2}x  ({:.1} M cycles/s recorded)",
        r.as_secs_f64() * 1e3,
        f.as_secs_f64() * 1e3,
        r.as_secs_f64() / f.as_secs_f64(),
        rec_cycles / r.as_secs_f64() / 1e6
    );

    #[cfg(feature = "bench-metrics")]
    {
        let (off, on) = interleaved(
            21,
            || {
                black_box(run_fast(p, FAST_N, &cfg));
            },
            || {
                black_box(run_fast_with_metrics(p, FAST_N, &cfg));
            },
        );
        println!(
            "metrics on vs off    {:>10.3} ms vs {:.3} ms  ratio {:.4}  ({:+.2}%)",
            on.as_secs_f64() * 1e3,
            off.as_secs_f64() * 1e3,
            on.as_secs_f64() / off.as_secs_f64(),
            (on.as_secs_f64() / off.as_secs_f64() - 1.0) * 100.0
        );
    }
    #[cfg(not(feature = "bench-metrics"))]
    println!("metrics on vs off    (build with --features bench-metrics)");
}

fn main() {
    let p = program("field_loop.sasm");
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c, &p);
    c.final_summary();
    // `cargo test --benches` runs this binary too: keep that quick.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        ratios(&p);
    }
}
