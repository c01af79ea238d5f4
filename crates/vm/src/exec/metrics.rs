//! Per-segment metrics, emitted once per segment from the counts execution kept.
//!
//! Call inside the segment's span: `group` / `segment` labels come from enclosing spans.

use starkscope_metrics::metrics::counter;
use starkscope_metrics::{labels, names};

use super::stats::SegmentStats;

pub(crate) fn emit_segment(stats: &SegmentStats) {
    counter!(names::TOTAL_CYCLES).absolute(stats.cycles);
    for (op, n) in stats.opcode_counts.nonzero() {
        counter!(names::FREQUENCY, labels::OPCODE => op.mnemonic()).absolute(n);
    }
    for r in &stats.regions {
        counter!(names::CYCLES, labels::REGION => r.path.clone()).absolute(r.cycles);
    }
}
