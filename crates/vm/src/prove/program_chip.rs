//! The program chip: the instructions as preprocessed columns `(pc, opcode, a, b, c)`,
//! and a multiplicity column counting how often each was executed in the segment.

use std::sync::Arc;

use starkscope_stark_backend::p3::{
    Air, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::buses;
use crate::isa::Instruction;

/// Opcode value of padding rows: no cpu row can send it, so padding is never executable.
pub const PADDING_OPCODE: u32 = 0xff;

/// Provides `(pc, opcode, a, b, c)` on [`buses::PROGRAM`].
#[derive(Clone, Debug)]
pub struct ProgramChip {
    instructions: Arc<Vec<Instruction>>,
}

impl ProgramChip {
    pub fn new(instructions: Arc<Vec<Instruction>>) -> Self {
        Self { instructions }
    }

    /// Height of the table: the program padded to a power of two (at least 2).
    pub fn height(&self) -> usize {
        self.instructions.len().next_power_of_two().max(2)
    }

    /// The multiplicity column from per-pc execution counts.
    pub fn trace(&self, executions: &[u32]) -> RowMajorMatrix<Val> {
        let mut col = vec![0; self.height()];
        for (c, &n) in col.iter_mut().zip(executions) {
            *c = n;
        }
        main_trace(&col)
    }
}

/// Committed main width: the multiplicity column and zero columns ([`super::cols::padded`]).
pub(crate) const MAIN_WIDTH: usize = super::cols::padded(1);

/// The multiplicity column as the chip's main trace (zero columns appended).
pub(crate) fn main_trace(executions: &[u32]) -> RowMajorMatrix<Val> {
    let mut values = Val::zero_vec(MAIN_WIDTH * executions.len());
    for (row, &n) in values.chunks_exact_mut(MAIN_WIDTH).zip(executions) {
        row[0] = Val::from_u32(n);
    }
    RowMajorMatrix::new(values, MAIN_WIDTH)
}

impl BaseAir<Val> for ProgramChip {
    fn width(&self) -> usize {
        MAIN_WIDTH
    }
    fn preprocessed_width(&self) -> usize {
        5
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        let mut values = Vec::with_capacity(5 * self.height());
        for pc in 0..self.height() {
            match self.instructions.get(pc) {
                Some(i) => values.extend([
                    Val::from_usize(pc),
                    Val::from_u32(i.opcode as u32),
                    i.a,
                    i.b,
                    i.c,
                ]),
                None => values.extend([
                    Val::from_usize(pc),
                    Val::from_u32(PADDING_OPCODE),
                    Val::ZERO,
                    Val::ZERO,
                    Val::ZERO,
                ]),
            }
        }
        Some(RowMajorMatrix::new(values, 5))
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for ProgramChip {
    fn eval(&self, b: &mut AB) {
        let prep = b.preprocessed();
        let row: Vec<AB::Expr> = prep.current_slice().iter().map(|&v| v.into()).collect();
        let mult = b.main().current_slice()[0];
        b.push_interaction(buses::PROGRAM, row, Count::provided(-mult.into()));
    }
}

impl StarkAir for ProgramChip {
    fn name(&self) -> String {
        "program".into()
    }
}
