//! Metric emission (only with `bench-metrics`): once per compiled circuit.

use starkscope_metrics::metrics::counter;
use starkscope_metrics::{labels, names};

use crate::ir::Circuit;

/// Table entries of each op kind (`circuit_ops{op}`).
pub(crate) fn circuit(circuit: &Circuit) {
    for (kind, n) in circuit.op_counts() {
        counter!(names::CIRCUIT_OPS, labels::OP => kind.as_str()).absolute(n);
    }
}
