//! The prover. Each phase is its own INFO span (names from
//! `starkscope_metrics::spans`), all inside `stark_prove_excluding_trace`, so the
//! timing layer reports where proving time goes.

use p3_commit::PolynomialSpace;
use p3_lookup::{check_multiplicity_height_bound, LogUpGadget, LookupProtocol, Lookups};
use p3_matrix::dense::RowMajorMatrix;
use p3_matrix::Matrix;
use p3_maybe_rayon::prelude::*;
use starkscope_metrics::spans;
use tracing::info_span;

use crate::config::{Challenge, Challenger, Domain, Pcs, StarkConfig, Val};
use crate::keygen::ProvingKey;
use crate::proof::{AirOpenings, AirProof, Commitments, Proof};
use crate::quotient::{quotient_values, QuotientInputs};
use crate::transcript;

/// One AIR's witness: its main trace and public values.
#[derive(Clone, Debug)]
pub struct AirInput {
    pub trace: RowMajorMatrix<Val>,
    pub public_values: Vec<Val>,
}

impl AirInput {
    pub fn new(trace: RowMajorMatrix<Val>, public_values: Vec<Val>) -> Self {
        Self {
            trace,
            public_values,
        }
    }
}

/// Why the prover refused its inputs.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("the FRI preset of the key ({key}) differs from the config's ({config})")]
    PresetMismatch {
        key: crate::FriPreset,
        config: crate::FriPreset,
    },
    #[error("{got} AIR inputs given, the key has {expected} AIRs")]
    AirCount { expected: usize, got: usize },
    #[error("AIR {air_id} ({name}): trace is {got} columns wide, expected {expected}")]
    Width {
        air_id: usize,
        name: String,
        expected: usize,
        got: usize,
    },
    #[error("AIR {air_id} ({name}): trace height {height} is not a power of two >= 2 and <= 2^27")]
    Height {
        air_id: usize,
        name: String,
        height: usize,
    },
    #[error("AIR {air_id} ({name}): trace height {height} differs from its preprocessed height {preprocessed}")]
    PreprocessedHeight {
        air_id: usize,
        name: String,
        height: usize,
        preprocessed: usize,
    },
    #[error("AIR {air_id} ({name}): {got} public values given, expected {expected}")]
    PublicValues {
        air_id: usize,
        name: String,
        expected: usize,
        got: usize,
    },
    #[error("LogUp multiplicities could wrap the field at these heights: {0}")]
    Multiplicity(p3_lookup::LookupError),
    #[error("PCS failed during {phase}: {detail}")]
    Pcs { phase: &'static str, detail: String },
}

/// Largest trace the prover accepts (BabyBear's two-adicity leaves room for blowup 4).
pub const MAX_LOG_HEIGHT: usize = 25;

fn validate(
    config: &StarkConfig,
    pk: &ProvingKey,
    inputs: &[AirInput],
) -> Result<Vec<u8>, ProveError> {
    let vk = &pk.vk.data;
    if vk.preset != config.preset() {
        return Err(ProveError::PresetMismatch {
            key: vk.preset,
            config: config.preset(),
        });
    }
    if inputs.len() != vk.airs.len() {
        return Err(ProveError::AirCount {
            expected: vk.airs.len(),
            got: inputs.len(),
        });
    }
    let mut log_heights = Vec::with_capacity(inputs.len());
    for (air_id, (info, input)) in vk.airs.iter().zip(inputs).enumerate() {
        let name = || info.name.clone();
        if input.trace.width() != info.main_width {
            return Err(ProveError::Width {
                air_id,
                name: name(),
                expected: info.main_width,
                got: input.trace.width(),
            });
        }
        let h = input.trace.height();
        if !h.is_power_of_two() || !(2..=1 << MAX_LOG_HEIGHT).contains(&h) {
            return Err(ProveError::Height {
                air_id,
                name: name(),
                height: h,
            });
        }
        if let Some(p) = &info.preprocessed {
            if 1usize << p.log_height != h {
                return Err(ProveError::PreprocessedHeight {
                    air_id,
                    name: name(),
                    height: h,
                    preprocessed: 1 << p.log_height,
                });
            }
        }
        if input.public_values.len() != info.num_public_values {
            return Err(ProveError::PublicValues {
                air_id,
                name: name(),
                expected: info.num_public_values,
                got: input.public_values.len(),
            });
        }
        log_heights.push(h.trailing_zeros() as u8);
    }
    let all: Vec<Lookups<Val>> = vk.airs.iter().map(|a| a.lookups.clone()).collect();
    let heights: Vec<usize> = inputs.iter().map(|i| i.trace.height()).collect();
    check_multiplicity_height_bound(&all, &heights).map_err(ProveError::Multiplicity)?;
    Ok(log_heights)
}

fn pcs_err(phase: &'static str) -> impl Fn(p3_fri::FriProverError) -> ProveError {
    move |e| ProveError::Pcs {
        phase,
        detail: format!("{e:?}"),
    }
}

/// Proves that every AIR of `pk` holds on its trace and that the buses balance.
///
/// Inputs are in key order, one per AIR. Trace generation is the caller's; everything
/// after it runs inside the `stark_prove_excluding_trace` span.
pub fn prove(
    config: &StarkConfig,
    pk: &ProvingKey,
    inputs: Vec<AirInput>,
) -> Result<Proof, ProveError> {
    let proof =
        info_span!("stark_prove_excluding_trace").in_scope(|| prove_inner(config, pk, inputs))?;
    #[cfg(feature = "bench-metrics")]
    crate::instrument::proof(&proof);
    Ok(proof)
}

fn prove_inner(
    config: &StarkConfig,
    pk: &ProvingKey,
    inputs: Vec<AirInput>,
) -> Result<Proof, ProveError> {
    let log_heights = validate(config, pk, &inputs)?;
    let vk = &pk.vk.data;
    let pcs = config.pcs();
    let n = inputs.len();

    #[cfg(feature = "bench-metrics")]
    crate::instrument::prover_airs(pk, &log_heights);

    let trace_domains: Vec<Domain> = inputs
        .iter()
        .map(|i| config.domain(i.trace.height()))
        .collect();

    let mut ch = config.challenger();
    transcript::observe_key(&mut ch, vk);

    // Phase 1: LDE + Merkle commitment of every main trace, in one tree batch.
    let (main_commit, main_data) = info_span!(spans::MAIN_TRACE_COMMIT).in_scope(|| {
        let evals = inputs
            .iter()
            .zip(&trace_domains)
            .map(|(i, d)| (*d, i.trace.clone()));
        <Pcs as p3_commit::Pcs<Challenge, Challenger>>::commit(pcs, evals.collect::<Vec<_>>())
            .map_err(pcs_err("main trace commitment"))
    })?;
    let public_values: Vec<&[Val]> = inputs.iter().map(|i| i.public_values.as_slice()).collect();
    transcript::observe_main(&mut ch, &log_heights, &main_commit, &public_values);

    // Phase 2: LogUp challenges, then every AIR's permutation trace and cumulative sum.
    let lookup_challenges = transcript::sample_lookup_challenges(&mut ch, vk);
    let gadget = LogUpGadget::new();
    let perm: Vec<Option<(RowMajorMatrix<Challenge>, Challenge)>> =
        info_span!(spans::GENERATE_PERM_TRACE).in_scope(|| {
            (0..n)
                .into_par_iter()
                .map(|i| {
                    let info = &vk.airs[i];
                    if info.lookups.is_empty() {
                        return None;
                    }
                    let (m, term) = gadget.generate_permutation::<Val, Challenge>(
                        &inputs[i].trace,
                        &pk.preprocessed_traces[i],
                        &inputs[i].public_values,
                        &info.lookups,
                        &lookup_challenges[i],
                    );
                    term.map(|t| (m, t.0))
                })
                .collect()
        });

    // Phase 3: commit the permutation traces (base-field coordinates).
    let mut perm_index = vec![None; n];
    let mut cumulative_sums = vec![None; n];
    let perm_commit = info_span!(spans::PERM_TRACE_COMMIT).in_scope(|| {
        let mut evals = Vec::new();
        for (i, p) in perm.into_iter().enumerate() {
            if let Some((m, sum)) = p {
                perm_index[i] = Some(evals.len());
                cumulative_sums[i] = Some(sum);
                evals.push((trace_domains[i], m.flatten_to_base()));
            }
        }
        if evals.is_empty() {
            Ok(None)
        } else {
            <Pcs as p3_commit::Pcs<Challenge, Challenger>>::commit(pcs, evals)
                .map(Some)
                .map_err(pcs_err("permutation commitment"))
        }
    })?;
    let alpha = transcript::observe_permutation_and_sample_alpha(
        &mut ch,
        perm_commit.as_ref().map(|(c, _)| c),
        cumulative_sums.iter().flatten().copied(),
    );

    // Phase 4: the quotient of every AIR, on its own coset, AIRs in parallel.
    let quotient_domains: Vec<Domain> = (0..n)
        .map(|i| {
            let info = &vk.airs[i];
            trace_domains[i]
                .create_disjoint_domain(trace_domains[i].size() << info.log_quotient_chunks)
        })
        .collect();
    let quotients: Vec<Vec<Challenge>> = info_span!(spans::QUOTIENT_POLY_COMPUTE).in_scope(|| {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let info = &vk.airs[i];
                let qd = quotient_domains[i];
                let main = <Pcs as p3_commit::UnivariateStarkPcs<Challenge, Challenger>>::get_evaluations_on_domain(pcs, &main_data, i, qd);
                let prep = info.preprocessed.as_ref().and_then(|p| {
                    pk.preprocessed_data.as_ref().map(|d| <Pcs as p3_commit::UnivariateStarkPcs<Challenge, Challenger>>::get_evaluations_on_domain(pcs, d, p.matrix_index, qd))
                });
                let permm = perm_index[i]
                    .and_then(|k| perm_commit.as_ref().map(|(_, d)| <Pcs as p3_commit::UnivariateStarkPcs<Challenge, Challenger>>::get_evaluations_on_domain(pcs, d, k, qd)));
                quotient_values(&QuotientInputs {
                    air: pk.vk.airs[i].as_ref(),
                    layout: &pk.constraint_layouts[i],
                    lookups: &info.lookups,
                    public_values: &inputs[i].public_values,
                    trace_domain: trace_domains[i],
                    quotient_domain: qd,
                    main: &main,
                    preprocessed: prep.as_ref(),
                    permutation: permm.as_ref(),
                    lookup_challenges: &lookup_challenges[i],
                    cumulative_sum: cumulative_sums[i],
                    alpha,
                    #[cfg(feature = "ablation")]
                    dropped_constraints: config.dropped_constraints(i),
                })
            })
            .collect()
    });

    // Phase 5: split each quotient into degree-n chunks, extend and commit them.
    let (quotient_commit, quotient_data) = info_span!(spans::QUOTIENT_POLY_COMMIT).in_scope(|| {
        // Each AIR's chunks are extended independently: AIRs in parallel, like the quotients.
        let per_air: Result<Vec<_>, ProveError> = quotients
            .into_par_iter()
            .enumerate()
            .map(|(i, q)| {
                let chunks = vk.airs[i].num_quotient_chunks();
                let flat = RowMajorMatrix::new_col(q).flatten_to_base();
                let qd = quotient_domains[i];
                let evals = qd.split_domains(chunks).into_iter().zip(qd.split_evals(chunks, flat));
                <Pcs as p3_commit::UnivariateStarkPcs<Challenge, Challenger>>::get_quotient_ldes(pcs, evals, chunks)
                    .map_err(pcs_err("quotient extension"))
            })
            .collect();
        let ldes: Vec<_> = per_air?.into_iter().flatten().collect();
        <Pcs as p3_commit::UnivariateStarkPcs<Challenge, Challenger>>::commit_ldes(pcs, ldes).map_err(pcs_err("quotient commitment"))
    })?;
    let zeta = transcript::observe_quotient_and_sample_zeta(&mut ch, &quotient_commit);

    // Phase 6: open everything at zeta (and the next row where read); FRI.
    let (opened, opening_proof) = info_span!(spans::PCS_OPENING).in_scope(|| {
        let next = |i: usize| {
            trace_domains[i]
                .next_point(zeta)
                .expect("two-adic domains have a next point")
        };
        let mut rounds = Vec::new();
        let main_points = (0..n)
            .map(|i| {
                if vk.airs[i].opens_main_next {
                    vec![zeta, next(i)]
                } else {
                    vec![zeta]
                }
            })
            .collect();
        rounds.push((&main_data, main_points));
        let quotient_points = (0..n)
            .flat_map(|i| (0..vk.airs[i].num_quotient_chunks()).map(|_| vec![zeta]))
            .collect();
        rounds.push((&quotient_data, quotient_points));
        if let Some(d) = &pk.preprocessed_data {
            let pts = (0..n)
                .filter(|&i| vk.airs[i].preprocessed.is_some())
                .map(|i| {
                    if vk.airs[i].opens_preprocessed_next {
                        vec![zeta, next(i)]
                    } else {
                        vec![zeta]
                    }
                })
                .collect();
            rounds.push((d, pts));
        }
        if let Some((_, d)) = &perm_commit {
            let pts = (0..n)
                .filter(|&i| perm_index[i].is_some())
                .map(|i| vec![zeta, next(i)])
                .collect();
            rounds.push((d, pts));
        }
        <Pcs as p3_commit::Pcs<Challenge, Challenger>>::open(
            pcs,
            rounds.into_iter().map(Into::into).collect(),
            &mut ch,
        )
        .map_err(pcs_err("opening"))
    })?;

    // Sort the opened values back into per-AIR openings.
    let mut rounds = opened.into_iter();
    let main_round = rounds.next().unwrap_or_default();
    let quotient_round = rounds.next().unwrap_or_default();
    let prep_round = if pk.preprocessed_data.is_some() {
        rounds.next().unwrap_or_default()
    } else {
        Vec::new()
    };
    let perm_round = if perm_commit.is_some() {
        rounds.next().unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut quotient_iter = quotient_round.into_iter();
    let mut prep_iter = prep_round.into_iter();
    let mut perm_iter = perm_round.into_iter();
    let mut airs = Vec::with_capacity(n);
    for (i, (mut main_pts, input)) in main_round.into_iter().zip(inputs).enumerate() {
        let info = &vk.airs[i];
        let main_next = if info.opens_main_next {
            main_pts.pop().unwrap_or_default()
        } else {
            Vec::new()
        };
        let main_local = main_pts.pop().unwrap_or_default();
        let quotient_chunks = (0..info.num_quotient_chunks())
            .map(|_| {
                quotient_iter
                    .next()
                    .and_then(|mut p| p.pop())
                    .unwrap_or_default()
            })
            .collect();
        let (preprocessed_local, preprocessed_next) = if info.preprocessed.is_some() {
            let mut p = prep_iter.next().unwrap_or_default();
            let next = if info.opens_preprocessed_next {
                p.pop().unwrap_or_default()
            } else {
                Vec::new()
            };
            (p.pop().unwrap_or_default(), next)
        } else {
            (Vec::new(), Vec::new())
        };
        let (permutation_local, permutation_next) = if perm_index[i].is_some() {
            let mut p = perm_iter.next().unwrap_or_default();
            let next = p.pop().unwrap_or_default();
            (p.pop().unwrap_or_default(), next)
        } else {
            (Vec::new(), Vec::new())
        };
        airs.push(AirProof {
            log_height: log_heights[i],
            public_values: input.public_values,
            cumulative_sum: cumulative_sums[i],
            openings: AirOpenings {
                main_local,
                main_next,
                preprocessed_local,
                preprocessed_next,
                permutation_local,
                permutation_next,
                quotient_chunks,
            },
        });
    }
    Ok(Proof {
        airs,
        commitments: Commitments {
            main: main_commit,
            permutation: perm_commit.map(|(c, _)| c),
            quotient: quotient_commit,
        },
        opening_proof,
    })
}
