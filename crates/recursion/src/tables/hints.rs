//! HINT: values the prover supplies (caller hints, inverses, extension limbs). Per lane:
//! main `v0..v3`; preprocessed `(addr, mult, base)`. A lane sends its cell `mult` times;
//! a `base` lane is constrained to zero upper limbs. Nothing else constrains a hint:
//! the ops that read it check it.

use starkscope_stark_backend::p3::{Air, BaseAir, RowMajorMatrix, WindowAccess};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::{cell, MEMORY_BUS};

pub const LANES: usize = 4;
/// Preprocessed columns per lane: addr, mult, base.
pub const PREP_PER_LANE: usize = 3;
pub const MAIN_PER_LANE: usize = 4;

#[derive(Clone, Debug)]
pub struct HintTable {
    pub(crate) program: RowMajorMatrix<Val>,
}

impl BaseAir<Val> for HintTable {
    fn width(&self) -> usize {
        LANES * MAIN_PER_LANE
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

impl<AB: InteractionBuilder<F = Val>> Air<AB> for HintTable {
    fn eval(&self, b: &mut AB) {
        let main = b.main().current_slice().to_vec();
        let prep = b.preprocessed().current_slice().to_vec();
        for (v, p) in main
            .chunks_exact(MAIN_PER_LANE)
            .zip(prep.chunks_exact(PREP_PER_LANE))
        {
            for &limb in &v[1..] {
                b.assert_zero(p[2] * limb);
            }
            b.push_interaction(
                MEMORY_BUS,
                cell(p[0].into(), [v[0], v[1], v[2], v[3]].map(Into::into)),
                Count::provided(p[1].into()),
            );
        }
    }
}

impl StarkAir for HintTable {
    fn name(&self) -> String {
        "rec_hint".into()
    }
}
