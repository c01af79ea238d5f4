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
use starkscope_vm::field::canonical;

pub const EXIT_INVALID: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// Verify a proof file.
#[derive(Debug, Clone, clap::Args)]
#[command(
    group(clap::ArgGroup::new("key").required(true).args(["program", "vk"])),
    after_help = "\
Examples:
  starkscope verify fib.proof --program benchmarks/programs/fibonacci.sasm
  starkscope verify fib.proof --vk fib.vk
  starkscope verify test.proof --program prog.sasm --fri testing --allow-insecure

With --program the verifying key is derived from the program (keygen, a second or so);
with --vk it is read from a file written by `starkscope keygen`.

The verifier, not the proof, decides the security: proofs are checked at --fri (default
`fast`); a proof made under another preset is invalid, a key for another preset is
refused, and a preset under 100 conjectured bits (`testing`) needs --allow-insecure."
)]
pub struct VerifyArgs {
    /// The proof file (from `starkscope prove --out`).
    #[arg(value_name = "PROOF")]
    pub proof: PathBuf,

    /// The program the proof claims to execute (`.sasm`).
    #[arg(long, value_name = "PROGRAM")]
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

    /// Print the verdict as one JSON object on stdout: `valid` (true, false, or null when
    /// the check could not be made), `exit` (this process's exit code), and for a valid
    /// proof every output, the exit code, program hash, preset and segment count; else
    /// `reason`. The fields are listed in docs/sdk.md.
    #[arg(long)]
    pub json: bool,
}

/// Why verification ended without a verdict or with a negative one.
enum Failure {
    Invalid(String),
    Usage(String),
}

/// What a valid proof proves.
struct Valid {
    program: String,
    hash: String,
    segments: usize,
    exit_code: u32,
    outputs: Vec<starkscope_vm::F>,
    preset: FriPreset,
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let verdict = check(args);
    if args.json {
        let (value, code) = match &verdict {
            Ok(v) => (
                serde_json::json!({
                    "valid": true,
                    "exit": 0,
                    "program": v.program,
                    "program_hash": v.hash,
                    "segments": v.segments,
                    "exit_code": v.exit_code,
                    "outputs": v.outputs.iter().map(|&x| canonical(x)).collect::<Vec<_>>(),
                    "preset": v.preset.name(),
                    "conjectured_bits": v.preset.conjectured_security_bits(),
                    "insecure": !v.preset.is_secure(),
                }),
                0,
            ),
            Err(Failure::Invalid(reason)) => (
                serde_json::json!({"valid": false, "exit": EXIT_INVALID, "reason": reason}),
                EXIT_INVALID,
            ),
            Err(Failure::Usage(reason)) => (
                serde_json::json!({"valid": null, "exit": EXIT_USAGE, "error": reason}),
                EXIT_USAGE,
            ),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return Ok(ExitCode::from(code));
    }
    match verdict {
        Ok(v) => {
            println!(
                "valid: `{}` (program hash {}), {} segments, exit code {}, outputs {}, FRI preset {} ({} conjectured bits{})",
                v.program,
                v.hash,
                v.segments,
                v.exit_code,
                outputs(&v.outputs),
                v.preset.name(),
                v.preset.conjectured_security_bits(),
                if v.preset.is_secure() { "" } else { ", insecure" }
            );
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

fn check(args: &VerifyArgs) -> Result<Valid, Failure> {
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
        Ok(summary) => Ok(Valid {
            program: vk.program_name.clone(),
            hash: vk.hash.to_string(),
            segments: summary.segments,
            exit_code: summary.exit_code,
            outputs: proof.outputs.clone(),
            preset,
        }),
        Err(SdkError::Invalid(reason)) => Err(Failure::Invalid(format!(
            "{}: {reason}{}",
            args.proof.display(),
            if proof.preset == preset {
                String::new()
            } else {
                format!(
                    " (to check it at its own preset: --fri {}{})",
                    proof.preset.name(),
                    if proof.preset.is_secure() {
                        ""
                    } else {
                        " --allow-insecure"
                    }
                )
            }
        ))),
        Err(e) => Err(usage(&e)),
    }
}
