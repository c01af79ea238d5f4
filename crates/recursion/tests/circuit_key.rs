//! A circuit's verifying key on its own: written, read back, and checking the circuit's
//! proofs without the circuit; another circuit's key, changed bytes and oversized shapes
//! refused.

mod common;

use common::*;
use starkscope_recursion::{CircuitBuilder, CircuitKeyError, CircuitVerifyingKey, Felt};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Challenge, FriPreset, Val};

/// `out = x * x + k` for a public `out`, a hinted `x` and a constant `k`.
fn square_plus(k: u32) -> starkscope_recursion::CompiledCircuit {
    let mut b = CircuitBuilder::new();
    let out = b.public();
    let x: Felt = b.hint_felt();
    let k = b.constant(Val::from_u32(k));
    let y = b.mul_add(x, x, k);
    b.assert_eq(y, out);
    compile(b.build())
}

#[test]
fn a_key_read_back_checks_the_circuits_proofs_and_nothing_else() {
    let circuit = square_plus(5);
    let public = [Val::from_u32(3 * 3 + 5)];
    let w = circuit
        .run(&public, &[Challenge::from(Val::from_u32(3))])
        .expect("runs");
    let proof = circuit.prove(w).expect("proves");

    let bytes = circuit.verifying_key().to_bytes().expect("encodes");
    let key = CircuitVerifyingKey::from_bytes(&bytes).expect("reads back");
    assert_eq!(
        key.to_bytes().unwrap(),
        bytes,
        "re-encoding is byte-identical"
    );
    assert_eq!(
        key.log_heights(),
        circuit.verifying_key().log_heights(),
        "same table heights"
    );
    key.verify(&proof, &public)
        .expect("the read key accepts the proof");
    assert!(
        key.verify(&proof, &[Val::from_u32(15)]).is_err(),
        "other public values"
    );

    // Same shape, another constant: another preprocessed commitment, and its key refuses.
    let other = square_plus(6);
    let other_key =
        CircuitVerifyingKey::from_bytes(&other.verifying_key().to_bytes().unwrap()).unwrap();
    assert_eq!(other_key.log_heights(), key.log_heights());
    assert!(other_key.verify(&proof, &public).is_err());

    // Every byte changed, one at a time: unreadable, or a key that refuses the proof.
    let mut accepted = Vec::new();
    for i in 0..bytes.len() {
        let mut changed = bytes.clone();
        changed[i] ^= 0x01;
        if let Ok(k) = CircuitVerifyingKey::from_bytes(&changed) {
            if k.verify(&proof, &public).is_ok() {
                accepted.push(i);
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "changed bytes still accepted: {accepted:?}"
    );
}

#[test]
fn a_key_describing_huge_tables_is_refused_without_allocating_them() {
    let circuit = square_plus(5);
    let vk = circuit.verifying_key().vk().clone();

    let mut tall = vk.clone();
    tall.data.airs[3].preprocessed.as_mut().unwrap().log_height = 30;
    match CircuitVerifyingKey::from_bytes(&tall.to_bytes().unwrap()) {
        Err(CircuitKeyError::Height {
            table: 3,
            log_height: 30,
        }) => {}
        other => panic!("expected a height refusal, got {other:?}"),
    }

    // Within every bound on its own, and 2^37 bytes of public-table trace if the reader
    // built the traces (a reviewer's file once aborted the verifier this way): refused,
    // as a key of other AIRs, with nothing of that size allocated.
    let mut wide = vk;
    let public = starkscope_recursion::TableId::Public as usize;
    wide.data.airs[public]
        .preprocessed
        .as_mut()
        .unwrap()
        .log_height = 22;
    wide.data.airs[public].num_public_values = starkscope_recursion::key::MAX_PUBLIC;
    for t in 0..wide.data.airs.len() {
        wide.data.airs[t].preprocessed.as_mut().unwrap().log_height = 22;
    }
    assert!(matches!(
        CircuitVerifyingKey::from_bytes(&wide.to_bytes().unwrap()),
        Err(CircuitKeyError::Codec(_))
    ));
}

#[test]
fn keygen_refuses_an_air_that_has_only_a_shape() {
    use starkscope_stark_backend::{keygen, ShapeOnly, StarkAir, StarkConfig};
    let circuit = square_plus(5);
    let airs: Vec<std::sync::Arc<dyn StarkAir>> = circuit
        .program
        .airs()
        .into_iter()
        .map(|a| std::sync::Arc::new(ShapeOnly::new(a, 2)) as std::sync::Arc<dyn StarkAir>)
        .collect();
    assert!(keygen(&StarkConfig::new(FriPreset::Testing), airs).is_err());
}
