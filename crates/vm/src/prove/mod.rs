//! Proving segments: the chips, their trace generation, segment proofs and the chain check.
//!
//! A program's proving key holds eight chips (see docs/vm-proving.md):
//!
//! | id | chip | rows |
//! |---|---|---|
//! | 0 | `program` | the program, preprocessed; multiplicity = executions per pc |
//! | 1 | `cpu` | one per instruction |
//! | 2 | `range16` | 2^16, preprocessed |
//! | 3 | `ext_arith` | one per extension-field instruction |
//! | 4 | `poseidon2_mem` | one per `poseidon2` instruction |
//! | 5 | `poseidon2` | one per distinct permutation input |
//! | 6 | `memory_boundary` | one per touched cell |
//! | 7 | `merkle` | one per inner node on the touched cells' paths |
//!
//! Segments link through public values: start/end pc, the memory Merkle root before and
//! after, and the output digest before and after. [`verify_chain`] checks a sequence of
//! segment proofs as one execution of the program.

mod boundary;
pub mod buses;
mod cols;
mod cpu;
mod ext_chip;
#[cfg(feature = "forge")]
pub mod forge;
mod memory;
pub mod merkle;
mod poseidon2_chip;
mod poseidon2_mem;
mod program_chip;
mod range;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use starkscope_stark_backend::p3::{Matrix, PrimeCharacteristicRing, PrimeField32};
use starkscope_stark_backend::{
    keygen, prove, verify, AirInput, FriPreset, KeygenError, Proof, ProveError, ProvingKey,
    StarkAir, StarkConfig, Val, VerifyError, VerifyingKey,
};
use tracing::info_span;

pub use boundary::BoundaryChip;
pub use cpu::{cpu_height, pv as cpu_pv, CpuChip};
pub use ext_chip::ExtChip;
pub use memory::MAX_SEGMENT_TIMESTAMP;
pub use merkle::{pv as merkle_pv, Digest, MemoryTree, MerkleChip};
pub use poseidon2_chip::{compress, permute, Poseidon2Chip, DIGEST};
pub use poseidon2_mem::Poseidon2MemChip;
pub use program_chip::ProgramChip;
pub use range::RangeChip;

use crate::exec::Segment;
use crate::program::Program;

/// Chip ids in the key.
pub mod air_id {
    pub const PROGRAM: usize = 0;
    pub const CPU: usize = 1;
    pub const RANGE16: usize = 2;
    pub const EXT: usize = 3;
    pub const POSEIDON2_MEM: usize = 4;
    pub const POSEIDON2: usize = 5;
    pub const BOUNDARY: usize = 6;
    pub const MERKLE: usize = 7;
    pub const COUNT: usize = 8;
}

/// The chips of a program, in key order.
pub fn chips(program: &Program) -> Vec<Arc<dyn StarkAir>> {
    vec![
        Arc::new(ProgramChip::new(Arc::new(program.instructions.clone()))),
        Arc::new(CpuChip::default()),
        Arc::new(RangeChip),
        Arc::new(ExtChip::default()),
        Arc::new(Poseidon2MemChip::default()),
        Arc::new(Poseidon2Chip),
        Arc::new(BoundaryChip),
        Arc::new(MerkleChip::default()),
    ]
}

/// Each chip's trace log height range (key order) in segment proofs of `program` at segment
/// size `segment_size` (as cut by the recording executor) proven with
/// [`HeightLayout::FixedTallest`]: what a verifier circuit for
/// every segment proof of the program takes (`ChildSpec::with_ranges`). With `H` =
/// [`max_trace_height`](crate::exec::max_trace_height) and `T` = `segment_size` rounded up
/// to a power of two (at least 2):
/// - program: fixed (preprocessed), the program padded to a power of two;
/// - cpu: fixed at `T` when `T > 2^16`, else `2..=T` rows (one per cycle);
/// - range16: fixed at 2^16 (preprocessed);
/// - ext_arith, poseidon2_mem: `2..=T` rows (at most one per cycle), fixed at 2 if the
///   program has no such instruction;
/// - poseidon2, memory_boundary: `2..=H`, merkle `2..=H/2` (the executor's budget).
///
/// Every commitment's tallest trace is then a fixed chip's at `H` (range16 or the cpu).
/// docs/vm-proving.md, "Heights and widths", has the argument.
pub fn segment_height_ranges(
    program: &Program,
    segment_size: u64,
) -> Vec<std::ops::RangeInclusive<usize>> {
    let log = |n: usize| n.trailing_zeros() as usize;
    let t = log(segment_size.next_power_of_two().max(2) as usize);
    let h = log(crate::exec::max_trace_height(segment_size));
    let has =
        |f: &dyn Fn(crate::isa::Opcode) -> bool| program.instructions.iter().any(|i| f(i.opcode));
    let per_cycle = |used: bool| if used { 1..=t } else { 1..=1 };
    let program_log = log(ProgramChip::new(Arc::new(program.instructions.clone())).height());
    let cpu = if t > log(range::RANGE16_SIZE) {
        t..=t
    } else {
        1..=t
    };
    let r16 = log(range::RANGE16_SIZE);
    vec![
        program_log..=program_log,
        cpu,
        r16..=r16,
        per_cycle(has(&cpu::is_ext)),
        per_cycle(has(&|op| op == crate::isa::Opcode::Poseidon2)),
        1..=h,
        1..=h,
        1..=h - 1,
    ]
}

/// Columns each chip reads, in key order: its committed main width less the zero columns
/// that pad it (`cols::padded`; docs/vm-proving.md, "Heights and widths").
pub(crate) fn used_widths() -> [usize; air_id::COUNT] {
    [
        1,
        CpuChip::default().used_width(),
        1,
        ExtChip::default().used_width(),
        Poseidon2MemChip::default().used_width(),
        poseidon2_chip::P2_COLS + 2,
        boundary::USED,
        MerkleChip::default().used_width(),
    ]
}

/// The output digest before any output: all zeros.
pub const EMPTY_DIGEST: Digest = [Val::ZERO; DIGEST];

/// Folds public outputs into the digest the proofs expose.
pub fn outputs_digest(start: Digest, outputs: &[Val]) -> Digest {
    outputs.iter().fold(start, |d, &v| {
        let mut input = [Val::ZERO; 16];
        input[..DIGEST].copy_from_slice(&d);
        input[DIGEST] = v;
        compress(input)
    })
}

/// How tall a segment's traces are made: a choice of the prover alone (the native verifier
/// accepts either; the keys are the same).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeightLayout {
    /// Every chip at the power of two its rows need: the cheapest proof of each segment.
    /// The tallest trace then varies from segment to segment (a short run of a small
    /// program has a small cpu), which a verifier circuit cannot follow.
    #[default]
    Compact,
    /// The tallest trace is a constant of the key and segment size (the cpu padded to the
    /// segment size when that is above 2^16), as one verifier circuit for every segment
    /// proof of a program needs ([`segment_height_ranges`]). Only a run's last segment
    /// pays, when it is short, but a run shorter than one segment pays in full: a
    /// 5000-cycle program at the default segment size 2^20 proves 2^20 cpu rows.
    FixedTallest,
}

/// Everything needed to prove segments of one program.
pub struct VmProvingKey {
    pub config: StarkConfig,
    pub pk: ProvingKey,
    /// Memory root before the program runs (its initial data).
    pub initial_root: Digest,
    /// Instructions in the program (the program chip's used rows).
    pub program_len: usize,
    /// How tall the traces of its segment proofs are ([`HeightLayout::Compact`] unless
    /// [`with_layout`](Self::with_layout) says otherwise).
    pub layout: HeightLayout,
}

/// Everything needed to check a program's segment proofs.
#[derive(Clone)]
pub struct VmVerifyingKey {
    pub preset: FriPreset,
    pub vk: VerifyingKey,
    pub initial_root: Digest,
}

/// Key generation for a program.
pub fn vm_keygen(program: &Program, preset: FriPreset) -> Result<VmProvingKey, KeygenError> {
    let config = StarkConfig::new(preset);
    let pk = keygen(&config, chips(program))?;
    let initial_root = MemoryTree::new(program.data.iter().map(|(&a, &v)| (a, v))).root();
    Ok(VmProvingKey {
        config,
        pk,
        initial_root,
        program_len: program.instructions.len(),
        layout: HeightLayout::Compact,
    })
}

impl VmProvingKey {
    /// The same key, proving with `layout`.
    pub fn with_layout(mut self, layout: HeightLayout) -> Self {
        self.layout = layout;
        self
    }

    pub fn verifying_key(&self) -> VmVerifyingKey {
        VmVerifyingKey {
            preset: self.config.preset(),
            vk: self.pk.vk.clone(),
            initial_root: self.initial_root,
        }
    }
}

/// Why a segment could not be proven.
#[derive(Debug, thiserror::Error)]
pub enum SegmentProveError {
    #[error("segment {index} uses timestamps up to {end_ts}, past the memory-ordering bound {MAX_SEGMENT_TIMESTAMP}; use a smaller segment size")]
    TooManyAccesses { index: usize, end_ts: u32 },
    #[error("segment {index}: {source}")]
    Prove { index: usize, source: ProveError },
}

/// The state carried from one segment to the next during proving: the memory tree and the
/// output digest. Advancing it is sequential and cheap; the proofs can then run in parallel.
pub struct Continuation {
    tree: MemoryTree,
    digest: Digest,
}

impl Continuation {
    /// The state before the first segment of `program`.
    pub fn start(program: &Program) -> Self {
        Self {
            tree: MemoryTree::new(program.data.iter().map(|(&a, &v)| (a, v))),
            digest: EMPTY_DIGEST,
        }
    }

    /// Takes the segment's Merkle rows and boundary digests and advances the state past it.
    /// `execute_time` is how long executing the segment took: it is part of the segment's
    /// `total_proof_time_ms`. Call it inside the segment's span: the Merkle chip's rows are
    /// built here and timed as part of the segment's `trace_gen`.
    pub fn advance(&mut self, segment: Segment, execute_time: Duration) -> PreparedSegment {
        let mut requests = poseidon2_chip::Poseidon2Requests::default();
        let started = Instant::now();
        let (merkle, merkle_pv, merkle_rows) = info_span!("trace_gen").in_scope(|| {
            info_span!("chip_trace_gen", air_name = "merkle").in_scope(|| {
                MerkleChip::default().generate(&segment, &mut self.tree, &mut requests)
            })
        });
        let merkle_time = started.elapsed();
        let digest_before = self.digest;
        self.digest = outputs_digest(self.digest, &segment.outputs);
        PreparedSegment {
            segment,
            execute_time,
            merkle_time,
            digest_before,
            merkle: AirInput::new(merkle, merkle_pv),
            merkle_rows,
            requests,
        }
    }
}

/// A segment ready to be proven on its own.
pub struct PreparedSegment {
    segment: Segment,
    execute_time: Duration,
    /// Merkle rows are built here, sequentially: part of the segment's trace generation.
    merkle_time: Duration,
    digest_before: Digest,
    merkle: AirInput,
    merkle_rows: usize,
    requests: poseidon2_chip::Poseidon2Requests,
}

/// A segment's proof, with its time split.
pub struct SegmentProof {
    pub index: usize,
    pub proof: Proof,
    pub execute: Duration,
    pub trace_gen: Duration,
    pub stark_prove: Duration,
    /// Main-trace cells of unpadded rows, over every chip.
    pub main_cells_used: u64,
    /// All cells (preprocessed, main, permutation) of unpadded rows.
    pub total_cells_used: u64,
}

impl PreparedSegment {
    pub fn index(&self) -> usize {
        self.segment.index
    }

    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Generates every chip's trace and proves the segment. Run it inside the segment's
    /// span: trace generation is timed as `trace_gen` (each chip in its own
    /// `chip_trace_gen{air_name}` span), the backend's phases inside
    /// `stark_prove_excluding_trace`; with `bench-metrics` it also emits `main_cells_used`,
    /// `total_cells_used` and `total_proof_time_ms` (execute + trace_gen + prove).
    pub fn prove(self, pk: &VmProvingKey) -> Result<SegmentProof, SegmentProveError> {
        let index = self.segment.index;
        let end_ts = self.segment.end_timestamp();
        if end_ts >= MAX_SEGMENT_TIMESTAMP {
            return Err(SegmentProveError::TooManyAccesses { index, end_ts });
        }
        let self_execute = self.execute_time;
        let self_merkle = self.merkle_time;
        let started = Instant::now();
        let (inputs, used_rows) = info_span!("trace_gen").in_scope(|| self.generate(pk));
        let trace_gen = self_merkle + started.elapsed();

        // Used rows times the columns the chips read (the zero columns that pad the widths
        // are not counted: they are committed, not used).
        let mut main_cells_used = 0u64;
        let mut total_cells_used = 0u64;
        let widths = used_widths();
        for (id, (input, &rows)) in inputs.iter().zip(&used_rows).enumerate() {
            let info = pk.pk.air_info(id);
            debug_assert!(widths[id] <= input.trace.width());
            let main = widths[id] as u64;
            main_cells_used += rows as u64 * main;
            total_cells_used += rows as u64
                * (main + info.preprocessed_width() as u64 + info.permutation_width_base() as u64);
        }

        let started = Instant::now();
        let proof = prove(&pk.config, &pk.pk, inputs)
            .map_err(|source| SegmentProveError::Prove { index, source })?;
        let stark_prove = started.elapsed();

        #[cfg(feature = "bench-metrics")]
        {
            use starkscope_metrics::metrics::counter;
            use starkscope_metrics::names;
            counter!(names::MAIN_CELLS_USED).absolute(main_cells_used);
            counter!(names::TOTAL_CELLS_USED).absolute(total_cells_used);
            let total = self_execute + trace_gen + stark_prove;
            starkscope_metrics::metrics::gauge!(names::TOTAL_PROOF_TIME_MS)
                .set(total.as_nanos() as f64 / 1e6);
        }
        Ok(SegmentProof {
            index,
            proof,
            execute: self_execute,
            trace_gen,
            stark_prove,
            main_cells_used,
            total_cells_used,
        })
    }

    pub(crate) fn generate(self, pk: &VmProvingKey) -> (Vec<AirInput>, Vec<usize>) {
        let PreparedSegment {
            segment,
            digest_before,
            merkle,
            merkle_rows,
            mut requests,
            ..
        } = self;
        let mut range = range::RangeCounts::default();
        let program_height = pk
            .pk
            .air_info(air_id::PROGRAM)
            .preprocessed
            .as_ref()
            .map_or(2, |p| 1usize << p.log_height);
        let mut executions = vec![0u32; program_height];
        // One span per chip: its own `air_name` labels `chip_trace_gen_time_ms`.
        let chip = |name: &'static str| info_span!("chip_trace_gen", air_name = name);

        let cpu = chip("cpu").in_scope(|| {
            CpuChip::default().generate(
                &segment,
                digest_before,
                &mut range,
                &mut requests,
                &mut executions,
                pk.layout,
            )
        });
        let (ext, ext_rows) =
            chip("ext_arith").in_scope(|| ExtChip::default().generate(&segment, &mut range));
        let (p2mem, p2mem_rows) = chip("poseidon2_mem")
            .in_scope(|| Poseidon2MemChip::default().generate(&segment, &mut range, &mut requests));
        let (boundary, boundary_rows) =
            chip("memory_boundary").in_scope(|| BoundaryChip.generate(&segment));
        let p2 = chip("poseidon2").in_scope(|| Poseidon2Chip.generate(&requests));
        let program_len = pk.program_len;
        let program = chip("program").in_scope(|| program_chip::main_trace(&executions));
        let range_trace = chip("range16").in_scope(|| range.trace());

        let inputs = vec![
            AirInput::new(program, vec![]),
            AirInput::new(cpu.trace, cpu.public_values),
            AirInput::new(range_trace, vec![]),
            AirInput::new(ext, vec![]),
            AirInput::new(p2mem, vec![]),
            AirInput::new(p2, vec![]),
            AirInput::new(boundary, vec![]),
            merkle,
        ];
        let used = vec![
            program_len,
            cpu.used_rows,
            range::RANGE16_SIZE,
            ext_rows,
            p2mem_rows,
            requests.rows(),
            boundary_rows,
            merkle_rows,
        ];
        (inputs, used)
    }
}

/// A segment's public values, read back from its proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentPublic {
    pub index: u32,
    pub start_pc: u32,
    pub end_pc: u32,
    pub halted: bool,
    pub exit_code: u32,
    pub digest_before: Digest,
    pub digest_after: Digest,
    pub root_before: Digest,
    pub root_after: Digest,
}

impl SegmentPublic {
    /// Reads the public values of a proof with this crate's chip layout.
    pub fn of(proof: &Proof) -> Option<Self> {
        let cpu = proof.public_values(air_id::CPU)?;
        let merkle = proof.public_values(air_id::MERKLE)?;
        if cpu.len() != cpu_pv::COUNT || merkle.len() != merkle::pv::COUNT {
            return None;
        }
        let digest = |s: &[Val], at: usize| -> Digest { std::array::from_fn(|i| s[at + i]) };
        let u = |v: Val| v.as_canonical_u32();
        Some(SegmentPublic {
            index: u(cpu[cpu_pv::SEGMENT_INDEX]),
            start_pc: u(cpu[cpu_pv::START_PC]),
            end_pc: u(cpu[cpu_pv::END_PC]),
            halted: cpu[cpu_pv::HALTED] == Val::ONE,
            exit_code: u(cpu[cpu_pv::EXIT_CODE]),
            digest_before: digest(cpu, cpu_pv::DIGEST_BEFORE),
            digest_after: digest(cpu, cpu_pv::DIGEST_AFTER),
            root_before: digest(merkle, merkle::pv::ROOT_BEFORE),
            root_after: digest(merkle, merkle::pv::ROOT_AFTER),
        })
    }
}

/// Why a sequence of segment proofs is not one execution of the program.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("no segment proofs")]
    Empty,
    #[error("segment {position}: proof does not verify: {source}")]
    Proof {
        position: usize,
        source: VerifyError,
    },
    #[error("segment {position}: public values missing or malformed")]
    PublicValues { position: usize },
    #[error("segment at position {position} claims index {claimed}: segments are missing, extra or out of order")]
    Index { position: usize, claimed: u32 },
    #[error("segment 0 starts at pc {pc}, not at the program's entry 0")]
    Entry { pc: u32 },
    #[error("segment 0 starts from a memory root that is not the program's initial memory")]
    InitialMemory,
    #[error("segment 0 starts with a non-empty output digest")]
    InitialOutputs,
    #[error("segments {prev} and {next} do not link: {what} differ")]
    Link {
        prev: usize,
        next: usize,
        what: &'static str,
    },
    #[error("segment {position} halts before the last segment")]
    EarlyHalt { position: usize },
    #[error("the last segment does not halt: the execution is incomplete")]
    NoHalt,
    #[error("the claimed public outputs do not match the proven output digest")]
    Outputs,
}

/// What a verified chain proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSummary {
    pub segments: usize,
    pub exit_code: u32,
    pub outputs_digest: Digest,
    pub final_root: Digest,
}

/// Verifies every segment proof and that they chain into one complete execution of the
/// program from its initial state to `halt`; with `outputs`, also that they are the
/// program's public outputs.
pub fn verify_chain(
    vk: &VmVerifyingKey,
    proofs: &[Proof],
    outputs: Option<&[Val]>,
) -> Result<ChainSummary, ChainError> {
    let config = StarkConfig::new(vk.preset);
    let mut publics = Vec::with_capacity(proofs.len());
    for (position, proof) in proofs.iter().enumerate() {
        verify(&config, &vk.vk, proof).map_err(|source| ChainError::Proof { position, source })?;
        let p = SegmentPublic::of(proof).ok_or(ChainError::PublicValues { position })?;
        if p.index as usize != position {
            return Err(ChainError::Index {
                position,
                claimed: p.index,
            });
        }
        publics.push(p);
    }
    let first = publics.first().ok_or(ChainError::Empty)?;
    if first.start_pc != 0 {
        return Err(ChainError::Entry { pc: first.start_pc });
    }
    if first.root_before != vk.initial_root {
        return Err(ChainError::InitialMemory);
    }
    if first.digest_before != EMPTY_DIGEST {
        return Err(ChainError::InitialOutputs);
    }
    for (i, w) in publics.windows(2).enumerate() {
        let link = |what| ChainError::Link {
            prev: i,
            next: i + 1,
            what,
        };
        if w[0].halted {
            return Err(ChainError::EarlyHalt { position: i });
        }
        if w[0].end_pc != w[1].start_pc {
            return Err(link("pc"));
        }
        if w[0].root_after != w[1].root_before {
            return Err(link("memory roots"));
        }
        if w[0].digest_after != w[1].digest_before {
            return Err(link("output digests"));
        }
    }
    let last = publics.last().expect("non-empty");
    if !last.halted {
        return Err(ChainError::NoHalt);
    }
    if let Some(outputs) = outputs {
        if outputs_digest(EMPTY_DIGEST, outputs) != last.digest_after {
            return Err(ChainError::Outputs);
        }
    }
    Ok(ChainSummary {
        segments: publics.len(),
        exit_code: last.exit_code,
        outputs_digest: last.digest_after,
        final_root: last.root_after,
    })
}
