//! The hashing gadgets against Plonky3's own on random inputs: the MMCS leaf sponge, the
//! 2-to-1 compression, a real MMCS opening made by the backend's tree, and the duplex
//! challenger.

mod common;

use common::*;
use p3_challenger::{CanObserve, CanSample, CanSampleBits, FieldChallenger, GrindingChallenger};
use p3_commit::Mmcs;
use p3_matrix::dense::RowMajorMatrix;
use p3_matrix::Dimensions;
use p3_symmetric::{CryptographicHasher, PseudoCompressionFunction};
use rand::Rng;
use starkscope_recursion::gadgets::challenger::ChallengerVar;
use starkscope_recursion::gadgets::merkle::OpenedLevel;
use starkscope_recursion::gadgets::{hash, merkle, Digest};
use starkscope_recursion::{CircuitBuilder, Ext, Felt, FELT_BITS};
use starkscope_stark_backend::config::{LeafHash, NodeCompress, ValMmcs};
use starkscope_stark_backend::p3::{PrimeCharacteristicRing, PrimeField32};
use starkscope_stark_backend::{Challenge, FriPreset, StarkConfig, Val};

fn perm() -> starkscope_stark_backend::config::Perm {
    p3_baby_bear::default_babybear_poseidon2_16()
}

#[test]
fn leaf_sponge_matches_padding_free_sponge() {
    let sponge = LeafHash::new(perm());
    let mut r = rng(21);
    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let mut cases = Vec::new();
    for len in [0usize, 1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 24, 31, 64] {
        let input: Vec<Val> = (0..len).map(|_| felt(&mut r)).collect();
        // As cells (the hot path) and as individual values (packed first).
        let cells = quads_of(&mut b, &input, &mut hints);
        let d = hash::hash_quads(&mut b, &cells, len);
        let felts = felts_of(&mut b, &input, &mut hints);
        let d2 = hash::hash_felts(&mut b, &felts);
        let expected = sponge.hash_iter(input.iter().copied());
        cases.push((d, expected, len));
        cases.push((d2, expected, len));
    }
    let circuit = compile(b.build());
    let w = circuit.run(&[], &hints).unwrap();
    for (d, expected, len) in &cases {
        assert_eq!(digest_values(&w, *d), *expected, "sponge of {len} elements");
    }
    let proof = circuit.prove(w).unwrap();
    circuit.verify(&proof, &[]).unwrap();
}

#[test]
fn compression_matches_truncated_permutation_both_directions() {
    let compress = NodeCompress::new(perm());
    let mut r = rng(22);
    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let mut cases = Vec::new();
    for bit in [0u32, 1, 0, 1] {
        let l: [Val; 8] = core::array::from_fn(|_| felt(&mut r));
        let s: [Val; 8] = core::array::from_fn(|_| felt(&mut r));
        let lc = digest_of(&mut b, l, &mut hints);
        let sc = digest_of(&mut b, s, &mut hints);
        let bitc = felts_of(&mut b, &[Val::from_u32(bit)], &mut hints)[0];
        let plain = hash::compress(&mut b, lc, sc);
        let dir = hash::compress_dir(&mut b, bitc, lc, sc);
        let expected_dir = if bit == 0 {
            compress.compress([l, s])
        } else {
            compress.compress([s, l])
        };
        cases.push((plain, compress.compress([l, s])));
        cases.push((dir, expected_dir));
    }
    let circuit = compile(b.build());
    let w = circuit.run(&[], &hints).unwrap();
    for (d, e) in &cases {
        assert_eq!(digest_values(&w, *d), *e);
    }
    let proof = circuit.prove(w).unwrap();
    circuit.verify(&proof, &[]).unwrap();
}

/// The opened rows of one query as the MMCS hashes them: per distinct height (tallest
/// first), the rows of that height concatenated, four values to a cell.
pub fn levels_of(
    b: &mut CircuitBuilder,
    log_heights: &[usize],
    rows: &[Vec<Val>],
    hints: &mut Vec<Challenge>,
) -> Vec<OpenedLevel> {
    let mut heights: Vec<usize> = log_heights.to_vec();
    heights.dedup();
    heights
        .into_iter()
        .map(|h| {
            let stream: Vec<Val> = log_heights
                .iter()
                .zip(rows)
                .filter(|(&lh, _)| lh == h)
                .flat_map(|(_, r)| r.iter().copied())
                .collect();
            OpenedLevel {
                log_height: h,
                values: quads_of(b, &stream, hints),
                len: stream.len(),
            }
        })
        .collect()
}

/// Commits matrices of several heights with the backend's MMCS, opens a few indices as a
/// pruned multiproof, restores the full paths, and checks each in a circuit.
#[test]
fn merkle_batch_opening_of_the_backends_mmcs_verifies_in_circuit() {
    let config = StarkConfig::new(FriPreset::Testing);
    let _ = config;
    let mmcs = ValMmcs::new(LeafHash::new(perm()), NodeCompress::new(perm()), 0);
    let mut r = rng(23);
    // Tallest first: two matrices of 2^5 rows (hashed together), one of 2^3 (injected),
    // widths that are not multiples of 8.
    let shapes = [(5usize, 11usize), (5, 3), (3, 9)];
    let mats: Vec<RowMajorMatrix<Val>> = shapes
        .iter()
        .map(|&(lh, w)| RowMajorMatrix::new((0..w << lh).map(|_| felt(&mut r)).collect(), w))
        .collect();
    let dims: Vec<Dimensions> = mats
        .iter()
        .map(|m| Dimensions {
            width: m.width,
            height: m.values.len() / m.width,
        })
        .collect();
    let (root, data) = mmcs.commit(mats);
    let indices = [3usize, 17, 18, 31];
    let (opened, pruned) = mmcs.open_multi_batch(&indices, &data);
    let paths = mmcs
        .restore_and_recompute_paths(&dims, &indices, &opened, &pruned)
        .expect("restores paths");
    let root_vals: [Val; 8] = root.roots()[0];

    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let root_c = digest_of(&mut b, root_vals, &mut hints);
    let log_heights: Vec<usize> = shapes.iter().map(|s| s.0).collect();
    for (q, &index) in indices.iter().enumerate() {
        let levels = levels_of(&mut b, &log_heights, &opened[q], &mut hints);
        let index_c = felts_of(&mut b, &[Val::from_usize(index)], &mut hints)[0];
        let bits = b.bits(index_c);
        let siblings: Vec<Digest> = paths[q]
            .siblings
            .iter()
            .map(|s| digest_of(&mut b, *s, &mut hints))
            .collect();
        merkle::verify_batch(&mut b, root_c, &levels, &bits[..5], &siblings);
    }
    let circuit = compile(b.build());
    let w = circuit.run(&[], &hints).expect("the real openings verify");
    let proof = circuit.prove(w).unwrap();
    circuit.verify(&proof, &[]).unwrap();
}

/// A random script of challenger calls, run natively and in the circuit.
#[test]
fn challenger_matches_duplex_challenger() {
    for seed in 0..6 {
        let mut r = rng(30 + seed);
        let mut native = StarkConfig::new(FriPreset::Testing).challenger();
        let mut b = CircuitBuilder::new();
        let mut cv = ChallengerVar::new();
        let mut hints = Vec::new();
        let mut felts: Vec<(Felt, Val)> = Vec::new();
        let mut exts: Vec<(Ext, Challenge)> = Vec::new();
        for _ in 0..40 {
            match r.random_range(0..5) {
                0 => {
                    let n = r.random_range(1..20);
                    let vals: Vec<Val> = (0..n).map(|_| felt(&mut r)).collect();
                    let cells = felts_of(&mut b, &vals, &mut hints);
                    cv.observe_slice(&mut b, &cells);
                    native.observe_slice(&vals);
                }
                1 => {
                    felts.push((cv.sample(&mut b), native.sample()));
                }
                2 => {
                    let e: Challenge = native.sample();
                    exts.push((cv.sample_ext(&mut b), e));
                }
                3 => {
                    let bits = r.random_range(1..FELT_BITS);
                    let got = cv.sample_bits(&mut b, bits);
                    let n = native.sample_bits(bits);
                    for (i, g) in got.into_iter().enumerate() {
                        felts.push((g, Val::from_bool((n >> i) & 1 == 1)));
                    }
                }
                _ => {
                    let e = ext(&mut r);
                    hints.push(e);
                    let c = b.hint_ext();
                    cv.observe_ext(&mut b, c);
                    native.observe_algebra_element(e);
                }
            }
        }
        // Proof of work: grind natively, check in the circuit.
        let pow_bits = 3;
        let witness = native.grind(pow_bits);
        hints.push(Challenge::from(witness));
        let wc = b.hint_felt();
        cv.check_witness(&mut b, pow_bits, wc);
        felts.push((cv.sample(&mut b), native.sample()));

        let circuit = compile(b.build());
        let w = circuit.run(&[], &hints).unwrap();
        for (i, (f, e)) in felts.iter().enumerate() {
            assert_eq!(value(&w, *f), *e, "seed {seed}, sample {i}");
        }
        for (x, e) in &exts {
            assert_eq!(w.values[x.addr() as usize], *e, "seed {seed}");
        }
        if seed == 0 {
            let proof = circuit.prove(w).unwrap();
            circuit.verify(&proof, &[]).unwrap();
        }
        let _ = Val::ONE.as_canonical_u32();
    }
}

/// A wrong proof-of-work witness fails the run at the check.
#[test]
fn a_wrong_pow_witness_is_refused() {
    let mut native = StarkConfig::new(FriPreset::Testing).challenger();
    native.observe(Val::from_u32(5));
    let mut good = native.clone();
    let witness = good.grind(8);
    let mut b = CircuitBuilder::new();
    let mut cv = ChallengerVar::new();
    let five = b.hint_felt();
    cv.observe(&mut b, five);
    let wc = b.hint_felt();
    cv.check_witness(&mut b, 8, wc);
    let circuit = compile(b.build());
    let five_v = Challenge::from(Val::from_u32(5));
    circuit
        .run(&[], &[five_v, Challenge::from(witness)])
        .expect("the ground witness passes");
    // Some witness among the next few fails 8 bits of grinding.
    let bad = (1..64u32)
        .map(|d| witness + Val::from_u32(d))
        .find(|&cand| !native.clone().check_witness(8, cand))
        .unwrap();
    let err = circuit
        .run(&[], &[five_v, Challenge::from(bad)])
        .unwrap_err();
    assert!(err.to_string().contains("assert_eq"), "{err}");
}
