//! Byte formats of proofs and verifying keys: an 8-byte magic, a little-endian u16
//! format version, the FRI preset id, then the postcard encoding of the value. Any
//! truncation, trailing byte or out-of-range field element is an error, never a panic.

use std::sync::Arc;

use serde::{de::DeserializeOwned, Serialize};

use crate::air::StarkAir;
use crate::config::FriPreset;
use crate::keygen::{check_vk_matches_airs, VerifyingKey, VerifyingKeyData};
use crate::proof::Proof;

pub const PROOF_MAGIC: [u8; 8] = *b"SSCPROOF";
pub const VK_MAGIC: [u8; 8] = *b"SSCVKEY\0";
/// Proofs' format: bumped whenever their encoding or the transcript changes.
pub const FORMAT_VERSION: u16 = 2;
/// Verifying keys' format (3: an AIR's lookups are no longer stored; they are re-derived
/// from the AIRs, as everything else about them is, and their expression trees made a
/// key's decoding and dropping recurse once per node: a crafted deep one overflowed the
/// stack).
pub const VK_FORMAT_VERSION: u16 = 3;
const HEADER_LEN: usize = 8 + 2 + 1;

/// Why bytes could not be read (or a value written).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("{what}: {len} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort { what: &'static str, len: usize },
    #[error("{what}: bad magic {found:02x?} (not a starkscope {what})")]
    BadMagic { what: &'static str, found: [u8; 8] },
    #[error("{what}: format version {found}, this build reads version {expected}")]
    Version {
        what: &'static str,
        found: u16,
        expected: u16,
    },
    #[error("{what}: unknown FRI preset id {id}")]
    Preset { what: &'static str, id: u8 },
    #[error("{what}: written for FRI preset {found}, expected {expected}")]
    PresetMismatch {
        what: &'static str,
        found: FriPreset,
        expected: FriPreset,
    },
    #[error("{what}: body is corrupt or truncated at byte offset >= {offset}: {source}")]
    Body {
        what: &'static str,
        offset: usize,
        source: postcard::Error,
    },
    #[error("{what}: {extra} trailing bytes after the body")]
    Trailing { what: &'static str, extra: usize },
    #[error("verifying key does not match the AIRs given: {0}")]
    KeyMismatch(String),
    #[error("{what}: not in canonical form (it decodes, but this build writes it differently: some byte was changed)")]
    NotCanonical { what: &'static str },
    #[error("encoding failed: {0}")]
    Encode(postcard::Error),
}

/// The format version of what `magic` starts.
fn version_for(magic: [u8; 8]) -> u16 {
    if magic == VK_MAGIC {
        VK_FORMAT_VERSION
    } else {
        FORMAT_VERSION
    }
}

fn write<T: Serialize>(
    magic: [u8; 8],
    preset: FriPreset,
    value: &T,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(1 << 16);
    out.extend_from_slice(&magic);
    out.extend_from_slice(&version_for(magic).to_le_bytes());
    out.push(preset.id());
    postcard::to_extend(value, out).map_err(CodecError::Encode)
}

fn read<T: DeserializeOwned>(
    what: &'static str,
    magic: [u8; 8],
    bytes: &[u8],
) -> Result<(FriPreset, T), CodecError> {
    if bytes.len() < HEADER_LEN {
        return Err(CodecError::TooShort {
            what,
            len: bytes.len(),
        });
    }
    let mut found = [0u8; 8];
    found.copy_from_slice(&bytes[..8]);
    if found != magic {
        return Err(CodecError::BadMagic { what, found });
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != version_for(magic) {
        return Err(CodecError::Version {
            what,
            found: version,
            expected: version_for(magic),
        });
    }
    let preset = FriPreset::from_id(bytes[10]).ok_or(CodecError::Preset {
        what,
        id: bytes[10],
    })?;
    let body = &bytes[HEADER_LEN..];
    let (value, rest) =
        postcard::take_from_bytes::<T>(body).map_err(|source| CodecError::Body {
            what,
            offset: HEADER_LEN,
            source,
        })?;
    if !rest.is_empty() {
        return Err(CodecError::Trailing {
            what,
            extra: rest.len(),
        });
    }
    Ok((preset, value))
}

/// A proof's bytes. The preset is recorded so a reader can tell which config to use.
pub fn proof_to_bytes_with_preset(proof: &Proof, preset: FriPreset) -> Result<Vec<u8>, CodecError> {
    write(PROOF_MAGIC, preset, proof)
}

/// The length of [`proof_to_bytes_with_preset`]'s output, counted without encoding: the
/// size metrics and reports need, at no allocation.
pub fn proof_encoded_len(proof: &Proof) -> Result<usize, CodecError> {
    postcard::experimental::serialized_size(proof)
        .map(|body| HEADER_LEN + body)
        .map_err(CodecError::Encode)
}

/// Reads a proof written for `expected` preset.
pub fn proof_from_bytes(bytes: &[u8], expected: FriPreset) -> Result<Proof, CodecError> {
    let (preset, proof) = read::<Proof>("proof", PROOF_MAGIC, bytes)?;
    if preset != expected {
        return Err(CodecError::PresetMismatch {
            what: "proof",
            found: preset,
            expected,
        });
    }
    canonical("proof", bytes, &write(PROOF_MAGIC, preset, &proof)?)?;
    Ok(proof)
}

/// Every byte of a file must matter: the bytes must be exactly what this build writes for
/// the value they decode to (no overlong integer, no field the reader re-derives and
/// ignores).
fn canonical(what: &'static str, bytes: &[u8], rewritten: &[u8]) -> Result<(), CodecError> {
    if bytes == rewritten {
        Ok(())
    } else {
        Err(CodecError::NotCanonical { what })
    }
}

/// Reads the header of a proof file: its preset.
pub fn proof_preset(bytes: &[u8]) -> Result<FriPreset, CodecError> {
    read_header("proof", PROOF_MAGIC, bytes)
}

fn read_header(what: &'static str, magic: [u8; 8], bytes: &[u8]) -> Result<FriPreset, CodecError> {
    if bytes.len() < HEADER_LEN {
        return Err(CodecError::TooShort {
            what,
            len: bytes.len(),
        });
    }
    if bytes[..8] != magic {
        let mut found = [0u8; 8];
        found.copy_from_slice(&bytes[..8]);
        return Err(CodecError::BadMagic { what, found });
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != version_for(magic) {
        return Err(CodecError::Version {
            what,
            found: version,
            expected: version_for(magic),
        });
    }
    FriPreset::from_id(bytes[10]).ok_or(CodecError::Preset {
        what,
        id: bytes[10],
    })
}

impl VerifyingKey {
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodecError> {
        write(VK_MAGIC, self.data.preset, &self.data)
    }

    /// The key data the bytes describe, checked against nothing: for a reader that must
    /// learn the AIRs' shape (heights, public values) before it can build them and call
    /// [`VerifyingKey::from_bytes`], which does the checking.
    pub fn data_from_bytes(bytes: &[u8]) -> Result<VerifyingKeyData, CodecError> {
        let (preset, data) = read::<VerifyingKeyData>("verifying key", VK_MAGIC, bytes)?;
        if preset != data.preset {
            return Err(CodecError::PresetMismatch {
                what: "verifying key",
                found: data.preset,
                expected: preset,
            });
        }
        Ok(data)
    }

    /// Reads a verifying key for these AIRs. Everything derivable from the AIRs is
    /// re-derived and must match what the bytes say; the preprocessed commitment is
    /// taken from the bytes.
    pub fn from_bytes(bytes: &[u8], airs: Vec<Arc<dyn StarkAir>>) -> Result<Self, CodecError> {
        let mut data = Self::data_from_bytes(bytes)?;
        let preset = data.preset;
        let fresh = check_vk_matches_airs(&data, &airs).map_err(CodecError::KeyMismatch)?;
        // The constraint system the verifier evaluates is the AIRs', never the bytes'; and
        // the bytes must be exactly the AIRs' (a changed lookup detail is refused).
        data.airs = fresh;
        canonical("verifying key", bytes, &write(VK_MAGIC, preset, &data)?)?;
        Ok(VerifyingKey { data, airs })
    }
}

impl Proof {
    /// The proof's bytes (header + body); see [`proof_to_bytes_with_preset`].
    pub fn to_bytes(&self, preset: FriPreset) -> Result<Vec<u8>, CodecError> {
        proof_to_bytes_with_preset(self, preset)
    }

    /// Reads a proof written for `preset`; see [`proof_from_bytes`].
    pub fn from_bytes(bytes: &[u8], preset: FriPreset) -> Result<Self, CodecError> {
        proof_from_bytes(bytes, preset)
    }
}
