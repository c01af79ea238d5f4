//! The verifier circuit end to end: a real child proof (the backend's three-AIR bus set,
//! and a proof of a recursion circuit: nesting) is verified inside a circuit; the outer
//! circuit runs, proves and verifies; a child of another key, shape or value is refused.

mod common;

use common::bus_child;

use starkscope_recursion::verifier::{child_hints, verify_child, ChildSpec};
use starkscope_recursion::{CircuitBuilder, CompiledCircuit, Felt};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Challenge, FriPreset, Proof, StarkConfig, Val, VerifyingKey};

fn testing() -> StarkConfig {
    StarkConfig::new(FriPreset::Testing)
}

/// A small recursion circuit's proof: every rec_* table in use.
fn circuit_child(cfg: &StarkConfig) -> (VerifyingKey, Proof, Vec<Val>) {
    let mut b = CircuitBuilder::new();
    let x = b.public();
    let h = b.hint_ext();
    let y = b.mul_add(h, x.ext(), h);
    let i = b.inverse(y);
    let one = b.mul(i, y);
    let c1 = b.constant_ext(Challenge::ONE);
    b.assert_eq(one, c1);
    let q = b.hint_quad();
    let d = starkscope_recursion::gadgets::hash::hash_quads(&mut b, &[q, q, q], 12);
    let bits = b.bits(x);
    let _ = b.exp_reverse_bits_const(Val::from_u32(31), &bits[..5]);
    let _ = b.horner(None, h, &[q, d[0]], 8);
    let cc = CompiledCircuit::new(b.build(), cfg.clone()).unwrap();
    let public = vec![Val::from_u32(12345)];
    let hints = vec![
        Challenge::from(Val::from_u32(7)),
        Challenge::from(Val::from_u32(9)),
    ];
    let w = cc.run(&public, &hints).unwrap();
    let proof = cc.prove(w).unwrap();
    cc.verify(&proof, &public).unwrap();
    (cc.vk().clone(), proof, public)
}

/// A circuit that verifies one child of `spec` and exposes its public values.
fn verifier_circuit(spec: &ChildSpec, outer: &StarkConfig) -> (CompiledCircuit, Vec<Vec<Felt>>) {
    let mut b = CircuitBuilder::new();
    let child = verify_child(&mut b, spec);
    let cc = CompiledCircuit::new(b.build(), outer.clone()).unwrap();
    (cc, child.public_values)
}

#[test]
fn a_bus_child_verifies_in_circuit_and_the_outer_proof_verifies() {
    let cfg = testing();
    let (vk, proof) = bus_child(&cfg, 5, 4, 3);
    let spec = ChildSpec::of_proof(cfg.clone(), vk, &proof).unwrap();
    let (cc, pvs) = verifier_circuit(&spec, &testing());
    let hints = child_hints(&spec, &proof).unwrap();
    let w = cc.run(&[], &hints).unwrap();
    // The exposed public values are the child's.
    for (air, cells) in pvs.iter().enumerate() {
        for (k, cell) in cells.iter().enumerate() {
            assert_eq!(
                w.values[cell.addr() as usize],
                Challenge::from(proof.public_values(air).unwrap()[k])
            );
        }
    }
    let outer = cc.prove(w).unwrap();
    cc.verify(&outer, &[]).unwrap();
    eprintln!("bus child: {:?}", cc_counts(&cc));
}

#[test]
fn a_child_of_another_shape_or_key_is_refused() {
    let cfg = testing();
    let (vk, proof) = bus_child(&cfg, 5, 4, 3);
    let spec = ChildSpec::of_proof(cfg.clone(), vk, &proof).unwrap();
    // Another height: the witness generator refuses the shape.
    let (_, taller) = bus_child(&cfg, 6, 4, 3);
    let e = child_hints(&spec, &taller).unwrap_err();
    assert!(e.to_string().contains("log height"), "{e}");
    // Same shape, another key (more sender columns): the hints fit no circuit check.
    let (cc, _) = verifier_circuit(&spec, &testing());
    let (_, other, _) = circuit_child(&cfg);
    assert!(child_hints(&spec, &other).is_err());
    // A child proof with a changed public value, hints filled anyway: refused when run.
    let mut forged = proof.clone();
    forged.airs[0].public_values[0] += Val::ONE;
    let hints = child_hints(&spec, &forged).unwrap();
    assert!(cc.run(&[], &hints).is_err());
}

#[test]
fn a_commitment_with_two_roots_is_a_shape_error_not_a_panic() {
    use starkscope_stark_backend::testing::mutation::{list_length_mutants, Change};
    let cfg = testing();
    let (vk, proof) = bus_child(&cfg, 4, 3, 3);
    let spec = ChildSpec::of_proof(cfg, vk, &proof).unwrap();
    let mut seen = 0;
    for m in list_length_mutants(&proof) {
        let (true, Change::Grown, Some(p)) = (
            m.path.starts_with(".commitments.") && m.path.ends_with(".cap"),
            m.change,
            m.value,
        ) else {
            continue;
        };
        seen += 1;
        let e = child_hints(&spec, &p).unwrap_err();
        assert!(e.to_string().contains("2 roots"), "{}: {e}", m.path);
    }
    assert_eq!(seen, 3, "main, permutation and quotient commitments");
}

#[test]
fn a_verifier_circuit_verifies_a_recursion_circuit_proof() {
    let cfg = testing();
    let (vk, proof, public) = circuit_child(&cfg);
    let spec = ChildSpec::of_proof(cfg.clone(), vk, &proof).unwrap();
    let (cc, pvs) = verifier_circuit(&spec, &testing());
    let hints = child_hints(&spec, &proof).unwrap();
    let w = cc.run(&[], &hints).unwrap();
    // The rec_public table carries the child's public input.
    let exposed: Vec<Challenge> = pvs
        .iter()
        .flatten()
        .map(|c| w.values[c.addr() as usize])
        .collect();
    assert!(exposed.contains(&Challenge::from(public[0])));
    let outer = cc.prove(w).unwrap();
    cc.verify(&outer, &[]).unwrap();
    eprintln!("circuit child: {:?}", cc_counts(&cc));
}

fn cc_counts(cc: &CompiledCircuit) -> Vec<(String, u64)> {
    cc.circuit
        .op_counts()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), v))
        .collect()
}
