//! Peak RSS and CPU time of the aggregation tree, through the shipped binary with
//! `bench-metrics`: per layer when a layer's nodes share the process (`prove --aggregate`),
//! per node when a node runs as its own unit (`starkscope aggregate`); `prof` shows the
//! layers' peaks. Release only (proves a tree): scripts/test.sh runs it with `--release`.
#![cfg(feature = "bench-metrics")]

mod common;

use common::{fib, s, starkscope, text};
use starkscope_metrics::names;
use starkscope_snapshot::Snapshot;

/// The gauge `metric` with exactly these labels.
fn gauge(snap: &Snapshot, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    snap.gauge
        .iter()
        .find(|e| {
            e.metric == metric
                && e.labels.iter().filter(|(k, _)| k != "host").count() == labels.len()
                && labels.iter().all(|(k, v)| e.label(k) == Some(*v))
        })
        .and_then(|e| e.value.parse().ok())
}

#[cfg_attr(debug_assertions, ignore = "proves a tree: run with --release")]
#[test]
fn resources_per_layer_in_process_and_per_node_as_a_unit() {
    let dir = tempfile::tempdir().unwrap();
    let (run, root, nodes) = (
        dir.path().join("run.json"),
        dir.path().join("root.bin"),
        dir.path().join("tree"),
    );
    // fibonacci(30): 3 segments of 64 cycles; leaves of 2 and 1, one internal node, root.
    let o = starkscope(&[
        "prove",
        &fib(),
        "-i",
        "30",
        "--segment-size",
        "64",
        "--fri",
        "testing",
        "--aggregate",
        "--node-fri",
        "testing",
        "--threads",
        "2",
        "--nodes-dir",
        s(&nodes),
        "--out",
        s(&root),
        "--metrics",
        s(&run),
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let snap = Snapshot::read(&run).unwrap();
    for group in ["leaf", "internal.0", "root"] {
        let peak = gauge(&snap, names::PEAK_RSS_BYTES, &[("group", group)]);
        let cpu = gauge(&snap, names::CPU_TIME_MS, &[("group", group)]);
        assert!(
            peak.is_some_and(|p| p > 1e6),
            "{group}: the layer's peak RSS {peak:?}"
        );
        assert!(
            cpu.is_some_and(|c| c > 0.0),
            "{group}: the layer's CPU time {cpu:?}"
        );
    }
    let run_peak = gauge(&snap, names::RUN_PEAK_RSS_BYTES, &[]).expect("the run's peak");
    let leaf_peak = gauge(&snap, names::PEAK_RSS_BYTES, &[("group", "leaf")]).unwrap();
    assert!(
        leaf_peak <= run_peak,
        "a layer's sampled peak is at most the run's exact one"
    );

    // prof's per-layer table has the layers' peaks.
    let o = starkscope(&["prof", s(&run)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let leaf_row = out
        .lines()
        .find(|l| l.starts_with("| leaf |"))
        .unwrap_or_else(|| panic!("no leaf layer row:\n{out}"));
    assert!(
        leaf_row
            .replace(',', "")
            .contains(&format!(" {} ", leaf_peak as u64)),
        "the leaf row shows the layer's peak {leaf_peak}: {leaf_row}"
    );

    // One leaf as its own unit: the node's own peak and CPU time, and the process's.
    let unit = dir.path().join("leaf.json");
    let o = starkscope(&[
        "aggregate",
        "--program",
        &fib(),
        "--node-fri",
        "testing",
        "--idx",
        "1",
        "--out",
        s(&dir.path().join("leaf.bin")),
        "--metrics",
        s(&unit),
        "--children",
        s(&nodes.join("segment-2.bin")),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let snap = Snapshot::read(&unit).unwrap();
    // Without --host, the machine's own name.
    assert!(snap
        .gauge
        .iter()
        .all(|e| e.label("host").is_some_and(|h| !h.is_empty())));
    let node = [("group", "leaf"), ("idx", "1")];
    let peak = gauge(&snap, names::PEAK_RSS_BYTES, &node);
    let cpu = gauge(&snap, names::CPU_TIME_MS, &node);
    assert!(
        peak.is_some_and(|p| p > 1e6),
        "the node's peak RSS {peak:?}"
    );
    assert!(cpu.is_some_and(|c| c > 0.0), "the node's CPU time {cpu:?}");
    let proof_ms = gauge(&snap, names::TOTAL_PROOF_TIME_MS, &node).expect("the node's time");
    assert!(proof_ms > 0.0);
    // The prover's phases ran on the pool, inside the node's span: labelled as the node.
    let phases: Vec<_> = snap
        .gauge
        .iter()
        .chain(&snap.counter)
        .filter(|e| e.label("phase").is_some())
        .collect();
    assert!(!phases.is_empty(), "the node's phases are sampled");
    for e in phases {
        assert!(
            e.label("group") == Some("leaf") && e.label("idx") == Some("1"),
            "a phase outside the node's scope: {} {:?}",
            e.metric,
            e.labels
        );
    }
    let run_cpu = gauge(&snap, names::RUN_CPU_TIME_MS, &[]).expect("the process's CPU time");
    assert!(
        run_cpu >= cpu.unwrap(),
        "the node's CPU time is within the process's"
    );
    assert!(gauge(&snap, names::RUN_PEAK_RSS_BYTES, &[]).is_some());
}

/// `starkscope prove-segment --metrics`: the unit's snapshot has its segment's numbers
/// under `group` = the program and `segment` = its index, and nothing of the segments it
/// re-executed to get there.
#[cfg_attr(debug_assertions, ignore = "proves a segment: run with --release")]
#[test]
fn a_segment_unit_reports_its_segment_only() {
    let dir = tempfile::tempdir().unwrap();
    let snap_path = dir.path().join("seg.json");
    let o = starkscope(&[
        "prove-segment",
        &fib(),
        "-i",
        "30",
        "--segment",
        "2",
        "--segment-size",
        "64",
        "--fri",
        "testing",
        "--out",
        s(&dir.path().join("seg.bin")),
        "--metrics",
        s(&snap_path),
        "--host",
        "worker-7",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let snap = Snapshot::read(&snap_path).unwrap();
    // Where the unit ran, on every value (a distributed run's merged snapshot keeps it).
    for e in snap.gauge.iter().chain(&snap.counter) {
        assert_eq!(
            e.label("host"),
            Some("worker-7"),
            "{} {:?}",
            e.metric,
            e.labels
        );
    }
    let meta = snap.meta.as_ref().expect("meta");
    assert_eq!(meta.extra.get("host"), Some(&serde_json::json!("worker-7")));
    let segment = [("group", "fibonacci"), ("segment", "2")];
    assert!(gauge(&snap, names::TOTAL_PROOF_TIME_MS, &segment).is_some_and(|t| t > 0.0));
    assert!(gauge(&snap, names::PEAK_RSS_BYTES, &segment).is_some_and(|p| p > 1e6));
    let labelled: Vec<_> = snap
        .gauge
        .iter()
        .chain(&snap.counter)
        .filter_map(|e| {
            e.label("segment")
                .map(|seg| (e.metric.clone(), seg.to_string()))
        })
        .collect();
    assert!(!labelled.is_empty());
    for (metric, seg) in labelled {
        assert_eq!(
            seg, "2",
            "{metric} of another segment in the unit's snapshot"
        );
    }
}
