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

use starkscope_stark_backend::p3::{
    Air, BaseAir, PrimeCharacteristicRing, PrimeField32, RowMajorMatrix, WindowAccess,
};
pub use starkscope_stark_backend::poseidon2::permute;
use starkscope_stark_backend::poseidon2::{self, RATE};
pub(crate) use starkscope_stark_backend::poseidon2::{Cols, NUM_COLS as P2_COLS, WIDTH};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::buses;

/// Elements of a digest (a Merkle node, the output digest).
pub const DIGEST: usize = RATE;

pub(crate) const MULT_PERMUTE: usize = P2_COLS;
pub(crate) const MULT_COMPRESS: usize = P2_COLS + 1;
/// Committed width: the permutation's columns, the two multiplicities and zero columns
/// ([`super::cols::padded`]).
pub(crate) const P2_CHIP_WIDTH: usize = super::cols::padded(P2_COLS + 2);

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
        P2_CHIP_WIDTH
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

        poseidon2::eval(b, cols);

        let input: Vec<AB::Expr> = cols.inputs.iter().map(|&v| v.into()).collect();
        let output = poseidon2::output(cols);
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
        let p2 = poseidon2::generate_rows(inputs);
        let w = P2_CHIP_WIDTH;
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

#[cfg(feature = "forge")]
pub(crate) use starkscope_stark_backend::poseidon2::fill_row;

/// Constraints of one Poseidon2 row, in `eval` order.
#[cfg(feature = "forge")]
pub(crate) const ROW_CONSTRAINTS: usize = poseidon2::NUM_CONSTRAINTS;

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
        assert_eq!(poseidon2::output(row), permute(input));
    }
}
