//! From samples to the numbers a reader wants: per-group statistics, per-segment and
//! per-layer rows, and the headline totals.

use std::collections::BTreeMap;

use starkscope_metrics::names;

use crate::layers::{self, LayerRow};
use crate::metric_info::{self, Better};
use crate::model::{GroupKey, Labels, NaturalKey, ProofId, Run, Sample};
use crate::stats::Stats;

/// The per-proof (scope-level) samples of every proof of a run: proof -> metric -> value.
pub type ProofMetrics<'a> = BTreeMap<ProofId, BTreeMap<&'a str, f64>>;

/// Statistics of one scope-level metric over the proofs of a group.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricStats {
    pub metric: String,
    pub stats: Stats,
}

/// One app segment's row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SegmentRow {
    pub segment: Option<NaturalKey>,
    pub execute_ms: Option<f64>,
    pub trace_gen_ms: Option<f64>,
    pub stark_prove_ms: Option<f64>,
    pub total_ms: Option<f64>,
    pub cycles: Option<f64>,
    pub cells: Option<f64>,
    pub cycles_per_s: Option<f64>,
}

impl SegmentRow {
    /// The columns of the per-segment table: (metric name for direction/unit, header, value).
    pub fn columns(&self) -> [(&'static str, &'static str, Option<f64>); 7] {
        [
            (names::EXECUTE_TIME_MS, "execute ms", self.execute_ms),
            (names::TRACE_GEN_TIME_MS, "trace_gen ms", self.trace_gen_ms),
            (
                names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS,
                "stark_prove ms",
                self.stark_prove_ms,
            ),
            (names::TOTAL_PROOF_TIME_MS, "total ms", self.total_ms),
            (names::TOTAL_CYCLES, "cycles", self.cycles),
            (names::TOTAL_CELLS, "cells", self.cells),
            (
                metric_info::CYCLES_PER_SECOND,
                "cycles/s",
                self.cycles_per_s,
            ),
        ]
    }
}

/// Everything computed for one group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupReport {
    pub group: GroupKey,
    /// Scope-level metrics (no air/opcode/region label), sorted by name.
    pub metrics: Vec<MetricStats>,
    /// App groups only: one row per segment, in segment order.
    pub segments: Vec<SegmentRow>,
    /// Proof time of each proof of the group, in index order.
    pub proof_times: Vec<(ProofId, f64)>,
}

impl GroupReport {
    pub fn metric(&self, name: &str) -> Option<&MetricStats> {
        self.metrics.iter().find(|m| m.metric == name)
    }

    pub fn segment(&self, id: &Option<NaturalKey>) -> Option<&SegmentRow> {
        // Rows are in segment order (they come from an ordered map).
        let i = self.segments.binary_search_by(|s| s.segment.cmp(id)).ok()?;
        Some(&self.segments[i])
    }
}

/// One headline number (what the CI gate and the benchmark JSON watch).
#[derive(Clone, Debug, PartialEq)]
pub struct Headline {
    /// Stable identifier, used to match against a baseline.
    pub key: &'static str,
    /// Human name, e.g. `total proof time`.
    pub name: String,
    pub unit: &'static str,
    pub better: Better,
    pub value: Option<f64>,
}

/// The analysis of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub groups: Vec<GroupReport>,
    pub layers: Vec<LayerRow>,
    pub headlines: Vec<Headline>,
}

impl Analysis {
    pub fn group(&self, key: &GroupKey) -> Option<&GroupReport> {
        self.groups.iter().find(|g| &g.group == key)
    }

    pub fn layer(&self, key: &GroupKey) -> Option<&LayerRow> {
        self.layers.iter().find(|l| &l.group == key)
    }

    pub fn headline(&self, key: &str) -> Option<&Headline> {
        self.headlines.iter().find(|h| h.key == key)
    }
}

/// Headline keys.
pub mod headline {
    pub const TOTAL_PROOF_TIME: &str = "total_proof_time_ms";
    pub const PARALLEL_PROOF_TIME: &str = "parallel_proof_time_ms";
    pub const BOUNDED_PROOF_TIME: &str = "bounded_parallel_proof_time_ms";
    pub const TOTAL_CYCLES: &str = "total_cycles";
    pub const TOTAL_CELLS: &str = "total_cells";
    pub const PROOF_SIZE: &str = "proof_size_bytes";
    pub const PEAK_RSS: &str = "run_peak_rss_bytes";
}

/// Analyses `run`; with `provers = Some(k)` also estimates the proof time with `k` provers.
pub fn analyse(run: &Run, provers: Option<usize>) -> Analysis {
    // Scope-level samples by proof, and by group.
    let mut by_proof: ProofMetrics = BTreeMap::new();
    let mut by_group: BTreeMap<GroupKey, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
    let mut per_air_cells: BTreeMap<ProofId, f64> = BTreeMap::new();
    for s in run.samples() {
        let proof = s.proof().clone();
        if s.is_scope_level() {
            by_group
                .entry(proof.group.clone())
                .or_default()
                .entry(&s.metric)
                .or_default()
                .push(s.value);
            by_proof
                .entry(proof)
                .or_default()
                .insert(&s.metric, s.value);
        } else if s.metric == names::CELLS {
            *per_air_cells.entry(proof).or_default() += s.value;
        }
    }
    // Groups that only have detailed samples (e.g. per-AIR) still get a section.
    for s in run.samples() {
        if !by_group.contains_key(&s.proof().group) {
            by_group.insert(s.proof().group.clone(), BTreeMap::new());
        }
    }

    let mut groups = Vec::new();
    for (group, metrics) in &by_group {
        let mut metrics: Vec<MetricStats> = metrics
            .iter()
            .filter_map(|(m, vs)| {
                Some(MetricStats {
                    metric: m.to_string(),
                    stats: Stats::of(vs.iter().copied())?,
                })
            })
            .collect();
        metrics.sort_by(|a, b| {
            metric_info::display_order(&a.metric).cmp(&metric_info::display_order(&b.metric))
        });
        let proofs = by_proof.iter().filter(|(id, _)| &id.group == group);
        let proof_times: Vec<(ProofId, f64)> = if group.is_proof() {
            proofs
                .clone()
                .filter_map(|(id, m)| Some((id.clone(), proof_time(m)?)))
                .collect()
        } else {
            Vec::new()
        };
        // Group-wide values (e.g. the timing of the span around all segments) are no segment.
        let segments = if group.is_app() {
            proofs
                .map(|(id, m)| segment_row(id, m))
                .filter(|r| r.columns().iter().any(|c| c.2.is_some()))
                .collect()
        } else {
            Vec::new()
        };
        groups.push(GroupReport {
            group: group.clone(),
            metrics,
            segments,
            proof_times,
        });
    }

    let total: f64 = groups
        .iter()
        .flat_map(|g| g.proof_times.iter().map(|(_, t)| t))
        .sum();
    let any_time = groups.iter().any(|g| !g.proof_times.is_empty());
    let layers = layers::audit(&by_proof, &per_air_cells);
    // Layers run one after another; the proofs of a layer in parallel.
    let parallel = any_time.then(|| layers.iter().map(LayerRow::critical_path_ms).sum::<f64>());
    let bounded = provers.filter(|_| any_time).map(|k| {
        groups
            .iter()
            .filter(|g| !g.proof_times.is_empty())
            .map(|g| makespan(g.proof_times.iter().map(|(_, t)| *t), k))
            .sum::<f64>()
    });

    let app_sum = |metric: &str| -> Option<f64> {
        let vals: Vec<f64> = by_proof
            .iter()
            .filter(|(id, _)| id.group.is_app())
            .filter_map(|(_, m)| m.get(metric).copied())
            .collect();
        (!vals.is_empty()).then(|| vals.iter().sum())
    };
    let proof_sum = |metric: &str| -> Option<f64> {
        let vals: Vec<f64> = by_proof
            .iter()
            .filter(|(id, _)| id.group.is_proof())
            .filter_map(|(_, m)| m.get(metric).copied())
            .collect();
        (!vals.is_empty()).then(|| vals.iter().sum())
    };
    // Committed cells of every proof; from the per-AIR `cells` when `total_cells` is absent.
    let total_cells = proof_sum(names::TOTAL_CELLS).or_else(|| {
        let vals: Vec<f64> = per_air_cells
            .iter()
            .filter(|(id, _)| id.group.is_proof())
            .map(|(_, v)| *v)
            .collect();
        (!vals.is_empty()).then(|| vals.iter().sum())
    });
    // The proof a verifier receives: the root's when there is an aggregation tree, else
    // every app segment's.
    let root_size: Vec<f64> = by_proof
        .iter()
        .filter(|(id, _)| id.group.0 == Some(starkscope_metrics::Group::Root))
        .filter_map(|(_, m)| m.get(names::PROOF_SIZE_BYTES).copied())
        .collect();
    let proof_size = if root_size.is_empty() {
        app_sum(names::PROOF_SIZE_BYTES)
    } else {
        Some(root_size.iter().sum())
    };

    let mut headlines = vec![
        Headline {
            key: headline::TOTAL_PROOF_TIME,
            name: "total proof time".into(),
            unit: "ms",
            better: Better::Lower,
            value: any_time.then_some(total),
        },
        Headline {
            key: headline::PARALLEL_PROOF_TIME,
            name: "parallel proof time".into(),
            unit: "ms",
            better: Better::Lower,
            value: parallel,
        },
    ];
    if let Some(k) = provers {
        headlines.push(Headline {
            key: headline::BOUNDED_PROOF_TIME,
            name: format!("proof time with {k} provers"),
            unit: "ms",
            better: Better::Lower,
            value: bounded,
        });
    }
    headlines.extend([
        Headline {
            key: headline::TOTAL_CYCLES,
            name: "total cycles".into(),
            unit: "count",
            better: Better::Lower,
            value: app_sum(names::TOTAL_CYCLES),
        },
        Headline {
            key: headline::TOTAL_CELLS,
            name: "total cells".into(),
            unit: "count",
            better: Better::Lower,
            value: total_cells,
        },
        Headline {
            key: headline::PROOF_SIZE,
            name: "proof size".into(),
            unit: "bytes",
            better: Better::Lower,
            value: proof_size,
        },
    ]);
    // Only runs that sampled resources have it (unlabelled; parts of a run from several
    // processes were already combined into their largest when read).
    let peak_rss = run
        .get(names::RUN_PEAK_RSS_BYTES, &Labels::new())
        .map(|s| s.value);
    if peak_rss.is_some() {
        headlines.push(Headline {
            key: headline::PEAK_RSS,
            name: "peak memory (RSS)".into(),
            unit: "bytes",
            better: Better::Lower,
            value: peak_rss,
        });
    }

    Analysis {
        groups,
        layers,
        headlines,
    }
}

/// A proof's time: `total_proof_time_ms`, else the sum of the phases that were recorded.
pub(crate) fn proof_time(m: &BTreeMap<&str, f64>) -> Option<f64> {
    if let Some(t) = m.get(names::TOTAL_PROOF_TIME_MS) {
        return Some(*t);
    }
    let parts: Vec<f64> = [
        names::EXECUTE_TIME_MS,
        names::TRACE_GEN_TIME_MS,
        names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS,
    ]
    .iter()
    .filter_map(|k| m.get(k).copied())
    .collect();
    (!parts.is_empty()).then(|| parts.iter().sum())
}

fn segment_row(id: &ProofId, m: &BTreeMap<&str, f64>) -> SegmentRow {
    let get = |k: &str| m.get(k).copied();
    let total_ms = proof_time(m);
    let cycles = get(names::TOTAL_CYCLES);
    let cycles_per_s = match (cycles, total_ms) {
        (Some(c), Some(t)) if t > 0.0 => Some(c / (t / 1000.0)),
        _ => None,
    };
    SegmentRow {
        segment: id.index.clone(),
        execute_ms: get(names::EXECUTE_TIME_MS),
        trace_gen_ms: get(names::TRACE_GEN_TIME_MS),
        stark_prove_ms: get(names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS),
        total_ms,
        cycles,
        cells: get(names::TOTAL_CELLS),
        cycles_per_s,
    }
}

/// Time to run `jobs` on `k` identical provers, longest job first onto the least-loaded
/// prover (LPT: within 4/3 of optimal, and exact for k = 1 or k >= jobs).
pub fn makespan(jobs: impl IntoIterator<Item = f64>, k: usize) -> f64 {
    let k = k.max(1);
    let mut jobs: Vec<f64> = jobs.into_iter().collect();
    jobs.sort_by(|a, b| b.total_cmp(a));
    let mut load = vec![0.0f64; k.min(jobs.len()).max(1)];
    for j in jobs {
        let (i, _) = load
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .expect("at least one prover");
        load[i] += j;
    }
    load.into_iter().fold(0.0, f64::max)
}

/// Samples grouped for the detailed audit: by the set of non-scope label keys.
pub fn by_detail_keys<'a>(
    samples: impl Iterator<Item = &'a Sample>,
) -> BTreeMap<Vec<&'a str>, Vec<&'a Sample>> {
    let mut out: BTreeMap<Vec<&str>, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        out.entry(s.detail_keys()).or_default().push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makespan_schedules_longest_first() {
        // LPT: 5|4, 3->4, 3->5, 3->7: 10 (the optimum 9 is NP-hard in general; LPT is the estimate).
        assert_eq!(makespan([5.0, 4.0, 3.0, 3.0, 3.0], 2), 10.0);
        assert_eq!(makespan([4.0, 4.0, 2.0, 2.0], 2), 6.0);
        assert_eq!(makespan([5.0, 4.0, 3.0], 1), 12.0);
        assert_eq!(makespan([5.0, 4.0, 3.0], 8), 5.0);
        assert_eq!(makespan(std::iter::empty(), 3), 0.0);
    }
}
