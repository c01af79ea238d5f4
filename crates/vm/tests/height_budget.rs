//! The recording executor's height budget: a segment that touches many cells ends before
//! the Merkle, Poseidon2 or boundary chip could outgrow the segment size's tallest trace
//! (`exec::max_trace_height`), and every chip's height is in `segment_height_ranges`.

mod common;

use common::asm;
use starkscope_stark_backend::FriPreset;
use starkscope_vm::exec::max_trace_height;
use starkscope_vm::prove::{
    segment_height_ranges, verify_chain, vm_keygen, Continuation, HeightLayout,
};
use starkscope_vm::{ExecConfig, RecordingExecutor};

#[test]
fn a_segment_touching_many_cells_is_cut_by_the_height_budget() {
    // 4000 stores 256 cells apart: about 9.5 new Merkle nodes each, 38k in all, past the
    // budget at 2^16 (2 * nodes + hashes <= 2^16) although the run is only 16k cycles.
    let program = asm("        li 0, 1024
        li 1, 4000
loop:   store 1, 0, 0
        addi 0, 0, 256
        addi 1, 1, -1
        bnei 1, 0, loop
        halt 0");
    let segment_size = 1u64 << 16;
    let config = ExecConfig::default().with_segment_size(segment_size);
    let segments: Vec<_> = RecordingExecutor::new(&program, &[], &config)
        .expect("valid")
        .collect::<Result<_, _>>()
        .expect("runs");
    assert!(segments.len() >= 2, "the budget cut the run");
    assert!(segments[0].instructions.len() < segment_size as usize);
    assert!(segments[0].exit_code.is_none());

    let pk = vm_keygen(&program, FriPreset::Testing)
        .expect("keygen")
        .with_layout(HeightLayout::FixedTallest);
    let ranges = segment_height_ranges(&program, segment_size);
    let h = max_trace_height(segment_size);
    let mut cont = Continuation::start(&program);
    let mut proofs = Vec::new();
    for seg in segments {
        let proof = cont
            .advance(seg, std::time::Duration::ZERO)
            .prove(&pk)
            .expect("proves")
            .proof;
        let heights = proof.heights();
        eprintln!("segment heights {heights:?}");
        for (chip, (&height, range)) in heights.iter().zip(&ranges).enumerate() {
            let log = height.trailing_zeros() as usize;
            assert!(height <= h, "chip {chip}: {height} rows, above {h}");
            assert!(
                range.contains(&log),
                "chip {chip}: log height {log} not in {range:?}"
            );
        }
        proofs.push(proof);
    }
    verify_chain(&pk.verifying_key(), &proofs, None).expect("the chain verifies");
}
