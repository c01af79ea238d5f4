//! BITS: one canonical decomposition of a base value into 31 bits per row.
//!
//! Main: `v`, `b_0..b_30`, `t = b_27 b_28`, `top = t b_29 b_30`. Constraints: every bit
//! boolean, `v = sum 2^i b_i`, and canonicity: BabyBear's p is `15 * 2^27 + 1`, so a 31-bit
//! string encodes a value `>= p` exactly when bits 27..30 are all set and some lower bit
//! is set; `top * (b_0 + ... + b_26) = 0` forbids that (the sum of 27 bits is never 0 mod
//! p unless every bit is 0). Preprocessed: the input's address and read flag, each bit's
//! address and read count.

use starkscope_stark_backend::p3::{
    Air, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::{base_cell, MEMORY_BUS};
use crate::builder::FELT_BITS;

pub const MAIN_WIDTH: usize = 1 + FELT_BITS + 2;
pub const PREP_WIDTH: usize = 2 + 2 * FELT_BITS;

pub mod main {
    pub const V: usize = 0;
    pub const BITS: usize = 1;
    pub const T: usize = 32;
    pub const TOP: usize = 33;
}

pub mod prep {
    use crate::builder::FELT_BITS;
    pub const ADDR_V: usize = 0;
    pub const READ_V: usize = 1;
    pub const ADDR_BITS: usize = 2;
    pub const MULT_BITS: usize = 2 + FELT_BITS;
}

#[derive(Clone, Debug)]
pub struct BitsTable {
    pub(crate) program: RowMajorMatrix<Val>,
}

impl BaseAir<Val> for BitsTable {
    fn width(&self) -> usize {
        MAIN_WIDTH
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some(self.program.clone())
    }
    fn preprocessed_width(&self) -> usize {
        PREP_WIDTH
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for BitsTable {
    fn eval(&self, b: &mut AB) {
        let m = b.main().current_slice().to_vec();
        let p = b.preprocessed().current_slice().to_vec();
        let bits = &m[main::BITS..main::BITS + FELT_BITS];
        for &bit in bits {
            b.assert_bool(bit);
        }
        let mut sum = AB::Expr::ZERO;
        for (i, &bit) in bits.iter().enumerate() {
            sum += AB::Expr::from(Val::from_u32(1 << i)) * bit;
        }
        b.assert_eq(m[main::V], sum);
        b.assert_eq(m[main::T], bits[27] * bits[28]);
        b.assert_eq(m[main::TOP], m[main::T] * bits[29] * bits[30]);
        let low: AB::Expr = bits[..27].iter().map(|&x| -> AB::Expr { x.into() }).sum();
        b.assert_zero(m[main::TOP] * low);

        b.push_interaction(
            MEMORY_BUS,
            base_cell(p[prep::ADDR_V].into(), m[main::V].into()),
            Count::bounded(-AB::Expr::from(p[prep::READ_V]), 1),
        );
        for (i, &bit) in bits.iter().enumerate() {
            b.push_interaction(
                MEMORY_BUS,
                base_cell(p[prep::ADDR_BITS + i].into(), bit.into()),
                Count::provided(p[prep::MULT_BITS + i].into()),
            );
        }
    }
}

impl StarkAir for BitsTable {
    fn name(&self) -> String {
        "rec_bits".into()
    }
}
