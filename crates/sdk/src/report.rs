//! What a prove call measured, as data: the numbers users otherwise dig out of logs.

use std::time::Duration;

use crate::config::Parallelism;

/// One segment's cost.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentReport {
    pub index: usize,
    pub cycles: u64,
    /// Executing the segment with records (the producer thread).
    pub execute: Duration,
    /// Generating every chip's trace.
    pub trace_gen: Duration,
    /// The STARK prover after trace generation.
    pub stark_prove: Duration,
    /// Main-trace cells of unpadded rows.
    pub main_cells_used: u64,
    /// All cells of unpadded rows (preprocessed, main, permutation).
    pub total_cells_used: u64,
    /// The segment proof's encoded size.
    pub proof_bytes: u64,
}

impl SegmentReport {
    /// execute + trace_gen + stark_prove: what `total_proof_time_ms` reports.
    pub fn total(&self) -> Duration {
        self.execute + self.trace_gen + self.stark_prove
    }
}

/// A whole prove call.
#[derive(Clone, Debug, PartialEq)]
pub struct ProveReport {
    pub program: String,
    pub cycles: u64,
    pub exit_code: u32,
    pub segments: Vec<SegmentReport>,
    /// Sum of the segment proofs' encoded sizes.
    pub proof_bytes: u64,
    /// Wall time of the prove call (execution and proofs overlap).
    pub wall: Duration,
    /// The process's peak resident set (Linux `VmHWM`), when known.
    pub peak_rss_bytes: Option<u64>,
    pub parallelism: Parallelism,
}

impl ProveReport {
    /// Sum over segments of execute, trace_gen, stark_prove and their total: the
    /// sequential cost, which `wall` undercuts by running segments in parallel.
    pub fn sums(&self) -> (Duration, Duration, Duration, Duration) {
        self.segments.iter().fold(
            (
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO,
            ),
            |(e, t, p, s), seg| {
                (
                    e + seg.execute,
                    t + seg.trace_gen,
                    p + seg.stark_prove,
                    s + seg.total(),
                )
            },
        )
    }

    pub fn main_cells_used(&self) -> u64 {
        self.segments.iter().map(|s| s.main_cells_used).sum()
    }
}

/// The process's peak resident set size (the kernel's `VmHWM`).
pub use starkscope_metrics::process::peak_rss_bytes;
