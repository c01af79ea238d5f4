//! Overhead of resource sampling on a CPU-bound, proof-shaped run: the same workload with
//! sampling off (the yardstick) and on, interleaved in one process, medians and their ratio.
//!
//! `cargo bench -p starkscope-harness --features resources --bench resource_overhead`
//! Options (env): `ROUNDS` (default 11), `SEGMENTS` (default 4), `PHASE_MS` (default 50),
//! `INTERVAL_MS` (sampling interval, default 10).

use std::time::{Duration, Instant};

use starkscope_harness::resources::{process_cpu_time_us, ResourceConfig};
use starkscope_harness::{Harness, Install};
use starkscope_metrics::spans;
use tracing::info_span;

fn env_or(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A fixed amount of integer work (no clock in the loop): about `ms` on this machine,
/// calibrated once.
fn work(iters: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..iters {
        x = (x ^ i).wrapping_mul(0xBF58_476D_1CE4_E5B9).rotate_left(17);
    }
    std::hint::black_box(x)
}

fn calibrate(ms: u64) -> u64 {
    let mut iters = 1_000_000;
    loop {
        let t = Instant::now();
        work(iters);
        let took = t.elapsed();
        if took >= Duration::from_millis(50) {
            return (iters as f64 * ms as f64 / took.as_secs_f64() / 1000.0) as u64;
        }
        iters *= 2;
    }
}

/// One proof-shaped run: an app span, `segments` segments, each with execute, trace_gen
/// and the six prover phases, every span doing `iters` of work.
fn proof_shaped(segments: u32, iters: u64) {
    let _app = info_span!("app_proof", group = "bench").entered();
    for segment in 0..segments {
        let _seg = info_span!("segment", segment).entered();
        info_span!(spans::EXECUTE).in_scope(|| work(iters));
        info_span!(spans::TRACE_GEN).in_scope(|| work(iters));
        info_span!(spans::STARK_PROVE_EXCLUDING_TRACE).in_scope(|| {
            for phase in spans::PROVER_PHASES {
                info_span!("phase_wrapper", name = phase).in_scope(|| {
                    // The real phase spans, so the sampler tracks each one.
                    match phase {
                        spans::MAIN_TRACE_COMMIT => {
                            info_span!(spans::MAIN_TRACE_COMMIT).in_scope(|| work(iters))
                        }
                        spans::GENERATE_PERM_TRACE => {
                            info_span!(spans::GENERATE_PERM_TRACE).in_scope(|| work(iters))
                        }
                        spans::PERM_TRACE_COMMIT => {
                            info_span!(spans::PERM_TRACE_COMMIT).in_scope(|| work(iters))
                        }
                        spans::QUOTIENT_POLY_COMPUTE => {
                            info_span!(spans::QUOTIENT_POLY_COMPUTE).in_scope(|| work(iters))
                        }
                        spans::QUOTIENT_POLY_COMMIT => {
                            info_span!(spans::QUOTIENT_POLY_COMMIT).in_scope(|| work(iters))
                        }
                        _ => info_span!(spans::PCS_OPENING).in_scope(|| work(iters)),
                    }
                });
            }
        });
    }
}

/// Wall time and process CPU time (all threads, the sampler's included) of one run. CPU
/// time is the steadier measure on a machine shared with other work.
fn run(sampling: Option<Duration>, segments: u32, iters: u64) -> (Duration, Duration) {
    let mut h = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .filter("info");
    if let Some(interval) = sampling {
        h = h.sample_resources(ResourceConfig::every(interval));
    }
    let cpu = process_cpu_time_us();
    let t = Instant::now();
    let collected = h
        .run(|| proof_shaped(segments, iters))
        .expect("harness run");
    let took = t.elapsed();
    let cpu = Duration::from_micros(process_cpu_time_us() - cpu);
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
    (took, cpu)
}

/// Median of on/off and the median of per-round paired ratios.
fn report(what: &str, off: &[Duration], on: &[Duration]) {
    let (m_off, m_on) = (median(off.to_vec()), median(on.to_vec()));
    let mut paired: Vec<f64> = on
        .iter()
        .zip(off)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    paired.sort_by(f64::total_cmp);
    let paired_median = paired[paired.len() / 2];
    let ratio = m_on.as_secs_f64() / m_off.as_secs_f64();
    println!(
        "  {what}: off (yardstick) median {m_off:.2?}, on median {m_on:.2?}; \
         ratio of medians {ratio:.4} ({:+.2}%), median paired ratio {paired_median:.4} ({:+.2}%)",
        (ratio - 1.0) * 100.0,
        (paired_median - 1.0) * 100.0
    );
}

/// CPU cost per tracked span: `n` empty segment spans, each with one empty phase span.
fn per_span_cost(n: u32) -> (Duration, Duration) {
    let empty = || {
        let _app = info_span!("app_proof", group = "bench").entered();
        for segment in 0..n {
            let _seg = info_span!("segment", segment).entered();
            info_span!(spans::PCS_OPENING).in_scope(|| {});
        }
    };
    let cost = |sampling: bool| {
        let mut h = Harness::new()
            .install(Install::Local)
            .span_tree(false)
            .filter("info");
        if sampling {
            h = h.sample_resources(ResourceConfig::default());
        }
        let cpu = process_cpu_time_us();
        let _ = h.run(empty).expect("harness run");
        Duration::from_micros(process_cpu_time_us() - cpu)
    };
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        off.push(cost(false));
        on.push(cost(true));
    }
    (median(off), median(on))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing we need.
    let rounds = env_or("ROUNDS", 11) as usize;
    let segments = env_or("SEGMENTS", 4) as u32;
    let phase_ms = env_or("PHASE_MS", 50);
    let interval = Duration::from_millis(env_or("INTERVAL_MS", 10));
    let iters = calibrate(phase_ms);

    // Warm-up of both configurations.
    run(None, segments, iters);
    run(Some(interval), segments, iters);

    let (mut off, mut on) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate the order so drift on a shared machine hits both alike.
        if round % 2 == 0 {
            off.push(run(None, segments, iters));
            on.push(run(Some(interval), segments, iters));
        } else {
            on.push(run(Some(interval), segments, iters));
            off.push(run(None, segments, iters));
        }
    }
    println!(
        "resource sampling overhead: {segments} segments x 8 phase spans x {phase_ms} ms, interval {interval:?}, {rounds} rounds"
    );
    let wall = |v: &[(Duration, Duration)]| v.iter().map(|r| r.0).collect::<Vec<_>>();
    let cpu = |v: &[(Duration, Duration)]| v.iter().map(|r| r.1).collect::<Vec<_>>();
    report("process CPU time", &cpu(&off), &cpu(&on));
    report("wall time       ", &wall(&off), &wall(&on));

    let n = 2000;
    let (off, on) = per_span_cost(n);
    let per_span = on.saturating_sub(off).as_secs_f64() / (2 * n) as f64;
    println!(
        "  per tracked span (open + close, {} spans): {:.1} us of CPU; a phase of 10 ms pays {:.3}%",
        2 * n,
        per_span * 1e6,
        per_span / 0.010 * 100.0
    );
}
