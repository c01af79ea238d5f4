//! starkscope-vm: a field-native machine whose execution is cut into segments.
//!
//! - [`isa`]: opcodes, operands, encoding; memory of [`MEMORY_SIZE`] BabyBear cells.
//! - [`assemble`] / [`assemble_file`]: the `.sasm` text assembler (errors name
//!   `file:line:col`); [`ProgramBuilder`]: the same programs from Rust.
//! - [`execute`]: the fast interpreter (cycles, opcode counts, regions, outputs).
//! - [`RecordingExecutor`] / [`record`]: segments of at most N cycles with instruction
//!   records, timestamped memory accesses, touched cells and boundary states.
//!
//! With `bench-metrics`, each segment emits `total_cycles`, `frequency{opcode}` and
//! `cycles{region}` once, inside `info_span!("segment", segment = i)`; the execution
//! itself runs in `info_span!("execute")` (-> `execute_time_ms`).
//!
//! - [`prove`]: the chips, segment proofs with Merkle-memory continuations, and the
//!   check that segment proofs chain into one execution (docs/vm-proving.md).
//!
//! See docs/isa.md for the instruction set.

pub mod asm;
pub mod builder;
pub mod exec;
pub mod field;
pub mod isa;
pub mod program;
pub mod prove;

pub use asm::{assemble, assemble_bytes, assemble_file, AsmError, AsmErrorKind, LoadError};
pub use builder::{BuildError, IntoImm, Label, ProgramBuilder};
pub use exec::{
    execute, record, AccessKind, BoundaryState, ExecConfig, ExecError, ExecutionReport,
    InstructionRecord, MemoryAccess, OpcodeCounts, RecordingExecutor, RegionCycles, Segment,
    SegmentStats, TouchedCell, Trap, TrapKind, DEFAULT_MAX_CYCLES, DEFAULT_SEGMENT_SIZE,
    MAX_SEGMENT_SIZE,
};
pub use field::{EF, F};
pub use isa::{
    Instruction, Opcode, OperandKind, LT_BITS, MEMORY_BITS, MEMORY_SIZE, POSEIDON2_WIDTH,
};
pub use program::{
    Marker, MarkerAt, Program, ProgramError, ProgramErrorKind, SourceLoc, SourceMap,
};
