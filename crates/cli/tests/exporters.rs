//! The real `starkscope prove`, built with `--features exporters`, exporting a proof of the
//! bundled fibonacci program where the environment says: to a real Pushgateway scraped by
//! a real Prometheus (every query of the Grafana dashboard and the console page answered
//! for that run), over OTLP to a receiver that decodes the request, and on a pull endpoint.
//! Unreachable or refusing exporters cost neither the proof nor the JSON; a malformed
//! variable fails before any work. Daemons bind 127.0.0.1 on free ports, stopped by PID.
#![cfg(feature = "exporters")]

mod common;
#[path = "../../harness/tests/common/servers.rs"]
mod servers;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::{fib, s, starkscope_cmd, text, QUICK};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::{metric, Metric};
use prost::Message;
use servers::{
    dashboards_dir, encode, free_port, http, http_get, prometheus, pushgateway, query_until,
    Behaviour, FakeServer,
};
use starkscope_harness::export::env;
use starkscope_metrics::names;
use starkscope_snapshot::Snapshot;

const SEGMENTS: usize = 3;

/// `starkscope prove` of fibonacci(30) in 64-cycle segments (3 proofs) at the testing
/// preset, with only `vars` of the exporter variables set.
fn prove(vars: &[(&str, String)], extra: &[&str]) -> Output {
    let mut cmd = starkscope_cmd(&[&["prove", &fib(), "--quiet"][..], &QUICK[..]].concat());
    cmd.args(extra);
    for (var, _) in env::SWITCHES {
        cmd.env_remove(var);
    }
    for var in [
        env::PUSH_INTERVAL,
        env::PUSH_INSTANCE,
        env::PUSH_JOB,
        env::PUSH_TIMEOUT,
        env::METRICS_API_KEY,
        env::METRICS_API_KEY_HEADER,
        env::METRICS_TIMEOUT,
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    cmd.output().expect("the starkscope binary runs")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The stderr line starting with `prefix`.
fn line<'a>(stderr: &'a str, prefix: &str) -> &'a str {
    stderr
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line `{prefix}...` on stderr:\n{stderr}"))
}

fn succeeded(out: &Output) -> String {
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// The proof verifies and the JSON holds every segment: the exporters cost neither.
fn assert_outputs(proof: &Path, json: &Path) -> Snapshot {
    let verify = Command::new(env!("CARGO_BIN_EXE_starkscope"))
        .args(["verify", s(proof), "--program", &fib()])
        .args(["--fri", "testing", "--allow-insecure"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    let snap = Snapshot::read(json).unwrap();
    let segments = snap
        .counter
        .iter()
        .filter(|e| e.metric == names::TOTAL_CYCLES)
        .count();
    assert_eq!(segments, SEGMENTS, "{snap:#?}");
    snap
}

fn label<'a>(labels: &'a [(String, String)], key: &str) -> &'a str {
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[test]
fn a_pushed_proof_feeds_prometheus_every_dashboard_query_and_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = pushgateway(dir.path());
    let prom = prometheus(dir.path(), &gateway);
    let (json, proof) = (dir.path().join("run.json"), dir.path().join("p.proof"));

    let before = unix_now();
    let out = prove(
        &[
            (env::PUSHGATEWAY, format!("http://{}", gateway.addr())),
            (env::PUSH_INSTANCE, "cli-test".into()),
        ],
        &["--metrics", s(&json), "--out", s(&proof)],
    );
    let stderr = succeeded(&out);
    let snap = assert_outputs(&proof, &json);

    // The run says where it pushed: its own group, job `{program}_{unix_ts}`.
    let pushed = line(&stderr, "metrics pushed to ");
    let prefix = format!(
        "metrics pushed to http://{}/metrics/job/fibonacci_",
        gateway.addr()
    );
    let (ts, rest) = pushed
        .strip_prefix(&prefix)
        .and_then(|r| r.split_once("/instance/cli-test (Pushgateway, "))
        .unwrap_or_else(|| panic!("{pushed}"));
    let ts: u64 = ts.parse().unwrap();
    assert!(ts >= before && ts <= unix_now(), "{pushed}");
    assert!(rest.ends_with(" samples)"), "{pushed}");
    let job = format!("fibonacci_{ts}");
    assert!(
        stderr.contains(&format!("metrics written to {}", json.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");

    // Its series, found through Prometheus's query API, are the snapshot's values.
    let cycles = query_until(&prom, &format!("total_cycles{{job=\"{job}\"}}"), SEGMENTS);
    assert_eq!(cycles.len(), SEGMENTS);
    for series in &cycles {
        let m = &series["metric"];
        assert_eq!(m["instance"], "cli-test", "{series}");
        let want = snap
            .counter
            .iter()
            .find(|e| {
                e.metric == names::TOTAL_CYCLES
                    && label(&e.labels, "segment") == m["segment"].as_str().unwrap()
            })
            .unwrap();
        assert_eq!(m["group"].as_str(), Some(label(&want.labels, "group")));
        assert_eq!(series["value"][1], want.value.as_str(), "{series}");
    }
    let rows = snap
        .counter
        .iter()
        .filter(|e| e.metric == names::ROWS)
        .count();
    query_until(&prom, &format!("rows{{job=\"{job}\"}}"), rows);

    // The dashboard's run picker lists the run ...
    let jobs = http_get(
        prom.port,
        &format!(
            "/api/v1/label/job/values?match[]={}",
            encode("total_cycles")
        ),
    )
    .unwrap();
    assert!(jobs.body.contains(&job), "{}", jobs.body);
    // ... and every panel query answers for it.
    let dashboard =
        std::fs::read_to_string(dashboards_dir().join("grafana/starkscope.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap().replace("$job", &job);
            let series = query_until(&prom, &expr, 1);
            // Per-segment panels have a series per segment.
            if expr.contains("segment!=") || target["format"] == "table" {
                assert!(series.len() >= SEGMENTS, "`{expr}`: {series:?}");
            }
            queries += 1;
        }
    }
    assert!(queries >= 12, "{queries} queries");

    // The console page, rendered by that Prometheus: every query it runs has data.
    let page = http_get(prom.port, &format!("/consoles/starkscope.html?job={job}")).unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("starkscope-console-cli.html"),
        &page.body,
    );
    for empty in [
        "error executing template",
        "<td>—</td>",
        "no segment of",
        "no prover phase",
    ] {
        assert!(!page.body.contains(empty), "`{empty}` in:\n{}", page.body);
    }
    for e in snap
        .gauge
        .iter()
        .filter(|e| e.metric == names::EXECUTE_TIME_MS)
    {
        let v: f64 = e.value.parse().unwrap();
        assert!(page.body.contains(&format!("<td>{v:.3}</td>")), "{v}");
    }
    let console =
        std::fs::read_to_string(dashboards_dir().join("prometheus/consoles/starkscope.html"))
            .unwrap();
    for name in console_selectors(&console) {
        query_until(&prom, &format!("{name}{{job=\"{job}\"}}"), 1);
    }
    let index = http_get(prom.port, "/consoles/starkscope.html").unwrap();
    assert!(
        index.body.contains(&format!("?job={job}")),
        "{}",
        index.body
    );

    // Once scraped, the run's group can be deleted, as docs/observability.md says.
    let group = format!("/metrics/job/{job}/instance/cli-test");
    assert_eq!(
        http(gateway.port, "DELETE", &group, b"").unwrap().status,
        202
    );
    let left = http_get(gateway.port, "/metrics").unwrap().body;
    assert!(!left.contains(&format!("job=\"{job}\"")), "{left}");
}

/// The metric names the console page selects (`name{`).
fn console_selectors(html: &str) -> Vec<String> {
    let mut names: Vec<String> = html
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '{'))
        .filter_map(|w| {
            w.strip_suffix('{')
                .or_else(|| w.split_once('{').map(|p| p.0))
        })
        .filter(|w| starkscope_metrics::catalogue::find(w).is_some())
        .map(String::from)
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 10, "{names:?}");
    names
}

#[test]
fn a_refused_push_is_a_warning_and_a_stable_job_replaces_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = pushgateway(dir.path());
    // A group pushed by an "older version" where `total_cycles` was a gauge: the
    // Pushgateway refuses any push that gives the name another type.
    let old = http(
        gateway.port,
        "PUT",
        "/metrics/job/older/instance/x",
        b"# TYPE total_cycles gauge\ntotal_cycles 1\n",
    )
    .unwrap();
    assert_eq!(old.status, 200, "{}", old.body);
    let (json, proof) = (dir.path().join("run.json"), dir.path().join("p.proof"));
    let vars = [
        (env::PUSHGATEWAY, format!("http://{}", gateway.addr())),
        (env::PUSH_JOB, "fib-latest".to_string()),
        (env::PUSH_INSTANCE, "ci".to_string()),
    ];
    let out = prove(&vars, &["--metrics", s(&json), "--out", s(&proof)]);
    let stderr = succeeded(&out);
    assert_outputs(&proof, &json);
    let w = line(&stderr, "warning: metrics exporter `pushgateway`: PUT ");
    assert!(
        w.contains("/metrics/job/fib-latest/instance/ci: HTTP 400")
            && w.contains("delete the old groups"),
        "{w}"
    );

    // Without the old group, the stable job holds the latest run.
    assert_eq!(
        http(gateway.port, "DELETE", "/metrics/job/older/instance/x", b"")
            .unwrap()
            .status,
        202
    );
    let out = prove(&vars, &[]);
    let stderr = succeeded(&out);
    line(
        &stderr,
        &format!(
            "metrics pushed to http://{}/metrics/job/fib-latest/instance/ci (",
            gateway.addr()
        ),
    );
    let held = http_get(gateway.port, "/metrics").unwrap().body;
    assert!(
        held.lines()
            .any(|l| l.starts_with("total_cycles{") && l.contains("job=\"fib-latest\"")),
        "{held}"
    );
}

#[test]
fn otlp_sends_per_proof_counts_as_gauges_and_the_listener_serves_during_the_run() {
    let receiver = FakeServer::start(
        Behaviour::Status(200),
        ExportMetricsServiceResponse::default().encode_to_vec(),
    );
    let port = free_port();
    let endpoint = receiver.url("/v1/metrics");
    let mut child = Command::new(env!("CARGO_BIN_EXE_starkscope"));
    child
        .args(["prove", &fib(), "-i", "30", "--segment-size", "64"])
        .args(["--fri", "testing", "--quiet"])
        .env_remove("METRIC_OUTPUT")
        .env_remove(env::PUSHGATEWAY)
        .env(env::METRICS_ENDPOINT, &endpoint)
        .env(env::PROMETHEUS_LISTEN, port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = child.spawn().unwrap();
    // Scrape while it proves: the endpoint is up from the start of the run to its end.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut scraped = None;
    while scraped.is_none() && std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        scraped = http_get(port, "/metrics").ok().filter(|r| r.status == 200);
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = succeeded(&out);
    assert!(scraped.is_some(), "no scrape answered during the run");
    line(
        &stderr,
        &format!("metrics served at http://127.0.0.1:{port}/metrics (Prometheus"),
    );
    let sent = line(&stderr, &format!("metrics sent to {endpoint} (OTLP/HTTP, "));
    assert!(sent.ends_with(" data points)"), "{sent}");

    let reqs = receiver.requests();
    assert_eq!(reqs.len(), 1, "one export at the end");
    let req = ExportMetricsServiceRequest::decode(reqs[0].body.as_slice()).unwrap();
    let metrics: Vec<&Metric> = req
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .collect();
    let find = |name: &str| {
        *metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} not exported"))
    };
    // Counts of one proof (or of keygen) are not monotonic: gauges, not sums.
    for name in [
        "starkscope.prover.rows",
        "starkscope.prover.cells",
        "starkscope.keygen.constraint_deg",
        "starkscope.vm.total_cycles",
    ] {
        let m = find(name);
        let Some(metric::Data::Gauge(g)) = &m.data else {
            panic!("{name} must be a gauge: {m:?}")
        };
        assert!(!g.data_points.is_empty(), "{name}");
    }
    let Some(metric::Data::Gauge(_)) = &find("starkscope.vm.execute.duration").data else {
        panic!("timings are gauges")
    };
    assert!(
        metrics
            .iter()
            .all(|m| !matches!(m.data, Some(metric::Data::Sum(_)))),
        "no catalogued metric is a monotonic sum today"
    );
}

#[test]
fn unreachable_exporters_are_warnings_that_cost_neither_proof_nor_json() {
    let dir = tempfile::tempdir().unwrap();
    let (json, proof) = (dir.path().join("run.json"), dir.path().join("p.proof"));
    let down = |path: &str| format!("http://127.0.0.1:{}{path}", free_port());
    let out = prove(
        &[
            (env::PUSHGATEWAY, down("")),
            (env::METRICS_ENDPOINT, down("/v1/metrics")),
            (env::PUSH_TIMEOUT, "2s".into()),
            (env::METRICS_TIMEOUT, "2s".into()),
        ],
        &["--metrics", s(&json), "--out", s(&proof)],
    );
    let stderr = succeeded(&out);
    assert_outputs(&proof, &json);
    line(
        &stderr,
        "warning: metrics exporter `pushgateway`: PUT http://127.0.0.1:",
    );
    line(
        &stderr,
        "warning: metrics exporter `otlp`: http://127.0.0.1:",
    );
    assert!(!stderr.contains("metrics pushed"), "{stderr}");
}

#[test]
fn a_malformed_exporter_variable_fails_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("p.proof");
    for (vars, named) in [
        (
            vec![
                (env::PUSHGATEWAY, "http://127.0.0.1:9".to_string()),
                (env::PUSH_INTERVAL, "soon".to_string()),
            ],
            env::PUSH_INTERVAL,
        ),
        (
            vec![(env::METRICS_ENDPOINT, "127.0.0.1:4318".to_string())],
            env::METRICS_ENDPOINT,
        ),
        (
            vec![(env::PROMETHEUS_LISTEN, "localhost".to_string())],
            env::PROMETHEUS_LISTEN,
        ),
    ] {
        let out = prove(&vars, &["--out", s(&proof)]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "a usage error: {stderr}");
        assert!(stderr.contains(named), "{named}: {stderr}");
        assert!(!proof.exists(), "nothing is proven for a bad {named}");
        assert!(out.stdout.is_empty(), "{named}: no summary, nothing ran");
    }
}
