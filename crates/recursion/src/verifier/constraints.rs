//! One child AIR's constraints at the out-of-domain point `zeta`, in circuit ops: the
//! "constraints at zeta, per AIR" step of `starkscope_stark_backend::verify`.
//!
//! The AIR's symbolic constraints (its own `eval`'s, then LogUp's, from
//! [`starkscope_stark_backend::keygen::symbolic_constraints`], the derivation keygen
//! runs) are compiled to ALU ops: every distinct DAG node once (memoised by its address,
//! i.e. by `Arc` identity for shared subexpressions), nodes whose operands are constants
//! computed natively, a product with a base constant as one `scale` lane, a product that
//! only feeds one sum fused into it (`m·a·b + z·c`, one lane). They are folded as
//! `acc = acc * alpha + c_k` in the verifier's order, and the result is checked against
//! the quotient recombined from its chunks times `Z_H(zeta)`, with `Z_H(zeta)` checked
//! invertible (the native verifier refuses a `zeta` in the trace domain).
//!
//! Everything that depends on the trace height (`zeta^n`, the selectors, the quotient
//! chunks' vanishing polynomials and weights) is in [`HeightTerms`], so that the height can
//! later become a circuit variable by changing that one part.

use std::collections::HashMap;
use std::sync::Arc;

use p3_air::symbolic::{
    BaseEntry, BaseLeaf, ExtEntry, ExtLeaf, SymbolicExpr, SymbolicExpression,
    SymbolicExpressionExt,
};
use p3_commit::PolynomialSpace;
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing, TwoAdicField};
use starkscope_stark_backend::keygen::{symbolic_constraints, AirInfo, ConstraintRef};
use starkscope_stark_backend::{Challenge, StarkConfig, Val, VerifyingKey};

use crate::builder::CircuitBuilder;
use crate::ir::{Ext, Felt};

const D: usize = <Challenge as BasedVectorSpace<Val>>::DIMENSION;

/// One child AIR's claimed values at zeta (and zeta*g), as cells. Same layouts as
/// `starkscope_stark_backend::proof::AirOpenings`.
#[derive(Clone, Debug)]
pub struct AirOpeningVars {
    pub main_local: Vec<Ext>,
    /// Empty if the AIR does not read the next row.
    pub main_next: Vec<Ext>,
    pub preprocessed_local: Vec<Ext>,
    /// Empty if the AIR does not read the next preprocessed row.
    pub preprocessed_next: Vec<Ext>,
    /// Base coordinates, 4 per extension column.
    pub permutation_local: Vec<Ext>,
    pub permutation_next: Vec<Ext>,
    pub quotient_chunks: Vec<[Ext; 4]>,
}

/// Emits the ops that check AIR `air_id` of `vk` at `zeta`: the folded constraints equal
/// `quotient(zeta) * Z_H(zeta)`, and `Z_H(zeta)` is non-zero (a checked inverse).
///
/// `log_height` is the child's trace height for this AIR, a constant of the circuit;
/// `lookup_challenges` is this AIR's LogUp challenge list (the native verifier's
/// `lookup_challenges[air_id]`); `cumulative_sum` is present iff the AIR has lookups.
/// Panics if the cells given do not have the shapes the key describes.
#[allow(clippy::too_many_arguments)]
pub fn check_air_at_zeta(
    b: &mut CircuitBuilder,
    config: &StarkConfig,
    vk: &VerifyingKey,
    air_id: usize,
    log_height: usize,
    openings: &AirOpeningVars,
    public_values: &[Felt],
    cumulative_sum: Option<Ext>,
    lookup_challenges: &[Ext],
    alpha: Ext,
    zeta: Ext,
) {
    let info = vk.air_info(air_id);
    check_shapes(info, openings, public_values, cumulative_sum, lookup_challenges);
    if let Some(p) = &info.preprocessed {
        assert_eq!(
            p.log_height, log_height,
            "AIR {air_id}: the preprocessed trace fixes the height"
        );
    }

    let mut height = HeightTerms::new(b, config, info, log_height, zeta);

    let constraints = symbolic_constraints(vk, air_id);
    let mut c = Compiler {
        openings,
        public_values,
        cumulative_sum,
        lookup_challenges,
        opens_main_next: info.opens_main_next,
        opens_preprocessed_next: info.opens_preprocessed_next,
        height: &mut height,
        base_memo: HashMap::new(),
        ext_memo: HashMap::new(),
        perm_memo: HashMap::new(),
    };
    let mut acc = V::Const(Challenge::ZERO);
    for con in constraints.in_folding_order() {
        let v = match con {
            ConstraintRef::Base(e) => c.base(b, e),
            ConstraintRef::Ext(e) => c.ext(b, e),
        };
        acc = fold_step(b, acc, alpha, v);
    }
    let folded = cell(b, acc);

    let quotient = height.quotient(b, &openings.quotient_chunks);
    let rhs = b.mul(quotient, height.z_h);
    b.assert_eq(folded, rhs);
    // The native verifier rejects a zeta in the trace domain; here the run fails.
    b.inverse(height.z_h);
}

#[allow(clippy::too_many_arguments)]
fn check_shapes(
    info: &AirInfo,
    o: &AirOpeningVars,
    public_values: &[Felt],
    cumulative_sum: Option<Ext>,
    lookup_challenges: &[Ext],
) {
    let name = &info.name;
    let next = |opens: bool, w: usize| if opens { w } else { 0 };
    let checks = [
        ("main_local", o.main_local.len(), info.main_width),
        (
            "main_next",
            o.main_next.len(),
            next(info.opens_main_next, info.main_width),
        ),
        (
            "preprocessed_local",
            o.preprocessed_local.len(),
            info.preprocessed_width(),
        ),
        (
            "preprocessed_next",
            o.preprocessed_next.len(),
            next(info.opens_preprocessed_next, info.preprocessed_width()),
        ),
        (
            "permutation_local",
            o.permutation_local.len(),
            info.permutation_width_base(),
        ),
        (
            "permutation_next",
            o.permutation_next.len(),
            info.permutation_width_base(),
        ),
        (
            "quotient_chunks",
            o.quotient_chunks.len(),
            info.num_quotient_chunks(),
        ),
        (
            "public_values",
            public_values.len(),
            info.num_public_values,
        ),
        (
            "lookup_challenges",
            lookup_challenges.len(),
            2 * info.lookups.len(),
        ),
    ];
    for (what, got, expected) in checks {
        assert_eq!(got, expected, "AIR {name}: {what} has {got} cells, expected {expected}");
    }
    assert_eq!(
        cumulative_sum.is_some(),
        !info.lookups.is_empty(),
        "AIR {name}: cumulative sum present iff the AIR has lookups"
    );
}

/// A compiled node: a value known when the circuit is built, or a cell.
#[derive(Clone, Copy, Debug)]
enum V {
    Const(Challenge),
    Cell(Ext),
}

fn basis(d: usize) -> Challenge {
    <Challenge as BasedVectorSpace<Val>>::ith_basis_element(d).unwrap_or(Challenge::ZERO)
}

/// `Some(k)` if `c` is a base-field element.
fn as_base(c: Challenge) -> Option<Val> {
    let coeffs: &[Val] = c.as_basis_coefficients_slice();
    coeffs[1..]
        .iter()
        .all(|x| x.is_zero())
        .then_some(coeffs[0])
}

fn cell(b: &mut CircuitBuilder, v: V) -> Ext {
    match v {
        V::Cell(e) => e,
        V::Const(c) => b.constant_ext(c),
    }
}

fn add(b: &mut CircuitBuilder, x: V, y: V) -> V {
    match (x, y) {
        (V::Const(p), V::Const(q)) => V::Const(p + q),
        (V::Cell(e), V::Const(c)) | (V::Const(c), V::Cell(e)) if c.is_zero() => V::Cell(e),
        _ => {
            let (x, y) = (cell(b, x), cell(b, y));
            V::Cell(b.add(x, y))
        }
    }
}

fn sub(b: &mut CircuitBuilder, x: V, y: V) -> V {
    match (x, y) {
        (V::Const(p), V::Const(q)) => V::Const(p - q),
        (V::Cell(e), V::Const(c)) if c.is_zero() => V::Cell(e),
        (V::Const(c), V::Cell(e)) if c.is_zero() => V::Cell(b.neg(e)),
        _ => {
            let (x, y) = (cell(b, x), cell(b, y));
            V::Cell(b.sub(x, y))
        }
    }
}

fn neg(b: &mut CircuitBuilder, x: V) -> V {
    match x {
        V::Const(c) => V::Const(-c),
        V::Cell(e) => V::Cell(b.neg(e)),
    }
}

fn mul(b: &mut CircuitBuilder, x: V, y: V) -> V {
    match (x, y) {
        (V::Const(p), V::Const(q)) => V::Const(p * q),
        (V::Cell(e), V::Const(c)) | (V::Const(c), V::Cell(e)) => {
            if c.is_zero() {
                V::Const(Challenge::ZERO)
            } else if c == Challenge::ONE {
                V::Cell(e)
            } else if let Some(k) = as_base(c) {
                V::Cell(b.scale(e, k))
            } else {
                let k = b.constant_ext(c);
                V::Cell(b.mul(e, k))
            }
        }
        (V::Cell(p), V::Cell(q)) => V::Cell(b.mul(p, q)),
    }
}

/// `sign · x · y + z` in one lane when possible (`m·a·b + z·c` with base `m`, `z`).
fn mul_add_signed(b: &mut CircuitBuilder, x: V, y: V, z: V, negate_product: bool) -> V {
    match (x, y, z) {
        (V::Cell(p), V::Cell(q), V::Cell(r)) => {
            let m = if negate_product { Val::NEG_ONE } else { Val::ONE };
            V::Cell(b.linear([m, Val::ZERO, Val::ZERO, Val::ONE], p, q, r))
        }
        _ => {
            let prod = mul(b, x, y);
            if negate_product {
                sub(b, z, prod)
            } else {
                add(b, prod, z)
            }
        }
    }
}

/// `acc * alpha + c` (the verifier's folding step).
fn fold_step(b: &mut CircuitBuilder, acc: V, alpha: Ext, c: V) -> V {
    match acc {
        V::Const(a) if a.is_zero() => c,
        _ => mul_add_signed(b, acc, V::Cell(alpha), c, false),
    }
}

/// The height-dependent part of the check, for a trace domain of size `n = 2^log_height`
/// with shift 1: `zeta^n`, `Z_H(zeta) = zeta^n - 1`, the Lagrange selectors (made on
/// first use) and the quotient chunks' vanishing polynomials at `zeta` and weights.
struct HeightTerms {
    zeta: Ext,
    z_h: Ext,
    /// `g^-1`, g the trace domain's generator.
    g_inv: Val,
    is_first_row: Option<Ext>,
    is_last_row: Option<Ext>,
    is_transition: Option<Ext>,
    /// Per chunk j: `prod_{k != j} Z_k(zeta)` (a cell; `None` with one chunk) and the
    /// native constant `1 / prod_{k != j} Z_k(first point of chunk j)`.
    chunk_weights: Vec<(Option<Ext>, Val)>,
}

impl HeightTerms {
    fn new(
        b: &mut CircuitBuilder,
        config: &StarkConfig,
        info: &AirInfo,
        log_height: usize,
        zeta: Ext,
    ) -> Self {
        let n = 1usize << log_height;
        let mut zeta_n = zeta;
        for _ in 0..log_height {
            zeta_n = b.mul(zeta_n, zeta_n);
        }
        let one = b.constant_ext(Challenge::ONE);
        let z_h = b.sub(zeta_n, one);

        // The quotient chunks' cosets, exactly as the native verifier derives them.
        let trace = config.domain(n);
        let quotient_domain = trace.create_disjoint_domain(n << info.log_quotient_chunks);
        let chunks = quotient_domain.split_domains(info.num_quotient_chunks());
        let neg_one = b.constant_ext(-Challenge::ONE);
        // Z_k(zeta) = (zeta / s_k)^n - 1 = zeta^n * s_k^-n - 1: one lane from zeta^n.
        let z_k: Vec<Ext> = if chunks.len() == 1 {
            Vec::new()
        } else {
            chunks
                .iter()
                .map(|d| {
                    assert_eq!(d.size(), n, "a quotient chunk has the trace's size");
                    let s_inv_n = d.first_point().inverse().exp_u64(n as u64);
                    b.linear([Val::ZERO, s_inv_n, Val::ZERO, Val::ONE], zeta_n, zeta_n, neg_one)
                })
                .collect()
        };
        let chunk_weights = (0..chunks.len())
            .map(|j| {
                let mut prod: Option<Ext> = None;
                let mut denom = Val::ONE;
                for (k, other) in chunks.iter().enumerate() {
                    if k != j {
                        denom *= other.vanishing_poly_at_point(chunks[j].first_point());
                        prod = Some(match prod {
                            None => z_k[k],
                            Some(p) => b.mul(p, z_k[k]),
                        });
                    }
                }
                (prod, denom.inverse())
            })
            .collect();
        Self {
            zeta,
            z_h,
            g_inv: Val::two_adic_generator(log_height).inverse(),
            is_first_row: None,
            is_last_row: None,
            is_transition: None,
            chunk_weights,
        }
    }

    /// `z_h / (zeta - p)`.
    fn lagrange(&self, b: &mut CircuitBuilder, p: Val) -> Ext {
        let neg_p = b.constant(-p).ext();
        let den = b.add(self.zeta, neg_p);
        let inv = b.inverse(den);
        b.mul(self.z_h, inv)
    }

    fn is_first_row(&mut self, b: &mut CircuitBuilder) -> Ext {
        if self.is_first_row.is_none() {
            self.is_first_row = Some(self.lagrange(b, Val::ONE));
        }
        self.is_first_row.unwrap()
    }

    fn is_last_row(&mut self, b: &mut CircuitBuilder) -> Ext {
        if self.is_last_row.is_none() {
            self.is_last_row = Some(self.lagrange(b, self.g_inv));
        }
        self.is_last_row.unwrap()
    }

    fn is_transition(&mut self, b: &mut CircuitBuilder) -> Ext {
        if self.is_transition.is_none() {
            let neg = b.constant(-self.g_inv).ext();
            self.is_transition = Some(b.add(self.zeta, neg));
        }
        self.is_transition.unwrap()
    }

    /// `Q(zeta) = sum_j L_j(zeta) Q_j(zeta)`, `Q_j(zeta) = sum_d chunk_j[d] X^d`.
    fn quotient(&self, b: &mut CircuitBuilder, chunks: &[[Ext; 4]]) -> Ext {
        let mut q: Option<Ext> = None;
        for (chunk, &(prod, denom_inv)) in chunks.iter().zip(&self.chunk_weights) {
            let qj = ext_from_coords(b, chunk);
            q = Some(match (prod, q) {
                (None, _) => qj,
                (Some(p), None) => b.linear([denom_inv, Val::ZERO, Val::ZERO, Val::ZERO], p, qj, qj),
                (Some(p), Some(acc)) => {
                    b.linear([denom_inv, Val::ZERO, Val::ZERO, Val::ONE], p, qj, acc)
                }
            });
        }
        q.expect("at least one quotient chunk")
    }
}

/// `sum_d c_d X^d`: an extension element from its coordinates, each an extension value
/// (a base column opened at an extension point). Three lanes.
fn ext_from_coords(b: &mut CircuitBuilder, c: &[Ext]) -> Ext {
    let mut acc = c[0];
    for (d, &x) in c.iter().enumerate().take(D).skip(1) {
        let xd = b.constant_ext(basis(d));
        acc = b.mul_add(x, xd, acc);
    }
    acc
}

struct Compiler<'a> {
    openings: &'a AirOpeningVars,
    public_values: &'a [Felt],
    cumulative_sum: Option<Ext>,
    lookup_challenges: &'a [Ext],
    opens_main_next: bool,
    opens_preprocessed_next: bool,
    height: &'a mut HeightTerms,
    base_memo: HashMap<usize, V>,
    ext_memo: HashMap<usize, V>,
    perm_memo: HashMap<(usize, usize), Ext>,
}

/// The leaf kinds the compiler reads.
trait Leaf: Sized {
    fn compile(&self, c: &mut Compiler<'_>, b: &mut CircuitBuilder) -> V;
    fn memo<'m>(c: &'m mut Compiler<'_>) -> &'m mut HashMap<usize, V>;
}

impl Leaf for BaseLeaf<Val> {
    fn compile(&self, c: &mut Compiler<'_>, b: &mut CircuitBuilder) -> V {
        match self {
            BaseLeaf::Variable(v) => {
                let row = |local: &[Ext], next: &[Ext], opens_next: bool, offset: usize| match offset {
                    0 => V::Cell(local[v.index]),
                    // The native verifier evaluates an unopened next row as zeros.
                    1 if !opens_next => V::Const(Challenge::ZERO),
                    1 => V::Cell(next[v.index]),
                    _ => panic!("row offset {offset} is not supported"),
                };
                let o = c.openings;
                match v.entry {
                    BaseEntry::Main { offset } => {
                        row(&o.main_local, &o.main_next, c.opens_main_next, offset)
                    }
                    BaseEntry::Preprocessed { offset } => row(
                        &o.preprocessed_local,
                        &o.preprocessed_next,
                        c.opens_preprocessed_next,
                        offset,
                    ),
                    BaseEntry::Public => V::Cell(c.public_values[v.index].ext()),
                    BaseEntry::Periodic => panic!("periodic columns are refused by keygen"),
                }
            }
            BaseLeaf::IsFirstRow => V::Cell(c.height.is_first_row(b)),
            BaseLeaf::IsLastRow => V::Cell(c.height.is_last_row(b)),
            BaseLeaf::IsTransition => V::Cell(c.height.is_transition(b)),
            BaseLeaf::Constant(k) => V::Const(Challenge::from(*k)),
        }
    }

    fn memo<'m>(c: &'m mut Compiler<'_>) -> &'m mut HashMap<usize, V> {
        &mut c.base_memo
    }
}

impl Leaf for ExtLeaf<Val, Challenge> {
    fn compile(&self, c: &mut Compiler<'_>, b: &mut CircuitBuilder) -> V {
        match self {
            ExtLeaf::Base(e) => c.base(b, e),
            ExtLeaf::ExtConstant(k) => V::Const(*k),
            ExtLeaf::ExtVariable(v) => match v.entry {
                ExtEntry::Permutation { offset } => {
                    let key = (offset, v.index);
                    if let Some(&e) = c.perm_memo.get(&key) {
                        return V::Cell(e);
                    }
                    let flat = match offset {
                        0 => &c.openings.permutation_local,
                        1 => &c.openings.permutation_next,
                        _ => panic!("permutation row offset {offset} is not supported"),
                    };
                    let e = ext_from_coords(b, &flat[D * v.index..D * (v.index + 1)]);
                    c.perm_memo.insert(key, e);
                    V::Cell(e)
                }
                ExtEntry::Challenge => V::Cell(c.lookup_challenges[v.index]),
                ExtEntry::PermutationValue => {
                    assert_eq!(v.index, 0, "one permutation value: the cumulative sum");
                    V::Cell(c.cumulative_sum.expect("an AIR with lookups has a cumulative sum"))
                }
            },
        }
    }

    fn memo<'m>(c: &'m mut Compiler<'_>) -> &'m mut HashMap<usize, V> {
        &mut c.ext_memo
    }
}

impl Compiler<'_> {
    fn base(&mut self, b: &mut CircuitBuilder, e: &SymbolicExpression<Val>) -> V {
        self.node(b, e)
    }

    fn ext(&mut self, b: &mut CircuitBuilder, e: &SymbolicExpressionExt<Val, Challenge>) -> V {
        self.node(b, e)
    }

    /// A product node that only this parent reads (so it needs no cell of its own), as
    /// its two compiled factors.
    fn fusable_product<A: Leaf>(
        &mut self,
        b: &mut CircuitBuilder,
        e: &Arc<SymbolicExpr<A>>,
    ) -> Option<(V, V)> {
        if Arc::strong_count(e) != 1 || A::memo(self).contains_key(&key(e)) {
            return None;
        }
        match &**e {
            SymbolicExpr::Mul { x, y, .. } => {
                let fx = self.child(b, x);
                let fy = self.child(b, y);
                Some((fx, fy))
            }
            _ => None,
        }
    }

    fn child<A: Leaf>(&mut self, b: &mut CircuitBuilder, e: &Arc<SymbolicExpr<A>>) -> V {
        self.node(b, e)
    }

    /// Compiles a node once (memoised by its address: shared `Arc`s are one node).
    fn node<A: Leaf>(&mut self, b: &mut CircuitBuilder, e: &SymbolicExpr<A>) -> V {
        let k = e as *const SymbolicExpr<A> as usize;
        if let Some(&v) = A::memo(self).get(&k) {
            return v;
        }
        let v = match e {
            SymbolicExpr::Leaf(l) => l.compile(self, b),
            SymbolicExpr::Add { x, y, .. } => {
                if let Some((p, q)) = self.fusable_product(b, x) {
                    let z = self.child(b, y);
                    mul_add_signed(b, p, q, z, false)
                } else if let Some((p, q)) = self.fusable_product(b, y) {
                    let z = self.child(b, x);
                    mul_add_signed(b, p, q, z, false)
                } else {
                    let (x, y) = (self.child(b, x), self.child(b, y));
                    add(b, x, y)
                }
            }
            SymbolicExpr::Sub { x, y, .. } => {
                if let Some((p, q)) = self.fusable_product(b, y) {
                    let z = self.child(b, x);
                    mul_add_signed(b, p, q, z, true)
                } else {
                    let (x, y) = (self.child(b, x), self.child(b, y));
                    sub(b, x, y)
                }
            }
            SymbolicExpr::Neg { x, .. } => {
                let x = self.child(b, x);
                neg(b, x)
            }
            SymbolicExpr::Mul { x, y, .. } => {
                let (x, y) = (self.child(b, x), self.child(b, y));
                mul(b, x, y)
            }
        };
        A::memo(self).insert(k, v);
        v
    }
}

fn key<A>(e: &Arc<SymbolicExpr<A>>) -> usize {
    Arc::as_ptr(e) as usize
}
