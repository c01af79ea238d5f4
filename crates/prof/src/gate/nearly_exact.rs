//! Nearly deterministic metrics, compared as medians of the samples within a tolerance:
//! peak memory and proof size.
//!
//! - `run_peak_rss_bytes`, the kernel's exact high-water mark (`VmHWM`) of the proving
//!   process: the same allocations happen on every run, but how far the segments proven at
//!   once overlap, and which allocator arena a thread gets, move it. On the dev machine most
//!   runs of a benchmark agree within 1-2%, and an odd run is off by a third either way.
//! - `proof_size_bytes`, summed over the proofs: the parallel proof-of-work search keeps
//!   whichever witness a thread finds first, and the FRI openings it leads to encode to
//!   sizes that differ by about 1% per segment (see `catalogue::is_deterministic`).
//!
//! So one run's value is not judged, as for timings: with repeats on both sides the gate
//! compares the medians (an odd run cannot move them), and fails when the run's is above the
//! baseline's by more than the metric's tolerance. A metric the baseline's repeats have and
//! the run's lack fails.

use std::fmt;

use starkscope_metrics::names;
use starkscope_snapshot::repeats::median;
use starkscope_snapshot::Repeats;

use super::timing::MIN_SAMPLES;
use crate::format::number;
use crate::model::Run;

/// The metrics, their names in reports, and how much higher their median may be. The
/// tolerances are about three times the difference between the medians of back-to-back
/// runs of one commit on the dev machine (docs/prof.md); a real change of memory layout or
/// proof shape is rarely smaller.
pub const NEARLY_EXACT: [(&str, &str, f64); 2] = [
    (names::RUN_PEAK_RSS_BYTES, "peak memory", 3.0),
    (names::PROOF_SIZE_BYTES, "proof size", 1.0),
];

/// One metric's medians, and whether the run's is too high.
#[derive(Clone, Debug, PartialEq)]
pub struct NearlyExactCheck {
    pub key: String,
    pub name: String,
    pub base: f64,
    /// `None` when the run's repeats lack it (a measurement must not vanish to pass).
    pub new: Option<f64>,
    /// Samples each median is of.
    pub base_samples: usize,
    pub new_samples: usize,
    pub tolerance_pct: f64,
}

impl NearlyExactCheck {
    pub fn change_pct(&self) -> Option<f64> {
        self.new.map(|n| (n / self.base - 1.0) * 100.0)
    }

    pub fn regressed(&self) -> bool {
        self.change_pct().is_none_or(|c| c > self.tolerance_pct)
    }
}

impl fmt::Display for NearlyExactCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.new, self.change_pct()) {
            (Some(n), Some(c)) => write!(
                f,
                "{} ({}, median of {} / {}): {} -> {} bytes ({c:+.1}%, tolerance {}%)",
                self.name,
                self.key,
                self.new_samples,
                self.base_samples,
                number(self.base),
                number(n),
                self.tolerance_pct
            ),
            _ => write!(
                f,
                "{} ({}): {} bytes in the baseline's repeats, missing from the run's",
                self.name,
                self.key,
                number(self.base)
            ),
        }
    }
}

/// The comparisons made, and why others were not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NearlyExactReport {
    pub checks: Vec<NearlyExactCheck>,
    /// One line per metric not gated: its name and why.
    pub not_gated: Vec<String>,
}

impl NearlyExactReport {
    pub fn check(&self, key: &str) -> Option<&NearlyExactCheck> {
        self.checks.iter().find(|c| c.key == key)
    }
}

fn repeated<'a>(repeats: Option<&'a Repeats>, key: &str) -> Option<&'a [f64]> {
    repeats?.series.get(key).map(Vec::as_slice)
}

fn recorded(run: &Run, key: &str) -> bool {
    run.samples().any(|s| s.metric == key)
}

pub fn compare(
    run: &Run,
    run_repeats: Option<&Repeats>,
    base: &Run,
    base_repeats: Option<&Repeats>,
) -> NearlyExactReport {
    let mut report = NearlyExactReport::default();
    for (key, name, tolerance_pct) in NEARLY_EXACT {
        let mut skip = |why: &str| report.not_gated.push(format!("{name}: {why}"));
        let Some(base_values) = repeated(base_repeats, key) else {
            if recorded(base, key) {
                skip("the baseline's is one run's, and one run's is not judged");
            }
            continue;
        };
        let new_values = repeated(run_repeats, key);
        if new_values.is_none() && recorded(run, key) {
            skip("the run's is one run's, and one run's is not judged");
            continue;
        }
        let enough = |v: &[f64]| v.len() >= MIN_SAMPLES;
        if !enough(base_values) || new_values.is_some_and(|v| !enough(v)) {
            skip(&format!("fewer than {MIN_SAMPLES} samples on a side"));
            continue;
        }
        let Some(base_median) = median(base_values) else {
            continue;
        };
        report.checks.push(NearlyExactCheck {
            key: key.to_string(),
            name: name.to_string(),
            base: base_median,
            new: new_values.and_then(median),
            base_samples: base_values.len(),
            new_samples: new_values.map_or(0, <[f64]>::len),
            tolerance_pct,
        });
    }
    report
}
