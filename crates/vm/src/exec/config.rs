//! Execution limits and segmentation.

use super::error::ExecError;

/// Default cycles per segment: a power of two, so that a full segment's cpu trace needs
/// no padding.
pub const DEFAULT_SEGMENT_SIZE: u64 = 1 << 20;

/// Largest segment: a segment's timestamps (at most 32 accesses per cycle, starting at 1)
/// must stay below 2^31 so that they are field elements and fit a `u32`.
pub const MAX_SEGMENT_SIZE: u64 = 1 << 25;

/// The height of every segment proof's tallest trace at segment size `segment_size`: the
/// range16 table's fixed 2^16 rows, or the cpu padded to `segment_size.next_power_of_two()`
/// rows when that is taller. The recording executor ends a segment early rather than let
/// a chip (Merkle, Poseidon2, memory boundary) grow past it (docs/vm-proving.md, "Heights
/// and widths").
pub fn max_trace_height(segment_size: u64) -> usize {
    (segment_size.next_power_of_two() as usize).max(1 << 16)
}

/// Default limit on total cycles.
pub const DEFAULT_MAX_CYCLES: u64 = 1 << 32;

/// How to run a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecConfig {
    /// At most this many cycles per segment (1..=[`MAX_SEGMENT_SIZE`]).
    pub segment_size: u64,
    /// Trap with `MaxCyclesExceeded` rather than run more cycles than this.
    pub max_cycles: u64,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            segment_size: DEFAULT_SEGMENT_SIZE,
            max_cycles: DEFAULT_MAX_CYCLES,
        }
    }
}

impl ExecConfig {
    pub fn with_segment_size(mut self, n: u64) -> Self {
        self.segment_size = n;
        self
    }

    pub fn with_max_cycles(mut self, n: u64) -> Self {
        self.max_cycles = n;
        self
    }

    pub fn validate(&self) -> Result<(), ExecError> {
        if self.segment_size == 0 || self.segment_size > MAX_SEGMENT_SIZE {
            return Err(ExecError::Config(format!(
                "segment size {} must be in 1..={MAX_SEGMENT_SIZE}",
                self.segment_size
            )));
        }
        if self.max_cycles == 0 {
            return Err(ExecError::Config("max cycles must be at least 1".into()));
        }
        Ok(())
    }
}
