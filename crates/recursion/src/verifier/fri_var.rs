//! Step 14 with variable trace heights (docs/recursion.md, "Variable heights"): the same
//! p3-fri 0.8 verification as [`super::fri`], for claims whose matrices have heights in
//! ranges, selected by one-hot vectors ([`HeightVar`]).
//!
//! Constants of the circuit (every commitment's tallest matrix is a fixed AIR's): `H`,
//! `R`, both seeds, the index width, every Merkle path's length. Selected or scattered:
//! - 14.11 the leaf hashing: the matrices of one height are absorbed in commitment order
//!   as one sponge; per candidate height the circuit keeps a sponge state (16 lanes, a
//!   pending half-block and its phase when widths are 4 mod 8), a variable matrix absorbs
//!   its row into the selection of its candidates' states and scatters the result back;
//!   per level the digest is injected when some matrix has that height (a select). A
//!   variable matrix that no other matrix can share a height with is hashed alone (any
//!   width); elsewhere a matrix that may share a height with a variable one must be a
//!   multiple of 4 wide;
//! - 14.12 the alpha ladders: per candidate height a running power of alpha (query
//!   independent), a matrix's offset being selected from its candidates' ladders; the
//!   reduced openings accumulate per (height, point) by scattering, `x_L` for every `L`
//!   from one exponentiation (`x_L / g = (x_(L+1) / g)^2`);
//! - 14.13 a roll-in reads `RO_(L-1)`, zero when no matrix has that height.

use std::collections::BTreeMap;

use p3_field::{Field, PrimeCharacteristicRing, TwoAdicField};
use starkscope_stark_backend::{FriPreset, Val};

use super::fri::{FriProofVars, OpeningShape};
use super::heights::{pick, HeightVar};
use crate::builder::CircuitBuilder;
use crate::gadgets::challenger::ChallengerVar;
use crate::gadgets::hash::{assert_digest_eq, compress, compress_dir, hash_quads, pack_all};
use crate::gadgets::Digest;
use crate::ir::{Ext, Felt, Group, Quad};

/// How the circuit hashes the rows of one (trace) log height of a commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelKind {
    /// Only fixed-height matrices can be there: their rows, concatenated (any widths).
    FixedOnly,
    /// Only this variable matrix can be there, and at each of its heights it is alone:
    /// its row hashed alone (any width).
    Isolated(usize),
    /// A variable matrix can share the height with others: sponge states (widths
    /// multiples of 4).
    Mixed,
}

/// The leaf-hashing plan of one commitment: per trace log height some matrix can have,
/// its kind; and the tallest (fixed) height.
#[derive(Clone, Debug)]
pub struct CommitmentPlan {
    pub levels: BTreeMap<usize, LevelKind>,
    pub tallest: usize,
}

/// The plan for a commitment of matrices of trace log heights `ranges[m] = (min, max)` and
/// widths `widths[m]`. Refuses a commitment whose tallest matrix is not fixed-height (some
/// fixed matrix at least every other's maximum) and a matrix not a multiple of 4 wide that
/// may share a height with a variable-height matrix (unless it is that matrix, alone at
/// every height it can have).
pub fn plan_commitment(
    ranges: &[(usize, usize)],
    widths: &[usize],
) -> Result<CommitmentPlan, String> {
    let tallest = ranges.iter().map(|r| r.1).max().ok_or("no matrices")?;
    if !ranges.iter().any(|&(a, b)| a == b && b == tallest) {
        return Err(format!(
            "the tallest matrix (log height up to {tallest}) is not of a fixed-height AIR: \
             some fixed AIR must be at least every other AIR's maximum"
        ));
    }
    let can = |l: usize| -> Vec<usize> {
        (0..ranges.len())
            .filter(|&m| ranges[m].0 <= l && l <= ranges[m].1)
            .collect()
    };
    let fixed = |m: usize| ranges[m].0 == ranges[m].1;
    let isolated = |m: usize| !fixed(m) && (ranges[m].0..=ranges[m].1).all(|l| can(l) == vec![m]);
    let mut levels = BTreeMap::new();
    for l in ranges.iter().flat_map(|&(a, b)| a..=b) {
        if levels.contains_key(&l) {
            continue;
        }
        let ms = can(l);
        let kind = if ms.iter().all(|&m| fixed(m)) {
            LevelKind::FixedOnly
        } else if ms.len() == 1 && isolated(ms[0]) {
            LevelKind::Isolated(ms[0])
        } else {
            if let Some(&m) = ms.iter().find(|&&m| !widths[m].is_multiple_of(4)) {
                return Err(format!(
                    "matrix {m} ({} wide) may share log height {l} with a variable-height \
                     matrix: widths there must be multiples of 4",
                    widths[m]
                ));
            }
            LevelKind::Mixed
        };
        levels.insert(l, kind);
    }
    Ok(CommitmentPlan { levels, tallest })
}

/// Where a matrix is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Point {
    /// `zeta`.
    Zeta,
    /// `zeta * g`, `g` the generator of the matrix's trace domain (its height's).
    Next,
}

/// One committed matrix's claims: its AIR (whose height it has), width, and per point
/// the claimed values.
#[derive(Clone, Debug)]
pub struct VarMatrix {
    pub air: usize,
    pub width: usize,
    pub points: Vec<(Point, Vec<Ext>)>,
}

#[derive(Clone, Debug)]
pub struct VarCommitment {
    pub commitment: Digest,
    pub matrices: Vec<VarMatrix>,
}

/// A sponge's phase: whether a half block (4 values) waits to be absorbed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Known(bool),
    Var(Felt),
}

/// A sponge state in cells: the 16 lanes, the pending half block, the phase.
#[derive(Clone, Copy, Debug)]
struct Sponge {
    s: [Quad; 4],
    pending: Quad,
    phase: Phase,
}

fn zero_quad(b: &mut CircuitBuilder) -> Quad {
    b.zero().ext().quad()
}

fn phase_cell(b: &mut CircuitBuilder, p: Phase) -> Felt {
    match p {
        Phase::Known(false) => b.zero(),
        Phase::Known(true) => b.one(),
        Phase::Var(f) => f,
    }
}

/// Absorbs `quads` (full, four values each) after `pending` (if any): overwrite-mode
/// blocks of two cells; an odd cell left over is pending.
fn absorb_known(
    b: &mut CircuitBuilder,
    mut s: [Quad; 4],
    pending: Option<Quad>,
    quads: &[Quad],
) -> ([Quad; 4], Option<Quad>) {
    let stream: Vec<Quad> = pending.into_iter().chain(quads.iter().copied()).collect();
    let mut left = None;
    for pair in stream.chunks(2) {
        if pair.len() == 2 {
            s = b.poseidon2([
                Group::Cell(pair[0]),
                Group::Cell(pair[1]),
                Group::Cell(s[2]),
                Group::Cell(s[3]),
            ]);
        } else {
            left = Some(pair[0]);
        }
    }
    (s, left)
}

fn absorb(b: &mut CircuitBuilder, st: Sponge, quads: &[Quad]) -> Sponge {
    let zero = zero_quad(b);
    let odd = quads.len() % 2 == 1;
    match st.phase {
        Phase::Known(p) => {
            let (s, left) = absorb_known(b, st.s, p.then_some(st.pending), quads);
            Sponge {
                s,
                pending: left.unwrap_or(zero),
                phase: Phase::Known(left.is_some()),
            }
        }
        Phase::Var(f) => {
            let (s0, l0) = absorb_known(b, st.s, None, quads);
            let (s1, l1) = absorb_known(b, st.s, Some(st.pending), quads);
            let s = core::array::from_fn(|i| {
                if s0[i] == s1[i] {
                    s0[i]
                } else {
                    b.select(f, s1[i].ext(), s0[i].ext()).quad()
                }
            });
            let (p0, p1) = (l0.unwrap_or(zero), l1.unwrap_or(zero));
            let pending = if p0 == p1 {
                p0
            } else {
                b.select(f, p1.ext(), p0.ext()).quad()
            };
            let phase = if odd {
                let one = b.one();
                let g = b.sub(one, f);
                b.assume_boolean(g);
                Phase::Var(g)
            } else {
                Phase::Var(f)
            };
            Sponge { s, pending, phase }
        }
    }
}

/// The digest of everything absorbed (a pending half block absorbed as a partial block:
/// lanes 4..8 keep the state's).
fn finalize(b: &mut CircuitBuilder, st: Sponge) -> Digest {
    let last = |b: &mut CircuitBuilder| {
        b.poseidon2([
            Group::Cell(st.pending),
            Group::Cell(st.s[1]),
            Group::Cell(st.s[2]),
            Group::Cell(st.s[3]),
        ])
    };
    match st.phase {
        Phase::Known(false) => [st.s[0], st.s[1]],
        Phase::Known(true) => {
            let t = last(b);
            [t[0], t[1]]
        }
        Phase::Var(f) => {
            let t = last(b);
            [0, 1].map(|i| b.select(f, t[i].ext(), st.s[i].ext()).quad())
        }
    }
}

/// `e ? x : y` (no op if `e` is the constant 1 or the cells are equal; one lane if `y`
/// is zero).
fn sel(b: &mut CircuitBuilder, e: Option<Felt>, x: Ext, y: Ext) -> Ext {
    let zero = b.zero().ext();
    match e {
        None => x,
        Some(_) if x == y => x,
        Some(e) if y == zero => b.mul(e.ext(), x),
        Some(e) => b.select(e, x, y),
    }
}

/// The root of commitment `k`'s batch opening at `index_bits` (the top `lk` bits) under a
/// variable-height plan.
#[allow(clippy::too_many_arguments)]
fn var_batch_root(
    b: &mut CircuitBuilder,
    lb: usize,
    plan: &CommitmentPlan,
    mats: &[VarMatrix],
    heights: &[HeightVar],
    rows: &[Vec<Quad>],
    index_bits: &[Felt],
    siblings: &[Digest],
) -> Digest {
    let zero = zero_quad(b);
    let fresh = Sponge {
        s: [zero; 4],
        pending: zero,
        phase: Phase::Known(false),
    };
    // Per trace height: the digest and whether some matrix is there (None: surely).
    let mut digests: BTreeMap<usize, (Digest, Option<Felt>)> = BTreeMap::new();
    let mut states: BTreeMap<usize, Sponge> = BTreeMap::new();
    let mut present: BTreeMap<usize, Option<Felt>> = BTreeMap::new();
    for (&l, kind) in &plan.levels {
        match *kind {
            LevelKind::FixedOnly => {
                let ms: Vec<usize> = (0..mats.len())
                    .filter(|&m| heights[mats[m].air].fixed() == Some(l))
                    .collect();
                let len = ms.iter().map(|&m| mats[m].width).sum();
                let aligned = ms[..ms.len() - 1]
                    .iter()
                    .all(|&m| mats[m].width.is_multiple_of(4));
                let values: Vec<Quad> = if aligned {
                    ms.iter().flat_map(|&m| rows[m].iter().copied()).collect()
                } else {
                    let mut felts = Vec::new();
                    for &m in &ms {
                        for (j, &cell) in rows[m].iter().enumerate() {
                            let v = b.unpack(cell);
                            felts.extend_from_slice(&v[..(mats[m].width - 4 * j).min(4)]);
                        }
                    }
                    pack_all(b, &felts)
                };
                digests.insert(l, (hash_quads(b, &values, len), None));
            }
            LevelKind::Isolated(_) => {}
            LevelKind::Mixed => {
                states.insert(l, fresh);
                present.insert(l, Some(b.zero()));
            }
        }
    }
    // Isolated matrices: one hash, the same digest at each candidate.
    for (m, mat) in mats.iter().enumerate() {
        let hv = &heights[mat.air];
        let cands = hv.candidates();
        if cands
            .iter()
            .all(|(l, _)| plan.levels[l] == LevelKind::Isolated(m))
        {
            let d = hash_quads(b, &rows[m], mat.width);
            for (l, e) in cands {
                digests.insert(l, (d, e));
            }
        }
    }
    // Mixed levels: the sponge states, matrix by matrix in commitment order.
    for (m, mat) in mats.iter().enumerate() {
        let cands = heights[mat.air].candidates();
        if !cands
            .iter()
            .all(|(l, _)| plan.levels[l] == LevelKind::Mixed)
        {
            continue;
        }
        // The input state: the selection of the candidates' states.
        let s: [Quad; 4] =
            core::array::from_fn(|i| pick(b, &cands, |l| states[&l].s[i].ext()).quad());
        let phases: Vec<Phase> = cands.iter().map(|(l, _)| states[l].phase).collect();
        let phase = if phases.iter().all(|&p| p == phases[0]) {
            phases[0]
        } else {
            let mut acc: Option<Felt> = None;
            for (&(_, e), &p) in cands.iter().zip(&phases) {
                let e = e.unwrap();
                acc = match (p, acc) {
                    (Phase::Known(false), a) => a,
                    (Phase::Known(true), None) => Some(e),
                    (Phase::Known(true), Some(a)) => Some(b.add(a, e)),
                    (Phase::Var(f), None) => Some(b.mul(e, f)),
                    (Phase::Var(f), Some(a)) => Some(b.mul_add(e, f, a)),
                };
            }
            // sum_L e_L phase_L over a checked one-hot vector of checked booleans.
            let f = acc.unwrap();
            b.assume_boolean(f);
            Phase::Var(f)
        };
        let pending = if phases.iter().all(|&p| p == Phase::Known(false)) {
            zero
        } else {
            pick(b, &cands, |l| states[&l].pending.ext()).quad()
        };
        let input = Sponge { s, pending, phase };
        let out = absorb(b, input, &rows[m]);
        // Scatter back: state_L += e_L (out - input). With e_L = 1 the input is exactly
        // state_L, so this is `out`; with e_L = 0 it is state_L. The differences are
        // computed once (a lane each), then one lane per candidate and quad.
        let mut ds: [Option<Ext>; 4] = [None; 4];
        let mut dp: Option<Ext> = None;
        let mut dphi: Option<Felt> = None;
        let zero_ext = zero.ext();
        for (l, e) in cands {
            let old = states[&l];
            let Some(e) = e else {
                states.insert(l, out);
                present.insert(l, None);
                continue;
            };
            let scatter = |b: &mut CircuitBuilder, d: Ext, old: Ext| {
                if old == zero_ext {
                    b.mul(e.ext(), d)
                } else {
                    b.mul_add(e.ext(), d, old)
                }
            };
            let mut s = old.s;
            for i in 0..4 {
                if out.s[i] != old.s[i] {
                    let d = match ds[i] {
                        Some(d) => d,
                        None => {
                            let d = b.sub(out.s[i].ext(), input.s[i].ext());
                            ds[i] = Some(d);
                            d
                        }
                    };
                    s[i] = scatter(b, d, old.s[i].ext()).quad();
                }
            }
            // A pending half block only matters where the phase may be 1 (and is the zero
            // cell where the phase is surely 0).
            let pending = if out.phase == Phase::Known(false) && old.phase == Phase::Known(false) {
                zero
            } else if out.pending == old.pending {
                old.pending
            } else {
                let d = match dp {
                    Some(d) => d,
                    None => {
                        let d = b.sub(out.pending.ext(), input.pending.ext());
                        dp = Some(d);
                        d
                    }
                };
                scatter(b, d, old.pending.ext()).quad()
            };
            let phase = if out.phase == old.phase {
                old.phase
            } else {
                let d = match dphi {
                    Some(d) => d,
                    None => {
                        let (x, y) = (phase_cell(b, out.phase), phase_cell(b, input.phase));
                        let d = b.sub(x, y);
                        dphi = Some(d);
                        d
                    }
                };
                let o = phase_cell(b, old.phase);
                let f = b.mul_add(e, d, o);
                // The old phase or the new one (e checked boolean): a boolean.
                b.assume_boolean(f);
                Phase::Var(f)
            };
            states.insert(l, Sponge { s, pending, phase });
            let pr = present[&l];
            let zero_felt = b.zero();
            let pr = match pr {
                None => None,
                Some(p) if p == zero_felt => Some(e),
                Some(p) => {
                    // p + e - p e: "or" of booleans.
                    let f = b.linear([Val::NEG_ONE, Val::ONE, Val::ONE, Val::ZERO], p, e, e);
                    b.assume_boolean(f);
                    Some(f)
                }
            };
            present.insert(l, pr);
        }
    }
    for (l, st) in states {
        let d = finalize(b, st);
        // A level no matrix reached for sure starts at the constant zero: `present`
        // was initialised to the zero cell; a fixed matrix made it `None`.
        let pr = present[&l];
        digests.insert(l, (d, pr));
    }

    let max = plan.tallest;
    let (leaf, pr) = digests[&max];
    assert!(pr.is_none(), "the tallest height is a fixed matrix's");
    let top = max + lb;
    assert_eq!(siblings.len(), top);
    assert_eq!(index_bits.len(), top);
    let mut node = leaf;
    for level in 0..top {
        node = compress_dir(b, index_bits[level], node, siblings[level]);
        let h = top - level - 1;
        if h < lb {
            continue;
        }
        if let Some(&(d, pr)) = digests.get(&(h - lb)) {
            let injected = compress(b, node, d);
            node = match pr {
                None => injected,
                Some(p) => [0, 1].map(|i| b.select(p, injected[i].ext(), node[i].ext()).quad()),
            };
        }
    }
    node
}

/// Emits step 14 for variable heights on `ch` (the challenger after step 13). `shape` is
/// the claims' shape at the largest heights (what `proof` was allocated for); `heights`
/// per AIR; `zeta` the out-of-domain point (next points are `zeta * g_L`).
#[allow(clippy::too_many_arguments)]
pub fn verify_pcs_var(
    b: &mut CircuitBuilder,
    preset: FriPreset,
    shape: &OpeningShape,
    heights: &[HeightVar],
    zeta: Ext,
    ch: &mut ChallengerVar,
    claims: &[VarCommitment],
    proof: &FriProofVars,
) {
    assert!(
        preset.max_log_arity() == 1 && preset.cap_height() == 0 && preset.log_final_poly_len() == 0,
        "variable heights are verified with arity-2 folding, cap height 0 and a final \
         polynomial of length 1 only (the {preset} preset is not)"
    );
    let lb = preset.log_blowup();
    let h = shape.log_max_lde_height(preset);
    let rounds = shape.num_rounds(preset);
    assert_eq!(proof.commit_phase_commits.len(), rounds);
    assert_eq!(proof.queries.len(), preset.num_queries());
    assert_eq!(claims.len(), shape.commitments.len());
    let plans: Vec<CommitmentPlan> = claims
        .iter()
        .map(|c| {
            let r: Vec<(usize, usize)> = c
                .matrices
                .iter()
                .map(|m| (heights[m.air].min, heights[m.air].max()))
                .collect();
            let w: Vec<usize> = c.matrices.iter().map(|m| m.width).collect();
            plan_commitment(&r, &w).expect("a plan checked by ChildSpec::with_ranges")
        })
        .collect();

    // 14.1-14.10, as in the fixed case (the shape's seeds are constants).
    b.label("fri_zero_pow");
    b.assert_zero(proof.batch_pow_witness);
    for &w in &proof.commit_pow_witnesses {
        b.assert_zero(w);
    }
    b.label("fri_transcript");
    ch.observe_constants(b, &shape.pcs_seed());
    for c in claims {
        for m in &c.matrices {
            for (_, values) in &m.points {
                for &v in values {
                    ch.observe_ext(b, v);
                }
            }
        }
    }
    let alpha = ch.sample_ext(b);
    ch.observe_constants(b, &shape.fri_seed(preset));
    let betas: Vec<Ext> = proof
        .commit_phase_commits
        .iter()
        .map(|cap| {
            for d in cap {
                ch.observe_quad(b, d[0]);
                ch.observe_quad(b, d[1]);
            }
            ch.sample_ext(b)
        })
        .collect();
    ch.observe_ext(b, proof.final_poly[0]);
    ch.check_witness(b, preset.query_pow_bits(), proof.query_pow_witness);
    if preset.query_pow_bits() == 0 {
        // As in the fixed circuit (`fri::verify_pcs`): p3-fri requires a zero-bit site's
        // witness to be 0, and `check_witness` reads nothing at 0 bits.
        b.assert_zero(proof.query_pow_witness);
    }
    let indices: Vec<Vec<Felt>> = (0..preset.num_queries())
        .map(|_| ch.sample_bits(b, h))
        .collect();

    // 14.12, query independent: per opening (commitment, matrix, point) in claim order,
    // its ladder power A (selected from its candidates' running powers), and the
    // constants of `num = A (sum_i alpha^i y_i) - A alpha^(w-1) horner(alpha^-1, row)`.
    b.label("fri_batching");
    let max_w = claims
        .iter()
        .flat_map(|c| c.matrices.iter().map(|m| m.width))
        .max()
        .unwrap();
    let mut alpha_pow = vec![b.one().ext(), alpha];
    while alpha_pow.len() <= max_w {
        let next = b.mul(*alpha_pow.last().unwrap(), alpha);
        alpha_pow.push(next);
    }
    let alpha_inv = b.inverse(alpha);
    let one = b.one().ext();
    let mut ladder: BTreeMap<usize, Ext> = BTreeMap::new();
    // (k, m, p) -> (K = A alpha^(w-1), AY = A sum alpha^i y_i)
    let mut coeffs: BTreeMap<(usize, usize, usize), (Ext, Ext)> = BTreeMap::new();
    // Heights (trace) a (point kind) can have an opening at.
    let mut groups: BTreeMap<(usize, Point), ()> = BTreeMap::new();
    for (k, c) in claims.iter().enumerate() {
        for (m, mat) in c.matrices.iter().enumerate() {
            let hv = &heights[mat.air];
            let cands = hv.candidates();
            let w = mat.width;
            for (p, (pt, values)) in mat.points.iter().enumerate() {
                let a = pick(b, &cands, |l| *ladder.get(&l).unwrap_or(&one));
                let mut y: Option<Ext> = None;
                for (i, &v) in values.iter().enumerate() {
                    y = Some(match y {
                        None if i == 0 => v,
                        None => b.mul(alpha_pow[i], v),
                        Some(acc) => b.mul_add(alpha_pow[i], v, acc),
                    });
                }
                let ay = b.mul(a, y.unwrap());
                let kk = b.mul(a, alpha_pow[w - 1]);
                coeffs.insert((k, m, p), (kk, ay));
                for &(l, e) in &cands {
                    let old = *ladder.get(&l).unwrap_or(&one);
                    let next = b.mul(old, alpha_pow[w]);
                    let v = sel(b, e, next, old);
                    ladder.insert(l, v);
                    groups.insert((l, *pt), ());
                }
            }
        }
    }
    // Next points per height: zeta * g_L.
    let mut next_point: BTreeMap<usize, Ext> = BTreeMap::new();
    for &(l, pt) in groups.keys() {
        if pt == Point::Next {
            next_point.insert(l, b.scale(zeta, Val::two_adic_generator(l)));
        }
    }
    let ro_heights: Vec<usize> = {
        let mut v: Vec<usize> = groups.keys().map(|&(l, _)| l).collect();
        v.dedup();
        v
    };
    let beta_sq: Vec<Option<Ext>> = (0..rounds)
        .map(|r| {
            let l = h - r - 1;
            (l >= lb && ro_heights.contains(&(l - lb))).then(|| b.mul(betas[r], betas[r]))
        })
        .collect();
    let half = Val::TWO.inverse();
    let w_h_inv = Val::two_adic_generator(h).inverse();

    for (bits, qv) in indices.iter().zip(&proof.queries) {
        // 14.11 input openings.
        b.label("fri_input_merkle");
        for (k, c) in claims.iter().enumerate() {
            let lk = plans[k].tallest + lb;
            let root = var_batch_root(
                b,
                lb,
                &plans[k],
                &c.matrices,
                heights,
                &qv.rows[k],
                &bits[h - lk..],
                &qv.input_siblings[k],
            );
            assert_digest_eq(b, root, c.commitment);
        }

        // 14.12 reduced openings: accumulate per (height, point), scattered.
        b.label("fri_reduced_openings");
        let mut acc: BTreeMap<(usize, Point), Ext> = BTreeMap::new();
        for (k, c) in claims.iter().enumerate() {
            for (m, mat) in c.matrices.iter().enumerate() {
                let hm = b.horner(None, alpha_inv, &qv.rows[k][m], mat.width);
                let cands = heights[mat.air].candidates();
                for (p, (pt, _)) in mat.points.iter().enumerate() {
                    let (kk, ay) = coeffs[&(k, m, p)];
                    let num = b.linear([Val::NEG_ONE, Val::ZERO, Val::ZERO, Val::ONE], kk, hm, ay);
                    for &(l, e) in &cands {
                        let v = match (e, acc.get(&(l, *pt))) {
                            (None, None) => num,
                            (None, Some(&a)) => b.add(a, num),
                            (Some(e), None) => b.mul(e.ext(), num),
                            (Some(e), Some(&a)) => b.mul_add(e.ext(), num, a),
                        };
                        acc.insert((l, *pt), v);
                    }
                }
            }
        }
        // y_L = x_L / GENERATOR = w_L^(rev_L(index >> (H - L))), y_L = y_(L+1)^2.
        let lde: Vec<usize> = ro_heights.iter().map(|&l| l + lb).collect();
        let y = super::fri::query_points(b, bits, h, &lde);
        let mut ro: BTreeMap<usize, Ext> = BTreeMap::new();
        for (&(l, pt), &num) in &acc {
            let lde = l + lb;
            let point = match pt {
                Point::Zeta => zeta,
                Point::Next => next_point[&l],
            };
            // point - GENERATOR * y_L
            let yl = y[&lde].ext();
            let den = b.linear(
                [Val::ZERO, Val::ONE, -Val::GENERATOR, Val::ZERO],
                point,
                yl,
                yl,
            );
            let inv = b.inverse(den);
            let v = match ro.get(&lde) {
                None => b.mul(num, inv),
                Some(&a) => b.mul_add(num, inv, a),
            };
            ro.insert(lde, v);
        }

        // 14.13 the fold chain, as in the fixed case.
        b.label("fri_fold");
        let mut folded = ro[&h];
        let mut u = b.exp_reverse_bits_const(w_h_inv, &bits[1..h]);
        for r in 0..rounds {
            let bit = bits[r];
            let sib = qv.sibling_values[r];
            let e0 = b.select(bit, sib, folded);
            let e1 = b.linear(
                [Val::ZERO, Val::ONE, Val::ONE, Val::NEG_ONE],
                folded,
                sib,
                e0,
            );
            let t = b.mul(betas[r], u.ext());
            let d = b.sub(e0, e1);
            folded = b.linear([half, -half, Val::ZERO, Val::ONE], d, t, e0);
            b.label("fri_commit_merkle");
            let level = crate::gadgets::merkle::OpenedLevel {
                log_height: h - r - 1,
                values: vec![e0.quad(), e1.quad()],
                len: 8,
            };
            crate::gadgets::merkle::verify_batch(
                b,
                proof.commit_phase_commits[r][0],
                &[level],
                &bits[r + 1..],
                &qv.commit_siblings[r],
            );
            b.label("fri_fold");
            if let Some(bsq) = beta_sq[r] {
                folded = b.mul_add(bsq, ro[&(h - r - 1)], folded);
            }
            if r + 1 < rounds {
                let sq = b.mul(u, u);
                u = b.linear(
                    [Val::NEG_ONE.double(), Val::ONE, Val::ZERO, Val::ZERO],
                    sq,
                    bits[r + 1],
                    sq,
                );
            }
        }
        b.assert_eq(folded, proof.final_poly[0]);
    }
    b.unlabel();
}
