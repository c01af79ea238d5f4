//! Proving and verifying a circuit's run on the backend.

use starkscope_stark_backend::{prove, Proof, ProveError, Val, VerifyError};

use crate::compile::CompiledCircuit;
use crate::run::Witness;

/// Why a circuit proof was refused.
#[derive(Debug, thiserror::Error)]
pub enum CircuitVerifyError {
    #[error(
        "the proof's public values {got:?} differ from the expected public inputs {expected:?}"
    )]
    PublicValues { expected: Vec<Val>, got: Vec<Val> },
    #[error("the proof has {got} tables, the circuit's key {expected}")]
    Shape { expected: usize, got: usize },
    #[error(transparent)]
    Stark(#[from] VerifyError),
}

impl CompiledCircuit {
    /// Proves a run.
    pub fn prove(&self, witness: Witness) -> Result<Proof, ProveError> {
        prove(&self.config, &self.pk, witness.inputs)
    }

    /// Verifies a proof of this circuit with these public inputs.
    pub fn verify(&self, proof: &Proof, public: &[Val]) -> Result<(), CircuitVerifyError> {
        crate::key::verify_circuit_proof(&self.config, &self.pk.vk, proof, public)
    }
}
