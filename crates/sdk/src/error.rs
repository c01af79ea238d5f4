//! What can go wrong in the SDK.

use std::path::PathBuf;

use starkscope_stark_backend::codec::CodecError;
use starkscope_stark_backend::KeygenError;
use starkscope_vm::prove::{ChainError, SegmentProveError};
use starkscope_vm::ExecError;

use crate::files::FileKind;

/// A failed SDK call.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("could not start the proving pool: {0}")]
    Pool(String),
    #[error("execution failed: {0}")]
    Exec(#[from] ExecError),
    #[error("key generation failed: {0}")]
    Keygen(#[from] KeygenError),
    #[error("proving failed: {0}")]
    Prove(#[from] SegmentProveError),
    #[error("the proof is invalid: {0}")]
    Invalid(#[from] InvalidProof),
    #[error("FRI preset `{preset}` gives {bits} conjectured bits of security, under the {min} a verifier accepts; allow insecure presets to verify at it anyway")]
    InsecurePreset {
        preset: String,
        bits: usize,
        min: usize,
    },
    #[error("the verifying key is for FRI preset `{key}`, but this verifier checks proofs at `{verifier}`")]
    KeyPreset { key: String, verifier: String },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("aggregation: {0}")]
    Aggregate(#[from] crate::tree::NodeError),
}

/// Why a proof does not verify against a key.
#[derive(Debug, thiserror::Error)]
pub enum InvalidProof {
    #[error("it proves program `{proof_name}` (hash {proof_hash}), but the key is for `{key_name}` (hash {key_hash})")]
    WrongProgram {
        proof_name: String,
        proof_hash: String,
        key_name: String,
        key_hash: String,
    },
    #[error("it was made with FRI preset `{proof}`, but the verifier requires `{required}`")]
    WrongPreset { proof: String, required: String },
    #[error("the root proof does not verify: {0}")]
    Root(String),
    #[error("it claims exit code {claimed}, but the segments prove exit code {proven}")]
    ExitCode { claimed: u32, proven: u32 },
    #[error(transparent)]
    Chain(#[from] ChainError),
}

impl InvalidProof {
    /// A proof claiming program `(name, hash)` checked with a key for `(key_name,
    /// key_hash)`: `Err(WrongProgram)` unless both are equal.
    pub fn same_program(
        (name, hash): (&str, crate::ProgramHash),
        (key_name, key_hash): (&str, crate::ProgramHash),
    ) -> Result<(), InvalidProof> {
        if hash == key_hash && name == key_name {
            return Ok(());
        }
        Err(InvalidProof::WrongProgram {
            proof_name: name.to_string(),
            proof_hash: hash.to_string(),
            key_name: key_name.to_string(),
            key_hash: key_hash.to_string(),
        })
    }
}

/// A proof or key file that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a starkscope file ({len} bytes, expected the `STARKSCP` header)")]
    NotStarkscope { path: PathBuf, len: usize },
    #[error("{path}: is a starkscope {found}, expected a {expected}")]
    WrongKind {
        path: PathBuf,
        expected: FileKind,
        found: String,
    },
    #[error("{path}: {kind} format version {found}, this build reads version {supported}")]
    Version {
        path: PathBuf,
        kind: FileKind,
        found: u16,
        supported: u16,
    },
    #[error("{path}: corrupt or truncated {kind}: {detail}")]
    Corrupt {
        path: PathBuf,
        kind: FileKind,
        detail: String,
    },
    #[error("{path}: {kind}: {source}")]
    Codec {
        path: PathBuf,
        kind: FileKind,
        source: CodecError,
    },
    #[error("{path}: the proving key's program does not derive the verifying key stored with it")]
    KeyMismatch { path: PathBuf },
    #[error("could not encode the {kind}: {detail}")]
    Encode { kind: FileKind, detail: String },
}

impl FileError {
    /// True when the file's content is at fault (corrupt, truncated, inconsistent) rather
    /// than its kind, version, or the file system.
    pub fn is_corrupt(&self) -> bool {
        matches!(
            self,
            FileError::Corrupt { .. } | FileError::Codec { .. } | FileError::KeyMismatch { .. }
        )
    }
}

/// One line for an error and its causes, as `anyhow`'s `{:#}` would print it, but without
/// repeating a cause whose text its parent's message already includes (our error types
/// name their cause in their message and also return it as `source()`).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("disk on fire")]
    struct Root;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot save: {0}")]
    struct Includes(#[source] Root);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot save")]
    struct Omits(#[source] Root);

    #[test]
    fn a_cause_is_printed_once() {
        assert_eq!(error_chain(&Includes(Root)), "cannot save: disk on fire");
        assert_eq!(error_chain(&Omits(Root)), "cannot save: disk on fire");
        let wrapped = anyhow::Error::new(Includes(Root)).context("proving p.sasm");
        assert_eq!(
            error_chain(wrapped.as_ref()),
            "proving p.sasm: cannot save: disk on fire"
        );
    }
}
