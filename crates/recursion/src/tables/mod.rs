//! The circuit's tables: one `StarkAir` per kind of op, joined by one write-once memory
//! bus.
//!
//! Every table row (or lane of a row) that writes a cell *sends* `(addr, v0, v1, v2, v3)`
//! on [`MEMORY_BUS`] with the cell's read count; every read *receives* the same tuple
//! once. Addresses, read counts and op coefficients are preprocessed columns: the
//! preprocessed traces are the program, and the verifying key commits to them. Padding
//! rows have all-zero preprocessed columns, so they neither send nor receive.

pub mod alu;
pub mod bits;
pub mod consts;
pub mod hints;
pub mod horner;
pub mod poseidon2;
pub mod public;

use starkscope_stark_backend::p3::{PrimeCharacteristicRing, RowMajorMatrix};
use starkscope_stark_backend::Val;

/// The memory bus all tables talk on.
pub const MEMORY_BUS: &str = "memory";

/// The tuple a cell travels as: its address and four limbs.
pub(crate) fn cell<E: Clone>(addr: E, limbs: [E; 4]) -> [E; 5] {
    let [a, b, c, d] = limbs;
    [addr, a, b, c, d]
}

/// A base value's tuple: limbs 1..3 are zero, so a base-typed reader forces them.
pub(crate) fn base_cell<E: PrimeCharacteristicRing + Clone>(addr: E, v: E) -> [E; 5] {
    [addr, v, E::ZERO, E::ZERO, E::ZERO]
}

/// Rows of a table holding `n` entries at `per_row` per row: a power of two, at least 2.
pub(crate) fn height(n: usize, per_row: usize) -> usize {
    n.div_ceil(per_row).next_power_of_two().max(2)
}

/// An all-zero matrix of `height` rows, `width` wide.
pub(crate) fn zeros(width: usize, height: usize) -> RowMajorMatrix<Val> {
    RowMajorMatrix::new(Val::zero_vec(width * height), width)
}

/// The field element of a (possibly negative) small count.
pub(crate) fn signed(n: i64) -> Val {
    if n >= 0 {
        Val::from_u64(n as u64)
    } else {
        -Val::from_u64(n.unsigned_abs())
    }
}
