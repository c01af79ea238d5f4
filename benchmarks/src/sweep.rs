//! Segment-size sweep: one benchmark proven at several segment sizes, each in its own
//! child process (so peak RSS is that size's alone), repeated and reduced to medians.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use starkscope_metrics::catalogue::timing_metric_name;
use starkscope_metrics::spans;

use crate::child::ChildRun;
use crate::measure::{mib, Measurement};
use crate::stats::median;

/// The medians of one segment size's runs.
#[derive(Clone, Debug, Serialize)]
pub struct SizePoint {
    pub segment_size: u64,
    pub runs: Vec<Measurement>,
    pub cycles: u64,
    pub segments: usize,
    /// Segments proven at once, and the pool's threads.
    pub provers: usize,
    pub threads: usize,
    pub prove_ms: f64,
    pub cycles_per_sec: f64,
    pub execute_ms: f64,
    pub trace_gen_ms: f64,
    pub stark_prove_ms: f64,
    pub phases_ms: BTreeMap<String, f64>,
    pub peak_rss_bytes: Option<u64>,
}

impl SizePoint {
    pub fn from_runs(segment_size: u64, runs: Vec<Measurement>) -> Self {
        let med = |f: &dyn Fn(&Measurement) -> f64| {
            median(&runs.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
        };
        let mut phases_ms = BTreeMap::new();
        if let Some(first) = runs.first() {
            for name in first.phases_ms.keys() {
                phases_ms.insert(
                    name.clone(),
                    med(&|m| m.phases_ms.get(name).copied().unwrap_or(f64::NAN)),
                );
            }
        }
        let rss: Vec<f64> = runs
            .iter()
            .filter_map(|m| m.peak_rss_bytes.map(|b| b as f64))
            .collect();
        SizePoint {
            segment_size,
            cycles: runs.first().map_or(0, |m| m.cycles),
            segments: runs.first().map_or(0, |m| m.segments),
            provers: runs.first().map_or(0, |m| m.provers),
            threads: runs.first().map_or(0, |m| m.threads),
            prove_ms: med(&|m| m.prove_ms),
            cycles_per_sec: med(&|m| m.cycles_per_sec()),
            execute_ms: med(&|m| m.execute_ms),
            trace_gen_ms: med(&|m| m.trace_gen_ms),
            stark_prove_ms: med(&|m| m.stark_prove_ms),
            phases_ms,
            peak_rss_bytes: median(&rss).map(|b| b as u64),
            runs,
        }
    }
}

/// Proves `base` at every size in `sizes`, `repeat` times each (sizes interleaved within a
/// repetition, so drift on a noisy machine spreads over all of them).
pub fn sweep(
    binary: &Path,
    base: &ChildRun,
    sizes: &[u64],
    repeat: usize,
    mut on_run: impl FnMut(&Measurement),
) -> anyhow::Result<Vec<SizePoint>> {
    let mut runs: Vec<Vec<Measurement>> = vec![Vec::new(); sizes.len()];
    for _ in 0..repeat.max(1) {
        for (i, &size) in sizes.iter().enumerate() {
            let run = ChildRun {
                segment_size: Some(size),
                ..base.clone()
            };
            let m = run.run(binary)?;
            on_run(&m);
            runs[i].push(m);
        }
    }
    Ok(sizes
        .iter()
        .zip(runs)
        .map(|(&s, r)| SizePoint::from_runs(s, r))
        .collect())
}

fn size_label(n: u64) -> String {
    if n.is_power_of_two() {
        format!("2^{}", n.trailing_zeros())
    } else {
        n.to_string()
    }
}

fn pct(part: f64, whole: f64) -> f64 {
    100.0 * part / whole
}

/// Two markdown tables: throughput, split and memory per size; then where stark_prove's
/// time goes, phase by phase (when the runner had metrics).
pub fn markdown(points: &[SizePoint]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| segment size | segments | provers x threads | cycles | prove wall (s) | cycles/s | execute ms (%) | trace_gen ms (%) | stark_prove ms (%) | peak RSS (MiB) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in points {
        let sum = p.execute_ms + p.trace_gen_ms + p.stark_prove_ms;
        let _ = writeln!(
            out,
            "| {} | {} | {} x {} | {} | {:.2} | {:.0} | {:.0} ({:.1}%) | {:.0} ({:.1}%) | {:.0} ({:.1}%) | {} |",
            size_label(p.segment_size),
            p.segments,
            p.provers,
            p.threads,
            p.cycles,
            p.prove_ms / 1e3,
            p.cycles_per_sec,
            p.execute_ms,
            pct(p.execute_ms, sum),
            p.trace_gen_ms,
            pct(p.trace_gen_ms, sum),
            p.stark_prove_ms,
            pct(p.stark_prove_ms, sum),
            mib(p.peak_rss_bytes),
        );
    }
    // The phases some run recorded, in the order the prover runs them: (span, metric).
    let phases: Vec<(&str, String)> = spans::PROVER_PHASES
        .iter()
        .map(|&span| (span, timing_metric_name(span).into_owned()))
        .filter(|(_, metric)| points.iter().any(|p| p.phases_ms.contains_key(metric)))
        .collect();
    if phases.is_empty() {
        let _ = writeln!(
            out,
            "\n(no prover phases: the runner was built without bench-metrics)"
        );
        return out;
    }
    let _ = writeln!(
        out,
        "\nstark_prove by phase, ms summed over segments (% of the six):\n"
    );
    let _ = write!(out, "| segment size |");
    for (span, _) in &phases {
        let _ = write!(out, " {span} |");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "|---|{}", "---:|".repeat(phases.len()));
    for p in points {
        let total: f64 = phases
            .iter()
            .filter_map(|(_, metric)| p.phases_ms.get(metric))
            .sum();
        let _ = write!(out, "| {} |", size_label(p.segment_size));
        for (_, metric) in &phases {
            let v = p.phases_ms.get(metric).copied().unwrap_or(f64::NAN);
            let _ = write!(out, " {:.0} ({:.1}%) |", v, pct(v, total));
        }
        let _ = writeln!(out);
    }
    out
}
