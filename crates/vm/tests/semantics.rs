//! Every instruction's semantics, in both executors.

mod common;

use common::*;
use p3_baby_bear::default_babybear_poseidon2_16;
use p3_field::{Field, PrimeCharacteristicRing, PrimeField32};
use p3_symmetric::Permutation;
use starkscope_vm::field::{ext_from_cells, ext_to_cells};
use starkscope_vm::{ExecConfig, Opcode, ProgramBuilder, EF, F, LT_BITS};

fn cfg() -> ExecConfig {
    ExecConfig::default().with_segment_size(4)
}

/// Runs a straight-line body followed by `halt 0`; returns the final memory.
fn mem_after(setup: impl FnOnce(&mut ProgramBuilder)) -> Vec<F> {
    let mut b = ProgramBuilder::new("t");
    setup(&mut b);
    b.halt(0);
    run_both(&b.build().unwrap(), &[], &cfg()).memory
}

#[test]
fn field_arithmetic() {
    let p = F::ORDER_U32;
    let m = mem_after(|b| {
        b.li(0, 7).li(1, p - 3);
        b.add(2, 0, 1); // 7 + (-3) = 4
        b.sub(3, 1, 0); // -3 - 7 = -10
        b.mul(4, 0, 1); // 7 * -3 = -21
        b.inv(5, 0);
        b.addi(6, 0, -10); // -3
        b.muli(7, 0, 3); // 21
        b.add(0, 0, 0); // in place: 14
    });
    assert_eq!(m[2], f(4));
    assert_eq!(m[3], f(p - 10));
    assert_eq!(m[4], f(p - 21));
    assert_eq!(m[5] * f(7), F::ONE);
    assert_eq!(m[6], f(p - 3));
    assert_eq!(m[7], f(21));
    assert_eq!(m[0], f(14));
}

#[test]
fn extension_arithmetic() {
    let x = [3u32, 1, 4, 1];
    let y = [5u32, 9, 2, 6];
    let m = mem_after(|b| {
        b.data(0x10, &fs(&x)).data(0x20, &fs(&y));
        b.eadd(0x30, 0x10, 0x20);
        b.esub(0x34, 0x10, 0x20);
        b.emul(0x38, 0x10, 0x20);
        b.einv(0x3c, 0x10);
        b.emul(0x10, 0x10, 0x10); // in place: x^2
    });
    let ex = ext_from_cells([x[0], x[1], x[2], x[3]].map(f));
    let ey = ext_from_cells([y[0], y[1], y[2], y[3]].map(f));
    let cells = |a: usize| ext_from_cells([m[a], m[a + 1], m[a + 2], m[a + 3]]);
    assert_eq!(cells(0x30), ex + ey);
    assert_eq!(cells(0x34), ex - ey);
    assert_eq!(cells(0x38), ex * ey);
    assert_eq!(cells(0x3c), ex.inverse());
    assert_eq!(cells(0x10), ex * ex);
    // X^4 = 11: the extension is F[X]/(X^4 - 11)
    let xx = ext_from_cells([0, 1, 0, 0].map(f));
    assert_eq!(ext_to_cells(xx * xx * xx * xx), [11, 0, 0, 0].map(f));
    assert_eq!(EF::from(f(2)) * ex, ex + ex);
}

#[test]
fn memory_instructions() {
    let m = mem_after(|b| {
        b.li(0, 0x100); // pointer
        b.li(1, 42);
        b.store(1, 0, 5); // m[0x105] = 42
        b.load(2, 0, 5); // m[2] = m[0x105]
        b.li(3, 0x110);
        b.store(1, 3, -1); // negative offset: m[0x10f] = 42
        b.mov(4, 1);
        b.li(5, -1);
    });
    assert_eq!(m[0x105], f(42));
    assert_eq!(m[2], f(42));
    assert_eq!(m[0x10f], f(42));
    assert_eq!(m[4], f(42));
    assert_eq!(m[5], F::NEG_ONE);
}

#[test]
fn branches_and_jumps() {
    // Each taken branch skips an `li 9, 1`; m[9] stays 0 only if all are taken; not-taken
    // branches fall through and set their witness cell.
    let p = asm(r#"
        li 0, 5
        li 1, 5
        li 2, 6
        beq 0, 1, t1
        li 9, 1
t1:     bne 0, 2, t2
        li 9, 1
t2:     beqi 0, 5, t3
        li 9, 1
t3:     bnei 0, 6, t4
        li 9, 1
t4:     beq 0, 2, bad     ; not taken
        li 10, 1
        bne 0, 1, bad     ; not taken
        li 11, 1
        beqi 0, 6, bad    ; not taken
        li 12, 1
        bnei 0, 5, bad    ; not taken
        li 13, 1
        jal 20, func      ; m[20] = return pc
        li 14, 1
        jmp end
func:   li 21, 7
        jalr 22, 20       ; return; m[22] = pc + 1 of the jalr
bad:    halt 1
end:    halt 0
"#);
    let run = run_both(&p, &[], &cfg());
    let m = &run.memory;
    assert_eq!(run.report.exit_code, 0);
    assert_eq!(m[9], F::ZERO);
    assert_eq!(
        [m[10], m[11], m[12], m[13], m[14], m[21]],
        [1, 1, 1, 1, 1, 7].map(f)
    );
    let jal_pc = p
        .instructions
        .iter()
        .position(|i| i.opcode == Opcode::Jal)
        .unwrap() as u32;
    let jalr_pc = p
        .instructions
        .iter()
        .position(|i| i.opcode == Opcode::Jalr)
        .unwrap() as u32;
    assert_eq!(m[20], f(jal_pc + 1));
    assert_eq!(m[22], f(jalr_pc + 1));
}

#[test]
fn jalr_reads_before_it_links() {
    let mut b = ProgramBuilder::new("t");
    let target = b.label();
    b.li(0, 3); // pc 0
    b.jalr(0, 0); // pc 1: jump to 3, m[0] = 2
    b.halt(1); // pc 2
    b.bind(target);
    b.halt(0); // pc 3
    let run = run_both(&b.build().unwrap(), &[], &cfg());
    assert_eq!(run.report.exit_code, 0);
    assert_eq!(run.memory[0], f(2));
}

#[test]
fn less_than() {
    let top = (1u32 << LT_BITS) - 1;
    let m = mem_after(|b| {
        b.li(0, 3).li(1, 5).li(2, top).li(3, 0);
        b.lt(10, 0, 1); // 3 < 5
        b.lt(11, 1, 0); // 5 < 3
        b.lt(12, 0, 0); // 3 < 3
        b.lt(13, 3, 2); // 0 < 2^24 - 1
        b.lt(14, 2, 3);
    });
    assert_eq!([m[10], m[11], m[12], m[13], m[14]], [1, 0, 0, 1, 0].map(f));
}

#[test]
fn poseidon2_matches_the_backend_permutation() {
    let input: Vec<F> = (0..16).map(|i| f(i * 7 + 1)).collect();
    let m = mem_after(|b| {
        b.data(0x200, &input);
        b.poseidon2(0x300, 0x200); // out of place
        b.poseidon2(0x200, 0x200); // in place
    });
    let mut expected: [F; 16] = input.clone().try_into().unwrap();
    default_babybear_poseidon2_16().permute_mut(&mut expected);
    assert_eq!(&m[0x300..0x310], &expected);
    assert_eq!(&m[0x200..0x210], &expected);
}

#[test]
fn hints_outputs_and_exit_code() {
    let mut b = ProgramBuilder::new("t");
    b.hint(0).hint(1).out(1).out(0).add(2, 0, 1).out(2).halt(7);
    let run = run_both(&b.build().unwrap(), &fs(&[10, 20, 30]), &cfg());
    assert_eq!(run.report.outputs, fs(&[20, 10, 30]));
    assert_eq!(run.report.exit_code, 7);
    assert_eq!(run.report.cycles, 7);
    // Unused hints are fine; the segments record what was consumed.
    let consumed: Vec<F> = run.segments.iter().flat_map(|s| s.hints.clone()).collect();
    assert_eq!(consumed, fs(&[10, 20]));
}

#[test]
fn initial_data_and_opcode_counts() {
    let p = asm(r#"
.const BASE 0x80
.data BASE, 1, 2, 0x10, -1
        add 0, BASE, BASE + 1
        add 0, 0, BASE + 2
        add 0, 0, BASE + 3
        out 0
        halt
"#);
    let run = run_both(&p, &[], &cfg());
    assert_eq!(run.report.outputs, fs(&[18]));
    assert_eq!(run.report.opcode_counts[Opcode::Add], 3);
    assert_eq!(run.report.opcode_counts[Opcode::Out], 1);
    assert_eq!(run.report.opcode_counts[Opcode::Halt], 1);
    assert_eq!(run.report.opcode_counts.by_frequency()[0], (Opcode::Add, 3));
}

#[test]
fn subi_pseudo_and_expressions() {
    let p = asm(r#"
.const K 10
.const L K + 5 - 1
        li 0, L
        subi 1, 0, K - 4
        out 1
        halt 0
"#);
    let run = run_both(&p, &[], &cfg());
    assert_eq!(run.report.outputs, fs(&[8]));
}

#[test]
fn every_opcode_is_exercised_by_these_tests() {
    // Guards the list above against a new opcode without a semantics test.
    let covered = [
        "add",
        "sub",
        "mul",
        "inv",
        "addi",
        "muli",
        "eadd",
        "esub",
        "emul",
        "einv",
        "li",
        "mov",
        "load",
        "store",
        "beq",
        "bne",
        "beqi",
        "bnei",
        "jal",
        "jalr",
        "jmp",
        "lt",
        "poseidon2",
        "hint",
        "out",
        "halt",
    ];
    let all: Vec<&str> = Opcode::ALL.iter().map(|o| o.mnemonic()).collect();
    assert_eq!(all, covered);
}
