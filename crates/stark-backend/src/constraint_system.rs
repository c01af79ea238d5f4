//! What an AIR's symbolic constraints say, read off the expression DAG: which next-row
//! columns they read (so keygen opens exactly those), and an injective field-element
//! encoding of the whole constraint system (so the key digest binds the constraints
//! themselves, not only their count).
//!
//! Expressions are DAGs of `Arc`-shared nodes (a Poseidon2 round's state is reused by
//! every lane of the next one); written out as trees they grow exponentially. The encoder
//! therefore numbers each distinct node once (by `Arc` identity) and refers to children by
//! number. The DAG's shape comes from the AIR's `eval`, so the encoding is deterministic.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use p3_air::symbolic::{
    BaseEntry, BaseLeaf, ExtEntry, ExtLeaf, SymbolicExpr, SymbolicExpression,
    SymbolicExpressionExt, SymbolicVariable,
};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};

use crate::config::{Challenge, Val};

/// Next-row columns the constraints read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NextRowUse {
    pub main: BTreeSet<usize>,
    pub preprocessed: BTreeSet<usize>,
}

/// Node kinds of the encoding; each kind fixes how many elements follow it, so the
/// record stream is prefix-free and the encoding injective.
mod tag {
    pub const ADD: u32 = 1; // x, y
    pub const SUB: u32 = 2; // x, y
    pub const NEG: u32 = 3; // x
    pub const MUL: u32 = 4; // x, y
    pub const VAR_PREPROCESSED: u32 = 10; // offset, index
    pub const VAR_MAIN: u32 = 11; // offset, index
    pub const VAR_PERIODIC: u32 = 12; // index
    pub const VAR_PUBLIC: u32 = 13; // index
    pub const IS_FIRST_ROW: u32 = 20;
    pub const IS_LAST_ROW: u32 = 21;
    pub const IS_TRANSITION: u32 = 22;
    pub const CONSTANT: u32 = 23; // value
    pub const EXT_OF_BASE: u32 = 30; // base node
    pub const EXT_PERMUTATION: u32 = 31; // offset, index
    pub const EXT_CHALLENGE: u32 = 32; // index
    pub const EXT_PERMUTATION_VALUE: u32 = 33; // index
    pub const EXT_CONSTANT: u32 = 34; // 4 coefficients
}

/// Encodes constraint DAGs as records `[tag, operands..]`; a node's number is the order
/// in which its record was written.
#[derive(Default)]
pub(crate) struct DagEncoder {
    out: Vec<Val>,
    nodes: u32,
    seen: HashMap<usize, u32>,
    pub next_row: NextRowUse,
}

impl DagEncoder {
    fn record(&mut self, tag: u32, operands: &[Val]) -> u32 {
        self.out.push(Val::from_u32(tag));
        self.out.extend_from_slice(operands);
        self.nodes += 1;
        self.nodes - 1
    }

    fn id(n: u32) -> Val {
        Val::from_u32(n)
    }

    fn variable(&mut self, v: &SymbolicVariable<Val>) -> u32 {
        let index = Val::from_usize(v.index);
        match v.entry {
            BaseEntry::Preprocessed { offset } => {
                if offset > 0 {
                    self.next_row.preprocessed.insert(v.index);
                }
                self.record(tag::VAR_PREPROCESSED, &[Val::from_usize(offset), index])
            }
            BaseEntry::Main { offset } => {
                if offset > 0 {
                    self.next_row.main.insert(v.index);
                }
                self.record(tag::VAR_MAIN, &[Val::from_usize(offset), index])
            }
            BaseEntry::Periodic => self.record(tag::VAR_PERIODIC, &[index]),
            BaseEntry::Public => self.record(tag::VAR_PUBLIC, &[index]),
        }
    }
}

/// A leaf kind the encoder can write.
trait EncodeLeaf {
    fn encode(&self, s: &mut DagEncoder) -> u32;
}

impl EncodeLeaf for BaseLeaf<Val> {
    fn encode(&self, s: &mut DagEncoder) -> u32 {
        match self {
            BaseLeaf::Variable(v) => s.variable(v),
            BaseLeaf::IsFirstRow => s.record(tag::IS_FIRST_ROW, &[]),
            BaseLeaf::IsLastRow => s.record(tag::IS_LAST_ROW, &[]),
            BaseLeaf::IsTransition => s.record(tag::IS_TRANSITION, &[]),
            BaseLeaf::Constant(c) => s.record(tag::CONSTANT, &[*c]),
        }
    }
}

impl EncodeLeaf for ExtLeaf<Val, Challenge> {
    fn encode(&self, s: &mut DagEncoder) -> u32 {
        match self {
            ExtLeaf::Base(e) => {
                let b = s.base(e);
                s.record(tag::EXT_OF_BASE, &[DagEncoder::id(b)])
            }
            ExtLeaf::ExtVariable(v) => {
                let index = Val::from_usize(v.index);
                match v.entry {
                    ExtEntry::Permutation { offset } => {
                        s.record(tag::EXT_PERMUTATION, &[Val::from_usize(offset), index])
                    }
                    ExtEntry::Challenge => s.record(tag::EXT_CHALLENGE, &[index]),
                    ExtEntry::PermutationValue => s.record(tag::EXT_PERMUTATION_VALUE, &[index]),
                }
            }
            ExtLeaf::ExtConstant(c) => {
                let coeffs: Vec<Val> = c.as_basis_coefficients_slice().to_vec();
                s.record(tag::EXT_CONSTANT, &coeffs)
            }
        }
    }
}

impl DagEncoder {
    fn child<A: EncodeLeaf>(&mut self, c: &Arc<SymbolicExpr<A>>) -> u32 {
        let key = Arc::as_ptr(c) as usize;
        if let Some(&id) = self.seen.get(&key) {
            return id;
        }
        let id = self.node(c);
        self.seen.insert(key, id);
        id
    }

    /// Encodes a (sub)expression; shared children are written once.
    fn node<A: EncodeLeaf>(&mut self, e: &SymbolicExpr<A>) -> u32 {
        let (t, x, y) = match e {
            SymbolicExpr::Leaf(l) => return l.encode(self),
            SymbolicExpr::Add { x, y, .. } => (tag::ADD, x, Some(y)),
            SymbolicExpr::Sub { x, y, .. } => (tag::SUB, x, Some(y)),
            SymbolicExpr::Neg { x, .. } => (tag::NEG, x, None),
            SymbolicExpr::Mul { x, y, .. } => (tag::MUL, x, Some(y)),
        };
        let a = Self::id(self.child(x));
        match y {
            Some(y) => {
                let b = Self::id(self.child(y));
                self.record(t, &[a, b])
            }
            None => self.record(t, &[a]),
        }
    }

    pub fn base(&mut self, e: &SymbolicExpression<Val>) -> u32 {
        self.node(e)
    }

    pub fn ext(&mut self, e: &SymbolicExpressionExt<Val, Challenge>) -> u32 {
        self.node(e)
    }

    /// The records written so far.
    pub fn finish(self) -> (Vec<Val>, NextRowUse) {
        (self.out, self.next_row)
    }
}

/// The encoding of one AIR's constraints: the records, then the root node of every
/// constraint in global (folding) order, each marked base (0) or extension (1).
pub(crate) fn encode_constraints(
    base: &[SymbolicExpression<Val>],
    ext: &[SymbolicExpressionExt<Val, Challenge>],
    layout: &p3_air::symbolic::ConstraintLayout,
) -> (Vec<Val>, NextRowUse) {
    let mut enc = DagEncoder::default();
    let mut roots = vec![(0u32, 0u32); layout.total_constraints()];
    for (e, &global) in base.iter().zip(&layout.base_indices) {
        roots[global] = (0, enc.base(e));
    }
    for (e, &global) in ext.iter().zip(&layout.ext_indices) {
        roots[global] = (1, enc.ext(e));
    }
    let (mut out, next_row) = enc.finish();
    out.push(Val::from_usize(roots.len()));
    for (kind, id) in roots {
        out.extend([Val::from_u32(kind), Val::from_u32(id)]);
    }
    (out, next_row)
}
