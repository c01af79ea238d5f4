//! The benchmark gate: does a run regress against its baseline, without crying wolf?
//!
//! - Deterministic metrics ([`exact`]): compared exactly; any worsening fails.
//! - Nearly deterministic ones, peak memory and proof size ([`nearly_exact`]): medians over
//!   the samples, within a small tolerance.
//! - Timings ([`timing`]): only through repeated samples, as medians in yardstick units,
//!   held to a threshold derived from the measured spread.
//!
//! [`check`] returns a [`GateReport`]; what fails is in [`GateReport::regressions`]. The
//! report renders as markdown (`gate.md`, for the pull-request comment) and JSON
//! (`gate.json`, for scripts). The exit code is the caller's business (the cli maps a
//! regression to `starkscope_sdk::Exit::Regression`).

pub mod exact;
pub mod nearly_exact;
pub mod timing;

mod render;

use std::fmt;

use starkscope_snapshot::Repeats;

use crate::error::ProfError;
use crate::model::Run;

pub use exact::{Change, ExactReport};
pub use nearly_exact::{NearlyExactCheck, NearlyExactReport};
pub use timing::{TimingCheck, TimingReport};

/// What the gate found.
#[derive(Clone, Debug, PartialEq)]
pub struct GateReport {
    pub exact: ExactReport,
    pub nearly_exact: NearlyExactReport,
    pub timings: TimingReport,
    /// The floor of the timing threshold, in percent.
    pub floor_pct: f64,
}

/// One reason the gate fails.
#[derive(Clone, Debug, PartialEq)]
pub enum Regression {
    Deterministic(Change),
    NearlyExact(NearlyExactCheck),
    Slower(TimingCheck),
    /// A gated timing the baseline has and the run does not.
    TimingMissing(String),
}

impl fmt::Display for Regression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Regression::Deterministic(c) => write!(f, "{c}"),
            Regression::NearlyExact(m) => write!(f, "{m}"),
            Regression::Slower(t) => write!(f, "{t}"),
            Regression::TimingMissing(name) => write!(
                f,
                "{name}: repeated in the baseline, missing from the run's repeats"
            ),
        }
    }
}

impl GateReport {
    /// Everything that fails the gate, deterministic changes first.
    pub fn regressions(&self) -> Vec<Regression> {
        let mut out: Vec<Regression> = self
            .exact
            .failures()
            .cloned()
            .map(Regression::Deterministic)
            .collect();
        out.extend(
            self.nearly_exact
                .checks
                .iter()
                .filter(|m| m.regressed())
                .cloned()
                .map(Regression::NearlyExact),
        );
        out.extend(
            self.timings
                .checks
                .iter()
                .filter(|t| t.regressed())
                .cloned()
                .map(Regression::Slower),
        );
        out.extend(
            self.timings
                .missing
                .iter()
                .cloned()
                .map(Regression::TimingMissing),
        );
        out
    }

    /// The report as markdown: verdict, timing table, memory, deterministic changes.
    pub fn markdown(&self) -> String {
        render::markdown(self)
    }

    /// The report as JSON, for scripts (scripts/bench-compare.sh).
    pub fn json(&self) -> String {
        render::json(self)
    }
}

/// The repeats of a run: those of the first file that has them.
fn repeats_of(run: &Run) -> Result<Option<Repeats>, ProfError> {
    for (path, meta) in run.sources.iter().zip(&run.metas) {
        let Some(meta) = meta else { continue };
        match Repeats::from_meta(meta) {
            Ok(Some(r)) => return Ok(Some(r)),
            Ok(None) => {}
            Err(message) => {
                return Err(ProfError::BadRepeats {
                    path: path.clone(),
                    message,
                })
            }
        }
    }
    Ok(None)
}

/// Gates `run` against `base`; timings need a slowdown of at least `floor_pct` percent
/// (and more when the samples are noisy) to fail. Malformed repeats are an error.
pub fn check(run: &Run, base: &Run, floor_pct: f64) -> Result<GateReport, ProfError> {
    let run_repeats = repeats_of(run)?;
    let base_repeats = repeats_of(base)?;
    Ok(GateReport {
        exact: exact::compare(run, base),
        nearly_exact: nearly_exact::compare(run, run_repeats.as_ref(), base, base_repeats.as_ref()),
        timings: timing::compare(run_repeats.as_ref(), base_repeats.as_ref(), floor_pct),
        floor_pct,
    })
}
