//! `starkscope prof`: summaries, baseline diffs, charts and a CI gate over metrics snapshots.
//!
//! Exit codes ([`Exit`], one table for every command): 0 done; 2 bad options; 3 a bad
//! snapshot (nothing written for either); 4 the gate found a regression (every report is
//! still written); 75 an output could not be written for a reason that may pass.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use starkscope_prof::{ProfError, ProfOptions};
use starkscope_sdk::exit::io_exit;
use starkscope_sdk::Exit;
use starkscope_snapshot::SnapshotError;

/// Summarise metrics snapshots, compare them with a baseline, draw charts, gate CI.
#[derive(Debug, Clone, clap::Args)]
pub struct ProfArgs {
    /// Metrics snapshot(s) of the run (starkscope's or OpenVM's JSON); several files are
    /// merged as parts of one run.
    #[arg(required = true, value_name = "SNAPSHOT")]
    pub inputs: Vec<PathBuf>,

    /// Snapshot of the baseline to compare against; repeat for a baseline in several files.
    #[arg(long = "baseline", value_name = "SNAPSHOT")]
    pub baselines: Vec<PathBuf>,

    /// Also write summary.md, detailed.md, report.html, bench.json, folded stacks and
    /// flamegraphs into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Hide changes smaller than this many percent.
    #[arg(long, value_name = "PCT", default_value_t = 2.0)]
    pub threshold: f64,

    /// Also estimate the proof time with this many provers working in parallel.
    #[arg(long, value_name = "K")]
    pub provers: Option<usize>,

    /// Write the headline metrics for a benchmark tracker (github-action-benchmark's
    /// customSmallerIsBetter format) to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Gate against the baseline; exit 4 on a regression: a deterministic metric (cycles,
    /// rows, cells, constraints, ...) that got worse or changed, peak memory or proof size
    /// with every repeated sample above the baseline's beyond a small tolerance, or a timing
    /// (repeated samples, in yardstick units) slower than max(PCT, 4 standard errors of the
    /// measured spread). See docs/prof.md.
    #[arg(long, value_name = "PCT")]
    pub fail_on_regression: Option<f64>,
}

impl ProfArgs {
    pub fn options(&self) -> ProfOptions {
        ProfOptions {
            inputs: self.inputs.clone(),
            baselines: self.baselines.clone(),
            out_dir: self.out_dir.clone(),
            threshold_pct: self.threshold,
            provers: self.provers,
            json: self.json.clone(),
            fail_on_regression_pct: self.fail_on_regression,
        }
    }
}

/// The status a failed prof run exits with.
fn exit_of(e: &ProfError) -> Exit {
    match e {
        ProfError::Options(_) => Exit::Usage,
        ProfError::Snapshot(SnapshotError::Read { source, .. })
        | ProfError::Snapshot(SnapshotError::Write { source, .. })
        | ProfError::Write { source, .. } => io_exit(source),
        ProfError::Snapshot(_)
        | ProfError::NoMetrics { .. }
        | ProfError::DuplicateLabel(_)
        | ProfError::Contradiction(_)
        | ProfError::BadGroup { .. }
        | ProfError::BadRepeats { .. } => Exit::BadInput,
        ProfError::Render { .. } => Exit::Internal,
    }
}

/// Runs `starkscope prof`: the summary to stdout, files and findings to stderr.
pub fn run(args: &ProfArgs) -> anyhow::Result<ExitCode> {
    let outcome = match starkscope_prof::run(&args.options()) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit_of(&e).into());
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(outcome.summary.as_bytes())
        .context("writing the summary to stdout")?;
    stdout.flush().context("writing the summary to stdout")?;
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    for path in &outcome.written {
        eprintln!("wrote {}", path.display());
    }
    if let Some(gate) = &outcome.gate {
        if let Some(why) = &gate.timings.not_gated {
            eprintln!("warning: timings not gated: {why}");
        }
        for why in &gate.nearly_exact.not_gated {
            eprintln!("warning: not gated: {why}");
        }
    }
    if outcome.regressed() {
        eprintln!("regression:");
        for r in &outcome.regressions {
            eprintln!("  {r}");
        }
        return Ok(Exit::Regression.into());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ProfArgs,
    }

    fn parse(argv: &[&str]) -> ProfArgs {
        Cli::try_parse_from(std::iter::once("prof").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    fn fixture(name: &str) -> String {
        format!(
            "{}/../prof/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    #[test]
    fn flags_map_to_options() {
        let a = parse(&[
            "run.json",
            "more.json",
            "--baseline",
            "b1.json",
            "--baseline",
            "b2.json",
            "--out-dir",
            "out",
            "--threshold",
            "5",
            "--provers",
            "4",
            "--json",
            "bench.json",
            "--fail-on-regression",
            "10",
        ]);
        let o = a.options();
        assert_eq!(
            o.inputs,
            [PathBuf::from("run.json"), PathBuf::from("more.json")]
        );
        assert_eq!(
            o.baselines,
            [PathBuf::from("b1.json"), PathBuf::from("b2.json")]
        );
        assert_eq!(o.out_dir, Some(PathBuf::from("out")));
        assert_eq!(
            (o.threshold_pct, o.provers, o.fail_on_regression_pct),
            (5.0, Some(4), Some(10.0))
        );
        assert_eq!(o.json, Some(PathBuf::from("bench.json")));
        assert_eq!(parse(&["r.json"]).threshold, 2.0);
        assert!(
            Cli::try_parse_from(["prof"]).is_err(),
            "a snapshot is required"
        );
    }

    #[test]
    fn exit_codes() {
        let ok = parse(&[&fixture("app_segments.json")]);
        assert_eq!(run(&ok).unwrap(), ExitCode::SUCCESS);
        // The run has more cells than the baseline: a deterministic metric got worse.
        let gate = parse(&[
            &fixture("app_segments.json"),
            "--baseline",
            &fixture("baseline.json"),
            "--fail-on-regression",
            "5",
        ]);
        assert_eq!(run(&gate).unwrap(), Exit::Regression.into());
        let bad = parse(&[&fixture("bad/malformed.json")]);
        assert_eq!(run(&bad).unwrap(), Exit::BadInput.into());
        let missing = parse(&["/nonexistent/run.json"]);
        assert_eq!(run(&missing).unwrap(), Exit::BadInput.into());
        let no_baseline = parse(&[&fixture("app_segments.json"), "--fail-on-regression", "5"]);
        assert_eq!(run(&no_baseline).unwrap(), Exit::Usage.into());
    }
}
