//! The in-circuit verifier of starkscope STARK proofs: circuit ops that check a child
//! proof exactly as `starkscope_stark_backend::verify` does (docs/recursion.md, "The
//! verifier circuit"; the contract is docs/stark-backend.md).
//!
//! - [`transcript`]: transcript steps 1-13 (key, heights, commitments, public values,
//!   LogUp challenges, cumulative sums, `alpha`, `zeta`);
//! - [`constraints`]: every child AIR's constraints (its own and LogUp's) at `zeta`,
//!   compiled from its symbolic constraints, against the quotient recombined from chunks;
//! - [`fri`]: step 14, the PCS opening argument of p3-fri 0.8 (seeds, claimed
//!   evaluations, batching, commit rounds, query PoW and indices, Merkle openings, reduced
//!   openings, folding, the final polynomial);
//! - [`heights`], [`fri_var`]: variable trace heights ([`ChildSpec::with_ranges`]): the
//!   one-hot height vectors and step 14 with selected and scattered height-dependent parts
//!   (docs/recursion.md, "Variable heights").

pub mod constraints;
pub mod fri;
pub mod fri_var;
pub mod heights;
pub mod proof_vars;
pub mod transcript;

use p3_field::TwoAdicField;
use starkscope_stark_backend::config::Commitment;
use starkscope_stark_backend::{Challenge, Proof, StarkConfig, Val, VerifyingKey};

use crate::builder::CircuitBuilder;
use crate::gadgets::challenger::{ChallengerVar, TranscriptCell};
use crate::ir::{Ext, Felt};
use fri::{CommitmentClaim, MatrixShape, OpeningShape};
use proof_vars::ProofVars;

/// Why a child proof cannot be fed to a verifier circuit.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// The proof's shape is not the one the circuit verifies.
    #[error("the child proof does not have the circuit's shape: {0}")]
    Shape(String),
    /// The heights are not ones a proof of this key can have.
    #[error("child heights refused: {0}")]
    Heights(String),
}

/// What a verifier circuit fixes about its child proof: the FRI preset, the verifying key
/// (AIRs, widths, constraints, preprocessed commitment) and every AIR's trace log height
/// range (docs/recursion.md, "Variable heights"; fixed when `min == max`).
#[derive(Clone)]
pub struct ChildSpec {
    pub config: StarkConfig,
    pub vk: VerifyingKey,
    /// Per AIR, its trace log heights `(min, max)`.
    pub log_height_ranges: Vec<(usize, usize)>,
}

impl ChildSpec {
    /// A child of key `vk` proven under `config` at these trace heights. Refuses heights the
    /// native verifier would refuse (range, preprocessed heights, LogUp multiplicity bound).
    pub fn new(
        config: StarkConfig,
        vk: VerifyingKey,
        log_heights: Vec<usize>,
    ) -> Result<Self, ChildError> {
        let ranges = log_heights.iter().map(|&h| h..=h).collect();
        Self::with_ranges(config, vk, ranges)
    }

    /// A child of key `vk` proven under `config` with AIR `i`'s trace log height anywhere
    /// in `ranges[i]`. Refuses what [`ChildSpec::check`] refuses.
    pub fn with_ranges(
        config: StarkConfig,
        vk: VerifyingKey,
        ranges: Vec<std::ops::RangeInclusive<usize>>,
    ) -> Result<Self, ChildError> {
        let spec = Self {
            config,
            vk,
            log_height_ranges: ranges.iter().map(|r| (*r.start(), *r.end())).collect(),
        };
        spec.check()?;
        Ok(spec)
    }

    /// What the constructors check (the fields are public, so [`verify_child`] checks
    /// again: a struct literal skips them): the key's preset is the config's; one non-empty
    /// height range per AIR whose extremes are heights the native verifier accepts for this
    /// key (so a preprocessed AIR's height is fixed; the LogUp multiplicity bound grows
    /// with the heights: the maxima decide); every commitment's (main, quotient,
    /// permutation) tallest matrix is a fixed AIR's (the FRI shape must be a constant);
    /// widths the variable leaf hashing covers ([`fri_var::plan_commitment`]).
    pub fn check(&self) -> Result<(), ChildError> {
        if self.vk.data.preset != self.config.preset() {
            return Err(ChildError::Heights(format!(
                "the key's preset ({}) is not the config's ({})",
                self.vk.data.preset,
                self.config.preset()
            )));
        }
        let r = &self.log_height_ranges;
        if r.len() != self.vk.data.airs.len() {
            return Err(ChildError::Heights(format!(
                "{} height ranges for {} AIRs",
                r.len(),
                self.vk.data.airs.len()
            )));
        }
        if let Some((i, _)) = r.iter().enumerate().find(|(_, (a, b))| a > b) {
            return Err(ChildError::Heights(format!(
                "AIR {i}: an empty height range"
            )));
        }
        let mins: Vec<usize> = r.iter().map(|x| x.0).collect();
        let maxs: Vec<usize> = r.iter().map(|x| x.1).collect();
        for h in [&mins, &maxs] {
            starkscope_stark_backend::verifier::check_log_heights(&self.vk, h)
                .map_err(|e| ChildError::Heights(e.to_string()))?;
        }
        let preset = self.config.preset();
        if !self.is_fixed() && (preset.max_log_arity() != 1 || preset.cap_height() != 0) {
            return Err(ChildError::Heights(format!(
                "variable heights are verified with arity-2 folding and cap height 0 only; \
                 the {preset} preset folds by 2^{} with cap height {}",
                preset.max_log_arity(),
                preset.cap_height()
            )));
        }
        if self.is_fixed() {
            if let Some(h) = mins.iter().find(|&&h| h <= preset.log_final_poly_len()) {
                return Err(ChildError::Heights(format!(
                    "a trace of log height {h} is not above the {preset} preset's final \
                     polynomial (2^{})",
                    preset.log_final_poly_len()
                )));
            }
        }
        let layout = self.opening_layout();
        let names = ["main", "quotient", "preprocessed", "permutation"];
        let mut kinds = vec![names[0], names[1]];
        if self.vk.data.preprocessed_commitment.is_some() {
            kinds.push(names[2]);
        }
        if self.has_lookups() {
            kinds.push(names[3]);
        }
        for (c, kind) in layout.iter().zip(kinds) {
            let ranges: Vec<(usize, usize)> = c
                .iter()
                .map(|(air, _)| self.log_height_ranges[*air])
                .collect();
            let widths: Vec<usize> = c.iter().map(|(_, m)| m.width).collect();
            fri_var::plan_commitment(&ranges, &widths)
                .map_err(|e| ChildError::Heights(format!("{kind} commitment: {e}")))?;
        }
        Ok(())
    }

    /// The spec of the shape `proof` has.
    pub fn of_proof(
        config: StarkConfig,
        vk: VerifyingKey,
        proof: &Proof,
    ) -> Result<Self, ChildError> {
        let h = proof.airs.iter().map(|a| a.log_height as usize).collect();
        Self::new(config, vk, h)
    }

    /// The number of roots of the main, quotient and permutation commitments (one at cap
    /// height 0; the permutation entry is unused without lookups).
    pub fn cap_lens(&self) -> [usize; 3] {
        let preset = self.config.preset();
        let layout = self.opening_layout();
        let tree = |c: &[(usize, MatrixShape)]| {
            let l = c.iter().map(|(_, m)| m.log_height).max().unwrap_or(0) + preset.log_blowup();
            fri::cap_len(preset, l)
        };
        let perm = if self.has_lookups() {
            tree(layout.last().expect("a permutation commitment"))
        } else {
            1
        };
        [tree(&layout[0]), tree(&layout[1]), perm]
    }

    /// Whether every AIR's height is fixed (the circuit of one shape).
    pub fn is_fixed(&self) -> bool {
        self.log_height_ranges.iter().all(|(a, b)| a == b)
    }

    /// Every AIR's largest log height.
    pub fn max_log_heights(&self) -> Vec<usize> {
        self.log_height_ranges.iter().map(|r| r.1).collect()
    }

    pub(crate) fn has_lookups(&self) -> bool {
        self.vk.data.airs.iter().any(|a| !a.lookups.is_empty())
    }

    /// The shape of the opening claims (step 14.0) at the largest heights: the FRI proof's
    /// cells are allocated for it (the same layout at every height in the ranges).
    pub fn opening_shape(&self) -> OpeningShape {
        self.opening_shape_at(&self.max_log_heights())
    }

    /// The shape of the opening claims at these heights.
    pub fn opening_shape_at(&self, log_heights: &[usize]) -> OpeningShape {
        OpeningShape {
            commitments: self
                .opening_layout()
                .into_iter()
                .map(|c| {
                    c.into_iter()
                        .map(|(air, m)| MatrixShape {
                            log_height: log_heights[air],
                            ..m
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// Per commitment (main, quotient, preprocessed if any, permutation if any lookups),
    /// per matrix: its AIR and its shape at the AIR's largest height.
    pub fn opening_layout(&self) -> Vec<Vec<(usize, MatrixShape)>> {
        let data = &self.vk.data;
        let h = self.max_log_heights();
        let points = |next: bool| if next { 2 } else { 1 };
        let mut commitments = vec![
            data.airs
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    (
                        i,
                        MatrixShape {
                            log_height: h[i],
                            width: a.main_width,
                            num_points: points(a.opens_main_next),
                        },
                    )
                })
                .collect::<Vec<_>>(),
            data.airs
                .iter()
                .enumerate()
                .flat_map(|(i, a)| {
                    let hi = h[i];
                    (0..a.num_quotient_chunks()).map(move |_| {
                        (
                            i,
                            MatrixShape {
                                log_height: hi,
                                width: 4,
                                num_points: 1,
                            },
                        )
                    })
                })
                .collect(),
        ];
        if data.preprocessed_commitment.is_some() {
            commitments.push(
                data.airs
                    .iter()
                    .enumerate()
                    .filter_map(|(i, a)| {
                        a.preprocessed.as_ref().map(|p| {
                            (
                                i,
                                MatrixShape {
                                    log_height: h[i],
                                    width: p.width,
                                    num_points: points(a.opens_preprocessed_next),
                                },
                            )
                        })
                    })
                    .collect(),
            );
        }
        if self.has_lookups() {
            commitments.push(
                data.airs
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| !a.lookups.is_empty())
                    .map(|(i, a)| {
                        (
                            i,
                            MatrixShape {
                                log_height: h[i],
                                width: a.permutation_width_base(),
                                num_points: 2,
                            },
                        )
                    })
                    .collect(),
            );
        }
        commitments
    }
}

/// The elements of a commitment: 8 per root of its cap, in order.
pub(crate) fn commitment_values(c: &Commitment) -> Vec<Val> {
    c.roots().iter().flatten().copied().collect()
}

/// What the outer circuit learns from a verified child.
#[derive(Clone, Debug)]
pub struct VerifiedChild {
    /// What verifying it added to the circuit.
    pub cost: crate::ir::ChildCost,
    /// The child's public values, per AIR, as cells the outer circuit can constrain.
    pub public_values: Vec<Vec<Felt>>,
    /// Every cell of the child proof.
    pub proof: ProofVars,
    /// The transcript, one base value per event, as the native `RecordingChallenger`
    /// records it (for differential tests).
    pub transcript: Vec<TranscriptCell>,
}

/// Emits the ops that verify one proof of `spec`, exactly as
/// `starkscope_stark_backend::verify` does; the proof comes in as hints
/// ([`child_hints`] gives their values).
///
/// Panics on a spec [`ChildSpec::check`] refuses (its fields are public): the native
/// verifier refuses every proof of such a spec.
pub fn verify_child(b: &mut CircuitBuilder, spec: &ChildSpec) -> VerifiedChild {
    if let Err(e) = spec.check() {
        panic!("verify_child: {e}");
    }
    let mark = b.num_ops();
    let proof = ProofVars::alloc(b, spec);
    let mut ch = ChallengerVar::new();
    let t = transcript::replay_to_zeta(b, &mut ch, &spec.vk, &proof);

    if spec.is_fixed() {
        fixed_pcs(b, spec, &proof, &t, &mut ch);
    } else {
        var_pcs(b, spec, &proof, &t, &mut ch);
    }

    // Every AIR's constraints at zeta; zeta^(2^L) shared by the variable heights.
    let var_max = proof
        .heights
        .iter()
        .filter(|h| h.fixed().is_none())
        .map(|h| h.max())
        .max();
    let zeta_pows = var_max.map_or_else(Vec::new, |m| heights::zeta_powers(b, t.zeta, m));
    for (i, air) in proof.airs.iter().enumerate() {
        constraints::check_air_at_height(
            b,
            &spec.config,
            &spec.vk,
            i,
            &proof.heights[i],
            &zeta_pows,
            &air.openings,
            &air.public_values,
            air.cumulative_sum,
            &t.lookup_challenges[i],
            t.alpha,
            t.zeta,
        );
    }

    // The buses balance.
    let sums: Vec<Ext> = proof.airs.iter().filter_map(|a| a.cumulative_sum).collect();
    if let Some((&first, rest)) = sums.split_first() {
        let total = rest.iter().fold(first, |acc, &s| b.add(acc, s));
        b.assert_zero(total);
    }

    let cost = b.note_child_since(mark);
    VerifiedChild {
        cost,
        public_values: proof.airs.iter().map(|a| a.public_values.clone()).collect(),
        proof,
        transcript: ch.events().to_vec(),
    }
}

fn preprocessed_digest(b: &mut CircuitBuilder, c: &Commitment) -> crate::gadgets::Cap {
    c.roots()
        .iter()
        .map(|v| {
            [
                b.constant_ext(proof_vars::quad_value(&v[..4])).quad(),
                b.constant_ext(proof_vars::quad_value(&v[4..])).quad(),
            ]
        })
        .collect()
}

/// Step 14 for a child of one shape (every height a constant).
fn fixed_pcs(
    b: &mut CircuitBuilder,
    spec: &ChildSpec,
    proof: &ProofVars,
    t: &transcript::TranscriptVars,
    ch: &mut ChallengerVar,
) {
    let data = &spec.vk.data;
    let log_heights = spec.max_log_heights();
    // Step 14 on the same challenger: the claims in the native verifier's order.
    // One cell per distinct height: FRI shares its inverses by point cell.
    let mut by_height = std::collections::BTreeMap::new();
    let next_points: Vec<Ext> = log_heights
        .iter()
        .map(|&h| {
            *by_height
                .entry(h)
                .or_insert_with(|| b.scale(t.zeta, Val::two_adic_generator(h)))
        })
        .collect();
    let with_next = |i: usize, next: bool, local: &[Ext], nxt: &[Ext]| {
        let mut pts = vec![(t.zeta, local.to_vec())];
        if next {
            pts.push((next_points[i], nxt.to_vec()));
        }
        pts
    };
    let mut claims = vec![
        CommitmentClaim {
            commitment: proof.main_commitment.clone(),
            matrices: data
                .airs
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let o = &proof.airs[i].openings;
                    with_next(i, a.opens_main_next, &o.main_local, &o.main_next)
                })
                .collect(),
        },
        CommitmentClaim {
            commitment: proof.quotient_commitment.clone(),
            matrices: proof
                .airs
                .iter()
                .flat_map(|a| {
                    a.openings
                        .quotient_chunks
                        .iter()
                        .map(|c| vec![(t.zeta, c.to_vec())])
                })
                .collect(),
        },
    ];
    if let Some(c) = &data.preprocessed_commitment {
        let commitment = preprocessed_digest(b, c);
        claims.push(CommitmentClaim {
            commitment,
            matrices: data
                .airs
                .iter()
                .enumerate()
                .filter(|(_, a)| a.preprocessed.is_some())
                .map(|(i, a)| {
                    let o = &proof.airs[i].openings;
                    with_next(
                        i,
                        a.opens_preprocessed_next,
                        &o.preprocessed_local,
                        &o.preprocessed_next,
                    )
                })
                .collect(),
        });
    }
    if let Some(commitment) = proof.permutation_commitment.clone() {
        claims.push(CommitmentClaim {
            commitment,
            matrices: data
                .airs
                .iter()
                .enumerate()
                .filter(|(_, a)| !a.lookups.is_empty())
                .map(|(i, _)| {
                    let o = &proof.airs[i].openings;
                    with_next(i, true, &o.permutation_local, &o.permutation_next)
                })
                .collect(),
        });
    }
    fri::verify_pcs(
        b,
        spec.config.preset(),
        &spec.opening_shape(),
        ch,
        &claims,
        &proof.fri,
    );
}

/// Step 14 for a child with variable heights ([`fri_var`]).
fn var_pcs(
    b: &mut CircuitBuilder,
    spec: &ChildSpec,
    proof: &ProofVars,
    t: &transcript::TranscriptVars,
    ch: &mut ChallengerVar,
) {
    use fri_var::{Point, VarCommitment, VarMatrix};
    let data = &spec.vk.data;
    let with_next = |next: bool, local: &[Ext], nxt: &[Ext]| {
        let mut pts = vec![(Point::Zeta, local.to_vec())];
        if next {
            pts.push((Point::Next, nxt.to_vec()));
        }
        pts
    };
    let mut claims = vec![
        VarCommitment {
            commitment: proof.main_commitment[0],
            matrices: data
                .airs
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let o = &proof.airs[i].openings;
                    VarMatrix {
                        air: i,
                        width: a.main_width,
                        points: with_next(a.opens_main_next, &o.main_local, &o.main_next),
                    }
                })
                .collect(),
        },
        VarCommitment {
            commitment: proof.quotient_commitment[0],
            matrices: proof
                .airs
                .iter()
                .enumerate()
                .flat_map(|(i, a)| {
                    a.openings.quotient_chunks.iter().map(move |c| VarMatrix {
                        air: i,
                        width: 4,
                        points: vec![(Point::Zeta, c.to_vec())],
                    })
                })
                .collect(),
        },
    ];
    if let Some(c) = &data.preprocessed_commitment {
        let commitment = preprocessed_digest(b, c)[0];
        claims.push(VarCommitment {
            commitment,
            matrices: data
                .airs
                .iter()
                .enumerate()
                .filter(|(_, a)| a.preprocessed.is_some())
                .map(|(i, a)| {
                    let o = &proof.airs[i].openings;
                    VarMatrix {
                        air: i,
                        width: a.preprocessed_width(),
                        points: with_next(
                            a.opens_preprocessed_next,
                            &o.preprocessed_local,
                            &o.preprocessed_next,
                        ),
                    }
                })
                .collect(),
        });
    }
    if let Some(commitment) = &proof.permutation_commitment {
        claims.push(VarCommitment {
            commitment: commitment[0],
            matrices: data
                .airs
                .iter()
                .enumerate()
                .filter(|(_, a)| !a.lookups.is_empty())
                .map(|(i, a)| {
                    let o = &proof.airs[i].openings;
                    VarMatrix {
                        air: i,
                        width: a.permutation_width_base(),
                        points: with_next(true, &o.permutation_local, &o.permutation_next),
                    }
                })
                .collect(),
        });
    }
    fri_var::verify_pcs_var(
        b,
        spec.config.preset(),
        &spec.opening_shape(),
        &proof.heights,
        t.zeta,
        ch,
        &claims,
        &proof.fri,
    );
}

/// The hint values [`verify_child`]'s cells take for `proof` (Merkle paths restored from
/// its multiproofs). Refuses a proof of another shape.
pub fn child_hints(spec: &ChildSpec, proof: &Proof) -> Result<Vec<Challenge>, ChildError> {
    ProofVars::hint_values(spec, proof)
}
