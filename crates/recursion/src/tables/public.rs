//! PUBLIC: the circuit's public inputs, bound to the proof's public values. One row of
//! `n` lanes (and a padding row): lane `i` holds public input `i`, constrained on the
//! first row to equal public value `i`, and sends it with its preprocessed `(addr,
//! mult)`. The second row's multiplicities are zero.

use starkscope_stark_backend::p3::{Air, AirBuilder, BaseAir, RowMajorMatrix, WindowAccess};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::{base_cell, MEMORY_BUS};

/// Preprocessed columns per lane: addr, mult.
pub const PREP_PER_LANE: usize = 2;

#[derive(Clone, Debug)]
pub struct PublicTable {
    /// Public inputs (the table has at least one lane).
    pub(crate) num_public: usize,
    pub(crate) program: RowMajorMatrix<Val>,
}

impl PublicTable {
    pub fn lanes(&self) -> usize {
        self.num_public.max(1)
    }
}

impl BaseAir<Val> for PublicTable {
    fn width(&self) -> usize {
        self.lanes()
    }
    fn num_public_values(&self) -> usize {
        self.num_public
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some(self.program.clone())
    }
    fn preprocessed_width(&self) -> usize {
        self.lanes() * PREP_PER_LANE
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for PublicTable {
    fn eval(&self, b: &mut AB) {
        let main = b.main().current_slice().to_vec();
        let prep = b.preprocessed().current_slice().to_vec();
        let pv: Vec<AB::Expr> = b.public_values().iter().map(|&v| v.into()).collect();
        for (i, pv) in pv.into_iter().enumerate() {
            b.when_first_row().assert_eq(main[i], pv);
        }
        for (i, lane) in prep.chunks_exact(PREP_PER_LANE).enumerate() {
            b.push_interaction(
                MEMORY_BUS,
                base_cell(lane[0].into(), main[i].into()),
                Count::provided(lane[1].into()),
            );
        }
    }
}

impl StarkAir for PublicTable {
    fn name(&self) -> String {
        "rec_public".into()
    }
}
