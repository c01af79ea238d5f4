//! Transcript steps 1-13 of docs/stark-backend.md as circuit ops: what the key fixes is
//! observed as constants (so the verifying key of the outer circuit binds it), what the
//! proof carries is observed from its cells, and the challenges come out as cells.

use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Val, VerifyingKey};

use super::proof_vars::ProofVars;
use crate::builder::CircuitBuilder;
use crate::gadgets::challenger::ChallengerVar;
use crate::ir::Ext;

/// Domain separator of the backend's transcript ("STKS", "BEND", version 2); must equal
/// the backend's `transcript::PROTOCOL_TAG` (the differential tests compare every event).
const PROTOCOL_TAG: [u32; 3] = [0x5354_4b53, 0x4245_4e44, 2];

/// The challenges of steps 9-13, as cells.
#[derive(Clone, Debug)]
pub struct TranscriptVars {
    /// Per AIR, its LogUp challenge list `[prefix(bus of lookup 0), beta, ...]` (empty for
    /// an AIR without lookups).
    pub lookup_challenges: Vec<Vec<Ext>>,
    /// The constraint-folding challenge.
    pub alpha: Ext,
    /// The out-of-domain point.
    pub zeta: Ext,
}

fn observe_const(b: &mut CircuitBuilder, ch: &mut ChallengerVar, v: Val) {
    let c = b.constant(v);
    ch.observe(b, c);
}

/// Steps 1-13 on `ch` (a fresh challenger): the key (constants of the circuit) and the
/// child's trace heights (`proof.heights`: constants or checked cells), then the proof's commitments, public values and cumulative
/// sums from `proof`'s cells.
pub fn replay_to_zeta(
    b: &mut CircuitBuilder,
    ch: &mut ChallengerVar,
    vk: &VerifyingKey,
    proof: &ProofVars,
) -> TranscriptVars {
    let data = &vk.data;
    // 1-5: the key (constants, absorbed four to a constant cell where they align).
    let mut key: Vec<Val> = PROTOCOL_TAG.iter().map(|&t| Val::from_u32(t)).collect();
    key.push(Val::from_u8(data.preset.id()));
    key.push(Val::from_usize(data.airs.len()));
    for a in &data.airs {
        key.extend(
            [
                a.main_width,
                a.preprocessed_width(),
                a.num_public_values,
                a.permutation_width_ext(),
                a.log_quotient_chunks,
                a.num_constraints,
            ]
            .map(Val::from_usize),
        );
    }
    key.extend_from_slice(&data.digest);
    key.push(Val::from_bool(data.preprocessed_commitment.is_some()));
    if let Some(c) = &data.preprocessed_commitment {
        key.extend(super::commitment_values(c));
    }
    ch.observe_constants(b, &key);
    // 6: heights (constants for fixed AIRs, the checked one-hot height cell otherwise).
    for h in &proof.heights {
        match h.fixed() {
            Some(h) => observe_const(b, ch, Val::from_usize(h)),
            None => ch.observe(b, h.cell),
        }
    }
    // 7-8: main commitment, public values.
    for d in &proof.main_commitment {
        ch.observe_quad(b, d[0]);
        ch.observe_quad(b, d[1]);
    }
    for air in &proof.airs {
        ch.observe_slice(b, &air.public_values);
    }
    // 9: LogUp challenges.
    let any_lookups = data.airs.iter().any(|a| !a.lookups.is_empty());
    let lookup_challenges = if any_lookups {
        let alpha_l = ch.sample_ext(b);
        let beta_l = ch.sample_ext(b);
        let mut gamma = beta_l;
        for _ in 1..data.max_tuple_width.max(1) {
            gamma = b.mul(gamma, beta_l);
        }
        // prefix_b = alpha_L + (b + 1) * beta_L^W, accumulated as p3-lookup does.
        let mut prefixes: Vec<Ext> = Vec::with_capacity(data.num_buses);
        let mut prefix = alpha_l;
        for _ in 0..data.num_buses {
            prefix = b.add(prefix, gamma);
            prefixes.push(prefix);
        }
        data.airs
            .iter()
            .map(|a| {
                a.lookup_bus_ids
                    .iter()
                    .flat_map(|&bus| [prefixes[bus], beta_l])
                    .collect()
            })
            .collect()
    } else {
        vec![Vec::new(); data.airs.len()]
    };
    // 10-11: permutation commitment, cumulative sums, alpha.
    if let Some(c) = &proof.permutation_commitment {
        for d in c {
            ch.observe_quad(b, d[0]);
            ch.observe_quad(b, d[1]);
        }
    }
    for air in &proof.airs {
        if let Some(s) = air.cumulative_sum {
            ch.observe_ext(b, s);
        }
    }
    let alpha = ch.sample_ext(b);
    // 12-13: quotient commitment, zeta.
    for d in &proof.quotient_commitment {
        ch.observe_quad(b, d[0]);
        ch.observe_quad(b, d[1]);
    }
    let zeta = ch.sample_ext(b);
    TranscriptVars {
        lookup_challenges,
        alpha,
        zeta,
    }
}
