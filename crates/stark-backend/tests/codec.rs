//! Proof and key bytes: round trips, and every truncation or corruption is an error.

mod common;

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use starkscope_stark_backend::codec::{
    proof_encoded_len, proof_from_bytes, proof_to_bytes_with_preset, CodecError,
};
use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::{prove, verify, FriPreset, StarkAir, VerifyingKey};

#[test]
fn proof_round_trips_and_verifies() {
    let cfg = common::config();
    let (pk, inputs) = common::bus_set(&cfg, 4, 5, 2);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    let bytes = proof_to_bytes_with_preset(&proof, cfg.preset()).unwrap();
    assert_eq!(proof_encoded_len(&proof).unwrap(), bytes.len());
    let back = proof_from_bytes(&bytes, cfg.preset()).unwrap();
    verify(&cfg, &pk.vk, &back).unwrap();
    assert_eq!(
        proof_to_bytes_with_preset(&back, cfg.preset()).unwrap(),
        bytes
    );
    assert!(matches!(
        proof_from_bytes(&bytes, FriPreset::Fast),
        Err(CodecError::PresetMismatch { .. })
    ));
}

#[test]
fn every_truncation_of_a_proof_is_an_error() {
    let cfg = common::config();
    let (pk, inputs) = common::fib(&cfg, 3);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    let bytes = proof_to_bytes_with_preset(&proof, cfg.preset()).unwrap();
    for len in 0..bytes.len() {
        assert!(
            proof_from_bytes(&bytes[..len], cfg.preset()).is_err(),
            "truncated to {len} bytes was accepted"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        proof_from_bytes(&longer, cfg.preset()),
        Err(CodecError::Trailing { .. })
    ));
}

#[test]
fn random_byte_flips_never_panic_and_never_verify() {
    let cfg = common::config();
    let (pk, inputs) = common::bus_set(&cfg, 3, 4, 2);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    let bytes = proof_to_bytes_with_preset(&proof, cfg.preset()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut decoded = 0;
    for _ in 0..400 {
        let mut b = bytes.clone();
        let i = rng.random_range(0..b.len());
        let bit = 1u8 << rng.random_range(0..8);
        b[i] ^= bit;
        if let Ok(p) = proof_from_bytes(&b, cfg.preset()) {
            decoded += 1;
            assert!(
                verify(&cfg, &pk.vk, &p).is_err(),
                "flip of bit {bit:#x} in byte {i} verified"
            );
        }
    }
    assert!(
        decoded > 0,
        "no flip decoded: the verifier path was never exercised"
    );
}

fn bus_airs() -> Vec<Arc<dyn StarkAir>> {
    vec![
        Arc::new(FibonacciAir),
        Arc::new(RangeSendAir { extra_columns: 2 }),
        Arc::new(RangeTableAir),
    ]
}

#[test]
fn verifying_key_round_trips_and_checks_the_airs() {
    let cfg = common::config();
    let (pk, inputs) = common::bus_set(&cfg, 4, 5, 2);
    let bytes = pk.vk.to_bytes().unwrap();
    let vk = VerifyingKey::from_bytes(&bytes, bus_airs()).unwrap();
    let proof = prove(&cfg, &pk, inputs).unwrap();
    verify(&cfg, &vk, &proof).unwrap();
    // The bytes hold no expression tree (its decoding and dropping would recurse once per
    // node): the lookups are re-derived from the AIRs, the same as keygen's.
    for (read, made) in vk.data.airs.iter().zip(&pk.vk.data.airs) {
        assert!(!made.lookups.is_empty() || made.lookup_bus_ids.is_empty());
        assert_eq!(format!("{:?}", read.lookups), format!("{:?}", made.lookups));
    }
    assert!(VerifyingKey::data_from_bytes(&bytes)
        .unwrap()
        .airs
        .iter()
        .all(|a| a.lookups.is_empty()));

    // Other AIRs than the key describes.
    let wrong: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(RangeSendAir { extra_columns: 3 }),
        Arc::new(RangeTableAir),
    ];
    assert!(matches!(
        VerifyingKey::from_bytes(&bytes, wrong),
        Err(CodecError::KeyMismatch(_))
    ));
    assert!(VerifyingKey::from_bytes(&bytes, bus_airs()[..2].to_vec()).is_err());

    for len in 0..bytes.len() {
        assert!(
            VerifyingKey::from_bytes(&bytes[..len], bus_airs()).is_err(),
            "key truncated to {len}"
        );
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..200 {
        let mut b = bytes.clone();
        let i = rng.random_range(0..b.len());
        b[i] ^= 1 << rng.random_range(0..8);
        // Must not panic; a flip in the preprocessed commitment decodes but then the
        // proof no longer verifies against it.
        if let Ok(vk) = VerifyingKey::from_bytes(&b, bus_airs()) {
            if vk.data.preprocessed_commitment != pk.vk.data.preprocessed_commitment {
                let (pk2, inputs) = common::bus_set(&cfg, 4, 5, 2);
                let proof = prove(&cfg, &pk2, inputs).unwrap();
                assert!(verify(&cfg, &vk, &proof).is_err());
            }
        }
    }
}

#[test]
fn header_errors_name_the_problem() {
    assert!(matches!(
        proof_from_bytes(b"short", FriPreset::Fast),
        Err(CodecError::TooShort { .. })
    ));
    assert!(matches!(
        proof_from_bytes(b"NOTAPROOF\x01\x00\x01", FriPreset::Fast),
        Err(CodecError::BadMagic { .. })
    ));
    let mut b = b"SSCPROOF".to_vec();
    b.extend_from_slice(&9u16.to_le_bytes());
    b.push(1);
    assert!(matches!(
        proof_from_bytes(&b, FriPreset::Fast),
        Err(CodecError::Version { found: 9, .. })
    ));
}

#[test]
fn keygen_is_deterministic_so_a_proving_key_is_rebuilt_not_stored() {
    let cfg = common::config();
    let a = starkscope_stark_backend::keygen(&cfg, bus_airs()).unwrap();
    let b = starkscope_stark_backend::keygen(&cfg, bus_airs()).unwrap();
    assert_eq!(a.vk.to_bytes().unwrap(), b.vk.to_bytes().unwrap());
}
