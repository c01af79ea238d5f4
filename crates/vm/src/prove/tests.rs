//! Segment proofs end to end: every chip proves, the chain verifies, tampering fails.

use starkscope_stark_backend::debug::check_traces;
use starkscope_stark_backend::FriPreset;

use super::*;
use crate::exec::ExecConfig;
use crate::field::F;

/// Exercises every opcode family at least once.
const ALL_OPS: &str = r#"
.const X 0
.const Y 1
.const Z 2
.const P 3
.const E1 0x10
.const E2 0x14
.const E3 0x18
.const S  0x40
.data 0x20, 5
.data 0x21, 6
        hint X
        li   Y, 7
        add  Z, X, Y
        sub  Z, Z, Y
        mul  Z, Z, Y
        inv  Z, Z
        addi Z, Z, 3
        muli Z, Z, 2
        mov  P, Y
        li   P, 0x20
        load Z, P, 1        ; Z = mem[0x21] = 6
        store Z, P, 2       ; mem[0x22] = 6
        lt   Z, X, Y        ; X=3 < 7 -> 1
        lt   Z, Y, X        ; 0
        li   E1, 2
        li   E2, 3
        eadd E3, E1, E2
        esub E3, E3, E1
        emul E3, E3, E2
        einv E3, E3
        poseidon2 S, S
        jal  P, fn
        beq  X, X, after
        halt 9
fn:     out  Z
        jalr Z, P
after:  bne  X, Y, tail
        halt 8
tail:   beqi X, 3, end
        halt 7
end:    bnei X, 4, fin
        halt 6
fin:    out X
        halt 0
"#;

const FIB: &str = include_str!("../../../../benchmarks/programs/fibonacci.sasm");

struct Proven {
    vk: VmVerifyingKey,
    proofs: Vec<Proof>,
    outputs: Vec<Val>,
}

/// Assembles and records `src`, and prepares every segment for proving.
fn prepare(src: &str, inputs: &[u32], segment_size: u64) -> (VmProvingKey, Vec<PreparedSegment>) {
    let program = crate::asm::assemble(src, "test.sasm").expect("assembles");
    let inputs: Vec<F> = inputs.iter().map(|&x| F::from_u32(x)).collect();
    let segments = crate::exec::record(
        &program,
        &inputs,
        &ExecConfig::default().with_segment_size(segment_size),
    )
    .expect("executes");
    let pk = vm_keygen(&program, FriPreset::Fast).expect("keygen");
    let mut cont = Continuation::start(&program);
    let prepared = segments
        .into_iter()
        .map(|segment| cont.advance(segment, std::time::Duration::ZERO))
        .collect();
    (pk, prepared)
}

fn prove_program(src: &str, inputs: &[u32], segment_size: u64) -> Proven {
    let (pk, prepared) = prepare(src, inputs, segment_size);
    let mut outputs = Vec::new();
    let mut proofs = Vec::new();
    for segment in prepared {
        outputs.extend(segment.segment().outputs.iter().copied());
        proofs.push(segment.prove(&pk).expect("proves").proof);
    }
    Proven {
        vk: pk.verifying_key(),
        proofs,
        outputs,
    }
}

fn debug_program(src: &str, inputs: &[u32], segment_size: u64) {
    let (pk, prepared) = prepare(src, inputs, segment_size);
    for segment in prepared {
        let (inputs, _) = segment.generate(&pk);
        let report = check_traces(&pk.pk, &inputs);
        assert!(report.is_ok(), "{report:?}");
    }
}

#[test]
fn every_chip_holds_on_an_all_opcodes_program() {
    debug_program(ALL_OPS, &[3], 8);
}

#[test]
fn all_opcodes_prove_and_chain_across_segments() {
    let p = prove_program(ALL_OPS, &[3], 8);
    assert!(p.proofs.len() >= 3, "{} segments", p.proofs.len());
    let summary = verify_chain(&p.vk, &p.proofs, Some(&p.outputs)).expect("chain verifies");
    assert_eq!(summary.exit_code, 0);
    assert_eq!(summary.segments, p.proofs.len());
}

#[test]
fn fibonacci_proves_in_segments_and_wrong_outputs_fail() {
    let p = prove_program(FIB, &[30], 16);
    assert!(p.proofs.len() >= 3);
    assert_eq!(p.outputs, vec![Val::from_u32(832040)]);
    verify_chain(&p.vk, &p.proofs, Some(&p.outputs)).expect("chain verifies");
    let wrong = [Val::from_u32(832041)];
    assert!(matches!(
        verify_chain(&p.vk, &p.proofs, Some(&wrong)),
        Err(ChainError::Outputs)
    ));
}

#[test]
fn dropped_reordered_and_spliced_segments_fail() {
    let a = prove_program(FIB, &[30], 16);
    let n = a.proofs.len();
    // Dropped: the last one (no halt), a middle one (index gap).
    assert!(matches!(
        verify_chain(&a.vk, &a.proofs[..n - 1], None),
        Err(ChainError::NoHalt)
    ));
    let mut gap = a.proofs.clone();
    gap.remove(1);
    assert!(matches!(
        verify_chain(&a.vk, &gap, None),
        Err(ChainError::Index { .. })
    ));
    // Reordered.
    let mut swapped = a.proofs.clone();
    swapped.swap(0, 1);
    assert!(matches!(
        verify_chain(&a.vk, &swapped, None),
        Err(ChainError::Index { .. })
    ));
    // Spliced: segment 1 of a run with another input, between segments of this run.
    let b = prove_program(FIB, &[31], 16);
    let mut spliced = a.proofs.clone();
    spliced[1] = b.proofs[1].clone();
    assert!(
        matches!(
            verify_chain(&a.vk, &spliced, None),
            Err(ChainError::Link { .. })
        ),
        "{:?}",
        verify_chain(&a.vk, &spliced, None)
    );
}

#[test]
fn each_segment_verifies_on_its_own() {
    let p = prove_program(FIB, &[20], 16);
    let config = StarkConfig::new(p.vk.preset);
    for proof in &p.proofs {
        verify(&config, &p.vk.vk, proof).expect("segment verifies alone");
    }
}

/// One cell changed by +1 in a used row of every chip (first and last column), proven
/// and verified with the release-mode verifier: every mutant must be rejected.
#[test]
fn a_tampered_cell_in_any_chip_fails_verification() {
    use starkscope_stark_backend::p3::Matrix;
    let (pk, prepared) = prepare(ALL_OPS, &[3], 8);
    let vk = pk.verifying_key();
    let per_segment: Vec<_> = prepared.into_iter().map(|s| s.generate(&pk)).collect();
    for chip in 0..air_id::COUNT {
        let (inputs, used) = per_segment
            .iter()
            .find(|(_, used)| used[chip] > 0)
            .expect("some segment uses every chip");
        // The first and the last column the chip reads (the zero columns after it are free:
        // nothing reads them, docs/vm-proving.md, "Heights and widths").
        let width = super::used_widths()[chip];
        assert!(width <= inputs[chip].trace.width());
        for col in [0, width - 1] {
            let mut tampered = inputs.clone();
            tampered[chip].trace.values[col] += Val::ONE;
            let name = pk.pk.air_info(chip).name.clone();
            assert!(used[chip] > 0);
            match prove(&pk.config, &pk.pk, tampered) {
                Err(_) => {} // refused outright
                Ok(proof) => assert!(
                    verify(&pk.config, &vk.vk, &proof).is_err(),
                    "a proof with {name}[row 0][col {col}] + 1 verified"
                ),
            }
        }
    }
}

/// The cpu pads to the segment size only under `FixedTallest` and only above 2^16 rows;
/// compact traces keep the power of two their rows need.
#[test]
fn the_fixed_tallest_layout_pads_the_cpu_to_the_segment_size() {
    assert_eq!(cpu_height(5006, 1 << 20, HeightLayout::Compact), 8192);
    assert_eq!(
        cpu_height(5006, 1 << 20, HeightLayout::FixedTallest),
        1 << 20
    );
    assert_eq!(
        cpu_height(5006, 100_000, HeightLayout::FixedTallest),
        1 << 17
    );
    assert_eq!(cpu_height(5006, 1 << 16, HeightLayout::FixedTallest), 8192);
    assert_eq!(cpu_height(1, 1 << 10, HeightLayout::FixedTallest), 2);

    let program = crate::asm::assemble(FIB, "fibonacci.sasm").unwrap();
    let segment_size = 1 << 17;
    let segments = crate::exec::record(
        &program,
        &[F::from_u32(50)],
        &ExecConfig::default().with_segment_size(segment_size),
    )
    .unwrap();
    let ranges = segment_height_ranges(&program, segment_size);
    for (layout, cpu_rows) in [
        (HeightLayout::Compact, 256),
        (HeightLayout::FixedTallest, 1 << 17),
    ] {
        let pk = vm_keygen(&program, FriPreset::Testing)
            .unwrap()
            .with_layout(layout);
        let prepared = Continuation::start(&program).advance(segments[0].clone(), Duration::ZERO);
        let (inputs, _) = prepared.generate(&pk);
        assert_eq!(inputs[air_id::CPU].trace.height(), cpu_rows, "{layout:?}");
        if layout == HeightLayout::FixedTallest {
            for (chip, (input, range)) in inputs.iter().zip(&ranges).enumerate() {
                let log = input.trace.height().trailing_zeros() as usize;
                assert!(
                    range.contains(&log),
                    "chip {chip}: 2^{log} rows, not in {range:?}"
                );
            }
        }
    }
}
