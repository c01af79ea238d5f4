//! HORNER: the reduced-opening accumulation an in-circuit FRI verifier runs over every
//! opened column, up to [`STEPS`] steps a row: `acc <- acc * alpha + x_k` for base values
//! `x_k`, in the extension field.
//!
//! Main: `acc_in` (4 limbs), `alpha` (4), `x_0..x_7` (two cells of four values), then
//! `acc_1..acc_8` (4 limbs each; `acc_8` is the row's result). Constraints: `acc_{k+1} =
//! acc_k + active_k (acc_k alpha + x_k - acc_k)` (an inactive step copies), `acc_in` is zero
//! unless read or chained, `alpha` is zero unless read, and a chained `acc_in` equals the
//! previous row's result. Preprocessed: `acc_in`'s address, read and chain flags; `alpha`'s
//! address and read flag; the two value cells' addresses and read flags; each step's
//! active flag; the result's address and read count.

use starkscope_stark_backend::p3::{
    Air, AirBuilder, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::{cell, MEMORY_BUS};

/// Steps per row.
pub const STEPS: usize = 8;

pub mod main {
    use super::STEPS;
    pub const ACC_IN: usize = 0;
    pub const ALPHA: usize = 4;
    pub const X: usize = 8;
    /// `acc_{k+1}` starts at `ACC + 4k`.
    pub const ACC: usize = 8 + STEPS;
    pub const WIDTH: usize = ACC + 4 * STEPS;
}

pub mod prep {
    use super::STEPS;
    pub const ACC_ADDR: usize = 0;
    pub const ACC_READ: usize = 1;
    pub const ACC_CHAIN: usize = 2;
    pub const ALPHA_ADDR: usize = 3;
    pub const ALPHA_READ: usize = 4;
    /// Address of value cell `q` (values `4q..4q+4`).
    pub const X_ADDR: usize = 5;
    pub const X_READ: usize = 7;
    pub const ACTIVE: usize = 9;
    pub const OUT_ADDR: usize = 9 + STEPS;
    pub const OUT_MULT: usize = 10 + STEPS;
    pub const WIDTH: usize = 11 + STEPS;
}

pub const MAIN_WIDTH: usize = main::WIDTH;
pub const PREP_WIDTH: usize = prep::WIDTH;

#[derive(Clone, Debug)]
pub struct HornerTable {
    pub(crate) program: RowMajorMatrix<Val>,
}

impl BaseAir<Val> for HornerTable {
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
        (main::ACC_IN..main::ACC_IN + 4).collect()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        vec![prep::ACC_CHAIN]
    }
}

/// `(a * b)_k` in `F[X]/(X^4 - W)` for 4-limb expressions.
fn ext_mul<E: PrimeCharacteristicRing + Clone>(a: &[E; 4], b: &[E; 4], w: &E) -> [E; 4] {
    core::array::from_fn(|k| {
        let mut s = E::ZERO;
        for (i, ai) in a.iter().enumerate() {
            for (j, bj) in b.iter().enumerate() {
                if i + j == k {
                    s += ai.clone() * bj.clone();
                } else if i + j == k + 4 {
                    s += w.clone() * ai.clone() * bj.clone();
                }
            }
        }
        s
    })
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for HornerTable {
    fn eval(&self, b: &mut AB) {
        let m = b.main().current_slice().to_vec();
        let next = b.main().next_slice().to_vec();
        let p = b.preprocessed().current_slice().to_vec();
        let p_next = b.preprocessed().next_slice().to_vec();
        let ext = |s: &[AB::Var], at: usize| -> [AB::Expr; 4] {
            core::array::from_fn(|j| s[at + j].into())
        };
        let w = AB::Expr::from(super::alu::w());
        let alpha = ext(&m, main::ALPHA);
        let mut acc = ext(&m, main::ACC_IN);
        for k in 0..STEPS {
            let active: AB::Expr = p[prep::ACTIVE + k].into();
            let prod = ext_mul(&acc, &alpha, &w);
            let x: AB::Expr = m[main::X + k].into();
            let new = ext(&m, main::ACC + 4 * k);
            for j in 0..4 {
                let step = prod[j].clone() - acc[j].clone()
                    + if j == 0 { x.clone() } else { AB::Expr::ZERO };
                b.assert_eq(new[j].clone(), acc[j].clone() + active.clone() * step);
            }
            acc = new;
        }
        let (read, chain): (AB::Expr, AB::Expr) =
            (p[prep::ACC_READ].into(), p[prep::ACC_CHAIN].into());
        let acc_in = ext(&m, main::ACC_IN);
        for limb in &acc_in {
            b.assert_zero((AB::Expr::ONE - read.clone() - chain.clone()) * limb.clone());
        }
        for limb in &alpha {
            b.assert_zero((AB::Expr::ONE - p[prep::ALPHA_READ].into()) * limb.clone());
        }
        let out = ext(&m, main::ACC + 4 * (STEPS - 1));
        let chain_next: AB::Expr = p_next[prep::ACC_CHAIN].into();
        for j in 0..4 {
            b.when_transition().assert_zero(
                chain_next.clone() * (AB::Expr::from(next[main::ACC_IN + j]) - out[j].clone()),
            );
        }

        b.push_interaction(
            MEMORY_BUS,
            cell(p[prep::ACC_ADDR].into(), acc_in),
            Count::bounded(-read, 1),
        );
        b.push_interaction(
            MEMORY_BUS,
            cell(p[prep::ALPHA_ADDR].into(), alpha),
            Count::bounded(-AB::Expr::from(p[prep::ALPHA_READ]), 1),
        );
        for q in 0..STEPS / 4 {
            b.push_interaction(
                MEMORY_BUS,
                cell(p[prep::X_ADDR + q].into(), ext(&m, main::X + 4 * q)),
                Count::bounded(-AB::Expr::from(p[prep::X_READ + q]), 1),
            );
        }
        b.push_interaction(
            MEMORY_BUS,
            cell(p[prep::OUT_ADDR].into(), out),
            Count::provided(p[prep::OUT_MULT].into()),
        );
    }
}

impl StarkAir for HornerTable {
    fn name(&self) -> String {
        "rec_horner".into()
    }
}
