//! One verifier circuit per program and segment size accepts every segment proof of a run:
//! the chips' heights vary from segment to segment within the ranges
//! `starkscope_vm::prove::segment_height_ranges` gives (`ChildSpec::with_ranges`), and a
//! segment proof of another program is refused.

use starkscope_recursion::verifier::{child_hints, verify_child, ChildSpec};
use starkscope_recursion::{CircuitBuilder, CompiledCircuit};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{FriPreset, Proof, StarkConfig, VerifyingKey};
use starkscope_vm::exec::ExecConfig;
use starkscope_vm::prove::{
    segment_height_ranges, verify_chain, vm_keygen, Continuation, HeightLayout,
};
use starkscope_vm::{Program, F};

const SEGMENT_SIZE: u64 = 256;
const PRESET: FriPreset = FriPreset::Testing;

fn program(name: &str) -> Program {
    let path = format!(
        "{}/../../benchmarks/programs/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    starkscope_vm::assemble(&src, name).expect("assembles")
}

/// Every segment proof of a run, verified natively as a chain.
fn segment_proofs(program: &Program, inputs: &[u32]) -> (VerifyingKey, Vec<Proof>) {
    let inputs: Vec<F> = inputs.iter().map(|&x| F::from_u32(x)).collect();
    let config = ExecConfig::default().with_segment_size(SEGMENT_SIZE);
    let segments = starkscope_vm::exec::record(program, &inputs, &config).expect("executes");
    // The layout segment proofs for a verifier circuit use (a no-op at this segment size,
    // where range16 is the tallest trace).
    let pk = vm_keygen(program, PRESET)
        .expect("keygen")
        .with_layout(HeightLayout::FixedTallest);
    let mut cont = Continuation::start(program);
    let proofs: Vec<Proof> = segments
        .into_iter()
        .map(|s| {
            cont.advance(s, std::time::Duration::ZERO)
                .prove(&pk)
                .expect("proves")
                .proof
        })
        .collect();
    verify_chain(&pk.verifying_key(), &proofs, None).expect("the chain verifies");
    (pk.pk.vk.clone(), proofs)
}

/// The verifier circuit for every segment proof of `program` at [`SEGMENT_SIZE`].
fn circuit(program: &Program, vk: &VerifyingKey) -> (ChildSpec, CompiledCircuit) {
    let ranges = segment_height_ranges(program, SEGMENT_SIZE);
    let spec = ChildSpec::with_ranges(StarkConfig::new(PRESET), vk.clone(), ranges)
        .expect("the VM's height ranges are ones the circuit takes");
    let mut b = CircuitBuilder::new();
    verify_child(&mut b, &spec);
    let cc = CompiledCircuit::new(b.build(), StarkConfig::new(FriPreset::Testing)).unwrap();
    (spec, cc)
}

fn log_heights(proof: &Proof) -> Vec<usize> {
    proof
        .heights()
        .iter()
        .map(|h| h.trailing_zeros() as usize)
        .collect()
}

#[test]
fn one_circuit_accepts_every_segment_of_a_run() {
    let fib = program("fibonacci.sasm");
    // 5 cycles per iteration: 256 + 256 + a short last segment.
    let (fib_vk, fib_proofs) = segment_proofs(&fib, &[110]);
    assert!(fib_proofs.len() >= 3, "{} segments", fib_proofs.len());
    let chain = program("poseidon2_chain.sasm");
    let mut chain_inputs = vec![60];
    chain_inputs.extend(1..=60);
    let (chain_vk, chain_proofs) = segment_proofs(&chain, &chain_inputs);
    assert!(chain_proofs.len() >= 2, "{} segments", chain_proofs.len());

    for (name, prog, vk, proofs) in [
        ("fibonacci", &fib, &fib_vk, &fib_proofs),
        ("poseidon2_chain", &chain, &chain_vk, &chain_proofs),
    ] {
        let shapes: Vec<Vec<usize>> = proofs.iter().map(log_heights).collect();
        eprintln!("{name}: segment log heights {shapes:?}");
        let mut distinct = shapes.clone();
        distinct.dedup();
        assert!(distinct.len() >= 2, "{name}: the segments' heights differ");
        let (spec, cc) = circuit(prog, vk);
        eprintln!("{name}: circuit ops {:?}", cc.circuit.op_counts());
        for (i, proof) in proofs.iter().enumerate() {
            let hints = child_hints(&spec, proof)
                .unwrap_or_else(|e| panic!("{name} segment {i}: hints refused: {e}"));
            let w = cc
                .run(&[], &hints)
                .unwrap_or_else(|e| panic!("{name} segment {i}: run refused: {e:?}"));
            // Prove the outer circuit for the short last segment of fibonacci.
            if name == "fibonacci" && i + 1 == proofs.len() {
                let outer = cc.prove(w).unwrap();
                cc.verify(&outer, &[]).unwrap();
            }
        }
        // A segment proof of the other program (same segment size) is refused.
        let other = if name == "fibonacci" {
            &chain_proofs[0]
        } else {
            &fib_proofs[0]
        };
        let refused = match child_hints(&spec, other) {
            Err(e) => {
                eprintln!("{name}: another program's proof: hints refused: {e}");
                true
            }
            Ok(hints) => match cc.run(&[], &hints) {
                Err(e) => {
                    eprintln!("{name}: another program's proof: run refused: {e:?}");
                    true
                }
                Ok(_) => false,
            },
        };
        assert!(
            refused,
            "{name}: a segment proof of another program is accepted"
        );
    }
}
