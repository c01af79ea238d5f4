//! `starkscope`: run, prove and measure programs. Each subcommand lives in `cmd/<name>.rs`;
//! this file only parses and dispatches.

mod cmd;
mod failure;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "starkscope",
    version,
    about = "Prove programs on a STARK VM and measure every layer of it",
    after_help = "\
Exit status, the same for every command:
  0 success          1 invalid proof      2 usage error       3 bad input
  4 regression       5 result written, metrics lost
  70 internal error (a bug)              75 failure of the environment: worth retrying"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Execute a program without proving: cycles, segments, exit code, outputs, top opcodes
    /// and the cycle-tracker regions.
    Run(cmd::run::RunArgs),
    /// Summarise metrics snapshots, compare them with a baseline, draw charts, gate CI.
    Prof(cmd::prof::ProfArgs),
    /// Prove a program: execute it in segments, prove them in parallel, verify, and print
    /// what each segment cost (metrics snapshot with --metrics or METRIC_OUTPUT).
    Prove(cmd::prove::ProveArgs),
    /// Check a proof file against the program (--program) or a verifying key (--vk).
    /// Exit 0: valid; 1: invalid (the reason is printed); 2: usage; 3: bad input files.
    Verify(cmd::verify::VerifyArgs),
    /// Print a run's units of work without proving: its segments as the prover cuts them
    /// and the aggregation tree over them (for a scheduler: `distributed/`).
    Plan(cmd::plan::PlanArgs),
    /// Prove one segment of a run (re-executing up to it) and write its segment proof file,
    /// a leaf's child for `aggregate`.
    ProveSegment(cmd::prove_segment::ProveSegmentArgs),
    /// Generate a program's proving key and/or verifying key files.
    Keygen(cmd::keygen::KeygenArgs),
    /// Prove one node of the aggregation tree from child proof files (segment proofs: a
    /// leaf; node proofs: an internal node; --root: the root) and write its proof file.
    Aggregate(cmd::aggregate::AggregateArgs),
}

fn main() -> ExitCode {
    // A closed stdout (`starkscope run .. | head -1`) ends the process quietly, as Unix
    // tools do, instead of a panic on the next print.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Prof(args) => cmd::prof::run(args),
        Command::Prove(args) => cmd::prove::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::ProveSegment(args) => cmd::prove_segment::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Keygen(args) => cmd::keygen::run(args),
        Command::Aggregate(args) => cmd::aggregate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", starkscope_sdk::error_chain(e.as_ref()));
            failure::exit_of(&e).into()
        }
    }
}
