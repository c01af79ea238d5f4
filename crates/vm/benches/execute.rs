//! Executor speed, side by side with its yardsticks in one run.
//!
//! - `fast/field_loop`: fast-mode throughput on a loop of field ops (criterion reports the
//!   median time and elements/s = cycles/s).
//! - `record_vs_fast`: the recording executor against the fast one on the same run.
//! - `metrics` (with `--features bench-metrics`): fast mode inside the metrics harness
//!   (subscriber, timing layer, recorder; one emission per segment of 2^16 cycles) against
//!   fast mode with no subscriber and a no-op recorder, in the same process.
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
use starkscope_vm::{assemble_file, execute, ExecConfig, Program, RecordingExecutor, F};

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

/// Streams the segments as a prover would: one at a time, buffers handed back.
fn run_record(p: &Program, n: u32, cfg: &ExecConfig) -> usize {
    let mut exec = RecordingExecutor::new(black_box(p), &[F::from_u32(n)], cfg)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut accesses = 0;
    while let Some(seg) = exec.next_segment() {
        let seg = seg.unwrap_or_else(|e| panic!("{e}"));
        accesses += seg.accesses.len();
        exec.recycle(seg);
    }
    accesses
}

/// Runs `f` inside the metrics harness (subscriber with the timing and metrics layers, the
/// in-memory recorder). Installed once around a whole measurement, so that the harness's
/// own start-up (it spawns `git rev-parse` for the snapshot's meta) is not timed.
#[cfg(feature = "bench-metrics")]
fn with_metrics<R>(f: impl FnOnce() -> R) -> R {
    use starkscope_harness::{Harness, Install};
    Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .run(f)
        .map(|c| c.value)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `f` with metrics compiled in but nothing installed: no subscriber, no recorder.
#[cfg(feature = "bench-metrics")]
fn without_metrics<R>(f: impl FnOnce() -> R) -> R {
    use starkscope_metrics::metrics;
    tracing::dispatcher::with_default(&tracing::Dispatch::none(), || {
        metrics::with_local_recorder(&metrics::NoopRecorder, f)
    })
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
        // The default segment size, as users run it; the ratio section below also
        // measures 2^16-cycle segments, where the fixed per-segment cost weighs 16x more.
        let cfg = ExecConfig::default();
        let mut g = c.benchmark_group("metrics");
        g.sample_size(20).measurement_time(Duration::from_secs(8));
        g.throughput(Throughput::Elements(cycles(p, FAST_N, &cfg)));
        g.bench_function("off", |b| {
            b.iter(|| without_metrics(|| run_fast(p, FAST_N, &cfg)))
        });
        with_metrics(|| g.bench_function("on", |b| b.iter(|| run_fast(p, FAST_N, &cfg))));
        g.finish();
    }
}

/// CPU time of this thread in ns, so that ratios hold on a loaded machine where wall time
/// also counts waiting for a core.
fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[derive(Default)]
struct Samples {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Samples {
    fn time(&mut self, f: impl FnOnce()) {
        let c0 = thread_cpu_ns();
        let t = Instant::now();
        f();
        self.wall.push(t.elapsed().as_secs_f64() * 1e3);
        if let (Some(c0), Some(c1)) = (c0, thread_cpu_ns()) {
            self.cpu.push((c1 - c0) as f64 / 1e6);
        }
    }

    fn median(v: &[f64]) -> f64 {
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// Median CPU ms when the platform reports it, else median wall ms.
    fn ms(&self) -> f64 {
        if self.cpu.len() == self.wall.len() {
            Self::median(&self.cpu)
        } else {
            Self::median(&self.wall)
        }
    }

    fn wall_ms(&self) -> f64 {
        Self::median(&self.wall)
    }
}

/// Times `a` and `b` alternately `rounds` times.
fn interleaved(rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Samples, Samples) {
    let (mut sa, mut sb) = (Samples::default(), Samples::default());
    for _ in 0..rounds {
        sa.time(&mut a);
        sb.time(&mut b);
    }
    (sa, sb)
}

fn ratios(p: &Program) {
    let clock = if thread_cpu_ns().is_some() {
        "thread CPU time"
    } else {
        "wall time"
    };
    println!("\n== medians of interleaved runs ({clock}; wall-time medians in brackets) ==");
    let cfg = ExecConfig::default().with_segment_size(SEGMENT);
    let fast_cycles = cycles(p, FAST_N, &cfg) as f64;
    let rec_cycles = cycles(p, RECORD_N, &cfg) as f64;

    let (fast, _) = interleaved(
        15,
        || {
            black_box(run_fast(p, FAST_N, &cfg));
        },
        || {},
    );
    println!(
        "fast field_loop        {:>9.3} ms [{:.3}]  {:>6.1} M cycles/s  ({} cycles)",
        fast.ms(),
        fast.wall_ms(),
        fast_cycles / fast.ms() / 1e3,
        fast_cycles
    );

    let (f, r) = interleaved(
        11,
        || {
            black_box(run_fast(p, RECORD_N, &cfg));
        },
        || {
            black_box(run_record(p, RECORD_N, &cfg));
        },
    );
    println!(
        "record vs fast         {:>9.3} ms [{:.3}] vs {:.3} ms [{:.3}]  ratio {:.2}x  ({:.1} M cycles/s recorded)",
        r.ms(),
        r.wall_ms(),
        f.ms(),
        f.wall_ms(),
        r.ms() / f.ms(),
        rec_cycles / r.ms() / 1e3
    );

    #[cfg(feature = "bench-metrics")]
    for segment in [starkscope_vm::DEFAULT_SEGMENT_SIZE, SEGMENT] {
        let cfg = ExecConfig::default().with_segment_size(segment);
        let segments = cycles(p, FAST_N, &cfg).div_ceil(segment);
        let (off, on) = with_metrics(|| {
            interleaved(
                21,
                || {
                    black_box(without_metrics(|| run_fast(p, FAST_N, &cfg)));
                },
                || {
                    black_box(run_fast(p, FAST_N, &cfg));
                },
            )
        });
        println!(
            "metrics on vs off      {:>9.3} ms [{:.3}] vs {:.3} ms [{:.3}]  ratio {:.4} ({:+.2}%)  segment size {segment}, {segments} segments, {:.1} us per segment",
            on.ms(),
            on.wall_ms(),
            off.ms(),
            off.wall_ms(),
            on.ms() / off.ms(),
            (on.ms() / off.ms() - 1.0) * 100.0,
            (on.ms() - off.ms()) * 1e3 / segments as f64
        );
    }
    #[cfg(not(feature = "bench-metrics"))]
    println!("metrics on vs off      (build with --features bench-metrics)");
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
