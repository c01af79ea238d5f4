//! `starkscope keygen`: write a program's proving key, verifying key and/or the aggregation
//! tree's verifying key.
//!
//! Exit codes: 0 when every requested file was written; 1 otherwise (nothing half-written:
//! each file is replaced atomically, and every key is made before any file is written).

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;

use starkscope_sdk::files::{pk_to_bytes, tree_vk_to_bytes, vk_to_bytes, write_file};
use starkscope_sdk::{FriPreset, Sdk, SdkConfig, TreeConfig};

use super::paths;
use super::prove::{parse_fri, DEFAULT_PROVE_SEGMENT_SIZE};
use super::run::load;

/// Generate key files for a program.
#[derive(Debug, Clone, clap::Args)]
#[command(
    group(clap::ArgGroup::new("outputs").required(true).multiple(true).args(["pk", "vk", "tree_vk"])),
    after_help = "\
Examples:
  starkscope keygen benchmarks/programs/fibonacci.sasm --pk fib.pk --vk fib.vk
  starkscope prove benchmarks/programs/fibonacci.sasm --pk fib.pk -i 1000 --out fib.proof
  starkscope verify fib.proof --vk fib.vk

  starkscope keygen benchmarks/programs/fibonacci.sasm --tree-vk fib.tree.vk --segments 1..=8
  starkscope prove benchmarks/programs/fibonacci.sasm -i 1000000 --aggregate --out root.bin
  starkscope verify root.bin --vk fib.tree.vk

The proving-key file holds the program and its verifying key; loading it re-derives the
key and checks that it matches. The verifying key is all a verifier needs.

The tree's verifying key checks root proofs (`prove --aggregate`) without the program and
without building a circuit. A root circuit depends on the tree's shape, so the key holds one
root key per segment count in --segments (`starkscope run PROG -i .. --segment-size N`
prints a run's count); it is for one segment size, --children and --node-fri.")]
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

    /// Write the aggregation tree's verifying key here (needs --segments).
    #[arg(long, value_name = "FILE", requires = "segments")]
    pub tree_vk: Option<PathBuf>,

    /// Segment counts the tree key covers: `N`, or `A..=B` (one root key per count).
    #[arg(long, value_name = "RANGE", value_parser = parse_segments, requires = "tree_vk")]
    pub segments: Option<RangeInclusive<usize>>,

    /// Cycles per segment of the runs the tree key is for.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PROVE_SEGMENT_SIZE)]
    pub segment_size: u64,

    /// Children per aggregation node of the tree key's trees.
    #[arg(long, value_name = "K", default_value_t = 2)]
    pub children: usize,

    /// FRI preset of the tree's nodes.
    #[arg(long, value_name = "PRESET", default_value = "recursion", value_parser = parse_fri)]
    pub node_fri: FriPreset,

    /// FRI parameters the keys are for: `fast`, `recursion` or `testing` (NOT secure).
    #[arg(long, value_name = "PRESET", default_value = "fast", value_parser = parse_fri)]
    pub fri: FriPreset,
}

/// `N` (just N) or `A..=B`.
fn parse_segments(s: &str) -> Result<RangeInclusive<usize>, String> {
    let count = |t: &str| {
        t.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| format!("`{t}` is not a segment count (1 or more)"))
    };
    let range = match s.split_once("..=") {
        Some((a, b)) => count(a)?..=count(b)?,
        None if s.contains("..") => return Err(format!("`{s}`: write a range as A..=B")),
        None => {
            let n = count(s)?;
            n..=n
        }
    };
    if range.start() > range.end() {
        return Err(format!("`{s}` is an empty range"));
    }
    Ok(range)
}

pub fn run(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    let outputs: Vec<paths::Role> = [
        (&args.pk, "proving key"),
        (&args.vk, "verifying key"),
        (&args.tree_vk, "tree verifying key"),
    ]
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
    // The tree's circuits verify segment proofs of the aggregation layout (the same keys).
    let pk = if args.tree_vk.is_some() {
        sdk.keygen_for_aggregation(&program)?
    } else {
        sdk.keygen(&program)?
    };
    let tree_vk = match (&args.tree_vk, &args.segments) {
        (Some(_), Some(segments)) => Some(sdk.tree_keygen(
            &pk,
            args.segment_size,
            TreeConfig {
                children: args.children,
                preset: args.node_fri,
            },
            segments.clone(),
        )?),
        _ => None,
    };
    // Encode every key before writing any, so an encoding failure writes nothing.
    let pk_bytes = args.pk.as_ref().map(|_| pk_to_bytes(&pk)).transpose()?;
    let vk_bytes = args
        .vk
        .as_ref()
        .map(|_| vk_to_bytes(&pk.verifying_key()))
        .transpose()?;
    let tree_bytes = tree_vk.as_ref().map(tree_vk_to_bytes).transpose()?;
    for (path, bytes, what) in [
        (&args.pk, pk_bytes, "proving key"),
        (&args.vk, vk_bytes, "verifying key"),
        (&args.tree_vk, tree_bytes, "tree key"),
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
    if let Some(key) = &tree_vk {
        let covered = key.segments();
        println!(
            "tree           root keys for {}..={} segments of {} cycles, {} children per node, nodes at FRI `{}`",
            covered.start(),
            covered.end(),
            key.segment_size,
            key.children,
            key.node_preset.name()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_segments;

    #[test]
    fn segment_ranges_parse() {
        assert_eq!(parse_segments("4"), Ok(4..=4));
        assert_eq!(parse_segments("1..=8"), Ok(1..=8));
        for bad in ["0", "1..8", "3..=2", "x", "..=4", ""] {
            assert!(parse_segments(bad).is_err(), "{bad}");
        }
    }
}
