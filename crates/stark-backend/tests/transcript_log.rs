//! The recording challenger: verification through it decides exactly as `verify` does, its
//! record replays on a fresh challenger to the same state, and the record has the length
//! docs/stark-backend.md's transcript (steps 1-14) implies for the proof's shape.

mod common;

use starkscope_stark_backend::config::Challenger;
use starkscope_stark_backend::p3::{PrimeCharacteristicRing, PrimeField64};
use starkscope_stark_backend::transcript_log::{replay, RecordingChallenger, TranscriptEvent};
use starkscope_stark_backend::verifier::{transcript_before_opening, verify_with_challenger};
use starkscope_stark_backend::{
    prove, verify, Challenge, FriPreset, Proof, StarkConfig, Val, VerifyingKey,
};

/// Verifies with a recording challenger; returns the outcome (as text) and the recorder.
fn recorded(
    cfg: &StarkConfig,
    vk: &VerifyingKey,
    proof: &Proof,
) -> (Result<(), String>, RecordingChallenger) {
    let mut rec = RecordingChallenger::new(cfg.challenger());
    let r = verify_with_challenger(cfg, vk, proof, &mut rec).map_err(|e| e.to_string());
    (r, rec)
}

fn same_state(a: &Challenger, b: &Challenger) -> bool {
    a.sponge_state == b.sponge_state
        && a.input_buffer == b.input_buffer
        && a.output_buffer == b.output_buffer
}

/// Replays the record on a fresh challenger: every sample matches and the end state is
/// the recorder's inner challenger's.
fn check_replay(cfg: &StarkConfig, rec: &RecordingChallenger) {
    let mut fresh = cfg.challenger();
    replay(&mut fresh, rec.events()).unwrap_or_else(|i| panic!("sample {i} differs on replay"));
    assert!(
        same_state(&fresh, rec.inner()),
        "replay ends in another state"
    );
}

/// (observes, samples) of steps 1-13 and of step 14, from the key and the proof's shape.
fn expected_counts(cfg: &StarkConfig, vk: &VerifyingKey, proof: &Proof) -> [(usize, usize); 2] {
    let d = &vk.data;
    let n = d.airs.len();
    let lookup_airs = d.airs.iter().filter(|a| !a.lookups.is_empty()).count();
    let prep_airs = d.airs.iter().filter(|a| a.preprocessed.is_some()).count();
    let has_prep = d.preprocessed_commitment.is_some();
    // Steps 1-5: tag, preset, n, 6 per AIR, digest, flag, preprocessed commitment.
    let mut obs = 3 + 1 + 1 + 6 * n + 8 + 1 + if has_prep { 8 } else { 0 };
    // Steps 6-8: heights, main commitment, public values.
    obs += n
        + 8
        + proof
            .airs
            .iter()
            .map(|a| a.public_values.len())
            .sum::<usize>();
    let mut samples = 0;
    if lookup_airs > 0 {
        samples += 8; // step 9: alpha_L, beta_L
        obs += 8 + 4 * lookup_airs; // step 10
    }
    samples += 4; // step 11: alpha
    obs += 8; // step 12
    samples += 4; // step 13: zeta
    let steps_1_13 = (obs, samples);

    let seed = |bytes: usize| 1 + bytes.div_ceil(3);
    // 14.2: the PCS seed.
    let commitments = 2 + usize::from(has_prep) + usize::from(lookup_airs > 0);
    let chunks: usize = d.airs.iter().map(|a| a.num_quotient_chunks()).sum();
    let matrices = n + chunks + prep_airs + lookup_airs;
    let mut obs = seed(101 + 12 * (1 + commitments + matrices));
    // 14.3: every claimed value, 4 coordinates each.
    let values: usize = proof
        .airs
        .iter()
        .map(|a| {
            let o = &a.openings;
            o.main_local.len()
                + o.main_next.len()
                + o.preprocessed_local.len()
                + o.preprocessed_next.len()
                + o.permutation_local.len()
                + o.permutation_next.len()
                + o.quotient_chunks.iter().map(Vec::len).sum::<usize>()
        })
        .sum();
    obs += 4 * values;
    let mut samples = 4; // 14.5: the batching alpha
    let rounds = proof.airs.iter().map(|a| a.log_height).max().unwrap() as usize;
    assert_eq!(proof.opening_proof.commit_phase_commits.len(), rounds);
    obs += seed(101 + 12 * (rounds + 2)); // 14.6: the FRI seed
    obs += 8 * rounds; // 14.7: commit-phase commitments
    samples += 4 * rounds; // 14.7: beta_r
    obs += 4; // 14.8: the final polynomial
    obs += 1; // 14.9: the PoW witness
    samples += 1; // 14.9: the PoW sample
    samples += cfg.preset().num_queries(); // 14.10
    [steps_1_13, (obs, samples)]
}

fn count(events: &[TranscriptEvent]) -> (usize, usize) {
    let s = events.iter().filter(|e| e.is_sample()).count();
    (events.len() - s, s)
}

#[test]
fn recording_verifier_agrees_with_verify_and_replays() {
    for preset in [FriPreset::Testing, FriPreset::Fast] {
        let cfg = StarkConfig::new(preset);
        let (pk, inputs) = common::bus_set(&cfg, 3, 4, 2);
        let proof = prove(&cfg, &pk, inputs).unwrap();
        verify(&cfg, &pk.vk, &proof).unwrap();
        let (r, rec) = recorded(&cfg, &pk.vk, &proof);
        r.unwrap_or_else(|e| panic!("{preset}: recording verifier rejects: {e}"));
        check_replay(&cfg, &rec);

        // Counts per docs/stark-backend.md's transcript.
        let [pre, pcs] = expected_counts(&cfg, &pk.vk, &proof);
        let ev = rec.events();
        assert_eq!(
            count(ev),
            (pre.0 + pcs.0, pre.1 + pcs.1),
            "{preset}: (observes, samples) of the whole transcript"
        );
        // Steps 1-13 are the prefix transcript_before_opening stops after.
        let k = pre.0 + pre.1;
        assert_eq!(count(&ev[..k]), pre, "{preset}: steps 1-13");
        let (before, _) = transcript_before_opening(&cfg, &pk.vk, &proof).unwrap();
        let mut fresh = cfg.challenger();
        replay(&mut fresh, &ev[..k]).unwrap();
        assert!(same_state(&fresh, &before), "{preset}: state after step 13");

        // The tail: Observe(PoW witness), Sample(v) with b zero low bits, Q query samples
        // whose low H bits are the query indices.
        let q = preset.num_queries();
        let pow_at = ev.len() - q - 2;
        assert_eq!(
            ev[pow_at],
            TranscriptEvent::Observe(proof.opening_proof.query_pow_witness)
        );
        let TranscriptEvent::Sample(v) = ev[pow_at + 1] else {
            panic!("{preset}: no PoW sample after the witness")
        };
        assert_eq!(
            v.as_canonical_u64() & ((1 << preset.query_pow_bits()) - 1),
            0
        );
        assert!(ev[pow_at + 1..].iter().all(|e| e.is_sample()));
        eprintln!(
            "{preset}: {} events: steps 1-13 {pre:?}, step 14 {pcs:?} (observes, samples)",
            ev.len()
        );
    }
}

#[test]
fn recording_verifier_rejects_as_verify_does() {
    let cfg = StarkConfig::new(FriPreset::Testing);
    let (pk, inputs) = common::bus_set(&cfg, 3, 4, 2);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    type Edit = fn(&mut Proof);
    let edits: [(&str, Edit); 4] = [
        ("opened value", |p| {
            p.airs[0].openings.main_local[0] += Challenge::ONE
        }),
        ("public value", |p| p.airs[0].public_values[0] += Val::ONE),
        ("PoW witness", |p| {
            p.opening_proof.query_pow_witness += Val::ONE
        }),
        ("final polynomial", |p| {
            p.opening_proof.final_poly[0] += Challenge::ONE
        }),
    ];
    for (what, edit) in edits {
        let mut bad = proof.clone();
        edit(&mut bad);
        let want = verify(&cfg, &pk.vk, &bad).map_err(|e| e.to_string());
        assert!(want.is_err(), "{what}: verify accepts the edited proof");
        let (got, rec) = recorded(&cfg, &pk.vk, &bad);
        assert_eq!(got, want, "{what}");
        check_replay(&cfg, &rec);
    }
}
