//! Constraint coverage of the lie catalogue, measured cheaply with the debug checker.
//!
//! A lie *covers* constraint `k` when its witness fails exactly `{k}` and every bus
//! balances: with `k` gone, nothing would refuse it. A lie that fails a set of
//! constraints covers each of them *jointly* (dropping the whole set would let it
//! through). A lie that unbalances a bus is refused by a lookup, whatever the constraints
//! say. The ablation sweep (`scripts/soundness-sweep.sh`) confirms samples of this table
//! with real proofs under a backend that drops the constraint.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use starkscope_stark_backend::debug::own_constraint_counts;

use super::lies::Lie;

/// A constraint no lie depends on, and why none can (docs/vm-proving.md has the
/// argument at length). The coverage test fails if one of these becomes covered (the
/// list is stale) or a constraint outside it is left uncovered.
#[derive(Clone, Copy, Debug)]
pub struct Implied {
    pub chip: &'static str,
    pub constraint: usize,
    pub why: &'static str,
}

pub const IMPLIED: &[Implied] = &[
    Implied {
        chip: "range16",
        constraint: 0,
        why: "reads only the preprocessed column, which the verifying key commits: no prover can make it fail",
    },
    Implied {
        chip: "range16",
        constraint: 1,
        why: "reads only the preprocessed column, which the verifying key commits: no prover can make it fail",
    },
    Implied {
        chip: "cpu",
        constraint: 23,
        why: "booleanity of the poseidon2 selector: a -1 would receive a poseidon2_op tuple that only a poseidon2_mem row counted -1 sends, which that chip's own booleanity refuses",
    },
    Implied {
        chip: "ext_arith",
        constraint: 3,
        why: "booleanity of inv: inv = -1 needs another selector at +1 to keep is_real boolean, and every other is binary, so the y accesses turn on with count 1 and unbalance the memory bus",
    },
    Implied {
        chip: "ext_arith",
        constraint: 4,
        why: "is_real is a sum of booleans; 2 or more would receive the cpu's (ts, kind, a, b, c) more than once, and no two cpu rows share a timestamp on an extension instruction (each advances the clock by 8 or 12)",
    },
    Implied {
        chip: "merkle",
        constraint: 8,
        why: "root at level 20: another level hashes to the public root only with a Poseidon2 collision (the root before is the chain's, the program's initial root in segment 0)",
    },
    Implied {
        chip: "merkle",
        constraint: 9,
        why: "root at index 0: another index moves every touched address to 2^20 and above, which no instruction operand can name (programs are validated) and every pointer needed to reach them lives below 2^20",
    },
];

/// What the debug checker says about one lie.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub lie: String,
    /// `(air_id, constraint)` of every failing constraint.
    pub failing: BTreeSet<(usize, usize)>,
    /// Buses with an unbalanced tuple.
    pub unbalanced_buses: BTreeSet<String>,
}

impl Verdict {
    /// The lie passes the debug checker: it is no lie, or the AIRs miss it.
    pub fn undetected(&self) -> bool {
        self.failing.is_empty() && self.unbalanced_buses.is_empty()
    }

    /// The one constraint this lie depends on, if it depends on exactly one.
    pub fn single(&self) -> Option<(usize, usize)> {
        (self.unbalanced_buses.is_empty() && self.failing.len() == 1)
            .then(|| *self.failing.first().unwrap())
    }
}

/// Per chip: which constraints the catalogue depends on.
#[derive(Clone, Debug)]
pub struct ChipCoverage {
    pub air_id: usize,
    pub name: String,
    pub constraints: usize,
    /// Constraint -> lies that fail it alone.
    pub alone: BTreeMap<usize, Vec<String>>,
    /// Constraint -> lies that fail it together with others (and balance every bus).
    pub jointly: BTreeMap<usize, Vec<String>>,
}

impl ChipCoverage {
    /// Constraints no lie depends on, alone or jointly.
    pub fn uncovered(&self) -> Vec<usize> {
        (0..self.constraints)
            .filter(|k| !self.alone.contains_key(k) && !self.jointly.contains_key(k))
            .collect()
    }

    /// Constraints some lie depends on only jointly.
    pub fn only_jointly(&self) -> Vec<usize> {
        self.jointly
            .keys()
            .copied()
            .filter(|k| !self.alone.contains_key(k))
            .collect()
    }
}

/// The coverage table over every chip, and each lie's verdict.
#[derive(Clone, Debug)]
pub struct Coverage {
    pub chips: Vec<ChipCoverage>,
    pub verdicts: Vec<Verdict>,
}

/// Builds every lie and runs the debug checker on it.
pub fn measure(lies: &[Lie]) -> Coverage {
    let mut verdicts = Vec::with_capacity(lies.len());
    let mut chips: Option<Vec<ChipCoverage>> = None;
    for lie in lies {
        let (lab, forgery) = lie.build();
        if chips.is_none() {
            let counts = own_constraint_counts(&lab.pk.pk);
            chips = Some(
                counts
                    .into_iter()
                    .enumerate()
                    .map(|(air_id, constraints)| ChipCoverage {
                        air_id,
                        name: lab.pk.pk.air_info(air_id).name.clone(),
                        constraints,
                        alone: BTreeMap::new(),
                        jointly: BTreeMap::new(),
                    })
                    .collect(),
            );
        }
        let report = forgery.report(&lab);
        let verdict = Verdict {
            lie: lie.name.clone(),
            failing: report.failing_constraints(),
            unbalanced_buses: report.unbalanced.iter().map(|u| u.bus.clone()).collect(),
        };
        let chips = chips.as_mut().expect("set above");
        if let Some((air, k)) = verdict.single() {
            chips[air]
                .alone
                .entry(k)
                .or_default()
                .push(lie.name.clone());
        } else if verdict.unbalanced_buses.is_empty() {
            for &(air, k) in &verdict.failing {
                chips[air]
                    .jointly
                    .entry(k)
                    .or_default()
                    .push(lie.name.clone());
            }
        }
        verdicts.push(verdict);
    }
    Coverage {
        chips: chips.unwrap_or_default(),
        verdicts,
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| chip | constraints | covered alone | only jointly | not covered |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---|")?;
        for c in &self.chips {
            let uncovered = c.uncovered();
            writeln!(
                f,
                "| {} | {} | {} | {} | {} |",
                c.name,
                c.constraints,
                c.alone.len(),
                c.only_jointly().len(),
                if uncovered.is_empty() {
                    "-".to_string()
                } else {
                    format!("{uncovered:?}")
                }
            )?;
        }
        let by_bus: Vec<&Verdict> = self
            .verdicts
            .iter()
            .filter(|v| !v.unbalanced_buses.is_empty())
            .collect();
        writeln!(f, "\nlies refused by a bus ({}):", by_bus.len())?;
        for v in by_bus {
            writeln!(
                f,
                "  {}: {:?} (failing constraints {:?})",
                v.lie, v.unbalanced_buses, v.failing
            )?;
        }
        Ok(())
    }
}
