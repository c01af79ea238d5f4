//! Instrumentation overhead: the same benchmark proven by two builds of this runner, one
//! with `bench-metrics` and one without, in interleaved rounds whose order alternates (so
//! drift on a noisy machine hits both), reduced to the median ratio on / off.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::child::ChildRun;
use crate::exit::Usage;
use crate::measure::Measurement;
use crate::stats::median;

/// One round: a run of each build.
#[derive(Clone, Debug, Serialize)]
pub struct Round {
    pub on: Measurement,
    pub off: Measurement,
}

/// All rounds and their medians.
#[derive(Clone, Debug, Serialize)]
pub struct Overhead {
    pub rounds: Vec<Round>,
    /// Median whole-run time (keygen, prove, metrics collection) of each build.
    pub on_run_ms: f64,
    pub off_run_ms: f64,
    /// Median prove wall time of each build.
    pub on_prove_ms: f64,
    pub off_prove_ms: f64,
    /// Median of the per-round ratios on / off of the whole-run time: the headline.
    pub ratio: f64,
    /// The same for the prove call alone.
    pub prove_ratio: f64,
}

/// Runs `rounds` rounds of `run` with each binary. Fails when a binary's build does not
/// match its side (metrics compiled in or not).
pub fn measure(
    on_bin: &Path,
    off_bin: &Path,
    run: &ChildRun,
    rounds: usize,
    mut on_round: impl FnMut(usize, &Round),
) -> anyhow::Result<Overhead> {
    let mut all = Vec::with_capacity(rounds);
    for i in 0..rounds.max(1) {
        let (on, off) = if i % 2 == 0 {
            let on = run.run(on_bin)?;
            (on, run.run(off_bin)?)
        } else {
            let off = run.run(off_bin)?;
            (run.run(on_bin)?, off)
        };
        if !on.metrics {
            return Err(Usage(format!(
                "{} was built without bench-metrics; --on needs a build with it",
                on_bin.display()
            ))
            .into());
        }
        if off.metrics {
            return Err(Usage(format!(
                "{} was built with bench-metrics; --off needs a build without it",
                off_bin.display()
            ))
            .into());
        }
        let round = Round { on, off };
        on_round(i, &round);
        all.push(round);
    }
    let med = |f: &dyn Fn(&Round) -> f64| {
        median(&all.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    Ok(Overhead {
        on_run_ms: med(&|r| r.on.run_ms),
        off_run_ms: med(&|r| r.off.run_ms),
        on_prove_ms: med(&|r| r.on.prove_ms),
        off_prove_ms: med(&|r| r.off.prove_ms),
        ratio: med(&|r| r.on.run_ms / r.off.run_ms),
        prove_ratio: med(&|r| r.on.prove_ms / r.off.prove_ms),
        rounds: all,
    })
}

/// A markdown table of the rounds and the medians.
pub fn markdown(o: &Overhead) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| round | on run ms | off run ms | run ratio | on prove ms | off prove ms | prove ratio |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    for (i, r) in o.rounds.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.3} | {:.0} | {:.0} | {:.3} |",
            i + 1,
            r.on.run_ms,
            r.off.run_ms,
            r.on.run_ms / r.off.run_ms,
            r.on.prove_ms,
            r.off.prove_ms,
            r.on.prove_ms / r.off.prove_ms
        );
    }
    let _ = writeln!(
        out,
        "| **median** | {:.0} | {:.0} | **{:.3}** | {:.0} | {:.0} | **{:.3}** |",
        o.on_run_ms, o.off_run_ms, o.ratio, o.on_prove_ms, o.off_prove_ms, o.prove_ratio
    );
    out
}
