//! The harness's side of the exporters: options on [`Harness`], and what happens at the
//! start and end of a run.
//!
//! Start: the Prometheus recorder joins the harness's fan-out and its listener starts; the
//! resource sampler starts and its layer joins the subscriber. End: the run totals are
//! emitted (inside the run), the JSON is written by the harness, then the final push and
//! the OTLP export happen. Failures become [`ExportWarning`]s.

use std::time::SystemTime;

#[cfg(any(feature = "prometheus", feature = "otlp"))]
use super::EnvConfigError;
use super::{ExportWarning, Exported};
use crate::Harness;
use starkscope_snapshot::Snapshot;

/// Exporter options a [`Harness`] carries until it runs.
#[derive(Debug, Default)]
pub(crate) struct ExportOptions {
    #[cfg(feature = "prometheus")]
    prometheus: Option<super::prometheus::PrometheusConfig>,
    #[cfg(feature = "otlp")]
    otlp: Option<super::otlp::OtlpConfig>,
    #[cfg(feature = "resources")]
    resources: Option<crate::resources::ResourceConfig>,
}

impl Harness {
    /// Export to Prometheus: pull endpoint and/or one push at the end of the run.
    #[cfg(feature = "prometheus")]
    pub fn prometheus(mut self, config: super::prometheus::PrometheusConfig) -> Self {
        self.export.prometheus = Some(config);
        self
    }

    /// Export the final snapshot over OTLP/HTTP.
    #[cfg(feature = "otlp")]
    pub fn otlp(mut self, config: super::otlp::OtlpConfig) -> Self {
        self.export.otlp = Some(config);
        self
    }

    /// Sample peak RSS and CPU time per scoped span, and the run's totals.
    #[cfg(feature = "resources")]
    pub fn sample_resources(mut self, config: crate::resources::ResourceConfig) -> Self {
        self.export.resources = Some(config);
        self
    }

    /// Enables the exporters the environment configures (those compiled in):
    /// `STARKSCOPE_PROMETHEUS_LISTEN`, `STARKSCOPE_PUSHGATEWAY` (and `STARKSCOPE_PUSH_*`),
    /// `METRICS_ENDPOINT` (and `METRICS_API_KEY`, `METRICS_API_KEY_HEADER`,
    /// `METRICS_TIMEOUT`). A malformed value is an error naming the variable.
    #[cfg(any(feature = "prometheus", feature = "otlp"))]
    pub fn exporters_from_env(mut self) -> Result<Self, EnvConfigError> {
        #[cfg(feature = "prometheus")]
        if let Some(config) = super::prometheus::PrometheusConfig::from_env()? {
            self.export.prometheus = Some(config);
        }
        #[cfg(feature = "otlp")]
        if let Some(config) = super::otlp::OtlpConfig::from_env()? {
            self.export.otlp = Some(config);
        }
        Ok(self)
    }
}

/// The subscriber layer the exporters add (the resource sampler's, when enabled).
#[cfg(feature = "resources")]
pub(crate) type RunLayer = Option<crate::resources::ResourceLayer>;
#[cfg(not(feature = "resources"))]
pub(crate) type RunLayer = Option<tracing_subscriber::layer::Identity>;

/// The exporters of one run, between its start and its end.
pub(crate) struct RunExporters {
    #[cfg(feature = "prometheus")]
    prometheus: Option<super::prometheus::PrometheusExporter>,
    #[cfg(feature = "otlp")]
    otlp: Option<super::otlp::OtlpConfig>,
    #[cfg(feature = "resources")]
    sampler: Option<crate::resources::ResourceSampler>,
    warnings: Vec<ExportWarning>,
    exported: Vec<Exported>,
}

/// Prints what an exporter delivered, and where, as it happens.
#[cfg_attr(not(any(feature = "prometheus", feature = "otlp")), allow(dead_code))]
fn announce(e: Exported, exported: &mut Vec<Exported>) {
    eprintln!("{e}");
    exported.push(e);
}

/// Prints a warning as it happens, so a long run shows it before the end.
#[cfg_attr(
    not(any(feature = "prometheus", feature = "otlp", feature = "resources")),
    allow(dead_code)
)]
fn report(w: ExportWarning, warnings: &mut Vec<ExportWarning>) {
    eprintln!("warning: {w}");
    warnings.push(w);
}

impl RunExporters {
    /// Starts what runs alongside the work; returns the recorders to add to the fan-out.
    #[allow(unused_variables, unused_mut)]
    /// `program` names the Pushgateway job (`{program}_{unix_ts}`) unless the push
    /// configuration names it already.
    pub(crate) fn start(
        options: ExportOptions,
        started: SystemTime,
        program: Option<&str>,
    ) -> (Self, Vec<Box<dyn metrics::Recorder + Send + Sync>>) {
        let mut warnings = Vec::new();
        let mut exported = Vec::new();
        let mut recorders: Vec<Box<dyn metrics::Recorder + Send + Sync>> = Vec::new();

        #[cfg(feature = "prometheus")]
        let prometheus = options.prometheus.map(|mut config| {
            if let (Some(push), Some(program)) = (config.push.as_mut(), program) {
                push.program.get_or_insert_with(|| program.to_string());
            }
            let (exporter, recorder, start_warnings) =
                super::prometheus::PrometheusExporter::start(config, started);
            recorders.push(Box::new(recorder));
            for w in start_warnings {
                report(w, &mut warnings);
            }
            if let Some(e) = exporter.serving() {
                announce(e, &mut exported);
            }
            exporter
        });

        #[cfg(feature = "resources")]
        let sampler = options.resources.and_then(|config| {
            crate::resources::ResourceSampler::start(config)
                .map_err(|e| report(ExportWarning::new("resources", e), &mut warnings))
                .ok()
        });

        (
            Self {
                #[cfg(feature = "prometheus")]
                prometheus,
                #[cfg(feature = "otlp")]
                otlp: options.otlp,
                #[cfg(feature = "resources")]
                sampler,
                warnings,
                exported,
            },
            recorders,
        )
    }

    pub(crate) fn layer(&self) -> RunLayer {
        #[cfg(feature = "resources")]
        return self.sampler.as_ref().map(|s| s.layer());
        #[cfg(not(feature = "resources"))]
        None
    }

    /// Runs the work; with resource sampling, emits the run totals after it (also when it
    /// panics), inside the run so they reach the recorder.
    pub(crate) fn measure<R>(&self, f: impl FnOnce() -> R) -> R {
        #[cfg(feature = "resources")]
        {
            struct Totals<'a>(Option<&'a crate::resources::ResourceSampler>);
            impl Drop for Totals<'_> {
                fn drop(&mut self) {
                    if let Some(s) = self.0 {
                        s.emit_run_totals();
                    }
                }
            }
            let _totals = Totals(self.sampler.as_ref());
            f()
        }
        #[cfg(not(feature = "resources"))]
        f()
    }

    /// After the JSON is written: the final push and the OTLP export. Returns what every
    /// exporter delivered and every warning of the run.
    #[allow(unused_variables, unused_mut)]
    pub(crate) fn finish(
        mut self,
        snapshot: &Snapshot,
        run_id: &str,
    ) -> (Vec<Exported>, Vec<ExportWarning>) {
        #[cfg(feature = "resources")]
        drop(self.sampler.take());
        #[cfg(feature = "prometheus")]
        if let Some(p) = self.prometheus.take() {
            let (pushed, warnings) = p.finish();
            for w in warnings {
                report(w, &mut self.warnings);
            }
            if let Some(e) = pushed {
                announce(e, &mut self.exported);
            }
        }
        #[cfg(feature = "otlp")]
        if let Some(config) = self.otlp.take() {
            match super::otlp::export(&config, snapshot, run_id) {
                Ok(e) => announce(e, &mut self.exported),
                Err(w) => report(w, &mut self.warnings),
            }
        }
        (self.exported, self.warnings)
    }
}
