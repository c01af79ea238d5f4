//! Execution: a fast interpreter and a recording one that cuts the run into segments.

mod config;
mod core;
mod decode;
mod error;
mod fast;
#[cfg(feature = "bench-metrics")]
mod metrics;
mod record;
mod regions;
mod stats;

pub use config::{
    max_trace_height, ExecConfig, DEFAULT_MAX_CYCLES, DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE,
};
pub use error::{ExecError, Trap, TrapKind};
pub use fast::{execute, ExecutionReport};
pub use record::{
    record, AccessKind, BoundaryState, InstructionRecord, MemoryAccess, RecordingExecutor, Segment,
    TouchedCell,
};
pub use stats::{OpcodeCounts, RegionCycles, SegmentStats};
