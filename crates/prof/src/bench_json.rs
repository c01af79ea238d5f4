//! Output for benchmark trackers: github-action-benchmark's `customSmallerIsBetter` format,
//! `[{"name", "unit", "value"}]`. Every value written is a cost (lower is better).

use serde::Serialize;

use crate::analysis::Analysis;
use crate::metric_info::Better;

/// One tracked value.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct BenchEntry {
    pub name: String,
    pub unit: String,
    pub value: f64,
}

/// The headline metrics and each layer's summed proof time.
pub fn entries(a: &Analysis) -> Vec<BenchEntry> {
    let mut out: Vec<BenchEntry> = a
        .headlines
        .iter()
        .filter(|h| h.better == Better::Lower)
        .filter_map(|h| {
            Some(BenchEntry {
                name: h.name.clone(),
                unit: h.unit.to_string(),
                value: h.value?,
            })
        })
        .collect();
    out.extend(a.layers.iter().filter_map(|l| {
        Some(BenchEntry {
            name: format!("{} proof time (sum)", l.group),
            unit: "ms".into(),
            value: l.proof_time_ms?,
        })
    }));
    out
}

pub fn to_json(entries: &[BenchEntry]) -> String {
    let mut s = serde_json::to_string_pretty(entries).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}
