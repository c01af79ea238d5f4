//! The executor's form of a program: one compact, pre-validated `Op` per pc.

use crate::field::{canonical, F};
use crate::isa::{Instruction, Opcode};
use crate::program::{Marker, Program};

/// A decoded instruction. Address operands are validated `u32`s below `MEMORY_SIZE` (with
/// room for their width), targets are below the program length.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Add {
        a: u32,
        b: u32,
        c: u32,
    },
    Sub {
        a: u32,
        b: u32,
        c: u32,
    },
    Mul {
        a: u32,
        b: u32,
        c: u32,
    },
    Inv {
        a: u32,
        b: u32,
    },
    AddI {
        a: u32,
        b: u32,
        k: F,
    },
    MulI {
        a: u32,
        b: u32,
        k: F,
    },
    EAdd {
        a: u32,
        b: u32,
        c: u32,
    },
    ESub {
        a: u32,
        b: u32,
        c: u32,
    },
    EMul {
        a: u32,
        b: u32,
        c: u32,
    },
    EInv {
        a: u32,
        b: u32,
    },
    Li {
        a: u32,
        k: F,
    },
    Mov {
        a: u32,
        b: u32,
    },
    Load {
        a: u32,
        b: u32,
        off: F,
    },
    Store {
        a: u32,
        b: u32,
        off: F,
    },
    Beq {
        a: u32,
        b: u32,
        t: u32,
    },
    Bne {
        a: u32,
        b: u32,
        t: u32,
    },
    BeqI {
        a: u32,
        k: F,
        t: u32,
    },
    BneI {
        a: u32,
        k: F,
        t: u32,
    },
    Jal {
        a: u32,
        t: u32,
    },
    Jalr {
        a: u32,
        b: u32,
    },
    Jmp {
        t: u32,
    },
    Lt {
        a: u32,
        b: u32,
        c: u32,
    },
    Poseidon2 {
        a: u32,
        b: u32,
    },
    Hint {
        a: u32,
    },
    Out {
        a: u32,
    },
    Halt {
        code: u32,
    },
    /// The instruction at this pc has cycle-tracker markers: `Decoded::marked[i]` holds
    /// them and the real op. Keeps the unmarked path free of marker checks.
    Marked(u32),
}

/// A marker with its region name interned.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MarkerOp {
    Start(u32),
    End,
}

/// The markers of one instruction.
pub(crate) struct MarkedOp {
    /// Passed when arriving by fall-through or a computed jump.
    pub all: Vec<MarkerOp>,
    /// Passed when arriving by a jump to a label (markers written after the labels).
    pub via_jump: Vec<MarkerOp>,
    pub op: Op,
}

pub(crate) struct Decoded {
    pub ops: Vec<Op>,
    pub marked: Vec<MarkedOp>,
    /// Region names by id.
    pub region_names: Vec<String>,
}

fn decode_one(ins: &Instruction) -> Op {
    let [a, b, c] = ins.operands().map(canonical);
    let [_, kb, kc] = ins.operands();
    match ins.opcode {
        Opcode::Add => Op::Add { a, b, c },
        Opcode::Sub => Op::Sub { a, b, c },
        Opcode::Mul => Op::Mul { a, b, c },
        Opcode::Inv => Op::Inv { a, b },
        Opcode::AddI => Op::AddI { a, b, k: kc },
        Opcode::MulI => Op::MulI { a, b, k: kc },
        Opcode::EAdd => Op::EAdd { a, b, c },
        Opcode::ESub => Op::ESub { a, b, c },
        Opcode::EMul => Op::EMul { a, b, c },
        Opcode::EInv => Op::EInv { a, b },
        Opcode::Li => Op::Li { a, k: kb },
        Opcode::Mov => Op::Mov { a, b },
        Opcode::Load => Op::Load { a, b, off: kc },
        Opcode::Store => Op::Store { a, b, off: kc },
        Opcode::Beq => Op::Beq { a, b, t: c },
        Opcode::Bne => Op::Bne { a, b, t: c },
        Opcode::BeqI => Op::BeqI { a, k: kb, t: c },
        Opcode::BneI => Op::BneI { a, k: kb, t: c },
        Opcode::Jal => Op::Jal { a, t: b },
        Opcode::Jalr => Op::Jalr { a, b },
        Opcode::Jmp => Op::Jmp { t: a },
        Opcode::Lt => Op::Lt { a, b, c },
        Opcode::Poseidon2 => Op::Poseidon2 { a, b },
        Opcode::Hint => Op::Hint { a },
        Opcode::Out => Op::Out { a },
        Opcode::Halt => Op::Halt { code: a },
    }
}

impl Decoded {
    /// Decodes a program that passed [`Program::validate`].
    pub fn new(program: &Program) -> Self {
        let mut ops: Vec<Op> = program.instructions.iter().map(decode_one).collect();
        let mut region_names: Vec<String> = Vec::new();
        let mut marked: Vec<MarkedOp> = Vec::new();
        for m in &program.markers {
            let pc = m.pc as usize;
            // Markers after the last instruction can never take effect: reaching that pc
            // is a `PcOutOfProgram` trap.
            if pc >= ops.len() {
                continue;
            }
            let mop = match &m.marker {
                Marker::Start(name) => {
                    let id = match region_names.iter().position(|n| n == name) {
                        Some(i) => i,
                        None => {
                            region_names.push(name.clone());
                            region_names.len() - 1
                        }
                    };
                    MarkerOp::Start(id as u32)
                }
                Marker::End => MarkerOp::End,
            };
            let i = match ops[pc] {
                Op::Marked(i) => i as usize,
                op => {
                    marked.push(MarkedOp {
                        all: Vec::new(),
                        via_jump: Vec::new(),
                        op,
                    });
                    ops[pc] = Op::Marked(marked.len() as u32 - 1);
                    marked.len() - 1
                }
            };
            marked[i].all.push(mop);
            if !m.skipped_by_jumps {
                marked[i].via_jump.push(mop);
            }
        }
        Decoded {
            ops,
            marked,
            region_names,
        }
    }
}
