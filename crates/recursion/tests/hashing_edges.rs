//! Edge cases of the hashing gadgets against Plonky3 0.8 that random inputs may miss: an
//! MMCS of one row, equal heights injected together, a height-1 matrix injected at the
//! root; challenger scripts around buffer boundaries and zero-bit samples.
//! (From the adversarial review of the recursion tables.)

mod common;

use common::*;
use p3_challenger::{CanObserve, CanSample, CanSampleBits, FieldChallenger, GrindingChallenger};
use p3_commit::{BatchOpeningRef, Mmcs};
use p3_matrix::dense::RowMajorMatrix;
use p3_matrix::Dimensions;
use starkscope_recursion::gadgets::challenger::ChallengerVar;
use starkscope_recursion::gadgets::{merkle, Digest};
use starkscope_recursion::{CircuitBuilder, Ext, Felt};
use starkscope_stark_backend::config::{LeafHash, NodeCompress, ValMmcs};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Challenge, FriPreset, StarkConfig, Val};

fn perm() -> starkscope_stark_backend::config::Perm {
    p3_baby_bear::default_babybear_poseidon2_16()
}

fn mmcs() -> ValMmcs {
    ValMmcs::new(LeafHash::new(perm()), NodeCompress::new(perm()), 0)
}

#[allow(clippy::type_complexity)]
fn commit(
    shapes: &[(usize, usize)],
    seed: u64,
) -> (
    Vec<Dimensions>,
    [Val; 8],
    impl Fn(usize) -> (Vec<Vec<Val>>, Vec<[Val; 8]>),
) {
    let mut r = rng(seed);
    let mats: Vec<RowMajorMatrix<Val>> = shapes
        .iter()
        .map(|&(lh, w)| RowMajorMatrix::new((0..w << lh).map(|_| felt(&mut r)).collect(), w))
        .collect();
    let dims: Vec<Dimensions> = shapes
        .iter()
        .map(|&(lh, w)| Dimensions {
            width: w,
            height: 1 << lh,
        })
        .collect();
    let m = mmcs();
    let (root, data) = m.commit(mats);
    let root_vals: [Val; 8] = root.roots()[0];
    let open = move |index: usize| {
        let o = m.open_batch(index, &data);
        (o.opened_values, o.opening_proof)
    };
    (dims, root_vals, open)
}

/// The opened rows of one index per distinct height, concatenated, four to a cell.
fn hashing_levels(
    b: &mut CircuitBuilder,
    log_heights: &[usize],
    rows: &[Vec<Val>],
    hints: &mut Vec<Challenge>,
) -> Vec<merkle::OpenedLevel> {
    let mut heights = log_heights.to_vec();
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
            merkle::OpenedLevel {
                log_height: h,
                values: quads_of(b, &stream, hints),
                len: stream.len(),
            }
        })
        .collect()
}

/// One `verify_batch` per index of a committed shape, all in one circuit; proven.
fn check_shape_in_circuit(shapes: &[(usize, usize)], seed: u64) {
    let (dims, root_vals, open) = commit(shapes, seed);
    let log_heights: Vec<usize> = shapes.iter().map(|s| s.0).collect();
    let max = log_heights[0];
    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let root_c = digest_of(&mut b, root_vals, &mut hints);
    for index in 0..1usize << max {
        let (rows, siblings) = open(index);
        // Plonky3 accepts it natively.
        mmcs()
            .verify_batch(
                &p3_symmetric::MerkleCap::new(vec![root_vals]),
                &dims,
                index,
                BatchOpeningRef::new(&rows, &siblings),
            )
            .expect("Plonky3 accepts the honest opening");
        let levels = hashing_levels(&mut b, &log_heights, &rows, &mut hints);
        let idx = felts_of(&mut b, &[Val::from_usize(index)], &mut hints)[0];
        let bits = b.bits(idx);
        let sib_c: Vec<Digest> = siblings
            .iter()
            .map(|s| digest_of(&mut b, *s, &mut hints))
            .collect();
        merkle::verify_batch(&mut b, root_c, &levels, &bits[..max], &sib_c);
    }
    let cc = compile(b.build());
    let w = cc
        .run(&[], &hints)
        .expect("the circuit accepts every honest opening");
    let proof = cc.prove(w).unwrap();
    cc.verify(&proof, &[]).unwrap();
}

#[test]
fn matches_mmcs_single_row_tree() {
    // max height 1: no siblings, the leaf hash is the root.
    check_shape_in_circuit(&[(0, 5)], 1);
}

#[test]
fn matches_mmcs_equal_heights_injected_and_a_height_one_matrix_at_the_root() {
    // Two matrices of the same (smaller) height injected together at level 2, and a
    // height-1 matrix injected after the last compression; widths 8 and 16 exactly.
    check_shape_in_circuit(&[(3, 4), (3, 8), (1, 3), (1, 16), (0, 2)], 2);
}

/// Deterministic challenger scripts hitting the edges the random script may miss.
#[test]
fn matches_duplex_challenger_edge_cases() {
    #[derive(Clone, Copy, Debug)]
    enum Step {
        Observe(usize),
        Sample,
        SampleExt,
        SampleBits(usize),
        Pow0,
    }
    use Step::*;
    let scripts: Vec<Vec<Step>> = vec![
        // sample from the all-zero initial state, twice past a buffer's end
        vec![Sample; 17],
        // sample_bits(0) consumes a sample (Plonky3 samples, then masks to 0)
        vec![SampleBits(0), Sample, SampleBits(0), SampleBits(30)],
        // exactly RATE observed: duplexed at observe time, no second duplexing at sample
        vec![Observe(8), Sample, Sample, Observe(16), Sample],
        // observe after sample while outputs remain: outputs dropped, 1 absorbed
        vec![
            Observe(3),
            Sample,
            Observe(1),
            Sample,
            SampleExt,
            Observe(7),
            SampleExt,
        ],
        // check_witness with 0 bits: no observe, no sample
        vec![
            Observe(2),
            Pow0,
            Sample,
            Pow0,
            Observe(9),
            Pow0,
            SampleBits(5),
        ],
    ];
    for (k, script) in scripts.iter().enumerate() {
        let mut r = rng(100 + k as u64);
        let mut native = StarkConfig::new(FriPreset::Testing).challenger();
        let mut b = CircuitBuilder::new();
        let mut cv = ChallengerVar::new();
        let mut hints = Vec::new();
        let mut felts: Vec<(Felt, Val)> = Vec::new();
        let mut exts: Vec<(Ext, Challenge)> = Vec::new();
        for &s in script {
            match s {
                Observe(n) => {
                    let vals: Vec<Val> = (0..n).map(|_| felt(&mut r)).collect();
                    let cells = felts_of(&mut b, &vals, &mut hints);
                    cv.observe_slice(&mut b, &cells);
                    native.observe_slice(&vals);
                }
                Sample => felts.push((cv.sample(&mut b), native.sample())),
                SampleExt => {
                    let e: Challenge = native.sample_algebra_element();
                    exts.push((cv.sample_ext(&mut b), e));
                }
                SampleBits(n) => {
                    let got = cv.sample_bits(&mut b, n);
                    let v = native.sample_bits(n);
                    assert_eq!(got.len(), n);
                    for (i, g) in got.into_iter().enumerate() {
                        felts.push((g, Val::from_bool((v >> i) & 1 == 1)));
                    }
                }
                Pow0 => {
                    let wv = felt(&mut r);
                    hints.push(Challenge::from(wv));
                    let wc = b.hint_felt();
                    cv.check_witness(&mut b, 0, wc);
                    assert!(native.check_witness(0, wv));
                }
            }
        }
        // Whatever state is left must agree too.
        felts.push((cv.sample(&mut b), native.sample()));
        let cc = compile(b.build());
        let w = cc.run(&[], &hints).unwrap();
        for (i, (f, e)) in felts.iter().enumerate() {
            assert_eq!(value(&w, *f), *e, "script {k} ({script:?}), sample {i}");
        }
        for (x, e) in &exts {
            assert_eq!(w.values[x.addr() as usize], *e, "script {k}");
        }
        if k == 3 {
            let proof = cc.prove(w).unwrap();
            cc.verify(&proof, &[]).unwrap();
        }
    }
}
