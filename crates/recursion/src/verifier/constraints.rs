//! One child AIR's constraints at the out-of-domain point `zeta`, in circuit ops: the
//! "constraints at zeta, per AIR" step of `starkscope_stark_backend::verify`.
//!
//! The AIR's symbolic constraints (its own `eval`'s, then LogUp's, from
//! [`starkscope_stark_backend::keygen::symbolic_constraints`], the derivation keygen
//! runs) are compiled to ALU ops: every distinct DAG node once (memoised by `Arc`
//! identity for shared subexpressions), nodes whose operands are constants computed
//! natively. A node is kept as a linear form `sum k_i cell_i + m·a·b + constant` (base
//! `k_i`, `m`) until a product, a sharing parent or the fold needs it in a cell: sums,
//! differences, negations and products by base constants then cost nothing, and one ALU
//! lane absorbs a product and a term, or three terms (see [`cell`]). They are folded as
//! `acc = acc * alpha + c_k` in the verifier's order, and the result is checked against
//! the quotient recombined from its chunks times `Z_H(zeta)`, with `Z_H(zeta)` checked
//! invertible (the native verifier refuses a `zeta` in the trace domain).
//!
//! Everything that depends on the trace height (`zeta^n`, the selectors, the quotient
//! chunks' vanishing polynomials and weights) is in [`HeightTerms`]: constants for a fixed
//! height, selections by the one-hot height vector for a variable one
//! ([`check_air_at_height`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use p3_air::symbolic::{
    BaseEntry, BaseLeaf, ExtEntry, ExtLeaf, SymbolicExpr, SymbolicExpression, SymbolicExpressionExt,
};
use p3_commit::PolynomialSpace;
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing, TwoAdicField};
use starkscope_stark_backend::keygen::{symbolic_constraints, AirInfo, ConstraintRef};
use starkscope_stark_backend::{Challenge, StarkConfig, Val, VerifyingKey};

use super::heights::HeightVar;
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
/// `log_height` is the child's trace height for this AIR, a constant of the circuit
/// ([`check_air_at_height`] takes a variable one);
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
    check_air(
        b,
        config,
        vk,
        air_id,
        Height::Fixed(log_height),
        openings,
        public_values,
        cumulative_sum,
        lookup_challenges,
        alpha,
        zeta,
    )
}

/// [`check_air_at_zeta`] for a height that may vary: `height` its one-hot selection,
/// `zeta_pows[L] = zeta^(2^L)` up to its largest candidate (unused if it is fixed).
#[allow(clippy::too_many_arguments)]
pub fn check_air_at_height(
    b: &mut CircuitBuilder,
    config: &StarkConfig,
    vk: &VerifyingKey,
    air_id: usize,
    height: &HeightVar,
    zeta_pows: &[Ext],
    openings: &AirOpeningVars,
    public_values: &[Felt],
    cumulative_sum: Option<Ext>,
    lookup_challenges: &[Ext],
    alpha: Ext,
    zeta: Ext,
) {
    let h = match height.fixed() {
        Some(h) => Height::Fixed(h),
        None => Height::Var(height, zeta_pows),
    };
    check_air(
        b,
        config,
        vk,
        air_id,
        h,
        openings,
        public_values,
        cumulative_sum,
        lookup_challenges,
        alpha,
        zeta,
    )
}

enum Height<'a> {
    Fixed(usize),
    Var(&'a HeightVar, &'a [Ext]),
}

#[allow(clippy::too_many_arguments)]
fn check_air(
    b: &mut CircuitBuilder,
    config: &StarkConfig,
    vk: &VerifyingKey,
    air_id: usize,
    height: Height<'_>,
    openings: &AirOpeningVars,
    public_values: &[Felt],
    cumulative_sum: Option<Ext>,
    lookup_challenges: &[Ext],
    alpha: Ext,
    zeta: Ext,
) {
    let info = vk.air_info(air_id);
    check_shapes(
        info,
        openings,
        public_values,
        cumulative_sum,
        lookup_challenges,
    );
    if let Some(p) = &info.preprocessed {
        assert!(
            matches!(height, Height::Fixed(h) if h == p.log_height),
            "AIR {air_id}: the preprocessed trace fixes the height"
        );
    }

    let mut height = match height {
        Height::Fixed(log_height) => HeightTerms::new(b, config, info, log_height, zeta),
        Height::Var(h, zeta_pows) => HeightTerms::new_var(b, config, info, h, zeta_pows, zeta),
    };

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
    let mut acc = None;
    for con in constraints.in_folding_order() {
        let v = match con {
            ConstraintRef::Base(e) => c.base(b, e),
            ConstraintRef::Ext(e) => c.ext(b, e),
        };
        acc = Some(fold_step(b, acc, alpha, v));
    }
    let folded = acc.unwrap_or_else(|| b.constant_ext(Challenge::ZERO));

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
        ("public_values", public_values.len(), info.num_public_values),
        (
            "lookup_challenges",
            lookup_challenges.len(),
            2 * info.lookups.len(),
        ),
    ];
    for (what, got, expected) in checks {
        assert_eq!(
            got, expected,
            "AIR {name}: {what} has {got} cells, expected {expected}"
        );
    }
    assert_eq!(
        cumulative_sum.is_some(),
        !info.lookups.is_empty(),
        "AIR {name}: cumulative sum present iff the AIR has lookups"
    );
}

/// A compiled node, kept as a linear form until something needs it in a cell:
/// `sum_i k_i cell_i + m a b + constant` with base `k_i`, `m`. A sum, a difference, a
/// negation or a product by a base constant costs nothing; a form is written to a cell
/// (materialised) when it is a factor of a product, is shared by several parents, or is
/// the folded accumulator. One ALU lane (`m·a·b + x·a + y·b + z·c`) then absorbs the
/// product and one term, or three terms, and every further lane two more.
#[derive(Clone, Debug)]
struct V {
    terms: Vec<(Ext, Val)>,
    prod: Option<(Ext, Ext, Val)>,
    constant: Challenge,
}

impl V {
    fn constant(c: Challenge) -> Self {
        Self {
            terms: Vec::new(),
            prod: None,
            constant: c,
        }
    }

    fn cell(e: Ext) -> Self {
        Self {
            terms: vec![(e, Val::ONE)],
            prod: None,
            constant: Challenge::ZERO,
        }
    }

    fn as_constant(&self) -> Option<Challenge> {
        (self.terms.is_empty() && self.prod.is_none()).then_some(self.constant)
    }

    fn add_term(&mut self, e: Ext, k: Val) {
        if let Some(i) = self.terms.iter().position(|t| t.0 == e) {
            self.terms[i].1 += k;
            if self.terms[i].1.is_zero() {
                let _ = self.terms.remove(i);
            }
        } else if !k.is_zero() {
            self.terms.push((e, k));
        }
    }

    fn scale(mut self, k: Val) -> Self {
        if k.is_zero() {
            return Self::constant(Challenge::ZERO);
        }
        for t in &mut self.terms {
            t.1 *= k;
        }
        if let Some(p) = &mut self.prod {
            p.2 *= k;
        }
        self.constant *= Challenge::from(k);
        self
    }

    /// Lanes [`cell`] spends on this form (about: terms on a factor's cell are free).
    fn lanes(&self) -> usize {
        self.lanes_with(0)
    }

    /// Lanes [`cell`] would spend with `extra` more terms.
    fn lanes_with(&self, extra: usize) -> usize {
        let t = self.terms.len() + extra + usize::from(!self.constant.is_zero());
        match (&self.prod, t) {
            (Some(_), t) => 1 + t.saturating_sub(1).div_ceil(2),
            (None, 0 | 1) => 0,
            (None, t) => (t - 1).div_ceil(2),
        }
    }

    /// `self + k * other`.
    fn add_scaled(self, b: &mut CircuitBuilder, other: Self, k: Val) -> Self {
        let other = other.scale(k);
        let mut out = if self.prod.is_some() && other.prod.is_some() {
            // One product per form: one side goes to a cell (its product's lane absorbing
            // a term) and becomes a term of the other; the cheaper way round.
            let (mut keep, to_cell) =
                if self.lanes() + other.lanes_with(1) <= other.lanes() + self.lanes_with(1) {
                    (other, self)
                } else {
                    (self, other)
                };
            let e = cell(b, to_cell);
            keep.add_term(e, Val::ONE);
            return keep;
        } else {
            self
        };
        for (e, c) in other.terms {
            out.add_term(e, c);
        }
        out.constant += other.constant;
        if out.prod.is_none() {
            out.prod = other.prod;
        }
        out
    }
}

fn basis(d: usize) -> Challenge {
    <Challenge as BasedVectorSpace<Val>>::ith_basis_element(d).unwrap_or(Challenge::ZERO)
}

/// `Some(k)` if `c` is a base-field element.
fn as_base(c: Challenge) -> Option<Val> {
    let coeffs: &[Val] = c.as_basis_coefficients_slice();
    coeffs[1..].iter().all(|x| x.is_zero()).then_some(coeffs[0])
}

/// Writes a form to a cell (no lane for a lone cell or a constant).
fn cell(b: &mut CircuitBuilder, v: V) -> Ext {
    let V {
        mut terms,
        prod,
        constant,
    } = v;
    if !constant.is_zero() {
        if terms.is_empty() && prod.is_none() {
            return b.constant_ext(constant);
        }
        let t = match as_base(constant) {
            Some(k) => (b.one().ext(), k),
            None => (b.constant_ext(constant), Val::ONE),
        };
        match terms.iter_mut().find(|x| x.0 == t.0) {
            Some(x) => x.1 += t.1,
            None => terms.push(t),
        }
        terms.retain(|x| !x.1.is_zero());
    }
    let (mut acc, mut rest) = match prod {
        Some((x, y, m)) => {
            // Terms on the factors' cells ride in the lane's `x·a + y·b`.
            let take = |terms: &mut Vec<(Ext, Val)>, e: Ext| {
                terms
                    .iter()
                    .position(|t| t.0 == e)
                    .map_or(Val::ZERO, |i| terms.remove(i).1)
            };
            let kx = take(&mut terms, x);
            let ky = if y == x {
                Val::ZERO
            } else {
                take(&mut terms, y)
            };
            let mut rest = terms.into_iter();
            let (z, c) = rest.next().map_or((Val::ZERO, y), |(e, k)| (k, e));
            (b.linear([m, kx, ky, z], x, y, c), rest)
        }
        None => {
            let mut rest = terms.into_iter();
            let lane = match (rest.next(), rest.next(), rest.next()) {
                (None, _, _) => return b.constant_ext(Challenge::ZERO),
                (Some((e, k)), None, _) if k == Val::ONE => return e,
                (Some((e, k)), None, _) => b.scale(e, k),
                (Some((e0, k0)), Some((e1, k1)), None) => {
                    b.linear([Val::ZERO, k0, k1, Val::ZERO], e0, e1, e1)
                }
                (Some((e0, k0)), Some((e1, k1)), Some((e2, k2))) => {
                    b.linear([Val::ZERO, k0, k1, k2], e0, e1, e2)
                }
            };
            (lane, rest)
        }
    };
    loop {
        match (rest.next(), rest.next()) {
            (None, _) => return acc,
            (Some((e, k)), None) => acc = b.linear([Val::ZERO, Val::ONE, k, Val::ZERO], acc, e, e),
            (Some((e0, k0)), Some((e1, k1))) => {
                acc = b.linear([Val::ZERO, Val::ONE, k0, k1], acc, e0, e1)
            }
        }
    }
}

fn add(b: &mut CircuitBuilder, x: V, y: V) -> V {
    x.add_scaled(b, y, Val::ONE)
}

fn sub(b: &mut CircuitBuilder, x: V, y: V) -> V {
    x.add_scaled(b, y, Val::NEG_ONE)
}

fn neg(x: V) -> V {
    x.scale(Val::NEG_ONE)
}

fn mul(b: &mut CircuitBuilder, x: V, y: V) -> V {
    match (x.as_constant(), y.as_constant()) {
        (Some(p), Some(q)) => V::constant(p * q),
        (Some(c), None) => mul_const(b, y, c),
        (None, Some(c)) => mul_const(b, x, c),
        (None, None) => {
            let (x, y) = (cell(b, x), cell(b, y));
            V {
                terms: Vec::new(),
                prod: Some((x, y, Val::ONE)),
                constant: Challenge::ZERO,
            }
        }
    }
}

fn mul_const(b: &mut CircuitBuilder, x: V, c: Challenge) -> V {
    match as_base(c) {
        Some(k) => x.scale(k),
        None => {
            let k = b.constant_ext(c);
            let x = cell(b, x);
            V {
                terms: Vec::new(),
                prod: Some((x, k, Val::ONE)),
                constant: Challenge::ZERO,
            }
        }
    }
}

/// `acc * alpha + c` (the verifier's folding step), written to a cell.
fn fold_step(b: &mut CircuitBuilder, acc: Option<Ext>, alpha: Ext, c: V) -> Ext {
    match acc {
        None => cell(b, c),
        Some(acc) => {
            let p = V {
                terms: Vec::new(),
                prod: Some((acc, alpha, Val::ONE)),
                constant: Challenge::ZERO,
            };
            let v = p.add_scaled(b, c, Val::ONE);
            cell(b, v)
        }
    }
}

/// The height-dependent part of the check, for a trace domain of size `n = 2^log_height`
/// with shift 1: `zeta^n`, `Z_H(zeta) = zeta^n - 1`, the Lagrange selectors (made on
/// first use) and the quotient chunks' vanishing polynomials at `zeta` and weights.
struct HeightTerms {
    zeta: Ext,
    z_h: Ext,
    /// `g^-1`, g the trace domain's generator (a cell when the height varies).
    g_inv: Coef,
    is_first_row: Option<Ext>,
    is_last_row: Option<Ext>,
    is_transition: Option<Ext>,
    /// Per chunk j: `prod_{k != j} Z_k(zeta)` (a cell; `None` with one chunk) and the
    /// native constant `1 / prod_{k != j} Z_k(first point of chunk j)`.
    chunk_weights: Vec<(Option<Ext>, Coef)>,
}

/// A base coefficient: a constant, or a cell (selected by a variable height).
#[derive(Clone, Copy, Debug)]
enum Coef {
    Const(Val),
    Cell(Felt),
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
                    b.linear(
                        [Val::ZERO, s_inv_n, Val::ZERO, Val::ONE],
                        zeta_n,
                        zeta_n,
                        neg_one,
                    )
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
                (prod, Coef::Const(denom.inverse()))
            })
            .collect();
        Self {
            zeta,
            z_h,
            g_inv: Coef::Const(Val::two_adic_generator(log_height).inverse()),
            is_first_row: None,
            is_last_row: None,
            is_transition: None,
            chunk_weights,
        }
    }

    /// The same terms for a variable height: `Z_H(zeta) = sum_L e_L zeta^(2^L) - 1`, the
    /// chunks' `Z_k(zeta) = sum_L e_L s_(k,L)^(-n_L) zeta^(2^L) - 1` (one lane per
    /// candidate each), `g^-1` and the chunk weights' constants selected.
    fn new_var(
        b: &mut CircuitBuilder,
        config: &StarkConfig,
        info: &AirInfo,
        height: &HeightVar,
        zeta_pows: &[Ext],
        zeta: Ext,
    ) -> Self {
        let cands = height.candidates();
        let neg_one = b.constant_ext(-Challenge::ONE);
        let combo = |b: &mut CircuitBuilder, k: &dyn Fn(usize) -> Val| {
            let mut acc = neg_one;
            for &(l, e) in &cands {
                let e = e.expect("a variable height").ext();
                acc = b.linear([k(l), Val::ZERO, Val::ZERO, Val::ONE], e, zeta_pows[l], acc);
            }
            acc
        };
        let z_h = combo(b, &|_| Val::ONE);
        let nchunks = info.num_quotient_chunks();
        // Per candidate: the chunks' shifts^-n and the weights' constants.
        let per_l: BTreeMap<usize, (Vec<Val>, Vec<Val>)> = cands
            .iter()
            .map(|&(l, _)| {
                let n = 1usize << l;
                let trace = config.domain(n);
                let qd = trace.create_disjoint_domain(n << info.log_quotient_chunks);
                let chunks = qd.split_domains(nchunks);
                let s_inv_n = chunks
                    .iter()
                    .map(|d| d.first_point().inverse().exp_u64(n as u64))
                    .collect();
                let denoms = (0..chunks.len())
                    .map(|j| {
                        let mut denom = Val::ONE;
                        for (k, other) in chunks.iter().enumerate() {
                            if k != j {
                                denom *= other.vanishing_poly_at_point(chunks[j].first_point());
                            }
                        }
                        denom.inverse()
                    })
                    .collect();
                (l, (s_inv_n, denoms))
            })
            .collect();
        let z_k: Vec<Ext> = if nchunks == 1 {
            Vec::new()
        } else {
            (0..nchunks)
                .map(|k| combo(b, &|l| per_l[&l].0[k]))
                .collect()
        };
        let chunk_weights = (0..nchunks)
            .map(|j| {
                let mut prod: Option<Ext> = None;
                for (k, &zk) in z_k.iter().enumerate() {
                    if k != j {
                        prod = Some(match prod {
                            None => zk,
                            Some(p) => b.mul(p, zk),
                        });
                    }
                }
                let d = height.pick_const(b, |l| per_l[&l].1[j]);
                (prod, Coef::Cell(d))
            })
            .collect();
        let g_inv = height.pick_const(b, |l| Val::two_adic_generator(l).inverse());
        Self {
            zeta,
            z_h,
            g_inv: Coef::Cell(g_inv),
            is_first_row: None,
            is_last_row: None,
            is_transition: None,
            chunk_weights,
        }
    }

    /// `zeta - p`.
    fn zeta_minus(&self, b: &mut CircuitBuilder, p: Coef) -> Ext {
        match p {
            Coef::Const(p) => {
                let neg_p = b.constant(-p).ext();
                b.add(self.zeta, neg_p)
            }
            Coef::Cell(p) => b.sub(self.zeta, p.ext()),
        }
    }

    /// `z_h / (zeta - p)`.
    fn lagrange(&self, b: &mut CircuitBuilder, p: Coef) -> Ext {
        let den = self.zeta_minus(b, p);
        let inv = b.inverse(den);
        b.mul(self.z_h, inv)
    }

    fn is_first_row(&mut self, b: &mut CircuitBuilder) -> Ext {
        if self.is_first_row.is_none() {
            self.is_first_row = Some(self.lagrange(b, Coef::Const(Val::ONE)));
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
            self.is_transition = Some(self.zeta_minus(b, self.g_inv));
        }
        self.is_transition.unwrap()
    }

    /// `Q(zeta) = sum_j L_j(zeta) Q_j(zeta)`, `Q_j(zeta) = sum_d chunk_j[d] X^d`.
    fn quotient(&self, b: &mut CircuitBuilder, chunks: &[[Ext; 4]]) -> Ext {
        let mut q: Option<Ext> = None;
        for (chunk, &(prod, denom_inv)) in chunks.iter().zip(&self.chunk_weights) {
            let qj = ext_from_coords(b, chunk);
            let (prod, denom_inv) = match (prod, denom_inv) {
                (p, Coef::Const(d)) => (p, d),
                (None, Coef::Cell(d)) => (Some(d.ext()), Val::ONE),
                (Some(p), Coef::Cell(d)) => (Some(b.mul(p, d.ext())), Val::ONE),
            };
            q = Some(match (prod, q) {
                (None, _) => qj,
                (Some(p), None) => {
                    b.linear([denom_inv, Val::ZERO, Val::ZERO, Val::ZERO], p, qj, qj)
                }
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
                let row =
                    |local: &[Ext], next: &[Ext], opens_next: bool, offset: usize| match offset {
                        0 => V::cell(local[v.index]),
                        // The native verifier evaluates an unopened next row as zeros.
                        1 if !opens_next => V::constant(Challenge::ZERO),
                        1 => V::cell(next[v.index]),
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
                    BaseEntry::Public => V::cell(c.public_values[v.index].ext()),
                    BaseEntry::Periodic => panic!("periodic columns are refused by keygen"),
                }
            }
            BaseLeaf::IsFirstRow => V::cell(c.height.is_first_row(b)),
            BaseLeaf::IsLastRow => V::cell(c.height.is_last_row(b)),
            BaseLeaf::IsTransition => V::cell(c.height.is_transition(b)),
            BaseLeaf::Constant(k) => V::constant(Challenge::from(*k)),
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
            ExtLeaf::ExtConstant(k) => V::constant(*k),
            ExtLeaf::ExtVariable(v) => match v.entry {
                ExtEntry::Permutation { offset } => {
                    let key = (offset, v.index);
                    if let Some(&e) = c.perm_memo.get(&key) {
                        return V::cell(e);
                    }
                    let flat = match offset {
                        0 => &c.openings.permutation_local,
                        1 => &c.openings.permutation_next,
                        _ => panic!("permutation row offset {offset} is not supported"),
                    };
                    let e = ext_from_coords(b, &flat[D * v.index..D * (v.index + 1)]);
                    c.perm_memo.insert(key, e);
                    V::cell(e)
                }
                ExtEntry::Challenge => V::cell(c.lookup_challenges[v.index]),
                ExtEntry::PermutationValue => {
                    assert_eq!(v.index, 0, "one permutation value: the cumulative sum");
                    V::cell(
                        c.cumulative_sum
                            .expect("an AIR with lookups has a cumulative sum"),
                    )
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

    /// A child node, compiled once (memoised by `Arc` identity); a node several parents
    /// share is written to a cell so that none of them repeats its lanes, unless it is
    /// a constant or one (scaled) cell, which every parent absorbs for free.
    fn child<A: Leaf>(&mut self, b: &mut CircuitBuilder, e: &Arc<SymbolicExpr<A>>) -> V {
        let k = Arc::as_ptr(e) as usize;
        if let Some(v) = A::memo(self).get(&k) {
            return v.clone();
        }
        let mut v = self.node(b, e);
        let one_term = v.prod.is_none() && v.terms.len() + usize::from(!v.constant.is_zero()) <= 1;
        if Arc::strong_count(e) > 1 && !one_term {
            v = V::cell(cell(b, v));
        }
        A::memo(self).insert(k, v.clone());
        v
    }

    fn node<A: Leaf>(&mut self, b: &mut CircuitBuilder, e: &SymbolicExpr<A>) -> V {
        match e {
            SymbolicExpr::Leaf(l) => l.compile(self, b),
            SymbolicExpr::Add { x, y, .. } => {
                let (x, y) = (self.child(b, x), self.child(b, y));
                add(b, x, y)
            }
            SymbolicExpr::Sub { x, y, .. } => {
                let (x, y) = (self.child(b, x), self.child(b, y));
                sub(b, x, y)
            }
            SymbolicExpr::Neg { x, .. } => neg(self.child(b, x)),
            SymbolicExpr::Mul { x, y, .. } => {
                let (x, y) = (self.child(b, x), self.child(b, y));
                mul(b, x, y)
            }
        }
    }
}
