//! Timings, gated only through repeated samples normalised by a yardstick.
//!
//! One timing of one run on a shared machine is noise: back-to-back runs differ by several
//! percent. `starkscope-bench run --samples N` records N samples of each headline timing
//! and N times of a yardstick (a fixed Plonky3 proof, independent of our code) measured
//! next to them. What is compared is the *ratio* median(timing) / median(yardstick), which
//! cancels the machine's speed (another runner, a throttled CPU, a busy neighbour for the
//! whole job), and the threshold comes from the spread the samples show:
//!
//! - spread of one series: its median absolute deviation over its median (one wild sample
//!   cannot inflate it);
//! - standard error of a median of n samples, relative: `1.2533 × 1.4826 × spread / √n`
//!   (1.4826 turns a MAD into a standard deviation, 1.2533 is the median's efficiency
//!   under normal noise);
//! - a ratio's error combines its two medians' (`√(se_t² + se_y²)`), and the change between
//!   run and baseline combines both ratios' (`se = √(se_run² + se_base²)`);
//! - threshold = max(floor, [`NOISE_K`] × se). The floor (`--fail-on-regression PCT`)
//!   covers what the within-job spread cannot show: differences between runners that the
//!   yardstick does not cancel.
//!
//! A timing is not gated (and the report says why) when either side has fewer than
//! [`MIN_SAMPLES`] samples, or the two yardsticks are not the same workload.

use std::fmt;

use starkscope_metrics::names;
use starkscope_snapshot::repeats::{median, median_abs_deviation};
use starkscope_snapshot::Repeats;

/// How many standard errors a normalised median must move to fail. Three would suffice if
/// the spread were known; estimated from about five samples it is itself uncertain (its
/// tails are those of a Student t with few degrees of freedom, where 3 is crossed about
/// 2% of the time and 4 under 1%), and a pull request gates several timings at once.
pub const NOISE_K: f64 = 4.0;

/// Fewer samples give no usable spread.
pub const MIN_SAMPLES: usize = 3;

/// `1.4826 × 1.2533`: a MAD as the standard deviation of a normal sample, times the
/// median's relative efficiency; per √n, the standard error of a median.
pub const MEDIAN_SE_PER_MAD: f64 = 1.4826 * 1.2533;

/// The timings gated, with their names in reports: the app proof's wall time (what a user
/// waits for) and the summed segment proof times (the work, whatever the parallelism).
pub const GATED: [(&str, &str); 2] = [
    (names::APP_PROOF_TIME_MS, "app proof wall time"),
    (names::TOTAL_PROOF_TIME_MS, "total proof time"),
];

/// One side's samples of one timing, reduced.
#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    pub samples: usize,
    pub median_ms: f64,
    /// Median absolute deviation over the median.
    pub spread: f64,
    pub yardstick_ms: f64,
    pub yardstick_spread: f64,
    /// median_ms / yardstick_ms.
    pub ratio: f64,
    /// Relative standard error of `ratio`.
    pub ratio_se: f64,
}

impl Side {
    fn of(repeats: &Repeats, series: &str) -> Option<Side> {
        let values = repeats.series.get(series)?;
        let (median_ms, spread) = centre_and_spread(values)?;
        let (yardstick_ms, yardstick_spread) = centre_and_spread(&repeats.yardstick.ms)?;
        let n = values.len() as f64;
        let se = |spread: f64| MEDIAN_SE_PER_MAD * spread / n.sqrt();
        Some(Side {
            samples: values.len(),
            median_ms,
            spread,
            yardstick_ms,
            yardstick_spread,
            ratio: median_ms / yardstick_ms,
            ratio_se: se(spread).hypot(se(yardstick_spread)),
        })
    }
}

fn centre_and_spread(values: &[f64]) -> Option<(f64, f64)> {
    let m = median(values)?;
    Some((m, median_abs_deviation(values)? / m))
}

/// One gated timing: both sides, the change of the ratio and the threshold it was held to.
#[derive(Clone, Debug, PartialEq)]
pub struct TimingCheck {
    /// The series, e.g. `app_proof_time_ms`.
    pub key: String,
    /// Its name in reports.
    pub name: String,
    pub run: Side,
    pub base: Side,
    /// (run ratio / baseline ratio - 1), in percent.
    pub change_pct: f64,
    pub threshold_pct: f64,
}

impl TimingCheck {
    pub fn regressed(&self) -> bool {
        self.change_pct > self.threshold_pct
    }
}

impl fmt::Display for TimingCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {:+.1}% in yardstick units ({:.3} -> {:.3}; medians {:.0} ms over {:.0} ms, baseline {:.0} ms over {:.0} ms), beyond the threshold of {:.1}%",
            self.name,
            self.change_pct,
            self.base.ratio,
            self.run.ratio,
            self.run.median_ms,
            self.run.yardstick_ms,
            self.base.median_ms,
            self.base.yardstick_ms,
            self.threshold_pct
        )
    }
}

/// What the timing comparison found: the checks made, and why others were not made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimingReport {
    pub checks: Vec<TimingCheck>,
    /// Timings the baseline has and the run lacks (a measurement must not vanish to pass).
    pub missing: Vec<String>,
    /// Why timings were not gated, if they were not.
    pub not_gated: Option<String>,
}

/// Compares the gated timings of two runs' repeats; `floor_pct` is the smallest threshold.
pub fn compare(run: Option<&Repeats>, base: Option<&Repeats>, floor_pct: f64) -> TimingReport {
    let skip = |why: String| TimingReport {
        not_gated: Some(why),
        ..TimingReport::default()
    };
    let (run, base) = match (run, base) {
        (Some(r), Some(b)) => (r, b),
        (None, _) => return skip("the run has no repeated samples (`starkscope-bench run --samples N` records them)".into()),
        (_, None) => return skip("the baseline has no repeated samples (made by an older runner, or not by `starkscope-bench run`)".into()),
    };
    if run.samples < MIN_SAMPLES || base.samples < MIN_SAMPLES {
        return skip(format!(
            "{} samples in the run and {} in the baseline: at least {MIN_SAMPLES} each are needed to see the spread",
            run.samples, base.samples
        ));
    }
    if run.yardstick.id != base.yardstick.id {
        return skip(format!(
            "the yardsticks differ (run: {}; baseline: {}), so times normalised by them do not compare",
            run.yardstick.id, base.yardstick.id
        ));
    }
    let mut report = TimingReport::default();
    for (key, name) in GATED {
        let Some(b) = Side::of(base, key) else {
            continue;
        };
        let Some(r) = Side::of(run, key) else {
            report.missing.push(name.to_string());
            continue;
        };
        let se = r.ratio_se.hypot(b.ratio_se);
        report.checks.push(TimingCheck {
            key: key.to_string(),
            name: name.to_string(),
            change_pct: (r.ratio / b.ratio - 1.0) * 100.0,
            threshold_pct: floor_pct.max(NOISE_K * se * 100.0),
            run: r,
            base: b,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use starkscope_snapshot::repeats::Yardstick;
    use std::collections::BTreeMap;

    fn repeats(times: &[f64], yardstick: &[f64]) -> Repeats {
        Repeats {
            samples: times.len(),
            representative: 0,
            yardstick: Yardstick {
                id: "y".into(),
                ms: yardstick.to_vec(),
            },
            series: BTreeMap::from([(names::APP_PROOF_TIME_MS.to_string(), times.to_vec())]),
        }
    }

    const BASE: [f64; 5] = [1000.0, 1010.0, 990.0, 1020.0, 980.0];
    const YARD: [f64; 5] = [400.0, 404.0, 396.0, 408.0, 392.0];

    #[test]
    fn a_uniform_slowdown_cancels_in_yardstick_units() {
        let slow = |v: &[f64]| v.iter().map(|x| x * 1.3).collect::<Vec<_>>();
        let r = compare(
            Some(&repeats(&slow(&BASE), &slow(&YARD))),
            Some(&repeats(&BASE, &YARD)),
            5.0,
        );
        let c = &r.checks[0];
        assert!(c.change_pct.abs() < 1e-9, "{c:?}");
        assert!(!c.regressed());
    }

    #[test]
    fn the_threshold_grows_with_the_spread() {
        let base = repeats(&BASE, &YARD);
        // Spread 1% on each of the four series: 4 x 1.858 x 1% x sqrt(4 / 5) = 6.6%.
        let quiet = compare(Some(&base), Some(&base), 5.0);
        let t = quiet.checks[0].threshold_pct;
        assert!((t - 6.65).abs() < 0.01, "{t}");
        // Unless the floor is higher.
        assert_eq!(
            compare(Some(&base), Some(&base), 10.0).checks[0].threshold_pct,
            10.0
        );
        // MAD 10% on the run: se = 1.858 * 0.1 / sqrt(5) = 8.3% (+ the rest), x4.
        let noisy = repeats(&[1000.0, 1100.0, 900.0, 1200.0, 800.0], &YARD);
        let c = &compare(Some(&noisy), Some(&base), 5.0).checks[0];
        assert!(c.threshold_pct > 33.0 && c.threshold_pct < 35.0, "{c:?}");
    }

    #[test]
    fn slower_beyond_the_threshold_regresses() {
        let base = repeats(&BASE, &YARD);
        let slower = |f: f64| repeats(&BASE.map(|x| x * f), &YARD);
        assert!(!compare(Some(&slower(1.04)), Some(&base), 5.0).checks[0].regressed());
        let c = &compare(Some(&slower(1.2)), Some(&base), 5.0).checks[0];
        assert!(c.regressed(), "{c:?}");
        assert!(c
            .to_string()
            .starts_with("app proof wall time: +20.0% in yardstick units"));
    }

    #[test]
    fn what_cannot_be_compared_is_said() {
        let base = repeats(&BASE, &YARD);
        let two = repeats(&BASE[..2], &YARD[..2]);
        let why = compare(Some(&two), Some(&base), 5.0).not_gated.unwrap();
        assert!(why.contains("at least 3"), "{why}");
        let mut other = base.clone();
        other.yardstick.id = "z".into();
        let why = compare(Some(&other), Some(&base), 5.0).not_gated.unwrap();
        assert!(why.contains("yardsticks differ"), "{why}");
        let why = compare(None, Some(&base), 5.0).not_gated.unwrap();
        assert!(why.contains("the run has no repeated samples"), "{why}");
        let mut lacking = base.clone();
        lacking.series.clear();
        assert_eq!(
            compare(Some(&lacking), Some(&base), 5.0).missing,
            ["app proof wall time"]
        );
    }
}
