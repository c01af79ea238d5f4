//! Records a straight-line circuit.
//!
//! ```ignore
//! let mut b = CircuitBuilder::new();
//! let x = b.public();                 // a public input (base field)
//! let w = b.hint_ext();               // a value the prover supplies
//! let y = b.mul_add(w, x.ext(), w);   // w*x + w
//! let i = b.inverse(y);               // hinted, then checked: y * i = 1
//! let q = b.pack([x, x, x, x]);       // four base values in one cell
//! let out = b.poseidon2([Group::Cell(q); 4]);
//! b.assert_eq(out[0].ext(), q.ext());
//! let circuit = b.build();
//! ```
//!
//! Values are handles ([`Felt`], [`Ext`]) to write-once cells; every method appends ops
//! and returns fresh handles. Nothing here depends on the values the circuit later runs
//! with.

use std::collections::{HashMap, HashSet};

use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Challenge, Val};

use crate::ir::{
    Addr, AluOp, AluOut, BitsOp, Circuit, Ext, Felt, Group, HintSource, HornerOp, Op, OpKind,
    Poseidon2Op, Quad, Recorded,
};

/// Bits of a canonical BabyBear decomposition.
pub const FELT_BITS: usize = 31;

/// Records ops; [`CircuitBuilder::build`] finishes the circuit.
#[derive(Debug, Default)]
pub struct CircuitBuilder {
    circuit: Circuit,
    consts: HashMap<[u32; 4], Addr>,
    /// Cells known to hold 0 or 1 (bits of a decomposition, checked select bits).
    booleans: HashSet<Addr>,
    label: Option<&'static str>,
}

/// Arithmetic that works on both [`Felt`] and [`Ext`]: the result has the operands' type
/// (base coefficients keep base values base). Sealed: only the builder makes handles, so
/// a `Felt` always names a cell the circuit keeps base.
pub trait Var: Copy + sealed::FromAddr {
    /// Whether values of this type are base-field elements.
    const BASE: bool;
    fn addr(self) -> Addr;
}

mod sealed {
    use crate::ir::Addr;
    /// Not nameable outside the crate, so nobody else can turn an address into a handle.
    pub trait FromAddr {
        fn from_addr(a: Addr) -> Self;
    }
    impl FromAddr for crate::ir::Felt {
        fn from_addr(a: Addr) -> Self {
            crate::ir::Felt(a)
        }
    }
    impl FromAddr for crate::ir::Ext {
        fn from_addr(a: Addr) -> Self {
            crate::ir::Ext(a)
        }
    }
}

impl Var for Felt {
    const BASE: bool = true;
    fn addr(self) -> Addr {
        self.0
    }
}

impl Var for Ext {
    const BASE: bool = false;
    fn addr(self) -> Addr {
        self.0
    }
}

fn key(v: Challenge) -> [u32; 4] {
    use starkscope_stark_backend::p3::PrimeField32;
    let limbs: &[Val] =
        <Challenge as p3_field::BasedVectorSpace<Val>>::as_basis_coefficients_slice(&v);
    [0, 1, 2, 3].map(|i| limbs[i].as_canonical_u32())
}

impl CircuitBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Labels the ops recorded until [`CircuitBuilder::unlabel`], for error messages
    /// (e.g. `"fri query 3"`).
    pub fn label(&mut self, label: &'static str) {
        self.label = Some(label);
    }

    pub fn unlabel(&mut self) {
        self.label = None;
    }

    fn fresh(&mut self) -> Addr {
        let a = self.circuit.num_cells;
        self.circuit.num_cells += 1;
        a
    }

    /// Ops recorded so far (a mark for [`CircuitBuilder::note_child_since`]).
    pub fn num_ops(&self) -> usize {
        self.circuit.ops.len()
    }

    /// Records that the ops from `mark` on verify one child proof (their cost goes into
    /// the circuit's `children` and the per-child metrics).
    pub fn note_child_since(&mut self, mark: usize) -> crate::ir::ChildCost {
        let cost = crate::ir::ChildCost::of(&self.circuit.ops[mark..]);
        self.circuit.children.push(cost);
        cost
    }

    fn push(&mut self, op: Op, kind: OpKind) {
        self.circuit.ops.push(Recorded {
            op,
            kind,
            label: self.label,
        });
    }

    // ---- sources -------------------------------------------------------------------

    /// A constant extension element (one cell per distinct constant).
    pub fn constant_ext(&mut self, value: Challenge) -> Ext {
        let k = key(value);
        if let Some(&a) = self.consts.get(&k) {
            return Ext(a);
        }
        let out = self.fresh();
        self.consts.insert(k, out);
        self.push(Op::Const { out, value }, OpKind::Const);
        if value == Challenge::ZERO || value == Challenge::ONE {
            self.booleans.insert(out);
        }
        Ext(out)
    }

    /// A constant base element.
    pub fn constant(&mut self, value: Val) -> Felt {
        Felt(self.constant_ext(Challenge::from(value)).0)
    }

    pub fn zero(&mut self) -> Felt {
        self.constant(Val::ZERO)
    }

    pub fn one(&mut self) -> Felt {
        self.constant(Val::ONE)
    }

    /// The next public input: a base value that the proof's public values fix.
    pub fn public(&mut self) -> Felt {
        let out = self.fresh();
        let index = self.circuit.num_public;
        self.circuit.num_public += 1;
        self.push(Op::Public { out, index }, OpKind::Public);
        Felt(out)
    }

    fn input_hint(&mut self, base: bool) -> Addr {
        let out = self.fresh();
        let i = self.circuit.num_hints;
        self.circuit.num_hints += 1;
        self.push(
            Op::Hint {
                out,
                source: HintSource::Input(i),
                base,
            },
            OpKind::Hint,
        );
        out
    }

    /// A base value the prover supplies (unchecked until the circuit checks it). Its upper
    /// limbs are forced to zero by every base-typed reader.
    pub fn hint_felt(&mut self) -> Felt {
        Felt(self.input_hint(true))
    }

    /// An extension value the prover supplies.
    pub fn hint_ext(&mut self) -> Ext {
        Ext(self.input_hint(false))
    }

    /// Four base values the prover supplies, in one cell (one hint lane): how opened rows
    /// enter a verifier circuit, to be hashed and accumulated four at a time.
    pub fn hint_quad(&mut self) -> Quad {
        Quad(self.input_hint(false))
    }

    /// A hint of either type ([`CircuitBuilder::hint_felt`] or [`CircuitBuilder::hint_ext`]).
    pub fn hint<V: Var>(&mut self) -> V {
        V::from_addr(self.input_hint(V::BASE))
    }

    // ---- arithmetic ----------------------------------------------------------------

    fn alu(
        &mut self,
        kind: OpKind,
        coeffs: [Val; 4],
        a: Option<Addr>,
        b: Option<Addr>,
        c: Option<Addr>,
    ) -> Addr {
        let out = self.fresh();
        let op = AluOp {
            a,
            b,
            c,
            coeffs,
            out: AluOut::Write(out),
        };
        self.push(Op::Alu(op), kind);
        out
    }

    fn alu_assert(
        &mut self,
        kind: OpKind,
        coeffs: [Val; 4],
        (a, b, c): (Option<Addr>, Option<Addr>, Option<Addr>),
        equals: Addr,
    ) {
        let op = AluOp {
            a,
            b,
            c,
            coeffs,
            out: AluOut::Assert(equals),
        };
        self.push(Op::Alu(op), kind);
    }

    /// `a + b`
    pub fn add<V: Var>(&mut self, a: V, b: V) -> V {
        let o = self.alu(
            OpKind::Add,
            [Val::ZERO, Val::ONE, Val::ONE, Val::ZERO],
            Some(a.addr()),
            Some(b.addr()),
            None,
        );
        V::from_addr(o)
    }

    /// `a - b`
    pub fn sub<V: Var>(&mut self, a: V, b: V) -> V {
        let o = self.alu(
            OpKind::Sub,
            [Val::ZERO, Val::ONE, Val::NEG_ONE, Val::ZERO],
            Some(a.addr()),
            Some(b.addr()),
            None,
        );
        V::from_addr(o)
    }

    /// `a * b`
    pub fn mul<V: Var>(&mut self, a: V, b: V) -> V {
        let o = self.alu(
            OpKind::Mul,
            [Val::ONE, Val::ZERO, Val::ZERO, Val::ZERO],
            Some(a.addr()),
            Some(b.addr()),
            None,
        );
        V::from_addr(o)
    }

    /// `a * b + c`
    pub fn mul_add<V: Var>(&mut self, a: V, b: V, c: V) -> V {
        let o = self.alu(
            OpKind::MulAdd,
            [Val::ONE, Val::ZERO, Val::ZERO, Val::ONE],
            Some(a.addr()),
            Some(b.addr()),
            Some(c.addr()),
        );
        V::from_addr(o)
    }

    /// `-a`
    pub fn neg<V: Var>(&mut self, a: V) -> V {
        let o = self.alu(
            OpKind::Neg,
            [Val::ZERO, Val::NEG_ONE, Val::ZERO, Val::ZERO],
            Some(a.addr()),
            None,
            None,
        );
        V::from_addr(o)
    }

    /// `m*a*b + x*a + y*b + z*c` with base constants: one ALU lane for any such
    /// combination (e.g. `a - 2b + c`).
    pub fn linear<V: Var>(&mut self, coeffs: [Val; 4], a: V, b: V, c: V) -> V {
        let o = self.alu(
            OpKind::Linear,
            coeffs,
            Some(a.addr()),
            Some(b.addr()),
            Some(c.addr()),
        );
        V::from_addr(o)
    }

    /// `a * k` for a base constant `k` (one lane, no constant cell).
    pub fn scale<V: Var>(&mut self, a: V, k: Val) -> V {
        let o = self.alu(
            OpKind::Linear,
            [Val::ZERO, k, Val::ZERO, Val::ZERO],
            Some(a.addr()),
            None,
            None,
        );
        V::from_addr(o)
    }

    /// `1 / a`: the inverse is a hint, checked by one lane (`a * inv = 1`). Running the
    /// circuit fails at this op if `a` is zero.
    pub fn inverse<V: Var>(&mut self, a: V) -> V {
        let inv = self.fresh();
        self.push(
            Op::Hint {
                out: inv,
                source: HintSource::Inverse(a.addr()),
                base: V::BASE,
            },
            OpKind::Inverse,
        );
        let one = self.one().0;
        self.alu_assert(
            OpKind::Inverse,
            [Val::ONE, Val::ZERO, Val::ZERO, Val::ZERO],
            (Some(a.addr()), Some(inv), None),
            one,
        );
        V::from_addr(inv)
    }

    /// `a / b`
    pub fn div<V: Var>(&mut self, a: V, b: V) -> V {
        let inv = self.inverse(b);
        self.mul(a, inv)
    }

    /// Requires `a == b`.
    pub fn assert_eq<V: Var>(&mut self, a: V, b: V) {
        self.alu_assert(
            OpKind::AssertEq,
            [Val::ZERO, Val::ONE, Val::ZERO, Val::ZERO],
            (Some(a.addr()), None, None),
            b.addr(),
        );
    }

    /// Requires `a == 0`.
    pub fn assert_zero<V: Var>(&mut self, a: V) {
        let zero = self.zero();
        self.assert_eq(a, V::from_addr(zero.0));
    }

    /// Requires `bit` to be 0 or 1 (`bit * bit - bit = 0`), once per cell.
    pub fn assert_bool(&mut self, bit: Felt) {
        if self.booleans.contains(&bit.0) {
            return;
        }
        let zero = self.zero().0;
        self.alu_assert(
            OpKind::BoolCheck,
            [Val::ONE, Val::NEG_ONE, Val::ZERO, Val::ZERO],
            (Some(bit.0), Some(bit.0), None),
            zero,
        );
        self.booleans.insert(bit.0);
    }

    /// Records that `bit` is boolean without a check: only for a cell the caller has
    /// derived from checked booleans by operations that keep them boolean (e.g. `1 - b`,
    /// `a + b - a b`, `sum_L e_L b_L` over a checked one-hot vector `e`).
    pub(crate) fn assume_boolean(&mut self, bit: Felt) {
        self.booleans.insert(bit.0);
    }

    /// `bit ? x : y`, with `bit` checked boolean. Two lanes: `d = x - y`, `bit*d + y`.
    pub fn select<V: Var>(&mut self, bit: Felt, x: V, y: V) -> V {
        self.assert_bool(bit);
        let d = self.alu(
            OpKind::Select,
            [Val::ZERO, Val::ONE, Val::NEG_ONE, Val::ZERO],
            Some(x.addr()),
            Some(y.addr()),
            None,
        );
        let o = self.alu(
            OpKind::Select,
            [Val::ONE, Val::ZERO, Val::ZERO, Val::ONE],
            Some(bit.0),
            Some(d),
            Some(y.addr()),
        );
        V::from_addr(o)
    }

    /// The 31 bits of `x`, least significant first, checked canonical: they encode
    /// `x` itself, not `x + p`.
    pub fn bits(&mut self, x: Felt) -> [Felt; FELT_BITS] {
        let bits: [Addr; FELT_BITS] = core::array::from_fn(|_| self.fresh());
        self.push(Op::Bits(BitsOp { input: x.0, bits }), OpKind::Bits);
        self.booleans.extend(bits);
        bits.map(Felt)
    }

    /// `base^(sum_j bits[j] 2^j)` for a constant `base` and bits least significant first
    /// (checked boolean): one lane per bit, `acc * (1 + bit (base^(2^j) - 1))`, the
    /// powers of `base` being coefficients of the program.
    pub fn exp_bits_const(&mut self, base: Val, bits: &[Felt]) -> Felt {
        let mut acc = self.one();
        let mut pow = base;
        for &bit in bits {
            self.assert_bool(bit);
            let o = self.alu(
                OpKind::ExpBits,
                [pow - Val::ONE, Val::ONE, Val::ZERO, Val::ZERO],
                Some(acc.0),
                Some(bit.0),
                None,
            );
            acc = Felt(o);
            pow = pow.square();
        }
        acc
    }

    /// `base^(reverse of the bit string)`: the FRI query point's `x^(rev bits of i)`
    /// (bits least significant first; the most significant becomes the lowest power).
    pub fn exp_reverse_bits_const(&mut self, base: Val, bits: &[Felt]) -> Felt {
        let reversed: Vec<Felt> = bits.iter().rev().copied().collect();
        self.exp_bits_const(base, &reversed)
    }

    /// `limbs[0] + limbs[1] X + limbs[2] X^2 + limbs[3] X^3`, the extension element with
    /// these base coordinates (three lanes).
    pub fn ext_from_limbs(&mut self, limbs: [Felt; 4]) -> Ext {
        let mut acc = limbs[0].0;
        for (j, limb) in limbs.iter().enumerate().skip(1) {
            let xj = self.basis(j);
            acc = self.alu(
                OpKind::Recompose,
                [Val::ONE, Val::ZERO, Val::ZERO, Val::ONE],
                Some(limb.0),
                Some(xj),
                Some(acc),
            );
        }
        Ext(acc)
    }

    fn basis(&mut self, j: usize) -> Addr {
        let x = <Challenge as p3_field::BasedVectorSpace<Val>>::ith_basis_element(j).unwrap();
        self.constant_ext(x).0
    }

    /// The four base coordinates of `e`: hints, checked by recomposing them into `e`.
    pub fn ext_to_limbs(&mut self, e: Ext) -> [Felt; 4] {
        let limbs: [Addr; 4] = core::array::from_fn(|j| {
            let out = self.fresh();
            self.push(
                Op::Hint {
                    out,
                    source: HintSource::Limb(e.0, j),
                    base: true,
                },
                OpKind::Recompose,
            );
            out
        });
        let mut acc = limbs[0];
        for (j, &limb) in limbs.iter().enumerate().skip(1) {
            let xj = self.basis(j);
            if j < 3 {
                acc = self.alu(
                    OpKind::Recompose,
                    [Val::ONE, Val::ZERO, Val::ZERO, Val::ONE],
                    Some(limb),
                    Some(xj),
                    Some(acc),
                );
            } else {
                self.alu_assert(
                    OpKind::Recompose,
                    [Val::ONE, Val::ZERO, Val::ZERO, Val::ONE],
                    (Some(limb), Some(xj), Some(acc)),
                    e.0,
                );
            }
        }
        limbs.map(Felt)
    }

    /// Four base values packed into one cell (three lanes, as [`Self::ext_from_limbs`]).
    pub fn pack(&mut self, values: [Felt; 4]) -> Quad {
        self.ext_from_limbs(values).quad()
    }

    /// The four base values of a cell (hints checked by recomposition, as
    /// [`Self::ext_to_limbs`]).
    pub fn unpack(&mut self, q: Quad) -> [Felt; 4] {
        self.ext_to_limbs(q.ext())
    }

    // ---- hashing -------------------------------------------------------------------

    /// One Poseidon2-16 permutation of four groups of four lanes.
    pub fn poseidon2(&mut self, groups: [Group; 4]) -> [Quad; 4] {
        self.poseidon2_op(groups, None, 0)
    }

    /// The permutation with every option: halves swapped when `dir` is 1 (the table
    /// checks it boolean), `tag` added to lane 8 after the swap.
    pub fn poseidon2_op(&mut self, groups: [Group; 4], dir: Option<Felt>, tag: u8) -> [Quad; 4] {
        let outs: [Addr; 4] = core::array::from_fn(|_| self.fresh());
        self.push(
            Op::Poseidon2(Poseidon2Op {
                groups,
                dir,
                tag,
                outs,
            }),
            OpKind::Poseidon2,
        );
        outs.map(Quad)
    }

    /// `acc * alpha^n + sum_k x_k alpha^(n-1-k)` over the first `len` base values `x_k` of
    /// `values` (four per quad), `acc` zero when absent (Horner's rule): the reduced-opening
    /// accumulation. Rows of [`crate::tables::horner::STEPS`] steps (two quads), each row's
    /// result chained into the next.
    pub fn horner(&mut self, acc: Option<Ext>, alpha: Ext, values: &[Quad], len: usize) -> Ext {
        assert!(
            len <= 4 * values.len() && len + 4 > 4 * values.len(),
            "{len} values do not fill {} quads",
            values.len()
        );
        let mut acc = acc.map(|e| e.0);
        let steps = crate::tables::horner::STEPS;
        for (row, chunk) in values.chunks(steps / 4).enumerate() {
            let out = self.fresh();
            let n = (len - row * steps).min(steps);
            self.push(
                Op::Horner(HornerOp {
                    acc,
                    alpha: alpha.0,
                    values: [Some(chunk[0].0), chunk.get(1).map(|q| q.0)],
                    len: n as u8,
                    out,
                }),
                OpKind::Horner,
            );
            acc = Some(out);
        }
        match acc {
            Some(a) => Ext(a),
            None => self.zero().ext(),
        }
    }

    /// The finished circuit.
    pub fn build(self) -> Circuit {
        self.circuit
    }
}
