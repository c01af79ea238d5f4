//! The backend's three ways of hashing, as circuit ops, bit-exact with Plonky3 0.8:
//! the MMCS leaf sponge and 2-to-1 compression ([`hash`], [`merkle`]) and the duplex
//! challenger ([`challenger`]). Values travel four to a cell ([`crate::Quad`]), the unit
//! the Poseidon2 table reads and writes.

pub mod challenger;
pub mod hash;
pub mod merkle;

/// A digest: 8 base values in two cells.
pub type Digest = [crate::Quad; 2];

/// A commitment: a Merkle cap of `2^c` roots (one root at cap height 0).
pub type Cap = Vec<Digest>;
