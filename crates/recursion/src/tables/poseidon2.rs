//! POSEIDON2: one Poseidon2-16 permutation per row, the backend's own (same constants and
//! rounds as its Merkle hashing and challenger).
//!
//! Main: the permutation's columns ([`starkscope_stark_backend::poseidon2`]), then the 16
//! operands and a direction bit. The permutation's input is the operands, with the two
//! halves swapped when `dir` is 1 (a Merkle step), plus `tag` on lane 8 (the duplex
//! challenger's absorbed count). The lanes come in four groups of four, one memory cell
//! each, so a row's input and output are four bus messages each. Each operand group is,
//! by its preprocessed mode:
//! - read from the bus as one cell (`read`),
//! - chained: equal to the same group of the previous row's output (`chain`; a sponge's
//!   capacity, a running Merkle digest, a challenger's state), or
//! - zero (neither).
//!
//! Each output group is sent with its read count. Preprocessed: per group `in_addr`,
//! `read`, `chain`, `out_addr`, `out_mult`; then `dir_addr`, `dir_read`, `tag`.

use std::borrow::Borrow;

use starkscope_stark_backend::p3::{
    Air, AirBuilder, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::poseidon2::{self as p2, Cols, NUM_COLS, RATE, WIDTH};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::{base_cell, cell, MEMORY_BUS};

/// Lane groups (cells) per permutation.
pub const GROUPS: usize = WIDTH / 4;

pub mod main {
    use super::{NUM_COLS, WIDTH};
    pub const OPERANDS: usize = NUM_COLS;
    pub const DIR: usize = NUM_COLS + WIDTH;
    pub const WIDTH_: usize = NUM_COLS + WIDTH + 1;
}

pub mod prep {
    use super::GROUPS;
    pub const IN_ADDR: usize = 0;
    pub const READ: usize = GROUPS;
    pub const CHAIN: usize = 2 * GROUPS;
    pub const OUT_ADDR: usize = 3 * GROUPS;
    pub const OUT_MULT: usize = 4 * GROUPS;
    pub const DIR_ADDR: usize = 5 * GROUPS;
    pub const DIR_READ: usize = 5 * GROUPS + 1;
    pub const TAG: usize = 5 * GROUPS + 2;
    pub const WIDTH_: usize = 5 * GROUPS + 3;
}

pub const MAIN_WIDTH: usize = main::WIDTH_;
pub const PREP_WIDTH: usize = prep::WIDTH_;

#[derive(Clone, Debug)]
pub struct Poseidon2Table {
    pub(crate) program: RowMajorMatrix<Val>,
}

impl BaseAir<Val> for Poseidon2Table {
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
        (main::OPERANDS..main::OPERANDS + WIDTH).collect()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        (prep::CHAIN..prep::CHAIN + GROUPS).collect()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Poseidon2Table {
    fn eval(&self, b: &mut AB) {
        let local = b.main().current_slice().to_vec();
        let next = b.main().next_slice().to_vec();
        let p = b.preprocessed().current_slice().to_vec();
        let p_next = b.preprocessed().next_slice().to_vec();
        let cols: &Cols<AB::Var> = local[..NUM_COLS].borrow();
        p2::eval(b, cols);

        let op = &local[main::OPERANDS..main::OPERANDS + WIDTH];
        let dir = local[main::DIR];
        b.assert_bool(dir);
        b.assert_zero((AB::Expr::ONE - p[prep::DIR_READ]) * dir);
        for i in 0..RATE {
            let (l, r): (AB::Expr, AB::Expr) = (op[i].into(), op[i + RATE].into());
            let swap: AB::Expr = dir.into() * (r.clone() - l.clone());
            let tag: AB::Expr = tag_on::<AB>(i + RATE, &p);
            b.assert_eq(cols.inputs[i], l + swap.clone());
            b.assert_eq(cols.inputs[i + RATE], r - swap + tag);
        }
        for (i, &lane) in op.iter().enumerate() {
            let g = i / 4;
            let (read, chain) = (p[prep::READ + g], p[prep::CHAIN + g]);
            b.assert_zero((AB::Expr::ONE - read - chain) * lane);
        }
        let out = p2::output(cols);
        for i in 0..WIDTH {
            let chain_next = p_next[prep::CHAIN + i / 4];
            b.when_transition()
                .assert_zero(chain_next * (next[main::OPERANDS + i].into() - out[i].into()));
        }

        let group = |s: &[AB::Var], g: usize| -> [AB::Expr; 4] {
            core::array::from_fn(|j| s[4 * g + j].into())
        };
        for g in 0..GROUPS {
            b.push_interaction(
                MEMORY_BUS,
                cell(p[prep::IN_ADDR + g].into(), group(op, g)),
                Count::bounded(-AB::Expr::from(p[prep::READ + g]), 1),
            );
        }
        for g in 0..GROUPS {
            b.push_interaction(
                MEMORY_BUS,
                cell(p[prep::OUT_ADDR + g].into(), group(&out, g)),
                Count::provided(p[prep::OUT_MULT + g].into()),
            );
        }
        b.push_interaction(
            MEMORY_BUS,
            base_cell(p[prep::DIR_ADDR].into(), dir.into()),
            Count::bounded(-AB::Expr::from(p[prep::DIR_READ]), 1),
        );
    }
}

fn tag_on<AB: AirBuilder>(lane: usize, p: &[AB::Var]) -> AB::Expr {
    if lane == RATE {
        p[prep::TAG].into()
    } else {
        AB::Expr::ZERO
    }
}

impl StarkAir for Poseidon2Table {
    fn name(&self) -> String {
        "rec_poseidon2".into()
    }
}
