//! The one place that names starkscope's metrics.
//!
//! Every metric a starkscope crate emits is a constant here, with its kind, unit,
//! label keys and description in [`CATALOGUE`]. `describe_all()` registers those
//! descriptions with the installed recorder; docs/metrics.md is checked against
//! this table by a test, so the two cannot drift apart.

/// What a metric measures over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A count. Most of ours are set absolutely (`absolute(n)`) once per unit of work.
    Counter,
    /// A value that is set, e.g. a duration in milliseconds.
    Gauge,
    /// A distribution of observed values.
    Histogram,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// The unit of a metric's value, as documented and exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricUnit {
    Milliseconds,
    Bytes,
    Count,
}

impl MetricUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricUnit::Milliseconds => "ms",
            MetricUnit::Bytes => "bytes",
            MetricUnit::Count => "count",
        }
    }
}

/// Where a metric is emitted, for docs and audits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Emitter {
    Keygen,
    Prover,
    Vm,
    Sdk,
    Recursion,
    Resources,
}

impl Emitter {
    pub fn as_str(self) -> &'static str {
        match self {
            Emitter::Keygen => "keygen",
            Emitter::Prover => "prover",
            Emitter::Vm => "vm",
            Emitter::Sdk => "sdk",
            Emitter::Recursion => "recursion",
            Emitter::Resources => "resources",
        }
    }
}

/// Which scope labels a metric carries: what it is *of*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricScope {
    /// The whole run (the process): no scope label.
    Run,
    /// A group: `group` (keygen, a whole app proof, a verification); `segment` and `idx`
    /// when the emitting span sits inside one.
    Group,
    /// One proof: `group`, and which proof of the group: `segment` for an app's segment
    /// proofs, `idx` for an aggregation node of a leaf or internal layer.
    Proof,
}

impl MetricScope {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricScope::Run => "run",
            MetricScope::Group => "group",
            MetricScope::Proof => "proof",
        }
    }
}

/// One row of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct MetricSpec {
    pub name: &'static str,
    pub kind: MetricKind,
    pub unit: MetricUnit,
    pub emitter: Emitter,
    pub scope: MetricScope,
    /// Label keys set at the call site; scope labels (`group`, `segment`, `idx`) come on
    /// top from enclosing spans.
    pub labels: &'static [&'static str],
    pub description: &'static str,
}

/// Label keys. Scope keys come from enclosing spans, never passed by hand.
pub mod labels {
    pub const GROUP: &str = "group";
    pub const SEGMENT: &str = "segment";
    pub const IDX: &str = "idx";
    pub const AIR_NAME: &str = "air_name";
    pub const AIR_ID: &str = "air_id";
    pub const OPCODE: &str = "opcode";
    pub const REGION: &str = "region";
    /// The phase span a resource sample covers (`peak_rss_bytes`, `cpu_time_ms`).
    pub const PHASE: &str = "phase";
    pub const OP: &str = "op";
    /// The machine a unit of work of a distributed run ran on (`starkscope prove-segment`
    /// / `aggregate` with `--host`): on every value of its snapshot. An annotation: it says
    /// where a value was measured, not what it is of, so readers key values without it.
    pub const HOST: &str = "host";

    /// Keys that identify *which proof* a metric belongs to.
    pub const SCOPE_KEYS: &[&str] = &[GROUP, SEGMENT, IDX];
    /// Keys that annotate a value without identifying it.
    pub const ANNOTATION_KEYS: &[&str] = &[HOST];
}

/// Metric names, as users' dashboards already know them.
pub mod names {
    // keygen, per AIR
    pub const CONSTRAINT_DEG: &str = "constraint_deg";
    pub const CONSTRAINTS: &str = "constraints";
    pub const INTERACTIONS: &str = "interactions";

    // prover, per AIR
    pub const ROWS: &str = "rows";
    pub const CELLS: &str = "cells";
    pub const PREP_COLS: &str = "prep_cols";
    pub const MAIN_COLS: &str = "main_cols";
    pub const PERM_COLS: &str = "perm_cols";

    // prover, per proof
    pub const TOTAL_CELLS: &str = "total_cells";
    pub const PROOF_SIZE_BYTES: &str = "proof_size_bytes";

    // prover phases (span names; the gauge is `{span}_time_ms`)
    pub const MAIN_TRACE_COMMIT_TIME_MS: &str = "main_trace_commit_time_ms";
    pub const GENERATE_PERM_TRACE_TIME_MS: &str = "generate_perm_trace_time_ms";
    pub const PERM_TRACE_COMMIT_TIME_MS: &str = "perm_trace_commit_time_ms";
    pub const QUOTIENT_POLY_COMPUTE_TIME_MS: &str = "quotient_poly_compute_time_ms";
    pub const QUOTIENT_POLY_COMMIT_TIME_MS: &str = "quotient_poly_commit_time_ms";
    pub const PCS_OPENING_TIME_MS: &str = "pcs_opening_time_ms";
    pub const STARK_PROVE_EXCLUDING_TRACE_TIME_MS: &str = "stark_prove_excluding_trace_time_ms";

    // vm, per segment
    pub const EXECUTE_TIME_MS: &str = "execute_time_ms";
    pub const TRACE_GEN_TIME_MS: &str = "trace_gen_time_ms";
    pub const TOTAL_PROOF_TIME_MS: &str = "total_proof_time_ms";
    pub const CHIP_TRACE_GEN_TIME_MS: &str = "chip_trace_gen_time_ms";
    pub const TOTAL_CYCLES: &str = "total_cycles";
    pub const MAIN_CELLS_USED: &str = "main_cells_used";
    pub const TOTAL_CELLS_USED: &str = "total_cells_used";
    pub const FREQUENCY: &str = "frequency";
    pub const CYCLES: &str = "cycles";

    // sdk, per group
    pub const KEYGEN_TIME_MS: &str = "keygen_time_ms";
    pub const APP_PROOF_TIME_MS: &str = "app_proof_time_ms";
    pub const VERIFY_TIME_MS: &str = "verify_time_ms";

    // recursion, per circuit and per circuit proof
    pub const CIRCUIT_BUILD_TIME_MS: &str = "circuit_build_time_ms";
    pub const WITNESS_GEN_TIME_MS: &str = "witness_gen_time_ms";
    pub const CIRCUIT_OPS: &str = "circuit_ops";
    pub const VERIFIED_CHILDREN: &str = "verified_children";
    pub const POSEIDON2_PER_CHILD: &str = "poseidon2_per_child";
    pub const EXT_OPS_PER_CHILD: &str = "ext_ops_per_child";
    pub const OPS_PER_CHILD: &str = "ops_per_child";
    pub const NUM_CHILDREN: &str = "num_children";

    // resources
    pub const PEAK_RSS_BYTES: &str = "peak_rss_bytes";
    pub const CPU_TIME_MS: &str = "cpu_time_ms";
    pub const RUN_PEAK_RSS_BYTES: &str = "run_peak_rss_bytes";
    pub const RUN_CPU_TIME_MS: &str = "run_cpu_time_ms";
    pub const DISK_READ_BYTES: &str = "disk_read_bytes";
    pub const DISK_WRITE_BYTES: &str = "disk_write_bytes";
}

/// Span names. The spans in [`TIMED`](spans::TIMED) become `{name}_time_ms` gauges; the
/// others carry scope labels only.
pub mod spans {
    pub const MAIN_TRACE_COMMIT: &str = "main_trace_commit";
    pub const GENERATE_PERM_TRACE: &str = "generate_perm_trace";
    pub const PERM_TRACE_COMMIT: &str = "perm_trace_commit";
    pub const QUOTIENT_POLY_COMPUTE: &str = "quotient_poly_compute";
    pub const QUOTIENT_POLY_COMMIT: &str = "quotient_poly_commit";
    pub const PCS_OPENING: &str = "pcs_opening";
    pub const STARK_PROVE_EXCLUDING_TRACE: &str = "stark_prove_excluding_trace";
    pub const EXECUTE: &str = "execute";
    pub const TRACE_GEN: &str = "trace_gen";
    pub const CHIP_TRACE_GEN: &str = "chip_trace_gen";
    pub const KEYGEN: &str = "keygen";
    pub const APP_PROOF: &str = "app_proof";
    pub const VERIFY: &str = "verify";
    /// A segment's scope (`segment = i`); not timed: `total_proof_time_ms` is its total.
    pub const SEGMENT: &str = "segment";
    /// An aggregation node's scope (`group` = its layer, `idx` = its index); not timed.
    pub const NODE: &str = "node";
    /// An aggregation layer's scope (`group` only): its circuit builds and, with resource
    /// sampling, the layer's peak RSS and CPU time; not timed.
    pub const LAYER: &str = "aggregation_layer";
    /// Compiling a recursion circuit (program and keys).
    pub const CIRCUIT_BUILD: &str = "circuit_build";
    /// Running a recursion circuit: every cell and every trace.
    pub const WITNESS_GEN: &str = "witness_gen";

    /// The six disjoint prover phases, in the order they run.
    pub const PROVER_PHASES: [&str; 6] = [
        MAIN_TRACE_COMMIT,
        GENERATE_PERM_TRACE,
        PERM_TRACE_COMMIT,
        QUOTIENT_POLY_COMPUTE,
        QUOTIENT_POLY_COMMIT,
        PCS_OPENING,
    ];

    /// Every span the timing layer turns into a gauge, and no other.
    pub const TIMED: &[&str] = &[
        MAIN_TRACE_COMMIT,
        GENERATE_PERM_TRACE,
        PERM_TRACE_COMMIT,
        QUOTIENT_POLY_COMPUTE,
        QUOTIENT_POLY_COMMIT,
        PCS_OPENING,
        STARK_PROVE_EXCLUDING_TRACE,
        EXECUTE,
        TRACE_GEN,
        CHIP_TRACE_GEN,
        KEYGEN,
        APP_PROOF,
        VERIFY,
        CIRCUIT_BUILD,
        WITNESS_GEN,
    ];
}

use labels::*;
use names::*;
use Emitter::*;
use MetricKind::*;
use MetricScope::{Group as OfGroup, Proof as OfProof, Run as OfRun};
use MetricUnit::*;

const KEYGEN: (Emitter, MetricScope) = (Keygen, OfGroup);
const PROVER: (Emitter, MetricScope) = (Prover, OfProof);
const VM: (Emitter, MetricScope) = (Vm, OfProof);
const SDK: (Emitter, MetricScope) = (Sdk, OfGroup);
const CIRCUIT: (Emitter, MetricScope) = (Recursion, OfGroup);
const CIRCUIT_PROOF: (Emitter, MetricScope) = (Recursion, OfProof);
const SPAN: (Emitter, MetricScope) = (Resources, OfGroup);
const RUN: (Emitter, MetricScope) = (Resources, OfRun);

const AIR: &[&str] = &[AIR_NAME, AIR_ID];
const NONE: &[&str] = &[];

const fn spec(
    name: &'static str,
    kind: MetricKind,
    unit: MetricUnit,
    (emitter, scope): (Emitter, MetricScope),
    labels: &'static [&'static str],
    description: &'static str,
) -> MetricSpec {
    MetricSpec {
        name,
        kind,
        unit,
        emitter,
        scope,
        labels,
        description,
    }
}

/// Every metric starkscope emits.
pub const CATALOGUE: &[MetricSpec] = &[
    spec(CONSTRAINT_DEG, Counter, Count, KEYGEN, AIR, "Maximum degree of the AIR's constraints, including its LogUp constraints."),
    spec(CONSTRAINTS, Counter, Count, KEYGEN, AIR, "Number of polynomial constraints the AIR asserts (LogUp constraints included)."),
    spec(INTERACTIONS, Counter, Count, KEYGEN, AIR, "Number of bus interactions (sends and receives) the AIR declares."),
    spec(ROWS, Counter, Count, PROVER, AIR, "Trace height of the AIR in this proof (a power of two, padded)."),
    spec(CELLS, Counter, Count, PROVER, AIR, "Committed cells of the AIR: padded rows times (preprocessed + main + permutation columns, base-field)."),
    spec(PREP_COLS, Counter, Count, PROVER, AIR, "Preprocessed columns of the AIR."),
    spec(MAIN_COLS, Counter, Count, PROVER, AIR, "Main-trace columns of the AIR."),
    spec(PERM_COLS, Counter, Count, PROVER, AIR, "Permutation (LogUp) columns of the AIR, counted in base-field columns."),
    spec(TOTAL_CELLS, Counter, Count, PROVER, NONE, "Sum of `cells` over every AIR of the proof."),
    spec(PROOF_SIZE_BYTES, Counter, Bytes, PROVER, NONE, "Serialized size of the proof."),
    spec(MAIN_TRACE_COMMIT_TIME_MS, Gauge, Milliseconds, PROVER, NONE, "Prover phase: LDE and Merkle commitment of the main (and preprocessed-independent) traces."),
    spec(GENERATE_PERM_TRACE_TIME_MS, Gauge, Milliseconds, PROVER, NONE, "Prover phase: building the LogUp permutation traces from the bus interactions."),
    spec(PERM_TRACE_COMMIT_TIME_MS, Gauge, Milliseconds, PROVER, NONE, "Prover phase: LDE and Merkle commitment of the permutation traces."),
    spec(QUOTIENT_POLY_COMPUTE_TIME_MS, Gauge, Milliseconds, PROVER, NONE, "Prover phase: evaluating the constraints on the quotient domain and dividing by the vanishing polynomial."),
    spec(QUOTIENT_POLY_COMMIT_TIME_MS, Gauge, Milliseconds, PROVER, NONE, "Prover phase: committing the quotient chunks."),
    spec(PCS_OPENING_TIME_MS, Gauge, Milliseconds, PROVER, NONE, "Prover phase: out-of-domain openings and the FRI proof."),
    spec(STARK_PROVE_EXCLUDING_TRACE_TIME_MS, Gauge, Milliseconds, PROVER, NONE, "Whole STARK proof after trace generation; the six phases run inside it."),
    spec(EXECUTE_TIME_MS, Gauge, Milliseconds, VM, NONE, "Executing the segment's instructions (recording what trace generation needs)."),
    spec(TRACE_GEN_TIME_MS, Gauge, Milliseconds, VM, NONE, "Generating every chip's trace for the segment."),
    spec(TOTAL_PROOF_TIME_MS, Gauge, Milliseconds, VM, NONE, "For one segment: execute_time_ms + trace_gen_time_ms + stark_prove_excluding_trace_time_ms. For one aggregation node: its witness generation (child hints, links, running the circuit) plus proving; building its circuit is circuit_build_time_ms."),
    spec(CHIP_TRACE_GEN_TIME_MS, Gauge, Milliseconds, VM, &[AIR_NAME], "Generating one chip's trace for the segment (part of trace_gen_time_ms)."),
    spec(TOTAL_CYCLES, Counter, Count, VM, NONE, "Cycles (instructions) executed in the segment."),
    spec(MAIN_CELLS_USED, Counter, Count, VM, NONE, "Main-trace cells of unpadded rows over every chip of the segment."),
    spec(TOTAL_CELLS_USED, Counter, Count, VM, NONE, "All trace cells (preprocessed, main, permutation) of unpadded rows over every chip."),
    spec(FREQUENCY, Counter, Count, VM, &[OPCODE], "Instructions executed in the segment, per opcode."),
    spec(CYCLES, Counter, Count, VM, &[REGION], "Cycles spent inside a cycle-tracker region; nested regions are joined with `;`."),
    spec(KEYGEN_TIME_MS, Gauge, Milliseconds, SDK, NONE, "Generating a program's proving and verifying keys (group `keygen`)."),
    spec(APP_PROOF_TIME_MS, Gauge, Milliseconds, SDK, NONE, "Wall time of a whole app proof: executing and proving every segment, segments in parallel."),
    spec(VERIFY_TIME_MS, Gauge, Milliseconds, SDK, NONE, "Verifying every segment proof of an app proof and the chain between them."),
    spec(CIRCUIT_BUILD_TIME_MS, Gauge, Milliseconds, CIRCUIT, NONE, "Compiling a recursion circuit: placing its ops in tables, writing the program (preprocessed traces) and its keygen."),
    spec(WITNESS_GEN_TIME_MS, Gauge, Milliseconds, CIRCUIT_PROOF, NONE, "Running a recursion circuit: computing every cell, checking every checking op, filling the tables' traces."),
    spec(CIRCUIT_OPS, Counter, Count, CIRCUIT, &[OP], "Table entries (ALU lanes, table rows, constants, hints) of a recursion circuit, per op kind."),
    spec(VERIFIED_CHILDREN, Counter, Count, CIRCUIT, NONE, "Child proofs a verifier circuit verifies in-circuit."),
    spec(POSEIDON2_PER_CHILD, Gauge, Count, CIRCUIT, NONE, "Poseidon2 permutations (rec_poseidon2 rows) a verifier circuit spends per verified child (mean over its children)."),
    spec(EXT_OPS_PER_CHILD, Gauge, Count, CIRCUIT, NONE, "Extension-field operations (ALU lanes) a verifier circuit spends per verified child (mean over its children)."),
    spec(OPS_PER_CHILD, Gauge, Count, CIRCUIT, NONE, "Table entries of every kind a verifier circuit spends per verified child (mean over its children)."),
    spec(NUM_CHILDREN, Counter, Count, CIRCUIT_PROOF, NONE, "Child proofs one aggregation node verifies: app segment proofs for a leaf, proofs of the layer below for an internal node or the root."),
    spec(PEAK_RSS_BYTES, Gauge, Bytes, SPAN, &[PHASE], "Peak resident set size of the process while the scoped span ran, sampled every 10 ms (a lower bound; concurrent spans share the process); `phase` names the span for a phase span, absent for a proof/segment/node span."),
    spec(CPU_TIME_MS, Gauge, Milliseconds, SPAN, &[PHASE], "CPU time (user + system, all threads) the process spent while the scoped span ran; `phase` as for `peak_rss_bytes`."),
    spec(RUN_PEAK_RSS_BYTES, Gauge, Bytes, RUN, NONE, "Peak resident set size of the run, exact: the kernel's `VmHWM`, reset when the run starts; no scope labels. The run's one peak-memory number."),
    spec(RUN_CPU_TIME_MS, Gauge, Milliseconds, RUN, NONE, "CPU time (user + system, all threads) of the process over the whole run; no scope labels."),
    spec(DISK_READ_BYTES, Gauge, Bytes, RUN, NONE, "Bytes the process read from storage during the run (`/proc/self/io` read_bytes); no scope labels."),
    spec(DISK_WRITE_BYTES, Gauge, Bytes, RUN, NONE, "Bytes the process caused to be written to storage during the run (`/proc/self/io` write_bytes); no scope labels."),
];

/// Looks a metric up by name.
pub fn find(name: &str) -> Option<&'static MetricSpec> {
    CATALOGUE.iter().find(|m| m.name == name)
}

/// True for the metrics that the same program, inputs and code always give the same value,
/// whatever the machine and however many threads: every counter but `proof_size_bytes`.
/// Plonky3's proof-of-work search is parallel and keeps whichever witness a thread finds
/// first, so the FRI query positions, and with them the encoded size of the openings, vary
/// by about 1% between runs of one commit. The benchmark gate compares the others exactly.
pub fn is_deterministic(name: &str) -> bool {
    find(name).is_some_and(|m| m.kind == Counter) && name != PROOF_SIZE_BYTES
}

/// Suffix the timing layer appends to span names.
pub const TIME_SUFFIX: &str = "_time_ms";

/// The gauge name the timing layer gives a span: `{span}_time_ms`, not suffixed twice.
pub fn timing_metric_name(span_name: &str) -> std::borrow::Cow<'_, str> {
    if span_name.ends_with(TIME_SUFFIX) {
        std::borrow::Cow::Borrowed(span_name)
    } else {
        std::borrow::Cow::Owned(format!("{span_name}{TIME_SUFFIX}"))
    }
}

/// Registers the description and unit of every catalogued metric with the installed
/// recorder (a no-op without one).
#[cfg(feature = "bench-metrics")]
pub fn describe_all() {
    for m in CATALOGUE {
        let unit = match m.unit {
            Milliseconds => metrics::Unit::Milliseconds,
            Bytes => metrics::Unit::Bytes,
            Count => metrics::Unit::Count,
        };
        match m.kind {
            Counter => metrics::describe_counter!(m.name, unit, m.description),
            Gauge => metrics::describe_gauge!(m.name, unit, m.description),
            Histogram => metrics::describe_histogram!(m.name, unit, m.description),
        }
    }
}

/// The catalogue as the markdown table docs/metrics.md carries between its markers.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| metric | kind | unit | emitted by | of | labels (besides scope) | meaning |\n|---|---|---|---|---|---|---|\n",
    );
    for m in CATALOGUE {
        let labels = if m.labels.is_empty() {
            "—".to_string()
        } else {
            m.labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            m.name,
            m.kind.as_str(),
            m.unit.as_str(),
            m.emitter.as_str(),
            m.scope.as_str(),
            labels,
            m.description
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique() {
        let mut seen = HashSet::new();
        for m in CATALOGUE {
            assert!(seen.insert(m.name), "{} listed twice", m.name);
        }
    }

    #[test]
    fn every_timed_span_has_a_catalogued_gauge() {
        for span in spans::TIMED.iter().chain(&spans::PROVER_PHASES) {
            let name = timing_metric_name(span);
            let m = find(&name).unwrap_or_else(|| panic!("{name} missing from the catalogue"));
            assert_eq!(m.kind, Gauge);
            assert_eq!(m.unit, Milliseconds);
        }
    }

    #[test]
    fn deterministic_metrics_are_the_counters_but_proof_size() {
        assert!(is_deterministic(TOTAL_CELLS) && is_deterministic(CONSTRAINTS));
        assert!(!is_deterministic(PROOF_SIZE_BYTES));
        assert!(!is_deterministic(RUN_PEAK_RSS_BYTES) && !is_deterministic(EXECUTE_TIME_MS));
        assert!(!is_deterministic("not_in_the_catalogue"));
    }

    #[test]
    fn timing_suffix_is_not_doubled() {
        assert_eq!(timing_metric_name("execute"), "execute_time_ms");
        assert_eq!(timing_metric_name("execute_time_ms"), "execute_time_ms");
    }
}
