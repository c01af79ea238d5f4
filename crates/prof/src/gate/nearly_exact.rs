//! Nearly deterministic metrics, compared sample against sample: peak memory and proof
//! size.
//!
//! - `run_peak_rss_bytes`, the kernel's exact high-water mark (`VmHWM`) of the proving
//!   process: the same allocations happen on every run, but how far the segments proven at
//!   once overlap moves it, and not by a little: its samples often fall in two modes
//!   (fibonacci_recursion: 1,070 or 1,348 MiB, either in any run).
//! - `proof_size_bytes`, summed over the proofs: the parallel proof-of-work search keeps
//!   whichever witness a thread finds first, and the FRI openings it leads to encode to
//!   sizes that differ by up to about 1% (see `catalogue::is_deterministic`).
//!
//! A median or a spread misleads on two modes, so the rule asks for no distribution at all:
//! the run regresses when *every* one of its samples is above *every* sample of the baseline
//! by more than the metric's tolerance. With 5 samples on each side and nothing changed,
//! that happens by chance with probability 1 / C(10, 5) = 1/252 before the tolerance, whatever
//! the shape of the noise; a real increase moves every sample and is caught once it exceeds
//! the baseline's own range. One run's value is not judged, and a metric the baseline's
//! repeats have and the run's lack fails.

use std::fmt;

use starkscope_metrics::names;
use starkscope_snapshot::repeats::median;
use starkscope_snapshot::Repeats;

use super::timing::MIN_SAMPLES;
use crate::format::number;
use crate::model::Run;

/// The metrics, their names in reports, and by how much the run's smallest sample may
/// exceed the baseline's largest: margins for what differs between two machines of one kind
/// (page sizes, allocator); the run-to-run noise is covered by comparing the extremes.
pub const NEARLY_EXACT: [(&str, &str, f64); 2] = [
    (names::RUN_PEAK_RSS_BYTES, "peak memory", 3.0),
    (names::PROOF_SIZE_BYTES, "proof size", 1.0),
];

/// One side's samples of a metric, reduced.
#[derive(Clone, Debug, PartialEq)]
pub struct Extremes {
    pub samples: usize,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Extremes {
    fn of(values: &[f64]) -> Option<Extremes> {
        Some(Extremes {
            samples: values.len(),
            min: values.iter().copied().reduce(f64::min)?,
            median: median(values)?,
            max: values.iter().copied().reduce(f64::max)?,
        })
    }
}

/// One metric on both sides, and whether the run is above the baseline throughout.
#[derive(Clone, Debug, PartialEq)]
pub struct NearlyExactCheck {
    pub key: String,
    pub name: String,
    pub base: Extremes,
    /// `None` when the run's repeats lack it (a measurement must not vanish to pass).
    pub new: Option<Extremes>,
    pub tolerance_pct: f64,
}

impl NearlyExactCheck {
    /// The change of the median, in percent (what a reader looks at first).
    pub fn change_pct(&self) -> Option<f64> {
        let new = self.new.as_ref()?;
        Some((new.median / self.base.median - 1.0) * 100.0)
    }

    /// How far the run's smallest sample is above the baseline's largest, in percent
    /// (negative: the two overlap or the run is lower).
    pub fn excess_pct(&self) -> Option<f64> {
        let new = self.new.as_ref()?;
        Some((new.min / self.base.max - 1.0) * 100.0)
    }

    pub fn regressed(&self) -> bool {
        self.excess_pct().is_none_or(|e| e > self.tolerance_pct)
    }
}

impl fmt::Display for NearlyExactCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.base;
        match (&self.new, self.change_pct(), self.excess_pct()) {
            (Some(n), Some(change), Some(excess)) => write!(
                f,
                "{} ({}): median {} -> {} bytes ({change:+.1}%); the run's {} samples span {}..{}, the baseline's {} span {}..{}: lowest run sample {excess:+.1}% against the highest baseline sample, tolerance {}%",
                self.name,
                self.key,
                number(b.median),
                number(n.median),
                n.samples,
                number(n.min),
                number(n.max),
                b.samples,
                number(b.min),
                number(b.max),
                self.tolerance_pct
            ),
            _ => write!(
                f,
                "{} ({}): median {} bytes in the baseline's repeats, missing from the run's",
                self.name,
                self.key,
                number(b.median)
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
        let Some(base) = Extremes::of(base_values) else {
            continue;
        };
        report.checks.push(NearlyExactCheck {
            key: key.to_string(),
            name: name.to_string(),
            base,
            new: new_values.and_then(Extremes::of),
            tolerance_pct,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(run: &[f64], base: &[f64]) -> NearlyExactCheck {
        NearlyExactCheck {
            key: names::RUN_PEAK_RSS_BYTES.into(),
            name: "peak memory".into(),
            base: Extremes::of(base).unwrap(),
            new: Extremes::of(run),
            tolerance_pct: 3.0,
        }
    }

    #[test]
    fn two_modes_do_not_cry_wolf_and_a_shift_of_every_sample_fails() {
        // fibonacci_recursion's peaks (MiB): the median jumps 26% between two runs of one
        // commit, but the samples overlap.
        let base = [1070.0, 1070.0, 1348.0, 1070.0, 1348.0];
        let c = check(&[1348.0, 1348.0, 1348.0, 1070.0, 1348.0], &base);
        assert!(c.change_pct().unwrap() > 25.0 && !c.regressed(), "{c}");
        // Every sample 30% up: above the baseline's highest.
        let c = check(&base.map(|b| b * 1.3), &base);
        assert!(c.regressed(), "{c}");
        // Just above the highest, within the tolerance.
        assert!(!check(&[1380.0; 5], &base).regressed());
        // Gone from the run's repeats.
        assert!(check(&[], &base).regressed());
    }
}
