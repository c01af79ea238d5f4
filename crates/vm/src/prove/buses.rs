//! The buses the chips talk on. A tuple sent on a bus must be received by some chip with
//! the same multiplicity, or the LogUp sums of the proof do not balance.

/// `(pc, opcode, a, b, c)`: the program chip provides each instruction; every cpu row
/// consumes the instruction at its pc.
pub const PROGRAM: &str = "program";
/// `(addr, value, timestamp)`: offline memory checking. An access receives the cell's
/// previous `(addr, value, ts)` and sends the new one; the boundary chip sends each touched
/// cell's initial state at timestamp 0 and receives its final state.
pub const MEMORY: &str = "memory";
/// `(x)`: `x < 2^16`, provided by the range chip.
pub const RANGE16: &str = "range16";
/// `(ts, kind, a, b, c)`: an extension-field instruction handed from the cpu to the
/// extension chip (kind 0 add, 1 sub, 2 mul, 3 inv).
pub const EXT_OP: &str = "ext_op";
/// `(ts, a, b)`: a `poseidon2` instruction handed from the cpu to the poseidon2 memory chip.
pub const POSEIDON2_OP: &str = "poseidon2_op";
/// `(input[16], output[16])`: one full Poseidon2-16 permutation, provided by the
/// poseidon2 chip.
pub const PERMUTE: &str = "permute";
/// `(input[16], output[0..8])`: one 2-to-1 compression (permutation truncated to 8),
/// provided by the poseidon2 chip; used by the Merkle chip and the output digest.
pub const COMPRESS: &str = "compress";
/// `(level, index, before[8], after[8])`: a memory Merkle node's digest before and after the
/// segment. The boundary chip sends the leaves (level 0), the Merkle chip the inner nodes.
pub const MERKLE: &str = "merkle";
