//! Every field of a valid proof, changed one at a time, makes it fail to verify.
//!
//! The mutants come from `testing::mutation` (feature `test-support`, enabled for this
//! crate's tests by its self dev-dependency): the proof is walked as a JSON tree (serde's
//! view of it), so every number in it is visited: each commitment digest element, opened
//! value, cumulative sum, public value, FRI layer commitment, query sibling value, Merkle
//! path digest, final polynomial coefficient and proof-of-work witness.

mod common;

use starkscope_stark_backend::testing::mutation::{
    list_length_mutants, single_field_mutants, Change,
};
use starkscope_stark_backend::{prove, verify};

#[test]
fn every_single_field_mutation_is_rejected() {
    let cfg = common::config();
    let (pk, inputs) = common::bus_set(&cfg, 3, 4, 2);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    verify(&cfg, &pk.vk, &proof).unwrap();

    // Field kinds reached by mutants that decode: a mutant that fails to decode tests the
    // decoder, not the verifier, so it does not count towards reaching a kind.
    let mut kinds = std::collections::BTreeSet::new();
    let mut undecodable = std::collections::BTreeSet::new();
    let mut total = 0usize;
    let mut decoded = 0usize;
    let mut accepted = Vec::new();
    for m in single_field_mutants(&proof) {
        total += 1;
        let Some(mutant) = m.value else {
            undecodable.insert(m.kind);
            continue;
        };
        decoded += 1;
        kinds.insert(m.kind);
        if verify(&cfg, &pk.vk, &mutant).is_ok() {
            accepted.push(m.path);
        }
    }
    assert!(
        accepted.is_empty(),
        "{} of {decoded} decoded mutants verified, e.g. {:?}",
        accepted.len(),
        &accepted[..accepted.len().min(10)]
    );
    // Every mutant of a number decodes (changing a value by one keeps it in range).
    assert_eq!(
        decoded, total,
        "mutants that did not decode, by kind: {undecodable:#?}"
    );

    // The walk reached every kind of field the issue names, with decoded mutants.
    let all: Vec<&str> = kinds.iter().map(String::as_str).collect();
    for needle in [
        ".commitments.main",
        ".commitments.permutation",
        ".commitments.quotient",
        ".openings.main_local",
        ".openings.quotient_chunks",
        ".openings.permutation_next",
        ".openings.preprocessed_local",
        ".cumulative_sum",
        ".public_values",
        ".opening_proof.commit_phase_commits",
        ".opening_proof.commit_phase_openings",
        ".opening_proof.input_openings",
        ".opening_proof.final_poly",
        ".opening_proof.query_pow_witness",
    ] {
        assert!(
            all.iter().any(|k| k.contains(needle)),
            "no mutation reached {needle}; kinds: {all:#?}"
        );
    }
    eprintln!(
        "{total} single-field mutants, {decoded} decoded, over {} field kinds, all rejected:\n{all:#?}",
        kinds.len()
    );
}

#[test]
fn every_shortened_or_lengthened_list_is_rejected_without_panic() {
    let cfg = common::config();
    let (pk, inputs) = common::bus_set(&cfg, 3, 4, 2);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    let mut accepted = Vec::new();
    let mut tried = 0;
    let mut decoded = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for m in list_length_mutants(&proof) {
        tried += 1;
        let Some(mutant) = m.value else {
            continue;
        };
        decoded += 1;
        kinds.insert(m.kind);
        if verify(&cfg, &pk.vk, &mutant).is_ok() {
            let how = if m.change == Change::Grown {
                "grown"
            } else {
                "shrunk"
            };
            accepted.push(format!("{} ({how})", m.path));
        }
    }
    assert!(tried > 100);
    // Fixed-size arrays (digests, extension elements) do not decode at another length;
    // every variable-length list must be reached by mutants that decode, so that the
    // verifier's shape checks, not the decoder, are what refuse them.
    let all: Vec<&str> = kinds.iter().map(String::as_str).collect();
    for needle in [
        ".airs",
        ".public_values",
        ".openings.main_local",
        ".openings.main_next",
        ".openings.permutation_local",
        ".openings.quotient_chunks",
        ".opening_proof.commit_phase_commits",
        ".opening_proof.commit_phase_openings",
        ".opening_proof.input_openings",
        ".opening_proof.final_poly",
    ] {
        assert!(
            all.iter().any(|k| k.ends_with(needle)),
            "no decoded length mutant of {needle}; kinds: {all:#?}"
        );
    }
    eprintln!(
        "{tried} length mutants, {decoded} decoded over {} list kinds, all rejected",
        all.len()
    );
    assert!(
        accepted.is_empty(),
        "{} of {tried} length mutants verified: {:?}",
        accepted.len(),
        &accepted[..accepted.len().min(10)]
    );
}
