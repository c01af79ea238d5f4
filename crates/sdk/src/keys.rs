//! Application keys (the VM's keys plus which program they are for) and the aggregation
//! tree's verifying key.

use std::fmt;

use starkscope_stark_backend::p3::{PrimeCharacteristicRing, PrimeField32};
use starkscope_stark_backend::{FriPreset, Val};
use starkscope_vm::prove::{compress, Digest, VmProvingKey, VmVerifyingKey, DIGEST};
use starkscope_vm::Program;

/// A Poseidon2 digest of a program's instructions and initial memory (not its name,
/// markers or source positions, which do not change what it computes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProgramHash(pub [u32; DIGEST]);

impl ProgramHash {
    /// Absorbs `[len(instructions), len(data), (opcode, a, b, c)*, (addr, value)*]`,
    /// eight elements per Poseidon2 compression (a sponge with an 8-element rate).
    pub fn of(program: &Program) -> Self {
        let mut words: Vec<Val> = Vec::with_capacity(2 + 4 * program.instructions.len());
        words.push(Val::from_u32(program.instructions.len() as u32));
        words.push(Val::from_u32(program.data.len() as u32));
        for i in &program.instructions {
            words.push(Val::from_u32(i.opcode as u32));
            words.extend(i.operands());
        }
        for (&addr, &value) in &program.data {
            words.push(Val::from_u32(addr));
            words.push(value);
        }
        let mut state: Digest = [Val::ZERO; DIGEST];
        for chunk in words.chunks(DIGEST) {
            let mut input = [Val::ZERO; 16];
            input[..DIGEST].copy_from_slice(&state);
            input[DIGEST..DIGEST + chunk.len()].copy_from_slice(chunk);
            state = compress(input);
        }
        ProgramHash(state.map(|v| v.as_canonical_u32()))
    }
}

impl fmt::Display for ProgramHash {
    /// All 256 bits in hex: two different hashes never print alike.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in self.0 {
            write!(f, "{w:08x}")?;
        }
        Ok(())
    }
}

/// Everything needed to prove a program: the program itself and the VM's proving key.
pub struct AppProvingKey {
    pub program: Program,
    pub hash: ProgramHash,
    pub vm: VmProvingKey,
}

impl AppProvingKey {
    pub fn preset(&self) -> FriPreset {
        self.vm.config.preset()
    }

    pub fn verifying_key(&self) -> AppVerifyingKey {
        AppVerifyingKey {
            program_name: self.program.name.clone(),
            hash: self.hash,
            program_height: self
                .vm
                .pk
                .air_info(starkscope_vm::prove::air_id::PROGRAM)
                .preprocessed
                .as_ref()
                .map_or(2, |p| 1 << p.log_height),
            vm: self.vm.verifying_key(),
        }
    }
}

/// Everything needed to check a program's proofs, without the program: its name and hash
/// (a proof must carry both), the program chip's height (the chips' shape: instructions
/// padded to a power of two) and the VM's verifying key.
#[derive(Clone)]
pub struct AppVerifyingKey {
    pub program_name: String,
    pub hash: ProgramHash,
    pub program_height: usize,
    pub vm: VmVerifyingKey,
}

impl AppVerifyingKey {
    pub fn preset(&self) -> FriPreset {
        self.vm.preset
    }
}

impl fmt::Debug for AppProvingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppProvingKey")
            .field("program", &self.program.name)
            .field("hash", &self.hash.to_string())
            .field("preset", &self.preset().name())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AppVerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppVerifyingKey")
            .field("program", &self.program_name)
            .field("hash", &self.hash.to_string())
            .field("program_height", &self.program_height)
            .field("preset", &self.preset().name())
            .finish_non_exhaustive()
    }
}

/// The aggregation tree's verifying key for one program: checks root proofs without the
/// program and without building a circuit. A root circuit's key depends on the tree's shape
/// (its child's circuit is a constant of it, docs/aggregation.md), so the key holds one root
/// key per number of segments it was generated for.
#[derive(Clone, Debug)]
pub struct TreeVerifyingKey {
    pub program_name: String,
    pub hash: ProgramHash,
    /// Preset of the segment proofs under the tree.
    pub app_preset: FriPreset,
    /// Preset of every node proof, the root's too.
    pub node_preset: FriPreset,
    pub segment_size: u64,
    /// Children per node (`K`): with the segment count it fixes the tree's shape.
    pub children: usize,
    /// The segment key's preprocessed commitment, which the root states.
    pub program_commitment: Digest,
    /// One root circuit key per tree, by its top node's shape; the shapes of
    /// `plan(n, children)` for consecutive segment counts `n`, fewest first.
    pub roots: Vec<(
        crate::tree::Shape,
        starkscope_recursion::CircuitVerifyingKey,
    )>,
}

impl TreeVerifyingKey {
    /// The root key for a tree whose top node has this shape.
    pub fn root_key(
        &self,
        top: &crate::tree::Shape,
    ) -> Option<&starkscope_recursion::CircuitVerifyingKey> {
        self.roots.iter().find(|(s, _)| s == top).map(|(_, k)| k)
    }

    /// Segment counts the key has root keys for (consecutive).
    pub fn segments(&self) -> std::ops::RangeInclusive<usize> {
        let n = |i: usize| self.roots.get(i).map_or(0, |(s, _)| s.segments());
        n(0)..=n(self.roots.len().saturating_sub(1))
    }
}
