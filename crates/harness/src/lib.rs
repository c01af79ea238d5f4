//! starkscope-harness: measuring a run, for binaries and tests.
//!
//! - [`Harness`] / [`run_with_metric_collection`]: installs the layer stack and recorder,
//!   runs the work, takes the snapshot and writes it as JSON (`starkscope-snapshot`).
//! - with `bench-metrics`: [`TimingMetricsLayer`] (catalogued span -> `{span}_time_ms`
//!   gauge, labelled from the span's own scope).
//! - with `prometheus` / `otlp` ([`export`]): a pull endpoint, one Pushgateway push at the
//!   end of a run, OTLP/HTTP export; with `resources` ([`resources`]): peak RSS and CPU time
//!   per scoped span and the run's totals. Failures are [`ExportWarning`]s, never errors.
//!
//! Without `bench-metrics` the `metrics` crates are not compiled; the harness still sets
//! up tracing (spans stay on in both modes) but records nothing.
//!
//! Libraries emit through `starkscope-metrics` (names, labels, macros) and never depend on
//! this crate.

pub mod export;
pub mod harness;
#[cfg(feature = "resources")]
pub mod resources;
#[cfg(feature = "bench-metrics")]
mod span_labels;
#[cfg(feature = "bench-metrics")]
mod timing;

pub use export::ExportWarning;
pub use harness::{run_with_metric_collection, Collected, Harness, HarnessError, Install};
pub use starkscope_metrics::Scope;
pub use starkscope_snapshot::{Snapshot, SnapshotError};
#[cfg(feature = "bench-metrics")]
pub use timing::TimingMetricsLayer;
