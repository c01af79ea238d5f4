//! Prometheus export: the pull endpoint during a run, the final Pushgateway PUT (fake
//! gateway for faults, the real Debian pushgateway + Prometheus end to end), and the
//! console template rendered by the real Prometheus.
#![cfg(feature = "prometheus")]

mod common;

use std::time::{Duration, SystemTime};

use common::{exposition_value, free_port, http_get, query_until, workload, Behaviour, FakeServer};
use starkscope_harness::export::prometheus::{PrometheusConfig, PushConfig};
use starkscope_harness::{Harness, Install};
use starkscope_metrics::names;
use starkscope_snapshot::Snapshot;

fn harness() -> Harness {
    Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .filter("info")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The JSON is written and complete whatever the exporter did.
fn assert_complete_json(path: &std::path::Path) {
    let s = Snapshot::read(path).unwrap();
    for segment in ["0", "1"] {
        let labels = [("group", "fib"), ("segment", segment)];
        assert!(
            s.counter_value(names::TOTAL_CYCLES, &labels).is_some(),
            "{s:#?}"
        );
        assert!(s.gauge_value(names::PCS_OPENING_TIME_MS, &labels).is_some());
    }
}

#[test]
fn final_push_puts_the_whole_run_under_job_and_instance() {
    let gateway = FakeServer::start(Behaviour::Status(200), Vec::new());
    let before = unix_now();
    let collected = harness()
        .prometheus(
            PrometheusConfig::new().push(
                PushConfig::new(gateway.url(""))
                    .program("fib")
                    .instance("host-a"),
            ),
        )
        .run(workload)
        .unwrap();
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
    let reqs = gateway.requests();
    assert_eq!(reqs.len(), 1, "exactly one push at the end: {reqs:?}");
    let r = &reqs[0];
    assert_eq!(r.method, "PUT");
    let ts: u64 = r
        .path
        .strip_prefix("/metrics/job/fib_")
        .and_then(|rest| rest.strip_suffix("/instance/host-a"))
        .and_then(|ts| ts.parse().ok())
        .unwrap_or_else(|| panic!("path {}", r.path));
    assert!(ts >= before && ts <= unix_now(), "{ts}");
    let body = String::from_utf8(r.body.clone()).unwrap();
    let seg = |s| [("group", "fib"), ("segment", s)];
    assert_eq!(
        exposition_value(&body, "total_cycles", &seg("1")),
        Some(101.0),
        "{body}"
    );
    assert!(body.contains("# TYPE pcs_opening_time_ms gauge"), "{body}");
    let opening = collected
        .snapshot
        .gauge_value(names::PCS_OPENING_TIME_MS, &seg("0"))
        .unwrap();
    assert_eq!(
        exposition_value(&body, "pcs_opening_time_ms", &seg("0")),
        Some(opening),
        "{body}"
    );
}

#[test]
fn periodic_pushes_happen_during_the_run_and_once_more_at_the_end() {
    let gateway = FakeServer::start(Behaviour::Status(202), Vec::new());
    let collected = harness()
        .prometheus(
            PrometheusConfig::new().push(
                PushConfig::new(gateway.url(""))
                    .job("periodic")
                    .interval(Duration::from_millis(50)),
            ),
        )
        .run(|| {
            workload();
            std::thread::sleep(Duration::from_millis(400));
        })
        .unwrap();
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
    let reqs = gateway.requests();
    assert!(reqs.len() >= 3, "periodic and final pushes: {}", reqs.len());
    assert!(reqs
        .iter()
        .all(|r| r.path.starts_with("/metrics/job/periodic/instance/")));
}

#[test]
fn pull_endpoint_serves_during_the_run_on_loopback_and_stops_after() {
    let port = free_port();
    let collected = harness()
        .prometheus(PrometheusConfig::new().listen(([127, 0, 0, 1], port).into()))
        .run(|| {
            workload();
            http_get(port, "/metrics").expect("scrape during the run")
        })
        .unwrap();
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
    let scrape = collected.value;
    assert_eq!(scrape.status, 200);
    assert_eq!(
        exposition_value(
            &scrape.body,
            "total_cycles",
            &[("group", "fib"), ("segment", "0")]
        ),
        Some(100.0),
        "{}",
        scrape.body
    );
    assert!(
        http_get(port, "/metrics").is_err(),
        "listener still up after the run"
    );
}

#[test]
fn busy_listen_port_is_a_warning_and_the_push_still_happens() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let gateway = FakeServer::start(Behaviour::Status(200), Vec::new());
    let collected = harness()
        .prometheus(
            PrometheusConfig::new()
                .listen(addr)
                .push(PushConfig::new(gateway.url("")).job("j")),
        )
        .run(workload)
        .unwrap();
    assert_eq!(collected.warnings.len(), 1, "{:?}", collected.warnings);
    assert_eq!(collected.warnings[0].exporter, "prometheus-listener");
    assert!(collected.warnings[0].message.contains(&addr.to_string()));
    assert_eq!(gateway.requests().len(), 1);
}

fn push_fault(
    gateway_url: String,
    timeout: Duration,
) -> (starkscope_harness::ExportWarning, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("metrics.json");
    let collected = harness()
        .output(&out)
        .prometheus(
            PrometheusConfig::new()
                .push(PushConfig::new(gateway_url).job("fault").timeout(timeout)),
        )
        .run(workload)
        .expect("an exporter failure never fails the run");
    assert_complete_json(&out);
    assert_eq!(collected.warnings.len(), 1, "{:?}", collected.warnings);
    let w = collected.warnings[0].clone();
    assert_eq!(w.exporter, "pushgateway");
    assert!(w.to_string().contains("pushgateway"), "{w}");
    (w, dir)
}

#[test]
fn gateway_down_is_a_warning() {
    let (w, _dir) = push_fault(
        format!("http://127.0.0.1:{}", free_port()),
        Duration::from_secs(2),
    );
    assert!(w.message.contains("/metrics/job/fault/instance/"), "{w}");
}

#[test]
fn gateway_answering_500_is_a_warning_with_status_and_body() {
    let gateway = FakeServer::start(Behaviour::Status(500), b"disk full".to_vec());
    let (w, _dir) = push_fault(gateway.url(""), Duration::from_secs(2));
    assert!(
        w.message.contains("HTTP 500") && w.message.contains("disk full"),
        "{w}"
    );
}

#[test]
fn slow_gateway_times_out_as_a_warning() {
    let gateway = FakeServer::start(Behaviour::Slow(Duration::from_secs(3)), Vec::new());
    let (w, _dir) = push_fault(gateway.url(""), Duration::from_millis(300));
    assert!(
        w.message.to_lowercase().contains("timeout") || w.message.contains("timed out"),
        "{w}"
    );
}

#[test]
fn env_config_defaults_to_loopback_and_names_bad_variables() {
    use starkscope_harness::export::prometheus::env;
    // The only test in this binary that touches these variables.
    std::env::set_var(env::LISTEN, "9999");
    std::env::set_var(env::PUSHGATEWAY, "http://127.0.0.1:9091");
    std::env::set_var(env::PUSH_INTERVAL, "15s");
    let c = PrometheusConfig::from_env().unwrap().unwrap();
    assert_eq!(c.listen.unwrap().to_string(), "127.0.0.1:9999");
    let push = c.push.unwrap();
    assert_eq!(push.interval, Some(Duration::from_secs(15)));
    std::env::set_var(env::PUSH_INTERVAL, "soon");
    let e = PrometheusConfig::from_env().unwrap_err();
    assert!(e.to_string().contains(env::PUSH_INTERVAL), "{e}");
    for v in [env::LISTEN, env::PUSHGATEWAY, env::PUSH_INTERVAL] {
        std::env::remove_var(v);
    }
    assert!(PrometheusConfig::from_env().unwrap().is_none());
}

#[test]
fn end_to_end_push_is_queryable_in_prometheus_and_drawn_by_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = common::pushgateway(dir.path());
    let prom = common::prometheus(dir.path(), &gateway);

    let before = unix_now();
    let h = harness();
    // With resource sampling compiled in, the console's memory and CPU columns are fed too.
    #[cfg(feature = "resources")]
    let h = h.sample_resources(starkscope_harness::resources::ResourceConfig::default());
    let collected = h
        .prometheus(
            PrometheusConfig::new().push(
                PushConfig::new(format!("http://{}", gateway.addr()))
                    .program("e2e")
                    .instance("ci-host"),
            ),
        )
        .run(workload)
        .unwrap();
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);

    let cycles = query_until(
        &prom,
        "total_cycles{job=~\"e2e_[0-9]+\", instance=\"ci-host\"}",
        2,
    );
    let mut job = String::new();
    for series in &cycles {
        let m = &series["metric"];
        assert_eq!(m["group"], "fib", "{series}");
        job = m["job"].as_str().unwrap().to_string();
        let ts: u64 = job.strip_prefix("e2e_").unwrap().parse().unwrap();
        assert!(ts >= before && ts <= unix_now());
        let segment = m["segment"].as_str().unwrap();
        let want = if segment == "0" { "100" } else { "101" };
        assert_eq!(series["value"][1], want, "{series}");
    }
    let opening = query_until(&prom, &format!("pcs_opening_time_ms{{job=\"{job}\"}}"), 2);
    for series in &opening {
        let segment = series["metric"]["segment"].as_str().unwrap();
        let got: f64 = series["value"][1].as_str().unwrap().parse().unwrap();
        let want = collected
            .snapshot
            .gauge_value(
                names::PCS_OPENING_TIME_MS,
                &[("group", "fib"), ("segment", segment)],
            )
            .unwrap();
        assert_eq!(got, want, "segment {segment}");
    }

    let page = http_get(prom.port, &format!("/consoles/starkscope.html?job={job}")).unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    // Kept for a look: target-*/tmp/starkscope-console.html.
    let _ = std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("starkscope-console.html"),
        &page.body,
    );
    assert!(
        !page.body.contains("error executing template"),
        "{}",
        page.body
    );
    for segment in ["0", "1"] {
        assert!(
            page.body
                .contains(&format!("<td class=\"name\">{segment}</td>")),
            "{}",
            page.body
        );
        let exec = collected
            .snapshot
            .gauge_value(
                names::EXECUTE_TIME_MS,
                &[("group", "fib"), ("segment", segment)],
            )
            .unwrap();
        assert!(
            page.body.contains(&format!("<td>{exec:.3}</td>")),
            "execute {exec:.3}: {}",
            page.body
        );
    }
    assert!(
        page.body
            .contains("<td class=\"name\">pcs_opening_time_ms</td>"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("no prover phase series"),
        "{}",
        page.body
    );

    #[cfg(feature = "resources")]
    {
        // Peak RSS and CPU per segment and the run's totals are shown: no empty cell.
        assert!(!page.body.contains("<td>—</td>"), "{}", page.body);
        let cpu = collected
            .snapshot
            .gauge_value(names::RUN_CPU_TIME_MS, &[])
            .unwrap();
        assert!(
            page.body.contains(&format!("<td>{cpu:.3}</td>")),
            "run cpu {cpu:.3}: {}",
            page.body
        );
    }

    // Every query of the Grafana dashboard returns series for this run.
    let dashboard =
        std::fs::read_to_string(common::dashboards_dir().join("grafana/starkscope.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap().replace("$job", &job);
            if !cfg!(feature = "resources") && expr.contains("phase=\"\"") {
                continue; // resource series exist only with sampling
            }
            query_until(&prom, &expr, 1);
        }
    }
    let jobs = http_get(
        prom.port,
        &format!(
            "/api/v1/label/job/values?match[]={}",
            common::encode("total_cycles")
        ),
    )
    .unwrap();
    assert!(jobs.body.contains(&job), "{}", jobs.body);

    let index = http_get(prom.port, "/consoles/starkscope.html").unwrap();
    assert_eq!(index.status, 200);
    assert!(
        index.body.contains(&format!("?job={job}")),
        "{}",
        index.body
    );
}
