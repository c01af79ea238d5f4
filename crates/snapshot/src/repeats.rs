//! Repeated measurements of one benchmark, kept in the snapshot's `meta.repeats`.
//!
//! One run of a benchmark on a shared machine says little about its speed: back-to-back runs
//! differ by several percent. `starkscope-bench run --samples N` proves the benchmark N times,
//! measures a yardstick (a fixed workload that does not depend on starkscope's code) next to
//! each proof, and records here every sample's headline timings and the yardstick's times.
//! The snapshot's metrics are those of one of the samples ([`Repeats::representative`]).
//!
//! ```json
//! "repeats": {"samples": 5, "representative": 2,
//!             "yardstick": {"id": "p3-uni-stark ...", "ms": [412.1, 409.8, ...]},
//!             "series": {"app_proof_time_ms": [1512.0, ...], "run_peak_rss_bytes": [...]}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Meta;

/// The key of [`Repeats`] in [`Meta::extra`].
pub const META_KEY: &str = "repeats";

/// A benchmark measured several times, with a yardstick measured next to each sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeats {
    /// How many times the benchmark was proven; every series has this many values.
    pub samples: usize,
    /// Which sample (0-based) the snapshot's metrics come from.
    pub representative: usize,
    pub yardstick: Yardstick,
    /// Per measured quantity (a catalogue metric name, or a headline key such as
    /// `total_proof_time_ms`), one value per sample in sample order.
    pub series: BTreeMap<String, Vec<f64>>,
}

/// The yardstick's times, one per sample, measured right before or after that sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Yardstick {
    /// What the yardstick is, precisely enough that two runs with the same id measured the
    /// same work: only then are times normalised by it comparable.
    pub id: String,
    pub ms: Vec<f64>,
}

impl Repeats {
    /// The repeats recorded in `meta`: `Ok(None)` when there are none, `Err` (a message
    /// naming the problem) when the entry is malformed or inconsistent.
    pub fn from_meta(meta: &Meta) -> Result<Option<Repeats>, String> {
        let Some(value) = meta.extra.get(META_KEY) else {
            return Ok(None);
        };
        let repeats: Repeats = serde_json::from_value(value.clone())
            .map_err(|e| format!("`meta.{META_KEY}` is malformed: {e}"))?;
        repeats.check()?;
        Ok(Some(repeats))
    }

    /// Stores the repeats in `meta`, replacing any earlier ones.
    pub fn store(&self, meta: &mut Meta) {
        let value = serde_json::to_value(self).expect("repeats always serialize");
        meta.extra.insert(META_KEY.to_string(), value);
    }

    /// Every series and the yardstick have one finite, positive value per sample.
    fn check(&self) -> Result<(), String> {
        let n = self.samples;
        if n == 0 {
            return Err(format!("`meta.{META_KEY}` has no samples"));
        }
        if self.representative >= n {
            return Err(format!(
                "`meta.{META_KEY}.representative` is {} but there are {n} samples",
                self.representative
            ));
        }
        let named = std::iter::once(("yardstick", &self.yardstick.ms))
            .chain(self.series.iter().map(|(k, v)| (k.as_str(), v)));
        for (name, values) in named {
            if values.len() != n {
                return Err(format!(
                    "`meta.{META_KEY}`: {name} has {} values for {n} samples",
                    values.len()
                ));
            }
            if let Some(bad) = values.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                return Err(format!(
                    "`meta.{META_KEY}`: {name} has the value {bad}, not a positive number"
                ));
            }
        }
        Ok(())
    }
}

/// The median of `values` (the mean of the middle two for an even count), NaN ignored;
/// `None` when nothing is left.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// The median absolute deviation from the median: a spread that one wild sample cannot
/// inflate (a busy neighbour during one sample is common on shared machines).
pub fn median_abs_deviation(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    median(&deviations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            schema: crate::SCHEMA_VERSION,
            run_id: "r".into(),
            started_at: "t".into(),
            git_rev: None,
            panic: None,
            extra: BTreeMap::new(),
        }
    }

    fn repeats() -> Repeats {
        Repeats {
            samples: 3,
            representative: 1,
            yardstick: Yardstick {
                id: "y".into(),
                ms: vec![10.0, 20.0, 10.0],
            },
            series: BTreeMap::from([("t_ms".to_string(), vec![100.0, 200.0, 110.0])]),
        }
    }

    #[test]
    fn round_trip_through_meta() {
        let mut m = meta();
        assert_eq!(Repeats::from_meta(&m), Ok(None));
        repeats().store(&mut m);
        let back = Repeats::from_meta(&m).unwrap().unwrap();
        assert_eq!(back, repeats());
    }

    #[test]
    fn inconsistent_repeats_are_named() {
        let mut r = repeats();
        r.series.insert("short".into(), vec![1.0]);
        let mut m = meta();
        r.store(&mut m);
        let err = Repeats::from_meta(&m).unwrap_err();
        assert!(err.contains("short has 1 values for 3 samples"), "{err}");

        let mut r = repeats();
        r.yardstick.ms[0] = 0.0;
        r.store(&mut m);
        let err = Repeats::from_meta(&m).unwrap_err();
        assert!(err.contains("yardstick has the value 0"), "{err}");

        m.extra
            .insert(META_KEY.into(), serde_json::json!({"samples": "five"}));
        let err = Repeats::from_meta(&m).unwrap_err();
        assert!(err.contains("malformed"), "{err}");
    }

    #[test]
    fn median_and_mad() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
        // One wild value does not move the MAD.
        assert_eq!(
            median_abs_deviation(&[10.0, 11.0, 9.0, 10.0, 50.0]),
            Some(1.0)
        );
    }
}
