//! `MerkleTreeMmcs::verify_batch` (arity 2, no cap) as circuit ops.

use super::hash::{compress, compress_dir, hash_slice};
use super::Digest;
use crate::builder::CircuitBuilder;
use crate::ir::Felt;

/// Checks that `rows` (one opened row per matrix, matrices given tallest first with their
/// log heights) are the leaves at the index whose bits (least significant first, exactly
/// `log_heights[0]` of them, so the index is below the tree's height as Plonky3 requires)
/// are `index_bits`, under `root`, given one sibling per level. Exactly as Plonky3 0.8's `verify_batch` with power-of-two heights: the rows of
/// the tallest matrices are hashed together into the leaf; after each level, the rows of
/// the matrices of the new height are hashed together and compressed into the node
/// (`compress(node, their hash)`, no direction).
///
/// The shape (heights, widths) is a constant of the circuit.
pub fn verify_batch(
    b: &mut CircuitBuilder,
    root: Digest,
    log_heights: &[usize],
    rows: &[Vec<Felt>],
    index_bits: &[Felt],
    siblings: &[Digest],
) {
    let root_node = batch_root(b, log_heights, rows, index_bits, siblings);
    for (x, y) in root_node.into_iter().zip(root) {
        b.assert_eq(x, y);
    }
}

/// The root that [`verify_batch`] compares with.
pub fn batch_root(
    b: &mut CircuitBuilder,
    log_heights: &[usize],
    rows: &[Vec<Felt>],
    index_bits: &[Felt],
    siblings: &[Digest],
) -> Digest {
    assert_eq!(log_heights.len(), rows.len(), "one row per matrix");
    assert!(
        log_heights.windows(2).all(|w| w[0] >= w[1]),
        "matrices must be given tallest first"
    );
    let max = log_heights[0];
    assert_eq!(siblings.len(), max, "one sibling per level");
    assert_eq!(
        index_bits.len(),
        max,
        "exactly one index bit per level: a caller with a wider index must constrain the rest"
    );

    let take_level = |h: usize| -> Vec<Felt> {
        log_heights
            .iter()
            .zip(rows)
            .filter(|(&lh, _)| lh == h)
            .flat_map(|(_, r)| r.iter().copied())
            .collect()
    };
    let mut node = hash_slice(b, &take_level(max));
    for level in 0..max {
        node = compress_dir(b, index_bits[level], node, siblings[level]);
        let h = max - level - 1;
        if log_heights.contains(&h) {
            let injected = hash_slice(b, &take_level(h));
            node = compress(b, node, injected);
        }
    }
    node
}
