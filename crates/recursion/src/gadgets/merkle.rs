//! `MerkleTreeMmcs::verify_batch` (arity 2; no cap, or a cap in [`verify_batch_cap`]) as
//! circuit ops.

use super::hash::{assert_digest_eq, compress, compress_dir, hash_quads};
use super::Digest;
use crate::builder::CircuitBuilder;
use crate::ir::{Felt, Quad};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::Val;

/// The opened rows of every matrix of one height, concatenated in batch order (as the MMCS
/// hashes them), four values to a cell.
#[derive(Clone, Debug)]
pub struct OpenedLevel {
    pub log_height: usize,
    pub values: Vec<Quad>,
    /// Values in the stream (the last cell may hold fewer).
    pub len: usize,
}

/// Checks that `levels` (one per distinct matrix height, tallest first) are the opened
/// rows at the index whose bits (least significant first, exactly `levels[0].log_height` of
/// them, so the index is below the tree's height as Plonky3 requires) are `index_bits`,
/// under `root`, given one sibling per level. Exactly as Plonky3 0.8's `verify_batch` with
/// power-of-two heights: the tallest rows are hashed into the leaf; after each level, the
/// rows of the matrices of the new height are hashed and compressed into the node
/// (`compress(node, their hash)`, no direction).
///
/// The shape (heights, widths) is a constant of the circuit.
pub fn verify_batch(
    b: &mut CircuitBuilder,
    root: Digest,
    levels: &[OpenedLevel],
    index_bits: &[Felt],
    siblings: &[Digest],
) {
    let node = batch_root(b, levels, index_bits, siblings);
    assert_digest_eq(b, node, root);
}

/// The root that [`verify_batch`] compares with.
pub fn batch_root(
    b: &mut CircuitBuilder,
    levels: &[OpenedLevel],
    index_bits: &[Felt],
    siblings: &[Digest],
) -> Digest {
    assert!(
        levels.windows(2).all(|w| w[0].log_height > w[1].log_height),
        "levels must have distinct heights, tallest first"
    );
    let max = levels[0].log_height;
    assert_eq!(siblings.len(), max, "one sibling per level");
    assert_eq!(
        index_bits.len(),
        max,
        "exactly one index bit per level: a caller with a wider index must constrain the rest"
    );
    let mut node = hash_quads(b, &levels[0].values, levels[0].len);
    for level in 0..max {
        node = compress_dir(b, index_bits[level], node, siblings[level]);
        let h = max - level - 1;
        if let Some(l) = levels.iter().find(|l| l.log_height == h) {
            let injected = hash_quads(b, &l.values, l.len);
            node = compress(b, node, injected);
        }
    }
    node
}

/// [`verify_batch`] under a Merkle cap (Plonky3 0.8's `verify_batch` with
/// `cap_height = log2(cap.len())`, the effective cap height of the tree): the path stops
/// at the cap layer (`index_bits.len() - log2(cap.len())` siblings), and the cap entry the
/// node must equal is selected by the remaining (top) index bits, a select tree over the
/// roots. `index_bits` holds all of the tallest level's bits, as for [`verify_batch`].
/// Matrices are injected down to the cap layer (none may be shorter than it).
pub fn verify_batch_cap(
    b: &mut CircuitBuilder,
    cap: &[Digest],
    levels: &[OpenedLevel],
    index_bits: &[Felt],
    siblings: &[Digest],
) {
    verify_batch_cap_with(b, cap, None, levels, index_bits, siblings)
}

/// The differences `cap[2m+1] - cap[2m]` (per digest cell) that [`verify_batch_cap_with`]
/// can share between openings of one cap: the select tree's first level then costs one
/// lane a cell instead of two.
pub fn cap_differences(b: &mut CircuitBuilder, cap: &[Digest]) -> Vec<Digest> {
    cap.chunks(2)
        .filter(|p| p.len() == 2)
        .map(|p| {
            [
                b.sub(p[1][0].ext(), p[0][0].ext()).quad(),
                b.sub(p[1][1].ext(), p[0][1].ext()).quad(),
            ]
        })
        .collect()
}

/// [`verify_batch_cap`] with the cap's first-level differences ([`cap_differences`] of
/// the same cap) computed once for every opening.
pub fn verify_batch_cap_with(
    b: &mut CircuitBuilder,
    cap: &[Digest],
    diffs: Option<&[Digest]>,
    levels: &[OpenedLevel],
    index_bits: &[Felt],
    siblings: &[Digest],
) {
    assert!(cap.len().is_power_of_two(), "a cap of 2^c roots");
    let c = cap.len().trailing_zeros() as usize;
    assert!(
        levels.windows(2).all(|w| w[0].log_height > w[1].log_height),
        "levels must have distinct heights, tallest first"
    );
    let max = levels[0].log_height;
    assert!(c <= max, "a cap above the tree");
    assert!(
        levels.iter().all(|l| l.log_height >= c),
        "a matrix shorter than the cap layer"
    );
    assert_eq!(
        siblings.len(),
        max - c,
        "one sibling per level below the cap"
    );
    assert_eq!(index_bits.len(), max, "exactly one index bit per level");
    let mut node = hash_quads(b, &levels[0].values, levels[0].len);
    for level in 0..max - c {
        node = compress_dir(b, index_bits[level], node, siblings[level]);
        let h = max - level - 1;
        if let Some(l) = levels.iter().find(|l| l.log_height == h) {
            let injected = hash_quads(b, &l.values, l.len);
            node = compress(b, node, injected);
        }
    }
    // The cap entry at the top c bits (least significant first).
    let mut entries: Vec<Digest> = cap.to_vec();
    let mut top = &index_bits[max - c..];
    if let (Some(d), Some((&bit, rest))) = (diffs, top.split_first()) {
        assert_eq!(d.len(), cap.len() / 2, "the differences of this cap");
        b.assert_bool(bit);
        let one = Val::ONE;
        let zero = Val::ZERO;
        entries = cap
            .chunks(2)
            .zip(d)
            .map(|(p, d)| {
                // bit * (p1 - p0) + p0
                [0, 1].map(|j| {
                    b.linear([one, zero, zero, one], bit.ext(), d[j].ext(), p[0][j].ext())
                        .quad()
                })
            })
            .collect();
        top = rest;
    }
    for &bit in top {
        entries = entries
            .chunks(2)
            .map(|p| {
                [
                    b.select(bit, p[1][0].ext(), p[0][0].ext()).quad(),
                    b.select(bit, p[1][1].ext(), p[0][1].ext()).quad(),
                ]
            })
            .collect();
    }
    assert_digest_eq(b, node, entries[0]);
}
