//! The poseidon2 chip: one Poseidon2-16 permutation per row, with the executor's constants
//! (`default_babybear_poseidon2_16()`).
//!
//! The row is p3-poseidon2-air's column layout (its trace generation fills it) followed by
//! two multiplicities. The constraint evaluation is ours (p3-poseidon2-air keeps its own
//! evaluator and its round constants crate-private): it follows the same rounds with the
//! S-box x^7 computed through one committed x^3, so every constraint has degree 3.
//! A row provides `(input, output)` on [`buses::PERMUTE`] and `(input, output[..8])` on
//! [`buses::COMPRESS`].

use std::borrow::Borrow;
use std::collections::HashMap;

use p3_baby_bear::{
    GenericPoseidon2LinearLayersBabyBear, BABYBEAR_POSEIDON2_HALF_FULL_ROUNDS as HALF_FULL,
    BABYBEAR_POSEIDON2_PARTIAL_ROUNDS_16 as PARTIAL,
    BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL as RC_END,
    BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL as RC_BEGIN,
    BABYBEAR_POSEIDON2_RC_16_INTERNAL as RC_PARTIAL,
};
use p3_poseidon2::GenericPoseidon2LinearLayers;
use p3_poseidon2_air::{
    generate_trace_rows, num_cols, FullRound, PartialRound, Poseidon2Cols, RoundConstants, SBox,
};
use p3_symmetric::Permutation;
use starkscope_stark_backend::p3::{
    Air, BaseAir, PrimeCharacteristicRing, PrimeField32, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::buses;

pub(crate) const WIDTH: usize = 16;
const SBOX_DEGREE: u64 = 7;
const SBOX_REGISTERS: usize = 1;

/// Elements of a digest (a Merkle node, the output digest).
pub const DIGEST: usize = 8;

pub(crate) type Cols<T> = Poseidon2Cols<T, WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL, PARTIAL>;
pub(crate) const P2_COLS: usize =
    num_cols::<WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL, PARTIAL>();
pub(crate) const MULT_PERMUTE: usize = P2_COLS;
pub(crate) const MULT_COMPRESS: usize = P2_COLS + 1;
pub(crate) type Linear = GenericPoseidon2LinearLayersBabyBear;

/// The permutation itself, as the executor runs it.
pub fn permute(input: [Val; WIDTH]) -> [Val; WIDTH] {
    thread_local! {
        static PERM: p3_baby_bear::Poseidon2BabyBear<16> = p3_baby_bear::default_babybear_poseidon2_16();
    }
    PERM.with(|p| p.permute(input))
}

/// 2-to-1 compression: the permutation of `left || right`, truncated to 8 elements.
pub fn compress(input: [Val; WIDTH]) -> [Val; DIGEST] {
    let out = permute(input);
    std::array::from_fn(|i| out[i])
}

/// Permutation requests gathered from the other chips' traces.
#[derive(Debug, Default)]
pub(crate) struct Poseidon2Requests {
    /// input -> (full-permutation lookups, compression lookups); one row per distinct input.
    counts: HashMap<[u32; WIDTH], (u32, u32)>,
}

impl Poseidon2Requests {
    pub(crate) fn permute(&mut self, input: [Val; WIDTH]) {
        self.counts.entry(key(input)).or_default().0 += 1;
    }
    pub(crate) fn compress(&mut self, input: [Val; WIDTH]) {
        self.counts.entry(key(input)).or_default().1 += 1;
    }
    pub(crate) fn rows(&self) -> usize {
        self.counts.len()
    }
}

fn key(input: [Val; WIDTH]) -> [u32; WIDTH] {
    input.map(|x| x.as_canonical_u32())
}

/// The poseidon2 chip.
#[derive(Clone, Copy, Debug, Default)]
pub struct Poseidon2Chip;

impl BaseAir<Val> for Poseidon2Chip {
    fn width(&self) -> usize {
        P2_COLS + 2
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Poseidon2Chip {
    fn eval(&self, b: &mut AB) {
        let main = b.main();
        let row: Vec<AB::Var> = main.current_slice().to_vec();
        let cols: &Cols<AB::Var> = row[..P2_COLS].borrow();

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

        let input: Vec<AB::Expr> = cols.inputs.iter().map(|&v| v.into()).collect();
        let output = &cols.ending_full_rounds[HALF_FULL - 1].post;
        let permute: Vec<AB::Expr> = input
            .iter()
            .cloned()
            .chain(output.iter().map(|&v| v.into()))
            .collect();
        let compress: Vec<AB::Expr> = input
            .into_iter()
            .chain(output[..DIGEST].iter().map(|&v| v.into()))
            .collect();
        b.push_interaction(
            buses::PERMUTE,
            permute,
            Count::provided(-row[MULT_PERMUTE].into()),
        );
        b.push_interaction(
            buses::COMPRESS,
            compress,
            Count::provided(-row[MULT_COMPRESS].into()),
        );
    }
}

fn sbox<AB: InteractionBuilder<F = Val>>(
    b: &mut AB,
    x: AB::Expr,
    regs: &SBox<AB::Var, SBOX_DEGREE, SBOX_REGISTERS>,
) -> AB::Expr {
    let x3: AB::Expr = regs.0[0].into();
    b.assert_eq(x3.clone(), x.clone() * x.clone() * x.clone());
    x3.clone() * x3 * x
}

fn full_round<AB: InteractionBuilder<F = Val>>(
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

fn partial_round<AB: InteractionBuilder<F = Val>>(
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

impl StarkAir for Poseidon2Chip {
    fn name(&self) -> String {
        "poseidon2".into()
    }
}

impl Poseidon2Chip {
    /// One row per distinct requested input (sorted, so traces are deterministic), padded
    /// with permutations of zero that nobody looks up.
    pub(crate) fn generate(&self, requests: &Poseidon2Requests) -> RowMajorMatrix<Val> {
        let mut rows: Vec<([u32; WIDTH], (u32, u32))> =
            requests.counts.iter().map(|(k, v)| (*k, *v)).collect();
        rows.sort_unstable();
        let height = rows.len().next_power_of_two().max(2);
        let mut inputs: Vec<[Val; WIDTH]> =
            rows.iter().map(|(k, _)| k.map(Val::from_u32)).collect();
        inputs.resize(height, [Val::ZERO; WIDTH]);
        let constants =
            RoundConstants::<Val, WIDTH, HALF_FULL, PARTIAL>::new(RC_BEGIN, RC_PARTIAL, RC_END);
        let p2 = generate_trace_rows::<
            Val,
            Linear,
            WIDTH,
            SBOX_DEGREE,
            SBOX_REGISTERS,
            HALF_FULL,
            PARTIAL,
        >(inputs, &constants, 0);
        let w = P2_COLS + 2;
        let mut values = Val::zero_vec(w * height);
        for (i, (dst, src)) in values
            .chunks_exact_mut(w)
            .zip(p2.values.chunks_exact(P2_COLS))
            .enumerate()
        {
            dst[..P2_COLS].copy_from_slice(src);
            if let Some((_, (perm, comp))) = rows.get(i) {
                dst[MULT_PERMUTE] = Val::from_u32(*perm);
                dst[MULT_COMPRESS] = Val::from_u32(*comp);
            }
        }
        RowMajorMatrix::new(values, w)
    }
}

/// Fills one row's Poseidon2 columns from `inputs` natively, in the order `eval` checks
/// them. With `lie = Some((k, delta))`, the committed value that constraint `k` checks
/// (an S-box register or a round's output) is off by `delta`, and every later round is
/// computed from the wrong value: the row then fails exactly constraint `k` and provides
/// a wrong permutation. Used to build lying witnesses in soundness tests.
#[cfg(feature = "forge")]
pub(crate) fn fill_row(cols: &mut Cols<Val>, lie: Option<(usize, Val)>) {
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

/// Constraints of one Poseidon2 row, in `eval` order.
#[cfg(feature = "forge")]
pub(crate) const ROW_CONSTRAINTS: usize = 2 * HALF_FULL * 2 * WIDTH + 2 * PARTIAL;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_output_is_the_executors_permutation() {
        let mut req = Poseidon2Requests::default();
        let input: [Val; WIDTH] = std::array::from_fn(|i| Val::from_usize(i * 3 + 1));
        req.permute(input);
        let trace = Poseidon2Chip.generate(&req);
        let row: &Cols<Val> = trace.values[..P2_COLS].borrow();
        assert_eq!(row.ending_full_rounds[HALF_FULL - 1].post, permute(input));
    }

    #[cfg(feature = "forge")]
    #[test]
    fn native_fill_matches_p3_trace_generation() {
        use std::borrow::BorrowMut;
        let mut req = Poseidon2Requests::default();
        let input: [Val; WIDTH] = std::array::from_fn(|i| Val::from_usize(i * 7 + 2));
        req.permute(input);
        let trace = Poseidon2Chip.generate(&req);
        let mut row = trace.values[..P2_COLS].to_vec();
        let expected = row.clone();
        row[WIDTH..].iter_mut().for_each(|v| *v = Val::ZERO);
        let cols: &mut Cols<Val> = row.as_mut_slice().borrow_mut();
        fill_row(cols, None);
        assert_eq!(row, expected);
    }
}
