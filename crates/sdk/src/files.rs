//! Proof, proving-key and verifying-key files.
//!
//! Every file starts with the same 11-byte header: the magic `STARKSCP`, one byte for the
//! kind (1 proof, 2 proving key, 3 verifying key, 4 root proof, 5 segment proof, 6 node
//! proof, 7 tree verifying key) and a little-endian u16 format version;
//! the body is postcard. Field elements are stored canonical and checked on load; segment
//! proofs and the backend verifying key are nested in the backend's own codec
//! (`starkscope_stark_backend::codec`, with its own header and version).
//!
//! - proof: program name and hash, FRI preset, exit code, outputs, segment proofs.
//! - verifying key: program name and hash, log2 of the program chip's height, initial
//!   memory root, the backend key. The height fixes the shape of the program chip, whose
//!   constraints read only preprocessed columns; the preprocessed commitment (which binds
//!   the instructions) comes from the bytes.
//!
//! Every byte matters: a file must be exactly what this build writes for the value it
//! decodes to (re-encoding is compared), a proof's program name and hash must equal the
//! key's, and no field is stored that the reader ignores.
//! - tree verifying key (7): program name and hash, app and node presets, segment size,
//!   children per node, the program commitment, and per segment count (consecutive) the
//!   top node's shape and the root circuit's backend key.
//! - proving key: the backend has no proving-key encoding, so the file holds the program
//!   and its verifying key; loading re-runs keygen on the program and refuses the file if
//!   the derived verifying key differs from the stored one.
//!
//! Writes go through a temporary file and a rename: a failed write leaves no half file.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use starkscope_stark_backend::codec::{proof_from_bytes, proof_to_bytes_with_preset};
use starkscope_stark_backend::p3::{PrimeCharacteristicRing, PrimeField32};
use starkscope_stark_backend::{FriPreset, Proof, Val, VerifyingKey};
use starkscope_vm::field::from_canonical;
use starkscope_vm::prove::{chips, vm_keygen, VmVerifyingKey, DIGEST};
use starkscope_vm::{Instruction, Marker, MarkerAt, Opcode, Program, SourceLoc, SourceMap};

use crate::aggregate::{NodeFile, RootProof, SegmentFile};
use crate::error::FileError;
use crate::keys::{AppProvingKey, AppVerifyingKey, ProgramHash, TreeVerifyingKey};
use crate::proof::AppProof;
use crate::tree::Shape;

pub const MAGIC: [u8; 8] = *b"STARKSCP";
/// Bumped whenever a body layout changes (2: the verifying key stores the program chip's
/// log height instead of the program length, which only mattered up to a power of two).
pub const FORMAT_VERSION: u16 = 2;
const HEADER_LEN: usize = 8 + 1 + 2;
/// Longest program a verifying key may describe: bounds what a corrupt height allocates.
pub const MAX_PROGRAM_LEN: u64 = 1 << 22;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Proof,
    ProvingKey,
    VerifyingKey,
    RootProof,
    SegmentProof,
    NodeProof,
    TreeVerifyingKey,
}

impl FileKind {
    const ALL: [FileKind; 7] = [
        FileKind::Proof,
        FileKind::ProvingKey,
        FileKind::VerifyingKey,
        FileKind::RootProof,
        FileKind::SegmentProof,
        FileKind::NodeProof,
        FileKind::TreeVerifyingKey,
    ];

    fn id(self) -> u8 {
        match self {
            FileKind::Proof => 1,
            FileKind::ProvingKey => 2,
            FileKind::VerifyingKey => 3,
            FileKind::RootProof => 4,
            FileKind::SegmentProof => 5,
            FileKind::NodeProof => 6,
            FileKind::TreeVerifyingKey => 7,
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Proof => "proof",
            FileKind::ProvingKey => "proving key",
            FileKind::VerifyingKey => "verifying key",
            FileKind::RootProof => "root proof",
            FileKind::SegmentProof => "segment proof",
            FileKind::NodeProof => "aggregation node proof",
            FileKind::TreeVerifyingKey => "tree verifying key",
        })
    }
}

// ---- bodies -------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct ProofBody {
    program_name: String,
    program_hash: [u32; DIGEST],
    preset: u8,
    exit_code: u32,
    outputs: Vec<u32>,
    /// Each in the backend's proof codec.
    segments: Vec<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct RootBody {
    program_name: String,
    program_hash: [u32; DIGEST],
    app_preset: u8,
    node_preset: u8,
    segment_size: u64,
    /// The top node's shape, pre-order: `(false, c)` a leaf of `c` segments, `(true, n)`
    /// an internal node followed by its `n` children (flat: no recursion while decoding).
    top: Vec<(bool, u32)>,
    exit_code: u32,
    outputs: Vec<u32>,
    /// The root proof in the backend's proof codec.
    proof: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct SegmentBody {
    program_name: String,
    program_hash: [u32; DIGEST],
    preset: u8,
    segment_size: u64,
    /// In the backend's proof codec.
    proof: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct NodeBody {
    program_name: String,
    program_hash: [u32; DIGEST],
    app_preset: u8,
    node_preset: u8,
    segment_size: u64,
    /// The node's shape, flattened as in [`RootBody`].
    shape: Vec<(bool, u32)>,
    /// In the backend's proof codec.
    proof: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct VkBody {
    program_name: String,
    program_hash: [u32; DIGEST],
    program_log_height: u8,
    initial_root: [u32; DIGEST],
    preset: u8,
    /// The backend's verifying-key codec.
    vk: Vec<u8>,
}

/// A tree shape flattened pre-order (see [`RootBody::top`]).
type FlatShape = Vec<(bool, u32)>;

#[derive(Serialize, Deserialize)]
struct TreeVkBody {
    program_name: String,
    program_hash: [u32; DIGEST],
    app_preset: u8,
    node_preset: u8,
    segment_size: u64,
    children: u32,
    program_commitment: [u32; DIGEST],
    /// Per segment count, fewest first: the top node's shape (flattened as in
    /// [`RootBody`]) and the root circuit's key in the backend's verifying-key codec.
    roots: Vec<(FlatShape, Vec<u8>)>,
}

#[derive(Serialize, Deserialize)]
struct PkBody {
    program: ProgramBody,
    preset: u8,
    /// The backend's verifying-key codec, as keygen produced it.
    vk: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct ProgramBody {
    name: String,
    /// `[opcode, a, b, c]`, canonical.
    instructions: Vec<[u32; 4]>,
    data: Vec<(u32, u32)>,
    /// `(pc, Some(name))` for `ct_start`, `(pc, None)` for `ct_end`; skipped by jumps.
    markers: Vec<(u32, Option<String>, bool)>,
    /// File name and `(line, col)` per instruction.
    source: Option<(String, Vec<(u32, u32)>)>,
}

// ---- public API ---------------------------------------------------------------------

/// Encodes a proof file's bytes.
pub fn proof_to_bytes(proof: &AppProof) -> Result<Vec<u8>, FileError> {
    let segments = proof
        .segments
        .iter()
        .map(|p| segment_proof_bytes(p, proof.preset))
        .collect::<Result<Vec<_>, _>>()?;
    let body = ProofBody {
        program_name: proof.program_name.clone(),
        program_hash: proof.program_hash.0,
        preset: proof.preset.id(),
        exit_code: proof.exit_code,
        outputs: proof.outputs.iter().map(|v| v.as_canonical_u32()).collect(),
        segments,
    };
    encode(FileKind::Proof, &body)
}

/// One segment proof in the backend's codec (what the proof file nests).
pub fn segment_proof_bytes(proof: &Proof, preset: FriPreset) -> Result<Vec<u8>, FileError> {
    proof_to_bytes_with_preset(proof, preset).map_err(encode_error(FileKind::Proof))
}

/// The length of [`segment_proof_bytes`]'s output, counted without encoding.
pub fn segment_proof_len(proof: &Proof) -> Result<usize, FileError> {
    starkscope_stark_backend::codec::proof_encoded_len(proof).map_err(encode_error(FileKind::Proof))
}

/// Decodes a proof file's bytes; `path` names the file in errors.
pub fn proof_from_file_bytes(bytes: &[u8], path: &Path) -> Result<AppProof, FileError> {
    let kind = FileKind::Proof;
    let body: ProofBody = decode(kind, bytes, path)?;
    let preset = preset(body.preset, kind, path)?;
    let segments = body
        .segments
        .iter()
        .enumerate()
        .map(|(i, b)| {
            proof_from_bytes(b, preset)
                .map_err(|e| corrupt(path, kind, format!("segment {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppProof {
        program_name: body.program_name,
        program_hash: ProgramHash(body.program_hash),
        preset,
        exit_code: body.exit_code,
        outputs: field_elements(&body.outputs, "output", kind, path)?,
        segments,
    })
}

/// Encodes a root proof file's bytes.
pub fn root_to_bytes(root: &RootProof) -> Result<Vec<u8>, FileError> {
    let mut top = Vec::new();
    flatten_shape(&root.top, &mut top);
    let body = RootBody {
        program_name: root.program_name.clone(),
        program_hash: root.program_hash.0,
        app_preset: root.app_preset.id(),
        node_preset: root.node_preset.id(),
        segment_size: root.segment_size,
        top,
        exit_code: root.exit_code,
        outputs: root.outputs.iter().map(|v| v.as_canonical_u32()).collect(),
        proof: proof_to_bytes_with_preset(&root.proof, root.node_preset)
            .map_err(encode_error(FileKind::RootProof))?,
    };
    encode(FileKind::RootProof, &body)
}

/// Decodes a root proof file's bytes; `path` names the file in errors.
pub fn root_from_file_bytes(bytes: &[u8], path: &Path) -> Result<RootProof, FileError> {
    let kind = FileKind::RootProof;
    let body: RootBody = decode(kind, bytes, path)?;
    let app_preset = preset(body.app_preset, kind, path)?;
    let node_preset = preset(body.node_preset, kind, path)?;
    let top = unflatten_shape(&body.top)
        .ok_or_else(|| corrupt(path, kind, "the tree's shape is malformed".into()))?;
    let proof = proof_from_bytes(&body.proof, node_preset)
        .map_err(|e| corrupt(path, kind, format!("root proof: {e}")))?;
    Ok(RootProof {
        program_name: body.program_name,
        program_hash: ProgramHash(body.program_hash),
        app_preset,
        node_preset,
        segment_size: body.segment_size,
        top,
        proof,
        exit_code: body.exit_code,
        outputs: field_elements(&body.outputs, "output", kind, path)?,
    })
}

/// Encodes a segment proof file's bytes (one segment of a run, a leaf's child).
pub fn segment_file_to_bytes(f: &SegmentFile) -> Result<Vec<u8>, FileError> {
    let body = SegmentBody {
        program_name: f.program_name.clone(),
        program_hash: f.program_hash.0,
        preset: f.preset.id(),
        segment_size: f.segment_size,
        proof: proof_to_bytes_with_preset(&f.proof, f.preset)
            .map_err(encode_error(FileKind::SegmentProof))?,
    };
    encode(FileKind::SegmentProof, &body)
}

pub fn segment_file_from_bytes(bytes: &[u8], path: &Path) -> Result<SegmentFile, FileError> {
    let kind = FileKind::SegmentProof;
    let body: SegmentBody = decode(kind, bytes, path)?;
    let preset = preset(body.preset, kind, path)?;
    let proof = proof_from_bytes(&body.proof, preset)
        .map_err(|e| corrupt(path, kind, format!("segment proof: {e}")))?;
    Ok(SegmentFile {
        program_name: body.program_name,
        program_hash: ProgramHash(body.program_hash),
        preset,
        segment_size: body.segment_size,
        proof,
    })
}

/// Encodes an aggregation node's proof file.
pub fn node_file_to_bytes(f: &NodeFile) -> Result<Vec<u8>, FileError> {
    let mut shape = Vec::new();
    flatten_shape(&f.shape, &mut shape);
    let body = NodeBody {
        program_name: f.program_name.clone(),
        program_hash: f.program_hash.0,
        app_preset: f.app_preset.id(),
        node_preset: f.node_preset.id(),
        segment_size: f.segment_size,
        shape,
        proof: proof_to_bytes_with_preset(&f.proof, f.node_preset)
            .map_err(encode_error(FileKind::NodeProof))?,
    };
    encode(FileKind::NodeProof, &body)
}

pub fn node_file_from_bytes(bytes: &[u8], path: &Path) -> Result<NodeFile, FileError> {
    let kind = FileKind::NodeProof;
    let body: NodeBody = decode(kind, bytes, path)?;
    let app_preset = preset(body.app_preset, kind, path)?;
    let node_preset = preset(body.node_preset, kind, path)?;
    let shape = unflatten_shape(&body.shape)
        .ok_or_else(|| corrupt(path, kind, "the node's shape is malformed".into()))?;
    let proof = proof_from_bytes(&body.proof, node_preset)
        .map_err(|e| corrupt(path, kind, format!("node proof: {e}")))?;
    Ok(NodeFile {
        program_name: body.program_name,
        program_hash: ProgramHash(body.program_hash),
        app_preset,
        node_preset,
        segment_size: body.segment_size,
        shape,
        proof,
    })
}

fn flatten_shape(shape: &Shape, out: &mut Vec<(bool, u32)>) {
    match shape {
        Shape::Leaf(c) => out.push((false, *c as u32)),
        Shape::Internal(children) => {
            out.push((true, children.len() as u32));
            for c in children {
                flatten_shape(c, out);
            }
        }
    }
}

/// Deepest tree a root file may describe (a tree of 2^16 segments with 2 children per node
/// is 17 deep): bounds the decoder's recursion.
const MAX_TREE_DEPTH: usize = 64;

fn unflatten_shape(flat: &[(bool, u32)]) -> Option<Shape> {
    fn take(flat: &[(bool, u32)], at: &mut usize, depth: usize) -> Option<Shape> {
        let &(internal, n) = flat.get(*at)?;
        *at += 1;
        if n == 0 || depth > MAX_TREE_DEPTH {
            return None;
        }
        if !internal {
            return Some(Shape::Leaf(n as usize));
        }
        // Each child takes at least one entry: a count beyond the rest is malformed.
        if n as usize > flat.len() - *at {
            return None;
        }
        let children = (0..n)
            .map(|_| take(flat, at, depth + 1))
            .collect::<Option<Vec<_>>>()?;
        Some(Shape::Internal(children))
    }
    let mut at = 0;
    let shape = take(flat, &mut at, 0)?;
    (at == flat.len()).then_some(shape)
}

pub fn vk_to_bytes(vk: &AppVerifyingKey) -> Result<Vec<u8>, FileError> {
    let body = VkBody {
        program_name: vk.program_name.clone(),
        program_hash: vk.hash.0,
        program_log_height: vk.program_height.trailing_zeros() as u8,
        initial_root: vk.vm.initial_root.map(|v| v.as_canonical_u32()),
        preset: vk.preset().id(),
        vk: backend_vk_bytes(&vk.vm.vk, FileKind::VerifyingKey)?,
    };
    encode(FileKind::VerifyingKey, &body)
}

pub fn vk_from_file_bytes(bytes: &[u8], path: &Path) -> Result<AppVerifyingKey, FileError> {
    let kind = FileKind::VerifyingKey;
    let body: VkBody = decode(kind, bytes, path)?;
    let preset = preset(body.preset, kind, path)?;
    let max_log = MAX_PROGRAM_LEN.trailing_zeros() as u8;
    if !(1..=max_log).contains(&body.program_log_height) {
        return Err(corrupt(
            path,
            kind,
            format!(
                "program chip log height {} is not in 1..={max_log}",
                body.program_log_height
            ),
        ));
    }
    let program_height = 1usize << body.program_log_height;
    // Chips of a program of the same height: the program chip's constraints read only
    // preprocessed columns, whose commitment the key's bytes carry.
    let shape = Program {
        instructions: vec![
            Instruction::new(Opcode::Halt, Val::ZERO, Val::ZERO, Val::ZERO);
            program_height
        ],
        ..Program::default()
    };
    let inner =
        VerifyingKey::from_bytes(&body.vk, chips(&shape)).map_err(|source| FileError::Codec {
            path: path.to_path_buf(),
            kind,
            source,
        })?;
    if inner.data.preset != preset {
        return Err(corrupt(
            path,
            kind,
            format!(
                "header says FRI preset {}, the key inside says {}",
                preset.name(),
                inner.data.preset.name()
            ),
        ));
    }
    let root = field_elements(&body.initial_root, "initial root", kind, path)?;
    Ok(AppVerifyingKey {
        program_name: body.program_name,
        hash: ProgramHash(body.program_hash),
        program_height,
        vm: VmVerifyingKey {
            preset,
            vk: inner,
            initial_root: std::array::from_fn(|i| root[i]),
        },
    })
}

pub fn pk_to_bytes(pk: &AppProvingKey) -> Result<Vec<u8>, FileError> {
    let body = PkBody {
        program: ProgramBody::of(&pk.program),
        preset: pk.preset().id(),
        vk: backend_vk_bytes(&pk.vm.pk.vk, FileKind::ProvingKey)?,
    };
    encode(FileKind::ProvingKey, &body)
}

/// Decodes a proving-key file and re-derives the key (keygen on the stored program).
pub fn pk_from_file_bytes(bytes: &[u8], path: &Path) -> Result<AppProvingKey, FileError> {
    let kind = FileKind::ProvingKey;
    let body: PkBody = decode(kind, bytes, path)?;
    let preset = preset(body.preset, kind, path)?;
    let program = body.program.into_program(path)?;
    let vm = vm_keygen(&program, preset)
        .map_err(|e| corrupt(path, kind, format!("keygen on the stored program: {e}")))?;
    if backend_vk_bytes(&vm.pk.vk, kind)? != body.vk {
        return Err(FileError::KeyMismatch {
            path: path.to_path_buf(),
        });
    }
    Ok(AppProvingKey {
        hash: ProgramHash::of(&program),
        program,
        vm,
    })
}

/// Encodes the tree's verifying key.
pub fn tree_vk_to_bytes(key: &TreeVerifyingKey) -> Result<Vec<u8>, FileError> {
    let kind = FileKind::TreeVerifyingKey;
    let roots = key
        .roots
        .iter()
        .map(|(top, root)| {
            let mut flat = Vec::new();
            flatten_shape(top, &mut flat);
            Ok((flat, root.to_bytes().map_err(encode_error(kind))?))
        })
        .collect::<Result<_, FileError>>()?;
    let body = TreeVkBody {
        program_name: key.program_name.clone(),
        program_hash: key.hash.0,
        app_preset: key.app_preset.id(),
        node_preset: key.node_preset.id(),
        segment_size: key.segment_size,
        children: key.children as u32,
        program_commitment: key.program_commitment.map(|v| v.as_canonical_u32()),
        roots,
    };
    encode(kind, &body)
}

/// Decodes the tree's verifying key: every root key read back (and checked against the
/// circuit tables' AIRs), each for the tree [`plan`](crate::tree::plan) makes over
/// consecutive segment counts with the key's children per node.
pub fn tree_vk_from_file_bytes(bytes: &[u8], path: &Path) -> Result<TreeVerifyingKey, FileError> {
    let kind = FileKind::TreeVerifyingKey;
    let body: TreeVkBody = decode(kind, bytes, path)?;
    let app_preset = preset(body.app_preset, kind, path)?;
    let node_preset = preset(body.node_preset, kind, path)?;
    let children = body.children as usize;
    if children < 2 {
        return Err(corrupt(
            path,
            kind,
            format!("{children} children per node (at least 2)"),
        ));
    }
    crate::config::check_segment_size(body.segment_size)
        .map_err(|e| corrupt(path, kind, format!("segment size: {e}")))?;
    let commitment = field_elements(&body.program_commitment, "program commitment", kind, path)?;
    let first = match body.roots.first().map(|(flat, _)| unflatten_shape(flat)) {
        Some(Some(top)) => top.segments(),
        Some(None) => return Err(corrupt(path, kind, "root key 0: malformed shape".into())),
        None => return Err(corrupt(path, kind, "no root key".into())),
    };
    if first == 0 || first + body.roots.len() - 1 > crate::aggregate::MAX_VERIFIED_SEGMENTS {
        return Err(corrupt(
            path,
            kind,
            format!(
                "root keys for {first}..{} segments (at most {} segments)",
                first + body.roots.len(),
                crate::aggregate::MAX_VERIFIED_SEGMENTS
            ),
        ));
    }
    let mut roots = Vec::with_capacity(body.roots.len());
    for (i, (flat, key_bytes)) in body.roots.iter().enumerate() {
        let n = first + i;
        let planned = crate::tree::top_shape(n, children);
        if unflatten_shape(flat).as_ref() != Some(&planned) {
            return Err(corrupt(
                path,
                kind,
                format!(
                    "root key {i}: not the tree of {n} segments with {children} children per node"
                ),
            ));
        }
        let key = starkscope_recursion::CircuitVerifyingKey::from_bytes(key_bytes)
            .map_err(|e| corrupt(path, kind, format!("root key {i} ({n} segments): {e}")))?;
        if key.preset() != node_preset {
            return Err(corrupt(
                path,
                kind,
                format!(
                    "root key {i}: FRI preset {}, the header's node preset is {}",
                    key.preset().name(),
                    node_preset.name()
                ),
            ));
        }
        roots.push((planned, key));
    }
    Ok(TreeVerifyingKey {
        program_name: body.program_name,
        hash: ProgramHash(body.program_hash),
        app_preset,
        node_preset,
        segment_size: body.segment_size,
        children,
        program_commitment: std::array::from_fn(|i| commitment[i]),
        roots,
    })
}

/// The kind a file's header names, if it is a starkscope file of a known kind.
pub fn file_kind(bytes: &[u8]) -> Option<FileKind> {
    if bytes.len() < HEADER_LEN || bytes[..8] != MAGIC {
        return None;
    }
    FileKind::ALL.into_iter().find(|k| k.id() == bytes[8])
}

/// Reads the file at `path` as `kind` with `decode`.
pub fn read_file<T>(
    path: &Path,
    decode: impl FnOnce(&[u8], &Path) -> Result<T, FileError>,
) -> Result<T, FileError> {
    let bytes = std::fs::read(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes, path)
}

/// Writes `bytes` to `path` atomically (temporary sibling, then rename).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    starkscope_snapshot::write_atomic(path, bytes).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

// ---- helpers ------------------------------------------------------------------------

fn encode<T: Serialize>(kind: FileKind, body: &T) -> Result<Vec<u8>, FileError> {
    let mut out = Vec::with_capacity(1 << 16);
    out.extend_from_slice(&MAGIC);
    out.push(kind.id());
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    postcard::to_extend(body, out).map_err(encode_error(kind))
}

fn decode<T: DeserializeOwned + Serialize>(
    kind: FileKind,
    bytes: &[u8],
    path: &Path,
) -> Result<T, FileError> {
    if bytes.len() < HEADER_LEN || bytes[..8] != MAGIC {
        return Err(FileError::NotStarkscope {
            path: path.to_path_buf(),
            len: bytes.len(),
        });
    }
    let found = bytes[8];
    if found != kind.id() {
        let found = FileKind::ALL
            .into_iter()
            .find(|k| k.id() == found)
            .map_or_else(
                || format!("file of unknown kind {found}"),
                |k| k.to_string(),
            );
        return Err(FileError::WrongKind {
            path: path.to_path_buf(),
            expected: kind,
            found,
        });
    }
    let version = u16::from_le_bytes([bytes[9], bytes[10]]);
    if version != FORMAT_VERSION {
        return Err(FileError::Version {
            path: path.to_path_buf(),
            kind,
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let (body, rest) = postcard::take_from_bytes::<T>(&bytes[HEADER_LEN..])
        .map_err(|e| corrupt(path, kind, e.to_string()))?;
    if !rest.is_empty() {
        return Err(corrupt(
            path,
            kind,
            format!("{} trailing bytes", rest.len()),
        ));
    }
    if encode(kind, &body)? != bytes {
        return Err(corrupt(
            path,
            kind,
            "not in canonical form (it decodes, but this build writes it differently: some \
             byte was changed)"
                .into(),
        ));
    }
    Ok(body)
}

fn corrupt(path: &Path, kind: FileKind, detail: String) -> FileError {
    FileError::Corrupt {
        path: path.to_path_buf(),
        kind,
        detail,
    }
}

fn preset(id: u8, kind: FileKind, path: &Path) -> Result<FriPreset, FileError> {
    FriPreset::from_id(id).ok_or_else(|| corrupt(path, kind, format!("unknown FRI preset id {id}")))
}

fn field_element(v: u32, what: &str, kind: FileKind, path: &Path) -> Result<Val, FileError> {
    from_canonical(v as u64)
        .ok_or_else(|| corrupt(path, kind, format!("{what} {v} is not a field element")))
}

fn field_elements(
    vs: &[u32],
    what: &str,
    kind: FileKind,
    path: &Path,
) -> Result<Vec<Val>, FileError> {
    vs.iter()
        .map(|&v| field_element(v, what, kind, path))
        .collect()
}

/// An encoder's error, as a failure to write a file of `kind`.
fn encode_error<E: std::fmt::Display>(kind: FileKind) -> impl FnOnce(E) -> FileError {
    move |e| FileError::Encode {
        kind,
        detail: e.to_string(),
    }
}

fn backend_vk_bytes(vk: &VerifyingKey, kind: FileKind) -> Result<Vec<u8>, FileError> {
    vk.to_bytes().map_err(encode_error(kind))
}

impl ProgramBody {
    fn of(p: &Program) -> Self {
        ProgramBody {
            name: p.name.clone(),
            instructions: p
                .instructions
                .iter()
                .map(|i| {
                    let [a, b, c] = i.operands().map(|v| v.as_canonical_u32());
                    [i.opcode as u32, a, b, c]
                })
                .collect(),
            data: p
                .data
                .iter()
                .map(|(&a, v)| (a, v.as_canonical_u32()))
                .collect(),
            markers: p
                .markers
                .iter()
                .map(|m| {
                    let name = match &m.marker {
                        Marker::Start(n) => Some(n.clone()),
                        Marker::End => None,
                    };
                    (m.pc, name, m.skipped_by_jumps)
                })
                .collect(),
            source: p.source.as_ref().map(|s| {
                (
                    s.file.clone(),
                    s.locations.iter().map(|l| (l.line, l.col)).collect(),
                )
            }),
        }
    }

    fn into_program(self, path: &Path) -> Result<Program, FileError> {
        let kind = FileKind::ProvingKey;
        let mut instructions = Vec::with_capacity(self.instructions.len());
        for (pc, [op, a, b, c]) in self.instructions.into_iter().enumerate() {
            let opcode = u8::try_from(op)
                .ok()
                .and_then(Opcode::from_code)
                .ok_or_else(|| {
                    corrupt(path, kind, format!("instruction {pc}: unknown opcode {op}"))
                })?;
            let f = |v| field_element(v, "operand", kind, path);
            instructions.push(Instruction::new(opcode, f(a)?, f(b)?, f(c)?));
        }
        let data = self
            .data
            .into_iter()
            .map(|(a, v)| Ok((a, field_element(v, "data value", kind, path)?)))
            .collect::<Result<_, FileError>>()?;
        let markers = self
            .markers
            .into_iter()
            .map(|(pc, name, skipped)| {
                let mut m = MarkerAt::new(pc, name.map_or(Marker::End, Marker::Start));
                m.skipped_by_jumps = skipped;
                m
            })
            .collect();
        let source = self.source.map(|(file, locs)| SourceMap {
            file,
            locations: locs
                .into_iter()
                .map(|(line, col)| SourceLoc { line, col })
                .collect(),
        });
        let program = Program {
            name: self.name,
            instructions,
            data,
            markers,
            source,
        };
        program
            .validate()
            .map_err(|e| corrupt(path, kind, format!("stored program: {e}")))?;
        Ok(program)
    }
}

/// A path for messages about in-memory bytes.
pub fn unnamed(what: &str) -> PathBuf {
    PathBuf::from(format!("<{what}>"))
}

#[cfg(test)]
mod shape_tests {
    use super::*;

    #[test]
    fn shapes_flatten_and_back_and_malformed_ones_are_refused() {
        let s = Shape::Internal(vec![
            Shape::Internal(vec![Shape::Leaf(2), Shape::Leaf(2)]),
            Shape::Internal(vec![Shape::Leaf(1)]),
        ]);
        let mut flat = Vec::new();
        flatten_shape(&s, &mut flat);
        assert_eq!(unflatten_shape(&flat), Some(s));
        for bad in [
            vec![],
            vec![(false, 0)],
            vec![(true, 2), (false, 1)],
            vec![(true, 1), (false, 1), (false, 1)],
            vec![(true, u32::MAX), (false, 1)],
            vec![(true, 0)],
        ] {
            assert_eq!(unflatten_shape(&bad), None, "{bad:?}");
        }
        let deep: Vec<(bool, u32)> = (0..1000).map(|_| (true, 1)).chain([(false, 1)]).collect();
        assert_eq!(unflatten_shape(&deep), None, "past the depth bound");
    }
}
