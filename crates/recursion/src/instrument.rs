//! Metric emission (only with `bench-metrics`): once per compiled circuit.

use starkscope_metrics::metrics::{counter, gauge};
use starkscope_metrics::{labels, names};

use crate::ir::Circuit;

/// Table entries of each op kind (`circuit_ops{op}`).
pub(crate) fn circuit(circuit: &Circuit) {
    for (kind, n) in circuit.op_counts() {
        counter!(names::CIRCUIT_OPS, labels::OP => kind.as_str()).absolute(n);
    }
}

/// Per verified child (a verifier circuit): how many, and their mean cost.
pub(crate) fn children(circuit: &Circuit) {
    let n = circuit.children.len();
    if n == 0 {
        return;
    }
    counter!(names::VERIFIED_CHILDREN).absolute(n as u64);
    let mean = |f: fn(&crate::ir::ChildCost) -> u64| {
        circuit.children.iter().map(f).sum::<u64>() as f64 / n as f64
    };
    gauge!(names::POSEIDON2_PER_CHILD).set(mean(|c| c.poseidon2));
    gauge!(names::EXT_OPS_PER_CHILD).set(mean(|c| c.ext_ops));
    gauge!(names::OPS_PER_CHILD).set(mean(|c| c.total));
}
