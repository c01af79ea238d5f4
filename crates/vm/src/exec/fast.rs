//! Fast execution: no records, just what the run counted.

use tracing::info_span;

use super::config::ExecConfig;
use super::core::{Machine, Stop, Untraced};
use super::decode::Decoded;
use super::error::{ExecError, Trap, TrapKind};
use super::stats::{merge_regions, OpcodeCounts, RegionCycles, SegmentStats};
use crate::field::F;
use crate::program::Program;

/// What a fast run counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionReport {
    /// The program's name.
    pub program: String,
    /// Cycles executed, `halt` included.
    pub cycles: u64,
    /// The `halt` operand.
    pub exit_code: u32,
    /// Values written by `out`, in order.
    pub outputs: Vec<F>,
    /// Instructions per opcode over the whole run.
    pub opcode_counts: OpcodeCounts,
    /// Inclusive cycles per region path over the whole run, in order of first appearance.
    pub regions: Vec<RegionCycles>,
    /// The same numbers per segment, as the recording executor would cut the run by cycles
    /// (the recording executor also ends a segment early on its trace-height budget, which
    /// only a segment touching tens of thousands of cells reaches: this split does not
    /// model it; docs/vm-proving.md, "Heights and widths").
    pub segments: Vec<SegmentStats>,
    /// The segment size the run was cut with.
    pub segment_size: u64,
}

/// Runs `program` on `inputs` (the hint stream) to `halt`.
///
/// Each segment runs in `info_span!("segment", segment = i)` around
/// `info_span!("execute")`; with `bench-metrics` its counters are emitted in that span.
pub fn execute(
    program: &Program,
    inputs: &[F],
    config: &ExecConfig,
) -> Result<ExecutionReport, ExecError> {
    config.validate()?;
    program.validate()?;
    let decoded = Decoded::new(program);
    let mut m = Machine::new(program, &decoded, inputs);
    let mut segments: Vec<SegmentStats> = Vec::new();
    let exit_code = loop {
        let index = segments.len();
        let segment_span = info_span!("segment", segment = index);
        let _entered = segment_span.enter();
        let limit = config.max_cycles.min(m.cycle + config.segment_size);
        let stop = info_span!("execute").in_scope(|| m.run(&decoded, &mut Untraced, limit));
        let stop = stop.map_err(|t| locate(program, t))?;
        let stats = m.take_segment_stats(index);
        #[cfg(feature = "bench-metrics")]
        super::metrics::emit_segment(&stats);
        segments.push(stats);
        match stop {
            Stop::Halted(code) => break code,
            Stop::Limit if m.cycle >= config.max_cycles => {
                let trap = Trap {
                    kind: TrapKind::MaxCyclesExceeded {
                        max: config.max_cycles,
                    },
                    pc: m.pc,
                    cycle: m.cycle,
                    location: None,
                };
                return Err(locate(program, trap));
            }
            Stop::Limit => {}
        }
    };
    let mut opcode_counts = OpcodeCounts::default();
    let mut regions = Vec::new();
    for s in &segments {
        opcode_counts.add(&s.opcode_counts);
        merge_regions(&mut regions, &s.regions);
    }
    Ok(ExecutionReport {
        program: program.name.clone(),
        cycles: m.cycle,
        exit_code,
        outputs: m.outputs,
        opcode_counts,
        regions,
        segments,
        segment_size: config.segment_size,
    })
}

/// Adds the source location of the trapping instruction (for a pc outside the program,
/// of the instruction that went there).
pub(crate) fn locate(program: &Program, mut trap: Trap) -> ExecError {
    trap.location = program.location(trap.pc);
    ExecError::Trap(trap)
}
