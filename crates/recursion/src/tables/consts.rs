//! CONST: constants, all preprocessed. Per lane `(addr, v0..v3, mult)`; the row sends
//! each lane's cell `mult` times. The backend needs a main trace, so there is one main
//! column; it carries nothing and nothing reads it.

use starkscope_stark_backend::p3::{Air, BaseAir, RowMajorMatrix, WindowAccess};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::{cell, MEMORY_BUS};

pub const LANES: usize = 4;
/// Preprocessed columns per lane: addr, 4 limbs, mult.
pub const PREP_PER_LANE: usize = 6;

#[derive(Clone, Debug)]
pub struct ConstTable {
    pub(crate) program: RowMajorMatrix<Val>,
}

impl BaseAir<Val> for ConstTable {
    fn width(&self) -> usize {
        1
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some(self.program.clone())
    }
    fn preprocessed_width(&self) -> usize {
        LANES * PREP_PER_LANE
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for ConstTable {
    fn eval(&self, b: &mut AB) {
        let prep = b.preprocessed().current_slice().to_vec();
        for lane in prep.chunks_exact(PREP_PER_LANE) {
            let limbs = [lane[1], lane[2], lane[3], lane[4]].map(Into::into);
            b.push_interaction(
                MEMORY_BUS,
                cell(lane[0].into(), limbs),
                Count::provided(lane[5].into()),
            );
        }
    }
}

impl StarkAir for ConstTable {
    fn name(&self) -> String {
        "rec_const".into()
    }
}
