//! A debugging aid for tests and chip authors: evaluates every AIR row by row on the
//! real traces and reports every failing constraint and every unbalanced bus tuple.
//! The verifier never relies on it.
//!
//! Rows see the prover's own row selectors: Plonky3's Lagrange selectors are not
//! normalised (`is_first_row` is `n` on row 0, `is_last_row` is `n * g` on the last row,
//! `is_transition` is `g^r - g^-1` on row `r`), so a constraint that compares a selector
//! with a column holds here exactly when it holds for the prover. A trace that passes
//! [`check_traces`] and respects the degree bound is provable, and one that fails it is not.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use p3_air::{Air, RowWindow};
use p3_field::{Field, PrimeCharacteristicRing, PrimeField32, TwoAdicField};
use p3_matrix::Matrix;

use crate::config::Val;
use crate::folder::DebugFolder;
use crate::keygen::ProvingKey;
use crate::prover::AirInput;

/// A constraint that does not hold on some rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedConstraint {
    pub air_id: usize,
    pub air_name: String,
    /// Index of the constraint in `eval` order (0-based, one per `assert_*` call).
    pub constraint: usize,
    /// The first row it fails on.
    pub row: usize,
    /// How many rows it fails on.
    pub rows: usize,
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
    /// Every failing constraint, by AIR then constraint index.
    pub failures: Vec<FailedConstraint>,
    pub unbalanced: Vec<UnbalancedTuple>,
    pub shape_errors: Vec<String>,
}

impl DebugReport {
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty() && self.unbalanced.is_empty() && self.shape_errors.is_empty()
    }

    /// The failing constraint of the lowest AIR id and constraint index.
    pub fn first_failure(&self) -> Option<&FailedConstraint> {
        self.failures.first()
    }

    /// `(air_id, constraint)` of every failing constraint.
    pub fn failing_constraints(&self) -> BTreeSet<(usize, usize)> {
        self.failures
            .iter()
            .map(|f| (f.air_id, f.constraint))
            .collect()
    }

    /// Every bus balances and the shapes are right (constraints may still fail).
    pub fn buses_balance(&self) -> bool {
        self.unbalanced.is_empty() && self.shape_errors.is_empty()
    }
}

impl fmt::Display for DebugReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.shape_errors {
            writeln!(f, "shape: {e}")?;
        }
        for c in &self.failures {
            writeln!(
                f,
                "AIR {} ({}): constraint #{} fails on {} row(s), first row {}",
                c.air_id, c.air_name, c.constraint, c.rows, c.row
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

/// The prover's (unnormalised) selectors on row `row` of a height-`h` trace, given
/// `x = g^row`.
pub(crate) struct RowSelectors {
    pub is_first_row: Val,
    pub is_last_row: Val,
    pub is_transition: Val,
}

impl RowSelectors {
    fn at(row: usize, height: usize, x: Val, g: Val) -> Self {
        let n = Val::from_usize(height);
        RowSelectors {
            is_first_row: if row == 0 { n } else { Val::ZERO },
            is_last_row: if row + 1 == height { n * g } else { Val::ZERO },
            is_transition: x - g.inverse(),
        }
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
        if !h.is_power_of_two() || h < 2 {
            report.shape_errors.push(format!(
                "AIR {air_id} ({}): height {h} is not a power of two >= 2",
                info.name
            ));
            continue;
        }
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
        let g = Val::two_adic_generator(h.trailing_zeros() as usize);
        let w = trace.width();
        let pw = prep.map_or(0, |p| p.width());
        // constraint index -> (first row, rows failing)
        let mut failing: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        let mut x = Val::ONE;
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
                selectors: RowSelectors::at(row, h, x, g),
                constraint_index: 0,
                failed: Vec::new(),
                interactions: Vec::new(),
            };
            x *= g;
            Air::eval(air, &mut folder);
            for &c in &folder.failed {
                failing.entry(c).or_insert((row, 0)).1 += 1;
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
        report
            .failures
            .extend(
                failing
                    .into_iter()
                    .map(|(constraint, (row, rows))| FailedConstraint {
                        air_id,
                        air_name: info.name.clone(),
                        constraint,
                        row,
                        rows,
                    }),
            );
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

/// The number of constraints each AIR states in its own `eval` (LogUp's not included),
/// in the indexing [`FailedConstraint::constraint`] uses.
pub fn own_constraint_counts(pk: &ProvingKey) -> Vec<usize> {
    let vk = &pk.vk;
    (0..vk.num_airs())
        .map(|air_id| {
            let info = vk.air_info(air_id);
            let main = vec![Val::ZERO; info.main_width];
            let prep = vec![Val::ZERO; info.preprocessed_width()];
            let public_values = vec![Val::ZERO; info.num_public_values];
            let mut folder = DebugFolder {
                main: RowWindow::from_two_rows(&main, &main),
                preprocessed: RowWindow::from_two_rows(&prep, &prep),
                public_values: &public_values,
                selectors: RowSelectors::at(0, 2, Val::ONE, Val::NEG_ONE),
                constraint_index: 0,
                failed: Vec::new(),
                interactions: Vec::new(),
            };
            Air::eval(vk.airs()[air_id].as_ref(), &mut folder);
            folder.constraint_index
        })
        .collect()
}
