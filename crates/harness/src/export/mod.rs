//! Exporters: where a run's metrics go besides the JSON snapshot.
//!
//! - [`prometheus`] (feature `prometheus`): a pull endpoint on 127.0.0.1 during the run and
//!   one push to a Pushgateway at its end (optionally every interval too).
//! - [`otlp`] (feature `otlp`): OTLP/HTTP protobuf export of the final snapshot, with the
//!   catalogue names mapped to OpenTelemetry ones by [`otel_names`].
//!
//! An exporter never stops a run: every failure becomes an [`ExportWarning`] that names the
//! exporter, is printed on stderr and returned in
//! [`Collected::warnings`](crate::Collected::warnings); the JSON snapshot is written first,
//! regardless.

#[cfg(any(feature = "prometheus", feature = "otlp"))]
mod http;
pub mod otel_names;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "prometheus")]
pub mod prometheus;
#[cfg(feature = "bench-metrics")]
pub(crate) mod run;

/// A failure of one exporter (or of resource sampling); the run went on without it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportWarning {
    /// Which exporter: `prometheus-listener`, `pushgateway`, `otlp` or `resources`.
    pub exporter: &'static str,
    pub message: String,
}

impl ExportWarning {
    pub fn new(exporter: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            exporter,
            message: message.to_string(),
        }
    }
}

impl std::fmt::Display for ExportWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "metrics exporter `{}`: {}", self.exporter, self.message)
    }
}

/// A configuration read from the environment is malformed.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {var}=`{value}`: {message}")]
pub struct EnvConfigError {
    pub var: &'static str,
    pub value: String,
    pub message: String,
}

/// The value of `var` when set and not blank.
#[cfg(any(feature = "prometheus", feature = "otlp"))]
fn env_value(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// Parses a duration like `10s` or `500ms` from `var`.
#[cfg(any(feature = "prometheus", feature = "otlp"))]
fn env_duration(var: &'static str) -> Result<Option<std::time::Duration>, EnvConfigError> {
    env_value(var)
        .map(|v| {
            humantime::parse_duration(v.trim()).map_err(|e| EnvConfigError {
                var,
                value: v.clone(),
                message: format!("not a duration like `10s` or `500ms`: {e}"),
            })
        })
        .transpose()
}

/// The name of the running program: the executable's file stem, else `starkscope`.
pub fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "starkscope".to_string())
}
