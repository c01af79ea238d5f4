//! One memory access inside a chip row: columns, constraints and trace filling.
//!
//! An access at timestamp `ts` to `addr` receives the cell's previous state
//! `(addr, prev_val, prev_ts)` on the memory bus and sends `(addr, val, ts)`. Ordering is
//! enforced by writing `ts - prev_ts - 1 = lo + 2^16 * hi` with `lo` and `8 * hi` looked up
//! in the 16-bit table. Only `8 * hi = k < 2^16` is checked, so `hi = k / 8` need not be an
//! integer, but `2^16 * hi = 2^13 * k` is: the differences this accepts are exactly the
//! integers `lo + 2^13 * k < 2^29 + 2^16`. That is all ordering needs: timestamps stay
//! below 2^30 (a cpu trace has at most 2^25 rows of at most 32 accesses), so a
//! `prev_ts >= ts` wraps to a field element above `p - 2^30 > 2^29 + 2^16` and has no
//! decomposition. The prover accepts every honest difference below 2^29, so a segment's
//! timestamps must stay below 2^29 (`MAX_SEGMENT_TIMESTAMP`); the one extra check that
//! would make the bound exactly 2^29 (`hi` itself in the table) buys nothing.

use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Count, InteractionBuilder, Val};

use super::buses;
use super::cols::ColAlloc;
use super::range::RangeCounts;
use crate::exec::MemoryAccess;

/// Timestamps of one segment must stay below this (the ordering check's bound).
pub const MAX_SEGMENT_TIMESTAMP: u32 = 1 << 29;

const HI_SHIFT: u32 = 3; // 8 * hi < 2^16  <=>  hi < 2^13

/// Columns of one access.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AccessCols {
    pub addr: usize,
    pub prev_val: usize,
    pub val: usize,
    pub prev_ts: usize,
    pub lo: usize,
    pub hi: usize,
}

impl AccessCols {
    pub(crate) fn alloc(a: &mut ColAlloc) -> Self {
        AccessCols {
            addr: a.one(),
            prev_val: a.one(),
            val: a.one(),
            prev_ts: a.one(),
            lo: a.one(),
            hi: a.one(),
        }
    }

    /// Constrains the access when `active` (0 or 1) is set: memory bus receive/send and the
    /// ordering range check. The caller constrains `addr`, and `val == prev_val` on reads.
    pub(crate) fn eval<AB: InteractionBuilder<F = Val>>(
        &self,
        b: &mut AB,
        row: &[AB::Var],
        ts: AB::Expr,
        active: AB::Expr,
    ) {
        let (addr, prev_val, val, prev_ts) = (
            row[self.addr],
            row[self.prev_val],
            row[self.val],
            row[self.prev_ts],
        );
        let (lo, hi) = (row[self.lo], row[self.hi]);
        let diff = ts.clone() - prev_ts.into() - AB::Expr::ONE;
        let limbs = lo.into() + hi.into() * AB::Expr::from_u32(1 << 16);
        b.assert_zero(active.clone() * (diff - limbs));
        b.push_interaction(
            buses::MEMORY,
            [addr.into(), prev_val.into(), prev_ts.into()],
            -Count::bounded(active.clone(), 1),
        );
        b.push_interaction(
            buses::MEMORY,
            [addr.into(), val.into(), ts],
            Count::bounded(active.clone(), 1),
        );
        b.push_interaction(
            buses::RANGE16,
            [lo.into()],
            Count::bounded(active.clone(), 1),
        );
        b.push_interaction(
            buses::RANGE16,
            [hi.into() * AB::Expr::from_u32(1 << HI_SHIFT)],
            Count::bounded(active, 1),
        );
    }

    /// Writes the access into a row and counts its range lookups.
    pub(crate) fn fill(&self, row: &mut [Val], acc: &MemoryAccess, range: &mut RangeCounts) {
        // An honest record always goes forward in time by less than the bound; only a
        // forged one (soundness tests) does not, and it gets zero limbs, so that its
        // ordering constraint, not this function, is what refuses it.
        let diff = acc
            .timestamp
            .checked_sub(acc.prev_timestamp + 1)
            .filter(|&d| d < MAX_SEGMENT_TIMESTAMP)
            .unwrap_or(0);
        let (lo, hi) = (diff & 0xffff, diff >> 16);
        row[self.addr] = Val::from_u32(acc.addr);
        row[self.prev_val] = acc.prev_value;
        row[self.val] = acc.value;
        row[self.prev_ts] = Val::from_u32(acc.prev_timestamp);
        row[self.lo] = Val::from_u32(lo);
        row[self.hi] = Val::from_u32(hi);
        range.add(lo);
        range.add(hi << HI_SHIFT);
    }
}
