//! The backend's three ways of hashing, as circuit ops, bit-exact with Plonky3 0.8:
//! the MMCS leaf sponge and 2-to-1 compression ([`hash`], [`merkle`]) and the duplex
//! challenger ([`challenger`]).

pub mod challenger;
pub mod hash;
pub mod merkle;

/// A digest: 8 base elements.
pub type Digest = [crate::Felt; 8];
