//! `PaddingFreeSponge<Perm, 16, 8, 8>` and `TruncatedPermutation<Perm, 2, 8, 16>`.

use starkscope_stark_backend::poseidon2::RATE;

use super::Digest;
use crate::builder::CircuitBuilder;
use crate::ir::{Felt, Lane};

/// The sponge's running state, lane by lane.
type State = [Lane; 16];

/// Hashes `values` as the MMCS hashes a leaf (all rows of one height, concatenated):
/// start from zero, overwrite the first `k <= 8` lanes with the next `k` values and
/// permute, until the input runs out; the digest is lanes 0..8. A partial last block
/// keeps the previous state's lanes after it. An empty input hashes to zero.
pub fn hash_slice(b: &mut CircuitBuilder, values: &[Felt]) -> Digest {
    let mut state: State = [Lane::Zero; 16];
    for chunk in values.chunks(RATE) {
        for (lane, &v) in state.iter_mut().zip(chunk) {
            *lane = Lane::Val(v);
        }
        state = b.poseidon2(state).map(Lane::Val);
    }
    let zero = b.zero();
    state[..RATE]
        .iter()
        .map(|l| match l {
            Lane::Zero => zero,
            Lane::Val(v) => *v,
        })
        .collect::<Vec<_>>()
        .try_into()
        .expect("8 lanes")
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
    let lanes: [Lane; 16] =
        core::array::from_fn(|i| Lane::Val(if i < RATE { left[i] } else { right[i - RATE] }));
    let out = b.poseidon2_op(lanes, dir, 0);
    core::array::from_fn(|i| out[i])
}
