//! starkscope-metrics: what starkscope's libraries emit with, and nothing more.
//!
//! - [`catalogue`]: every metric name, kind, unit, label key and description, and the span
//!   names that become timing gauges.
//! - [`Group`]: the `group` label (app, leaf, internal layers, root, keygen).
//! - [`process`]: the process's peak memory as the kernel counts it.
//! - [`Scope`]: carries a run's subscriber and recorder into worker threads.
//! - with `bench-metrics`: the `metrics` facade, re-exported so that every crate emits
//!   through this one and the feature removes it everywhere at once.
//!
//! Collecting what is emitted (the tracing layers, the recorder, the snapshot writer, the
//! exporters) is `starkscope-harness`'s job, used by binaries and tests; a library that
//! embeds the prover does not pull it in.

pub mod catalogue;
pub mod group;
pub mod process;
mod scope;

#[cfg(feature = "bench-metrics")]
pub use catalogue::describe_all;
pub use catalogue::{labels, names, spans, MetricKind, MetricSpec, MetricUnit, CATALOGUE};
pub use group::{Group, GroupParseError};
pub use scope::Scope;
#[cfg(feature = "bench-metrics")]
pub use scope::SharedRecorder;

#[cfg(feature = "bench-metrics")]
pub use metrics;
