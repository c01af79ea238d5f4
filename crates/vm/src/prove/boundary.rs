//! The memory boundary chip: one row per cell the segment touched.
//!
//! It opens each cell's history on the memory bus, sending `(addr, initial, 0)`, and closes
//! it, receiving `(addr, last, last_ts)`; between the two, the accesses of the other chips
//! must chain. It also sends the cell's Merkle leaf `(0, addr, [initial, 0..], [last, 0..])`
//! to the Merkle chip, which ties the initial values to the root before the segment and
//! the final values to the root after.

use starkscope_stark_backend::p3::{
    Air, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::buses;
use super::poseidon2_chip::DIGEST;
use crate::exec::Segment;

pub(crate) const IS_REAL: usize = 0;
pub(crate) const ADDR: usize = 1;
pub(crate) const INITIAL: usize = 2;
pub(crate) const LAST: usize = 3;
pub(crate) const LAST_TS: usize = 4;
/// Committed width: the five columns above and zero columns (see [`super::cols::padded`]).
pub(crate) const WIDTH: usize = super::cols::padded(USED);
/// Columns the chip reads.
pub(crate) const USED: usize = LAST_TS + 1;

/// The memory boundary chip.
#[derive(Clone, Copy, Debug, Default)]
pub struct BoundaryChip;

impl BaseAir<Val> for BoundaryChip {
    fn width(&self) -> usize {
        WIDTH
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for BoundaryChip {
    fn eval(&self, b: &mut AB) {
        let row: Vec<AB::Expr> = b.main().current_slice().iter().map(|&v| v.into()).collect();
        let is_real = row[IS_REAL].clone();
        b.assert_bool(is_real.clone());
        let count = || Count::bounded(is_real.clone(), 1);
        b.push_interaction(
            buses::MEMORY,
            [row[ADDR].clone(), row[INITIAL].clone(), AB::Expr::ZERO],
            count(),
        );
        b.push_interaction(
            buses::MEMORY,
            [row[ADDR].clone(), row[LAST].clone(), row[LAST_TS].clone()],
            -count(),
        );
        let mut leaf = vec![AB::Expr::ZERO, row[ADDR].clone(), row[INITIAL].clone()];
        leaf.extend((1..DIGEST).map(|_| AB::Expr::ZERO));
        leaf.push(row[LAST].clone());
        leaf.extend((1..DIGEST).map(|_| AB::Expr::ZERO));
        b.push_interaction(buses::MERKLE, leaf, count());
    }
}

impl StarkAir for BoundaryChip {
    fn name(&self) -> String {
        "memory_boundary".into()
    }
}

impl BoundaryChip {
    pub(crate) fn generate(&self, segment: &Segment) -> (RowMajorMatrix<Val>, usize) {
        let used = segment.touched.len();
        let height = used.next_power_of_two().max(2);
        let mut values = Val::zero_vec(WIDTH * height);
        for (cell, row) in segment.touched.iter().zip(values.chunks_exact_mut(WIDTH)) {
            row[IS_REAL] = Val::ONE;
            row[ADDR] = Val::from_u32(cell.addr);
            row[INITIAL] = cell.initial;
            row[LAST] = cell.last;
            row[LAST_TS] = Val::from_u32(cell.last_timestamp);
        }
        (RowMajorMatrix::new(values, WIDTH), used)
    }
}
