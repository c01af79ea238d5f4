//! The circuit's intermediate representation: a straight-line list of ops over
//! write-once memory cells.
//!
//! Every cell holds four base-field limbs: an element of the challenge field ([`Ext`]), a
//! base value with zero upper limbs ([`Felt`]), or four independent base values ([`Quad`]:
//! four lanes of a permutation, four values of a hashed row). Each op writes its outputs to fresh cells
//! and reads cells written by earlier ops. The list never branches or loops, and no op's
//! shape depends on a value: that is what lets one preprocessed trace (the program) serve
//! every witness.

use starkscope_stark_backend::{Challenge, Val};

/// A memory cell's address.
pub type Addr = u32;

/// A base-field value in the circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Felt(pub(crate) Addr);

/// A challenge-field (degree-4 extension) value in the circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ext(pub(crate) Addr);

impl Felt {
    pub fn addr(self) -> Addr {
        self.0
    }
    /// The same value as an extension element (a base value is an extension element with
    /// zero upper limbs: no op needed).
    pub fn ext(self) -> Ext {
        Ext(self.0)
    }
}

impl Ext {
    pub fn addr(self) -> Addr {
        self.0
    }
}

/// Four base values in one cell: the unit the Poseidon2 and Horner tables read and write
/// (one bus message for four lanes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quad(pub(crate) Addr);

impl Quad {
    pub fn addr(self) -> Addr {
        self.0
    }
    /// The same cell read as an extension element (its four values are the coordinates).
    pub fn ext(self) -> Ext {
        Ext(self.0)
    }
}

impl Ext {
    /// The same cell read as four base values (the coordinates).
    pub fn quad(self) -> Quad {
        Quad(self.0)
    }
}

impl From<Felt> for Ext {
    fn from(f: Felt) -> Ext {
        f.ext()
    }
}

/// Where a group of four lanes of a permutation's input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// Four zeros (a fresh sponge's state, a zero-filled rate).
    Zero,
    /// A cell. If it is the same group of the previous permutation's output, the compiler
    /// chains it in the table instead of reading it over the bus.
    Cell(Quad),
}

/// Where a hint's value comes from when the circuit runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintSource {
    /// The `i`-th value the caller supplies.
    Input(usize),
    /// The inverse of a cell (checked by an ALU lane right after).
    Inverse(Addr),
    /// Limb `j` of an extension cell (checked by its recomposition).
    Limb(Addr, usize),
}

/// What an ALU lane does with its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOut {
    /// Writes the result to a fresh cell.
    Write(Addr),
    /// Reads this cell and requires it to equal the result.
    Assert(Addr),
}

/// An ALU lane computes `m*a*b + x*a + y*b + z*c` over the extension field, with base-field
/// coefficients `(m, x, y, z)` fixed by the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AluOp {
    pub a: Option<Addr>,
    pub b: Option<Addr>,
    pub c: Option<Addr>,
    pub coeffs: [Val; 4],
    pub out: AluOut,
}

impl AluOp {
    /// Whether each operand is read: used by a nonzero coefficient.
    pub fn reads(&self) -> [bool; 3] {
        let [m, x, y, z] = self.coeffs.map(|c| c != Val::default());
        [m || x, m || y, z]
    }
}

/// One Poseidon2-16 permutation, its 16 lanes in four groups of four.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Poseidon2Op {
    /// The permutation's operands before the optional swap.
    pub groups: [Group; 4],
    /// With a direction bit, the two halves are swapped when it is 1 (a Merkle step:
    /// groups 0-1 are the running digest, groups 2-3 the sibling).
    pub dir: Option<Felt>,
    /// Added to lane 8 after the swap: the duplex challenger's absorbed-count tag.
    pub tag: u8,
    /// The output's four groups, written to fresh cells.
    pub outs: [Addr; 4],
}

/// A decomposition of a base value into 31 bits, canonical (the bits encode a value below
/// p).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitsOp {
    pub input: Addr,
    pub bits: [Addr; 31],
}

/// Up to [`crate::tables::horner::STEPS`] reduced-opening steps `acc <- acc * alpha + x`,
/// over the first `len` values of two quads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HornerOp {
    /// The starting accumulator (zero when absent). If it is the previous Horner row's
    /// result, the compiler chains it instead of reading it.
    pub acc: Option<Addr>,
    pub alpha: Addr,
    /// The quads holding the values (the second absent when `len <= 4`).
    pub values: [Option<Addr>; 2],
    /// Active steps, `1..=8`.
    pub len: u8,
    pub out: Addr,
}

/// One op of the straight-line program.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Const {
        out: Addr,
        value: Challenge,
    },
    Public {
        out: Addr,
        index: usize,
    },
    /// A value the prover supplies; `base` values are constrained to zero upper limbs.
    Hint {
        out: Addr,
        source: HintSource,
        base: bool,
    },
    Alu(AluOp),
    Bits(BitsOp),
    Poseidon2(Poseidon2Op),
    Horner(HornerOp),
}

impl Op {
    /// The cells this op writes.
    pub fn writes(&self) -> Vec<Addr> {
        match self {
            Op::Const { out, .. } | Op::Public { out, .. } | Op::Hint { out, .. } => vec![*out],
            Op::Alu(op) => match op.out {
                AluOut::Write(a) => vec![a],
                AluOut::Assert(_) => vec![],
            },
            Op::Bits(op) => op.bits.to_vec(),
            Op::Poseidon2(op) => op.outs.to_vec(),
            Op::Horner(op) => vec![op.out],
        }
    }

    /// The cells this op reads over the bus (for a permutation, before the compiler
    /// decides which lanes it chains instead).
    pub fn bus_reads(&self) -> Vec<Addr> {
        match self {
            Op::Hint { .. } => vec![],
            op => op.inputs(),
        }
    }

    /// The cells this op needs to have been computed: its bus reads, and for a derived
    /// hint the cell it is derived from.
    pub fn inputs(&self) -> Vec<Addr> {
        match self {
            Op::Const { .. } | Op::Public { .. } => vec![],
            Op::Hint { source, .. } => match *source {
                HintSource::Input(_) => vec![],
                HintSource::Inverse(a) | HintSource::Limb(a, _) => vec![a],
            },
            Op::Alu(op) => {
                let r = op.reads();
                let mut v: Vec<Addr> = [op.a, op.b, op.c]
                    .into_iter()
                    .zip(r)
                    .filter_map(|(a, read)| a.filter(|_| read))
                    .collect();
                if let AluOut::Assert(a) = op.out {
                    v.push(a);
                }
                v
            }
            Op::Bits(op) => vec![op.input],
            Op::Poseidon2(op) => op
                .groups
                .iter()
                .filter_map(|g| match g {
                    Group::Zero => None,
                    Group::Cell(q) => Some(q.0),
                })
                .chain(op.dir.map(|d| d.0))
                .collect(),
            Op::Horner(op) => op
                .acc
                .into_iter()
                .chain([op.alpha])
                .chain(op.values.iter().flatten().copied())
                .collect(),
        }
    }
}

/// The kind of an op as it is counted in metrics (`op` label) and named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    Const,
    Public,
    Hint,
    Add,
    Sub,
    Mul,
    MulAdd,
    Neg,
    Linear,
    Inverse,
    Select,
    BoolCheck,
    AssertEq,
    Recompose,
    ExpBits,
    Bits,
    Poseidon2,
    Horner,
}

impl OpKind {
    pub const ALL: [OpKind; 18] = [
        OpKind::Const,
        OpKind::Public,
        OpKind::Hint,
        OpKind::Add,
        OpKind::Sub,
        OpKind::Mul,
        OpKind::MulAdd,
        OpKind::Neg,
        OpKind::Linear,
        OpKind::Inverse,
        OpKind::Select,
        OpKind::BoolCheck,
        OpKind::AssertEq,
        OpKind::Recompose,
        OpKind::ExpBits,
        OpKind::Bits,
        OpKind::Poseidon2,
        OpKind::Horner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Const => "const",
            OpKind::Public => "public",
            OpKind::Hint => "hint",
            OpKind::Add => "add",
            OpKind::Sub => "sub",
            OpKind::Mul => "mul",
            OpKind::MulAdd => "mul_add",
            OpKind::Neg => "neg",
            OpKind::Linear => "linear",
            OpKind::Inverse => "inverse",
            OpKind::Select => "select",
            OpKind::BoolCheck => "bool_check",
            OpKind::AssertEq => "assert_eq",
            OpKind::Recompose => "recompose",
            OpKind::ExpBits => "exp_bits",
            OpKind::Bits => "bits",
            OpKind::Poseidon2 => "poseidon2",
            OpKind::Horner => "horner",
        }
    }
}

/// An op with what the builder knew about it: the call it came from (for errors).
#[derive(Clone, Debug)]
pub struct Recorded {
    pub op: Op,
    pub kind: OpKind,
    /// The builder call, e.g. `inverse` or `assert_eq`, and a caller-given label if any.
    pub label: Option<&'static str>,
}

/// A finished circuit: its ops in order, its number of public inputs and of caller hints.
#[derive(Clone, Debug, Default)]
pub struct Circuit {
    pub ops: Vec<Recorded>,
    pub num_cells: u32,
    pub num_public: usize,
    pub num_hints: usize,
    /// What each verified child proof cost, in the order the verifier gadget emitted them.
    pub children: Vec<ChildCost>,
}

/// The table entries one in-circuit verification of a child proof added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChildCost {
    /// Poseidon2 permutations (rows of `rec_poseidon2`).
    pub poseidon2: u64,
    /// Extension-field operations: ALU lanes (`m·a·b + x·a + y·b + z·c` over the extension).
    pub ext_ops: u64,
    /// Reduced-opening steps (8 per `rec_horner` row).
    pub horner_rows: u64,
    /// Canonical 31-bit decompositions.
    pub bits: u64,
    /// Hint entries (the child proof's values, inverses, limbs).
    pub hints: u64,
    /// Every table entry, constants included.
    pub total: u64,
}

impl ChildCost {
    /// The cost of a run of ops.
    pub fn of(ops: &[Recorded]) -> Self {
        let mut c = Self {
            total: ops.len() as u64,
            ..Self::default()
        };
        for r in ops {
            match r.op {
                Op::Poseidon2(_) => c.poseidon2 += 1,
                Op::Alu(_) => c.ext_ops += 1,
                Op::Horner(_) => c.horner_rows += 1,
                Op::Bits(_) => c.bits += 1,
                Op::Hint { .. } => c.hints += 1,
                Op::Const { .. } | Op::Public { .. } => {}
            }
        }
        c
    }
}

impl Circuit {
    /// Table entries (an ALU lane, a table row, a constant) of each kind: an inverse is a
    /// hint and a checking lane, both counted as `inverse`.
    pub fn op_counts(&self) -> std::collections::BTreeMap<OpKind, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for r in &self.ops {
            *counts.entry(r.kind).or_insert(0) += 1;
        }
        counts
    }
}
