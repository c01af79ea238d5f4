//! The harness: install the layer stack and recorder, run the work, snapshot, write JSON.
//!
//! Layers, each with its own filter (so that quieting the log never switches metrics off):
//! - the span-tree printer (tracing-forest, on stderr), filtered by `RUST_LOG` (default
//!   `info,p3_=warn`);
//! - with `bench-metrics`, the metric layers: `MetricsLayer` (span fields become the labels
//!   of metrics emitted inside), the span-labels layer, [`TimingMetricsLayer`](crate::TimingMetricsLayer)
//!   and the resource layer. They see every span at INFO and above whatever `RUST_LOG` says,
//!   plus what `RUST_LOG` adds (a DEBUG span then passes its parent's labels on).
//!
//! The recorder is `TracingContextLayer` over a fan-out of an in-memory `DebuggingRecorder`
//! and any extra recorders (exporters). One snapshot is taken at the end: the in-memory
//! recorder drains on snapshot, so it is taken once.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::SystemTime;

use tracing::Dispatch;
use tracing_subscriber::layer::{Layer as _, SubscriberExt};
use tracing_subscriber::{EnvFilter, Registry};

use starkscope_snapshot::{Meta, Snapshot, SnapshotError, SCHEMA_VERSION};

/// The filter used when `RUST_LOG` is not set: our spans at INFO, Plonky3's only at WARN.
pub const DEFAULT_FILTER: &str = "info,p3_=warn";

/// Span fields that become metric labels by default.
pub const DEFAULT_LABEL_KEYS: &[&str] = &["group", "segment", "idx", "air_name", "air_id"];

/// Where the subscriber and recorder are installed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Install {
    /// Process-wide: every thread (rayon's too) reports to this run. Fails if a global
    /// subscriber or recorder is already set.
    Global,
    /// On the calling thread only, for tests that run in parallel. Work sent to other
    /// threads must carry the context with [`Scope`]. In a test binary, run every test's
    /// instrumented code under a harness: code run with no subscriber while another
    /// thread sets its local one up can leave a callsite disabled for all subscribers
    /// (tracing-core's interest cache), and that test's spans then carry no labels.
    Local,
    /// Global when nothing global is installed yet, else local.
    #[default]
    Auto,
}

/// A failure of the harness itself (the work's own result is returned untouched).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("invalid log filter `{directive}` (from {source_name}): {message}")]
    Filter {
        directive: String,
        source_name: &'static str,
        message: String,
    },
    #[error("a global tracing subscriber or metrics recorder is already installed; use Install::Local or Install::Auto")]
    AlreadyInstalled,
    #[error("metrics exporter configuration: {0}")]
    ExportConfig(#[from] crate::export::EnvConfigError),
}

/// What a harness run returns: the work's value, the snapshot, and where it was written.
/// A snapshot that could not be written never costs the value: check `write_error`.
#[derive(Debug)]
#[must_use = "the snapshot may not have been written: check `write_error`"]
pub struct Collected<R> {
    pub value: R,
    pub snapshot: Snapshot,
    pub written_to: Option<PathBuf>,
    /// Why the snapshot file could not be written (the value and the in-memory snapshot
    /// are still here, for the caller to save what it can and say what was lost).
    pub write_error: Option<SnapshotError>,
    /// Exporters (and resource sampling) that failed; the run and the JSON went on.
    pub warnings: Vec<crate::ExportWarning>,
    /// What each exporter delivered, and where (each also printed on stderr).
    pub exported: Vec<crate::export::Exported>,
}

/// Options for one measured run. `Harness::new()` has the same defaults as
/// [`run_with_metric_collection`].
pub struct Harness {
    output_env: Option<String>,
    output: Option<PathBuf>,
    filter: Option<String>,
    span_tree: bool,
    install: Install,
    run_id: Option<String>,
    label_keys: Vec<String>,
    program: Option<String>,
    /// `host` label of every value (a unit of work of a distributed run).
    host: Option<String>,
    /// Printed when the run starts and returned with the run's warnings.
    early_warnings: Vec<crate::ExportWarning>,
    #[cfg(feature = "bench-metrics")]
    recorders: Vec<Box<dyn metrics::Recorder + Send + Sync>>,
    /// Exporter options, set by the builder methods in `export::run`.
    #[cfg(feature = "bench-metrics")]
    pub(crate) export: crate::export::run::ExportOptions,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        Self {
            output_env: None,
            output: None,
            filter: None,
            span_tree: true,
            install: Install::Auto,
            run_id: None,
            label_keys: DEFAULT_LABEL_KEYS.iter().map(|s| s.to_string()).collect(),
            program: None,
            host: None,
            early_warnings: Vec::new(),
            #[cfg(feature = "bench-metrics")]
            recorders: Vec::new(),
            #[cfg(feature = "bench-metrics")]
            export: Default::default(),
        }
    }

    /// Write the snapshot to the path in this environment variable, when it is set.
    pub fn output_env(mut self, var: impl Into<String>) -> Self {
        self.output_env = Some(var.into());
        self
    }

    /// Write the snapshot to this path (takes precedence over `output_env`).
    pub fn output(mut self, path: impl Into<PathBuf>) -> Self {
        self.output = Some(path.into());
        self
    }

    /// Which spans and events the span tree prints: filter directives; `RUST_LOG`
    /// otherwise, then [`DEFAULT_FILTER`]. Metrics do not depend on it.
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = Some(directives.into());
        self
    }

    /// Print the span tree (with timings) to stderr as each root span closes.
    pub fn span_tree(mut self, on: bool) -> Self {
        self.span_tree = on;
        self
    }

    pub fn install(mut self, install: Install) -> Self {
        self.install = install;
        self
    }

    /// The run id written in `meta` (default: start time in ms and process id).
    pub fn run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }

    /// Span fields taken as labels (default [`DEFAULT_LABEL_KEYS`]); other fields stay
    /// in the span tree only, so that a field like `n = 1000` cannot explode cardinality.
    pub fn label_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.label_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Label every value of the snapshot with `host = name` (and say it in `meta.host`):
    /// for a unit of work of a distributed run, whose snapshots are merged into one
    /// (`starkscope_metrics::labels::HOST`; prof reads it as an annotation, not a scope).
    pub fn host(mut self, name: impl Into<String>) -> Self {
        self.host = Some(name.into());
        self
    }

    /// What is measured, e.g. the proved program's name: the Pushgateway job of the run
    /// is `{program}_{unix_ts}` (default: the executable's name) unless the push
    /// configuration names it.
    pub fn program(mut self, name: impl Into<String>) -> Self {
        self.program = Some(name.into());
        self
    }

    /// What a binary calls: the exporters the environment configures (those compiled in;
    /// see docs/observability.md), resource sampling when the `resources` feature is
    /// compiled in, and a warning (printed as the run starts) for each exporter variable
    /// that is set while its exporter is not compiled in. A malformed value is
    /// [`HarnessError::ExportConfig`], naming the variable.
    pub fn export_from_env(self) -> Result<Self, HarnessError> {
        #[cfg(any(feature = "prometheus", feature = "otlp"))]
        let mut harness = self.exporters_from_env()?;
        #[cfg(not(any(feature = "prometheus", feature = "otlp")))]
        let mut harness = self;
        #[cfg(feature = "resources")]
        {
            harness = harness.sample_resources(crate::resources::ResourceConfig::default());
        }
        harness
            .early_warnings
            .extend(crate::export::uncompiled_env_warnings());
        Ok(harness)
    }

    /// Another recorder (an exporter) fed the same metrics, labels included.
    #[cfg(feature = "bench-metrics")]
    pub fn add_recorder(
        mut self,
        recorder: impl metrics::Recorder + Send + Sync + 'static,
    ) -> Self {
        self.recorders.push(Box::new(recorder));
        self
    }

    fn output_path(&self) -> Option<PathBuf> {
        self.output.clone().or_else(|| {
            let var = self.output_env.as_ref()?;
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }

    fn env_filter(&self) -> Result<EnvFilter, HarnessError> {
        let (directive, source_name) = match (&self.filter, std::env::var("RUST_LOG")) {
            (Some(f), _) => (f.clone(), "the harness filter"),
            (None, Ok(v)) if !v.trim().is_empty() => (v, "RUST_LOG"),
            _ => (DEFAULT_FILTER.to_string(), "the default filter"),
        };
        EnvFilter::try_new(&directive).map_err(|e| HarnessError::Filter {
            directive,
            source_name,
            message: e.to_string(),
        })
    }

    /// Runs `f` measured. If `f` panics, the snapshot recorded so far is written (with the
    /// panic noted in `meta.panic`) and the panic continues.
    pub fn run<R>(mut self, f: impl FnOnce() -> R) -> Result<Collected<R>, HarnessError> {
        let started = SystemTime::now();
        let run_id = self
            .run_id
            .take()
            .unwrap_or_else(|| default_run_id(started));
        let output = self.output_path();
        let print_filter = self.env_filter()?;
        let early_warnings = std::mem::take(&mut self.early_warnings);
        for w in &early_warnings {
            eprintln!("warning: {w}");
        }

        let tree = self.span_tree.then(|| {
            let printer =
                tracing_forest::Printer::new().writer(tracing_forest::printer::MakeStderr);
            tracing_forest::ForestLayer::new(printer, tracing_forest::tag::NoTag)
        });
        let tree = tree.with_filter(print_filter);

        #[cfg(feature = "bench-metrics")]
        let (outcome, snapshot, exporters) = {
            use metrics_tracing_context::{MetricsLayer, TracingContextLayer};
            use metrics_util::debugging::DebuggingRecorder;
            use metrics_util::layers::{FanoutBuilder, Layer as _};
            use tracing_subscriber::filter::FilterExt as _;

            let (exporters, exporter_recorders) = crate::export::run::RunExporters::start(
                std::mem::take(&mut self.export),
                started,
                self.program.as_deref(),
            );
            self.recorders.extend(exporter_recorders);
            let metric_layers = MetricsLayer::new()
                .and_then(crate::span_labels::SpanLabelsLayer::new(&self.label_keys))
                .and_then(crate::TimingMetricsLayer::new())
                .and_then(exporters.layer())
                .with_filter(metric_spans().or(self.env_filter()?));
            let subscriber = Registry::default().with(tree).with(metric_layers);
            let debugging = DebuggingRecorder::new();
            let snapshotter = debugging.snapshotter();
            let mut fanout = FanoutBuilder::default().add_recorder(debugging);
            for r in self.recorders {
                fanout = fanout.add_recorder(BoxedRecorder(r));
            }
            let recorder =
                TracingContextLayer::only_allow(self.label_keys).layer(SendFanout(fanout.build()));
            let work = || exporters.measure(f);
            let outcome = run_installed(self.install, Dispatch::new(subscriber), recorder, work)?;
            (
                outcome,
                convert::from_debugging(snapshotter.snapshot()),
                exporters,
            )
        };

        #[cfg(not(feature = "bench-metrics"))]
        let (outcome, snapshot) = {
            let _ = &self.label_keys;
            let subscriber = Registry::default().with(tree);
            let outcome = run_installed(self.install, Dispatch::new(subscriber), (), f)?;
            (outcome, Snapshot::default())
        };

        let mut snapshot = snapshot;
        let mut extra = std::collections::BTreeMap::new();
        if let Some(host) = &self.host {
            snapshot.label_all(starkscope_metrics::labels::HOST, host);
            extra.insert(
                starkscope_metrics::labels::HOST.to_string(),
                serde_json::Value::String(host.clone()),
            );
        }
        snapshot.sort();
        snapshot.meta = Some(Meta {
            schema: SCHEMA_VERSION,
            run_id: run_id.clone(),
            started_at: humantime::format_rfc3339_millis(started).to_string(),
            git_rev: git_rev(),
            panic: outcome.as_ref().err().map(|p| panic_message(p.as_ref())),
            extra,
        });

        let mut write_error = None;
        let written_to = match &output {
            Some(path) if cfg!(feature = "bench-metrics") => match snapshot.write_atomic(path) {
                Ok(()) => Some(path.clone()),
                Err(e) => {
                    // While a panic unwinds, the panic is what surfaces: say it here.
                    if outcome.is_err() {
                        eprintln!("error: {e}");
                    }
                    write_error = Some(e);
                    None
                }
            },
            Some(path) => {
                eprintln!(
                    "warning: metrics output {} not written: this build has no metrics \
                     (rebuild with --features bench-metrics)",
                    path.display()
                );
                None
            }
            None => None,
        };

        // After the JSON is safely written: pushes and exports, which may wait on a network.
        #[cfg(feature = "bench-metrics")]
        let (exported, late_warnings) = exporters.finish(&snapshot, &run_id);
        #[cfg(not(feature = "bench-metrics"))]
        let (exported, late_warnings) = {
            let _ = (&run_id, &self.program);
            (Vec::new(), Vec::new())
        };
        let mut warnings = early_warnings;
        warnings.extend(late_warnings);

        match outcome {
            Ok(value) => Ok(Collected {
                value,
                snapshot,
                written_to,
                write_error,
                warnings,
                exported,
            }),
            Err(panic) => resume_unwind(panic),
        }
    }
}

/// The spans the metric layers always see: ours at INFO and above; Plonky3's only at WARN
/// (its INFO spans time its internals and carry no scope).
#[cfg(feature = "bench-metrics")]
fn metric_spans() -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("p3_", LevelFilter::WARN)
}

type Outcome<R> = Result<R, Box<dyn Any + Send>>;

#[cfg(feature = "bench-metrics")]
use starkscope_metrics::SharedRecorder;

#[cfg(feature = "bench-metrics")]
fn run_installed<R>(
    install: Install,
    dispatch: Dispatch,
    recorder: impl metrics::Recorder + Send + Sync + 'static,
    f: impl FnOnce() -> R,
) -> Result<Outcome<R>, HarnessError> {
    let recorder: SharedRecorder = std::sync::Arc::new(recorder);
    let global = match install {
        Install::Local => false,
        Install::Global => {
            try_install_global(&dispatch, &recorder)?;
            true
        }
        Install::Auto => try_install_global(&dispatch, &recorder).is_ok(),
    };
    let run = || {
        starkscope_metrics::describe_all();
        catch_unwind(AssertUnwindSafe(f))
    };
    if global {
        return Ok(run());
    }
    Ok(starkscope_metrics::Scope::with_recorder(dispatch, recorder).in_scope(run))
}

#[cfg(feature = "bench-metrics")]
fn try_install_global(dispatch: &Dispatch, recorder: &SharedRecorder) -> Result<(), HarnessError> {
    if tracing::dispatcher::has_been_set() {
        return Err(HarnessError::AlreadyInstalled);
    }
    metrics::set_global_recorder(ArcRecorder(recorder.clone()))
        .map_err(|_| HarnessError::AlreadyInstalled)?;
    tracing::dispatcher::set_global_default(dispatch.clone())
        .map_err(|_| HarnessError::AlreadyInstalled)
}

#[cfg(not(feature = "bench-metrics"))]
fn run_installed<R>(
    install: Install,
    dispatch: Dispatch,
    _recorder: (),
    f: impl FnOnce() -> R,
) -> Result<Outcome<R>, HarnessError> {
    let global = match install {
        Install::Local => false,
        Install::Global => {
            tracing::dispatcher::set_global_default(dispatch.clone())
                .map_err(|_| HarnessError::AlreadyInstalled)?;
            true
        }
        Install::Auto => tracing::dispatcher::set_global_default(dispatch.clone()).is_ok(),
    };
    let run = || catch_unwind(AssertUnwindSafe(f));
    if global {
        return Ok(run());
    }
    Ok(tracing::dispatcher::with_default(&dispatch, run))
}

/// Runs `f` with the default harness: filter from `RUST_LOG` (default `info,p3_=warn`), the
/// span tree on stderr, and with `bench-metrics` the metrics layers and an in-memory
/// recorder. Writes the snapshot to the path in `env_var` (conventionally `METRIC_OUTPUT`)
/// when set, and returns `f`'s value with the snapshot.
///
/// With the exporter features compiled in, the exporters the environment configures are
/// enabled (see docs/observability.md: `METRICS_ENDPOINT`, `STARKSCOPE_PUSHGATEWAY`, ...;
/// a malformed value is [`HarnessError::ExportConfig`]), and with `resources` resource
/// sampling is on.
pub fn run_with_metric_collection<R>(
    env_var: &str,
    f: impl FnOnce() -> R,
) -> Result<Collected<R>, HarnessError> {
    Harness::new().output_env(env_var).export_from_env()?.run(f)
}

fn default_run_id(started: SystemTime) -> String {
    let ms = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{ms}-{}", std::process::id())
}

/// The git revision: `STARKSCOPE_GIT_REV`, else `GITHUB_SHA`, else `git rev-parse HEAD` in
/// the working directory; `None` when none is known.
fn git_rev() -> Option<String> {
    for var in ["STARKSCOPE_GIT_REV", "GITHUB_SHA"] {
        if let Ok(v) = std::env::var(var) {
            if !v.trim().is_empty() {
                return Some(v.trim().to_string());
            }
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let rev = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !rev.is_empty()).then_some(rev)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Lets an `Arc`'d recorder be installed globally while the harness keeps a handle.
#[cfg(feature = "bench-metrics")]
struct ArcRecorder(SharedRecorder);

/// metrics-util's `Fanout` boxes its recorders as `dyn Recorder + Sync`, so it is not
/// `Send`, though every recorder we add is (`Harness::add_recorder` requires it, and the
/// in-memory recorder is). The run's recorder must be `Send` to travel into rayon workers.
#[cfg(feature = "bench-metrics")]
struct SendFanout(metrics_util::layers::Fanout);

// SAFETY: `SendFanout` is only built in `Harness::run` from recorders that are all `Send`
// (`DebuggingRecorder` and `BoxedRecorder`, whose box requires `Send`); the fan-out holds
// nothing else, so moving it between threads moves only `Send` values.
#[cfg(feature = "bench-metrics")]
unsafe impl Send for SendFanout {}

/// Lets boxed exporters sit in the fan-out.
#[cfg(feature = "bench-metrics")]
struct BoxedRecorder(Box<dyn metrics::Recorder + Send + Sync>);

#[cfg(feature = "bench-metrics")]
mod forward {
    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    macro_rules! forward_recorder {
        ($ty:ty) => {
            impl Recorder for $ty {
                fn describe_counter(
                    &self,
                    key: KeyName,
                    unit: Option<Unit>,
                    description: SharedString,
                ) {
                    self.0.describe_counter(key, unit, description)
                }
                fn describe_gauge(
                    &self,
                    key: KeyName,
                    unit: Option<Unit>,
                    description: SharedString,
                ) {
                    self.0.describe_gauge(key, unit, description)
                }
                fn describe_histogram(
                    &self,
                    key: KeyName,
                    unit: Option<Unit>,
                    description: SharedString,
                ) {
                    self.0.describe_histogram(key, unit, description)
                }
                fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
                    self.0.register_counter(key, metadata)
                }
                fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
                    self.0.register_gauge(key, metadata)
                }
                fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
                    self.0.register_histogram(key, metadata)
                }
            }
        };
    }

    forward_recorder!(super::ArcRecorder);
    forward_recorder!(super::BoxedRecorder);
    forward_recorder!(super::SendFanout);
}

#[cfg(feature = "bench-metrics")]
mod convert {
    use metrics_util::debugging::{DebugValue, Snapshot as DebugSnapshot};
    use metrics_util::MetricKind;

    use starkscope_snapshot::{format_gauge, Entry, Snapshot};

    /// Scope keys first, in the order a reader thinks of them, then the rest by name, so
    /// that label order does not depend on span nesting.
    fn label_rank(key: &str) -> usize {
        starkscope_metrics::labels::SCOPE_KEYS
            .iter()
            .position(|k| *k == key)
            .unwrap_or(usize::MAX)
    }

    /// The in-memory recorder's snapshot in our JSON model.
    pub(super) fn from_debugging(debug: DebugSnapshot) -> Snapshot {
        let mut out = Snapshot::default();
        for (composite, _unit, _description, value) in debug.into_vec() {
            let (kind, key) = composite.into_parts();
            let (name, labels) = key.into_parts();
            let metric = name.as_str().to_string();
            let mut labels: Vec<(String, String)> = labels
                .into_iter()
                .map(|l| (l.key().to_string(), l.value().to_string()))
                .collect();
            labels.sort_by(|(a, _), (b, _)| label_rank(a).cmp(&label_rank(b)).then(a.cmp(b)));
            match (kind, value) {
                (MetricKind::Counter, DebugValue::Counter(v)) => out.counter.push(Entry {
                    metric,
                    labels,
                    value: v.to_string(),
                }),
                (MetricKind::Gauge, DebugValue::Gauge(v)) => out.gauge.push(Entry {
                    metric,
                    labels,
                    value: format_gauge(v.into_inner()),
                }),
                (MetricKind::Histogram, DebugValue::Histogram(vs)) => out.histogram.push(Entry {
                    metric,
                    labels,
                    value: vs
                        .into_iter()
                        .map(|v| format_gauge(v.into_inner()))
                        .collect(),
                }),
                // The recorder pairs kinds and values itself; a mismatch cannot occur.
                _ => {}
            }
        }
        out
    }
}
