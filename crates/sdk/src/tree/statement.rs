//! What an aggregation node proves about the segments under it, as circuit cells and as
//! values: the node's public values (docs/aggregation.md, "Statements").

use starkscope_recursion::{CircuitBuilder, Felt};
use starkscope_stark_backend::Val;
use starkscope_vm::prove::{air_id, cpu_pv, merkle_pv, DIGEST};

/// Public values of every leaf and internal node, in this order.
pub mod pv {
    use super::DIGEST;
    pub const FIRST_SEGMENT: usize = 0;
    pub const LAST_SEGMENT: usize = 1;
    pub const START_PC: usize = 2;
    pub const END_PC: usize = 3;
    pub const HALTED: usize = 4;
    pub const EXIT_CODE: usize = 5;
    pub const ROOT_BEFORE: usize = 6;
    pub const ROOT_AFTER: usize = ROOT_BEFORE + DIGEST;
    pub const DIGEST_BEFORE: usize = ROOT_AFTER + DIGEST;
    pub const DIGEST_AFTER: usize = DIGEST_BEFORE + DIGEST;
    pub const COUNT: usize = DIGEST_AFTER + DIGEST;
}

/// A contiguous run of segments `first..=last`: where it starts, where it ends.
#[derive(Clone, Copy, Debug)]
pub struct Statement<T> {
    pub first_segment: T,
    pub last_segment: T,
    pub start_pc: T,
    pub end_pc: T,
    /// 1 if the last segment halted, else 0.
    pub halted: T,
    /// The last segment's exit code (meaningful when it halted).
    pub exit_code: T,
    pub root_before: [T; DIGEST],
    pub root_after: [T; DIGEST],
    pub digest_before: [T; DIGEST],
    pub digest_after: [T; DIGEST],
}

impl<T: Copy> Statement<T> {
    /// The statement of one segment proof from its cpu and merkle public values.
    pub fn of_segment(public_values: &[Vec<T>]) -> Self {
        let cpu = &public_values[air_id::CPU];
        let merkle = &public_values[air_id::MERKLE];
        let digest = |v: &[T], at: usize| std::array::from_fn(|i| v[at + i]);
        Statement {
            first_segment: cpu[cpu_pv::SEGMENT_INDEX],
            last_segment: cpu[cpu_pv::SEGMENT_INDEX],
            start_pc: cpu[cpu_pv::START_PC],
            end_pc: cpu[cpu_pv::END_PC],
            halted: cpu[cpu_pv::HALTED],
            exit_code: cpu[cpu_pv::EXIT_CODE],
            root_before: digest(merkle, merkle_pv::ROOT_BEFORE),
            root_after: digest(merkle, merkle_pv::ROOT_AFTER),
            digest_before: digest(cpu, cpu_pv::DIGEST_BEFORE),
            digest_after: digest(cpu, cpu_pv::DIGEST_AFTER),
        }
    }

    /// A node's statement from its public values ([`pv`] order).
    pub fn from_values(v: &[T]) -> Self {
        assert_eq!(
            v.len(),
            pv::COUNT,
            "a node statement has {} values",
            pv::COUNT
        );
        let digest = |at: usize| std::array::from_fn(|i| v[at + i]);
        Statement {
            first_segment: v[pv::FIRST_SEGMENT],
            last_segment: v[pv::LAST_SEGMENT],
            start_pc: v[pv::START_PC],
            end_pc: v[pv::END_PC],
            halted: v[pv::HALTED],
            exit_code: v[pv::EXIT_CODE],
            root_before: digest(pv::ROOT_BEFORE),
            root_after: digest(pv::ROOT_AFTER),
            digest_before: digest(pv::DIGEST_BEFORE),
            digest_after: digest(pv::DIGEST_AFTER),
        }
    }

    /// The values in [`pv`] order.
    pub fn values(&self) -> Vec<T> {
        let mut v = vec![
            self.first_segment,
            self.last_segment,
            self.start_pc,
            self.end_pc,
            self.halted,
            self.exit_code,
        ];
        v.extend(self.root_before);
        v.extend(self.root_after);
        v.extend(self.digest_before);
        v.extend(self.digest_after);
        v
    }

    /// The statement of `children` joined in order: the first one's start, the last one's
    /// end. [`link`] constrains that they join.
    pub fn joined(children: &[Self]) -> Self {
        let (first, last) = (children[0], children[children.len() - 1]);
        Statement {
            first_segment: first.first_segment,
            start_pc: first.start_pc,
            root_before: first.root_before,
            digest_before: first.digest_before,
            last_segment: last.last_segment,
            end_pc: last.end_pc,
            halted: last.halted,
            exit_code: last.exit_code,
            root_after: last.root_after,
            digest_after: last.digest_after,
        }
    }
}

/// Constrains `children` (in order) to be one contiguous run: each child's segments follow
/// the previous child's directly; its start pc, memory root and output digest are where
/// the previous one ended; no child but the last halted.
pub fn link(b: &mut CircuitBuilder, children: &[Statement<Felt>]) {
    let one = b.one();
    for w in children.windows(2) {
        let (prev, next) = (&w[0], &w[1]);
        let expected = b.add(prev.last_segment, one);
        b.assert_eq(next.first_segment, expected);
        b.assert_eq(next.start_pc, prev.end_pc);
        for i in 0..DIGEST {
            b.assert_eq(next.root_before[i], prev.root_after[i]);
            b.assert_eq(next.digest_before[i], prev.digest_after[i]);
        }
        b.assert_zero(prev.halted);
    }
}

/// Exposes `statement` as the circuit's public values ([`pv`] order).
pub fn expose(b: &mut CircuitBuilder, statement: &Statement<Felt>) {
    for cell in statement.values() {
        let public = b.public();
        b.assert_eq(public, cell);
    }
}

/// The statement's values as field elements, for the verifier's expected public values.
pub fn native_link(children: &[Statement<Val>]) -> Result<Statement<Val>, String> {
    use starkscope_stark_backend::p3::PrimeCharacteristicRing;
    for (i, w) in children.windows(2).enumerate() {
        let (prev, next) = (&w[0], &w[1]);
        let what = if next.first_segment != prev.last_segment + Val::ONE {
            Some("segment indices")
        } else if next.start_pc != prev.end_pc {
            Some("pc")
        } else if next.root_before != prev.root_after {
            Some("memory roots")
        } else if next.digest_before != prev.digest_after {
            Some("output digests")
        } else if prev.halted != Val::ZERO {
            Some("halt before the end")
        } else {
            None
        };
        if let Some(what) = what {
            return Err(format!("children {i} and {}: {what} do not join", i + 1));
        }
    }
    Ok(Statement::joined(children))
}
