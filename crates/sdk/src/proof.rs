//! An application proof: every segment proof plus what the execution claims.

use starkscope_stark_backend::{FriPreset, Proof, Val};

use crate::keys::ProgramHash;

/// All segment proofs of one execution, in segment order, and its claimed results. The
/// verifier checks the claims against the proofs' public values (exit code, output digest).
#[derive(Clone, Debug)]
pub struct AppProof {
    pub program_name: String,
    pub program_hash: ProgramHash,
    pub preset: FriPreset,
    pub exit_code: u32,
    /// The public outputs (`out`), in order.
    pub outputs: Vec<Val>,
    pub segments: Vec<Proof>,
}
