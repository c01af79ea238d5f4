//! `starkscope-bench`: prove the benchmark matrix with metrics and write one snapshot per
//! benchmark; sweep segment sizes; measure what the instrumentation costs.
//!
//! Exit codes: `starkscope_sdk::Exit`'s table, as every starkscope command: 0 done; 2 a
//! usage error (clap's, or a flag value found wrong later); 3 a bad config or program; 4 a
//! ratio above `overhead --max-ratio`; 70 a bug; 75 a failure worth retrying.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use starkscope_benchmarks::child::ChildRun;
use starkscope_benchmarks::config::{BenchConfig, ConfigError, DEFAULT_CONFIG};
use starkscope_benchmarks::exit::{exit_of, SomeFailed, Usage};
use starkscope_benchmarks::measure::{mib, Parallel};
use starkscope_benchmarks::repeat::{self, Sampled};
use starkscope_benchmarks::yardstick::Yardstick;
use starkscope_benchmarks::{overhead, prove_once, sweep, Measurement};
use starkscope_metrics::names;
use starkscope_sdk::{error_chain, Exit};
use starkscope_vm::field::parse_field_literals;

#[derive(Debug, Parser)]
#[command(
    name = "starkscope-bench",
    version,
    about = "Prove starkscope's benchmark matrix with metrics, sweep segment sizes, measure instrumentation overhead",
    after_help = "\
Examples (from the repository root, after `cargo build --release -p starkscope-benchmarks --features bench-metrics`):
  target/release/starkscope-bench list
  target/release/starkscope-bench run --out-dir bench-out             # every benchmark
  target/release/starkscope-bench run --bench fibonacci --samples 3 --out-dir bench-out
  target/release/starkscope prof bench-out/fibonacci.json --baseline main/fibonacci.json --fail-on-regression 5
  target/release/starkscope-bench sizes --log-sizes 16,18,20 --input 420000
  bash benchmarks/overhead.sh                                         # metrics on vs off

Exit codes (one table for every starkscope command, docs/sdk.md): 0 done; 2 usage error; 3 bad config or \
program; 4 a ratio above --max-ratio; 70 internal error; 75 worth retrying."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct ConfigArg {
    /// The benchmark matrix (JSON).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    config: PathBuf,
}

impl ConfigArg {
    fn load(&self) -> anyhow::Result<BenchConfig> {
        BenchConfig::load(&self.config).map_err(|e| {
            if matches!(e, ConfigError::Read { .. }) && self.config == Path::new(DEFAULT_CONFIG) {
                anyhow::anyhow!("{e} (run from the repository root, or pass --config FILE)")
            } else {
                e.into()
            }
        })
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the benchmarks of the config with their parameters.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Print the names as one JSON array (a CI matrix).
        #[arg(long)]
        json: bool,
    },
    /// Prove benchmarks with metrics, each several times next to a yardstick, and write
    /// `<out-dir>/<name>.json` snapshots for `starkscope prof` (one sample's metrics, every
    /// sample's timings in `meta.repeats`). Needs a build with `--features bench-metrics`.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Only these benchmarks (repeatable); all of them by default.
        #[arg(long = "bench", short = 'b', value_name = "NAME")]
        benches: Vec<String>,
        /// Where the snapshots go (created if missing; files replaced atomically).
        #[arg(long, value_name = "DIR", default_value = "bench-out")]
        out_dir: PathBuf,
        /// Proving threads (0: one per core).
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
        /// Proofs per benchmark, each next to a yardstick proof; the gate compares medians
        /// and needs at least 3 to see the spread.
        #[arg(long, value_name = "N", default_value_t = 5,
              value_parser = clap::value_parser!(u64).range(1..=1000))]
        samples: u64,
    },
    /// Prove one benchmark at several segment sizes, each in a child process (its own
    /// peak RSS): cycles/s, the execute / trace_gen / stark_prove split, the six phases.
    Sizes {
        #[command(flatten)]
        config: ConfigArg,
        /// The benchmark of the config to prove.
        #[arg(long, value_name = "NAME", default_value = "fibonacci")]
        bench: String,
        /// Segment sizes as powers of two.
        #[arg(
            long,
            value_name = "LOGS",
            value_delimiter = ',',
            default_value = "16,18,20"
        )]
        log_sizes: Vec<u32>,
        /// Replace the benchmark's inputs (repeatable).
        #[arg(long = "input", value_name = "N", allow_negative_numbers = true)]
        inputs: Vec<String>,
        /// Runs per size; medians are reported.
        #[arg(long, value_name = "N", default_value_t = 1)]
        repeat: usize,
        /// Proving threads (0: one per core).
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
        /// Prove one segment at a time on all threads: each prover phase's time is then
        /// that segment's own (with several provers, work-stealing blurs the phases).
        #[arg(long)]
        sequential: bool,
        /// Also write every run and the medians as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Instrumentation overhead: the same proof by a build with bench-metrics (--on) and
    /// one without (--off), interleaved; prints the median ratio. `benchmarks/overhead.sh`
    /// builds both and runs this.
    Overhead {
        #[command(flatten)]
        config: ConfigArg,
        /// A starkscope-bench built with --features bench-metrics.
        #[arg(long, value_name = "BIN")]
        on: PathBuf,
        /// A starkscope-bench built without it.
        #[arg(long, value_name = "BIN")]
        off: PathBuf,
        /// The benchmark of the config to prove.
        #[arg(long, value_name = "NAME", default_value = "fibonacci")]
        bench: String,
        /// Replace the benchmark's segment size (cycles).
        #[arg(long, value_name = "N")]
        segment_size: Option<u64>,
        /// Replace the benchmark's inputs (repeatable).
        #[arg(long = "input", value_name = "N", allow_negative_numbers = true)]
        inputs: Vec<String>,
        /// Rounds; each runs both builds, in alternating order.
        #[arg(long, value_name = "N", default_value_t = 7)]
        rounds: usize,
        /// Proving threads (0: one per core).
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
        /// Prove one segment at a time on all threads: each prover phase's time is then
        /// that segment's own (with several provers, work-stealing blurs the phases).
        #[arg(long)]
        sequential: bool,
        /// Exit 4 (a regression) when the median ratio (whole run, on / off) is above this.
        #[arg(long, value_name = "RATIO")]
        max_ratio: Option<f64>,
        /// Also write the rounds and medians as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Time the yardstick alone: a fixed Plonky3 proof that `run` times next to every
    /// sample (benchmarks/src/yardstick.rs). Prints each time, the median and the spread.
    Yardstick {
        /// Timed proofs.
        #[arg(long, value_name = "N", default_value_t = 9,
              value_parser = clap::value_parser!(u64).range(1..=1000))]
        samples: u64,
        /// Proving threads (0: one per core).
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
    },
    /// Prove one benchmark once in this process and print its measurement (the unit the
    /// other commands run as a child).
    Once {
        #[command(flatten)]
        config: ConfigArg,
        /// The benchmark of the config to prove.
        #[arg(long, value_name = "NAME")]
        bench: String,
        /// Replace the benchmark's segment size (cycles).
        #[arg(long, value_name = "N")]
        segment_size: Option<u64>,
        /// Replace the benchmark's inputs (repeatable).
        #[arg(long = "input", value_name = "N", allow_negative_numbers = true)]
        inputs: Vec<String>,
        /// Proving threads (0: one per core).
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
        /// Prove one segment at a time on all threads: each prover phase's time is then
        /// that segment's own (with several provers, work-stealing blurs the phases).
        #[arg(long)]
        sequential: bool,
        /// Write the metrics snapshot here.
        #[arg(long, value_name = "FILE")]
        metrics: Option<PathBuf>,
        /// Print the measurement as one JSON line.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // clap's usage errors exit 2 (`Exit::Usage`), as in every starkscope command.
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_chain(e.as_ref()));
            exit_of(&e).into()
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    // Exporter variables are checked once, before any child proves: a typo fails at once.
    starkscope_harness::Harness::new().export_from_env()?;
    match command {
        Command::List { config, json } => {
            let config = config.load()?;
            if json {
                let names: Vec<&str> = config.benchmarks.iter().map(|b| b.name.as_str()).collect();
                println!("{}", serde_json::to_string(&names)?);
            } else {
                println!(
                    "{:<18} {:>12} {:>10}  {:<24} inputs",
                    "name", "segment size", "fri", "program"
                );
                for b in &config.benchmarks {
                    println!(
                        "{:<18} {:>12} {:>10}  {:<24} {}",
                        b.name,
                        b.segment_size,
                        b.fri.name(),
                        b.program_path
                            .file_name()
                            .map_or(String::new(), |f| f.to_string_lossy().into_owned()),
                        b.inputs_source
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            config,
            benches,
            out_dir,
            threads,
            samples,
        } => {
            if cfg!(not(feature = "bench-metrics")) {
                return Err(Usage("`run` writes metrics snapshots: rebuild with `cargo build --release -p starkscope-benchmarks --features bench-metrics`".into()).into());
            }
            let config = config.load()?;
            let selected = config.select(&benches)?;
            std::fs::create_dir_all(&out_dir)
                .with_context(|| format!("cannot create {}", out_dir.display()))?;
            let yardstick = Yardstick::new(threads)?;
            println!(
                "| benchmark | cycles | segments | segment size | fri | samples | prove wall (s) | spread | yardstick (ms) | spread | prove / yardstick | spread | cycles/s | peak RSS (MiB) | snapshot |"
            );
            println!("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            let exe = self_exe()?;
            let total = selected.len();
            // A failed benchmark is reported and the others still run; the exit code says.
            let mut failed = Vec::new();
            for bench in selected {
                let path = out_dir.join(format!("{}.json", bench.name));
                let child = ChildRun {
                    config: config.path.clone(),
                    bench: bench.name.clone(),
                    segment_size: None,
                    inputs: Vec::new(),
                    threads,
                    sequential: false,
                    metrics: None,
                };
                let sampled = repeat::sample(
                    &exe,
                    &child,
                    samples as usize,
                    &yardstick,
                    &out_dir,
                    |i, m, y| {
                        eprintln!(
                            "{}: sample {}/{samples}: prove {:.0} ms, yardstick {y:.0} ms",
                            m.name,
                            i + 1,
                            m.prove_ms
                        )
                    },
                )
                .and_then(|s| {
                    s.snapshot.write_atomic(&path)?;
                    Ok(s)
                });
                match sampled {
                    Ok(s) => println!("{}", run_row(&s, &path)),
                    Err(e) => {
                        eprintln!(
                            "error: benchmark `{}`: {}",
                            bench.name,
                            error_chain(e.as_ref())
                        );
                        println!(
                            "| {} | FAILED (no snapshot written) | | | | | | | | | | | | | |",
                            bench.name
                        );
                        failed.push((bench.name.clone(), exit_of(&e)));
                    }
                }
                std::io::stdout().flush().ok();
            }
            if !failed.is_empty() {
                return Err(SomeFailed { failed, total }.into());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sizes {
            config,
            bench,
            log_sizes,
            inputs,
            repeat,
            threads,
            sequential,
            json,
        } => {
            // Fail on a bad config or name here, not in the first child.
            config.load()?.select(std::slice::from_ref(&bench))?;
            let config_path = config.config;
            if let Some(bad) = log_sizes.iter().find(|&&l| !(1..=30).contains(&l)) {
                return Err(Usage(format!(
                    "--log-sizes: 2^{bad} is not a usable segment size (1..=30)"
                ))
                .into());
            }
            let base = ChildRun {
                config: config_path,
                bench,
                segment_size: None,
                inputs,
                threads,
                sequential,
                metrics: None,
            };
            let sizes: Vec<u64> = log_sizes.iter().map(|&l| 1u64 << l).collect();
            let points = sweep::sweep(&self_exe()?, &base, &sizes, repeat, progress)?;
            println!("{}", sweep::markdown(&points));
            if let Some(path) = json {
                write_json(&path, &points)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Overhead {
            config,
            on,
            off,
            bench,
            segment_size,
            inputs,
            rounds,
            threads,
            sequential,
            max_ratio,
            json,
        } => {
            config.load()?.select(std::slice::from_ref(&bench))?;
            for bin in [&on, &off] {
                if !bin.is_file() {
                    return Err(Usage(format!(
                        "{} does not exist; `bash benchmarks/overhead.sh` builds both runners",
                        bin.display()
                    ))
                    .into());
                }
            }
            let run = ChildRun {
                config: config.config,
                bench,
                segment_size,
                inputs,
                threads,
                sequential,
                metrics: None,
            };
            let result = overhead::measure(&on, &off, &run, rounds, |i, r| {
                eprintln!(
                    "round {}: on {:.0} ms, off {:.0} ms ({:.3})",
                    i + 1,
                    r.on.run_ms,
                    r.off.run_ms,
                    r.on.run_ms / r.off.run_ms
                );
            })?;
            if let Some(first) = result.rounds.first() {
                println!(
                    "{}: {} cycles in {} segments of at most {}, FRI {}, {} threads\n",
                    first.on.name,
                    first.on.cycles,
                    first.on.segments,
                    first.on.segment_size,
                    first.on.fri,
                    first.on.threads
                );
            }
            println!("{}", overhead::markdown(&result));
            if let Some(path) = json {
                write_json(&path, &result)?;
            }
            match max_ratio {
                Some(max) if result.ratio > max => {
                    eprintln!(
                        "overhead: median ratio {:.3} is above --max-ratio {max}",
                        result.ratio
                    );
                    Ok(Exit::Regression.into())
                }
                _ => Ok(ExitCode::SUCCESS),
            }
        }
        Command::Yardstick { samples, threads } => {
            let yardstick = Yardstick::new(threads)?;
            let mut times = Vec::new();
            for i in 0..samples {
                let ms = yardstick.measure_ms()?;
                eprintln!("sample {}/{samples}: {ms:.1} ms", i + 1);
                times.push(ms);
            }
            let med = starkscope_benchmarks::stats::median(&times).unwrap_or(f64::NAN);
            let mad =
                starkscope_benchmarks::stats::median_abs_deviation(&times).unwrap_or(f64::NAN);
            println!(
                "{}: median {med:.1} ms, spread ±{:.1}% (median absolute deviation), min {:.1} ms, max {:.1} ms",
                Yardstick::id(),
                mad / med * 100.0,
                times.iter().copied().fold(f64::INFINITY, f64::min),
                times.iter().copied().fold(0.0, f64::max),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Once {
            config,
            bench,
            segment_size,
            inputs,
            threads,
            sequential,
            metrics,
            json,
        } => {
            let config = config.load()?;
            let mut b = config.select(std::slice::from_ref(&bench))?[0].clone();
            if let Some(s) = segment_size {
                b.segment_size = s;
            }
            if !inputs.is_empty() {
                b.inputs = parse_field_literals(&inputs)
                    .map_err(|(i, e)| Usage(format!("--input #{}: {e}", i + 1)))?;
                b.inputs_source = inputs.join(" ");
            }
            if metrics.is_some() && cfg!(not(feature = "bench-metrics")) {
                return Err(
                    Usage("--metrics needs a build with --features bench-metrics".into()).into(),
                );
            }
            let (m, _) = prove_once(
                &b,
                Parallel {
                    threads,
                    sequential,
                },
                metrics.as_deref(),
            )?;
            if json {
                println!("{}", serde_json::to_string(&m)?);
            } else {
                progress(&m);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One row of `run`'s table: the representative sample, the medians and their spreads.
fn run_row(s: &Sampled, path: &Path) -> String {
    let m = s.representative();
    let pct = |(_, spread): (f64, f64)| format!("±{:.1}%", spread * 100.0);
    let wall = s.median_and_spread(names::APP_PROOF_TIME_MS);
    let yardstick = s.yardstick();
    let ratio = s.normalised(names::APP_PROOF_TIME_MS);
    let rss = s.median_and_spread(names::RUN_PEAK_RSS_BYTES);
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} |",
        m.name,
        m.cycles,
        m.segments,
        m.segment_size,
        m.fri,
        s.repeats.samples,
        or_dash(wall.map(|(w, _)| format!("{:.2}", w / 1e3))),
        or_dash(wall.map(pct)),
        or_dash(yardstick.map(|(y, _)| format!("{y:.0}"))),
        or_dash(yardstick.map(pct)),
        or_dash(ratio.map(|(r, _)| format!("{r:.3}"))),
        or_dash(ratio.map(pct)),
        m.cycles_per_sec(),
        mib(rss.map(|(b, _)| b as u64)),
        path.display()
    )
}

fn progress(m: &Measurement) {
    eprintln!(
        "{} at segment size {}: {} cycles, {} segments, prove {:.2} s ({:.0} cycles/s), peak RSS {} MiB",
        m.name,
        m.segment_size,
        m.cycles,
        m.segments,
        m.prove_ms / 1e3,
        m.cycles_per_sec(),
        mib(m.peak_rss_bytes)
    );
}

fn self_exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find this runner's own executable")
}

/// Writes JSON atomically (temp file, then rename): an interrupted run leaves no half file.
fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    starkscope_snapshot::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
