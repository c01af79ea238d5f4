//! ALU: extension-field arithmetic, [`LANES`] ops per row. A lane computes
//! `out = m*a*b + x*a + y*b + z*c` in the degree-4 extension, with base coefficients
//! `(m, x, y, z)` fixed by the program. Add, sub, mul, mul-add, neg, select and every
//! checking op are this one form. Per lane, preprocessed: the four addresses, the read
//! counts of `a`, `b`, `c` (0 or 1), the count of `out` (its read count when the lane
//! writes it; -1 when the lane asserts the result equals an existing cell), and the
//! coefficients. Base values are extension values with zero upper limbs.

use starkscope_stark_backend::p3::{Air, BaseAir, RowMajorMatrix, WindowAccess};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::{cell, MEMORY_BUS};

pub const LANES: usize = 4;
pub const MAIN_PER_LANE: usize = 16;
pub const PREP_PER_LANE: usize = 12;

/// Preprocessed column offsets within a lane.
pub mod prep {
    pub const ADDR_A: usize = 0;
    pub const ADDR_B: usize = 1;
    pub const ADDR_C: usize = 2;
    pub const ADDR_OUT: usize = 3;
    pub const CNT_A: usize = 4;
    pub const CNT_B: usize = 5;
    pub const CNT_C: usize = 6;
    pub const CNT_OUT: usize = 7;
    pub const COEFFS: usize = 8;
}

/// `W` of the binomial extension `X^4 = W`.
pub(crate) fn w() -> Val {
    <Val as p3_field::extension::BinomiallyExtendable<4>>::W
}

#[derive(Clone, Debug)]
pub struct AluTable {
    pub(crate) program: RowMajorMatrix<Val>,
}

impl BaseAir<Val> for AluTable {
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

impl<AB: InteractionBuilder<F = Val>> Air<AB> for AluTable {
    fn eval(&self, bld: &mut AB) {
        let main = bld.main().current_slice().to_vec();
        let prep = bld.preprocessed().current_slice().to_vec();
        let w = AB::Expr::from(w());
        for (v, p) in main
            .chunks_exact(MAIN_PER_LANE)
            .zip(prep.chunks_exact(PREP_PER_LANE))
        {
            let a = &v[0..4];
            let b = &v[4..8];
            let c = &v[8..12];
            let out = &v[12..16];
            let [m, x, y, z] = [0, 1, 2, 3].map(|i| -> AB::Expr { p[prep::COEFFS + i].into() });
            for k in 0..4 {
                // (a*b)_k in F[X]/(X^4 - W).
                let mut ab: AB::Expr = AB::Expr::default();
                for (i, &ai) in a.iter().enumerate() {
                    for (j, &bj) in b.iter().enumerate() {
                        if i + j == k {
                            ab += ai.into() * bj;
                        } else if i + j == k + 4 {
                            ab += w.clone() * ai * bj;
                        }
                    }
                }
                let rhs = m.clone() * ab + x.clone() * a[k] + y.clone() * b[k] + z.clone() * c[k];
                bld.assert_eq(out[k], rhs);
            }
            let limbs = |s: &[AB::Var]| [s[0], s[1], s[2], s[3]].map(Into::into);
            for (addr, cnt, s) in [
                (prep::ADDR_A, prep::CNT_A, a),
                (prep::ADDR_B, prep::CNT_B, b),
                (prep::ADDR_C, prep::CNT_C, c),
            ] {
                bld.push_interaction(
                    MEMORY_BUS,
                    cell(p[addr].into(), limbs(s)),
                    Count::bounded(-AB::Expr::from(p[cnt]), 1),
                );
            }
            // Sends `out` with its read count, or receives it once (-1) for an assert. The
            // declared weight 1 bounds the receive side (what the multiplicity-height
            // check is for); a write's count is its number of reads, each of which is a
            // weighted receive elsewhere. Every count is preprocessed: the prover chooses
            // none of them.
            bld.push_interaction(
                MEMORY_BUS,
                cell(p[prep::ADDR_OUT].into(), limbs(out)),
                Count::bounded(p[prep::CNT_OUT].into(), 1),
            );
        }
    }
}

impl StarkAir for AluTable {
    fn name(&self) -> String {
        "rec_alu".into()
    }
}
