//! The instruction set: opcodes, their operands and their encoding.
//!
//! An instruction is an opcode and three field-element operands `a, b, c`; the text
//! operand `i` of an instruction is always encoded in slot `i`, unused slots are zero.
//! docs/isa.md is the reference for semantics; [`Opcode::ALL`] is the table the
//! assembler, the decoder and the docs test read.

use std::fmt;

use crate::field::{EXT_DEGREE, F};

/// log2 of the number of memory cells.
///
/// Memory is bounded so that the proving layer can commit to all of it as a Poseidon2
/// Merkle tree of fixed depth (one leaf per cell, depth [`MEMORY_BITS`]).
pub const MEMORY_BITS: u32 = 20;

/// Number of memory cells: addresses are `0..MEMORY_SIZE`.
pub const MEMORY_SIZE: usize = 1 << MEMORY_BITS;

/// `lt` compares values below `2^LT_BITS` only: the proof range-checks both operands
/// (a 16-bit and an 8-bit limb), so a larger operand is a trap, not a wrong answer.
pub const LT_BITS: u32 = 24;

/// Cells permuted by `poseidon2` (the backend's width-16 Poseidon2).
pub const POSEIDON2_WIDTH: usize = 16;

/// What an operand slot holds, which decides how the assembler range-checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperandKind {
    /// A memory address of one cell.
    Addr,
    /// The first of [`EXT_DEGREE`] consecutive cells (an extension element).
    ExtAddr,
    /// The first of [`POSEIDON2_WIDTH`] consecutive cells.
    Poseidon2Addr,
    /// A field element.
    Imm,
    /// A program counter (instruction index), usually a label.
    Target,
}

impl OperandKind {
    /// Number of consecutive cells an address operand spans (0 for non-addresses).
    pub const fn cells(self) -> usize {
        match self {
            OperandKind::Addr => 1,
            OperandKind::ExtAddr => EXT_DEGREE,
            OperandKind::Poseidon2Addr => POSEIDON2_WIDTH,
            OperandKind::Imm | OperandKind::Target => 0,
        }
    }

    /// Largest address this operand may hold, for address kinds.
    pub const fn max_address(self) -> Option<u32> {
        match self.cells() {
            0 => None,
            n => Some((MEMORY_SIZE - n) as u32),
        }
    }

    /// How the operand is described in error messages and docs.
    pub const fn describe(self) -> &'static str {
        match self {
            OperandKind::Addr => "address",
            OperandKind::ExtAddr => "extension address (4 cells)",
            OperandKind::Poseidon2Addr => "poseidon2 address (16 cells)",
            OperandKind::Imm => "field immediate",
            OperandKind::Target => "branch target",
        }
    }
}

macro_rules! opcodes {
    ($( $variant:ident = $code:literal, $mnemonic:literal, [$($kind:ident),*], $accesses:literal; )*) => {
        /// An opcode. The discriminant is the encoding.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Opcode {
            $( $variant = $code, )*
        }

        impl Opcode {
            /// Every opcode, in encoding order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$variant,)*];

            /// Number of opcodes.
            pub const COUNT: usize = Self::ALL.len();

            /// The assembly mnemonic, also the `opcode` metric label.
            pub const fn mnemonic(self) -> &'static str {
                match self { $( Opcode::$variant => $mnemonic, )* }
            }

            /// The kinds of the text operands, in order (operand `i` is slot `i`).
            pub const fn operands(self) -> &'static [OperandKind] {
                match self { $( Opcode::$variant => &[$(OperandKind::$kind),*], )* }
            }

            /// Memory accesses the instruction makes, always the same for an opcode: the
            /// timestamp advances by this much per instruction.
            pub const fn accesses(self) -> usize {
                match self { $( Opcode::$variant => $accesses, )* }
            }

            /// The opcode with this encoding.
            pub fn from_code(code: u8) -> Option<Self> {
                match code { $( $code => Some(Opcode::$variant), )* _ => None }
            }

            /// The opcode with this mnemonic.
            pub fn from_mnemonic(m: &str) -> Option<Self> {
                match m { $( $mnemonic => Some(Opcode::$variant), )* _ => None }
            }
        }
    };
}

opcodes! {
    // field arithmetic
    Add = 0, "add", [Addr, Addr, Addr], 3;
    Sub = 1, "sub", [Addr, Addr, Addr], 3;
    Mul = 2, "mul", [Addr, Addr, Addr], 3;
    Inv = 3, "inv", [Addr, Addr], 2;
    AddI = 4, "addi", [Addr, Addr, Imm], 2;
    MulI = 5, "muli", [Addr, Addr, Imm], 2;
    // extension arithmetic (4 cells per operand)
    EAdd = 6, "eadd", [ExtAddr, ExtAddr, ExtAddr], 12;
    ESub = 7, "esub", [ExtAddr, ExtAddr, ExtAddr], 12;
    EMul = 8, "emul", [ExtAddr, ExtAddr, ExtAddr], 12;
    EInv = 9, "einv", [ExtAddr, ExtAddr], 8;
    // memory
    Li = 10, "li", [Addr, Imm], 1;
    Mov = 11, "mov", [Addr, Addr], 2;
    Load = 12, "load", [Addr, Addr, Imm], 3;
    Store = 13, "store", [Addr, Addr, Imm], 3;
    // control flow
    Beq = 14, "beq", [Addr, Addr, Target], 2;
    Bne = 15, "bne", [Addr, Addr, Target], 2;
    BeqI = 16, "beqi", [Addr, Imm, Target], 1;
    BneI = 17, "bnei", [Addr, Imm, Target], 1;
    Jal = 18, "jal", [Addr, Target], 1;
    Jalr = 19, "jalr", [Addr, Addr], 2;
    Jmp = 20, "jmp", [Target], 0;
    Lt = 21, "lt", [Addr, Addr, Addr], 3;
    // hashing
    Poseidon2 = 22, "poseidon2", [Poseidon2Addr, Poseidon2Addr], 32;
    // I/O and termination
    Hint = 23, "hint", [Addr], 1;
    Out = 24, "out", [Addr], 1;
    Halt = 25, "halt", [Imm], 0;
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

/// One encoded instruction: what the program chip commits to per pc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instruction {
    pub opcode: Opcode,
    pub a: F,
    pub b: F,
    pub c: F,
}

impl Instruction {
    /// An instruction from its operand slots.
    pub fn new(opcode: Opcode, a: F, b: F, c: F) -> Self {
        Instruction { opcode, a, b, c }
    }

    /// The operand slots as an array `[a, b, c]`.
    pub fn operands(&self) -> [F; 3] {
        [self.a, self.b, self.c]
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.opcode)?;
        let ops = self.operands();
        for (i, _) in self.opcode.operands().iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{}", crate::field::canonical(ops[i]))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        for (i, &op) in Opcode::ALL.iter().enumerate() {
            assert_eq!(op as usize, i, "{op} is out of encoding order");
            assert_eq!(Opcode::from_code(op as u8), Some(op));
            assert_eq!(Opcode::from_mnemonic(op.mnemonic()), Some(op));
            assert!(op.operands().len() <= 3);
        }
        assert_eq!(Opcode::from_code(Opcode::COUNT as u8), None);
    }

    #[test]
    fn access_counts_match_operands() {
        // A read per source cell and a write per destination cell; loads and stores add
        // the pointer read; branches read their compared cells.
        assert_eq!(Opcode::EMul.accesses(), 3 * EXT_DEGREE);
        assert_eq!(Opcode::Poseidon2.accesses(), 2 * POSEIDON2_WIDTH);
        assert_eq!(Opcode::Load.accesses(), 3);
        assert_eq!(Opcode::Halt.accesses(), 0);
    }
}
