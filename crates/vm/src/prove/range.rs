//! The 16-bit range table: a preprocessed column 0..2^16 and a multiplicity column.

use starkscope_stark_backend::p3::{
    Air, AirBuilder, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::buses;

/// Rows of the table (and the exclusive bound it proves).
pub const RANGE16_SIZE: usize = 1 << 16;
/// Committed main width: the multiplicity column and zero columns ([`super::cols::padded`]).
pub(crate) const MAIN_WIDTH: usize = super::cols::padded(1);

/// Per-value lookup counts gathered while the other chips' traces are filled.
#[derive(Clone, Debug)]
pub struct RangeCounts(Vec<u32>);

impl Default for RangeCounts {
    fn default() -> Self {
        Self(vec![0; RANGE16_SIZE])
    }
}

impl RangeCounts {
    #[inline]
    pub fn add(&mut self, x: u32) {
        self.0[x as usize] += 1;
    }

    pub fn trace(&self) -> RowMajorMatrix<Val> {
        let mut values = Val::zero_vec(MAIN_WIDTH * self.0.len());
        for (row, &c) in values.chunks_exact_mut(MAIN_WIDTH).zip(self.0.iter()) {
            row[0] = Val::from_u32(c);
        }
        RowMajorMatrix::new(values, MAIN_WIDTH)
    }
}

/// Provides `(x)` on [`buses::RANGE16`] for every `x < 2^16`, `mult` times.
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeChip;

impl BaseAir<Val> for RangeChip {
    fn width(&self) -> usize {
        MAIN_WIDTH
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some(RowMajorMatrix::new(
            (0..RANGE16_SIZE as u32).map(Val::from_u32).collect(),
            1,
        ))
    }
    fn preprocessed_width(&self) -> usize {
        1
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for RangeChip {
    fn eval(&self, b: &mut AB) {
        let prep = b.preprocessed();
        let (x, x_next) = (prep.current_slice()[0], prep.next_slice()[0]);
        // The table counts up from 0 (so a reader of the constraints alone knows it).
        b.when_first_row().assert_zero(x);
        b.when_transition().assert_eq(x_next, x + AB::Expr::ONE);
        let mult = b.main().current_slice()[0];
        b.push_interaction(buses::RANGE16, [x], Count::provided(-mult.into()));
    }
}

impl StarkAir for RangeChip {
    fn name(&self) -> String {
        "range16".into()
    }
}
