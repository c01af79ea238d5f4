//! What a prover run may use: segment size, FRI preset, threads, memory.

use starkscope_stark_backend::FriPreset;
use starkscope_vm::{ExecConfig, DEFAULT_MAX_CYCLES, DEFAULT_SEGMENT_SIZE};

use crate::error::SdkError;

/// Default memory budget for segments alive at once: 4 GiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 4 << 30;

/// The smallest segment a run may ask for: tinier segments cost far more in records,
/// keys and proofs than they save (one cycle per segment once took 951 MB on a long
/// program).
pub const MIN_SEGMENT_SIZE: u64 = 16;

/// Checks a segment size against [`MIN_SEGMENT_SIZE`] and the executor's maximum.
pub fn check_segment_size(n: u64) -> Result<(), SdkError> {
    let max = starkscope_vm::MAX_SEGMENT_SIZE;
    if !(MIN_SEGMENT_SIZE..=max).contains(&n) {
        return Err(SdkError::Config(format!(
            "segment size {n} is out of range {MIN_SEGMENT_SIZE}..={max}"
        )));
    }
    Ok(())
}

/// The thread cap is this many threads per available core.
pub const THREADS_PER_CORE: usize = 4;

/// The most proving threads a config may ask for: [`THREADS_PER_CORE`] per available core.
/// (Thousands of threads only add scheduling and stacks: `--threads 100000` once ran out of
/// memory without proving anything.)
pub fn max_threads() -> usize {
    THREADS_PER_CORE * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How to prove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdkConfig {
    /// At most this many cycles per segment (one segment = one proof).
    pub segment_size: u64,
    /// FRI parameters of every segment proof.
    pub fri: FriPreset,
    /// Threads of the proving pool; 0 = one per available core; at most [`max_threads`].
    pub threads: usize,
    /// Bytes that segments alive at once (queued, executing or being proven) may take, by
    /// [`segment_bytes_estimate`]. At least one segment is always allowed.
    pub memory_budget: u64,
    /// Refuse to run more cycles than this without `halt`.
    pub max_cycles: u64,
    /// Let [`crate::Sdk::verify`] accept proofs under a preset below
    /// [`starkscope_stark_backend::MIN_SECURE_BITS`] conjectured bits (`testing`). Proving
    /// with such a preset is always allowed; trusting its proofs is the verifier's choice.
    pub allow_insecure: bool,
}

impl Default for SdkConfig {
    fn default() -> Self {
        SdkConfig {
            segment_size: DEFAULT_SEGMENT_SIZE,
            fri: FriPreset::Fast,
            threads: 0,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            max_cycles: DEFAULT_MAX_CYCLES,
            allow_insecure: false,
        }
    }
}

impl SdkConfig {
    pub fn with_segment_size(mut self, n: u64) -> Self {
        self.segment_size = n;
        self
    }
    pub fn with_fri(mut self, fri: FriPreset) -> Self {
        self.fri = fri;
        self
    }
    pub fn with_threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = bytes;
        self
    }
    pub fn with_max_cycles(mut self, n: u64) -> Self {
        self.max_cycles = n;
        self
    }
    pub fn with_allow_insecure(mut self, allow: bool) -> Self {
        self.allow_insecure = allow;
        self
    }

    /// The executor's view of this config.
    pub fn exec(&self) -> ExecConfig {
        ExecConfig {
            segment_size: self.segment_size,
            max_cycles: self.max_cycles,
        }
    }

    /// Checks the values and resolves `threads = 0`.
    pub(crate) fn validate(&self) -> Result<(), SdkError> {
        check_segment_size(self.segment_size)?;
        let cap = max_threads();
        if self.threads > cap {
            return Err(SdkError::Config(format!(
                "threads {} is out of range 0..={cap} ({THREADS_PER_CORE} per core on this \
                 machine: threads beyond the cores only slow proving down)",
                self.threads
            )));
        }
        self.exec()
            .validate()
            .map_err(|e| SdkError::Config(e.to_string()))?;
        if self.memory_budget == 0 {
            return Err(SdkError::Config(format!(
                "memory budget 0 is out of range 1..={}",
                u64::MAX
            )));
        }
        Ok(())
    }

    pub(crate) fn resolved_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// Upper estimate of the bytes one segment of `segment_size` cycles takes while it is
/// alive, from recording to the end of its proof, per cycle:
///
/// - records: one `InstructionRecord` and about 3 `MemoryAccess`es, with the slack of
///   vector doubling: 200 bytes;
/// - the cpu chip's trace (one row per cycle): 84 main + 56 permutation base columns of 4
///   bytes = 560 bytes, counted once as the trace and 3 x 2^b times for its low-degree
///   extension at blowup 2^b, the Merkle tree over it and its share of the quotient;
///
/// plus a fixed 64 MiB for the 2^16-row range-check chip and the other chips' rows.
/// Measured (fibonacci, 2^18-cycle segments, FRI fast, 2 provers): a process peak of
/// 1.1 GiB, i.e. at most ~0.5 GiB per live segment against 1.1 GiB estimated: the
/// estimate is a conservative budget (2x), not a measurement; programs heavy in
/// `poseidon2` or extension-field instructions fill more chips per cycle.
pub fn segment_bytes_estimate(segment_size: u64, fri: FriPreset) -> u64 {
    let per_cycle = 200 + 560 * (1 + 3 * (1u64 << fri.log_blowup()));
    segment_size
        .saturating_mul(per_cycle)
        .saturating_add(64 << 20)
}

/// How many segments may be alive at once, and how they are split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parallelism {
    /// Threads in the rayon pool (segment proofs and their inner parallelism).
    pub pool_threads: usize,
    /// Segment proofs running at once.
    pub provers: usize,
    /// Executed segments waiting for a prover (the channel's capacity).
    pub queue: usize,
    /// Segments alive at once at most: provers + queue + the one being executed.
    pub max_alive: usize,
    /// [`segment_bytes_estimate`] for this config.
    pub segment_bytes: u64,
}

impl Parallelism {
    /// Splits the memory budget: as many provers as threads allow while they and the
    /// segment being executed fit, then a queue of at most as many again.
    pub fn plan(config: &SdkConfig) -> Self {
        let threads = config.resolved_threads();
        let segment_bytes = segment_bytes_estimate(config.segment_size, config.fri);
        let slots = (config.memory_budget / segment_bytes.max(1)).max(2) as usize;
        // One slot is the segment the executor is building.
        let provers = threads.min(slots - 1).max(1);
        let queue = (slots - 1 - provers).min(provers);
        Parallelism {
            pool_threads: threads,
            provers,
            queue,
            max_alive: provers + queue + 1,
            segment_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_bounds_alive_segments() {
        let base = SdkConfig::default()
            .with_segment_size(1 << 20)
            .with_threads(8);
        let seg = segment_bytes_estimate(1 << 20, FriPreset::Fast);
        for slots in 1..20u64 {
            let p = Parallelism::plan(&base.with_memory_budget(seg * slots));
            assert!(p.provers >= 1 && p.provers <= 8, "{p:?}");
            assert!(p.queue <= p.provers, "{p:?}");
            assert_eq!(p.max_alive, p.provers + p.queue + 1);
            // Within the budget, except that one prover and one executing segment are the
            // floor.
            assert!(p.max_alive as u64 <= slots.max(2), "{slots}: {p:?}");
        }
        let roomy = Parallelism::plan(&base.with_memory_budget(u64::MAX));
        assert_eq!((roomy.provers, roomy.queue), (8, 8));
    }

    #[test]
    fn bigger_segments_and_blowup_cost_more() {
        let a = segment_bytes_estimate(1 << 16, FriPreset::Fast);
        let b = segment_bytes_estimate(1 << 20, FriPreset::Fast);
        let c = segment_bytes_estimate(1 << 20, FriPreset::Recursion);
        assert!(a < b && b < c);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(SdkConfig::default()
            .with_segment_size(0)
            .validate()
            .is_err());
        assert!(SdkConfig::default().with_max_cycles(0).validate().is_err());
        assert!(SdkConfig::default()
            .with_memory_budget(0)
            .validate()
            .is_err());
        assert!(SdkConfig::default().validate().is_ok());
    }
}
