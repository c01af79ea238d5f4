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

use starkscope_metrics::catalogue::{self, names, MetricSpec, MetricUnit, CATALOGUE, TIME_SUFFIX};

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
        "| catalogue name | OTel name | OTel unit | value on export |\n|---|---|---|---|\n",
    );
    for m in CATALOGUE {
        let o = otel_metric(m.name);
        let value = if o.scale == 1.0 {
            "as recorded".to_string()
        } else {
            format!("× {}", o.scale)
        };
        out.push_str(&format!(
            "| `{}` | `{}` | `{}` | {} |\n",
            m.name, o.name, o.unit, value
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
