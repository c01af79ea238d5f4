//! A child proof's content as hint cells, allocated in one fixed order, and the values for
//! those cells from a real proof (the verifier circuit's witness generator). The two
//! functions walk the proof in the same order; `hint_values` refuses a proof whose shape
//! is not the circuit's.

use starkscope_stark_backend::{Challenge, Proof, Val};

use super::constraints::AirOpeningVars;
use super::fri::FriProofVars;
use super::heights::HeightVar;
use super::{ChildError, ChildSpec};
use crate::builder::CircuitBuilder;
use crate::gadgets::Cap;
use crate::ir::{Ext, Felt};

/// One AIR's part of the proof, as cells.
#[derive(Clone, Debug)]
pub struct AirVars {
    pub public_values: Vec<Felt>,
    /// Present iff the AIR has lookups.
    pub cumulative_sum: Option<Ext>,
    pub openings: AirOpeningVars,
}

/// A whole child proof, as cells.
#[derive(Clone, Debug)]
pub struct ProofVars {
    /// Per AIR, its trace height (constants for a fixed AIR; hints first in the order).
    pub heights: Vec<HeightVar>,
    /// Each commitment is a cap ([`super::fri::cap_len`] roots; one at cap height 0).
    pub main_commitment: Cap,
    /// Present iff some AIR has lookups.
    pub permutation_commitment: Option<Cap>,
    pub quotient_commitment: Cap,
    pub airs: Vec<AirVars>,
    pub fri: FriProofVars,
}

fn cap(b: &mut CircuitBuilder, n: usize) -> Cap {
    (0..n).map(|_| [b.hint_quad(), b.hint_quad()]).collect()
}

fn exts(b: &mut CircuitBuilder, n: usize) -> Vec<Ext> {
    (0..n).map(|_| b.hint_ext()).collect()
}

impl ProofVars {
    /// Allocates the hint cells of a proof of `spec`'s shape.
    pub fn alloc(b: &mut CircuitBuilder, spec: &ChildSpec) -> Self {
        let data = &spec.vk.data;
        let heights = spec
            .log_height_ranges
            .iter()
            .map(|&(lo, hi)| HeightVar::alloc(b, lo, hi))
            .collect();
        let [main_n, quotient_n, permutation_n] = spec.cap_lens();
        let main_commitment = cap(b, main_n);
        let permutation_commitment = spec.has_lookups().then(|| cap(b, permutation_n));
        let quotient_commitment = cap(b, quotient_n);
        let airs = data
            .airs
            .iter()
            .map(|info| {
                let public_values = (0..info.num_public_values).map(|_| b.hint_felt()).collect();
                let cumulative_sum = (!info.lookups.is_empty()).then(|| b.hint_ext());
                let main_next = if info.opens_main_next {
                    info.main_width
                } else {
                    0
                };
                let prep_next = if info.opens_preprocessed_next {
                    info.preprocessed_width()
                } else {
                    0
                };
                let openings = AirOpeningVars {
                    main_local: exts(b, info.main_width),
                    main_next: exts(b, main_next),
                    preprocessed_local: exts(b, info.preprocessed_width()),
                    preprocessed_next: exts(b, prep_next),
                    permutation_local: exts(b, info.permutation_width_base()),
                    permutation_next: exts(b, info.permutation_width_base()),
                    quotient_chunks: (0..info.num_quotient_chunks())
                        .map(|_| core::array::from_fn(|_| b.hint_ext()))
                        .collect(),
                };
                AirVars {
                    public_values,
                    cumulative_sum,
                    openings,
                }
            })
            .collect();
        let fri = FriProofVars::alloc(b, spec.config.preset(), &spec.opening_shape());
        Self {
            heights,
            main_commitment,
            permutation_commitment,
            quotient_commitment,
            airs,
            fri,
        }
    }

    /// The values of [`ProofVars::alloc`]'s cells, in the same order, from `proof`.
    pub fn hint_values(spec: &ChildSpec, proof: &Proof) -> Result<Vec<Challenge>, ChildError> {
        let data = &spec.vk.data;
        let mut out = Vec::new();
        // A commitment of the proof: a cap of the circuit's number of roots, else another
        // shape.
        let [main_n, quotient_n, permutation_n] = spec.cap_lens();
        let push_cap = |out: &mut Vec<Challenge>,
                        c: &starkscope_stark_backend::config::Commitment,
                        n: usize|
         -> Result<(), ChildError> {
            super::fri::push_cap(out, c, n).map_err(ChildError::Shape)
        };
        if proof.airs.len() != data.airs.len() {
            return Err(ChildError::Shape(format!(
                "proof has {} AIRs, the circuit's child key has {}",
                proof.airs.len(),
                data.airs.len()
            )));
        }
        for (i, (p, &(lo, hi))) in proof.airs.iter().zip(&spec.log_height_ranges).enumerate() {
            let h = p.log_height as usize;
            if !(lo..=hi).contains(&h) {
                return Err(ChildError::Shape(format!(
                    "AIR {i} ({}): log height {h}, the circuit verifies log heights {lo}..={hi}",
                    data.airs[i].name
                )));
            }
            out.extend(
                HeightVar::hint_values(lo, hi, h)
                    .into_iter()
                    .map(Challenge::from),
            );
        }
        let actual: Vec<usize> = proof.airs.iter().map(|a| a.log_height as usize).collect();
        push_cap(&mut out, &proof.commitments.main, main_n)?;
        match (&proof.commitments.permutation, spec.has_lookups()) {
            (Some(c), true) => push_cap(&mut out, c, permutation_n)?,
            (None, false) => {}
            _ => {
                return Err(ChildError::Shape(
                    "permutation commitment present iff some AIR has lookups".into(),
                ))
            }
        }
        push_cap(&mut out, &proof.commitments.quotient, quotient_n)?;
        for (i, (info, p)) in data.airs.iter().zip(&proof.airs).enumerate() {
            // The native verifier's own shape check: every opening length, chunk count,
            // cumulative-sum presence.
            starkscope_stark_backend::verifier::check_air_shape(i, info, p)
                .map_err(|e| ChildError::Shape(e.to_string()))?;
            let o = &p.openings;
            out.extend(p.public_values.iter().map(|&v| Challenge::from(v)));
            out.extend(p.cumulative_sum);
            for v in [
                &o.main_local,
                &o.main_next,
                &o.preprocessed_local,
                &o.preprocessed_next,
                &o.permutation_local,
                &o.permutation_next,
            ] {
                out.extend_from_slice(v);
            }
            for c in &o.quotient_chunks {
                out.extend_from_slice(c);
            }
        }
        // The FRI material needs the query indices and fold values: replay steps 1-13
        // natively for the challenger and claims step 14 starts from.
        let (challenger, claims) = starkscope_stark_backend::verifier::transcript_before_opening(
            &spec.config,
            &spec.vk,
            proof,
        )
        .map_err(|e| ChildError::Shape(format!("before the opening argument: {e}")))?;
        let fri = FriProofVars::hint_values(
            spec.config.preset(),
            &spec.opening_shape_at(&actual),
            &challenger,
            &claims,
            &proof.opening_proof,
        )
        .map_err(|e| ChildError::Shape(format!("opening proof: {e}")))?;
        out.extend(fri);
        Ok(out)
    }
}

/// Four base values as one cell's value.
pub(crate) fn quad_value(v: &[Val]) -> Challenge {
    <Challenge as p3_field::BasedVectorSpace<Val>>::from_basis_coefficients_fn(|j| v[j])
}
