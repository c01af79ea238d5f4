//! Every benchmark program proves and verifies as a chain of at least three segments.

mod common;

use common::{bench_program, fs};
use starkscope_stark_backend::FriPreset;
use starkscope_vm::prove::{verify_chain, vm_keygen, Continuation};
use starkscope_vm::{execute, ExecConfig, RecordingExecutor, F};

/// Small inputs for each program (see each file's header for the input layout).
fn cases() -> Vec<(&'static str, Vec<F>)> {
    let leaf = [1u32, 2, 3, 4, 5, 6, 7, 8];
    let sibling = [9u32, 10, 11, 12, 13, 14, 15, 16];
    let mut merkle = vec![1u32];
    merkle.extend(leaf);
    merkle.push(0);
    merkle.extend(sibling);
    merkle.extend([0u32; 8]); // a wrong expected root: the program halts with exit code 1
    vec![
        ("fibonacci.sasm", fs(&[40])),
        ("field_loop.sasm", fs(&[30])),
        ("bubble_sort.sasm", fs(&[6, 50, 3, 9, 1, 70, 2])),
        ("poseidon2_chain.sasm", fs(&[3, 1, 2, 3])),
        ("matmul.sasm", fs(&[2, 1, 2, 3, 4, 5, 6, 7, 8])),
        (
            "ext_poly.sasm",
            fs(&[2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
        ),
        ("merkle_path.sasm", fs(&merkle)),
    ]
}

#[test]
fn every_benchmark_program_proves_in_three_or_more_segments() {
    for (name, inputs) in cases() {
        let program = bench_program(name);
        let report = execute(&program, &inputs, &ExecConfig::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let segment_size = (report.cycles / 4).max(1);
        let config = ExecConfig::default().with_segment_size(segment_size);
        let pk = vm_keygen(&program, FriPreset::Fast).unwrap();
        let mut cont = Continuation::start(&program);
        let mut proofs = Vec::new();
        let mut outputs = Vec::new();
        for segment in RecordingExecutor::new(&program, &inputs, &config).unwrap() {
            let segment = segment.unwrap_or_else(|e| panic!("{name}: {e}"));
            outputs.extend(segment.outputs.iter().copied());
            let proof = cont
                .advance(segment, Default::default())
                .prove(&pk)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            proofs.push(proof.proof);
        }
        assert!(proofs.len() >= 3, "{name}: {} segments", proofs.len());
        assert_eq!(outputs, report.outputs, "{name}");
        let summary = verify_chain(&pk.verifying_key(), &proofs, Some(&outputs))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(summary.exit_code, report.exit_code, "{name}");
    }
}
