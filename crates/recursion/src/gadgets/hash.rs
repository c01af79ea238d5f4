//! `PaddingFreeSponge<Perm, 16, 8, 8>` and `TruncatedPermutation<Perm, 2, 8, 16>`.

use starkscope_stark_backend::poseidon2::RATE;

use super::Digest;
use crate::builder::CircuitBuilder;
use crate::ir::{Felt, Group, Quad};

/// Hashes a stream of `len` base values held four to a cell in `values` (the last cell may
/// hold fewer; its extra values are ignored), as the MMCS hashes a leaf (all rows of one
/// height, concatenated): start from zero, overwrite the first `k <= 8` lanes with the next
/// `k` values and permute, until the stream runs out; the digest is lanes 0..8. A partial
/// last block keeps the previous state's lanes after it (a group split by the stream's end
/// costs an unpack and a pack). An empty stream hashes to zero.
pub fn hash_quads(b: &mut CircuitBuilder, values: &[Quad], len: usize) -> Digest {
    assert!(
        len <= 4 * values.len() && len + 4 > 4 * values.len(),
        "{len} values do not fill {} cells",
        values.len()
    );
    let mut state = [Group::Zero; 4];
    for block in 0..len.div_ceil(RATE) {
        let n = (len - RATE * block).min(RATE);
        for (g, group) in state.iter_mut().enumerate().take(2) {
            let k = n.saturating_sub(4 * g).min(4);
            let cell = values.get(2 * block + g).copied();
            *group = match (k, cell) {
                (0, _) => *group,
                (4, Some(q)) => Group::Cell(q),
                (k, Some(q)) => {
                    let new = b.unpack(q);
                    let old = group_values(b, *group);
                    let mixed: [Felt; 4] =
                        core::array::from_fn(|j| if j < k { new[j] } else { old[j] });
                    Group::Cell(b.pack(mixed))
                }
                (_, None) => unreachable!("the length check covers every block"),
            };
        }
        state = b.poseidon2(state).map(Group::Cell);
    }
    [0, 1].map(|g| match state[g] {
        Group::Cell(q) => q,
        Group::Zero => b.constant_ext(Default::default()).quad(),
    })
}

/// [`hash_quads`] of individual base values (packed four to a cell first: three ALU lanes
/// per cell; for values that are not already in cells).
pub fn hash_felts(b: &mut CircuitBuilder, values: &[Felt]) -> Digest {
    let quads = pack_all(b, values);
    hash_quads(b, &quads, values.len())
}

/// Packs values four to a cell, the last padded with zeros.
pub fn pack_all(b: &mut CircuitBuilder, values: &[Felt]) -> Vec<Quad> {
    let zero = b.zero();
    values
        .chunks(4)
        .map(|c| b.pack(core::array::from_fn(|j| c.get(j).copied().unwrap_or(zero))))
        .collect()
}

/// The four values of a group (zeros for a zero group).
pub(crate) fn group_values(b: &mut CircuitBuilder, g: Group) -> [Felt; 4] {
    match g {
        Group::Zero => [b.zero(); 4],
        Group::Cell(q) => b.unpack(q),
    }
}

/// A digest from 8 base values.
pub fn digest_from_felts(b: &mut CircuitBuilder, d: [Felt; 8]) -> Digest {
    [0, 1].map(|h| b.pack(core::array::from_fn(|j| d[4 * h + j])))
}

/// `compress([left, right])`: the permutation of `left || right`, truncated to 8.
pub fn compress(b: &mut CircuitBuilder, left: Digest, right: Digest) -> Digest {
    compress_op(b, left, right, None)
}

/// One Merkle step: `node` is the left child when `bit` is 0, the right child when 1.
pub fn compress_dir(b: &mut CircuitBuilder, bit: Felt, node: Digest, sibling: Digest) -> Digest {
    compress_op(b, node, sibling, Some(bit))
}

fn compress_op(b: &mut CircuitBuilder, left: Digest, right: Digest, dir: Option<Felt>) -> Digest {
    let groups = [left[0], left[1], right[0], right[1]].map(Group::Cell);
    let out = b.poseidon2_op(groups, dir, 0);
    [out[0], out[1]]
}

/// Requires two digests to be equal (two extension-wide assertions).
pub fn assert_digest_eq(b: &mut CircuitBuilder, x: Digest, y: Digest) {
    for (p, q) in x.into_iter().zip(y) {
        b.assert_eq(p.ext(), q.ext());
    }
}
