//! The CI gate: which headline metrics regressed beyond a percentage.

use std::fmt;

use crate::analysis::Analysis;
use crate::diff::{delta, regressed};
use crate::format::{change, number};

/// A headline metric that got worse than allowed.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    pub metric: String,
    pub unit: &'static str,
    pub base: f64,
    /// `None` when the run no longer reports the metric at all.
    pub new: Option<f64>,
    pub rel_pct: Option<f64>,
}

impl fmt::Display for Regression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.new {
            Some(new) => {
                let d = delta(crate::metric_info::Better::Lower, self.base, new, 0.0);
                write!(
                    f,
                    "{}: {} -> {} {} ({})",
                    self.metric,
                    number(self.base),
                    number(new),
                    self.unit,
                    change(&d)
                )
            }
            None => write!(
                f,
                "{}: {} {} in the baseline, missing from the run",
                self.metric,
                number(self.base),
                self.unit
            ),
        }
    }
}

/// Headline metrics of `run` that are more than `pct` percent worse than in `base`. A
/// headline the baseline has and the run lacks counts too: a gate must not pass because a
/// measurement disappeared.
pub fn regressions(run: &Analysis, base: &Analysis, pct: f64) -> Vec<Regression> {
    let mut out = Vec::new();
    for b in &base.headlines {
        let Some(old) = b.value else { continue };
        let new = run.headline(b.key).and_then(|h| h.value);
        let bad = match new {
            Some(n) => regressed(b.better, old, n, pct),
            None => true,
        };
        if bad {
            out.push(Regression {
                metric: b.name.clone(),
                unit: b.unit,
                base: old,
                new,
                rel_pct: new.and_then(|n| delta(b.better, old, n, 0.0).rel_pct),
            });
        }
    }
    out
}
