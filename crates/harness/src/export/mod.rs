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

/// Every environment variable the exporters read (docs/observability.md lists them), and
/// the harness feature that compiles the exporter in.
pub mod env {
    /// Serve `/metrics` here during the run: a port (bound on 127.0.0.1) or `host:port`.
    pub const PROMETHEUS_LISTEN: &str = "STARKSCOPE_PROMETHEUS_LISTEN";
    /// The Pushgateway's base URL, e.g. `http://127.0.0.1:9091`.
    pub const PUSHGATEWAY: &str = "STARKSCOPE_PUSHGATEWAY";
    /// Also push every interval during the run, e.g. `15s`.
    pub const PUSH_INTERVAL: &str = "STARKSCOPE_PUSH_INTERVAL";
    /// The `instance` label of the pushed group (default: the host name).
    pub const PUSH_INSTANCE: &str = "STARKSCOPE_PUSH_INSTANCE";
    /// A stable job name instead of `{program}_{unix_ts}`: each run replaces the last.
    pub const PUSH_JOB: &str = "STARKSCOPE_PUSH_JOB";
    /// Bound of one push, e.g. `5s`.
    pub const PUSH_TIMEOUT: &str = "STARKSCOPE_PUSH_TIMEOUT";
    /// The OTLP/HTTP metrics URL, used verbatim, e.g. `http://127.0.0.1:4318/v1/metrics`.
    pub const METRICS_ENDPOINT: &str = "METRICS_ENDPOINT";
    /// Sent as `Authorization: Bearer {key}`, or verbatim under `METRICS_API_KEY_HEADER`.
    pub const METRICS_API_KEY: &str = "METRICS_API_KEY";
    /// The header that carries `METRICS_API_KEY` verbatim, e.g. `x-api-key`.
    pub const METRICS_API_KEY_HEADER: &str = "METRICS_API_KEY_HEADER";
    /// Bound of the OTLP export request, e.g. `10s`.
    pub const METRICS_TIMEOUT: &str = "METRICS_TIMEOUT";

    /// The variables that switch an exporter on, with the feature it needs.
    pub const SWITCHES: &[(&str, &str)] = &[
        (PROMETHEUS_LISTEN, "prometheus"),
        (PUSHGATEWAY, "prometheus"),
        (METRICS_ENDPOINT, "otlp"),
    ];
}

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

/// What one exporter delivered, and where: the line a binary prints on stderr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// `prometheus-listener`, `pushgateway` or `otlp`.
    pub exporter: &'static str,
    /// Where: the URL scraped, pushed to or posted to.
    pub to: String,
    /// What, briefly: `Pushgateway, 412 series`.
    pub what: String,
}

impl std::fmt::Display for Exported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = match self.exporter {
            "prometheus-listener" => "served at",
            "pushgateway" => "pushed to",
            _ => "sent to",
        };
        write!(f, "metrics {verb} {} ({})", self.to, self.what)
    }
}

/// Warnings for exporter variables that are set while this build lacks their exporter:
/// setting them must not do nothing silently.
pub fn uncompiled_env_warnings() -> Vec<ExportWarning> {
    env::SWITCHES
        .iter()
        .filter(|(var, feature)| {
            let compiled = match *feature {
                "prometheus" => cfg!(feature = "prometheus"),
                _ => cfg!(feature = "otlp"),
            };
            !compiled && std::env::var(var).is_ok_and(|v| !v.trim().is_empty())
        })
        .map(|&(var, feature)| {
            ExportWarning::new(
                feature,
                format!(
                    "{var} is set, but this build has no {feature} exporter: rebuild with \
                     `--features exporters`; nothing is exported"
                ),
            )
        })
        .collect()
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
