//! `starkscope verify`: is this proof a complete execution of that program?
//!
//! Exit codes (the table in `starkscope_sdk::Exit`): 0 valid; 1 invalid (a corrupt proof
//! file, a proof for another program, a segment that does not verify or does not chain,
//! claims that the proofs contradict), with the reason on stderr; when the check cannot be
//! made, 2 for bad options and 3 for bad files (missing or unreadable, of the wrong kind or
//! version, a malformed program or key).

use std::path::PathBuf;
use std::process::ExitCode;

use starkscope_sdk::files::{
    file_kind, proof_from_file_bytes, read_file, root_from_file_bytes, tree_vk_from_file_bytes,
    vk_from_file_bytes,
};
use starkscope_sdk::{
    AppProof, AppVerifyingKey, Exit, FileError, FileKind, FriPreset, RootProof, Sdk, SdkConfig,
    SdkError, MIN_SECURE_BITS,
};

use super::prove::parse_fri;
use super::run::{load, outputs};
use starkscope_vm::field::canonical;

/// Verify a proof file.
#[derive(Debug, Clone, clap::Args)]
#[command(
    group(clap::ArgGroup::new("key").required(true).args(["program", "vk"])),
    after_help = "\
Examples:
  starkscope verify fib.proof --program benchmarks/programs/fibonacci.sasm
  starkscope verify fib.proof --vk fib.vk
  starkscope verify test.proof --program prog.sasm --fri testing --allow-insecure
  starkscope verify root.bin --program benchmarks/programs/fibonacci.sasm
  starkscope verify root.bin --vk fib.tree.vk

With --program the verifying key is derived from the program (keygen, a second or so;
for a root proof the tree's circuits are rebuilt too); with --vk it is read from a file
written by `starkscope keygen` (--vk for proofs, --tree-vk for root proofs).

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

    /// A verifying-key file: from `starkscope keygen --vk` for a proof, `--tree-vk` for a
    /// root proof.
    #[arg(long, value_name = "FILE")]
    pub vk: Option<PathBuf>,

    /// FRI preset the proof must have been made with: fast, recursion, testing or aggregation.
    #[arg(long, value_name = "PRESET", default_value = "fast", value_parser = parse_fri)]
    pub fri: FriPreset,

    /// FRI preset a root proof's aggregation nodes must have been made with (a root proof
    /// file from `starkscope prove --aggregate`).
    #[arg(long, value_name = "PRESET", default_value = "recursion", value_parser = parse_fri)]
    pub node_fri: FriPreset,

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

/// Why verification ended without a verdict (usage, bad input) or with a negative one
/// (invalid proof): the status it exits with and the message.
struct Failure {
    exit: Exit,
    reason: String,
}

impl Failure {
    fn new(exit: Exit, reason: impl std::fmt::Display) -> Self {
        Self {
            exit,
            reason: reason.to_string(),
        }
    }
}

/// What a valid proof proves.
struct Valid {
    program: String,
    hash: String,
    segments: usize,
    exit_code: u32,
    outputs: Vec<starkscope_vm::F>,
    preset: FriPreset,
    /// For a root proof: its nodes' preset.
    root: Option<FriPreset>,
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
                    "aggregated": v.root.is_some(),
                    "node_preset": v.root.map(|p| p.name()),
                }),
                Exit::Success,
            ),
            Err(Failure {
                exit: Exit::InvalidProof,
                reason,
            }) => (
                serde_json::json!({"valid": false, "exit": Exit::InvalidProof.code(), "reason": reason}),
                Exit::InvalidProof,
            ),
            Err(Failure { exit, reason }) => (
                serde_json::json!({"valid": null, "exit": exit.code(), "error": reason}),
                *exit,
            ),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return Ok(code.into());
    }
    match verdict {
        Ok(v) => {
            println!(
                "valid: `{}` (program hash {}), {} segments{}, exit code {}, outputs {}, FRI preset {} ({} conjectured bits{})",
                v.program,
                v.hash,
                v.segments,
                match v.root {
                    Some(p) => format!(" aggregated into one root proof (nodes at `{}`)", p.name()),
                    None => String::new(),
                },
                v.exit_code,
                outputs(&v.outputs),
                v.preset.name(),
                v.preset.conjectured_security_bits(),
                if v.preset.is_secure() { "" } else { ", insecure" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(Failure {
            exit: Exit::InvalidProof,
            reason,
        }) => {
            eprintln!("invalid: {reason}");
            Ok(Exit::InvalidProof.into())
        }
        Err(Failure { exit, reason }) => {
            eprintln!("error: {reason}");
            Ok(exit.into())
        }
    }
}

fn check(args: &VerifyArgs) -> Result<Valid, Failure> {
    // A proof file that is ours, of the right kind and version, but whose content does
    // not decode is an invalid proof; anything else about it is a bad input.
    let file_failure = |e: FileError| {
        if e.is_corrupt() {
            Failure::new(Exit::InvalidProof, &e)
        } else {
            Failure::new(e.exit(), &e)
        }
    };
    let bytes = std::fs::read(&args.proof).map_err(|source| {
        file_failure(FileError::Io {
            path: args.proof.clone(),
            source,
        })
    })?;
    if file_kind(&bytes) == Some(FileKind::RootProof) {
        let root = root_from_file_bytes(&bytes, &args.proof).map_err(file_failure)?;
        return check_root(args, root);
    }
    let proof: AppProof = proof_from_file_bytes(&bytes, &args.proof).map_err(file_failure)?;
    let sdk_failure = |e: SdkError| Failure::new(e.exit(), &e);
    let preset = args.fri;
    refuse_insecure(args)?;
    let sdk = Sdk::new(
        SdkConfig::default()
            .with_fri(preset)
            .with_allow_insecure(args.allow_insecure),
    )
    .map_err(sdk_failure)?;
    let vk: AppVerifyingKey = match (&args.program, &args.vk) {
        (Some(program), _) => {
            let program = load_program(program)?;
            sdk.keygen(&program).map_err(sdk_failure)?.verifying_key()
        }
        (None, Some(path)) => {
            read_file(path, vk_from_file_bytes).map_err(|e| Failure::new(e.exit(), &e))?
        }
        (None, None) => return Err(Failure::new(Exit::Usage, "give --program or --vk")),
    };
    match sdk.verify(&vk, &proof) {
        Ok(summary) => Ok(Valid {
            program: vk.program_name.clone(),
            hash: vk.hash.to_string(),
            segments: summary.segments,
            exit_code: summary.exit_code,
            outputs: proof.outputs.clone(),
            preset,
            root: None,
        }),
        Err(SdkError::Invalid(reason)) => Err(Failure::new(
            Exit::InvalidProof,
            format!(
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
            ),
        )),
        Err(e) => Err(sdk_failure(e)),
    }
}

/// The program a proof is checked against, or why it could not be read.
fn load_program(path: &PathBuf) -> Result<starkscope_vm::Program, Failure> {
    load(path).map_err(|e| {
        Failure::new(
            crate::failure::exit_of(&e),
            starkscope_sdk::error_chain(e.as_ref()),
        )
    })
}

/// The verifier's presets must be secure unless --allow-insecure says otherwise.
fn refuse_insecure(args: &VerifyArgs) -> Result<(), Failure> {
    for preset in [args.fri, args.node_fri] {
        if !preset.is_secure() && !args.allow_insecure {
            return Err(Failure::new(
                Exit::Usage,
                format!(
                    "FRI preset `{}` gives {} conjectured bits of security, under \
                     {MIN_SECURE_BITS}: pass --allow-insecure to verify at it anyway",
                    preset.name(),
                    preset.conjectured_security_bits()
                ),
            ));
        }
    }
    Ok(())
}

/// A root proof file: checked with the tree's key (--vk) or against the program (whose
/// key rebuilds the tree's circuits), at the verifier's presets.
fn check_root(args: &VerifyArgs, root: RootProof) -> Result<Valid, Failure> {
    refuse_insecure(args)?;
    // A key file that cannot be read stops the check before any verdict, as for proofs.
    let key = match (&args.program, &args.vk) {
        (None, Some(path)) => Some((path, read_tree_key(path)?)),
        _ => None,
    };
    let invalid = |reason: String| {
        Failure::new(
            Exit::InvalidProof,
            format!("{}: {reason}", args.proof.display()),
        )
    };
    if root.node_preset != args.node_fri {
        return Err(invalid(format!(
            "its aggregation nodes were made with FRI preset `{}`, the verifier requires `{}` \
             (to check it at its own: --node-fri {})",
            root.node_preset.name(),
            args.node_fri.name(),
            root.node_preset.name()
        )));
    }
    let sdk_failure = |e: SdkError| Failure::new(e.exit(), &e);
    let sdk = Sdk::new(
        SdkConfig::default()
            .with_fri(args.fri)
            .with_allow_insecure(args.allow_insecure),
    )
    .map_err(sdk_failure)?;
    let (program, hash, verdict) = match (&args.program, key) {
        (Some(program), _) => {
            let program = load_program(program)?;
            let pk = sdk.keygen_for_aggregation(&program).map_err(sdk_failure)?;
            let verdict = sdk.verify_root(&pk, &root);
            (pk.program.name.clone(), pk.hash, verdict)
        }
        (None, Some((path, key))) => {
            // The verifier's presets, not the key's, decide what is accepted.
            for (what, key_preset, required) in [
                ("segment", key.app_preset, args.fri),
                ("node", key.node_preset, args.node_fri),
            ] {
                if key_preset != required {
                    return Err(Failure::new(
                        Exit::Usage,
                        format!(
                            "{}: the tree key's {what} preset is `{}`, the verifier requires \
                             `{}`: give a key for it or --{}fri {}",
                            path.display(),
                            key_preset.name(),
                            required.name(),
                            if what == "node" { "node-" } else { "" },
                            key_preset.name()
                        ),
                    ));
                }
            }
            let verdict = sdk.verify_root_with_key(&key, &root);
            (key.program_name.clone(), key.hash, verdict)
        }
        (None, None) => return Err(Failure::new(Exit::Usage, "give --program or --vk")),
    };
    match verdict {
        Ok(segments) => Ok(Valid {
            program,
            hash: hash.to_string(),
            segments,
            exit_code: root.exit_code,
            outputs: root.outputs.clone(),
            preset: args.fri,
            root: Some(root.node_preset),
        }),
        Err(SdkError::Invalid(reason)) => Err(invalid(reason.to_string())),
        Err(e) => Err(sdk_failure(e)),
    }
}

/// The tree's verifying key from `path`; an app verifying key there gets a hint.
fn read_tree_key(path: &std::path::Path) -> Result<starkscope_sdk::TreeVerifyingKey, Failure> {
    let bytes = std::fs::read(path).map_err(|source| {
        let e = FileError::Io {
            path: path.to_path_buf(),
            source,
        };
        Failure::new(e.exit(), &e)
    })?;
    if file_kind(&bytes) == Some(FileKind::VerifyingKey) {
        return Err(Failure::new(
            Exit::BadInput,
            format!(
                "{}: a program's verifying key checks app proofs; a root proof is checked with \
                 the tree's key (`starkscope keygen PROG --tree-vk FILE --segments N`) or \
                 with --program",
                path.display()
            ),
        ));
    }
    tree_vk_from_file_bytes(&bytes, path).map_err(|e| Failure::new(e.exit(), &e))
}
