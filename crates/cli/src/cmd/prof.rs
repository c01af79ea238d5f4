//! `starkscope prof`: summaries, baseline diffs, charts and a CI gate over metrics snapshots.
//!
//! Exit codes: 0 done; 1 bad input or options (nothing written); 2 a headline metric
//! regressed beyond `--fail-on-regression` (every report is still written).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use starkscope_prof::{ProfOptions, EXIT_REGRESSION};

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

    /// Exit with code 2 when a headline metric (total or parallel proof time, cycles, cells,
    /// proof size) is more than PCT percent worse than in the baseline.
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

/// Runs `starkscope prof`: the summary to stdout, files and findings to stderr.
pub fn run(args: &ProfArgs) -> anyhow::Result<ExitCode> {
    let outcome = starkscope_prof::run(&args.options())?;
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
    if !outcome.regressions.is_empty() {
        let pct = args.fail_on_regression.unwrap_or_default();
        eprintln!("regression beyond {pct}%:");
        for r in &outcome.regressions {
            eprintln!("  {r}");
        }
        return Ok(ExitCode::from(EXIT_REGRESSION as u8));
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
        let gate = parse(&[
            &fixture("app_segments.json"),
            "--baseline",
            &fixture("baseline.json"),
            "--fail-on-regression",
            "5",
        ]);
        assert_eq!(run(&gate).unwrap(), ExitCode::from(2));
        let bad = parse(&[&fixture("bad/malformed.json")]);
        let err = run(&bad).unwrap_err().to_string();
        assert!(err.contains("malformed.json"), "{err}");
    }
}
