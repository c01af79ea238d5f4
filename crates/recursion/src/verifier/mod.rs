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
//!   openings, folding, the final polynomial).

pub mod constraints;
pub mod fri;
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
/// (AIRs, widths, constraints, preprocessed commitment) and every AIR's trace height.
#[derive(Clone)]
pub struct ChildSpec {
    pub config: StarkConfig,
    pub vk: VerifyingKey,
    pub log_heights: Vec<usize>,
}

impl ChildSpec {
    /// A child of key `vk` proven under `config` at these trace heights. Refuses heights the
    /// native verifier would refuse (range, preprocessed heights, LogUp multiplicity bound).
    pub fn new(
        config: StarkConfig,
        vk: VerifyingKey,
        log_heights: Vec<usize>,
    ) -> Result<Self, ChildError> {
        let spec = Self {
            config,
            vk,
            log_heights,
        };
        spec.check()?;
        Ok(spec)
    }

    /// What [`ChildSpec::new`] checks: the key's preset is the config's, and the heights
    /// are ones the native verifier accepts for this key. The fields are public, so
    /// [`verify_child`] checks again (a struct literal skips `new`).
    pub fn check(&self) -> Result<(), ChildError> {
        if self.vk.data.preset != self.config.preset() {
            return Err(ChildError::Heights(format!(
                "the key's preset ({}) is not the config's ({})",
                self.vk.data.preset,
                self.config.preset()
            )));
        }
        starkscope_stark_backend::verifier::check_log_heights(&self.vk, &self.log_heights)
            .map_err(|e| ChildError::Heights(e.to_string()))
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

    pub(crate) fn has_lookups(&self) -> bool {
        self.vk.data.airs.iter().any(|a| !a.lookups.is_empty())
    }

    /// The shape of the opening claims (step 14.0): main, quotient, preprocessed (if
    /// any), permutation (if any lookups).
    pub fn opening_shape(&self) -> OpeningShape {
        let data = &self.vk.data;
        let h = &self.log_heights;
        let points = |next: bool| if next { 2 } else { 1 };
        let mut commitments = vec![
            data.airs
                .iter()
                .enumerate()
                .map(|(i, a)| MatrixShape {
                    log_height: h[i],
                    width: a.main_width,
                    num_points: points(a.opens_main_next),
                })
                .collect::<Vec<_>>(),
            data.airs
                .iter()
                .enumerate()
                .flat_map(|(i, a)| {
                    (0..a.num_quotient_chunks()).map(move |_| MatrixShape {
                        log_height: h[i],
                        width: 4,
                        num_points: 1,
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
                        a.preprocessed.as_ref().map(|p| MatrixShape {
                            log_height: h[i],
                            width: p.width,
                            num_points: points(a.opens_preprocessed_next),
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
                    .map(|(i, a)| MatrixShape {
                        log_height: h[i],
                        width: a.permutation_width_base(),
                        num_points: 2,
                    })
                    .collect(),
            );
        }
        OpeningShape { commitments }
    }
}

/// The 8 elements of a commitment (cap height 0: one root).
pub(crate) fn commitment_values(c: &Commitment) -> [Val; 8] {
    let roots = c.roots();
    assert_eq!(
        roots.len(),
        1,
        "the backend commits with Merkle cap height 0"
    );
    roots[0]
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
/// Panics on a spec [`ChildSpec::new`] would refuse (its fields are public): the native
/// verifier refuses every proof of such a spec.
pub fn verify_child(b: &mut CircuitBuilder, spec: &ChildSpec) -> VerifiedChild {
    if let Err(e) = spec.check() {
        panic!("verify_child: {e}");
    }
    let mark = b.num_ops();
    let proof = ProofVars::alloc(b, spec);
    let data = &spec.vk.data;
    let mut ch = ChallengerVar::new();
    let t = transcript::replay_to_zeta(b, &mut ch, &spec.vk, &spec.log_heights, &proof);

    // Step 14 on the same challenger: the claims in the native verifier's order.
    // One cell per distinct height: FRI shares its inverses by point cell.
    let mut by_height = std::collections::BTreeMap::new();
    let next_points: Vec<Ext> = spec
        .log_heights
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
            commitment: proof.main_commitment,
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
            commitment: proof.quotient_commitment,
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
        let v = commitment_values(c);
        let commitment = [
            b.constant_ext(proof_vars::quad_value(&v[..4])).quad(),
            b.constant_ext(proof_vars::quad_value(&v[4..])).quad(),
        ];
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
    if let Some(commitment) = proof.permutation_commitment {
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
        &mut ch,
        &claims,
        &proof.fri,
    );

    // Every AIR's constraints at zeta.
    for (i, air) in proof.airs.iter().enumerate() {
        constraints::check_air_at_zeta(
            b,
            &spec.config,
            &spec.vk,
            i,
            spec.log_heights[i],
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

/// The hint values [`verify_child`]'s cells take for `proof` (Merkle paths restored from
/// its multiproofs). Refuses a proof of another shape.
pub fn child_hints(spec: &ChildSpec, proof: &Proof) -> Result<Vec<Challenge>, ChildError> {
    ProofVars::hint_values(spec, proof)
}
