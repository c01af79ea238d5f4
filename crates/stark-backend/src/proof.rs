//! The proof: what the prover sends, in the order the verifier reads it.

use serde::{Deserialize, Serialize};

use crate::config::{Challenge, Commitment, PcsProof, Val};

/// Values one AIR's polynomials take at the out-of-domain point `zeta` (and at
/// `zeta * g`, the next row, where the AIR reads it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AirOpenings {
    pub main_local: Vec<Challenge>,
    /// Empty when the AIR never reads the next main row.
    pub main_next: Vec<Challenge>,
    pub preprocessed_local: Vec<Challenge>,
    pub preprocessed_next: Vec<Challenge>,
    /// Permutation columns, in base-field coordinates (4 per extension column).
    pub permutation_local: Vec<Challenge>,
    pub permutation_next: Vec<Challenge>,
    /// One entry per quotient chunk, each in base-field coordinates (4 values).
    pub quotient_chunks: Vec<Vec<Challenge>>,
}

/// One AIR's part of a proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AirProof {
    /// log2 of the trace height.
    pub log_height: u8,
    pub public_values: Vec<Val>,
    /// LogUp running sum over the whole trace; `None` when the AIR has no interactions.
    pub cumulative_sum: Option<Challenge>,
    pub openings: AirOpenings,
}

/// Merkle roots, in transcript order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Commitments {
    pub main: Commitment,
    /// `None` when no AIR has interactions.
    pub permutation: Option<Commitment>,
    pub quotient: Commitment,
}

/// A multi-AIR STARK proof. AIRs appear in proving-key order.
#[derive(Clone, Serialize, Deserialize)]
pub struct Proof {
    pub airs: Vec<AirProof>,
    pub commitments: Commitments,
    /// Opening proof of every committed matrix at the points above (FRI).
    pub opening_proof: PcsProof,
}

impl core::fmt::Debug for Proof {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Proof")
            .field("airs", &self.airs)
            .field("commitments", &self.commitments)
            .finish_non_exhaustive()
    }
}

impl Proof {
    /// The public values of AIR `air_id`, if present.
    pub fn public_values(&self, air_id: usize) -> Option<&[Val]> {
        self.airs.get(air_id).map(|a| a.public_values.as_slice())
    }

    /// Trace heights, in AIR order.
    pub fn heights(&self) -> Vec<usize> {
        self.airs
            .iter()
            .map(|a| 1usize << a.log_height.min(63))
            .collect()
    }
}

impl core::fmt::Debug for crate::keygen::ProvingKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProvingKey")
            .field("vk", &self.vk.data)
            .finish()
    }
}

impl core::fmt::Debug for crate::keygen::VerifyingKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("data", &self.data)
            .finish()
    }
}
