//! One benchmark proven N times, each sample in its own child, with the yardstick timed
//! right next to each: the measurements the benchmark gate compares (docs/prof.md).
//!
//! The snapshot written is one sample's (the one with the median app proof time, so its
//! tables show a typical run), with every sample's headline timings and peak memory, and
//! the yardstick's times, in `meta.repeats`. Deterministic metrics (the catalogue's
//! counters but the proof size: cycles, rows, cells, constraints, ...) must be equal in
//! every sample: the gate compares them exactly, so a difference is reported here as a bug.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use starkscope_metrics::catalogue::is_deterministic;
use starkscope_metrics::names;
use starkscope_snapshot::repeats::{self, median, median_abs_deviation};
use starkscope_snapshot::{format_labels, parse_counter, parse_gauge, Repeats, Snapshot};

use crate::child::ChildRun;
use crate::measure::Measurement;
use crate::yardstick::Yardstick;

/// The series `meta.repeats` records, one value per sample, each summed over the
/// snapshot's entries: the app proof's wall time (what a user waits for), the segment proof
/// times (prof's "total proof time": the work, whatever the parallelism), the run's exact
/// peak memory, and the proof size (nearly deterministic, see `is_deterministic`).
pub const SERIES: [&str; 4] = [
    names::APP_PROOF_TIME_MS,
    names::TOTAL_PROOF_TIME_MS,
    names::RUN_PEAK_RSS_BYTES,
    names::PROOF_SIZE_BYTES,
];

/// What [`sample`] measured.
pub struct Sampled {
    /// The representative sample's snapshot, `meta.repeats` filled in.
    pub snapshot: Snapshot,
    pub repeats: Repeats,
    /// Every sample's measurement, in order.
    pub measurements: Vec<Measurement>,
}

impl Sampled {
    /// The representative sample's measurement.
    pub fn representative(&self) -> &Measurement {
        &self.measurements[self.repeats.representative]
    }

    /// The median of a series and its spread (median absolute deviation over the median).
    pub fn median_and_spread(&self, series: &str) -> Option<(f64, f64)> {
        let values = self.repeats.series.get(series)?;
        spread_of(values)
    }

    /// The median and spread of the yardstick's times.
    pub fn yardstick(&self) -> Option<(f64, f64)> {
        spread_of(&self.repeats.yardstick.ms)
    }

    /// `series` in yardstick units, as the gate compares it: the ratio of the medians, and
    /// its spread (the two spreads combined).
    pub fn normalised(&self, series: &str) -> Option<(f64, f64)> {
        let (t, t_spread) = self.median_and_spread(series)?;
        let (y, y_spread) = self.yardstick()?;
        Some((t / y, t_spread.hypot(y_spread)))
    }
}

fn spread_of(values: &[f64]) -> Option<(f64, f64)> {
    let m = median(values)?;
    Some((m, median_abs_deviation(values)? / m))
}

/// Proves `run.bench` `samples` times through `exe` (each sample in a child writing its
/// snapshot into `scratch`), alternating which of the benchmark and the yardstick goes
/// first so that neither always follows the other. `progress` sees each sample.
pub fn sample(
    exe: &Path,
    run: &ChildRun,
    samples: usize,
    yardstick: &Yardstick,
    scratch: &Path,
    mut progress: impl FnMut(usize, &Measurement, f64),
) -> anyhow::Result<Sampled> {
    if samples == 0 {
        bail!("--samples must be at least 1");
    }
    let mut measurements = Vec::with_capacity(samples);
    let mut yardstick_ms = Vec::with_capacity(samples);
    let mut files = Vec::with_capacity(samples);
    let result = (|| -> anyhow::Result<Sampled> {
        for i in 0..samples {
            let path = scratch.join(format!(".{}.sample-{i}.json", run.bench));
            files.push(path.clone());
            let child = ChildRun {
                metrics: Some(path),
                ..run.clone()
            };
            let (m, y) = if i % 2 == 0 {
                let m = child.run(exe)?;
                (m, yardstick.measure_ms()?)
            } else {
                let y = yardstick.measure_ms()?;
                (child.run(exe)?, y)
            };
            progress(i, &m, y);
            measurements.push(m);
            yardstick_ms.push(y);
        }
        let snapshots = files
            .iter()
            .map(Snapshot::read)
            .collect::<Result<Vec<_>, _>>()?;
        combine(
            &run.bench,
            snapshots,
            yardstick_ms.clone(),
            measurements.clone(),
        )
    })();
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    result
}

/// The samples' snapshots as one: checks that the deterministic metrics agree, picks the
/// representative, and records the series.
fn combine(
    bench: &str,
    snapshots: Vec<Snapshot>,
    yardstick_ms: Vec<f64>,
    measurements: Vec<Measurement>,
) -> anyhow::Result<Sampled> {
    for (i, s) in snapshots.iter().enumerate().skip(1) {
        deterministic_agree(&snapshots[0], s)
            .with_context(|| format!("benchmark `{bench}`: samples 1 and {}", i + 1))?;
    }
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for name in SERIES {
        let values: Option<Vec<f64>> = snapshots.iter().map(|s| sum(s, name)).collect();
        match values {
            Some(v) => {
                series.insert(name.to_string(), v);
            }
            None => bail!(
                "benchmark `{bench}`: a sample's snapshot has no `{name}` (built without --features bench-metrics?)"
            ),
        }
    }
    let representative = median_index(&series[names::APP_PROOF_TIME_MS]);
    let repeats = Repeats {
        samples: snapshots.len(),
        representative,
        yardstick: repeats::Yardstick {
            id: Yardstick::id(),
            ms: yardstick_ms,
        },
        series,
    };
    let mut snapshot = snapshots
        .into_iter()
        .nth(representative)
        .expect("the representative is one of the samples");
    let meta = snapshot
        .meta
        .as_mut()
        .with_context(|| format!("benchmark `{bench}`: the snapshot has no `meta`"))?;
    repeats.store(meta);
    Ok(Sampled {
        snapshot,
        repeats,
        measurements,
    })
}

/// The sum of every entry of `metric` in the snapshot (one per segment, or one per run).
fn sum(s: &Snapshot, metric: &str) -> Option<f64> {
    let gauges = s.gauges(metric).filter_map(|e| parse_gauge(&e.value));
    let counters = s
        .counters(metric)
        .filter_map(|e| parse_counter(&e.value).map(|c| c as f64));
    let values: Vec<f64> = gauges.chain(counters).collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// The index of the median value (the lower middle for an even count).
fn median_index(values: &[f64]) -> usize {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order[(values.len() - 1) / 2]
}

/// Every deterministic metric of `a` and `b` has the same labels and value; the first
/// difference is the error.
fn deterministic_agree(a: &Snapshot, b: &Snapshot) -> anyhow::Result<()> {
    let counters = |s: &Snapshot| -> BTreeMap<String, String> {
        s.counter
            .iter()
            .filter(|e| is_deterministic(&e.metric))
            .map(|e| {
                let mut labels = e.labels.clone();
                labels.sort();
                (
                    format!("{}{}", e.metric, format_labels(&labels)),
                    e.value.clone(),
                )
            })
            .collect()
    };
    let (a, b) = (counters(a), counters(b));
    for key in a.keys().chain(b.keys()) {
        let (x, y) = (a.get(key), b.get(key));
        if x != y {
            bail!(
                "{key} is {} in one and {} in the other: deterministic metrics must not differ between runs (the gate compares them exactly)",
                x.map_or("absent", String::as_str),
                y.map_or("absent", String::as_str)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use starkscope_snapshot::Entry;

    fn snapshot(cells: &str, proof_bytes: &str) -> Snapshot {
        let entry = |metric: &str, value: &str| Entry {
            metric: metric.into(),
            labels: vec![("segment".into(), "0".into()), ("group".into(), "g".into())],
            value: value.into(),
        };
        Snapshot {
            counter: vec![
                entry("total_cells", cells),
                entry("proof_size_bytes", proof_bytes),
            ],
            ..Snapshot::default()
        }
    }

    #[test]
    fn median_index_picks_the_middle_sample() {
        assert_eq!(median_index(&[5.0, 1.0, 3.0]), 2);
        assert_eq!(median_index(&[4.0, 1.0, 3.0, 2.0]), 3);
        assert_eq!(median_index(&[7.0]), 0);
    }

    #[test]
    fn a_deterministic_metric_that_differs_is_named() {
        // The proof size varies with the proof-of-work witness (see is_deterministic).
        assert!(deterministic_agree(&snapshot("10", "900"), &snapshot("10", "907")).is_ok());
        let err = deterministic_agree(&snapshot("10", "900"), &snapshot("11", "900")).unwrap_err();
        assert_eq!(
            err.to_string().split(':').next().unwrap(),
            "total_cells{group=g,segment=0} is 10 in one and 11 in the other"
        );
    }
}
