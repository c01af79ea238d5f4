//! Transcript step 14 in the circuit: p3-fri 0.8.0's `TwoAdicFriPcs::verify` with
//! starkscope's parameters (arity-2 folding, a final polynomial of length 1, batch and
//! commit-phase PoW of 0 bits, Merkle cap height 0; or, under the `aggregation` preset,
//! p3-fri's fold schedule of arity up to 8, a final polynomial of length 8 and Merkle
//! caps of 16 roots), op by op as docs/stark-backend.md ("Step 14 in detail", 14.0-14.16)
//! writes it down.
//!
//! Every matrix height is a constant of the circuit here ([`OpeningShape`]);
//! [`super::fri_var`] is the variable-height version. What depends on the heights: the FRI
//! seed (14.6, through `R`
//! and `H`), the number of index bits and which of them a commitment's rows are read at
//! (14.10, 14.11), the Merkle path lengths (14.11, 14.15), the per-height alpha ladders and
//! evaluation points (14.12: `Ladders`, `x_L`) and the roll-in rounds (14.13). They are
//! marked `HEIGHT` below.

use std::collections::BTreeMap;

use p3_challenger::{CanObserve, CanSampleBits, FieldChallenger, GrindingChallenger};
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing, TwoAdicField};
use starkscope_stark_backend::config::{Challenger, LeafHash, NodeCompress, PcsProof, ValMmcs};
use starkscope_stark_backend::verifier::PcsClaims;
use starkscope_stark_backend::{Challenge, FriPreset, Val};

use crate::builder::CircuitBuilder;
use crate::gadgets::challenger::ChallengerVar;
use crate::gadgets::hash::pack_all;
use crate::gadgets::merkle::{
    cap_differences, verify_batch_cap, verify_batch_cap_with, OpenedLevel,
};
use crate::gadgets::{Cap, Digest};
use crate::ir::{Ext, Felt, Quad};

/// One committed matrix: its trace log height (the LDE is `log_blowup` taller), its width
/// (base columns = claimed values per point) and its number of opening points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatrixShape {
    pub log_height: usize,
    pub width: usize,
    pub num_points: usize,
}

/// The constant shape of the opening claims: per commitment (in round order), per matrix
/// (commitment order): trace log height, width, number of points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningShape {
    pub commitments: Vec<Vec<MatrixShape>>,
}

impl OpeningShape {
    /// The shape of native claims (as `verifier::transcript_before_opening` returns them).
    pub fn from_claims(claims: &PcsClaims) -> Self {
        Self {
            commitments: claims
                .iter()
                .map(|c| {
                    c.matrices
                        .iter()
                        .map(|m| MatrixShape {
                            log_height: m.domain.size().trailing_zeros() as usize,
                            width: m.points.first().map_or(0, |p| p.values.len()),
                            num_points: m.points.len(),
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// `H`, log2 of the tallest LDE. HEIGHT.
    pub fn log_max_lde_height(&self, preset: FriPreset) -> usize {
        self.matrices()
            .map(|m| m.log_height)
            .max()
            .expect("something committed")
            + preset.log_blowup()
    }

    /// The LDE log heights, distinct, tallest first. HEIGHT.
    pub fn lde_log_heights(&self, preset: FriPreset) -> Vec<usize> {
        let mut hs: Vec<usize> = self
            .matrices()
            .map(|m| m.log_height + preset.log_blowup())
            .collect();
        hs.sort_unstable_by(|a, b| b.cmp(a));
        hs.dedup();
        hs
    }

    /// The FRI folding schedule (log arity per round), computed by p3-fri itself
    /// (`fold_schedule`: each round folds by `max_log_arity` bits unless that would pass
    /// the next input height or the final height). `R = H - log_blowup` rounds of arity 2
    /// for the arity-2 presets. HEIGHT.
    pub fn schedule(&self, preset: FriPreset) -> Vec<usize> {
        p3_fri::fold_schedule(
            &self.lde_log_heights(preset),
            log_final_height(preset),
            preset.max_log_arity(),
        )
    }

    /// The number of FRI rounds. HEIGHT.
    pub fn num_rounds(&self, preset: FriPreset) -> usize {
        self.schedule(preset).len()
    }

    fn matrices(&self) -> impl Iterator<Item = &MatrixShape> {
        self.commitments.iter().flatten()
    }

    /// Panics on a shape p3-fri would refuse or that this verifier does not cover.
    fn check(&self, preset: FriPreset) {
        assert!(self.matrices().next().is_some(), "nothing committed");
        for c in &self.commitments {
            assert!(!c.is_empty(), "a commitment without matrices");
        }
        for m in self.matrices() {
            assert!(m.width > 0 && m.num_points > 0, "empty matrix claim {m:?}");
            // A height-1 matrix would need its own rule (fri/verifier.rs:1410-1414).
            assert!(m.log_height >= 1, "height-1 matrices are not supported");
            // p3-fri refuses an input not above the final domain.
            assert!(
                m.log_height > preset.log_final_poly_len(),
                "a matrix of log height {} is not above the final polynomial (2^{})",
                m.log_height,
                preset.log_final_poly_len()
            );
        }
        assert!(self.log_max_lde_height(preset) <= Val::TWO_ADICITY);
    }

    /// The PCS seed of 14.2 as field elements, computed by p3-fri itself.
    pub fn pcs_seed(&self) -> Vec<Val> {
        let shape = p3_fri::PcsShape {
            claimed_evaluation_counts: self
                .commitments
                .iter()
                .map(|c| c.iter().map(|m| vec![m.width; m.num_points]).collect())
                .collect(),
            batch_pow_bits: 0,
        };
        let mut rec = Recorder::default();
        shape.domain_separator::<Val, Challenge>().seed(&mut rec);
        rec.0
    }

    /// The FRI seed of 14.6 as field elements, computed by p3-fri itself. HEIGHT (R, H).
    pub fn fri_seed(&self, preset: FriPreset) -> Vec<Val> {
        let shape = p3_fri::FriShape {
            log_arities: self.schedule(preset),
            final_poly_len: 1 << preset.log_final_poly_len(),
            commit_pow_bits: 0,
            query_pow_bits: preset.query_pow_bits(),
            num_queries: preset.num_queries(),
            index_bits: self.log_max_lde_height(preset),
            log_blowup: preset.log_blowup(),
            max_log_arity: preset.max_log_arity(),
        };
        let mut rec = Recorder::default();
        shape.domain_separator::<Val, Challenge>().seed(&mut rec);
        rec.0
    }
}

/// log2 of FRI's final domain: `log_blowup + log_final_poly_len`.
pub fn log_final_height(preset: FriPreset) -> usize {
    preset.log_blowup() + preset.log_final_poly_len()
}

/// The effective cap height of a tree of `2^log_tree_height` leaves (Plonky3 shortens the
/// cap of a small tree): `min(cap_height, log_tree_height)`.
pub fn eff_cap_height(preset: FriPreset, log_tree_height: usize) -> usize {
    preset.cap_height().min(log_tree_height)
}

/// The number of roots of a commitment to a tree of `2^log_tree_height` leaves.
pub fn cap_len(preset: FriPreset, log_tree_height: usize) -> usize {
    1 << eff_cap_height(preset, log_tree_height)
}

/// Records what a domain separator absorbs.
#[derive(Default)]
struct Recorder(Vec<Val>);

impl CanObserve<Val> for Recorder {
    fn observe(&mut self, value: Val) {
        self.0.push(value);
    }
}

/// Cells the caller has: per commitment its cap (one root at cap height 0) and, per
/// matrix, its points with the claimed values (`matrices[m][p] = (point, values)`).
#[derive(Clone, Debug)]
pub struct CommitmentClaim {
    pub commitment: Cap,
    pub matrices: Vec<Vec<(Ext, Vec<Ext>)>>,
}

/// One query's Merkle material.
#[derive(Clone, Debug)]
pub struct QueryVars {
    /// `rows[k][m]`: commitment k, matrix m's opened row, four values to a cell (the last
    /// cell's extra values are ignored).
    pub rows: Vec<Vec<Vec<Quad>>>,
    /// `input_siblings[k]`: the Merkle path of commitment k (leaf level first, up to the
    /// cap layer).
    pub input_siblings: Vec<Vec<Digest>>,
    /// Per round, arity-2 presets: the sibling value of the folded pair.
    pub sibling_values: Vec<Ext>,
    /// Per round, presets folding by more than 2: the whole opened row (`arity` values,
    /// the queried one included; the circuit requires that one to be the folded value,
    /// which is what p3-fri's reconstruction from the `arity - 1` siblings amounts to).
    pub commit_rows: Vec<Vec<Ext>>,
    /// Per round: the Merkle path of the row (folded log height minus the effective cap
    /// height levels).
    pub commit_siblings: Vec<Vec<Digest>>,
}

/// The FRI proof as hint cells, allocated in this order: `batch_pow_witness`,
/// `commit_pow_witnesses` (R), `commit_phase_commits` (R caps), `final_poly` (its
/// coefficients), `query_pow_witness`, then per query: per commitment the rows of its
/// matrices and its path, then per round the sibling value (arity 2) or the opened row
/// (larger arities) and the row's path.
#[derive(Clone, Debug)]
pub struct FriProofVars {
    pub batch_pow_witness: Felt,
    pub commit_pow_witnesses: Vec<Felt>,
    pub commit_phase_commits: Vec<Cap>,
    /// Coefficients, lowest degree first.
    pub final_poly: Vec<Ext>,
    pub query_pow_witness: Felt,
    pub queries: Vec<QueryVars>,
}

fn hint_digest(b: &mut CircuitBuilder) -> Digest {
    [b.hint_quad(), b.hint_quad()]
}

fn lde_heights(preset: FriPreset, c: &[MatrixShape]) -> usize {
    c.iter().map(|m| m.log_height).max().unwrap() + preset.log_blowup()
}

fn hint_cap(b: &mut CircuitBuilder, n: usize) -> Cap {
    (0..n).map(|_| hint_digest(b)).collect()
}

/// Per round: (log arity, log height before, folded log height, index bits consumed
/// before the round).
fn rounds_of(preset: FriPreset, shape: &OpeningShape) -> Vec<(usize, usize, usize, usize)> {
    let h = shape.log_max_lde_height(preset);
    let mut l = h;
    shape
        .schedule(preset)
        .into_iter()
        .map(|a| {
            let r = (a, l, l - a, h - l);
            l -= a;
            r
        })
        .collect()
}

impl FriProofVars {
    pub fn alloc(b: &mut CircuitBuilder, preset: FriPreset, shape: &OpeningShape) -> Self {
        shape.check(preset);
        let sched = rounds_of(preset, shape);
        let rounds = sched.len();
        let batch_pow_witness = b.hint_felt();
        let commit_pow_witnesses = (0..rounds).map(|_| b.hint_felt()).collect();
        let commit_phase_commits = sched
            .iter()
            .map(|&(_, _, lf, _)| hint_cap(b, cap_len(preset, lf)))
            .collect();
        let final_poly = (0..1 << preset.log_final_poly_len())
            .map(|_| b.hint_ext())
            .collect();
        let query_pow_witness = b.hint_felt();
        let queries = (0..preset.num_queries())
            .map(|_| {
                let mut rows = Vec::new();
                let mut input_siblings = Vec::new();
                for c in &shape.commitments {
                    rows.push(
                        c.iter()
                            .map(|m| (0..m.width.div_ceil(4)).map(|_| b.hint_quad()).collect())
                            .collect(),
                    );
                    let depth = lde_heights(preset, c);
                    let depth = depth - eff_cap_height(preset, depth);
                    input_siblings.push((0..depth).map(|_| hint_digest(b)).collect());
                }
                let mut sibling_values = Vec::new();
                let mut commit_rows = Vec::new();
                let mut commit_siblings = Vec::new();
                for &(a, _, lf, _) in &sched {
                    if preset.max_log_arity() == 1 {
                        sibling_values.push(b.hint_ext());
                    } else {
                        commit_rows.push((0..1 << a).map(|_| b.hint_ext()).collect());
                    }
                    let depth = lf - eff_cap_height(preset, lf);
                    commit_siblings.push((0..depth).map(|_| hint_digest(b)).collect());
                }
                QueryVars {
                    rows,
                    input_siblings,
                    sibling_values,
                    commit_rows,
                    commit_siblings,
                }
            })
            .collect();
        Self {
            batch_pow_witness,
            commit_pow_witnesses,
            commit_phase_commits,
            final_poly,
            query_pow_witness,
            queries,
        }
    }

    /// The hint values for [`FriProofVars::alloc`]'s cells, in exactly that order, from a
    /// real proof. `challenger` is the native challenger after step 13 and `claims` the
    /// native claims: the query indices and the folded pairs the Merkle paths are restored
    /// at are derived by replaying step 14 natively. Nothing is checked but the shape: the
    /// values are whatever the proof holds, so a bad proof fills the circuit as a forger
    /// would and the circuit's own checks (`run`, then the constraints) refuse it. Errors
    /// on a proof or claims of another shape.
    pub fn hint_values(
        preset: FriPreset,
        shape: &OpeningShape,
        challenger: &Challenger,
        claims: &PcsClaims,
        proof: &PcsProof,
    ) -> Result<Vec<Challenge>, String> {
        let replay = native_replay(preset, shape, challenger, claims, proof)?;
        let h = shape.log_max_lde_height(preset);
        let sched = rounds_of(preset, shape);
        let lb = preset.log_blowup();
        let perm = p3_baby_bear_perm();
        let mmcs = ValMmcs::new(
            LeafHash::new(perm.clone()),
            NodeCompress::new(perm),
            preset.cap_height(),
        );

        let mut out = Vec::new();
        out.push(Challenge::from(proof.batch_pow_witness));
        out.extend(
            proof
                .commit_pow_witnesses
                .iter()
                .map(|&w| Challenge::from(w)),
        );
        for (c, &(_, _, lf, _)) in proof.commit_phase_commits.iter().zip(&sched) {
            push_cap(&mut out, c, cap_len(preset, lf))?;
        }
        out.extend_from_slice(&proof.final_poly);
        out.push(Challenge::from(proof.query_pow_witness));

        // Full paths, restored from the pruned multiproofs: [commitment][query].
        let mut input_paths = Vec::new();
        for (k, (c, opening)) in shape
            .commitments
            .iter()
            .zip(&proof.input_openings)
            .enumerate()
        {
            let dims: Vec<p3_matrix::Dimensions> = c
                .iter()
                .map(|m| p3_matrix::Dimensions {
                    width: m.width,
                    height: 1 << (m.log_height + lb),
                })
                .collect();
            let lk = lde_heights(preset, c);
            let depth = lk - eff_cap_height(preset, lk);
            let rows: Vec<usize> = replay.indices.iter().map(|&i| i >> (h - lk)).collect();
            // A pruned multiproof that does not fit the derived indices (a forged proof
            // moves them) leaves the paths to the circuit: zero siblings, refused by the
            // root check.
            let paths: Vec<Vec<[Val; 8]>> = mmcs
                .restore_and_recompute_paths(
                    &dims,
                    &rows,
                    &opening.opened_values,
                    &opening.opening_proof,
                )
                .map(|ps| ps.into_iter().map(|p| p.siblings).collect())
                .unwrap_or_else(|_| vec![vec![[Val::ZERO; 8]; depth]; rows.len()]);
            if paths.iter().any(|p| p.len() != depth) {
                return Err(format!("commitment {k}: paths of another depth"));
            }
            input_paths.push(paths);
        }
        let mut round_paths = Vec::new();
        for (r, &(a, _, lf, off)) in sched.iter().enumerate() {
            let depth = lf - eff_cap_height(preset, lf);
            let dims = [p3_matrix::Dimensions {
                width: 4 << a,
                height: 1 << lf,
            }];
            let rows: Vec<usize> = replay.indices.iter().map(|&i| i >> (off + a)).collect();
            let opened: Vec<Vec<Vec<Val>>> = replay.rows[r]
                .iter()
                .map(|row| vec![row.iter().flat_map(|e| coords(*e)).collect()])
                .collect();
            let paths: Vec<Vec<[Val; 8]>> = mmcs
                .restore_and_recompute_paths(
                    &dims,
                    &rows,
                    &opened,
                    &proof.commit_phase_openings[r].opening_proof,
                )
                .map(|ps| ps.into_iter().map(|p| p.siblings).collect())
                .unwrap_or_else(|_| vec![vec![[Val::ZERO; 8]; depth]; rows.len()]);
            if paths.iter().any(|p| p.len() != depth) {
                return Err(format!("FRI round {r}: paths of another depth"));
            }
            round_paths.push(paths);
        }

        for q in 0..preset.num_queries() {
            for (k, (c, opening)) in shape
                .commitments
                .iter()
                .zip(&proof.input_openings)
                .enumerate()
            {
                for (m, row) in c.iter().zip(&opening.opened_values[q]) {
                    push_quads(&mut out, row, m.width.div_ceil(4));
                }
                for s in &input_paths[k][q] {
                    push_digest(&mut out, *s);
                }
            }
            for (r, (opening, paths)) in proof
                .commit_phase_openings
                .iter()
                .zip(&round_paths)
                .enumerate()
            {
                if preset.max_log_arity() == 1 {
                    out.push(opening.sibling_values[q][0]);
                } else {
                    out.extend_from_slice(&replay.rows[r][q]);
                }
                let (_, _, lf, _) = sched[r];
                let path = &paths[q];
                if path.len() != lf - eff_cap_height(preset, lf) {
                    return Err(format!("FRI round {r}: path of {} levels", path.len()));
                }
                for s in path {
                    push_digest(&mut out, *s);
                }
            }
        }
        Ok(out)
    }
}

fn p3_baby_bear_perm() -> starkscope_stark_backend::config::Perm {
    p3_baby_bear::default_babybear_poseidon2_16()
}

fn coords(e: Challenge) -> [Val; 4] {
    <Challenge as BasedVectorSpace<Val>>::as_basis_coefficients_slice(&e)
        .try_into()
        .unwrap()
}

fn quad_value(vals: &[Val]) -> Challenge {
    <Challenge as BasedVectorSpace<Val>>::from_basis_coefficients_fn(|j| {
        vals.get(j).copied().unwrap_or(Val::ZERO)
    })
}

fn push_quads(out: &mut Vec<Challenge>, vals: &[Val], cells: usize) {
    for j in 0..cells {
        out.push(quad_value(vals.get(4 * j..).unwrap_or(&[])));
    }
}

fn push_digest(out: &mut Vec<Challenge>, d: [Val; 8]) {
    out.push(quad_value(&d[..4]));
    out.push(quad_value(&d[4..]));
}

/// Pushes every root of a commitment (a cap of `n` roots), two cells each.
pub(crate) fn push_cap(
    out: &mut Vec<Challenge>,
    c: &starkscope_stark_backend::config::Commitment,
    n: usize,
) -> Result<(), String> {
    if c.roots().len() != n {
        return Err(format!(
            "a commitment with {} roots, the circuit's has {n}",
            c.roots().len()
        ));
    }
    for root in c.roots() {
        push_digest(out, *root);
    }
    Ok(())
}

/// What the native replay of step 14 derives: the query indices and, per round and
/// query, the opened row (the folded value among its siblings, as p3-fri reconstructs it).
struct NativeReplay {
    indices: Vec<usize>,
    rows: Vec<Vec<Vec<Challenge>>>,
}

/// Step 14 natively, as the circuit does it (and as crates/stark-backend/tests/
/// transcript_spec.rs checks against p3-fri), without the Merkle checks.
fn native_replay(
    preset: FriPreset,
    shape: &OpeningShape,
    challenger: &Challenger,
    claims: &PcsClaims,
    proof: &PcsProof,
) -> Result<NativeReplay, String> {
    shape.check(preset);
    if OpeningShape::from_claims(claims) != *shape {
        return Err("the claims have another shape".into());
    }
    for c in claims {
        for m in &c.matrices {
            if m.points
                .iter()
                .any(|p| p.values.len() != m.points[0].values.len())
            {
                return Err("points of one matrix with different value counts".into());
            }
        }
    }
    let lb = preset.log_blowup();
    let h = shape.log_max_lde_height(preset);
    let sched = rounds_of(preset, shape);
    let rounds = sched.len();
    let nq = preset.num_queries();
    if proof.commit_phase_commits.len() != rounds
        || proof.commit_pow_witnesses.len() != rounds
        || proof.commit_phase_openings.len() != rounds
        || proof.final_poly.len() != 1 << preset.log_final_poly_len()
        || proof.input_openings.len() != shape.commitments.len()
    {
        return Err("FRI proof of another shape".into());
    }
    for (r, (o, &(a, ..))) in proof.commit_phase_openings.iter().zip(&sched).enumerate() {
        if o.sibling_values.len() != nq || o.sibling_values.iter().any(|s| s.len() != (1 << a) - 1)
        {
            return Err(format!("round {r}: sibling values of another shape"));
        }
    }
    for (k, (c, o)) in shape
        .commitments
        .iter()
        .zip(&proof.input_openings)
        .enumerate()
    {
        if o.opened_values.len() != nq
            || o.opened_values.iter().any(|rows| {
                rows.len() != c.len() || rows.iter().zip(c).any(|(row, m)| row.len() != m.width)
            })
        {
            return Err(format!("commitment {k}: opened rows of another shape"));
        }
    }

    let mut ch = challenger.clone();
    ch.observe_slice(&shape.pcs_seed());
    for c in claims {
        for m in &c.matrices {
            for p in &m.points {
                for &v in &p.values {
                    ch.observe_algebra_element(v);
                }
            }
        }
    }
    let alpha: Challenge = ch.sample_algebra_element();
    ch.observe_slice(&shape.fri_seed(preset));
    let mut betas = Vec::new();
    for c in &proof.commit_phase_commits {
        for root in c.roots() {
            ch.observe_slice(root);
        }
        betas.push(ch.sample_algebra_element::<Challenge>());
    }
    for &c in &proof.final_poly {
        ch.observe_algebra_element(c);
    }
    // The circuit checks the grinding; here it only advances the transcript.
    let _ = ch.check_witness(preset.query_pow_bits(), proof.query_pow_witness);
    let indices: Vec<usize> = (0..nq).map(|_| ch.sample_bits(h)).collect();

    let mut rows = vec![Vec::new(); rounds];
    let folding = p3_fri::TwoAdicFriFolding::<(), String>(core::marker::PhantomData);
    for (q, &index) in indices.iter().enumerate() {
        let mut ro = BTreeMap::<usize, Challenge>::new();
        let mut next_power = BTreeMap::<usize, Challenge>::new();
        for (c, opening) in claims.iter().zip(&proof.input_openings) {
            for (m, row) in c.matrices.iter().zip(&opening.opened_values[q]) {
                let l = m.domain.size().trailing_zeros() as usize + lb;
                let rev = p3_util_reverse_bits(index >> (h - l), l);
                let x = Val::GENERATOR * Val::two_adic_generator(l).exp_u64(rev as u64);
                for p in &m.points {
                    let pow = next_power.entry(l).or_insert(Challenge::ONE);
                    let mut acc = Challenge::ZERO;
                    for (&at_z, &at_x) in p.values.iter().zip(row) {
                        acc += *pow * (at_z - Challenge::from(at_x));
                        *pow *= alpha;
                    }
                    let den = p.point - Challenge::from(x);
                    // z = x: the circuit's checked inverse refuses it.
                    let inv = den.try_inverse().unwrap_or(Challenge::ZERO);
                    *ro.entry(l).or_insert(Challenge::ZERO) += acc * inv;
                }
            }
        }
        let mut folded = ro[&h];
        let mut idx = index;
        for (r, (&beta, &(a, _, lf, _))) in betas.iter().zip(&sched).enumerate() {
            // p3-fri's fold_query: the row is the folded value among the siblings.
            let sib = &proof.commit_phase_openings[r].sibling_values[q];
            let at = idx & ((1 << a) - 1);
            let mut row = sib.clone();
            row.insert(at, folded);
            idx >>= a;
            folded = p3_fri::FriFoldingStrategy::<Val, Challenge>::fold_row(
                &folding,
                idx,
                lf,
                a,
                beta,
                row.iter().copied(),
            );
            rows[r].push(row);
            if let Some(&extra) = ro.get(&lf) {
                folded += beta.exp_power_of_2(a) * extra;
            }
        }
    }
    Ok(NativeReplay { indices, rows })
}

fn p3_util_reverse_bits(x: usize, bits: usize) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS as usize - bits)
    }
}

/// The per-LDE-height alpha ladders of 14.12, as constants of the shape. HEIGHT.
///
/// For LDE log height `L`: the openings at that height in claim order, each one
/// (commitment, matrix, point index, ladder offset).
struct Ladders {
    by_height: BTreeMap<usize, Vec<(usize, usize, usize, usize)>>,
}

impl Ladders {
    fn new(preset: FriPreset, shape: &OpeningShape) -> Self {
        let mut by_height: BTreeMap<usize, Vec<_>> = BTreeMap::new();
        let mut next = BTreeMap::<usize, usize>::new();
        for (k, c) in shape.commitments.iter().enumerate() {
            for (m, ms) in c.iter().enumerate() {
                let l = ms.log_height + preset.log_blowup();
                for p in 0..ms.num_points {
                    let o = next.entry(l).or_insert(0);
                    by_height.entry(l).or_default().push((k, m, p, *o));
                    *o += ms.width;
                }
            }
        }
        Self { by_height }
    }

    fn max_power(&self, shape: &OpeningShape) -> usize {
        self.by_height
            .values()
            .flatten()
            .map(|&(k, m, _, o)| o + shape.commitments[k][m].width)
            .max()
            .unwrap_or(1)
    }
}

/// Emits step 14 on `ch` (the challenger after step 13). `claims` are in the shape's
/// order, every matrix's points with exactly `width` values each; two points that are the
/// same cell share their inverses (give `zeta` as one cell to every matrix).
pub fn verify_pcs(
    b: &mut CircuitBuilder,
    preset: FriPreset,
    shape: &OpeningShape,
    ch: &mut ChallengerVar,
    claims: &[CommitmentClaim],
    proof: &FriProofVars,
) {
    shape.check(preset);
    assert_eq!(
        claims.len(),
        shape.commitments.len(),
        "claims of another shape"
    );
    for (c, s) in claims.iter().zip(&shape.commitments) {
        assert_eq!(c.matrices.len(), s.len(), "claims of another shape");
        for (m, ms) in c.matrices.iter().zip(s) {
            assert_eq!(m.len(), ms.num_points, "claims of another shape");
            assert!(
                m.iter().all(|(_, v)| v.len() == ms.width),
                "claims of another shape"
            );
        }
    }
    let lb = preset.log_blowup();
    let h = shape.log_max_lde_height(preset); // HEIGHT
    let sched = rounds_of(preset, shape); // HEIGHT
    let rounds = sched.len();
    assert_eq!(proof.commit_phase_commits.len(), rounds);
    assert_eq!(proof.queries.len(), preset.num_queries());

    // 14.1 zero-bit PoW witnesses must be zero.
    b.label("fri_zero_pow");
    b.assert_zero(proof.batch_pow_witness);
    for &w in &proof.commit_pow_witnesses {
        b.assert_zero(w);
    }

    // 14.2 the PCS seed (a constant of the claim shape).
    b.label("fri_transcript");
    ch.observe_constants(b, &shape.pcs_seed());
    // 14.3 claimed evaluations.
    for c in claims {
        for m in &c.matrices {
            for (_, values) in m {
                for &v in values {
                    ch.observe_ext(b, v);
                }
            }
        }
    }
    // 14.4 no batch PoW; 14.5 alpha.
    let alpha = ch.sample_ext(b);
    // 14.6 the FRI seed. HEIGHT: one constant per (R, H).
    ch.observe_constants(b, &shape.fri_seed(preset));
    // 14.7 commit rounds.
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
    // 14.8 final polynomial, 14.9 query PoW, 14.10 query indices (H bits each).
    for &c in &proof.final_poly {
        ch.observe_ext(b, c);
    }
    ch.check_witness(b, preset.query_pow_bits(), proof.query_pow_witness);
    if preset.query_pow_bits() == 0 {
        // As 14.1: p3-fri requires a zero-bit site's witness to be 0 (no preset has a
        // zero-bit query PoW today; without this the witness would be a free cell).
        b.assert_zero(proof.query_pow_witness);
    }
    let indices: Vec<Vec<Felt>> = (0..preset.num_queries())
        .map(|_| ch.sample_bits(b, h))
        .collect();

    // Query-independent pieces of 14.12: alpha's powers, alpha^-1, and per (height,
    // distinct point) the claimed side `sum alpha^(o+i) y_i` and the row terms.
    b.label("fri_batching");
    let ladders = Ladders::new(preset, shape);
    let n_pow = ladders.max_power(shape);
    let mut alpha_pow = vec![b.one().ext(), alpha];
    while alpha_pow.len() < n_pow {
        let next = b.mul(*alpha_pow.last().unwrap(), alpha);
        alpha_pow.push(next);
    }
    let alpha_inv = b.inverse(alpha);
    struct PointGroup {
        point: Ext,
        claimed: Ext,
        /// (commitment, matrix, exponent `o + w - 1` of the row term's coefficient)
        rows: Vec<(usize, usize, usize)>,
    }
    let mut groups: BTreeMap<usize, Vec<PointGroup>> = BTreeMap::new();
    for (&l, openings) in &ladders.by_height {
        let gs = groups.entry(l).or_default();
        for &(k, m, p, o) in openings {
            let (point, values) = &claims[k].matrices[m][p];
            let w = values.len();
            let gi = match gs.iter().position(|g| g.point == *point) {
                Some(i) => i,
                None => {
                    let zero = b.zero().ext();
                    gs.push(PointGroup {
                        point: *point,
                        claimed: zero,
                        rows: Vec::new(),
                    });
                    gs.len() - 1
                }
            };
            let mut acc = gs[gi].claimed;
            for (i, &y) in values.iter().enumerate() {
                acc = b.mul_add(alpha_pow[o + i], y, acc);
            }
            gs[gi].claimed = acc;
            gs[gi].rows.push((k, m, o + w - 1));
        }
    }
    let arity2 = preset.max_log_arity() == 1;
    let beta_sq: Vec<Option<Ext>> = (0..rounds)
        .map(|r| {
            (arity2 && ladders.by_height.contains_key(&(h - r - 1)))
                .then(|| b.mul(betas[r], betas[r]))
        })
        .collect();
    // Larger arities: beta_r^(2^a) for the rounds that roll in a reduced opening.
    let roll: Vec<Option<Ext>> = sched
        .iter()
        .enumerate()
        .map(|(r, &(a, _, lf, _))| {
            (!arity2 && ladders.by_height.contains_key(&lf)).then(|| {
                let mut bp = betas[r];
                for _ in 0..a {
                    bp = b.mul(bp, bp);
                }
                bp
            })
        })
        .collect();
    // A cap's first select level is shared by the queries.
    let input_diffs: Vec<Option<Vec<Digest>>> = claims
        .iter()
        .map(|c| (c.commitment.len() > 1).then(|| cap_differences(b, &c.commitment)))
        .collect();
    let round_diffs: Vec<Option<Vec<Digest>>> = proof
        .commit_phase_commits
        .iter()
        .map(|c| (c.len() > 1).then(|| cap_differences(b, c)))
        .collect();
    let half = Val::TWO.inverse();
    let w_h_inv = Val::two_adic_generator(h).inverse();

    for (bits, qv) in indices.iter().zip(&proof.queries) {
        // 14.11 input openings: one batch opening per commitment, at the top L_k bits.
        b.label("fri_input_merkle");
        for (k, (c, s)) in claims.iter().zip(&shape.commitments).enumerate() {
            let lk = lde_heights(preset, s); // HEIGHT
            let mut heights: Vec<usize> = s.iter().map(|m| m.log_height + lb).collect();
            heights.sort_unstable_by(|a, b| b.cmp(a));
            heights.dedup();
            let levels: Vec<OpenedLevel> = heights
                .iter()
                .map(|&l| {
                    let mats: Vec<(usize, &MatrixShape)> = s
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| m.log_height + lb == l)
                        .collect();
                    let len = mats.iter().map(|(_, m)| m.width).sum();
                    let aligned = mats[..mats.len() - 1].iter().all(|(_, m)| m.width % 4 == 0);
                    let values = if aligned {
                        mats.iter()
                            .flat_map(|&(m, _)| qv.rows[k][m].iter().copied())
                            .collect()
                    } else {
                        // Repack the concatenated stream: matrices whose width is not a
                        // multiple of 4 end mid-cell.
                        let mut felts = Vec::new();
                        for &(m, ms) in &mats {
                            for (j, &cell) in qv.rows[k][m].iter().enumerate() {
                                let v = b.unpack(cell);
                                felts.extend_from_slice(&v[..(ms.width - 4 * j).min(4)]);
                            }
                        }
                        pack_all(b, &felts)
                    };
                    OpenedLevel {
                        log_height: l,
                        values,
                        len,
                    }
                })
                .collect();
            verify_batch_cap_with(
                b,
                &c.commitment,
                input_diffs[k].as_deref(),
                &levels,
                &bits[h - lk..],
                &qv.input_siblings[k],
            );
        }

        // 14.12 reduced openings, one per LDE height.
        b.label("fri_reduced_openings");
        let mut ro: BTreeMap<usize, Ext> = BTreeMap::new();
        let mut row_sums: BTreeMap<(usize, usize), Ext> = BTreeMap::new();
        let heights: Vec<usize> = groups.keys().copied().collect();
        let ys = query_points(b, bits, h, &heights);
        for (&l, gs) in &groups {
            // x = GENERATOR * w_L^(rev_L(index >> (H - L))). HEIGHT.
            let x = b.scale(ys[&l], Val::GENERATOR).ext();
            let mut acc: Option<Ext> = None;
            for g in gs {
                let mut num = g.claimed;
                for &(k, m, e) in &g.rows {
                    let width = shape.commitments[k][m].width;
                    // sum_i alpha^i r_i = alpha^(w-1) * horner(alpha^-1, row).
                    let hm = *row_sums
                        .entry((k, m))
                        .or_insert_with(|| b.horner(None, alpha_inv, &qv.rows[k][m], width));
                    let coeff = alpha_pow_at(b, &mut alpha_pow, alpha, e);
                    num = b.linear(
                        [Val::NEG_ONE, Val::ZERO, Val::ZERO, Val::ONE],
                        coeff,
                        hm,
                        num,
                    );
                }
                let den = b.sub(g.point, x);
                let inv = b.inverse(den);
                acc = Some(match acc {
                    None => b.mul(num, inv),
                    Some(a) => b.mul_add(num, inv, a),
                });
            }
            ro.insert(l, acc.expect("a height has an opening"));
        }

        if !arity2 {
            fold_chain_arity(
                b,
                preset,
                &sched,
                bits,
                h,
                &betas,
                &roll,
                &round_diffs,
                &ro,
                proof,
                qv,
            );
            continue;
        }
        // 14.13 the fold chain. u_r = 1 / s_r = w_L^-rev_(L-1)(index >> (r+1)), updated
        // as u_(r+1) = u_r^2 * (1 - 2 b_(r+1)) (no inverse).
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
            // (e0 + e1)/2 + (e0 - e1) * beta / (2 s) = d t / 2 - d / 2 + e0.
            folded = b.linear([half, -half, Val::ZERO, Val::ONE], d, t, e0);
            // 14.15 the pair's Merkle opening in round r's tree (H - r - 1 levels).
            b.label("fri_commit_merkle");
            let level = OpenedLevel {
                log_height: h - r - 1,
                values: vec![e0.quad(), e1.quad()],
                len: 8,
            };
            verify_batch_cap(
                b,
                &proof.commit_phase_commits[r],
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
        // 14.14 the final polynomial is a constant.
        b.assert_eq(folded, proof.final_poly[0]);
    }
    b.unlabel();
}

/// 14.13-14.15 for a preset folding by more than 2 (the aggregation preset): per round of
/// log arity `a` (p3-fri's schedule), the hinted row of `2^a` values is opened in the
/// round's tree at the group index (the index without its low `a` bits), its entry at the
/// low `a` bits must be the folded value, and the row folds to the interpolant of the
/// row's points at `beta` (p3-fri's `fold_row`), plus `beta^(2^a)` times the reduced
/// opening of the new height if any. Then the final polynomial, by Horner at
/// `x = w_F^rev_F(index >> (H - F))` (F the final log height).
#[allow(clippy::too_many_arguments)]
fn fold_chain_arity(
    b: &mut CircuitBuilder,
    preset: FriPreset,
    sched: &[(usize, usize, usize, usize)],
    bits: &[Felt],
    h: usize,
    betas: &[Ext],
    roll: &[Option<Ext>],
    round_diffs: &[Option<Vec<Digest>>],
    ro: &BTreeMap<usize, Ext>,
    proof: &FriProofVars,
    qv: &QueryVars,
) {
    b.label("fri_fold");
    let mut folded = ro[&h];
    for (r, &(a, _, lf, off)) in sched.iter().enumerate() {
        let row = &qv.commit_rows[r];
        assert_eq!(row.len(), 1 << a);
        // The queried entry: a select tree over the row by the low a bits.
        let mut entries = row.clone();
        for &bit in &bits[off..off + a] {
            entries = entries
                .chunks(2)
                .map(|p| b.select(bit, p[1], p[0]))
                .collect();
        }
        b.assert_eq(entries[0], folded);
        // s = w_(lf + a)^rev_lf(group index); t = beta / s.
        let group = &bits[off + a..h];
        let s_inv = b.exp_reverse_bits_const(Val::two_adic_generator(lf + a).inverse(), group);
        let t = b.mul(betas[r], s_inv.ext());
        folded = fold_row(b, row, a, t);
        b.label("fri_commit_merkle");
        let level = OpenedLevel {
            log_height: lf,
            values: row.iter().map(|e| e.quad()).collect(),
            len: 4 << a,
        };
        verify_batch_cap_with(
            b,
            &proof.commit_phase_commits[r],
            round_diffs[r].as_deref(),
            &[level],
            group,
            &qv.commit_siblings[r],
        );
        b.label("fri_fold");
        if let Some(&extra) = ro.get(&lf) {
            let bp = roll[r].expect("beta^(2^a) of a roll-in round");
            folded = b.mul_add(bp, extra, folded);
        }
    }
    // 14.14 the final polynomial at x = w_H^rev_H(index >> (H - F)) = w_F^rev_F(...).
    let lfin = log_final_height(preset);
    let x = b
        .exp_reverse_bits_const(Val::two_adic_generator(lfin), &bits[h - lfin..h])
        .ext();
    let mut acc = *proof.final_poly.last().expect("a final polynomial");
    for &c in proof.final_poly.iter().rev().skip(1) {
        acc = b.mul_add(acc, x, c);
    }
    b.assert_eq(folded, acc);
}

/// The interpolant of `row` at `beta`, where `row[j]` is the value at
/// `s * w_(2^a)^rev_a(j)` and `t = beta / s`: `a` levels of arity-2 folds (each pair
/// `(row[2m], row[2m+1])` sits at `x, -x` with `x = s w^rev(m)`, and folds to
/// `(lo + hi)/2 + (lo - hi) beta / (2x)`, a value at `x^2`), the challenge squaring and
/// `s` squaring with each level (so `t` squares). Equal to p3-fri's Lagrange
/// interpolation (`fold_row`) since the interpolant has degree below `2^a`.
fn fold_row(b: &mut CircuitBuilder, row: &[Ext], a: usize, t: Ext) -> Ext {
    let mut vals = row.to_vec();
    let mut t = t;
    for level in 0..a {
        let half = vals.len() / 2;
        let lh = half.trailing_zeros() as usize;
        let w_inv = Val::two_adic_generator(lh + 1).inverse();
        let h2 = Val::TWO.inverse();
        vals = (0..half)
            .map(|m| {
                let (lo, hi) = (vals[2 * m], vals[2 * m + 1]);
                let c = w_inv.exp_u64(p3_util_reverse_bits(m, lh) as u64) * h2;
                let d = b.sub(lo, hi);
                // lo - d/2 + c d t
                b.linear([c, -h2, Val::ZERO, Val::ONE], d, t, lo)
            })
            .collect();
        if level + 1 < a {
            t = b.mul(t, t);
        }
    }
    vals[0]
}

/// `y_L = x_L / GENERATOR = w_L^(rev_L(index >> (H - L)))` for each LDE log height `L`
/// in `heights`, from the `H` index bits: since `y_L = y_(L+1)^2`, a height is squared
/// down from the next taller one when that is cheaper (one lane per level) than its own
/// exponentiation (`L` lanes).
pub(crate) fn query_points(
    b: &mut CircuitBuilder,
    bits: &[Felt],
    h: usize,
    heights: &[usize],
) -> BTreeMap<usize, Felt> {
    let mut out = BTreeMap::new();
    let mut prev: Option<(usize, Felt)> = None;
    let mut hs = heights.to_vec();
    hs.sort_unstable_by(|a, b| b.cmp(a));
    hs.dedup();
    for l in hs {
        let y = match prev {
            Some((p, mut y)) if p - l < l => {
                for _ in l..p {
                    y = b.mul(y, y);
                }
                y
            }
            _ => b.exp_reverse_bits_const(Val::two_adic_generator(l), &bits[h - l..]),
        };
        out.insert(l, y);
        prev = Some((l, y));
    }
    out
}

/// `alpha^e`, extending the table if needed.
fn alpha_pow_at(b: &mut CircuitBuilder, pows: &mut Vec<Ext>, alpha: Ext, e: usize) -> Ext {
    while pows.len() <= e {
        let next = b.mul(*pows.last().unwrap(), alpha);
        pows.push(next);
    }
    pows[e]
}
