//! Deterministic metrics, compared exactly.
//!
//! Every catalogued counter but the proof size (cycles, rows, cells, columns, constraints,
//! interactions, constraint degree, per-opcode and per-region counts:
//! `catalogue::is_deterministic`) is a function of the program, its inputs and the prover's
//! code, not of the machine: the same commit gives the same values on every run
//! (`starkscope-bench run` checks this across its samples). So any difference is real and no
//! threshold applies. A cost that went down (fewer cycles,
//! cells, rows, bytes) passes and is reported; a cost that went up, a count with no better
//! direction that changed (constraints, interactions, columns: a change there changes
//! what is proven, and a lower count can be a lost constraint), or a series that appeared
//! or disappeared fails the gate.

use std::collections::BTreeMap;
use std::fmt;

use starkscope_metrics::catalogue::is_deterministic;

use crate::format::number;
use crate::metric_info::{self, Better};
use crate::model::{label_text, Run};

/// How a deterministic series changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// A cost went down: passes.
    Better,
    /// A cost went up.
    Worse,
    /// A count with no better direction changed.
    Changed,
    /// The baseline has it, the run does not.
    Missing,
    /// The run has it, the baseline does not.
    Added,
}

impl Direction {
    /// Whether this change fails the gate.
    pub fn fails(self) -> bool {
        self != Direction::Better
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Better => "better",
            Direction::Worse => "worse",
            Direction::Changed => "changed",
            Direction::Missing => "missing from the run",
            Direction::Added => "new in the run",
        }
    }
}

/// One deterministic series that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub metric: String,
    /// `{k=v,...}`, empty for none.
    pub labels: String,
    pub base: Option<f64>,
    pub new: Option<f64>,
    pub direction: Direction,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = |v: Option<f64>| v.map_or("absent".to_string(), number);
        write!(
            f,
            "{}{}: {} -> {} ({})",
            self.metric,
            self.labels,
            value(self.base),
            value(self.new),
            self.direction.as_str()
        )
    }
}

/// The comparison of every deterministic series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExactReport {
    /// Series present on both sides or either.
    pub compared: usize,
    /// Those that differ, sorted by metric and labels.
    pub changes: Vec<Change>,
}

impl ExactReport {
    pub fn failures(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.direction.fails())
    }
}

fn deterministic_series(run: &Run) -> BTreeMap<(String, String), f64> {
    run.samples()
        .filter(|s| is_deterministic(&s.metric))
        .map(|s| ((s.metric.clone(), label_text(&s.labels)), s.value))
        .collect()
}

/// Compares every deterministic series of `run` with `base`'s.
pub fn compare(run: &Run, base: &Run) -> ExactReport {
    let new = deterministic_series(run);
    let old = deterministic_series(base);
    let mut keys: Vec<&(String, String)> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let changes = keys
        .iter()
        .filter_map(|key| {
            let (b, n) = (old.get(*key).copied(), new.get(*key).copied());
            let direction = match (b, n) {
                (Some(b), Some(n)) if b == n => return None,
                (Some(b), Some(n)) => match metric_info::better(&key.0) {
                    Better::Lower if n < b => Direction::Better,
                    Better::Higher if n > b => Direction::Better,
                    Better::Lower | Better::Higher => Direction::Worse,
                    Better::Neither => Direction::Changed,
                },
                (Some(_), None) => Direction::Missing,
                (None, _) => Direction::Added,
            };
            Some(Change {
                metric: key.0.clone(),
                labels: key.1.clone(),
                base: b,
                new: n,
                direction,
            })
        })
        .collect();
    ExactReport {
        compared: keys.len(),
        changes,
    }
}
