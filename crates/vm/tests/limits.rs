//! Every limit and trap, with the pc, cycle and source location it names.

mod common;

use common::*;
use starkscope_vm::{
    execute, record, ExecConfig, ExecError, Instruction, Opcode, Program, ProgramBuilder,
    ProgramErrorKind, Trap, TrapKind, F, LT_BITS, MAX_SEGMENT_SIZE, MEMORY_SIZE,
};

fn trap_of(p: &Program, inputs: &[F], cfg: &ExecConfig) -> Trap {
    let fast = execute(p, inputs, cfg).expect_err("fast mode should trap");
    let rec = record(p, inputs, cfg).expect_err("recording mode should trap");
    assert_eq!(fast, rec, "both executors must report the same trap");
    fast.trap()
        .cloned()
        .unwrap_or_else(|| panic!("expected a trap, got {fast}"))
}

fn small() -> ExecConfig {
    ExecConfig::default().with_segment_size(8)
}

#[test]
fn max_cycles() {
    let p = asm("loop: jmp loop\n");
    let t = trap_of(&p, &[], &small().with_max_cycles(100));
    assert_eq!(t.kind, TrapKind::MaxCyclesExceeded { max: 100 });
    assert_eq!(t.cycle, 100);
    assert_eq!(t.location.as_deref(), Some("test.sasm:1:7"));
    // Exactly enough cycles is fine.
    let p = asm("li 0, 1\nhalt 0\n");
    assert_eq!(
        execute(&p, &[], &small().with_max_cycles(2))
            .unwrap()
            .cycles,
        2
    );
    assert!(execute(&p, &[], &small().with_max_cycles(1)).is_err());
}

#[test]
fn indirect_address_out_of_memory() {
    let p = asm("li 0, 1048575\nload 1, 0, 1\nhalt 0\n");
    let t = trap_of(&p, &[], &small());
    assert_eq!(
        t.kind,
        TrapKind::AddressOutOfBounds {
            addr: MEMORY_SIZE as u32
        }
    );
    assert_eq!((t.pc, t.cycle), (1, 1));
    assert_eq!(t.location.as_deref(), Some("test.sasm:2:1"));
    let p = asm("li 0, -1\nstore 1, 0, 0\nhalt 0\n");
    let t = trap_of(&p, &[], &small());
    assert!(matches!(t.kind, TrapKind::AddressOutOfBounds { .. }));
    // The last cell is addressable.
    let p = asm("li 0, 1048575\nstore 0, 0, 0\nload 1, 0, 0\nout 1\nhalt 0\n");
    assert_eq!(execute(&p, &[], &small()).unwrap().outputs, fs(&[1048575]));
}

#[test]
fn direct_addresses_beyond_memory_are_rejected_before_running() {
    let bad = Program {
        name: "bad".into(),
        instructions: vec![Instruction::new(
            Opcode::Li,
            f(MEMORY_SIZE as u32),
            f(0),
            f(0),
        )],
        ..Program::default()
    };
    match execute(&bad, &[], &small()) {
        Err(ExecError::InvalidProgram(e)) => {
            assert!(
                matches!(e.kind, ProgramErrorKind::OperandOutOfRange { slot: 0, .. }),
                "{e}"
            )
        }
        other => panic!("expected an invalid program, got {other:?}"),
    }
    let empty = Program::default();
    assert!(matches!(
        execute(&empty, &[], &small()),
        Err(ExecError::InvalidProgram(_))
    ));
}

#[test]
fn pc_out_of_program() {
    // Falling off the end.
    let p = asm("li 0, 1\n");
    let t = trap_of(&p, &[], &small());
    assert_eq!(t.kind, TrapKind::PcOutOfProgram { pc: 1, len: 1 });
    // The trap names the instruction that fell off the end, and its source line.
    assert_eq!((t.pc, t.cycle), (0, 1));
    assert!(
        t.location.as_deref().is_some_and(|l| l.ends_with(":1:1")),
        "{t}"
    );
    // A computed jump far away: the jump's line.
    let p = asm("li 0, 1000\njalr 1, 0\n");
    let t = trap_of(&p, &[], &small());
    assert_eq!(t.kind, TrapKind::PcOutOfProgram { pc: 1000, len: 2 });
    assert_eq!(t.pc, 1);
    assert!(
        t.location.as_deref().is_some_and(|l| l.ends_with(":2:1")),
        "{t}"
    );
}

#[test]
fn exhausted_hint_stream() {
    let p = asm("hint 0\nhint 1\nhalt 0\n");
    let t = trap_of(&p, &fs(&[5]), &small());
    assert_eq!(
        t.kind,
        TrapKind::HintExhausted {
            requested: 2,
            available: 1
        }
    );
    assert_eq!(t.location.as_deref(), Some("test.sasm:2:1"));
    assert!(t.to_string().contains("input #2 but 1 were given"), "{t}");
}

#[test]
fn inverse_of_zero() {
    let t = trap_of(&asm("inv 0, 1\nhalt 0\n"), &[], &small());
    assert_eq!(t.kind, TrapKind::InverseOfZero);
    let t = trap_of(&asm("li 1, 0\neinv 0x10, 0x20\nhalt 0\n"), &[], &small());
    assert_eq!((t.kind, t.pc), (TrapKind::InverseOfZero, 1));
}

#[test]
fn lt_operands_above_the_bound() {
    let big = 1u32 << LT_BITS;
    let mut b = ProgramBuilder::new("t");
    b.li(0, big).li(1, 1).lt(2, 1, 0).halt(0);
    let t = trap_of(&b.build().unwrap(), &[], &small());
    assert_eq!(t.kind, TrapKind::LtOperandOutOfRange { value: big });
    let mut b = ProgramBuilder::new("t");
    b.li(0, -1).li(1, 1).lt(2, 0, 1).halt(0);
    assert!(matches!(
        trap_of(&b.build().unwrap(), &[], &small()).kind,
        TrapKind::LtOperandOutOfRange { .. }
    ));
}

/// Markers never change what a program computes (proofs do not see them): a `ct_end`
/// with no open region is a no-op, not a trap.
#[test]
fn unbalanced_ct_end_is_a_no_op() {
    let p = asm("li 0, 1\nct_end\nout 0\nhalt 3\n");
    let r = starkscope_vm::execute(&p, &[], &small()).expect("runs to halt");
    assert_eq!(r.exit_code, 3);
    assert_eq!(r.outputs, vec![starkscope_vm::F::new(1)]);
}

#[test]
fn bad_configs() {
    let p = asm("halt 0\n");
    for cfg in [
        ExecConfig::default().with_segment_size(0),
        ExecConfig::default().with_segment_size(MAX_SEGMENT_SIZE + 1),
        ExecConfig::default().with_max_cycles(0),
    ] {
        assert!(
            matches!(execute(&p, &[], &cfg), Err(ExecError::Config(_))),
            "{cfg:?}"
        );
        assert!(
            matches!(record(&p, &[], &cfg), Err(ExecError::Config(_))),
            "{cfg:?}"
        );
    }
}
