//! `starkscope`: run, prove and measure programs. Each subcommand lives in `cmd/<name>.rs`;
//! this file only parses and dispatches.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "starkscope",
    version,
    about = "Prove programs on a STARK VM and measure every layer of it"
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Prof(args) => cmd::prof::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
