//! The poseidon2 memory chip: one row per `poseidon2 a, b` instruction.
//!
//! It takes the instruction from the cpu on [`buses::POSEIDON2_OP`] as `(ts, a, b)`, reads
//! the 16 cells at b.. (timestamps ts..ts+16), writes the 16 cells at a.. (ts+16..ts+32), and
//! asks the poseidon2 chip on [`buses::PERMUTE`] that the written cells are the
//! permutation of the read ones.

use starkscope_stark_backend::p3::{
    Air, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::buses;
use super::cols::ColAlloc;
use super::memory::AccessCols;
use super::poseidon2_chip::Poseidon2Requests;
use super::range::RangeCounts;
use crate::exec::Segment;
use crate::isa::{Opcode, POSEIDON2_WIDTH as N};

#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub(crate) is_real: usize,
    pub(crate) ts: usize,
    pub(crate) a: usize,
    pub(crate) b: usize,
    pub(crate) input: [AccessCols; N],
    pub(crate) output: [AccessCols; N],
    /// Committed width (zero columns after the `used` ones).
    pub(crate) width: usize,
    /// Columns the chip reads.
    pub(crate) used: usize,
}

/// The poseidon2 memory chip.
#[derive(Clone, Debug)]
pub struct Poseidon2MemChip {
    layout: Layout,
}

impl Default for Poseidon2MemChip {
    fn default() -> Self {
        let mut a = ColAlloc::new();
        let (is_real, ts, oa, ob) = (a.one(), a.one(), a.one(), a.one());
        let input = std::array::from_fn(|_| AccessCols::alloc(&mut a));
        let output = std::array::from_fn(|_| AccessCols::alloc(&mut a));
        Self {
            layout: Layout {
                is_real,
                ts,
                a: oa,
                b: ob,
                input,
                output,
                width: a.padded_width(),
                used: a.used(),
            },
        }
    }
}

impl Poseidon2MemChip {
    /// Columns the chip reads (the committed width less its zero columns).
    pub(crate) fn used_width(&self) -> usize {
        self.layout.used
    }
}

impl BaseAir<Val> for Poseidon2MemChip {
    fn width(&self) -> usize {
        self.layout.width
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Poseidon2MemChip {
    fn eval(&self, b: &mut AB) {
        let l = &self.layout;
        let row: Vec<AB::Var> = b.main().current_slice().to_vec();
        let e = |i: usize| -> AB::Expr { row[i].into() };
        let is_real = e(l.is_real);
        b.assert_bool(is_real.clone());
        b.push_interaction(
            buses::POSEIDON2_OP,
            [e(l.ts), e(l.a), e(l.b)],
            -Count::bounded(is_real.clone(), 1),
        );
        let mut perm = Vec::with_capacity(2 * N);
        for i in 0..N {
            let k = AB::Expr::from_usize(i);
            b.assert_zero(is_real.clone() * (e(l.input[i].addr) - e(l.b) - k.clone()));
            b.assert_eq(e(l.input[i].val), e(l.input[i].prev_val));
            l.input[i].eval(b, &row, e(l.ts) + k.clone(), is_real.clone());
            b.assert_zero(is_real.clone() * (e(l.output[i].addr) - e(l.a) - k.clone()));
            l.output[i].eval(
                b,
                &row,
                e(l.ts) + AB::Expr::from_usize(N) + k,
                is_real.clone(),
            );
            perm.push(e(l.input[i].val));
        }
        perm.extend(l.output.iter().map(|c| e(c.val)));
        b.push_interaction(buses::PERMUTE, perm, Count::bounded(is_real, 1));
    }
}

impl StarkAir for Poseidon2MemChip {
    fn name(&self) -> String {
        "poseidon2_mem".into()
    }
}

impl Poseidon2MemChip {
    pub(crate) fn generate(
        &self,
        segment: &Segment,
        range: &mut RangeCounts,
        requests: &mut Poseidon2Requests,
    ) -> (RowMajorMatrix<Val>, usize) {
        let l = &self.layout;
        let recs: Vec<_> = segment
            .instructions
            .iter()
            .filter(|r| r.instruction.opcode == Opcode::Poseidon2)
            .collect();
        let height = recs.len().next_power_of_two().max(2);
        let mut values = Val::zero_vec(l.width * height);
        for (rec, row) in recs.iter().zip(values.chunks_exact_mut(l.width)) {
            row[l.is_real] = Val::ONE;
            row[l.ts] = Val::from_u32(rec.timestamp);
            row[l.a] = rec.instruction.a;
            row[l.b] = rec.instruction.b;
            let accesses = segment.accesses_of(rec);
            let mut input = [Val::ZERO; N];
            for i in 0..N {
                l.input[i].fill(row, &accesses[i], range);
                l.output[i].fill(row, &accesses[N + i], range);
                input[i] = accesses[i].value;
            }
            requests.permute(input);
        }
        (RowMajorMatrix::new(values, l.width), recs.len())
    }
}
