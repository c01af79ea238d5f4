//! Run-vs-baseline changes: how much, and whether that is better or worse for the metric.

use crate::metric_info::Better;

/// How a change reads for its metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Beyond the noise threshold, in the metric's good direction.
    Better,
    /// Beyond the noise threshold, in the metric's bad direction.
    Worse,
    /// Beyond the noise threshold for a metric with no good direction.
    Changed,
    /// Within the noise threshold: not shown.
    Noise,
}

/// The change from `base` to `new`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Delta {
    pub base: f64,
    pub new: f64,
    pub abs: f64,
    /// Relative change in percent of |base|; `None` when base is zero and new is not (no
    /// finite ratio exists), never NaN or infinite.
    pub rel_pct: Option<f64>,
    pub verdict: Verdict,
}

/// Compares `new` against `base` for a metric whose improvement direction is `better`;
/// changes below `threshold_pct` percent are noise.
pub fn delta(better: Better, base: f64, new: f64, threshold_pct: f64) -> Delta {
    let abs = new - base;
    let rel_pct = if base != 0.0 {
        Some(abs / base.abs() * 100.0).filter(|r| r.is_finite())
    } else if new == 0.0 {
        Some(0.0)
    } else {
        None
    };
    let noise = abs == 0.0 || rel_pct.is_some_and(|r| r.abs() < threshold_pct);
    let verdict = if noise {
        Verdict::Noise
    } else {
        match better {
            Better::Lower if abs < 0.0 => Verdict::Better,
            Better::Lower => Verdict::Worse,
            Better::Higher if abs > 0.0 => Verdict::Better,
            Better::Higher => Verdict::Worse,
            Better::Neither => Verdict::Changed,
        }
    };
    Delta {
        base,
        new,
        abs,
        rel_pct,
        verdict,
    }
}

/// True when a change of `new` over `base` in a lower/higher-better metric is a regression
/// larger than `pct` percent. From a zero baseline any worsening counts.
pub fn regressed(better: Better, base: f64, new: f64, pct: f64) -> bool {
    let d = delta(better, base, new, 0.0);
    if d.verdict != Verdict::Worse {
        return false;
    }
    match d.rel_pct {
        Some(r) => r.abs() > pct,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_decides_better_or_worse() {
        assert_eq!(
            delta(Better::Lower, 100.0, 90.0, 2.0).verdict,
            Verdict::Better
        );
        assert_eq!(
            delta(Better::Lower, 100.0, 110.0, 2.0).verdict,
            Verdict::Worse
        );
        assert_eq!(
            delta(Better::Higher, 100.0, 110.0, 2.0).verdict,
            Verdict::Better
        );
        assert_eq!(
            delta(Better::Higher, 100.0, 90.0, 2.0).verdict,
            Verdict::Worse
        );
        assert_eq!(
            delta(Better::Neither, 100.0, 90.0, 2.0).verdict,
            Verdict::Changed
        );
    }

    #[test]
    fn threshold_hides_noise() {
        assert_eq!(
            delta(Better::Lower, 100.0, 101.9, 2.0).verdict,
            Verdict::Noise
        );
        assert_eq!(
            delta(Better::Lower, 100.0, 98.1, 2.0).verdict,
            Verdict::Noise
        );
        assert_eq!(
            delta(Better::Lower, 100.0, 102.1, 2.0).verdict,
            Verdict::Worse
        );
        assert_eq!(
            delta(Better::Lower, 100.0, 101.0, 0.5).verdict,
            Verdict::Worse
        );
        assert_eq!(delta(Better::Lower, 5.0, 5.0, 0.0).verdict, Verdict::Noise);
    }

    #[test]
    fn zero_baseline_has_no_ratio_and_no_nan() {
        let d = delta(Better::Lower, 0.0, 5.0, 2.0);
        assert_eq!(d.rel_pct, None);
        assert_eq!(d.abs, 5.0);
        assert_eq!(d.verdict, Verdict::Worse);
        let z = delta(Better::Lower, 0.0, 0.0, 2.0);
        assert_eq!(z.rel_pct, Some(0.0));
        assert_eq!(z.verdict, Verdict::Noise);
        let tiny = delta(Better::Lower, 1e-320, 1e300, 2.0);
        assert!(tiny.rel_pct.is_none_or(f64::is_finite));
        assert_eq!(tiny.verdict, Verdict::Worse);
    }

    #[test]
    fn regression_rule() {
        assert!(regressed(Better::Lower, 100.0, 111.0, 10.0));
        assert!(!regressed(Better::Lower, 100.0, 109.0, 10.0));
        assert!(!regressed(Better::Lower, 100.0, 50.0, 10.0));
        assert!(regressed(Better::Higher, 100.0, 80.0, 10.0));
        assert!(regressed(Better::Lower, 0.0, 1.0, 10.0));
        assert!(!regressed(Better::Neither, 1.0, 100.0, 10.0));
    }
}
