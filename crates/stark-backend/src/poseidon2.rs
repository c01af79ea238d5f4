//! The backend's hash permutation as AIR columns: one Poseidon2-16 permutation per row,
//! with exactly the constants of [`crate::config::Perm`] (`default_babybear_poseidon2_16()`).
//!
//! The columns are p3-poseidon2-air's layout (its trace generation fills them). The
//! constraint evaluation is ours, because p3-poseidon2-air keeps its evaluator private: it
//! follows the same rounds with the S-box x^7 computed through one committed x^3, so every
//! constraint has degree 3. Chips that hash (the VM's poseidon2 chip, the recursion
//! circuit's Poseidon2 table) put these columns first in their rows and add their own
//! interactions around [`eval`].

use p3_air::AirBuilder;
use p3_baby_bear::{
    GenericPoseidon2LinearLayersBabyBear, BABYBEAR_POSEIDON2_HALF_FULL_ROUNDS as HALF_FULL,
    BABYBEAR_POSEIDON2_PARTIAL_ROUNDS_16 as PARTIAL,
    BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL as RC_END,
    BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL as RC_BEGIN,
    BABYBEAR_POSEIDON2_RC_16_INTERNAL as RC_PARTIAL,
};
use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;
use p3_poseidon2::GenericPoseidon2LinearLayers;
use p3_poseidon2_air::{
    generate_trace_rows, num_cols, FullRound, PartialRound, Poseidon2Cols, RoundConstants, SBox,
};
use p3_symmetric::Permutation;

use crate::config::Val;

/// State width of the permutation.
pub const WIDTH: usize = 16;
/// Sponge rate (and digest length) of the backend's hashes.
pub const RATE: usize = 8;
const SBOX_DEGREE: u64 = 7;
const SBOX_REGISTERS: usize = 1;

/// The columns of one permutation.
pub type Cols<T> = Poseidon2Cols<T, WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL, PARTIAL>;
/// How many columns one permutation takes.
pub const NUM_COLS: usize = num_cols::<WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL, PARTIAL>();
/// Constraints [`eval`] emits per row, in order.
pub const NUM_CONSTRAINTS: usize = 2 * HALF_FULL * 2 * WIDTH + 2 * PARTIAL;

type Linear = GenericPoseidon2LinearLayersBabyBear;

/// The permutation itself, natively.
pub fn permute(input: [Val; WIDTH]) -> [Val; WIDTH] {
    thread_local! {
        static PERM: crate::config::Perm = p3_baby_bear::default_babybear_poseidon2_16();
    }
    PERM.with(|p| p.permute(input))
}

/// The permutation's output columns in a row.
pub fn output<T: Copy>(cols: &Cols<T>) -> [T; WIDTH] {
    cols.ending_full_rounds[HALF_FULL - 1].post
}

/// Constrains `cols` to be one permutation of `cols.inputs`; its output is [`output`].
pub fn eval<AB: AirBuilder<F = Val>>(b: &mut AB, cols: &Cols<AB::Var>) {
    let mut state: [AB::Expr; WIDTH] = cols.inputs.map(Into::into);
    Linear::external_linear_layer(&mut state);
    for (round, rc) in cols.beginning_full_rounds.iter().zip(&RC_BEGIN) {
        full_round(b, &mut state, round, rc);
    }
    for (round, rc) in cols.partial_rounds.iter().zip(&RC_PARTIAL) {
        partial_round(b, &mut state, round, *rc);
    }
    for (round, rc) in cols.ending_full_rounds.iter().zip(&RC_END) {
        full_round(b, &mut state, round, rc);
    }
}

fn sbox<AB: AirBuilder<F = Val>>(
    b: &mut AB,
    x: AB::Expr,
    regs: &SBox<AB::Var, SBOX_DEGREE, SBOX_REGISTERS>,
) -> AB::Expr {
    let x3: AB::Expr = regs.0[0].into();
    b.assert_eq(x3.clone(), x.clone() * x.clone() * x.clone());
    x3.clone() * x3 * x
}

fn full_round<AB: AirBuilder<F = Val>>(
    b: &mut AB,
    state: &mut [AB::Expr; WIDTH],
    round: &FullRound<AB::Var, WIDTH, SBOX_DEGREE, SBOX_REGISTERS>,
    rc: &[Val; WIDTH],
) {
    for i in 0..WIDTH {
        let x = state[i].clone() + AB::Expr::from(rc[i]);
        state[i] = sbox(b, x, &round.sbox[i]);
    }
    Linear::external_linear_layer(state);
    for (s, &post) in state.iter_mut().zip(&round.post) {
        b.assert_eq(s.clone(), post);
        *s = post.into();
    }
}

fn partial_round<AB: AirBuilder<F = Val>>(
    b: &mut AB,
    state: &mut [AB::Expr; WIDTH],
    round: &PartialRound<AB::Var, SBOX_DEGREE, SBOX_REGISTERS>,
    rc: Val,
) {
    let x = state[0].clone() + AB::Expr::from(rc);
    let y = sbox(b, x, &round.sbox);
    b.assert_eq(y, round.post_sbox);
    state[0] = round.post_sbox.into();
    Linear::internal_linear_layer(state);
}

/// The permutation columns of one row per input ([`NUM_COLS`] wide), by p3-poseidon2-air's
/// trace generation (vectorised). `inputs.len()` must be a power of two.
pub fn generate_rows(inputs: Vec<[Val; WIDTH]>) -> RowMajorMatrix<Val> {
    let constants =
        RoundConstants::<Val, WIDTH, HALF_FULL, PARTIAL>::new(RC_BEGIN, RC_PARTIAL, RC_END);
    generate_trace_rows::<Val, Linear, WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL, PARTIAL>(
        inputs, &constants, 0,
    )
}

/// Fills one row's columns from `cols.inputs` natively, in the order [`eval`] checks them.
/// With `lie = Some((k, delta))`, the committed value that constraint `k` checks (an S-box
/// register or a round's output) is off by `delta`, and every later round is computed from
/// the wrong value: the row then fails exactly constraint `k` and states a wrong output.
/// For building lying witnesses in soundness tests.
pub fn fill_row(cols: &mut Cols<Val>, lie: Option<(usize, Val)>) {
    let mut k = 0usize;
    let mut committed = |value: Val| -> Val {
        let v = match lie {
            Some((target, delta)) if target == k => value + delta,
            _ => value,
        };
        k += 1;
        v
    };
    let mut state: [Val; WIDTH] = cols.inputs;
    Linear::external_linear_layer(&mut state);
    let full = |round: &mut FullRound<Val, WIDTH, SBOX_DEGREE, SBOX_REGISTERS>,
                state: &mut [Val; WIDTH],
                rc: &[Val; WIDTH],
                committed: &mut dyn FnMut(Val) -> Val| {
        for i in 0..WIDTH {
            let x = state[i] + rc[i];
            let x3 = committed(x.cube());
            round.sbox[i].0[0] = x3;
            state[i] = x3 * x3 * x;
        }
        Linear::external_linear_layer(state);
        for (post, s) in round.post.iter_mut().zip(state.iter_mut()) {
            *post = committed(*s);
            *s = *post;
        }
    };
    for (round, rc) in cols.beginning_full_rounds.iter_mut().zip(&RC_BEGIN) {
        full(round, &mut state, rc, &mut committed);
    }
    for (round, &rc) in cols.partial_rounds.iter_mut().zip(&RC_PARTIAL) {
        let x = state[0] + rc;
        let x3 = committed(x.cube());
        round.sbox.0[0] = x3;
        round.post_sbox = committed(x3 * x3 * x);
        state[0] = round.post_sbox;
        Linear::internal_linear_layer(&mut state);
    }
    for (round, rc) in cols.ending_full_rounds.iter_mut().zip(&RC_END) {
        full(round, &mut state, rc, &mut committed);
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::{Borrow, BorrowMut};

    use super::*;

    #[test]
    fn generated_rows_end_in_the_permutation_and_match_the_native_fill() {
        let input: [Val; WIDTH] = core::array::from_fn(|i| Val::from_usize(i * 7 + 2));
        let trace = generate_rows(vec![input, [Val::ZERO; WIDTH]]);
        let row = trace.values[..NUM_COLS].to_vec();
        let cols: &Cols<Val> = row.as_slice().borrow();
        assert_eq!(output(cols), permute(input));

        let mut refilled = row.clone();
        refilled[WIDTH..].iter_mut().for_each(|v| *v = Val::ZERO);
        let cols: &mut Cols<Val> = refilled.as_mut_slice().borrow_mut();
        fill_row(cols, None);
        assert_eq!(refilled, row);
    }
}
