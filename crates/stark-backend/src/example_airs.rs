//! Small AIRs that exercise every feature of the backend (public values, buses,
//! preprocessed columns), with their trace generators. Tests, benches and docs use them.

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use crate::air::StarkAir;
use crate::config::Val;

/// Name of the bus [`RangeSendAir`] and [`RangeTableAir`] talk on.
pub const RANGE_BUS: &str = "range8";

/// Fibonacci: columns (a, b); a' = b, b' = a + b. Public values: a_0, b_0, b_last.
#[derive(Clone, Copy, Debug, Default)]
pub struct FibonacciAir;

impl BaseAir<Val> for FibonacciAir {
    fn width(&self) -> usize {
        2
    }
    fn num_public_values(&self) -> usize {
        3
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for FibonacciAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (a, b) = (main.current_slice()[0], main.current_slice()[1]);
        let (a_next, b_next) = (main.next_slice()[0], main.next_slice()[1]);
        let pv = builder.public_values();
        let (a0, b0, last): (AB::Expr, AB::Expr, AB::Expr) =
            (pv[0].into(), pv[1].into(), pv[2].into());
        builder.when_first_row().assert_eq(a, a0);
        builder.when_first_row().assert_eq(b, b0);
        builder.when_transition().assert_eq(a_next, b);
        builder.when_transition().assert_eq(b_next, a + b);
        builder.when_last_row().assert_eq(b, last);
    }
}

impl StarkAir for FibonacciAir {
    fn name(&self) -> String {
        "fibonacci".into()
    }
}

impl FibonacciAir {
    /// Trace of `height` rows starting at (a0, b0), and its public values.
    pub fn trace(a0: u32, b0: u32, height: usize) -> (RowMajorMatrix<Val>, Vec<Val>) {
        let mut values = Vec::with_capacity(2 * height);
        let (mut a, mut b) = (Val::from_u32(a0), Val::from_u32(b0));
        for _ in 0..height {
            values.extend([a, b]);
            (a, b) = (b, a + b);
        }
        let last = values[2 * height - 1];
        (
            RowMajorMatrix::new(values, 2),
            vec![Val::from_u32(a0), Val::from_u32(b0), last],
        )
    }
}

/// Sends each active row's byte `x` on [`RANGE_BUS`]; columns (x, active), active boolean.
/// A degree-2 "work" constraint on extra columns makes the AIR non-trivial to prove.
#[derive(Clone, Copy, Debug)]
pub struct RangeSendAir {
    /// Extra columns c_0..c_k with c_{i+1} = c_i^2 + x (exercise the quotient).
    pub extra_columns: usize,
}

impl BaseAir<Val> for RangeSendAir {
    fn width(&self) -> usize {
        2 + self.extra_columns
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for RangeSendAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let row = main.current_slice();
        let (x, active) = (row[0], row[1]);
        builder.assert_bool(active);
        for i in 0..self.extra_columns.saturating_sub(1) {
            let (c, c_next) = (row[2 + i], row[3 + i]);
            builder.assert_eq(c_next, c * c + x);
        }
        builder.push_interaction(RANGE_BUS, [x], Count::bounded(active.into(), 1));
    }
}

impl StarkAir for RangeSendAir {
    fn name(&self) -> String {
        "range_send".into()
    }
}

impl RangeSendAir {
    /// `height` rows; row i sends byte `(i * 7 + seed) % 256` when `i % 3 != 2`.
    /// Returns the trace and the multiplicity each byte is sent with.
    pub fn trace(&self, height: usize, seed: u32) -> (RowMajorMatrix<Val>, Vec<u32>) {
        let w = self.width();
        let mut values = Val::zero_vec(w * height);
        let mut counts = vec![0u32; 256];
        for (i, row) in values.chunks_exact_mut(w).enumerate() {
            let x = (i as u32).wrapping_mul(7).wrapping_add(seed) % 256;
            let active = i % 3 != 2;
            row[0] = Val::from_u32(x);
            row[1] = Val::from_bool(active);
            if w > 2 {
                row[2] = Val::from_u32(i as u32);
                for j in 3..w {
                    row[j] = row[j - 1] * row[j - 1] + row[0];
                }
            }
            if active {
                counts[x as usize] += 1;
            }
        }
        (RowMajorMatrix::new(values, w), counts)
    }
}

/// The byte table: preprocessed column v = 0..255; main column `mult` receives (v)
/// `mult` times on [`RANGE_BUS`]. 256 rows.
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeTableAir;

impl BaseAir<Val> for RangeTableAir {
    fn width(&self) -> usize {
        1
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some(RowMajorMatrix::new(
            (0..256u32).map(Val::from_u32).collect(),
            1,
        ))
    }
    fn preprocessed_width(&self) -> usize {
        1
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for RangeTableAir {
    fn eval(&self, builder: &mut AB) {
        let v = builder.preprocessed().current_slice()[0];
        // The preprocessed column counts up by one per row (checked, so the table is
        // what its commitment says even to a reader of the constraints alone).
        let v_next = builder.preprocessed().next_slice()[0];
        builder
            .when_transition()
            .assert_eq(v_next, v + AB::Expr::ONE);
        let mult = builder.main().current_slice()[0];
        builder.push_interaction(RANGE_BUS, [v], Count::provided(-mult.into()));
    }
}

impl StarkAir for RangeTableAir {
    fn name(&self) -> String {
        "range_table".into()
    }
}

impl RangeTableAir {
    pub const HEIGHT: usize = 256;

    /// The multiplicity column for the given per-byte counts.
    pub fn trace(counts: &[u32]) -> RowMajorMatrix<Val> {
        RowMajorMatrix::new(counts.iter().map(|&c| Val::from_u32(c)).collect(), 1)
    }
}

/// Reads a field element as u32 (canonical form), for test assertions.
pub fn as_u32(v: Val) -> u32 {
    v.as_canonical_u32()
}
