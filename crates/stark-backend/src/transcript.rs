//! The Fiat-Shamir transcript, shared by prover and verifier so they cannot drift.
//! docs/stark-backend.md spells out the same order for a recursive verifier.

use p3_challenger::{CanObserve, FieldChallenger};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::Challenges;

use crate::config::{Challenge, Commitment, Val};
use crate::keygen::VerifyingKeyData;

/// What steps 1-13 need of a challenger: base-field observe/sample and observing a
/// commitment. The backend's `Challenger` in production; a recording wrapper in tests.
pub(crate) trait TranscriptChallenger:
    FieldChallenger<Val> + CanObserve<Commitment>
{
}
impl<C: FieldChallenger<Val> + CanObserve<Commitment>> TranscriptChallenger for C {}

/// Domain separator: "starkscope backend", transcript version 2, as field elements.
const PROTOCOL_TAG: [u32; 3] = [0x5354_4b53, 0x4245_4e44, 2];

/// Step 1: bind the protocol, the FRI preset, the shape of every AIR, the key digest
/// (the whole constraint system) and the preprocessed commitment.
pub(crate) fn observe_key(ch: &mut impl TranscriptChallenger, vk: &VerifyingKeyData) {
    for t in PROTOCOL_TAG {
        ch.observe(Val::from_u32(t));
    }
    ch.observe(Val::from_u8(vk.preset.id()));
    ch.observe(Val::from_usize(vk.airs.len()));
    for a in &vk.airs {
        ch.observe_slice(&[
            Val::from_usize(a.main_width),
            Val::from_usize(a.preprocessed_width()),
            Val::from_usize(a.num_public_values),
            Val::from_usize(a.permutation_width_ext()),
            Val::from_usize(a.log_quotient_chunks),
            Val::from_usize(a.num_constraints),
        ]);
    }
    ch.observe_slice(&vk.digest);
    ch.observe(Val::from_bool(vk.preprocessed_commitment.is_some()));
    if let Some(c) = &vk.preprocessed_commitment {
        ch.observe(c.clone());
    }
}

/// Step 2: trace heights (the prover's choice) and the main-trace commitment, then
/// every AIR's public values.
pub(crate) fn observe_main(
    ch: &mut impl TranscriptChallenger,
    log_heights: &[u8],
    main: &Commitment,
    public_values: &[&[Val]],
) {
    for &h in log_heights {
        ch.observe(Val::from_u8(h));
    }
    ch.observe(main.clone());
    for pv in public_values {
        ch.observe_slice(pv);
    }
}

/// Step 3: the LogUp challenges, drawn only when some AIR has interactions: one
/// (alpha, beta) pair; each bus b gets the offset `alpha + (b + 1) * beta^W` (W the
/// widest tuple), so buses never alias. Returns per AIR `[offset(bus_i), beta]` per lookup.
pub(crate) fn sample_lookup_challenges(
    ch: &mut impl TranscriptChallenger,
    vk: &VerifyingKeyData,
) -> Vec<Vec<Challenge>> {
    if vk.airs.iter().all(|a| a.lookups.is_empty()) {
        return vec![Vec::new(); vk.airs.len()];
    }
    let alpha: Challenge = ch.sample_algebra_element();
    let beta: Challenge = ch.sample_algebra_element();
    let table = Challenges::new(alpha, beta, vk.max_tuple_width.max(1), vk.num_buses);
    vk.airs
        .iter()
        .map(|a| {
            a.lookup_bus_ids
                .iter()
                .flat_map(|&b| [table.bus_prefix[b], beta])
                .collect()
        })
        .collect()
}

/// Step 4: the permutation commitment and every AIR's cumulative sum (AIR order,
/// skipping AIRs without interactions), then the constraint-folding challenge.
pub(crate) fn observe_permutation_and_sample_alpha(
    ch: &mut impl TranscriptChallenger,
    permutation: Option<&Commitment>,
    cumulative_sums: impl Iterator<Item = Challenge>,
) -> Challenge {
    if let Some(c) = permutation {
        ch.observe(c.clone());
    }
    for s in cumulative_sums {
        ch.observe_algebra_element(s);
    }
    ch.sample_algebra_element()
}

/// Step 5: the quotient commitment, then the out-of-domain point `zeta`.
pub(crate) fn observe_quotient_and_sample_zeta(
    ch: &mut impl TranscriptChallenger,
    quotient: &Commitment,
) -> Challenge {
    ch.observe(quotient.clone());
    ch.sample_algebra_element()
}
