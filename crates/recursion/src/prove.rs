//! Proving and verifying a circuit's run on the backend.

use starkscope_stark_backend::{prove, verify, Proof, ProveError, Val, VerifyError};

use crate::compile::{CompiledCircuit, TableId};
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
        let tables = self.pk.vk.num_airs();
        if proof.airs.len() != tables {
            return Err(CircuitVerifyError::Shape {
                expected: tables,
                got: proof.airs.len(),
            });
        }
        let got = &proof.airs[TableId::Public as usize].public_values;
        if got.as_slice() != public {
            return Err(CircuitVerifyError::PublicValues {
                expected: public.to_vec(),
                got: got.clone(),
            });
        }
        verify(&self.config, &self.pk.vk, proof)?;
        Ok(())
    }
}
