//! How catalogue names map to OpenTelemetry names on export.
//!
//! OTel conventions: dotted, namespaced names; the unit in metadata, never in the name;
//! base units (seconds `s`, bytes `By`). The JSON snapshot keeps the catalogue names.
//!
//! | catalogue name | OTel name | unit | value |
//! |---|---|---|---|
//! | `{x}_time_ms` (emitted by E) | `starkscope.{E}.{x}.duration` | `s` | ms / 1000 |
//! | `{x}_bytes` (emitted by E) | `starkscope.{E}.{x}` | `By` | as is |
//! | any other count (emitted by E) | `starkscope.{E}.{name}` | `1` | as is |
//! | resources | see [`markdown_table`] (`starkscope.cpu.time`, `starkscope.memory.peak_rss`, ...) | | |
//! | a span timing not in the catalogue, `{x}_time_ms` | `starkscope.span.{x}.duration` | `s` | ms / 1000 |
//!
//! Labels become attributes with the same keys; every data point also carries `run_id`.
//!
//! Instruments ([`instrument`]): gauges stay gauges and histograms histograms. A counter
//! becomes a gauge when the catalogue scopes it to a proof or a group: it is set once
//! (`absolute`) to a fact of that one proof (its `rows`, `cells`, `constraint_deg`,
//! cycles), so the next proof's value can be smaller and a monotonic sum would read as a
//! reset. Only a counter of the whole run (scope `run`), or one not in the catalogue,
//! is a cumulative monotonic sum. Prometheus keeps the catalogue's kinds and names.

use starkscope_metrics::catalogue::{
    self, names, MetricKind, MetricScope, MetricSpec, MetricUnit, CATALOGUE, TIME_SUFFIX,
};

/// The OpenTelemetry form of one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct OtelMetric {
    pub name: String,
    /// UCUM unit as OTel writes it: `s`, `By` or `1`.
    pub unit: &'static str,
    /// Multiply the recorded value by this on export (ms -> s is 0.001).
    pub scale: f64,
    pub description: Option<&'static str>,
}

const BYTES_SUFFIX: &str = "_bytes";
const PREFIX: &str = "starkscope";

/// Resource metrics read better under OTel's own nouns than under `resources.*`.
fn resource_override(name: &str) -> Option<(&'static str, &'static str, f64)> {
    Some(match name {
        names::PEAK_RSS_BYTES => ("starkscope.memory.peak_rss", "By", 1.0),
        names::CPU_TIME_MS => ("starkscope.cpu.time", "s", 0.001),
        names::RUN_PEAK_RSS_BYTES => ("starkscope.run.memory.peak_rss", "By", 1.0),
        names::RUN_CPU_TIME_MS => ("starkscope.run.cpu.time", "s", 0.001),
        names::DISK_READ_BYTES => ("starkscope.run.disk.read", "By", 1.0),
        names::DISK_WRITE_BYTES => ("starkscope.run.disk.write", "By", 1.0),
        _ => return None,
    })
}

/// The OTel name, unit and scale for a catalogue (or span-timing) metric name.
pub fn otel_metric(name: &str) -> OtelMetric {
    let spec: Option<&MetricSpec> = catalogue::find(name);
    let description = spec.map(|s| s.description);
    if let Some((otel, unit, scale)) = resource_override(name) {
        return OtelMetric {
            name: otel.to_string(),
            unit,
            scale,
            description,
        };
    }
    let namespace = spec.map_or("span", |s| s.emitter.as_str());
    let (stem, suffix, unit, scale) = if let Some(stem) = name.strip_suffix(TIME_SUFFIX) {
        (stem, ".duration", "s", 0.001)
    } else if let Some(stem) = name.strip_suffix(BYTES_SUFFIX) {
        (stem, "", "By", 1.0)
    } else {
        let unit = match spec.map(|s| s.unit) {
            Some(MetricUnit::Milliseconds) => "ms",
            Some(MetricUnit::Bytes) => "By",
            _ => "1",
        };
        (name, "", unit, 1.0)
    };
    let namespace = if spec.is_none() && suffix.is_empty() {
        // Not catalogued and not a timing: keep it directly under the prefix.
        String::new()
    } else {
        format!(".{namespace}")
    };
    OtelMetric {
        name: sanitize(&format!("{PREFIX}{namespace}.{stem}{suffix}")),
        unit,
        scale,
        description,
    }
}

/// The OTel instrument a metric is exported as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instrument {
    Gauge,
    /// Cumulative, monotonic.
    MonotonicSum,
    Histogram,
}

impl Instrument {
    pub fn as_str(self) -> &'static str {
        match self {
            Instrument::Gauge => "gauge",
            Instrument::MonotonicSum => "monotonic sum",
            Instrument::Histogram => "histogram",
        }
    }
}

/// How a metric recorded as `recorded` is exported: by the catalogue's kind and scope (see
/// the module docs); a metric outside the catalogue keeps the kind it was recorded with.
pub fn instrument(name: &str, recorded: MetricKind) -> Instrument {
    let (kind, scope) = match catalogue::find(name) {
        Some(spec) => (spec.kind, Some(spec.scope)),
        None => (recorded, None),
    };
    match (kind, scope) {
        (MetricKind::Gauge, _) => Instrument::Gauge,
        (MetricKind::Histogram, _) => Instrument::Histogram,
        (MetricKind::Counter, Some(MetricScope::Proof | MetricScope::Group)) => Instrument::Gauge,
        (MetricKind::Counter, Some(MetricScope::Run) | None) => Instrument::MonotonicSum,
    }
}

/// Why a catalogued metric is exported as it is, for the docs table.
fn instrument_reason(spec: &MetricSpec) -> &'static str {
    match (spec.kind, instrument(spec.name, spec.kind)) {
        (MetricKind::Counter, Instrument::Gauge) => match spec.scope {
            MetricScope::Proof => "gauge: a count of one proof, set once, not monotonic",
            _ => "gauge: a count of one group, set once, not monotonic",
        },
        (_, i) => i.as_str(),
    }
}

/// OTel instrument names: ASCII letters, digits, `_ . - /`, at most 255 characters.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/') {
                c
            } else {
                '_'
            }
        })
        .take(255)
        .collect()
}

/// The mapping of every catalogued metric, as the table docs/observability.md carries.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| catalogue name (Prometheus) | kind, of | OTel name | OTel unit | OTel instrument | value on export |\n\
         |---|---|---|---|---|---|\n",
    );
    for m in CATALOGUE {
        let o = otel_metric(m.name);
        let value = if o.scale == 1.0 {
            "as recorded".to_string()
        } else {
            format!("× {}", o.scale)
        };
        out.push_str(&format!(
            "| `{}` | {}, {} | `{}` | `{}` | {} | {} |\n",
            m.name,
            m.kind.as_str(),
            m.scope.as_str(),
            o.name,
            o.unit,
            instrument_reason(m),
            value
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_become_seconds_durations() {
        let o = otel_metric(names::PCS_OPENING_TIME_MS);
        assert_eq!(o.name, "starkscope.prover.pcs_opening.duration");
        assert_eq!((o.unit, o.scale), ("s", 0.001));
        assert!(o.description.is_some());
        let o = otel_metric("segment_time_ms");
        assert_eq!(o.name, "starkscope.span.segment.duration");
    }

    #[test]
    fn bytes_and_counts_keep_their_values() {
        let o = otel_metric(names::PROOF_SIZE_BYTES);
        assert_eq!(
            (o.name.as_str(), o.unit, o.scale),
            ("starkscope.prover.proof_size", "By", 1.0)
        );
        let o = otel_metric(names::TOTAL_CYCLES);
        assert_eq!(
            (o.name.as_str(), o.unit),
            ("starkscope.vm.total_cycles", "1")
        );
        assert_eq!(otel_metric(names::CPU_TIME_MS).name, "starkscope.cpu.time");
        assert_eq!(otel_metric("weird name!").name, "starkscope.weird_name_");
    }

    #[test]
    fn per_proof_counters_are_gauges_run_counters_and_unknown_ones_sums() {
        for name in [
            names::ROWS,
            names::CELLS,
            names::CONSTRAINT_DEG,
            names::TOTAL_CYCLES,
        ] {
            assert_eq!(
                instrument(name, MetricKind::Counter),
                Instrument::Gauge,
                "{name}"
            );
        }
        assert_eq!(
            instrument(names::PCS_OPENING_TIME_MS, MetricKind::Gauge),
            Instrument::Gauge
        );
        assert_eq!(
            instrument("requests_served", MetricKind::Counter),
            Instrument::MonotonicSum
        );
        // Every catalogued counter is scoped to a proof or a group today; one of the run
        // would be a monotonic sum.
        for m in CATALOGUE {
            let want = match (m.kind, m.scope) {
                (MetricKind::Counter, MetricScope::Run) => Instrument::MonotonicSum,
                (MetricKind::Histogram, _) => Instrument::Histogram,
                _ => Instrument::Gauge,
            };
            assert_eq!(instrument(m.name, m.kind), want, "{}", m.name);
        }
    }

    #[test]
    fn every_catalogued_name_maps_to_a_distinct_otel_name() {
        let mut seen = std::collections::HashSet::new();
        for m in CATALOGUE {
            let o = otel_metric(m.name);
            assert!(seen.insert(o.name.clone()), "{} collides", o.name);
            assert!(
                !o.name.contains("_ms") && !o.name.ends_with("_bytes"),
                "{}",
                o.name
            );
        }
    }
}
