//! Machine check of docs/stark-backend.md, "Step 14 in detail": starting from the
//! challenger after steps 1-13 (`verifier::transcript_before_opening`), this file replays
//! p3-fri 0.8.0's `TwoAdicFriPcs::verify` op by op as the doc writes it down, with nothing
//! but `DuplexChallenger::{observe, sample}`, field arithmetic, Keccak-256 (for the two
//! transcript seeds) and the MMCS's own multi-opening check (Merkle paths are not
//! transcript). It then asserts that
//!
//! - both pattern fingerprints rendered by hand equal p3's `pattern_hash()`;
//! - the replay accepts the honest proof: the Merkle multi-openings verify at the query
//!   indices the replay derived (so they are the rows p3-fri's prover opened), every
//!   query's fold chain lands on the final polynomial (so the reduced-opening and folding
//!   formulas are the ones p3 uses);
//! - the replayed challenger ends in exactly the state p3's own `Pcs::verify` leaves
//!   (same sponge, same buffers), so no absorb or squeeze is missing, extra or reordered;
//! - the replay rejects a flipped query index and a changed claimed evaluation.

mod common;

use p3_baby_bear::default_babybear_poseidon2_16;
use p3_challenger::{CanObserve, CanSample};
use p3_commit::{Mmcs, Pcs as _};
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing, PrimeField64, TwoAdicField};
use p3_keccak::Keccak256Hash;
use p3_matrix::Dimensions;
use p3_symmetric::CryptographicHasher;
use p3_util::{log2_strict_usize, reverse_bits_len};
use starkscope_stark_backend::config::{
    ChallengeMmcs, Challenger, Commitment, LeafHash, NodeCompress, PcsProof, ValMmcs,
};
use starkscope_stark_backend::verifier::{transcript_before_opening, PcsClaims};
use starkscope_stark_backend::{prove, Challenge, FriPreset, StarkConfig, Val};

const EXT_DEGREE: usize = 4;

fn keccak(bytes: &[u8]) -> [u8; 32] {
    Keccak256Hash.hash_iter(bytes.iter().copied())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `TypeTag::Algebra` as the pattern renders it: `Algebra(p^degree;keccak(basis id))`.
fn algebra_tag(degree: usize) -> String {
    let id: &[u8] = if degree == 1 {
        b"p3-scalar-basis-v1"
    } else {
        b"p3-power-basis-v1:X^4-11"
    };
    format!("Algebra({}^{degree};{})", Val::ORDER_U64, hex(&keccak(id)))
}

/// One rendered step: `Hierarchy Kind len(label) label Length TypeTag`.
fn step(hier: &str, kind: &str, label: &str, length: &str, tag: &str) -> String {
    format!("{hier} {kind} {} {label} {length} {tag}", label.len())
}

/// The alternate-mode rendering of a flat pattern (no step sits inside a bracket) and its
/// Keccak-256: the pattern fingerprint.
fn pattern_hash(steps: &[String]) -> [u8; 32] {
    let width = steps.len().saturating_sub(1).to_string().len();
    let mut s = format!(
        "Plonky3 Fiat-Shamir Transcript ({} interactions)\n",
        steps.len()
    );
    for (i, st) in steps.iter().enumerate() {
        s.push_str(&format!("{i:0>width$} {st}\n"));
    }
    keccak(s.as_bytes())
}

/// Seeds a transcript layer: `[version | name | 0.. | len(name)]` (64 bytes), the pattern
/// hash, the instance label's length (u32 BE) and the label (each chunk a u64 BE behind
/// its u32 BE length), 0x80; absorbed as its byte count, then 3-byte little-endian words.
fn absorb_seed(ch: &mut Challenger, name: &[u8], hash: [u8; 32], instance: &[u64]) {
    let mut id = [0u8; 64];
    id[0] = 1;
    id[1..1 + name.len()].copy_from_slice(name);
    id[63] = name.len() as u8;
    let mut label = Vec::new();
    for v in instance {
        label.extend_from_slice(&8u32.to_be_bytes());
        label.extend_from_slice(&v.to_be_bytes());
    }
    let mut seed = id.to_vec();
    seed.extend_from_slice(&hash);
    seed.extend_from_slice(&(label.len() as u32).to_be_bytes());
    seed.extend_from_slice(&label);
    seed.push(0x80);
    ch.observe(Val::from_u64(seed.len() as u64));
    for w in seed.chunks(3) {
        let word = w
            .iter()
            .enumerate()
            .fold(0u64, |acc, (i, &b)| acc | (b as u64) << (8 * i));
        ch.observe(Val::from_u64(word));
    }
}

fn observe_ext(ch: &mut Challenger, v: Challenge) {
    for &c in <Challenge as BasedVectorSpace<Val>>::as_basis_coefficients_slice(&v) {
        ch.observe(c);
    }
}

fn sample_ext(ch: &mut Challenger) -> Challenge {
    let coords: [Val; EXT_DEGREE] = core::array::from_fn(|_| ch.sample());
    <Challenge as BasedVectorSpace<Val>>::from_basis_coefficients_slice(&coords).unwrap()
}

fn sample_bits(ch: &mut Challenger, bits: usize) -> usize {
    let v: Val = ch.sample();
    (v.as_canonical_u64() as usize) & ((1 << bits) - 1)
}

fn observe_commitment(ch: &mut Challenger, c: &Commitment) {
    for root in c.roots() {
        for &v in root {
            ch.observe(v);
        }
    }
}

/// What can go wrong with the proof, as the replay sees it.
type Tamper = fn(&mut [usize]);

/// Step 14, as docs/stark-backend.md writes it. Returns the query indices.
fn replay_step_14(
    preset: FriPreset,
    ch: &mut Challenger,
    claims: &PcsClaims,
    proof: &PcsProof,
    tamper_indices: Option<Tamper>,
) -> Result<Vec<usize>, String> {
    let log_blowup = preset.log_blowup();
    let num_queries = preset.num_queries();
    let pow_bits = preset.query_pow_bits();

    // 14.0 zero-difficulty witnesses must be zero (batch and commit phases have 0 bits).
    if proof.batch_pow_witness != Val::ZERO
        || proof.commit_pow_witnesses.iter().any(|w| !w.is_zero())
    {
        return Err("non-canonical zero-bit PoW witness".into());
    }

    // 14.1 the PCS layer's seed.
    let alg4 = algebra_tag(4);
    let mut steps = Vec::new();
    for c in claims {
        for m in &c.matrices {
            for p in &m.points {
                steps.push(step(
                    "Atomic",
                    "Message",
                    "claimed_evaluations",
                    &format!("Fixed({})", p.values.len()),
                    &alg4,
                ));
            }
        }
    }
    steps.push(step("Atomic", "Challenge", "alpha", "Scalar", &alg4));
    steps.push(step(
        "Begin",
        "Protocol",
        "low_degree_test",
        "None",
        "Marker",
    ));
    steps.push(step("End", "Protocol", "low_degree_test", "None", "Marker"));
    let pcs_hash = pattern_hash(&steps);
    let shape = p3_fri::PcsShape {
        claimed_evaluation_counts: claims
            .iter()
            .map(|c| {
                c.matrices
                    .iter()
                    .map(|m| m.points.iter().map(|p| p.values.len()).collect())
                    .collect()
            })
            .collect(),
        batch_pow_bits: 0,
    };
    assert_eq!(
        hex(&pcs_hash),
        hex(&shape.pattern::<Val, Challenge>().pattern_hash()),
        "PCS pattern rendering"
    );
    let mut instance = vec![claims.len() as u64];
    for c in claims {
        instance.push(c.matrices.len() as u64);
        for m in &c.matrices {
            instance.push(m.points.len() as u64);
        }
    }
    absorb_seed(ch, b"p3-fri-pcs", pcs_hash, &instance);

    // 14.2 every claimed evaluation; 14.3 (no batch PoW); 14.4 alpha.
    for c in claims {
        for m in &c.matrices {
            for p in &m.points {
                for &v in &p.values {
                    observe_ext(ch, v);
                }
            }
        }
    }
    let alpha = sample_ext(ch);

    // 14.5 the FRI layer's seed.
    let log_max_height = claims
        .iter()
        .flat_map(|c| &c.matrices)
        .map(|m| log2_strict_usize(m.domain.size()) + log_blowup)
        .max()
        .unwrap();
    // The fold schedule: each round folds by max_log_arity bits, less if that would pass
    // the next (shorter) input height or the final height log_blowup + log_final_poly_len.
    let log_final = log_blowup + preset.log_final_poly_len();
    let mut input_heights: Vec<usize> = claims
        .iter()
        .flat_map(|c| &c.matrices)
        .map(|m| log2_strict_usize(m.domain.size()) + log_blowup)
        .collect();
    input_heights.sort_unstable_by(|a, b| b.cmp(a));
    input_heights.dedup();
    let mut schedule = Vec::new();
    let mut l = log_max_height;
    while l > log_final {
        let next = input_heights.iter().copied().find(|&h| h < l).unwrap_or(0);
        let a = preset
            .max_log_arity()
            .min(l - log_final)
            .min(l - next.max(log_final));
        schedule.push(a);
        l -= a;
    }
    let num_rounds = schedule.len();
    let final_len = 1usize << preset.log_final_poly_len();
    let mut steps = Vec::new();
    for _ in 0..num_rounds {
        steps.push(step(
            "Atomic",
            "Message",
            "commit_phase_commitment",
            "Scalar",
            "Opaque",
        ));
        steps.push(step(
            "Atomic",
            "Challenge",
            "fold_challenge",
            "Scalar",
            &alg4,
        ));
    }
    steps.push(step(
        "Atomic",
        "Message",
        "final_poly",
        &format!("Fixed({final_len})"),
        &alg4,
    ));
    steps.push(step(
        "Atomic",
        "Pow",
        "query_pow",
        &format!("Fixed({pow_bits})"),
        &algebra_tag(1),
    ));
    steps.push(step(
        "Atomic",
        "Challenge",
        "query_indices",
        &format!("Fixed({num_queries})"),
        &format!("Bits({log_max_height})"),
    ));
    let fri_hash = pattern_hash(&steps);
    let fri_shape = p3_fri::FriShape {
        log_arities: schedule.clone(),
        final_poly_len: final_len,
        commit_pow_bits: 0,
        query_pow_bits: pow_bits,
        num_queries,
        index_bits: log_max_height,
        log_blowup,
        max_log_arity: preset.max_log_arity(),
    };
    assert_eq!(
        hex(&fri_hash),
        hex(&fri_shape.pattern::<Val, Challenge>().pattern_hash()),
        "FRI pattern rendering"
    );
    let mut instance = vec![log_blowup as u64, preset.max_log_arity() as u64];
    instance.extend(schedule.iter().map(|&a| a as u64));
    absorb_seed(ch, b"p3-fri", fri_hash, &instance);

    // 14.6 commit rounds: commitment, (no PoW), beta.
    if proof.commit_phase_commits.len() != num_rounds
        || proof.commit_phase_openings.len() != num_rounds
        || proof.final_poly.len() != final_len
    {
        return Err("FRI shape".into());
    }
    let betas: Vec<Challenge> = proof
        .commit_phase_commits
        .iter()
        .map(|c| {
            observe_commitment(ch, c);
            sample_ext(ch)
        })
        .collect();

    // 14.7 final polynomial, 14.8 query PoW, 14.9 query indices.
    for &c in &proof.final_poly {
        observe_ext(ch, c);
    }
    ch.observe(proof.query_pow_witness);
    if sample_bits(ch, pow_bits) != 0 {
        return Err("query PoW".into());
    }
    let mut indices: Vec<usize> = (0..num_queries)
        .map(|_| sample_bits(ch, log_max_height))
        .collect();
    let derived = indices.clone();
    if let Some(t) = tamper_indices {
        t(&mut indices);
    }

    // 14.10 input openings (not transcript): one multi-opening per commitment.
    let perm = default_babybear_poseidon2_16();
    let val_mmcs = ValMmcs::new(
        LeafHash::new(perm.clone()),
        NodeCompress::new(perm),
        preset.cap_height(),
    );
    let fri_mmcs = ChallengeMmcs::new(val_mmcs.clone());
    if proof.input_openings.len() != claims.len() {
        return Err("batch count".into());
    }
    for (c, opening) in claims.iter().zip(&proof.input_openings) {
        let dims: Vec<Dimensions> = c
            .matrices
            .iter()
            .map(|m| Dimensions {
                width: m.points[0].values.len(),
                height: m.domain.size() << log_blowup,
            })
            .collect();
        let log_batch = log2_strict_usize(dims.iter().map(|d| d.height).max().unwrap());
        let rows: Vec<usize> = indices
            .iter()
            .map(|&i| i >> (log_max_height - log_batch))
            .collect();
        val_mmcs
            .verify_multi_batch(
                &c.commitment,
                &dims,
                &rows,
                &opening.opened_values,
                &opening.opening_proof,
            )
            .map_err(|e| format!("input Merkle: {e:?}"))?;
    }

    // 14.11 reduced openings, 14.12 folding, 14.13 final polynomial.
    let mut group_indices = vec![Vec::new(); num_rounds];
    let mut group_rows = vec![Vec::new(); num_rounds];
    for (q, &index) in indices.iter().enumerate() {
        // log height -> reduced opening; alpha's powers restart at 1 for every height.
        let mut ro = std::collections::BTreeMap::<usize, Challenge>::new();
        let mut next_power = std::collections::BTreeMap::<usize, Challenge>::new();
        for (c, opening) in claims.iter().zip(&proof.input_openings) {
            for (m, row) in c.matrices.iter().zip(&opening.opened_values[q]) {
                let h = log2_strict_usize(m.domain.size()) + log_blowup;
                let x = Val::GENERATOR
                    * Val::two_adic_generator(h)
                        .exp_u64(reverse_bits_len(index >> (log_max_height - h), h) as u64);
                for p in &m.points {
                    let pow = next_power.entry(h).or_insert(Challenge::ONE);
                    let mut acc = Challenge::ZERO;
                    for (&at_z, &at_x) in p.values.iter().zip(row) {
                        acc += *pow * (at_z - Challenge::from(at_x));
                        *pow *= alpha;
                    }
                    *ro.entry(h).or_insert(Challenge::ZERO) +=
                        acc * (p.point - Challenge::from(x)).inverse();
                }
            }
        }
        let mut folded = ro[&log_max_height];
        let mut idx = index;
        let mut h = log_max_height;
        for (r, (&beta, &a)) in betas.iter().zip(&schedule).enumerate() {
            // The row: the folded value at position idx mod 2^a among the 2^a - 1 siblings.
            let siblings = &proof.commit_phase_openings[r].sibling_values[q];
            if siblings.len() != (1 << a) - 1 {
                return Err("sibling count".into());
            }
            let mut row = siblings.clone();
            row.insert(idx & ((1 << a) - 1), folded);
            idx >>= a;
            let lf = h - a;
            // row[j] sits at s * w_(2^a)^rev_a(j), s = w_h^rev_lf(idx): the interpolant of
            // the row (degree < 2^a), evaluated at beta (Lagrange).
            let s = Val::two_adic_generator(h).exp_u64(reverse_bits_len(idx, lf) as u64);
            let xs: Vec<Val> = (0..1usize << a)
                .map(|j| s * Val::two_adic_generator(a).exp_u64(reverse_bits_len(j, a) as u64))
                .collect();
            folded = Challenge::ZERO;
            for (j, &y) in row.iter().enumerate() {
                let mut l_j = Challenge::ONE;
                for (k, &xk) in xs.iter().enumerate() {
                    if k != j {
                        l_j *=
                            (beta - Challenge::from(xk)) * Challenge::from((xs[j] - xk).inverse());
                    }
                }
                folded += y * l_j;
            }
            group_indices[r].push(idx);
            group_rows[r].push(vec![row]);
            if let Some(&extra) = ro.get(&lf) {
                folded += beta.exp_power_of_2(a) * extra;
            }
            h = lf;
        }
        // The final polynomial (coefficients lowest first) at w_H^rev_H(idx).
        let x = Val::two_adic_generator(log_max_height)
            .exp_u64(reverse_bits_len(idx, log_max_height) as u64);
        let eval = proof
            .final_poly
            .iter()
            .rev()
            .fold(Challenge::ZERO, |acc, &c| acc * Challenge::from(x) + c);
        if folded != eval {
            return Err(format!("query {q}: fold chain misses the final polynomial"));
        }
    }
    let mut h = log_max_height;
    for (r, &a) in schedule.iter().enumerate() {
        h -= a;
        let dims = [Dimensions {
            width: 1 << a,
            height: 1 << h,
        }];
        fri_mmcs
            .verify_multi_batch(
                &proof.commit_phase_commits[r],
                &dims,
                &group_indices[r],
                &group_rows[r],
                &proof.commit_phase_openings[r].opening_proof,
            )
            .map_err(|e| format!("FRI round {r} Merkle: {e:?}"))?;
    }
    Ok(derived)
}

fn check(preset: FriPreset, log_fib: usize, log_send: usize) {
    let cfg = StarkConfig::new(preset);
    let (pk, inputs) = common::bus_set(&cfg, log_fib, log_send, 2);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    let (start, claims) = transcript_before_opening(&cfg, &pk.vk, &proof).unwrap();
    assert_eq!(claims.len(), 4, "main, quotient, preprocessed, permutation");

    // p3-fri's own verifier, from the same state.
    let mut theirs = start.clone();
    cfg.pcs()
        .verify(claims.clone(), &proof.opening_proof, &mut theirs)
        .unwrap();

    // The documented replay.
    let mut ours = start.clone();
    let indices = replay_step_14(preset, &mut ours, &claims, &proof.opening_proof, None)
        .unwrap_or_else(|e| panic!("{preset}: replay rejects the honest proof: {e}"));
    assert_eq!(indices.len(), preset.num_queries());
    assert_eq!(ours.sponge_state, theirs.sponge_state, "{preset}: sponge");
    assert_eq!(
        ours.input_buffer, theirs.input_buffer,
        "{preset}: input buffer"
    );
    assert_eq!(
        ours.output_buffer, theirs.output_buffer,
        "{preset}: output buffer"
    );

    // Negative controls: another index set, another claimed value.
    let flip: Tamper = |idx| idx[0] ^= 1;
    let mut ch = start.clone();
    assert!(replay_step_14(preset, &mut ch, &claims, &proof.opening_proof, Some(flip)).is_err());
    let mut bad = claims.clone();
    bad[0].matrices[0].points[0].values[0] += Challenge::ONE;
    let mut ch = start.clone();
    assert!(replay_step_14(preset, &mut ch, &bad, &proof.opening_proof, None).is_err());
    let mut ch = start;
    assert!(cfg
        .pcs()
        .verify(bad, &proof.opening_proof, &mut ch)
        .is_err());
}

#[test]
fn step_14_replay_matches_p3_fri_testing() {
    check(FriPreset::Testing, 4, 6);
    check(FriPreset::Testing, 9, 3);
}

#[test]
fn step_14_replay_matches_p3_fri_recursion_and_fast() {
    check(FriPreset::Recursion, 5, 7);
    check(FriPreset::Fast, 3, 5);
}

#[test]
fn step_14_replay_matches_p3_fri_aggregation() {
    // Arity-8 rounds, rounds cut short where an input joins, a final polynomial of length
    // 8, caps of 16 roots (8 for a 2^3 tree is never reached: traces have >= 16 rows).
    for (log_fib, log_send) in [(9, 6), (5, 4), (4, 7), (12, 5)] {
        check(FriPreset::Aggregation, log_fib, log_send);
    }
}
