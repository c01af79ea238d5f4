//! What a real `starkscope prove` records, checked against the catalogue: every metric is
//! catalogued, carries the scope it is of, is not added up across scopes, and `RUST_LOG`
//! changes none of it. Segments are proven in parallel (2 threads), so spans close on pool
//! threads, where the old timing layer mislabelled them.
#![cfg(feature = "bench-metrics")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{fib, s, starkscope_cmd, text, QUICK};
use starkscope_metrics::catalogue::{self, MetricScope};
use starkscope_metrics::{labels, names, spans, Group};
use starkscope_snapshot::{Entry, Snapshot};

const PROGRAM: &str = "fibonacci";
const SEGMENTS: usize = 3;
/// Every chip of a VM segment, Merkle's included.
const CHIPS: [&str; 8] = [
    "program",
    "cpu",
    "range16",
    "ext_arith",
    "poseidon2_mem",
    "poseidon2",
    "memory_boundary",
    "merkle",
];

/// Proves fibonacci(30) in 64-cycle segments (3 segments) on 2 threads; the snapshot.
fn prove(dir: &Path, rust_log: Option<&str>) -> Snapshot {
    let json = dir.join(format!("run-{}.json", rust_log.unwrap_or("unset")));
    let proof = dir.join("p.proof");
    let mut cmd = starkscope_cmd(
        &[
            &["prove", &fib()][..],
            &QUICK[..],
            &[
                "--threads",
                "2",
                "--quiet",
                "--out",
                s(&proof),
                "--metrics",
                s(&json),
            ][..],
        ]
        .concat(),
    );
    if let Some(level) = rust_log {
        cmd.env("RUST_LOG", level);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    Snapshot::read(&json).unwrap()
}

fn entries(snap: &Snapshot) -> impl Iterator<Item = (&str, &Vec<(String, String)>)> {
    snap.counter
        .iter()
        .chain(&snap.gauge)
        .map(|e| (e.metric.as_str(), &e.labels))
        .chain(
            snap.histogram
                .iter()
                .map(|e| (e.metric.as_str(), &e.labels)),
        )
}

fn label<'a>(labels: &'a [(String, String)], key: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Every way `snap` breaks the catalogue: an uncatalogued name or label key, a missing
/// scope label, a run total with one.
fn catalogue_problems(snap: &Snapshot) -> Vec<String> {
    let mut problems = Vec::new();
    for (metric, labels) in entries(snap) {
        let Some(spec) = catalogue::find(metric) else {
            problems.push(format!("{metric}{labels:?}: not in the catalogue"));
            continue;
        };
        for (key, _) in labels {
            if !spec.labels.contains(&key.as_str()) && !labels::SCOPE_KEYS.contains(&key.as_str()) {
                problems.push(format!("{metric}{labels:?}: label `{key}` not catalogued"));
            }
        }
        let group = label(labels, labels::GROUP);
        match spec.scope {
            MetricScope::Run if group.is_some() => {
                problems.push(format!("{metric}{labels:?}: a run total with a scope"))
            }
            MetricScope::Run => {}
            MetricScope::Group | MetricScope::Proof if group.is_none() => {
                problems.push(format!("{metric}{labels:?}: no `group`"))
            }
            MetricScope::Group => {}
            MetricScope::Proof => {
                let app = matches!(group.unwrap().parse::<Group>(), Ok(Group::App(_)));
                if app && label(labels, labels::SEGMENT).is_none() {
                    problems.push(format!(
                        "{metric}{labels:?}: an app proof without `segment`"
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn every_metric_of_a_parallel_prove_is_catalogued_and_scoped() {
    let dir = tempfile::tempdir().unwrap();
    let snap = prove(dir.path(), None);
    let problems = catalogue_problems(&snap);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_metric_of_a_run_is_catalogued_and_scoped() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let out = starkscope_cmd(&["run", &fib(), "-i", "30", "--segment-size", "64"])
        .env("METRIC_OUTPUT", &json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let snap = Snapshot::read(&json).unwrap();
    assert_eq!(
        snap.counters(names::TOTAL_CYCLES).count(),
        SEGMENTS,
        "{snap:#?}"
    );
    let problems = catalogue_problems(&snap);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The gauges `metric` of one segment, by their labels.
fn per_segment<'a>(snap: &'a Snapshot, metric: &'a str) -> BTreeMap<usize, Vec<&'a Entry<String>>> {
    let mut out: BTreeMap<usize, Vec<_>> = BTreeMap::new();
    for e in snap.gauges(metric) {
        assert_eq!(label(&e.labels, labels::GROUP), Some(PROGRAM), "{e:?}");
        let segment = label(&e.labels, labels::SEGMENT)
            .unwrap_or_else(|| panic!("{e:?} has no segment"))
            .parse()
            .unwrap();
        out.entry(segment).or_default().push(e);
    }
    out
}

fn value(e: &Entry<String>) -> f64 {
    e.value.parse().unwrap()
}

#[test]
fn timings_are_one_per_scope_never_added_across_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let snap = prove(dir.path(), None);
    let app = |metric: &str| -> f64 {
        let all: Vec<_> = snap.gauges(metric).collect();
        assert_eq!(all.len(), 1, "{metric}: {all:#?}");
        value(all[0])
    };
    let app_proof = app(names::APP_PROOF_TIME_MS);
    app(names::KEYGEN_TIME_MS);
    app(names::VERIFY_TIME_MS);
    assert!(snap
        .gauge_value(names::KEYGEN_TIME_MS, &[("group", "keygen")])
        .is_some());
    assert!(snap
        .gauge_value(names::VERIFY_TIME_MS, &[("group", PROGRAM)])
        .is_some());

    let one_each = |metric: &str| -> Vec<f64> {
        let by_segment = per_segment(&snap, metric);
        assert_eq!(by_segment.len(), SEGMENTS, "{metric}: {by_segment:#?}");
        by_segment
            .values()
            .map(|es| {
                assert_eq!(es.len(), 1, "{metric}: {es:#?}");
                value(es[0])
            })
            .collect()
    };
    let totals = one_each(names::TOTAL_PROOF_TIME_MS);
    let trace_gen = one_each(names::TRACE_GEN_TIME_MS);
    let stark = one_each(names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS);
    one_each(names::EXECUTE_TIME_MS);
    let phases: Vec<Vec<f64>> = spans::PROVER_PHASES
        .iter()
        .map(|p| one_each(&catalogue::timing_metric_name(p)))
        .collect();
    for seg in 0..SEGMENTS {
        // A segment's proof is part of the app proof's wall time.
        assert!(
            totals[seg] <= app_proof * 1.02 + 1.0,
            "{totals:?} vs {app_proof}"
        );
        let phase_sum: f64 = phases.iter().map(|p| p[seg]).sum();
        assert!(
            phase_sum <= stark[seg] * 1.02 + 0.5,
            "segment {seg}: phases {phase_sum} > stark {}",
            stark[seg]
        );
    }

    // Each chip has its own entry per segment, and a segment's chips fit in its trace_gen.
    let chips = per_segment(&snap, names::CHIP_TRACE_GEN_TIME_MS);
    assert_eq!(chips.len(), SEGMENTS);
    for (seg, es) in &chips {
        let names: BTreeSet<_> = es
            .iter()
            .map(|e| label(&e.labels, labels::AIR_NAME).expect("air_name"))
            .collect();
        assert_eq!(names, CHIPS.into_iter().collect(), "segment {seg}");
        assert_eq!(es.len(), CHIPS.len(), "segment {seg}: {es:#?}");
        let sum: f64 = es.iter().map(|e| value(e)).sum();
        assert!(
            sum <= trace_gen[*seg] * 1.02 + 0.5,
            "segment {seg}: chips {sum} > trace_gen {}",
            trace_gen[*seg]
        );
    }
}

#[test]
fn rust_log_changes_what_is_printed_never_what_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let keys = |rust_log: Option<&str>| -> BTreeSet<String> {
        entries(&prove(dir.path(), rust_log))
            .map(|(metric, labels)| format!("{metric}{labels:?}"))
            .collect()
    };
    let default = keys(None);
    assert!(
        default.iter().any(|k| k.starts_with("execute_time_ms")),
        "{default:#?}"
    );
    for level in ["off", "warn", "debug"] {
        let got = keys(Some(level));
        assert_eq!(
            got.symmetric_difference(&default).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "RUST_LOG={level}"
        );
    }
}
