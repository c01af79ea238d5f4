//! `starkscope verify`: is this proof a complete execution of that program?
//!
//! Exit codes: 0 valid; 1 invalid (a corrupt proof file, a proof for another program, a
//! segment that does not verify or does not chain, claims that the proofs contradict),
//! with the reason on stderr; 2 when the check cannot be made (missing or unreadable
//! files, a file of the wrong kind or version, a malformed program or key, bad options).

use std::path::PathBuf;
use std::process::ExitCode;

use starkscope_sdk::files::{proof_from_file_bytes, read_file, vk_from_file_bytes};
use starkscope_sdk::{
    AppProof, AppVerifyingKey, FileError, FriPreset, Sdk, SdkConfig, SdkError, MIN_SECURE_BITS,
};

use super::prove::parse_fri;
use super::run::{load, outputs};

pub const EXIT_INVALID: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// Verify a proof file.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Examples:
  starkscope verify fib.proof --program benchmarks/programs/fibonacci.sasm
  starkscope verify fib.proof --vk fib.vk
  starkscope verify test.proof --program prog.sasm --fri testing --allow-insecure

With --program the verifying key is derived from the program (keygen, a second or so);
with --vk it is read from a file written by `starkscope keygen`.

The verifier, not the proof, decides the security: proofs are checked at --fri (default
`fast`); a proof made under another preset is invalid, a key for another preset is
refused, and a preset under 100 conjectured bits (`testing`) needs --allow-insecure.")]
pub struct VerifyArgs {
    /// The proof file (from `starkscope prove --out`).
    #[arg(value_name = "PROOF")]
    pub proof: PathBuf,

    /// The program the proof claims to execute (`.sasm`).
    #[arg(
        long,
        value_name = "PROGRAM",
        required_unless_present = "vk",
        conflicts_with = "vk"
    )]
    pub program: Option<PathBuf>,

    /// A verifying-key file (from `starkscope keygen --vk`).
    #[arg(long, value_name = "FILE")]
    pub vk: Option<PathBuf>,

    /// FRI preset the proof must have been made with: fast, recursion or testing.
    #[arg(long, value_name = "PRESET", default_value = "fast", value_parser = parse_fri)]
    pub fri: FriPreset,

    /// Accept a preset under 100 conjectured bits of security (`testing`).
    #[arg(long)]
    pub allow_insecure: bool,
}

/// Why verification ended without a verdict or with a negative one.
enum Failure {
    Invalid(String),
    Usage(String),
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    match check(args) {
        Ok(line) => {
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        Err(Failure::Invalid(reason)) => {
            eprintln!("invalid: {reason}");
            Ok(ExitCode::from(EXIT_INVALID))
        }
        Err(Failure::Usage(reason)) => {
            eprintln!("error: {reason}");
            Ok(ExitCode::from(EXIT_USAGE))
        }
    }
}

fn check(args: &VerifyArgs) -> Result<String, Failure> {
    // A proof file that is ours, of the right kind and version, but whose content does
    // not decode is an invalid proof; anything else about it is a usage error.
    let proof: AppProof = read_file(&args.proof, proof_from_file_bytes).map_err(|e| {
        if e.is_corrupt() {
            Failure::Invalid(e.to_string())
        } else {
            Failure::Usage(e.to_string())
        }
    })?;
    let usage = |e: &dyn std::fmt::Display| Failure::Usage(e.to_string());
    let preset = args.fri;
    if !preset.is_secure() && !args.allow_insecure {
        return Err(Failure::Usage(format!(
            "FRI preset `{}` gives {} conjectured bits of security, under {MIN_SECURE_BITS}: \
             pass --allow-insecure to verify at it anyway",
            preset.name(),
            preset.conjectured_security_bits()
        )));
    }
    let sdk = Sdk::new(
        SdkConfig::default()
            .with_fri(preset)
            .with_allow_insecure(args.allow_insecure),
    )
    .map_err(|e| usage(&e))?;
    let vk: AppVerifyingKey = match (&args.program, &args.vk) {
        (Some(program), _) => {
            let program = load(program)
                .map_err(|e| Failure::Usage(starkscope_sdk::error_chain(e.as_ref())))?;
            sdk.keygen(&program).map_err(|e| usage(&e))?.verifying_key()
        }
        (None, Some(path)) => {
            read_file(path, vk_from_file_bytes).map_err(|e: FileError| usage(&e))?
        }
        (None, None) => return Err(Failure::Usage("give --program or --vk".into())),
    };
    match sdk.verify(&vk, &proof) {
        Ok(summary) => Ok(format!(
            "valid: `{}` (program hash {}), {} segments, exit code {}, outputs {}, FRI preset {} ({} conjectured bits{})",
            vk.program_name,
            vk.hash,
            summary.segments,
            summary.exit_code,
            outputs(&proof.outputs),
            preset.name(),
            preset.conjectured_security_bits(),
            if preset.is_secure() { "" } else { ", insecure" }
        )),
        Err(SdkError::Invalid(reason)) => Err(Failure::Invalid(format!(
            "{}: {reason}{}",
            args.proof.display(),
            if proof.preset == preset {
                String::new()
            } else {
                format!(
                    " (to check it at its own preset: --fri {}{})",
                    proof.preset.name(),
                    if proof.preset.is_secure() { "" } else { " --allow-insecure" }
                )
            }
        ))),
        Err(e) => Err(usage(&e)),
    }
}
