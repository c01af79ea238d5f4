//! Variable trace heights (docs/recursion.md, "Variable heights"): an AIR whose height is
//! a range `min..=max` has its log height as a hint cell and a one-hot vector of booleans
//! over the candidates (`sum e_L = 1`, `height = sum L e_L`); every height-dependent value
//! is then a selection (`sum e_L v_L`) of per-candidate constants or cells, and a value
//! accumulated per height is scattered (`acc_L += e_L v`). A fixed AIR's vector is the
//! constant `[1]`: no op.

use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::Val;

use crate::builder::{CircuitBuilder, Var};
use crate::ir::{Ext, Felt};

/// One AIR's trace log height in the circuit.
#[derive(Clone, Debug)]
pub struct HeightVar {
    /// The smallest candidate log height.
    pub min: usize,
    /// The log height (a constant cell for a fixed AIR).
    pub cell: Felt,
    /// One boolean per candidate `min..=max` (empty for a fixed AIR).
    pub one_hot: Vec<Felt>,
}

impl HeightVar {
    /// Allocates the hints of an AIR of log heights `min..=max` (none if fixed: the
    /// height is a constant) and constrains them: booleans, one of them set, the height
    /// their weighted sum.
    pub fn alloc(b: &mut CircuitBuilder, min: usize, max: usize) -> Self {
        if min == max {
            let cell = b.constant(Val::from_usize(min));
            return Self {
                min,
                cell,
                one_hot: Vec::new(),
            };
        }
        let cell = b.hint_felt();
        let one_hot: Vec<Felt> = (min..=max).map(|_| b.hint_felt()).collect();
        for &e in &one_hot {
            b.assert_bool(e);
        }
        let ones: Vec<(Felt, Val)> = one_hot.iter().map(|&e| (e, Val::ONE)).collect();
        let sum = lin(b, &ones);
        let one = b.one();
        b.assert_eq(sum, one);
        let weighted: Vec<(Felt, Val)> = one_hot
            .iter()
            .enumerate()
            .map(|(j, &e)| (e, Val::from_usize(min + j)))
            .collect();
        let h = lin(b, &weighted);
        b.assert_eq(h, cell);
        Self { min, cell, one_hot }
    }

    /// The hint values [`HeightVar::alloc`] allocates, for log height `h`.
    pub fn hint_values(min: usize, max: usize, h: usize) -> Vec<Val> {
        if min == max {
            return Vec::new();
        }
        let mut out = vec![Val::from_usize(h)];
        out.extend((min..=max).map(|l| Val::from_bool(l == h)));
        out
    }

    pub fn max(&self) -> usize {
        self.min + self.one_hot.len().max(1) - 1
    }

    /// `Some(height)` for a fixed AIR.
    pub fn fixed(&self) -> Option<usize> {
        self.one_hot.is_empty().then_some(self.min)
    }

    /// The candidates `(L, e_L)`, `e_L` `None` for a fixed AIR (the constant 1).
    pub fn candidates(&self) -> Vec<(usize, Option<Felt>)> {
        match self.fixed() {
            Some(h) => vec![(h, None)],
            None => self
                .one_hot
                .iter()
                .enumerate()
                .map(|(j, &e)| (self.min + j, Some(e)))
                .collect(),
        }
    }

    /// `sum_L e_L c(L)` for base constants: a constant cell for a fixed AIR, else about a
    /// third of a lane per candidate.
    pub fn pick_const(&self, b: &mut CircuitBuilder, c: impl Fn(usize) -> Val) -> Felt {
        let c0 = c(self.min);
        match self.fixed() {
            Some(h) => b.constant(c(h)),
            None if (self.min..=self.max()).all(|l| c(l) == c0) => b.constant(c0),
            None => {
                let terms: Vec<(Felt, Val)> = self
                    .candidates()
                    .into_iter()
                    .map(|(l, e)| (e.unwrap(), c(l)))
                    .collect();
                lin(b, &terms)
            }
        }
    }

    /// `sum_L e_L v(L)` for cells: the cell itself for a fixed AIR, else one lane per
    /// candidate (none if every candidate's value is the same cell).
    pub fn pick(&self, b: &mut CircuitBuilder, v: impl Fn(usize) -> Ext) -> Ext {
        pick(b, &self.candidates(), v)
    }
}

/// `sum e v(L)` over candidates `(L, e)` (`e` `None`: the only candidate, weight 1).
pub fn pick(
    b: &mut CircuitBuilder,
    cands: &[(usize, Option<Felt>)],
    v: impl Fn(usize) -> Ext,
) -> Ext {
    let first = v(cands[0].0);
    if cands.iter().all(|&(l, _)| v(l) == first) {
        return first;
    }
    // Zero terms cost nothing.
    let zero = b.zero().ext();
    let mut acc: Option<Ext> = None;
    for &(l, e) in cands {
        if v(l) == zero {
            continue;
        }
        let e = e.expect("several candidates have weights").ext();
        acc = Some(match acc {
            None => b.mul(e, v(l)),
            Some(a) => b.mul_add(e, v(l), a),
        });
    }
    acc.unwrap_or(zero)
}

/// `sum k_i x_i` over at least one term, three terms to the first lane and two to each
/// further one.
pub fn lin<V: Var>(b: &mut CircuitBuilder, terms: &[(V, Val)]) -> V {
    let mut it = terms.iter().copied();
    let (x0, k0) = it.next().expect("a term");
    let mut acc = match (it.next(), it.next()) {
        (None, _) => return b.scale(x0, k0),
        (Some((x1, k1)), None) => return b.linear([Val::ZERO, k0, k1, Val::ZERO], x0, x1, x1),
        (Some((x1, k1)), Some((x2, k2))) => b.linear([Val::ZERO, k0, k1, k2], x0, x1, x2),
    };
    loop {
        match (it.next(), it.next()) {
            (None, _) => return acc,
            (Some((x, k)), None) => {
                return b.linear([Val::ZERO, Val::ONE, k, Val::ZERO], acc, x, x);
            }
            (Some((x, k)), Some((y, l))) => acc = b.linear([Val::ZERO, Val::ONE, k, l], acc, x, y),
        }
    }
}

/// `zeta^(2^L)` for `L` in `0..=max` (`max` squarings), shared by every variable AIR.
pub fn zeta_powers(b: &mut CircuitBuilder, zeta: Ext, max: usize) -> Vec<Ext> {
    let mut out = vec![zeta];
    for _ in 0..max {
        let z = *out.last().unwrap();
        out.push(b.mul(z, z));
    }
    out
}
