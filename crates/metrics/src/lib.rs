//! starkscope-metrics: the instrumentation SDK every starkscope crate emits through.
//!
//! - [`catalogue`]: every metric name, kind, unit, label key and description.
//! - [`Group`]: the `group` label (app, leaf, internal layers, root, keygen).
//! - [`snapshot`]: the JSON snapshot model, readable from OpenVM's format too.
//! - with `bench-metrics`: [`TimingMetricsLayer`] (span -> `{span}_time_ms` gauge) and the
//!   harness [`run_with_metric_collection`] that installs the layer stack and recorder.
//! - with `prometheus` / `otlp` ([`export`]): a pull endpoint, one Pushgateway push at the
//!   end of a run, OTLP/HTTP export; with `resources` ([`resources`]): peak RSS and CPU time
//!   per scoped span and the run's totals. Failures are [`ExportWarning`]s, never errors.
//!
//! Without `bench-metrics` the `metrics` crates are not compiled; the harness still sets
//! up tracing (spans stay on in both modes) but records nothing.

pub mod catalogue;
pub mod export;
pub mod group;
pub mod harness;
#[cfg(feature = "resources")]
pub mod resources;
mod scope;
pub mod snapshot;
#[cfg(feature = "bench-metrics")]
mod timing;

#[cfg(feature = "bench-metrics")]
pub use catalogue::describe_all;
pub use catalogue::{labels, names, spans, MetricKind, MetricSpec, MetricUnit, CATALOGUE};
pub use export::ExportWarning;
pub use group::{Group, GroupParseError};
pub use harness::{run_with_metric_collection, Collected, Harness, HarnessError, Install};
pub use scope::Scope;
pub use snapshot::{Snapshot, SnapshotError};
#[cfg(feature = "bench-metrics")]
pub use timing::TimingMetricsLayer;

/// The `metrics` facade, re-exported so that crates below emit through this crate alone
/// and the feature flag removes it everywhere at once.
#[cfg(feature = "bench-metrics")]
pub use metrics;
