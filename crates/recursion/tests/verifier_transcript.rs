//! Differential test of the verifier circuit's transcript: the native verifier runs with a
//! challenger that records every observe and sample; the circuit, run on the same child,
//! must produce the identical sequence of values (every observe, every sample, steps 1-14),
//! and the outer proof must verify. Children: the first segment proof of three bundled VM
//! programs under `fast` and `recursion`, and a proof of a verifier circuit (nesting).

use std::sync::Arc;

use starkscope_stark_backend::p3::PrimeCharacteristicRing;

use starkscope_recursion::verifier::{child_hints, verify_child, ChildSpec};
use starkscope_recursion::{CircuitBuilder, CompiledCircuit};
use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::transcript_log::{RecordingChallenger, TranscriptEvent};
use starkscope_stark_backend::verifier::verify_with_challenger;
use starkscope_stark_backend::{
    keygen, prove, AirInput, FriPreset, Proof, StarkAir, StarkConfig, VerifyingKey,
};
use starkscope_vm::exec::ExecConfig;
use starkscope_vm::prove::{vm_keygen, Continuation};
use starkscope_vm::F;

fn program(name: &str) -> String {
    let path = format!(
        "{}/../../benchmarks/programs/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The first segment proof of a bundled program.
fn segment_proof(name: &str, inputs: &[u32], preset: FriPreset) -> (VerifyingKey, Proof) {
    segment_proof_of(&program(name), name, inputs, preset)
}

/// The first segment proof of a program given as source.
fn segment_proof_of(
    src: &str,
    name: &str,
    inputs: &[u32],
    preset: FriPreset,
) -> (VerifyingKey, Proof) {
    let program = starkscope_vm::assemble(src, name).expect("assembles");
    let inputs: Vec<F> = inputs.iter().map(|&x| F::from_u32(x)).collect();
    let segments = starkscope_vm::exec::record(
        &program,
        &inputs,
        &ExecConfig::default().with_segment_size(256),
    )
    .expect("executes");
    let pk = vm_keygen(&program, preset).expect("keygen");
    let mut cont = Continuation::start(&program);
    let first = segments.into_iter().next().expect("one segment");
    let proof = cont
        .advance(first, std::time::Duration::ZERO)
        .prove(&pk)
        .expect("proves")
        .proof;
    (pk.pk.vk.clone(), proof)
}

/// The native verifier's transcript of `proof`.
fn native_events(cfg: &StarkConfig, vk: &VerifyingKey, proof: &Proof) -> Vec<TranscriptEvent> {
    let mut ch = RecordingChallenger::new(cfg.challenger());
    verify_with_challenger(cfg, vk, proof, &mut ch).expect("the child verifies natively");
    ch.events().to_vec()
}

/// Builds the verifier circuit for `proof`'s shape, runs it, compares transcripts, and
/// (if `prove_outer`) proves and verifies the outer circuit. Returns the outer proof.
fn check(
    cfg: &StarkConfig,
    vk: &VerifyingKey,
    proof: &Proof,
    what: &str,
    prove_outer: bool,
) -> Option<(CompiledCircuit, Proof)> {
    check_under(cfg, vk, proof, what, prove_outer, FriPreset::Testing)
}

/// [`check`] with the outer circuit compiled under `outer`.
fn check_under(
    cfg: &StarkConfig,
    vk: &VerifyingKey,
    proof: &Proof,
    what: &str,
    prove_outer: bool,
    outer: FriPreset,
) -> Option<(CompiledCircuit, Proof)> {
    let native = native_events(cfg, vk, proof);
    let spec = ChildSpec::of_proof(cfg.clone(), vk.clone(), proof).unwrap();
    let mut b = CircuitBuilder::new();
    let child = verify_child(&mut b, &spec);
    let cc = CompiledCircuit::new(b.build(), StarkConfig::new(outer)).unwrap();
    let w = cc.run(&[], &child_hints(&spec, proof).unwrap()).unwrap();
    let circuit: Vec<TranscriptEvent> = child
        .transcript
        .iter()
        .map(|e| e.event(&w.values))
        .collect();
    assert_eq!(circuit.len(), native.len(), "{what}: event counts differ");
    if let Some(i) = (0..native.len()).find(|&i| circuit[i] != native[i]) {
        panic!(
            "{what}: event {i} differs: circuit {:?}, native {:?}",
            circuit[i], native[i]
        );
    }
    let samples = native.iter().filter(|e| e.is_sample()).count();
    eprintln!(
        "{what}: {} events ({samples} samples) identical; verifying it: {:?}",
        native.len(),
        child.cost
    );
    if prove_outer {
        let outer = cc.prove(w).unwrap();
        cc.verify(&outer, &[]).unwrap();
        Some((cc, outer))
    } else {
        None
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "proves and verifies at scale: release only (scripts/test.sh)"
)]
fn vm_segment_transcripts_match_the_native_verifier() {
    let programs: [(&str, &[u32]); 3] = [
        ("fibonacci.sasm", &[300]),
        ("matmul.sasm", &[2, 1, 2, 3, 4, 5, 6, 7, 8]),
        ("ext_poly.sasm", &[2, 1, 2, 3, 4, 1, 0, 0, 0, 5, 6, 7, 8]),
    ];
    for preset in [FriPreset::Fast, FriPreset::Recursion] {
        let cfg = StarkConfig::new(preset);
        for (i, (name, inputs)) in programs.iter().enumerate() {
            let (vk, proof) = segment_proof(name, inputs, preset);
            // Prove the outer circuit for one child per preset (the others: run only).
            check(&cfg, &vk, &proof, &format!("{name} ({preset})"), i == 0);
        }
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "proves and verifies at scale: release only (scripts/test.sh)"
)]
fn a_verifier_circuit_proof_transcript_matches_the_native_verifier() {
    nested(FriPreset::Testing);
}

/// A node proof under the aggregation preset (arity-8 folding, final polynomial of length
/// 8, Merkle caps): its verifier circuit's transcript is the native one, the outer proof
/// verifies, and a changed commit-phase sibling value or cap root is refused by the run.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "proves and verifies at scale: release only (scripts/test.sh)"
)]
fn an_aggregation_node_proof_transcript_matches_the_native_verifier() {
    let (cfg, vk, proof) = nested(FriPreset::Aggregation);
    let spec = ChildSpec::of_proof(cfg.clone(), vk.clone(), &proof).unwrap();
    let mut b = CircuitBuilder::new();
    verify_child(&mut b, &spec);
    let cc = CompiledCircuit::new(b.build(), StarkConfig::new(FriPreset::Testing)).unwrap();
    assert!(cc.run(&[], &child_hints(&spec, &proof).unwrap()).is_ok());
    let mut lies: Vec<(&str, Proof)> = Vec::new();
    let mut p = proof.clone();
    p.opening_proof.commit_phase_openings[0].sibling_values[0][3] +=
        starkscope_stark_backend::Challenge::ONE;
    lies.push(("commit-phase sibling value", p));
    let mut p = proof.clone();
    let mut roots = p.opening_proof.commit_phase_commits[1].roots().to_vec();
    roots[5][2] += starkscope_stark_backend::Val::ONE;
    p.opening_proof.commit_phase_commits[1] = roots.into();
    lies.push(("commit-phase cap root", p));
    let mut p = proof.clone();
    let mut roots = p.commitments.main.roots().to_vec();
    assert_eq!(roots.len(), 16, "a cap of 16 roots");
    roots[9][0] += starkscope_stark_backend::Val::ONE;
    p.commitments.main = roots.into();
    lies.push(("main cap root", p));
    for (what, p) in lies {
        let refused = match child_hints(&spec, &p) {
            Ok(h) => cc.run(&[], &h).is_err(),
            Err(_) => true,
        };
        assert!(refused, "a changed {what} is accepted");
        eprintln!("changed {what}: refused");
    }
}

/// A bus-set proof under `Testing`, its verifier circuit compiled under `node_preset` and
/// proven (the node proof), then the node proof verified in a circuit, transcripts compared
/// at both levels. Returns the node proof with its config and key.
fn nested(node_preset: FriPreset) -> (StarkConfig, VerifyingKey, Proof) {
    // Inner child: the three-AIR bus set; its verifier circuit's proof is the child here.
    let cfg = StarkConfig::new(FriPreset::Testing);
    let send = RangeSendAir { extra_columns: 3 };
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(send),
        Arc::new(RangeTableAir),
    ];
    let pk = keygen(&cfg, airs).unwrap();
    let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << 5);
    let (st, counts) = send.trace(1 << 4, 5);
    let tt = RangeTableAir::trace(&counts);
    let inputs = vec![
        AirInput::new(ft, fpv),
        AirInput::new(st, vec![]),
        AirInput::new(tt, vec![]),
    ];
    let proof = prove(&cfg, &pk, inputs).unwrap();
    let (node, node_proof) =
        check_under(&cfg, &pk.vk, &proof, "bus set", true, node_preset).unwrap();
    // The node's proof, verified natively and in a circuit, transcripts compared.
    check(
        &node.config,
        node.vk(),
        &node_proof,
        &format!("verifier-circuit proof ({node_preset})"),
        true,
    );
    (node.config.clone(), node.vk().clone(), node_proof)
}

/// A circuit built for one program's segment proofs (under one preset) refuses a segment
/// proof of another program, and one of the same program under another preset: the
/// witness generator refuses its shape, or the circuit's checks refuse it when it has the
/// same shape (the program is the preprocessed commitment, a constant of the circuit).
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "proves and verifies at scale: release only (scripts/test.sh)"
)]
fn a_circuit_refuses_another_programs_or_another_presets_proof() {
    let fast = StarkConfig::new(FriPreset::Fast);
    let (vk, fib) = segment_proof("fibonacci.sasm", &[300], FriPreset::Fast);
    let spec = ChildSpec::of_proof(fast.clone(), vk, &fib).unwrap();
    let mut b = CircuitBuilder::new();
    verify_child(&mut b, &spec);
    let cc = CompiledCircuit::new(b.build(), StarkConfig::new(FriPreset::Testing)).unwrap();
    cc.run(&[], &child_hints(&spec, &fib).unwrap())
        .expect("the program's own proof is accepted");
    let refused = |proof: &Proof, what: &str| match child_hints(&spec, proof) {
        Err(e) => eprintln!("{what}: refused by witness generation: {e}"),
        Ok(hints) => {
            let e = cc
                .run(&[], &hints)
                .expect_err(&format!("{what}: accepted by the circuit"));
            eprintln!("{what}: refused by the circuit: {e}");
        }
    };
    // Another program: same chips, another program chip (preprocessed commitment).
    for (name, inputs) in [
        ("matmul.sasm", &[2u32, 1, 2, 3, 4, 5, 6, 7, 8][..]),
        ("field_loop.sasm", &[40][..]),
    ] {
        let (_, other) = segment_proof(name, inputs, FriPreset::Fast);
        refused(&other, name);
    }
    // A program of the very same shape (one immediate changed: F(n) starting from
    // (0, 2)): only the committed program differs, and the circuit refuses the proof.
    let twisted = program("fibonacci.sasm").replace("li   B, 1", "li   B, 2");
    let (_, other) = segment_proof_of(&twisted, "twisted.sasm", &[300], FriPreset::Fast);
    let hints = child_hints(&spec, &other).expect("same shape");
    let e = cc
        .run(&[], &hints)
        .expect_err("another program's proof is accepted");
    eprintln!("same-shape program: refused by the circuit: {e}");
    // The same program under another preset.
    for preset in [FriPreset::Recursion, FriPreset::Testing] {
        let (_, other) = segment_proof("fibonacci.sasm", &[300], preset);
        refused(&other, &format!("fibonacci under {preset}"));
    }
}
