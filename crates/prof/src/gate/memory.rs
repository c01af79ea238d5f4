//! Peak memory: `run_peak_rss_bytes`, the kernel's exact high-water mark (`VmHWM`) of the
//! proving process, with a small tolerance.
//!
//! It is almost deterministic: the same allocations happen on every run. What moves it is
//! timing: how far the segments proven at once overlap, and which allocator arena a thread
//! gets; on one machine most runs agree within a percent or two, and an odd run can be far
//! off either way. So the gate takes the median over the samples when the run has
//! repeats (one odd run cannot fail it) and allows [`TOLERANCE_PCT`] on top.

use std::fmt;

use starkscope_metrics::names;
use starkscope_snapshot::repeats::median;
use starkscope_snapshot::Repeats;

use crate::format::number;
use crate::model::{Labels, Run};

/// How much higher the peak may be before it fails. Twice the run-to-run spread of the
/// median measured on the 2-core dev machine (about 1%; docs/prof.md).
pub const TOLERANCE_PCT: f64 = 3.0;

/// The run's and the baseline's peak, and whether the run's is too high.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryCheck {
    pub base_bytes: f64,
    /// `None` when the run did not record it (a measurement must not vanish to pass).
    pub new_bytes: Option<f64>,
    /// Samples each value is the median of (1: a single run).
    pub base_samples: usize,
    pub new_samples: usize,
    pub tolerance_pct: f64,
}

impl MemoryCheck {
    pub fn change_pct(&self) -> Option<f64> {
        self.new_bytes.map(|n| (n / self.base_bytes - 1.0) * 100.0)
    }

    pub fn regressed(&self) -> bool {
        self.change_pct().is_none_or(|c| c > self.tolerance_pct)
    }
}

impl fmt::Display for MemoryCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.new_bytes, self.change_pct()) {
            (Some(n), Some(c)) => write!(
                f,
                "peak memory (run_peak_rss_bytes, median of {}): {} -> {} bytes ({c:+.1}%, tolerance {}%)",
                self.new_samples,
                number(self.base_bytes),
                number(n),
                self.tolerance_pct
            ),
            _ => write!(
                f,
                "peak memory (run_peak_rss_bytes): {} bytes in the baseline, missing from the run",
                number(self.base_bytes)
            ),
        }
    }
}

/// The peak of a run: the median over its samples when it has repeats, else its one value.
fn peak(run: &Run, repeats: Option<&Repeats>) -> Option<(f64, usize)> {
    if let Some(values) = repeats.and_then(|r| r.series.get(names::RUN_PEAK_RSS_BYTES)) {
        return Some((median(values)?, values.len()));
    }
    let sample = run.get(names::RUN_PEAK_RSS_BYTES, &Labels::new())?;
    Some((sample.value, 1))
}

/// `None` when the baseline has no peak (nothing to hold the run to).
pub fn compare(
    run: &Run,
    run_repeats: Option<&Repeats>,
    base: &Run,
    base_repeats: Option<&Repeats>,
) -> Option<MemoryCheck> {
    let (base_bytes, base_samples) = peak(base, base_repeats)?;
    let new = peak(run, run_repeats);
    Some(MemoryCheck {
        base_bytes,
        new_bytes: new.map(|(v, _)| v),
        base_samples,
        new_samples: new.map_or(0, |(_, n)| n),
        tolerance_pct: TOLERANCE_PCT,
    })
}
