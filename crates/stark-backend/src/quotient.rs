//! Quotient evaluation: every constraint (AIR and LogUp) on the quotient coset, folded
//! with powers of alpha and divided by the trace domain's vanishing polynomial, a packed
//! row group at a time.

use p3_air::symbolic::ConstraintLayout;
use p3_air::RowWindow;
use p3_commit::PolynomialSpace;
use p3_field::{BasedVectorSpace, PackedFieldExtension, PackedValue, PrimeCharacteristicRing};
use p3_lookup::{LogUpGadget, LookupProtocol, Lookups};
use p3_matrix::dense::RowMajorMatrixView;
use p3_matrix::Matrix;
use p3_maybe_rayon::prelude::*;
use p3_uni_stark::ProverConstraintFolder;

use crate::air::{AirRef, StarkAir};
use crate::config::{Challenge, Domain, PackedChallenge, PackedVal, Val};
use crate::folder::ProverFolder;

/// Inputs for one AIR's quotient.
pub(crate) struct QuotientInputs<'a, M: Matrix<Val>> {
    pub air: &'a dyn StarkAir,
    pub layout: &'a ConstraintLayout,
    pub lookups: &'a Lookups<Val>,
    pub public_values: &'a [Val],
    pub trace_domain: Domain,
    pub quotient_domain: Domain,
    pub main: &'a M,
    pub preprocessed: Option<&'a M>,
    /// Permutation trace on the quotient domain, in base-field coordinates.
    pub permutation: Option<&'a M>,
    pub lookup_challenges: &'a [Challenge],
    pub cumulative_sum: Option<Challenge>,
    pub alpha: Challenge,
    /// The constraints an ablation run removes from this AIR.
    #[cfg(feature = "ablation")]
    pub dropped_constraints: Vec<usize>,
}

/// Returns the quotient's values on the quotient domain.
pub(crate) fn quotient_values<M: Matrix<Val> + Sync>(
    inp: &QuotientInputs<'_, M>,
) -> Vec<Challenge> {
    let n = inp.quotient_domain.size();
    let width = PackedVal::WIDTH;
    let mut sels = inp.trace_domain.selectors_on_coset(inp.quotient_domain);
    // Row step between "current" and "next" on the quotient coset.
    let next_step = n / inp.trace_domain.size();

    // Short domains (smaller than one packed vector) wrap around, like the trace does.
    let padded = n.next_multiple_of(width);
    for v in [
        &mut sels.is_first_row,
        &mut sels.is_last_row,
        &mut sels.is_transition,
        &mut sels.inv_vanishing,
    ] {
        for i in n..padded {
            let x = v[i % n];
            v.push(x);
        }
    }

    let (base_powers, ext_powers) = inp.layout.decompose_alpha::<Val, Challenge>(inp.alpha);
    let challenges: Vec<PackedChallenge> =
        inp.lookup_challenges.iter().map(|&c| c.into()).collect();
    let sums: Vec<PackedChallenge> = inp.cumulative_sum.iter().map(|&c| c.into()).collect();
    let gadget = LogUpGadget::new();
    let air = AirRef(inp.air);
    let main_width = inp.main.width();
    let prep_width = inp.preprocessed.map_or(0, |m| m.width());
    let perm_cols = inp.permutation.map_or(0, |m| m.width() / 4);
    let n_constraints = inp.layout.total_constraints();

    let mut out = Challenge::zero_vec(padded);
    out.par_chunks_mut(width).enumerate().for_each_init(
        || (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()),
        |(main_buf, prep_buf, perm_buf, base_buf, ext_buf), (chunk, slot)| {
            let start = chunk * width;
            let load = |v: &[Val]| *PackedVal::from_slice(&v[start..start + width]);

            main_buf.clear();
            main_buf.extend(inp.main.vertically_packed_row::<PackedVal>(start));
            main_buf.extend(
                inp.main
                    .vertically_packed_row::<PackedVal>(start + next_step),
            );
            prep_buf.clear();
            if let Some(p) = inp.preprocessed {
                prep_buf.extend(p.vertically_packed_row::<PackedVal>(start));
                prep_buf.extend(p.vertically_packed_row::<PackedVal>(start + next_step));
            }
            perm_buf.clear();
            if let Some(p) = inp.permutation {
                for row in [start, start + next_step] {
                    let packed: Vec<PackedVal> =
                        p.vertically_packed_row::<PackedVal>(row).collect();
                    perm_buf.extend((0..perm_cols).map(|c| {
                        PackedChallenge::from_basis_coefficients_fn(|d| packed[4 * c + d])
                    }));
                }
            }
            let main = RowMajorMatrixView::new(main_buf.as_slice(), main_width);
            let prep = RowMajorMatrixView::new(prep_buf.as_slice(), prep_width);
            base_buf.clear();
            ext_buf.clear();
            let inner = ProverConstraintFolder {
                main,
                preprocessed: prep,
                preprocessed_window: RowWindow::from_two_rows(
                    &prep_buf[..prep_width],
                    &prep_buf[prep_width..],
                ),
                periodic_values: &[],
                public_values: inp.public_values,
                is_first_row: load(&sels.is_first_row),
                is_last_row: load(&sels.is_last_row),
                is_transition: load(&sels.is_transition),
                base_alpha_powers: &base_powers,
                ext_alpha_powers: &ext_powers,
                base_constraints: core::mem::take(base_buf),
                ext_constraints: core::mem::take(ext_buf),
                constraint_index: 0,
                constraint_count: n_constraints,
            };
            let mut folder = ProverFolder {
                inner,
                permutation: RowMajorMatrixView::new(perm_buf.as_slice(), perm_cols),
                permutation_challenges: &challenges,
                cumulative_sum: &sums,
                #[cfg(feature = "ablation")]
                ablation: crate::folder::Ablation::new(inp.dropped_constraints.clone()),
            };
            gadget.eval_air_and_lookups(&air, &mut folder, inp.lookups);
            let q = folder.inner.finalize_constraints() * load(&sels.inv_vanishing);
            *base_buf = folder.inner.base_constraints;
            *ext_buf = folder.inner.ext_constraints;
            for (i, s) in slot.iter_mut().enumerate() {
                *s = q.extract(i);
            }
        },
    );
    out.truncate(n);
    out
}
