//! What execution counts: cycles, instructions per opcode, cycles per region.

use std::ops::{Index, IndexMut};

use crate::isa::Opcode;

/// Instructions executed per opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpcodeCounts(pub [u64; Opcode::COUNT]);

impl Default for OpcodeCounts {
    fn default() -> Self {
        OpcodeCounts([0; Opcode::COUNT])
    }
}

impl Index<Opcode> for OpcodeCounts {
    type Output = u64;
    fn index(&self, op: Opcode) -> &u64 {
        &self.0[op as usize]
    }
}

impl IndexMut<Opcode> for OpcodeCounts {
    fn index_mut(&mut self, op: Opcode) -> &mut u64 {
        &mut self.0[op as usize]
    }
}

impl OpcodeCounts {
    /// Sum over every opcode: the cycles.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Opcodes that ran at least once, in encoding order.
    pub fn nonzero(&self) -> impl Iterator<Item = (Opcode, u64)> + '_ {
        Opcode::ALL
            .iter()
            .map(|&op| (op, self[op]))
            .filter(|&(_, n)| n > 0)
    }

    /// Opcodes that ran, most frequent first (ties in encoding order).
    pub fn by_frequency(&self) -> Vec<(Opcode, u64)> {
        let mut v: Vec<_> = self.nonzero().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    pub fn add(&mut self, other: &OpcodeCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }
}

/// Cycles spent in a cycle-tracker region. `path` is the region's name prefixed by the
/// regions it is nested in, joined with `;` (`outer;inner`). Counts are inclusive: an
/// outer region's cycles include those of the regions nested in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionCycles {
    pub path: String,
    pub cycles: u64,
}

/// What one segment counted: the numbers its metrics report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentStats {
    pub index: usize,
    pub cycles: u64,
    pub opcode_counts: OpcodeCounts,
    /// Regions active in the segment, in order of first appearance in the run.
    pub regions: Vec<RegionCycles>,
}

/// Adds `more` into `into`, keeping first-appearance order.
pub(crate) fn merge_regions(into: &mut Vec<RegionCycles>, more: &[RegionCycles]) {
    for r in more {
        match into.iter_mut().find(|x| x.path == r.path) {
            Some(x) => x.cycles += r.cycles,
            None => into.push(r.clone()),
        }
    }
}
