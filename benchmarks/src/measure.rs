//! One measured proof: keygen, prove and verify a benchmark under the metrics harness, and
//! the numbers a reader compares: wall times, the execute / trace_gen / stark_prove split,
//! the six prover phases (with `bench-metrics`), peak RSS.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use starkscope_harness::{Harness, Install};
use starkscope_metrics::catalogue::timing_metric_name;
use starkscope_metrics::spans;
use starkscope_sdk::{Sdk, SdkConfig};
use starkscope_snapshot::parse_gauge;
use starkscope_snapshot::Snapshot;

use crate::config::Benchmark;

/// How the SDK may spread segments over the machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parallel {
    /// Proving threads; 0 = one per core.
    pub threads: usize,
    /// Prove one segment at a time on all threads, so each prover phase's time is that
    /// segment's own and not shared with a concurrent prover's work-stealing.
    pub sequential: bool,
}

/// What one proof of one benchmark cost. Times are milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub name: String,
    pub program: String,
    pub segment_size: u64,
    pub fri: String,
    /// Whether metrics were compiled in (`bench-metrics`).
    pub metrics: bool,
    pub cycles: u64,
    pub segments: usize,
    pub keygen_ms: f64,
    /// The prove call's wall time: segments execute and prove in parallel.
    pub prove_ms: f64,
    /// Aggregating the segment proofs into one root proof (every layer of the tree), for a
    /// benchmark with `aggregate`.
    #[serde(default)]
    pub aggregate_ms: Option<f64>,
    /// Keygen, prove and collecting the metrics snapshot: the whole measured run.
    pub run_ms: f64,
    /// Sums over segments (sequential cost).
    pub execute_ms: f64,
    pub trace_gen_ms: f64,
    pub stark_prove_ms: f64,
    /// The six prover phases summed over segments, by metric name; empty without metrics.
    pub phases_ms: BTreeMap<String, f64>,
    pub proof_bytes: u64,
    pub peak_rss_bytes: Option<u64>,
    pub threads: usize,
    /// Segments proven at once.
    pub provers: usize,
}

impl Measurement {
    /// Proven cycles per second of prove wall time.
    pub fn cycles_per_sec(&self) -> f64 {
        self.cycles as f64 / (self.prove_ms / 1e3)
    }
}

/// Proves `bench` once as `parallel` allows, verifies the proof, and writes the
/// metrics snapshot to `snapshot_out` when given (with the benchmark's parameters in its
/// `meta`). The snapshot is returned as well. Installs the global recorder: once per
/// process (the CLI runs each proof in a child, [`crate::child`]).
pub fn prove_once(
    bench: &Benchmark,
    parallel: Parallel,
    snapshot_out: Option<&Path>,
) -> anyhow::Result<(Measurement, Snapshot)> {
    let mut config = SdkConfig::default()
        .with_segment_size(bench.segment_size)
        .with_fri(bench.fri)
        .with_threads(parallel.threads)
        // The proof is checked as a bug check of the run, at whatever preset it measures.
        .with_allow_insecure(true);
    if parallel.sequential {
        // A budget below one segment: one segment alive at a time, all threads on it.
        config = config.with_memory_budget(1);
    }
    let sdk = Sdk::new(config)?;
    // With metrics, resources are sampled (bench-metrics compiles them in); with
    // `exporters`, the proof is also exported where the environment says, its
    // Pushgateway job named after the benchmark.
    let harness = Harness::new()
        .install(Install::Global)
        .span_tree(false)
        .program(bench.name.clone())
        .export_from_env()?;
    let started = Instant::now();
    let collected = harness.run(|| -> anyhow::Result<_> {
        let t = Instant::now();
        let pk = match bench.aggregate {
            Some(_) => sdk.keygen_for_aggregation(&bench.program)?,
            None => sdk.keygen(&bench.program)?,
        };
        let keygen = t.elapsed();
        let (proof, report) = sdk.prove(&pk, &bench.inputs)?;
        let tree = match bench.aggregate {
            Some(tree) => {
                let t = Instant::now();
                let aggregated = sdk.aggregate(&pk, &proof, tree)?;
                Some((aggregated, t.elapsed()))
            }
            None => None,
        };
        Ok((pk, proof, report, keygen, tree))
    })?;
    let run = started.elapsed();
    let (pk, proof, report, keygen, tree) = collected
        .value
        .with_context(|| format!("benchmark `{}`", bench.name))?;
    sdk.verify(&pk.verifying_key(), &proof)
        .with_context(|| format!("benchmark `{}`: the proof does not verify", bench.name))?;
    let aggregate_ms = match tree {
        Some((mut aggregated, took)) => {
            sdk.verify_root_with(&pk, &aggregated.root, &mut aggregated.circuits)
                .with_context(|| {
                    format!("benchmark `{}`: the root proof does not verify", bench.name)
                })?;
            Some(took.as_secs_f64() * 1e3)
        }
        None => None,
    };

    let mut snapshot = collected.snapshot;
    if let Some(meta) = snapshot.meta.as_mut() {
        meta.extra.insert(
            "benchmark".into(),
            serde_json::json!({
                "name": bench.name,
                "program": bench.program_path.display().to_string(),
                "inputs": bench.inputs_source,
                "segment_size": bench.segment_size,
                "fri": bench.fri.name(),
                "aggregate": bench.aggregate.map(|t| serde_json::json!({
                    "children": t.children,
                    "fri": t.preset.name(),
                })),
            }),
        );
    }
    if let Some(path) = snapshot_out {
        snapshot.write_atomic(path)?;
    }

    let (execute, trace_gen, stark_prove, _) = report.sums();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let measurement = Measurement {
        name: bench.name.clone(),
        program: report.program.clone(),
        segment_size: bench.segment_size,
        fri: bench.fri.name().to_string(),
        metrics: cfg!(feature = "bench-metrics"),
        cycles: report.cycles,
        segments: report.segments.len(),
        keygen_ms: ms(keygen),
        prove_ms: ms(report.wall),
        aggregate_ms,
        run_ms: ms(run),
        execute_ms: ms(execute),
        trace_gen_ms: ms(trace_gen),
        stark_prove_ms: ms(stark_prove),
        phases_ms: phases(&snapshot),
        proof_bytes: report.proof_bytes,
        peak_rss_bytes: report.peak_rss_bytes,
        threads: report.parallelism.pool_threads,
        provers: report.parallelism.provers,
    };
    Ok((measurement, snapshot))
}

/// The six prover phases summed over every segment of the snapshot.
pub fn phases(snapshot: &Snapshot) -> BTreeMap<String, f64> {
    spans::PROVER_PHASES
        .iter()
        .filter_map(|&span| {
            let name = timing_metric_name(span).into_owned();
            let values: Vec<f64> = snapshot
                .gauges(&name)
                .filter_map(|e| parse_gauge(&e.value))
                .collect();
            (!values.is_empty()).then(|| (name, values.iter().sum()))
        })
        .collect()
}

/// Bytes as whole MiB for tables; `-` when unknown.
pub fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("-".into(), |b| {
        format!("{:.0}", b as f64 / (1u64 << 20) as f64)
    })
}
