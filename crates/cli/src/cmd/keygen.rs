//! `starkscope keygen`: write a program's proving key and/or verifying key.
//!
//! Exit codes: 0 when every requested file was written; 1 otherwise (nothing half-written:
//! each file is replaced atomically).

use std::path::PathBuf;
use std::process::ExitCode;

use starkscope_sdk::files::{pk_to_bytes, vk_to_bytes, write_file};
use starkscope_sdk::{FriPreset, Sdk, SdkConfig};

use super::paths;
use super::prove::parse_fri;
use super::run::load;

/// Generate key files for a program.
#[derive(Debug, Clone, clap::Args)]
#[command(
    group(clap::ArgGroup::new("outputs").required(true).multiple(true).args(["pk", "vk"])),
    after_help = "\
Examples:
  starkscope keygen benchmarks/programs/fibonacci.sasm --pk fib.pk --vk fib.vk
  starkscope prove benchmarks/programs/fibonacci.sasm --pk fib.pk -i 1000 --out fib.proof
  starkscope verify fib.proof --vk fib.vk

The proving-key file holds the program and its verifying key; loading it re-derives the
key and checks that it matches. The verifying key is all a verifier needs.")]
pub struct KeygenArgs {
    /// The program (`.sasm` assembly).
    #[arg(value_name = "PROGRAM")]
    pub program: PathBuf,

    /// Write the proving key here.
    #[arg(long, value_name = "FILE")]
    pub pk: Option<PathBuf>,

    /// Write the verifying key here.
    #[arg(long, value_name = "FILE")]
    pub vk: Option<PathBuf>,

    /// FRI parameters the keys are for: `fast`, `recursion` or `testing` (NOT secure).
    #[arg(long, value_name = "PRESET", default_value = "fast", value_parser = parse_fri)]
    pub fri: FriPreset,
}

pub fn run(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    let outputs: Vec<paths::Role> = [(&args.pk, "proving key"), (&args.vk, "verifying key")]
        .into_iter()
        .filter_map(|(p, what)| p.as_deref().map(|path| paths::Role { what, path }))
        .collect();
    paths::check(
        &outputs,
        &[paths::Role {
            what: "program",
            path: &args.program,
        }],
    )?;
    let program = load(&args.program)?;
    let sdk = Sdk::new(SdkConfig::default().with_fri(args.fri))?;
    let pk = sdk.keygen(&program)?;
    // Encode both before writing either, so an encoding failure writes nothing.
    let pk_bytes = args.pk.as_ref().map(|_| pk_to_bytes(&pk)).transpose()?;
    let vk_bytes = args
        .vk
        .as_ref()
        .map(|_| vk_to_bytes(&pk.verifying_key()))
        .transpose()?;
    for (path, bytes, what) in [
        (&args.pk, pk_bytes, "proving key"),
        (&args.vk, vk_bytes, "verifying key"),
    ] {
        if let (Some(path), Some(bytes)) = (path, bytes) {
            write_file(path, &bytes)?;
            println!("{what:<14} {} ({} bytes)", path.display(), bytes.len());
        }
    }
    println!(
        "program        {} (hash {}, {} instructions, FRI `{}`)",
        pk.program.name,
        pk.hash,
        pk.program.instructions.len(),
        args.fri.name()
    );
    Ok(ExitCode::SUCCESS)
}
