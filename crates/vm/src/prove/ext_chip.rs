//! The extension-field chip: one row per `eadd`/`esub`/`emul`/`einv`, over
//! F[X]/(X^4 - 11) with 4 coefficient cells per operand.
//!
//! The cpu hands the instruction over on [`buses::EXT_OP`] as `(ts, kind, a, b, c)`; this
//! chip makes its accesses (x at b..b+4, then y at c..c+4 for binary ops, then the result
//! z at a..a+4, at consecutive timestamps from ts, as the executor does) and checks
//! `z = x + y`, `x - y`, `x * y`, or `x * z = 1`.

use starkscope_stark_backend::p3::{
    Air, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::buses;
use super::cols::ColAlloc;
use super::memory::AccessCols;
use super::range::RangeCounts;
use crate::exec::Segment;
use crate::isa::Opcode;

/// X^4 = W in the extension.
const W: u32 = 11;
const D: usize = 4;

#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub(crate) add: usize,
    pub(crate) sub: usize,
    pub(crate) mul: usize,
    pub(crate) inv: usize,
    pub(crate) ts: usize,
    pub(crate) a: usize,
    pub(crate) b: usize,
    pub(crate) c: usize,
    pub(crate) x: [AccessCols; D],
    pub(crate) y: [AccessCols; D],
    pub(crate) z: [AccessCols; D],
    /// Committed width (zero columns after the `used` ones).
    pub(crate) width: usize,
    /// Columns the chip reads.
    pub(crate) used: usize,
}

impl Layout {
    fn new() -> Self {
        let mut a = ColAlloc::new();
        let acc =
            |a: &mut ColAlloc| -> [AccessCols; D] { std::array::from_fn(|_| AccessCols::alloc(a)) };
        let (add, sub, mul, inv) = (a.one(), a.one(), a.one(), a.one());
        let (ts, oa, ob, oc) = (a.one(), a.one(), a.one(), a.one());
        let (x, y, z) = (acc(&mut a), acc(&mut a), acc(&mut a));
        Layout {
            add,
            sub,
            mul,
            inv,
            ts,
            a: oa,
            b: ob,
            c: oc,
            x,
            y,
            z,
            width: a.padded_width(),
            used: a.used(),
        }
    }
}

/// The extension-field chip.
#[derive(Clone, Debug)]
pub struct ExtChip {
    layout: Layout,
}

impl Default for ExtChip {
    fn default() -> Self {
        Self {
            layout: Layout::new(),
        }
    }
}

impl ExtChip {
    /// Column indices (for building lying witnesses in soundness tests).
    #[cfg(feature = "forge")]
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }
}

impl ExtChip {
    /// Columns the chip reads (the committed width less its zero columns).
    pub(crate) fn used_width(&self) -> usize {
        self.layout.used
    }
}

impl BaseAir<Val> for ExtChip {
    fn width(&self) -> usize {
        self.layout.width
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

/// Coefficients of x * y in F[X]/(X^4 - W).
fn ext_mul<E: PrimeCharacteristicRing + Clone>(x: &[E; D], y: &[E; D]) -> [E; D] {
    let mut out: [E; D] = std::array::from_fn(|_| E::ZERO);
    for i in 0..D {
        for j in 0..D {
            let p = x[i].clone() * y[j].clone();
            if i + j < D {
                out[i + j] += p;
            } else {
                out[i + j - D] += p * E::from_u32(W);
            }
        }
    }
    out
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for ExtChip {
    fn eval(&self, b: &mut AB) {
        let l = &self.layout;
        let row: Vec<AB::Var> = b.main().current_slice().to_vec();
        let e = |i: usize| -> AB::Expr { row[i].into() };
        let c = AB::Expr::from_u32;
        let (add, sub, mul, inv) = (e(l.add), e(l.sub), e(l.mul), e(l.inv));
        for s in [&add, &sub, &mul, &inv] {
            b.assert_bool(s.clone());
        }
        let is_real = add.clone() + sub.clone() + mul.clone() + inv.clone();
        b.assert_bool(is_real.clone());
        let binary = add.clone() + sub.clone() + mul.clone();

        let kind = sub.clone() + mul.clone() * c(2) + inv.clone() * c(3);
        b.push_interaction(
            buses::EXT_OP,
            [e(l.ts), kind, e(l.a), e(l.b), e(l.c)],
            -Count::bounded(is_real.clone(), 1),
        );

        let val =
            |cols: &[AccessCols; D]| -> [AB::Expr; D] { std::array::from_fn(|i| e(cols[i].val)) };
        for i in 0..D {
            let k = c(i as u32);
            // Reads keep the value; addresses are consecutive cells from the operand.
            b.assert_zero(is_real.clone() * (e(l.x[i].addr) - e(l.b) - k.clone()));
            b.assert_zero(e(l.x[i].val) - e(l.x[i].prev_val));
            l.x[i].eval(b, &row, e(l.ts) + k.clone(), is_real.clone());

            b.assert_zero(binary.clone() * (e(l.y[i].addr) - e(l.c) - k.clone()));
            b.assert_zero(e(l.y[i].val) - e(l.y[i].prev_val));
            l.y[i].eval(b, &row, e(l.ts) + c(4) + k.clone(), binary.clone());

            b.assert_zero(is_real.clone() * (e(l.z[i].addr) - e(l.a) - k.clone()));
            let z_ts = e(l.ts) + c(8) + k - inv.clone() * c(4);
            l.z[i].eval(b, &row, z_ts, is_real.clone());
        }

        let (x, y, z) = (val(&l.x), val(&l.y), val(&l.z));
        let xy = ext_mul(&x, &y);
        let xz = ext_mul(&x, &z);
        for i in 0..D {
            b.assert_zero(add.clone() * (z[i].clone() - x[i].clone() - y[i].clone()));
            b.assert_zero(sub.clone() * (z[i].clone() - x[i].clone() + y[i].clone()));
            b.assert_zero(mul.clone() * (z[i].clone() - xy[i].clone()));
            let one = if i == 0 {
                AB::Expr::ONE
            } else {
                AB::Expr::ZERO
            };
            b.assert_zero(inv.clone() * (xz[i].clone() - one));
        }
    }
}

impl StarkAir for ExtChip {
    fn name(&self) -> String {
        "ext_arith".into()
    }
}

impl ExtChip {
    /// Rows for the segment's extension instructions; returns the trace and the used rows.
    pub(crate) fn generate(
        &self,
        segment: &Segment,
        range: &mut RangeCounts,
    ) -> (RowMajorMatrix<Val>, usize) {
        let l = &self.layout;
        let recs: Vec<_> = segment
            .instructions
            .iter()
            .filter(|r| {
                matches!(
                    r.instruction.opcode,
                    Opcode::EAdd | Opcode::ESub | Opcode::EMul | Opcode::EInv
                )
            })
            .collect();
        let height = recs.len().next_power_of_two().max(2);
        let mut values = Val::zero_vec(l.width * height);
        for (rec, row) in recs.iter().zip(values.chunks_exact_mut(l.width)) {
            let op = rec.instruction.opcode;
            let sel = match op {
                Opcode::EAdd => l.add,
                Opcode::ESub => l.sub,
                Opcode::EMul => l.mul,
                _ => l.inv,
            };
            row[sel] = Val::ONE;
            row[l.ts] = Val::from_u32(rec.timestamp);
            row[l.a] = rec.instruction.a;
            row[l.b] = rec.instruction.b;
            row[l.c] = rec.instruction.c;
            let accesses = segment.accesses_of(rec);
            let (x, rest) = accesses.split_at(D);
            let (y, z) = if op == Opcode::EInv {
                (&[][..], rest)
            } else {
                rest.split_at(D)
            };
            for i in 0..D {
                l.x[i].fill(row, &x[i], range);
                if let Some(acc) = y.get(i) {
                    l.y[i].fill(row, acc, range);
                }
                l.z[i].fill(row, &z[i], range);
            }
        }
        (RowMajorMatrix::new(values, l.width), recs.len())
    }
}
