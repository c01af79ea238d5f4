//! The gate report as markdown (for people) and JSON (for scripts).

use std::fmt::Write as _;

use serde_json::json;

use super::timing::{Side, MEDIAN_SE_PER_MAD, NOISE_K};
use super::GateReport;
use crate::format::number;

/// Deterministic changes listed in the markdown; the rest are counted.
const MAX_LISTED: usize = 40;

fn pct(fraction: f64) -> String {
    format!("±{:.1}%", fraction * 100.0)
}

fn verdict(fails: bool) -> &'static str {
    if fails {
        "❌"
    } else {
        "✅"
    }
}

fn side(s: &Side) -> String {
    format!("{} ms ({})", number(s.median_ms.round()), pct(s.spread))
}

pub(super) fn markdown(r: &GateReport) -> String {
    let mut out = String::new();
    let failures = r.regressions().len();
    let _ = writeln!(
        out,
        "### Gate: {}\n",
        if failures == 0 {
            "✅ within".to_string()
        } else {
            format!("❌ {failures} regression(s)")
        }
    );

    // Timings.
    let t = &r.timings;
    if let Some(why) = &t.not_gated {
        let _ = writeln!(out, "Timings not gated: {why}.\n");
    }
    if !t.checks.is_empty() {
        out.push_str("| timing | samples | run median (spread) | yardstick (spread) | run / yardstick | baseline median (spread) | baseline yardstick (spread) | baseline ratio | change | threshold | |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for c in &t.checks {
            let _ = writeln!(
                out,
                "| {} | {} / {} | {} | {} ms ({}) | {:.3} | {} | {} ms ({}) | {:.3} | {:+.1}% | {:.1}% | {} |",
                c.name,
                c.run.samples,
                c.base.samples,
                side(&c.run),
                number(c.run.yardstick_ms.round()),
                pct(c.run.yardstick_spread),
                c.run.ratio,
                side(&c.base),
                number(c.base.yardstick_ms.round()),
                pct(c.base.yardstick_spread),
                c.base.ratio,
                c.change_pct,
                c.threshold_pct,
                verdict(c.regressed())
            );
        }
        let _ = writeln!(
            out,
            "\nTimes are compared in yardstick units (median time / median yardstick time, both measured in the same job). Spread: median absolute deviation over the median. Threshold: max({}%, {NOISE_K} × the standard error of the change), the standard error of a median being {MEDIAN_SE_PER_MAD:.2} × spread / √samples.\n",
            r.floor_pct
        );
    }
    for name in &t.missing {
        let _ = writeln!(
            out,
            "❌ {name}: repeated in the baseline, missing from the run's repeats.\n"
        );
    }

    // Peak memory and proof size.
    for m in &r.nearly_exact.checks {
        let _ = writeln!(out, "{} {m}\n", verdict(m.regressed()));
    }
    for why in &r.nearly_exact.not_gated {
        let _ = writeln!(out, "Not gated: {why}.\n");
    }

    // Deterministic metrics.
    let e = &r.exact;
    if e.changes.is_empty() {
        let _ = writeln!(
            out,
            "✅ Deterministic metrics (cycles, rows, cells, constraints, ...): {} series, all equal to the baseline's.",
            number(e.compared as f64)
        );
    } else {
        let failing = e.failures().count();
        let _ = writeln!(
            out,
            "{} Deterministic metrics: {} of {} series changed, {failing} failing (any change but a lower cost fails; see docs/prof.md to accept one).\n",
            verdict(failing > 0),
            e.changes.len(),
            number(e.compared as f64)
        );
        out.push_str("| metric | labels | baseline | run | |\n|---|---|---:|---:|---|\n");
        let value = |v: Option<f64>| v.map_or("-".to_string(), number);
        for c in e.changes.iter().take(MAX_LISTED) {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} {} |",
                c.metric,
                if c.labels.is_empty() {
                    "-".to_string()
                } else {
                    format!("`{}`", c.labels)
                },
                value(c.base),
                value(c.new),
                verdict(c.direction.fails()),
                c.direction.as_str()
            );
        }
        if e.changes.len() > MAX_LISTED {
            let _ = writeln!(
                out,
                "\n... and {} more (detailed.md has every value).",
                e.changes.len() - MAX_LISTED
            );
        }
    }
    out
}

pub(super) fn json(r: &GateReport) -> String {
    let side = |s: &Side| {
        json!({
            "samples": s.samples,
            "median_ms": s.median_ms,
            "spread": s.spread,
            "yardstick_ms": s.yardstick_ms,
            "yardstick_spread": s.yardstick_spread,
            "ratio": s.ratio,
            "ratio_se": s.ratio_se,
        })
    };
    let value = json!({
        "regressed": !r.regressions().is_empty(),
        "regressions": r.regressions().iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        "floor_pct": r.floor_pct,
        "exact": {
            "compared": r.exact.compared,
            "changed": r.exact.changes.len(),
            "failing": r.exact.failures().count(),
        },
        "nearly_exact": r.nearly_exact.checks.iter().map(|m| {
            let extremes = |e: &super::nearly_exact::Extremes| json!({
                "samples": e.samples, "min": e.min, "median": e.median, "max": e.max,
            });
            json!({
                "key": m.key,
                "name": m.name,
                "run": m.new.as_ref().map(extremes),
                "base": extremes(&m.base),
                "change_pct": m.change_pct(),
                "excess_pct": m.excess_pct(),
                "tolerance_pct": m.tolerance_pct,
                "regressed": m.regressed(),
            })
        }).collect::<Vec<_>>(),
        "timings": r.timings.checks.iter().map(|c| json!({
            "key": c.key,
            "name": c.name,
            "run": side(&c.run),
            "base": side(&c.base),
            "change_pct": c.change_pct,
            "threshold_pct": c.threshold_pct,
            "regressed": c.regressed(),
        })).collect::<Vec<_>>(),
        "timings_not_gated": r.timings.not_gated,
        "nearly_exact_not_gated": r.nearly_exact.not_gated,
    });
    let mut s = serde_json::to_string_pretty(&value).expect("JSON values serialize");
    s.push('\n');
    s
}
