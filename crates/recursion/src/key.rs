//! A circuit's verifying key on its own: what checks the circuit's proofs without the
//! circuit (no ops, no preprocessed traces), to and from bytes.
//!
//! The bytes are the backend's verifying-key codec. Reading them rebuilds the tables' AIRs
//! from the shape the key describes (every table's height and the number of public values;
//! the tables' constraints are this crate's code), as shapes only (`ShapeOnly`: nothing of a
//! table's size is allocated), and lets the backend check that the bytes are exactly those
//! AIRs' key; the preprocessed commitment, which binds the circuit's ops, comes from the
//! bytes.

use starkscope_stark_backend::codec::CodecError;
use std::sync::Arc;

use starkscope_stark_backend::p3::RowMajorMatrix;
use starkscope_stark_backend::{
    verify, FriPreset, Proof, ShapeOnly, StarkAir, StarkConfig, Val, VerifyingKey,
};

use crate::compile::{table_airs, CompiledCircuit, TableId, NUM_TABLES};
use crate::prove::CircuitVerifyError;

/// Tallest table a key read from bytes may describe: the tallest the prover proves (so
/// every key keygen writes reads back).
pub const MAX_LOG_HEIGHT: usize = starkscope_stark_backend::prover::MAX_LOG_HEIGHT;
/// Most public values a key read from bytes may describe.
pub const MAX_PUBLIC: usize = 1 << 12;

/// Why bytes are not a circuit's verifying key.
#[derive(Debug, thiserror::Error)]
pub enum CircuitKeyError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("the key describes {0} tables, a circuit has {NUM_TABLES}")]
    Tables(usize),
    #[error(
        "table {table} is 2^{log_height} rows, more than this reader takes (2^{MAX_LOG_HEIGHT})"
    )]
    Height { table: usize, log_height: usize },
    #[error("table {0} has no preprocessed trace (every circuit table has one)")]
    NoProgram(usize),
    #[error("the key states {0} public values, more than this reader takes ({MAX_PUBLIC})")]
    Public(usize),
}

/// A circuit's verifying key and the configuration its proofs are checked under.
#[derive(Clone)]
pub struct CircuitVerifyingKey {
    config: StarkConfig,
    vk: VerifyingKey,
}

impl std::fmt::Debug for CircuitVerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitVerifyingKey")
            .field("preset", &self.config.preset())
            .field("log_heights", &self.log_heights())
            .finish_non_exhaustive()
    }
}

impl CircuitVerifyingKey {
    pub fn preset(&self) -> FriPreset {
        self.config.preset()
    }

    pub fn vk(&self) -> &VerifyingKey {
        &self.vk
    }

    /// log2 of every table's height, in table order.
    pub fn log_heights(&self) -> [usize; NUM_TABLES] {
        std::array::from_fn(|t| {
            self.vk
                .air_info(t)
                .preprocessed
                .as_ref()
                .map_or(0, |p| p.log_height)
        })
    }

    /// Verifies a proof of the circuit with these public inputs.
    pub fn verify(&self, proof: &Proof, public: &[Val]) -> Result<(), CircuitVerifyError> {
        verify_circuit_proof(&self.config, &self.vk, proof, public)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, CodecError> {
        self.vk.to_bytes()
    }

    /// Reads a key written by [`CircuitVerifyingKey::to_bytes`]; refuses bytes that are not
    /// exactly a circuit key of this build (tables, constraints, bus layout).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitKeyError> {
        let data = VerifyingKey::data_from_bytes(bytes)?;
        if data.airs.len() != NUM_TABLES {
            return Err(CircuitKeyError::Tables(data.airs.len()));
        }
        let mut log_heights = [0; NUM_TABLES];
        for (t, air) in data.airs.iter().enumerate() {
            let p = air
                .preprocessed
                .as_ref()
                .ok_or(CircuitKeyError::NoProgram(t))?;
            if p.log_height > MAX_LOG_HEIGHT {
                return Err(CircuitKeyError::Height {
                    table: t,
                    log_height: p.log_height,
                });
            }
            log_heights[t] = p.log_height;
        }
        let num_public = data.airs[TableId::Public as usize].num_public_values;
        if num_public > MAX_PUBLIC {
            return Err(CircuitKeyError::Public(num_public));
        }
        // The tables' AIRs with shapes only: their constraints and widths are all the
        // backend derives from them; the commitment to the real traces is the key's, so
        // nothing of a table's size is allocated.
        let airs = table_airs(
            std::array::from_fn(|_| RowMajorMatrix::new(Vec::new(), 1)),
            num_public,
        )
        .into_iter()
        .zip(log_heights)
        .map(|(air, h)| Arc::new(ShapeOnly::new(air, 1 << h)) as Arc<dyn StarkAir>)
        .collect();
        let vk = VerifyingKey::from_bytes(bytes, airs)?;
        Ok(Self {
            config: StarkConfig::new(data.preset),
            vk,
        })
    }
}

impl CompiledCircuit {
    /// This circuit's verifying key, on its own.
    pub fn verifying_key(&self) -> CircuitVerifyingKey {
        CircuitVerifyingKey {
            config: self.config.clone(),
            vk: self.pk.vk.clone(),
        }
    }
}

/// A proof of a circuit with key `vk`: as many tables as the key, the expected public
/// inputs, and the backend's verdict.
pub(crate) fn verify_circuit_proof(
    config: &StarkConfig,
    vk: &VerifyingKey,
    proof: &Proof,
    public: &[Val],
) -> Result<(), CircuitVerifyError> {
    let tables = vk.num_airs();
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
    verify(config, vk, proof)?;
    Ok(())
}
