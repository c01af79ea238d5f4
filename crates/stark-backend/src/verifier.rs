//! The verifier: shapes against the key, transcript replay, the PCS (FRI) check, every
//! AIR's constraints (LogUp included) at the out-of-domain point, and the bus balance.

use p3_air::RowWindow;
use p3_challenger::{CanObserve, FieldChallenger, GrindingChallenger};
use p3_commit::PolynomialSpace;
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing};
use p3_lookup::{check_multiplicity_height_bound, LogUpGadget, LookupProtocol, Lookups};
use p3_matrix::dense::RowMajorMatrixView;
use p3_matrix::stack::VerticalPair;
use p3_uni_stark::VerifierConstraintFolder;
use tracing::debug_span;

use crate::air::AirRef;
use crate::config::{Challenge, Challenger, Commitment, Domain, Pcs, StarkConfig, Val};
use crate::folder::VerifierFolder;
use crate::keygen::{AirInfo, VerifyingKey};
use crate::proof::{AirProof, Proof};
use crate::prover::MAX_LOG_HEIGHT;
use crate::transcript;

const D: usize = <Challenge as BasedVectorSpace<Val>>::DIMENSION;

/// Why a proof was rejected.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the key's FRI preset ({key}) differs from the config's ({config})")]
    PresetMismatch {
        key: crate::FriPreset,
        config: crate::FriPreset,
    },
    #[error("proof has {got} AIRs, the key has {expected}")]
    AirCount { expected: usize, got: usize },
    #[error("AIR {air_id} ({name}): malformed proof: {what}")]
    Shape {
        air_id: usize,
        name: String,
        what: String,
    },
    #[error("malformed proof: {0}")]
    ProofShape(String),
    #[error("LogUp multiplicities could wrap the field at these heights")]
    Multiplicity,
    #[error("the opening proof (FRI / Merkle paths) does not verify: {0}")]
    Opening(String),
    #[error("the out-of-domain point fell in AIR {air_id}'s trace domain")]
    OodPointInDomain { air_id: usize },
    #[error("AIR {air_id} ({name}): constraints do not hold at the out-of-domain point (wrong trace, public values or cumulative sum)")]
    Constraints { air_id: usize, name: String },
    #[error("buses do not balance: the cumulative sums of all AIRs add up to non-zero")]
    UnbalancedBus,
}

fn shape(air_id: usize, info: &AirInfo, what: impl Into<String>) -> VerifyError {
    VerifyError::Shape {
        air_id,
        name: info.name.clone(),
        what: what.into(),
    }
}

/// Checks the lengths of everything one AIR's part of the proof carries (and its log height
/// against the range and the preprocessed height), as [`verify`] does; public for a
/// recursive verifier's witness generator.
pub fn check_air_shape(air_id: usize, info: &AirInfo, p: &AirProof) -> Result<(), VerifyError> {
    let o = &p.openings;
    let len = |what: &str, got: usize, expected: usize| {
        if got == expected {
            Ok(())
        } else {
            Err(shape(
                air_id,
                info,
                format!("{what} has {got} values, expected {expected}"),
            ))
        }
    };
    let h = p.log_height as usize;
    if !(1..=MAX_LOG_HEIGHT).contains(&h) {
        return Err(shape(
            air_id,
            info,
            format!("log height {h} out of range 1..={MAX_LOG_HEIGHT}"),
        ));
    }
    if let Some(prep) = &info.preprocessed {
        if prep.log_height != h {
            return Err(shape(
                air_id,
                info,
                format!("log height {h}, preprocessed trace has {}", prep.log_height),
            ));
        }
    }
    len(
        "public values",
        p.public_values.len(),
        info.num_public_values,
    )?;
    len("main_local", o.main_local.len(), info.main_width)?;
    len(
        "main_next",
        o.main_next.len(),
        if info.opens_main_next {
            info.main_width
        } else {
            0
        },
    )?;
    len(
        "preprocessed_local",
        o.preprocessed_local.len(),
        info.preprocessed_width(),
    )?;
    len(
        "preprocessed_next",
        o.preprocessed_next.len(),
        if info.opens_preprocessed_next {
            info.preprocessed_width()
        } else {
            0
        },
    )?;
    len(
        "permutation_local",
        o.permutation_local.len(),
        info.permutation_width_base(),
    )?;
    len(
        "permutation_next",
        o.permutation_next.len(),
        info.permutation_width_base(),
    )?;
    len(
        "quotient chunk count",
        o.quotient_chunks.len(),
        info.num_quotient_chunks(),
    )?;
    for c in &o.quotient_chunks {
        len("quotient chunk", c.len(), D)?;
    }
    if p.cumulative_sum.is_some() == info.lookups.is_empty() {
        return Err(shape(
            air_id,
            info,
            "cumulative sum present iff the AIR has interactions",
        ));
    }
    Ok(())
}

/// The opening claims of one proof, as step 14 (the PCS opening argument) takes them: one
/// entry per commitment in round order (main, quotient, preprocessed if any, permutation if
/// any), each with its matrices in commitment order, each with its points and claimed values.
pub type PcsClaims = Vec<p3_commit::CommitmentOpening<Challenge, Commitment, Domain>>;

/// What the verifier needs of a challenger: exactly the bounds p3-fri's
/// `TwoAdicFriPcs::verify` puts on its challenger, plus observing our commitments (which
/// p3-fri needs too, its commitment type being ours). Implemented by the backend's
/// [`Challenger`] and by [`crate::transcript_log::RecordingChallenger`].
pub trait VerifierChallenger:
    FieldChallenger<Val> + CanObserve<Commitment> + GrindingChallenger<Witness = Val>
{
}
impl<C> VerifierChallenger for C where
    C: FieldChallenger<Val> + CanObserve<Commitment> + GrindingChallenger<Witness = Val>
{
}

/// Everything the verifier derives before the PCS opening argument.
struct Replay {
    claims: PcsClaims,
    lookup_challenges: Vec<Vec<Challenge>>,
    alpha: Challenge,
    zeta: Challenge,
    trace_domains: Vec<Domain>,
    quotient_chunk_domains: Vec<Vec<Domain>>,
}

/// For recursion: the challenger after transcript steps 1-13 of docs/stark-backend.md
/// (right after `zeta` is sampled) and the claims step 14 verifies, exactly as [`verify`]
/// hands them to p3-fri's `TwoAdicFriPcs::verify`. An in-circuit verifier can check its own
/// replay of step 14 against these. Runs the same shape checks as [`verify`] first (and
/// the out-of-domain check on `zeta`), so it fails where `verify` would before step 14.
pub fn transcript_before_opening(
    config: &StarkConfig,
    vk: &VerifyingKey,
    proof: &Proof,
) -> Result<(Challenger, PcsClaims), VerifyError> {
    let mut ch = config.challenger();
    let r = replay(config, vk, proof, &mut ch)?;
    Ok((ch, r.claims))
}

/// The challenges the constraint check at `zeta` uses, as the verifier derives them.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct OodChallenges {
    /// Per AIR, its LogUp challenge list (empty without lookups).
    pub lookup_challenges: Vec<Vec<Challenge>>,
    pub alpha: Challenge,
    pub zeta: Challenge,
}

/// For recursion tests: the LogUp challenges, `alpha` and `zeta` of [`verify`]'s own
/// replay (shape checks and transcript steps 1-13; no PCS check).
#[doc(hidden)]
pub fn challenges(
    config: &StarkConfig,
    vk: &VerifyingKey,
    proof: &Proof,
) -> Result<OodChallenges, VerifyError> {
    let r = replay(config, vk, proof, &mut config.challenger())?;
    Ok(OodChallenges {
        lookup_challenges: r.lookup_challenges,
        alpha: r.alpha,
        zeta: r.zeta,
    })
}

/// For recursion: whether a proof of `vk` may have these trace heights (log2, AIR order),
/// as [`verify`] decides it: every height in 1..=25, equal to the AIR's preprocessed height
/// where it has one, and within the LogUp multiplicity bound. A verifier circuit built for
/// fixed heights checks them once, at build time.
pub fn check_log_heights(vk: &VerifyingKey, log_heights: &[usize]) -> Result<(), VerifyError> {
    let data = &vk.data;
    if log_heights.len() != data.airs.len() {
        return Err(VerifyError::AirCount {
            expected: data.airs.len(),
            got: log_heights.len(),
        });
    }
    for (i, (info, &h)) in data.airs.iter().zip(log_heights).enumerate() {
        if !(1..=MAX_LOG_HEIGHT).contains(&h) {
            return Err(shape(
                i,
                info,
                format!("log height {h} out of range 1..={MAX_LOG_HEIGHT}"),
            ));
        }
        if let Some(prep) = &info.preprocessed {
            if prep.log_height != h {
                return Err(shape(
                    i,
                    info,
                    format!("log height {h}, preprocessed trace has {}", prep.log_height),
                ));
            }
        }
    }
    let all: Vec<Lookups<Val>> = data.airs.iter().map(|a| a.lookups.clone()).collect();
    let heights: Vec<usize> = log_heights.iter().map(|&h| 1 << h).collect();
    check_multiplicity_height_bound(&all, &heights).map_err(|_| VerifyError::Multiplicity)
}

/// Shape checks and transcript steps 1-13 on `ch` (which must be fresh), then the
/// opening claims of step 14.
fn replay<C: VerifierChallenger>(
    config: &StarkConfig,
    vk: &VerifyingKey,
    proof: &Proof,
    ch: &mut C,
) -> Result<Replay, VerifyError> {
    let data = &vk.data;
    if data.preset != config.preset() {
        return Err(VerifyError::PresetMismatch {
            key: data.preset,
            config: config.preset(),
        });
    }
    let n = data.airs.len();
    if proof.airs.len() != n {
        return Err(VerifyError::AirCount {
            expected: n,
            got: proof.airs.len(),
        });
    }
    for (i, (info, p)) in data.airs.iter().zip(&proof.airs).enumerate() {
        check_air_shape(i, info, p)?;
    }
    let any_lookups = data.airs.iter().any(|a| !a.lookups.is_empty());
    if proof.commitments.permutation.is_some() != any_lookups {
        return Err(VerifyError::ProofShape(
            "permutation commitment present iff some AIR has interactions".into(),
        ));
    }
    let all: Vec<Lookups<Val>> = data.airs.iter().map(|a| a.lookups.clone()).collect();
    let heights = proof.heights();
    check_multiplicity_height_bound(&all, &heights).map_err(|_| VerifyError::Multiplicity)?;

    let trace_domains: Vec<Domain> = heights.iter().map(|&h| config.domain(h)).collect();
    let log_heights: Vec<u8> = proof.airs.iter().map(|a| a.log_height).collect();

    // Transcript replay, in the prover's order.
    transcript::observe_key(ch, data);
    let public_values: Vec<&[Val]> = proof
        .airs
        .iter()
        .map(|a| a.public_values.as_slice())
        .collect();
    transcript::observe_main(ch, &log_heights, &proof.commitments.main, &public_values);
    let lookup_challenges = transcript::sample_lookup_challenges(ch, data);
    let alpha = transcript::observe_permutation_and_sample_alpha(
        ch,
        proof.commitments.permutation.as_ref(),
        proof.airs.iter().filter_map(|a| a.cumulative_sum),
    );
    let zeta = transcript::observe_quotient_and_sample_zeta(ch, &proof.commitments.quotient);

    // The opening claims, round by round, exactly as the prover opened them.
    let mut next_points = Vec::with_capacity(n);
    for (i, d) in trace_domains.iter().enumerate() {
        if d.vanishing_poly_at_point(zeta).is_zero() {
            return Err(VerifyError::OodPointInDomain { air_id: i });
        }
        next_points.push(
            d.next_point(zeta)
                .ok_or(VerifyError::OodPointInDomain { air_id: i })?,
        );
    }
    let quotient_chunk_domains: Vec<Vec<Domain>> = (0..n)
        .map(|i| {
            let info = &data.airs[i];
            let qd = trace_domains[i]
                .create_disjoint_domain(trace_domains[i].size() << info.log_quotient_chunks);
            qd.split_domains(info.num_quotient_chunks())
        })
        .collect();
    let mut rounds = Vec::new();
    let main_round = (0..n)
        .map(|i| {
            let o = &proof.airs[i].openings;
            let mut pts = vec![(zeta, o.main_local.clone())];
            if data.airs[i].opens_main_next {
                pts.push((next_points[i], o.main_next.clone()));
            }
            (trace_domains[i], pts)
        })
        .collect::<Vec<_>>();
    rounds.push((proof.commitments.main.clone(), main_round));
    let quotient_round = (0..n)
        .flat_map(|i| {
            quotient_chunk_domains[i]
                .iter()
                .zip(&proof.airs[i].openings.quotient_chunks)
                .map(move |(d, v)| (*d, vec![(zeta, v.clone())]))
        })
        .collect::<Vec<_>>();
    rounds.push((proof.commitments.quotient.clone(), quotient_round));
    if let Some(c) = &data.preprocessed_commitment {
        let round = (0..n)
            .filter(|&i| data.airs[i].preprocessed.is_some())
            .map(|i| {
                let o = &proof.airs[i].openings;
                let mut pts = vec![(zeta, o.preprocessed_local.clone())];
                if data.airs[i].opens_preprocessed_next {
                    pts.push((next_points[i], o.preprocessed_next.clone()));
                }
                (trace_domains[i], pts)
            })
            .collect::<Vec<_>>();
        rounds.push((c.clone(), round));
    }
    if let Some(c) = &proof.commitments.permutation {
        let round = (0..n)
            .filter(|&i| !data.airs[i].lookups.is_empty())
            .map(|i| {
                let o = &proof.airs[i].openings;
                (
                    trace_domains[i],
                    vec![
                        (zeta, o.permutation_local.clone()),
                        (next_points[i], o.permutation_next.clone()),
                    ],
                )
            })
            .collect::<Vec<_>>();
        rounds.push((c.clone(), round));
    }
    Ok(Replay {
        claims: rounds.into_iter().map(Into::into).collect(),
        lookup_challenges,
        alpha,
        zeta,
        trace_domains,
        quotient_chunk_domains,
    })
}

/// Verifies `proof` against `vk`.
pub fn verify(config: &StarkConfig, vk: &VerifyingKey, proof: &Proof) -> Result<(), VerifyError> {
    verify_with_challenger(config, vk, proof, &mut config.challenger())
}

/// [`verify`] on a caller-supplied challenger, which must be in the state
/// `config.challenger()` returns (or wrap one in that state). For tests: with
/// [`crate::transcript_log::RecordingChallenger`] it records every transcript operation
/// of a verification, for comparing an in-circuit verifier's transcript with it. Not a
/// stable API; production callers use [`verify`].
#[doc(hidden)]
pub fn verify_with_challenger<C: VerifierChallenger>(
    config: &StarkConfig,
    vk: &VerifyingKey,
    proof: &Proof,
    ch: &mut C,
) -> Result<(), VerifyError> {
    // DEBUG, not INFO: only catalogued spans become timing gauges.
    let _span = debug_span!("stark_verify").entered();
    let data = &vk.data;
    let n = data.airs.len();
    let Replay {
        claims,
        lookup_challenges,
        alpha,
        zeta,
        trace_domains,
        quotient_chunk_domains,
    } = replay(config, vk, proof, ch)?;
    <Pcs as p3_commit::Pcs<Challenge, C>>::verify(config.pcs(), claims, &proof.opening_proof, ch)
        .map_err(|e| VerifyError::Opening(format!("{e:?}")))?;

    // Constraints at zeta, per AIR.
    let gadget = LogUpGadget::new();
    for i in 0..n {
        let info = &data.airs[i];
        let p = &proof.airs[i];
        let o = &p.openings;
        let domains = &quotient_chunk_domains[i];
        // quotient(zeta) from its chunks: sum_j L_j(zeta) * chunk_j(zeta), where L_j is
        // 1 on chunk j's coset and 0 on the others.
        let mut quotient = Challenge::ZERO;
        for (j, chunk) in o.quotient_chunks.iter().enumerate() {
            let mut weight = Challenge::ONE;
            for (k, other) in domains.iter().enumerate() {
                if k != j {
                    let denom =
                        other.vanishing_poly_at_point(Challenge::from(domains[j].first_point()));
                    weight *= other.vanishing_poly_at_point(zeta) * denom.inverse();
                }
            }
            quotient += weight * ext_from_coords(chunk);
        }

        let sels = trace_domains[i].selectors_at_point(zeta);
        let main_next_zeros;
        let main_next: &[Challenge] = if info.opens_main_next {
            &o.main_next
        } else {
            main_next_zeros = vec![Challenge::ZERO; info.main_width];
            &main_next_zeros
        };
        let prep_next_zeros;
        let prep_next: &[Challenge] = if info.opens_preprocessed_next {
            &o.preprocessed_next
        } else {
            prep_next_zeros = vec![Challenge::ZERO; info.preprocessed_width()];
            &prep_next_zeros
        };
        let perm_local = ext_columns(&o.permutation_local);
        let perm_next = ext_columns(&o.permutation_next);
        let sums: Vec<Challenge> = p.cumulative_sum.into_iter().collect();
        let inner = VerifierConstraintFolder {
            main: VerticalPair::new(
                RowMajorMatrixView::new_row(&o.main_local),
                RowMajorMatrixView::new_row(main_next),
            ),
            preprocessed: VerticalPair::new(
                RowMajorMatrixView::new_row(&o.preprocessed_local),
                RowMajorMatrixView::new_row(prep_next),
            ),
            preprocessed_window: RowWindow::from_two_rows(&o.preprocessed_local, prep_next),
            periodic_values: &[],
            public_values: &p.public_values,
            is_first_row: sels.is_first_row,
            is_last_row: sels.is_last_row,
            is_transition: sels.is_transition,
            alpha,
            accumulator: Challenge::ZERO,
        };
        let mut folder = VerifierFolder {
            inner,
            permutation: VerticalPair::new(
                RowMajorMatrixView::new_row(&perm_local),
                RowMajorMatrixView::new_row(&perm_next),
            ),
            permutation_challenges: &lookup_challenges[i],
            cumulative_sum: &sums,
            #[cfg(feature = "ablation")]
            ablation: crate::folder::Ablation::new(config.dropped_constraints(i)),
        };
        gadget.eval_air_and_lookups(&AirRef(vk.airs[i].as_ref()), &mut folder, &info.lookups);
        if folder.inner.accumulator * sels.inv_vanishing != quotient {
            return Err(VerifyError::Constraints {
                air_id: i,
                name: info.name.clone(),
            });
        }
    }

    let total: Challenge = proof.airs.iter().filter_map(|a| a.cumulative_sum).sum();
    if !total.is_zero() {
        return Err(VerifyError::UnbalancedBus);
    }
    Ok(())
}

/// An extension element from its `D` coordinates, each opened as an extension value
/// (a base-field column opened at an extension point): `sum_d c_d * e_d`.
fn ext_from_coords(c: &[Challenge]) -> Challenge {
    (0..D)
        .map(|d| {
            c[d] * <Challenge as BasedVectorSpace<Val>>::ith_basis_element(d)
                .unwrap_or(Challenge::ZERO)
        })
        .sum()
}

/// Folds base-coordinate permutation openings into extension-field columns.
fn ext_columns(flat: &[Challenge]) -> Vec<Challenge> {
    flat.chunks_exact(D).map(ext_from_coords).collect()
}
