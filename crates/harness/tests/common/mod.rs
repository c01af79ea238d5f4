//! Test helpers: the servers and daemons of [`servers`], and a span-shaped workload.
#![allow(dead_code)]

mod servers;
pub use servers::*;

use std::time::{Duration, Instant};

/// A small measured workload standing in for a proof until `starkscope run` lands: an app
/// span (`group = "fib"`) with two segments, each with `execute`, `trace_gen` and a STARK
/// proof whose six phases are spans; counters `total_cycles` (100, 101) and
/// `proof_size_bytes` and the gauge `total_proof_time_ms` per segment (as the VM emits it).
#[cfg(feature = "bench-metrics")]
pub fn workload() {
    use starkscope_metrics::metrics::{counter, gauge};
    use starkscope_metrics::{names, spans};
    use tracing::info_span;

    let app = info_span!("app_proof", group = "fib");
    let _app = app.enter();
    for segment in 0..2u64 {
        let seg = info_span!("segment", segment);
        let _seg = seg.enter();
        let started = Instant::now();
        {
            info_span!(spans::EXECUTE).in_scope(|| spin(Duration::from_micros(300)));
            counter!(names::TOTAL_CYCLES).absolute(100 + segment);
            info_span!(spans::TRACE_GEN).in_scope(|| spin(Duration::from_micros(200)));
            info_span!(spans::STARK_PROVE_EXCLUDING_TRACE).in_scope(|| {
                info_span!(spans::MAIN_TRACE_COMMIT).in_scope(|| spin(Duration::from_micros(100)));
                info_span!(spans::GENERATE_PERM_TRACE)
                    .in_scope(|| spin(Duration::from_micros(100)));
                info_span!(spans::PERM_TRACE_COMMIT).in_scope(|| spin(Duration::from_micros(100)));
                info_span!(spans::QUOTIENT_POLY_COMPUTE)
                    .in_scope(|| spin(Duration::from_micros(100)));
                info_span!(spans::QUOTIENT_POLY_COMMIT)
                    .in_scope(|| spin(Duration::from_micros(100)));
                info_span!(spans::PCS_OPENING).in_scope(|| spin(Duration::from_micros(100)));
            });
            counter!(names::PROOF_SIZE_BYTES).absolute(4096 + segment);
        }
        gauge!(names::TOTAL_PROOF_TIME_MS).set(started.elapsed().as_secs_f64() * 1000.0);
    }
}

pub fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// The value of the sample `name` whose labels are exactly `labels` (any order) in a
/// Prometheus text exposition.
pub fn exposition_value(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let mut got: Vec<(String, String)> = rest
                .split(',')
                .filter(|kv| !kv.is_empty())
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_string(), v.trim_matches('"').to_string()))
                })
                .collect();
            got.sort();
            let mut want: Vec<(String, String)> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            want.sort();
            (got == want).then(|| value.parse().ok()).flatten()
        })
}
