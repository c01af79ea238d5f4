//! A debugging aid for tests and chip authors: evaluates every AIR row by row on the
//! real traces and names the first failing constraint and every unbalanced bus tuple.
//! The verifier never relies on it.

use std::collections::BTreeMap;
use std::fmt;

use p3_air::{Air, RowWindow};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_matrix::Matrix;

use crate::config::Val;
use crate::folder::DebugFolder;
use crate::keygen::ProvingKey;
use crate::prover::AirInput;

/// A constraint that does not hold on some row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedConstraint {
    pub air_id: usize,
    pub air_name: String,
    pub row: usize,
    /// Index of the constraint in `eval` order (0-based, `assert_*` calls in order).
    pub constraint: usize,
}

/// A tuple whose sends and receives on a bus do not cancel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnbalancedTuple {
    pub bus: String,
    pub tuple: Vec<u32>,
    /// Net multiplicity (sends minus receives), as a field element.
    pub net: u32,
    /// (air name, row) of the first row that touched it.
    pub first_seen: (String, usize),
}

/// What is wrong with a set of traces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DebugReport {
    pub first_failure: Option<FailedConstraint>,
    pub unbalanced: Vec<UnbalancedTuple>,
    pub shape_errors: Vec<String>,
}

impl DebugReport {
    pub fn is_ok(&self) -> bool {
        self.first_failure.is_none() && self.unbalanced.is_empty() && self.shape_errors.is_empty()
    }
}

impl fmt::Display for DebugReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.shape_errors {
            writeln!(f, "shape: {e}")?;
        }
        if let Some(c) = &self.first_failure {
            writeln!(
                f,
                "AIR {} ({}): constraint #{} fails on row {}",
                c.air_id, c.air_name, c.constraint, c.row
            )?;
        }
        for u in self.unbalanced.iter().take(20) {
            writeln!(
                f,
                "bus {:?}: tuple {:?} has net multiplicity {} (first seen in {} row {})",
                u.bus, u.tuple, u.net, u.first_seen.0, u.first_seen.1
            )?;
        }
        if self.unbalanced.len() > 20 {
            writeln!(
                f,
                "... and {} more unbalanced tuples",
                self.unbalanced.len() - 20
            )?;
        }
        Ok(())
    }
}

/// Checks every constraint on every row and the balance of every bus.
pub fn check_traces(pk: &ProvingKey, inputs: &[AirInput]) -> DebugReport {
    let mut report = DebugReport::default();
    let vk = &pk.vk;
    if inputs.len() != vk.num_airs() {
        report.shape_errors.push(format!(
            "{} inputs for {} AIRs",
            inputs.len(),
            vk.num_airs()
        ));
        return report;
    }
    type Key = (String, Vec<u32>);
    let mut balance: BTreeMap<Key, (Val, (String, usize))> = BTreeMap::new();
    for (air_id, input) in inputs.iter().enumerate() {
        let info = vk.air_info(air_id);
        let air = vk.airs()[air_id].as_ref();
        let trace = &input.trace;
        if trace.width() != info.main_width || input.public_values.len() != info.num_public_values {
            report.shape_errors.push(format!(
                "AIR {air_id} ({}): width or public value count differs",
                info.name
            ));
            continue;
        }
        let h = trace.height();
        let prep = pk.preprocessed_traces[air_id].as_ref();
        if let Some(p) = prep {
            if p.height() != h {
                report.shape_errors.push(format!(
                    "AIR {air_id} ({}): height {h} != preprocessed {}",
                    info.name,
                    p.height()
                ));
                continue;
            }
        }
        let w = trace.width();
        let pw = prep.map_or(0, |p| p.width());
        for row in 0..h {
            let next = (row + 1) % h;
            let main_cur = &trace.values[row * w..(row + 1) * w];
            let main_next = &trace.values[next * w..(next + 1) * w];
            let (prep_cur, prep_next): (&[Val], &[Val]) = match prep {
                Some(p) => (
                    &p.values[row * pw..(row + 1) * pw],
                    &p.values[next * pw..(next + 1) * pw],
                ),
                None => (&[], &[]),
            };
            let mut folder = DebugFolder {
                main: RowWindow::from_two_rows(main_cur, main_next),
                preprocessed: RowWindow::from_two_rows(prep_cur, prep_next),
                public_values: &input.public_values,
                row,
                height: h,
                constraint_index: 0,
                failed: Vec::new(),
                interactions: Vec::new(),
            };
            Air::eval(air, &mut folder);
            if report.first_failure.is_none() {
                if let Some(&c) = folder.failed.first() {
                    report.first_failure = Some(FailedConstraint {
                        air_id,
                        air_name: info.name.clone(),
                        row,
                        constraint: c,
                    });
                }
            }
            for it in folder.interactions {
                if it.count == Val::ZERO {
                    continue;
                }
                let bus = if it.bus == "<local>" {
                    format!("<local:{}>", info.name)
                } else {
                    it.bus
                };
                let tuple = it.fields.iter().map(|v| v.as_canonical_u32()).collect();
                let entry = balance
                    .entry((bus, tuple))
                    .or_insert((Val::ZERO, (info.name.clone(), row)));
                entry.0 += it.count;
            }
        }
    }
    report.unbalanced = balance
        .into_iter()
        .filter(|(_, (net, _))| *net != Val::ZERO)
        .map(|((bus, tuple), (net, first_seen))| UnbalancedTuple {
            bus,
            tuple,
            net: net.as_canonical_u32(),
            first_seen,
        })
        .collect();
    report
}

/// Panics with the report if anything is wrong (for tests).
pub fn assert_traces_ok(pk: &ProvingKey, inputs: &[AirInput]) {
    let r = check_traces(pk, inputs);
    assert!(r.is_ok(), "traces do not satisfy the AIRs:\n{r}");
}
