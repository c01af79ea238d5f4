//! starkscope-stark-backend: a multi-AIR STARK prover and verifier on Plonky3 0.8
//! primitives, with every prover phase in its own tracing span.
//!
//! Flow: [`keygen`] an AIR set (each a [`StarkAir`]) under a [`StarkConfig`] built from a
//! [`FriPreset`], then [`prove`] with one [`AirInput`] per AIR, then [`verify`].
//! Proofs and keys serialize with a versioned header ([`codec`]). In tests,
//! [`debug::check_traces`] names every failing constraint and any unbalanced bus.
//! The transcript and proof layout are specified in docs/stark-backend.md.

pub mod air;
pub mod codec;
pub mod config;
mod constraint_system;
pub mod debug;
pub mod example_airs;
pub mod folder;
#[cfg(feature = "bench-metrics")]
mod instrument;
pub mod keygen;
pub mod poseidon2;
pub mod proof;
pub mod prover;
mod quotient;
#[cfg(feature = "test-support")]
pub mod testing;
mod transcript;
pub mod transcript_log;
pub mod verifier;

pub use air::{Count, InteractionBuilder, ShapeOnly, StarkAir};
pub use config::{Challenge, FriPreset, StarkConfig, Val, MIN_SECURE_BITS};
pub use keygen::{keygen, AirInfo, KeygenError, ProvingKey, VerifyingKey};
pub use proof::Proof;
pub use prover::{prove, AirInput, ProveError};
pub use verifier::{verify, VerifyError};

/// Plonky3 pieces an AIR author needs, re-exported so chips depend on one crate.
pub mod p3 {
    pub use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
    pub use p3_field::{Field, PrimeCharacteristicRing, PrimeField32, PrimeField64};
    pub use p3_matrix::dense::RowMajorMatrix;
    pub use p3_matrix::Matrix;
}
