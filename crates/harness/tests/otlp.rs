//! OTLP/HTTP export, checked by a receiver that decodes requests with the official
//! OpenTelemetry protobuf types (opentelemetry-proto), and its faults.
#![cfg(feature = "otlp")]

mod common;

use std::time::Duration;

use common::{free_port, workload, Behaviour, FakeServer, Request};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric, NumberDataPoint};
use prost::Message;
use starkscope_harness::export::otlp::{env, OtlpConfig};
use starkscope_harness::{Harness, Install};
use starkscope_metrics::names;
use starkscope_snapshot::Snapshot;

fn harness() -> Harness {
    Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .filter("info")
        .run_id("run-42")
}

fn ok_receiver() -> FakeServer {
    FakeServer::start(
        Behaviour::Status(200),
        ExportMetricsServiceResponse::default().encode_to_vec(),
    )
}

fn decode(r: &Request) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest::decode(r.body.as_slice()).expect("an OTLP protobuf request")
}

fn attrs(kvs: &[KeyValue]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = kvs
        .iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect();
    out.sort();
    out
}

fn metric<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    req.resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .find(|m| m.name == name)
        .unwrap_or_else(|| {
            let names: Vec<_> = req
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .map(|m| m.name.as_str())
                .collect();
            panic!("{name} not exported; got {names:?}")
        })
}

fn point<'a>(points: &'a [NumberDataPoint], segment: &str) -> &'a NumberDataPoint {
    let want = vec![
        ("group".to_string(), "fib".to_string()),
        ("run_id".to_string(), "run-42".to_string()),
        ("segment".to_string(), segment.to_string()),
    ];
    points
        .iter()
        .find(|p| attrs(&p.attributes) == want)
        .unwrap_or_else(|| panic!("no point with {want:?} in {points:#?}"))
}

#[test]
fn export_uses_otel_names_units_attributes_and_values() {
    let receiver = ok_receiver();
    let collected = harness()
        .otlp(
            OtlpConfig::new(receiver.url("/v1/metrics"))
                .header("x-api-key", "secret")
                .timeout(Duration::from_secs(5)),
        )
        .run(|| {
            workload();
            // Not catalogued: a count that only grows, as the `metrics` crate means it.
            starkscope_metrics::metrics::counter!("requests_served").increment(3);
        })
        .unwrap();
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
    assert_eq!(collected.exported.len(), 1, "{:?}", collected.exported);
    let e = &collected.exported[0];
    assert_eq!(
        (e.exporter, e.to.as_str()),
        ("otlp", receiver.url("/v1/metrics").as_str())
    );
    assert!(
        e.to_string()
            .starts_with(&format!("metrics sent to {} (OTLP/HTTP, ", e.to)),
        "{e}"
    );
    let reqs = receiver.requests();
    assert_eq!(reqs.len(), 1, "one flush at the end");
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/metrics")
    );
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r.header("x-api-key"), Some("secret"));
    let req = decode(r);

    let resource = req.resource_metrics[0].resource.as_ref().unwrap();
    let res = attrs(&resource.attributes);
    assert!(res.contains(&("run_id".into(), "run-42".into())), "{res:?}");
    assert!(
        res.contains(&("service.name".into(), "starkscope".into())),
        "{res:?}"
    );

    // A counter of one proof (set once, the next proof's may be smaller): a gauge, unit
    // "1", integer values.
    let cycles = metric(&req, "starkscope.vm.total_cycles");
    assert_eq!(cycles.unit, "1");
    assert!(!cycles.description.is_empty());
    let Some(metric::Data::Gauge(gauge)) = &cycles.data else {
        panic!("a per-proof count must be a gauge: {cycles:?}")
    };
    for (segment, want) in [("0", 100), ("1", 101)] {
        assert_eq!(
            point(&gauge.data_points, segment).value,
            Some(number_data_point::Value::AsInt(want))
        );
    }
    // A counter outside the catalogue: a cumulative monotonic sum.
    let served = metric(&req, "starkscope.requests_served");
    let Some(metric::Data::Sum(sum)) = &served.data else {
        panic!("{served:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsInt(3))
    );

    // A timing: a gauge in seconds, the snapshot's milliseconds / 1000.
    let opening = metric(&req, "starkscope.prover.pcs_opening.duration");
    assert_eq!(opening.unit, "s");
    let Some(metric::Data::Gauge(gauge)) = &opening.data else {
        panic!("{opening:?}")
    };
    for segment in ["0", "1"] {
        let ms = collected
            .snapshot
            .gauge_value(
                names::PCS_OPENING_TIME_MS,
                &[("group", "fib"), ("segment", segment)],
            )
            .unwrap();
        assert_eq!(
            point(&gauge.data_points, segment).value,
            Some(number_data_point::Value::AsDouble(ms * 0.001))
        );
    }

    // Bytes keep their values, unit By.
    let size = metric(&req, "starkscope.prover.proof_size");
    assert_eq!(size.unit, "By");
    // Nothing leaks the catalogue names or units into OTel names.
    for m in req
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
    {
        assert!(m.name.starts_with("starkscope."), "{}", m.name);
        assert!(
            !m.name.ends_with("_ms") && !m.name.ends_with("_bytes"),
            "{}",
            m.name
        );
    }
}

/// Runs the workload against a failing endpoint: the run succeeds, the JSON is complete,
/// and one warning names the exporter.
fn fault(endpoint: String, timeout: Duration) -> starkscope_harness::ExportWarning {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("metrics.json");
    let collected = harness()
        .output(&out)
        .otlp(OtlpConfig::new(endpoint).timeout(timeout))
        .run(workload)
        .expect("an exporter failure never fails the run");
    let s = Snapshot::read(&out).unwrap();
    assert_eq!(s, collected.snapshot);
    for segment in ["0", "1"] {
        assert!(s
            .gauge_value(
                names::PCS_OPENING_TIME_MS,
                &[("group", "fib"), ("segment", segment)]
            )
            .is_some());
    }
    assert_eq!(collected.warnings.len(), 1, "{:?}", collected.warnings);
    let w = collected.warnings[0].clone();
    assert_eq!(w.exporter, "otlp");
    assert!(w.to_string().starts_with("metrics exporter `otlp`"), "{w}");
    w
}

#[test]
fn unreachable_endpoint_is_a_warning() {
    let endpoint = format!("http://127.0.0.1:{}/v1/metrics", free_port());
    let w = fault(endpoint.clone(), Duration::from_secs(2));
    assert!(w.message.contains(&endpoint), "{w}");
}

#[test]
fn endpoint_answering_500_is_a_warning() {
    let receiver = FakeServer::start(Behaviour::Status(500), b"overloaded".to_vec());
    let w = fault(receiver.url("/v1/metrics"), Duration::from_secs(2));
    assert!(w.message.contains("500"), "{w}");
}

#[test]
fn slow_endpoint_times_out_as_a_warning() {
    let receiver = FakeServer::start(Behaviour::Slow(Duration::from_secs(3)), Vec::new());
    let started = std::time::Instant::now();
    let w = fault(receiver.url("/v1/metrics"), Duration::from_millis(300));
    assert!(
        w.message.to_lowercase().contains("timeout") || w.message.contains("timed out"),
        "{w}"
    );
    // The export gave up before the endpoint answered (it answers after 3 s).
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn env_configures_endpoint_and_api_key() {
    // The only test in this binary that touches these variables.
    let receiver = ok_receiver();
    std::env::set_var(env::ENDPOINT, receiver.url("/v1/metrics"));
    std::env::set_var(env::API_KEY, "k1");
    let collected = harness()
        .exporters_from_env()
        .unwrap()
        .run(workload)
        .unwrap();
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
    let reqs = receiver.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("authorization"), Some("Bearer k1"));

    std::env::set_var(env::API_KEY_HEADER, "x-api-key");
    let c = OtlpConfig::from_env().unwrap().unwrap();
    assert_eq!(c.headers, vec![("x-api-key".to_string(), "k1".to_string())]);
    assert!(
        !format!("{c:?}").contains("k1"),
        "credentials must not be printed"
    );

    std::env::set_var(env::ENDPOINT, "127.0.0.1:4318");
    let e = OtlpConfig::from_env().unwrap_err();
    assert!(e.to_string().contains(env::ENDPOINT), "{e}");
    // The default harness reads the same variables and refuses to start on a bad one
    // (before installing anything).
    let e = starkscope_harness::run_with_metric_collection("METRIC_OUTPUT", || ()).unwrap_err();
    assert!(
        matches!(e, starkscope_harness::HarnessError::ExportConfig(_)),
        "{e:?}"
    );
    assert!(e.to_string().contains(env::ENDPOINT), "{e}");
    for v in [env::ENDPOINT, env::API_KEY, env::API_KEY_HEADER] {
        std::env::remove_var(v);
    }
    assert!(OtlpConfig::from_env().unwrap().is_none());
}
