//! What a metric's value means: its unit and which direction of change is an improvement.
//!
//! Units come from the catalogue. The catalogue says nothing about direction, so it is
//! decided here, once: times, sizes, cells, rows and cycles are costs (lower is better);
//! throughputs are higher-better; shape descriptors (columns, constraints, opcode counts)
//! are neutral. Unknown metrics: `*_time_ms` are times, the rest neutral.

use starkscope_metrics::{catalogue, names, MetricUnit};

/// Which direction of change is an improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// Neither direction is good or bad (e.g. number of columns): changes are shown uncoloured.
    Neither,
}

/// Name of the derived throughput column (not a recorded metric).
pub const CYCLES_PER_SECOND: &str = "cycles_per_s";

/// Direction of improvement for `metric`.
pub fn better(metric: &str) -> Better {
    if metric == CYCLES_PER_SECOND || metric.ends_with("_per_s") {
        return Better::Higher;
    }
    match catalogue::find(metric) {
        Some(spec) => match spec.unit {
            MetricUnit::Milliseconds | MetricUnit::Bytes => Better::Lower,
            MetricUnit::Count => match spec.name {
                names::ROWS
                | names::CELLS
                | names::TOTAL_CELLS
                | names::MAIN_CELLS_USED
                | names::TOTAL_CELLS_USED
                | names::TOTAL_CYCLES
                | names::CYCLES => Better::Lower,
                _ => Better::Neither,
            },
        },
        None if metric.ends_with(catalogue::TIME_SUFFIX) => Better::Lower,
        None => Better::Neither,
    }
}

/// Unit of `metric` for table headers: `ms`, `bytes`, `count`, or empty when unknown.
pub fn unit(metric: &str) -> &'static str {
    if metric == CYCLES_PER_SECOND {
        return "cycles/s";
    }
    match catalogue::find(metric) {
        Some(spec) => spec.unit.as_str(),
        None if metric.ends_with(catalogue::TIME_SUFFIX) => "ms",
        None => "",
    }
}

/// The order metrics are listed in: the pipeline's timings first (total, then its parts in
/// the order they run), other timings, then sizes; unknown metrics by name.
const ORDER: &[&str] = &[
    names::TOTAL_PROOF_TIME_MS,
    names::EXECUTE_TIME_MS,
    names::TRACE_GEN_TIME_MS,
    names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS,
    names::MAIN_TRACE_COMMIT_TIME_MS,
    names::GENERATE_PERM_TRACE_TIME_MS,
    names::PERM_TRACE_COMMIT_TIME_MS,
    names::QUOTIENT_POLY_COMPUTE_TIME_MS,
    names::QUOTIENT_POLY_COMMIT_TIME_MS,
    names::PCS_OPENING_TIME_MS,
    names::CPU_TIME_MS,
    names::TOTAL_CYCLES,
    names::TOTAL_CELLS,
    names::MAIN_CELLS_USED,
    names::TOTAL_CELLS_USED,
    names::PROOF_SIZE_BYTES,
    names::PEAK_RSS_BYTES,
    names::ROWS,
    names::CELLS,
    names::PREP_COLS,
    names::MAIN_COLS,
    names::PERM_COLS,
];

/// Sort key giving the listing order of metrics (see `ORDER`).
pub fn display_order(metric: &str) -> (u8, usize, &str) {
    match ORDER.iter().position(|m| *m == metric) {
        Some(i) if is_time(metric) => (0, i, metric),
        None if is_time(metric) => (1, 0, metric),
        Some(i) => (2, i, metric),
        None => (3, 0, metric),
    }
}

/// True for metrics measured in milliseconds.
pub fn is_time(metric: &str) -> bool {
    unit(metric) == "ms"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_follow_the_meaning_of_the_metric() {
        assert_eq!(better("total_proof_time_ms"), Better::Lower);
        assert_eq!(better("my_custom_span_time_ms"), Better::Lower);
        assert_eq!(better("proof_size_bytes"), Better::Lower);
        assert_eq!(better("total_cells"), Better::Lower);
        assert_eq!(better("cells"), Better::Lower);
        assert_eq!(better(CYCLES_PER_SECOND), Better::Higher);
        assert_eq!(better("main_cols"), Better::Neither);
        assert_eq!(better("frequency"), Better::Neither);
        assert_eq!(better("something_else"), Better::Neither);
    }

    #[test]
    fn units_come_from_the_catalogue() {
        assert_eq!(unit("execute_time_ms"), "ms");
        assert_eq!(unit("proof_size_bytes"), "bytes");
        assert_eq!(unit("rows"), "count");
        assert_eq!(unit("custom_time_ms"), "ms");
        assert_eq!(unit("mystery"), "");
    }
}
