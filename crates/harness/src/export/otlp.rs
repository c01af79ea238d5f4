//! OpenTelemetry: OTLP/HTTP protobuf export of the run's final snapshot.
//!
//! At the end of the run every entry of the snapshot is recorded once into OpenTelemetry
//! SDK instruments (one instrument per metric name, reused for every label set), named by
//! [`otel_names`](super::otel_names) (dotted, base units in metadata, ms scaled to
//! seconds), with each label as an attribute plus `run_id`. The SDK's OTLP exporter
//! (opentelemetry-otlp, `http-proto`) then sends one `ExportMetricsServiceRequest` to
//! the endpoint, used verbatim (it must include `/v1/metrics`), over a small blocking
//! HTTP client whose every request is bounded by the timeout. Gauges export as gauges,
//! histograms as histograms, and counters as [`otel_names::instrument`](super::otel_names::instrument)
//! says: a per-proof or per-group count (set once, not monotonic) as a gauge, a count of the
//! whole run as a cumulative monotonic sum.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::Resource;

use super::otel_names::{instrument, otel_metric, Instrument};
use super::{env_duration, env_value, http, EnvConfigError, ExportWarning, Exported};
use starkscope_metrics::catalogue::MetricKind;
use starkscope_snapshot::{parse_counter, parse_gauge, Entry, Snapshot};

/// Environment variables read by [`OtlpConfig::from_env`] (defined in
/// [`export::env`](super::env)).
pub mod env {
    pub use crate::export::env::{
        METRICS_API_KEY as API_KEY, METRICS_API_KEY_HEADER as API_KEY_HEADER,
        METRICS_ENDPOINT as ENDPOINT, METRICS_TIMEOUT as TIMEOUT,
    };
}

/// Default bound of the export request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The name under which warnings about this exporter appear.
pub const EXPORTER: &str = "otlp";

/// OTLP export options.
#[derive(Clone)]
pub struct OtlpConfig {
    /// The full URL, `/v1/metrics` included.
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    /// `service.name` of the resource.
    pub service_name: String,
}

impl std::fmt::Debug for OtlpConfig {
    // Header values are credentials: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpConfig")
            .field("endpoint", &self.endpoint)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("service_name", &self.service_name)
            .finish()
    }
}

impl OtlpConfig {
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            service_name: "starkscope".to_string(),
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// The configuration [`env`] describes; `None` when `METRICS_ENDPOINT` is not set.
    pub fn from_env() -> Result<Option<Self>, EnvConfigError> {
        let Some(endpoint) = env_value(env::ENDPOINT) else {
            return Ok(None);
        };
        let endpoint = endpoint.trim().to_string();
        if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
            return Err(EnvConfigError {
                var: env::ENDPOINT,
                value: endpoint,
                message: "not an http(s) URL (expected e.g. http://127.0.0.1:4318/v1/metrics)"
                    .into(),
            });
        }
        let mut config = Self::new(endpoint);
        if let Some(key) = env_value(env::API_KEY) {
            config = match env_value(env::API_KEY_HEADER) {
                Some(header) => config.header(header.trim(), key),
                None => config.header("authorization", format!("Bearer {key}")),
            };
        }
        if let Some(t) = env_duration(env::TIMEOUT)? {
            config.timeout = t;
        }
        Ok(Some(config))
    }
}

/// opentelemetry-otlp's HTTP seam, on our blocking client (no async runtime needed: the
/// SDK's reader thread drives the future to completion).
#[derive(Debug)]
struct BlockingClient {
    agent: ureq::Agent,
    /// The last transport failure: the SDK reports it only as "network error".
    transport_error: Arc<Mutex<Option<String>>>,
}

#[async_trait::async_trait]
impl HttpClient for BlockingClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let method = if parts.method == "PUT" { "PUT" } else { "POST" };
        let reply = http::send(
            &self.agent,
            method,
            &parts.uri.to_string(),
            &headers,
            None,
            &body,
        )
        .inspect_err(|e| {
            if let Ok(mut slot) = self.transport_error.lock() {
                *slot = Some(e.clone());
            }
        })?;
        Ok(Response::builder()
            .status(reply.status)
            .body(Bytes::from(reply.body))?)
    }
}

/// Forwards to the OTLP exporter and keeps its last error, which the SDK would only log.
struct KeepError<E> {
    inner: E,
    error: Arc<Mutex<Option<String>>>,
}

impl<E: PushMetricExporter> PushMetricExporter for KeepError<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        if let Err(e) = &result {
            if let Ok(mut slot) = self.error.lock() {
                *slot = Some(e.to_string());
            }
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// Sends the snapshot to the endpoint once; any failure is a warning naming `otlp`.
pub fn export(
    config: &OtlpConfig,
    snapshot: &Snapshot,
    run_id: &str,
) -> Result<Exported, ExportWarning> {
    let transport_error = Arc::new(Mutex::new(None::<String>));
    let warn = |m: String| {
        let detail = transport_error.lock().ok().and_then(|mut e| e.take());
        let m = match detail {
            Some(d) => format!("{m} ({d})"),
            None => m,
        };
        ExportWarning::new(EXPORTER, format!("{}: {m}", config.endpoint))
    };
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(config.endpoint.clone())
        .with_timeout(config.timeout)
        .with_headers(config.headers.iter().cloned().collect())
        .with_http_client(BlockingClient {
            agent: http::agent(config.timeout),
            transport_error: transport_error.clone(),
        })
        .build()
        .map_err(|e| warn(format!("cannot build the exporter: {e}")))?;
    let error = Arc::new(Mutex::new(None));
    let exporter = KeepError {
        inner: exporter,
        error: error.clone(),
    };
    // The reader exports on shutdown; its interval is longer than any run so it never
    // exports an empty snapshot before the values are recorded.
    let reader = PeriodicReader::builder(exporter)
        .with_interval(Duration::from_secs(24 * 3600))
        .build();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(
            Resource::builder_empty()
                .with_service_name(config.service_name.clone())
                .with_attribute(KeyValue::new("run_id", run_id.to_string()))
                .build(),
        )
        .build();
    let (metrics, points) = record(&provider.meter("starkscope"), snapshot, run_id);
    let shutdown = provider.shutdown_with_timeout(config.timeout);
    if let Some(e) = error.lock().ok().and_then(|mut e| e.take()) {
        return Err(warn(e));
    }
    shutdown.map_err(|e| warn(e.to_string()))?;
    Ok(Exported {
        exporter: EXPORTER,
        to: config.endpoint.clone(),
        what: format!("OTLP/HTTP, {metrics} metrics, {points} data points"),
    })
}

#[derive(Default)]
struct Instruments {
    counters: HashMap<String, Counter<u64>>,
    scaled_counters: HashMap<String, Counter<f64>>,
    count_gauges: HashMap<String, Gauge<u64>>,
    gauges: HashMap<String, Gauge<f64>>,
    histograms: HashMap<String, Histogram<f64>>,
}

impl Instruments {
    fn metrics(&self) -> usize {
        self.counters.len()
            + self.scaled_counters.len()
            + self.count_gauges.len()
            + self.gauges.len()
            + self.histograms.len()
    }
}

/// An instrument builder with the metric's unit and, when catalogued, its description.
macro_rules! build {
    ($meter:expr, $kind:ident, $o:expr) => {{
        let b = $meter.$kind($o.name.clone()).with_unit($o.unit);
        match $o.description {
            Some(d) => b.with_description(d),
            None => b,
        }
        .build()
    }};
}

fn attributes<V>(entry: &Entry<V>, run_id: &str) -> Vec<KeyValue> {
    let mut attrs: Vec<KeyValue> = entry
        .labels
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    attrs.push(KeyValue::new("run_id", run_id.to_string()));
    attrs
}

/// Records every snapshot entry once into instruments named by OTel conventions; returns
/// how many instruments and data points that made.
fn record(meter: &Meter, snapshot: &Snapshot, run_id: &str) -> (usize, usize) {
    let mut inst = Instruments::default();
    let mut points = 0;
    for e in &snapshot.counter {
        let Some(v) = parse_counter(&e.value) else {
            continue;
        };
        let o = otel_metric(&e.metric);
        let attrs = attributes(e, run_id);
        let key = e.metric.clone();
        match (instrument(&e.metric, MetricKind::Counter), o.scale == 1.0) {
            (Instrument::MonotonicSum, true) => inst
                .counters
                .entry(key)
                .or_insert_with(|| build!(meter, u64_counter, o))
                .add(v, &attrs),
            (Instrument::MonotonicSum, false) => inst
                .scaled_counters
                .entry(key)
                .or_insert_with(|| build!(meter, f64_counter, o))
                .add(v as f64 * o.scale, &attrs),
            (_, true) => inst
                .count_gauges
                .entry(key)
                .or_insert_with(|| build!(meter, u64_gauge, o))
                .record(v, &attrs),
            (_, false) => inst
                .gauges
                .entry(key)
                .or_insert_with(|| build!(meter, f64_gauge, o))
                .record(v as f64 * o.scale, &attrs),
        }
        points += 1;
    }
    for e in &snapshot.gauge {
        let Some(v) = parse_gauge(&e.value) else {
            continue;
        };
        let o = otel_metric(&e.metric);
        inst.gauges
            .entry(e.metric.clone())
            .or_insert_with(|| build!(meter, f64_gauge, o))
            .record(v * o.scale, &attributes(e, run_id));
        points += 1;
    }
    for e in &snapshot.histogram {
        let o = otel_metric(&e.metric);
        let h = inst
            .histograms
            .entry(e.metric.clone())
            .or_insert_with(|| build!(meter, f64_histogram, o));
        let attrs = attributes(e, run_id);
        for v in e.value.iter().filter_map(|v| parse_gauge(v)) {
            h.record(v * o.scale, &attrs);
        }
        points += 1;
    }
    (inst.metrics(), points)
}
