//! `starkscope aggregate`: one node of the aggregation tree as a unit of work. It reads
//! child proof files (segment proofs make a leaf, node proofs an internal node, one node
//! proof with `--root` the root) and writes one proof file, so that a scheduler outside this
//! process can run a tree's nodes anywhere (docs/aggregation.md).
//!
//! Exit codes (`starkscope_sdk::Exit`): 0 written; 2 bad options; 3 a child file that is
//! missing, malformed, of another program or that does not link with its neighbours.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use starkscope_metrics::{spans, Group};
use starkscope_sdk::files::{
    file_kind, node_file_from_bytes, node_file_to_bytes, read_file, root_to_bytes,
    segment_file_from_bytes, write_file,
};
use starkscope_sdk::tree::Circuits;
use starkscope_sdk::{Exit, FileError, FileKind, FriPreset, Sdk, SdkConfig, TreeChild};
use tracing::info_span;

use super::prove::parse_fri;
use super::run::{load, read_inputs};
use super::{measured, paths};
use crate::failure::tag;

/// Prove one aggregation node from child proof files.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Examples:
  starkscope prove fib.sasm -i 70 --segment-size 64 --aggregate --nodes-dir tree/ --out root.bin
  starkscope aggregate --program fib.sasm --children tree/segment-0.bin tree/segment-1.bin --out leaf-0.bin
  starkscope aggregate --program fib.sasm --children leaf-0.bin leaf-1.bin --idx 0 --out internal.0-0.bin
  starkscope aggregate --program fib.sasm --root --children internal.1-2.bin -i 70 --out root.bin

Children in run order. Their segment size and FRI preset come from the files; the node's
preset is --node-fri (an internal node's children must have it). The root needs the run's
inputs (--input / --input-file): it executes the program to claim its outputs, whose digest
the top node proves.")]
pub struct AggregateArgs {
    /// The program the children prove (`.sasm`).
    #[arg(long, value_name = "PROGRAM")]
    pub program: PathBuf,

    /// Child proof files, in order: segment proofs (a leaf) or node proofs (an internal
    /// node; with --root, the one top node).
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub children: Vec<PathBuf>,

    /// Write the node's proof file here (replaced atomically; nothing is written on failure).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Prove the root: one node child, written as a root proof file.
    #[arg(long)]
    pub root: bool,

    /// Inputs of the run (with --root), as `starkscope prove` takes them.
    #[arg(long = "input", short = 'i', value_name = "N", num_args = 1.., allow_negative_numbers = true)]
    pub inputs: Vec<String>,

    /// Read the run's inputs from a file (with --root).
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,

    /// FRI preset of the node proof.
    #[arg(long, value_name = "PRESET", default_value = "recursion", value_parser = parse_fri)]
    pub node_fri: FriPreset,

    /// The node's index in its layer (the metrics' `idx` label; leaves from 0, internal
    /// layers counting on across layers, as the tree numbers them).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub idx: usize,

    /// With --root: stop executing the run after this many cycles without `halt` (the
    /// root executes the run to claim its outputs).
    #[arg(long, value_name = "N", default_value_t = starkscope_vm::DEFAULT_MAX_CYCLES)]
    pub max_cycles: u64,

    /// Proving threads (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Write the metrics snapshot (JSON) here; overrides METRIC_OUTPUT.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,

    #[command(flatten)]
    pub host: measured::HostArgs,
}

pub fn run(args: &AggregateArgs) -> anyhow::Result<ExitCode> {
    let metrics_path = measured::snapshot_path(args.metrics.as_ref())?;
    let mut outputs = vec![paths::Role {
        what: if args.root {
            "root proof"
        } else {
            "node proof"
        },
        path: &args.out,
    }];
    outputs.extend(measured::snapshot_role(metrics_path.as_ref()));
    let mut read = vec![paths::Role {
        what: "program",
        path: &args.program,
    }];
    for c in &args.children {
        read.push(paths::Role {
            what: "child proof",
            path: c,
        });
    }
    paths::check(&outputs, &read)?;
    if args.root && args.children.len() != 1 {
        return Err(tag(
            Exit::Usage,
            anyhow!(
                "--root takes exactly one child (the top node), not {}",
                args.children.len()
            ),
        ));
    }
    if !args.root && (!args.inputs.is_empty() || args.input_file.is_some()) {
        return Err(tag(
            Exit::Usage,
            anyhow!("--input and --input-file are for --root (the run's outputs)"),
        ));
    }
    let program = load(&args.program)?;
    let children = args
        .children
        .iter()
        .map(|p| read_child(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tag(e.exit(), anyhow::Error::new(e)))?;
    let (app_preset, segment_size) = match &children[0] {
        TreeChild::Segment(s) => (s.preset, s.segment_size),
        TreeChild::Node(n) => (n.app_preset, n.segment_size),
    };
    let group = if args.root {
        Group::Root
    } else {
        match &children[0] {
            TreeChild::Segment(_) => Group::Leaf,
            TreeChild::Node(n) => Group::Internal(n.shape.height() as u32),
        }
    };
    let sdk = Sdk::new(
        SdkConfig::default()
            .with_fri(app_preset)
            .with_segment_size(segment_size)
            .with_threads(args.threads)
            .with_max_cycles(args.max_cycles)
            .with_allow_insecure(true),
    )?;
    let work = || -> anyhow::Result<(Vec<u8>, String)> {
        let pk = sdk.keygen_for_aggregation(&program)?;
        let span =
            info_span!(spans::NODE, group = %group, idx = if args.root { 0 } else { args.idx });
        span.in_scope(|| {
            let mut circuits = Circuits::new(&pk.program, &pk.vm, segment_size, args.node_fri)
                .map_err(starkscope_sdk::SdkError::from)?;
            if args.root {
                let TreeChild::Node(top) = &children[0] else {
                    return Err(tag(
                        Exit::BadInput,
                        anyhow!("{}: the root's child is a node proof, not a segment proof", args.children[0].display()),
                    ));
                };
                let inputs = read_inputs(args.input_file.as_deref(), &args.inputs)?;
                // The run's execution is its segment units' to measure: not counted here.
                let ran = sdk.execute_silently(&program, &inputs)?;
                let (root, report) = sdk.aggregate_root(&pk, &mut circuits, top, ran.outputs)?;
                let summary = format!(
                    "root: {} segments, exit code {}, proof {} bytes, witness {:.1} ms, prove {:.1} ms",
                    root.top.segments(),
                    root.exit_code,
                    report.proof_bytes,
                    report.witness_gen.as_secs_f64() * 1e3,
                    report.prove.as_secs_f64() * 1e3
                );
                Ok((root_to_bytes(&root)?, summary))
            } else {
                let (node, report) = sdk.aggregate_node(&pk, &mut circuits, &children)?;
                let summary = format!(
                    "{group} node {}: {} child proof(s), segments {}, proof {} bytes, witness {:.1} ms, prove {:.1} ms",
                    args.idx,
                    report.children,
                    node.shape.segments(),
                    report.proof_bytes,
                    report.witness_gen.as_secs_f64() * 1e3,
                    report.prove.as_secs_f64() * 1e3
                );
                Ok((node_file_to_bytes(&node)?, summary))
            }
        })
    };
    let (value, metrics_lost) = measured::measured(
        false,
        &program.name,
        Some(&args.host.name()),
        metrics_path.as_deref(),
        work,
    )?;
    let (bytes, summary) =
        value.with_context(|| format!("aggregating {} children", args.children.len()))?;
    write_file(&args.out, &bytes)
        .with_context(|| format!("cannot write the proof to {}", args.out.display()))?;
    println!("{summary}; written to {}", args.out.display());
    if let Some(e) = metrics_lost {
        eprintln!(
            "error: the proof was written to {}, but its metrics were lost: {e}",
            args.out.display()
        );
        return Ok(Exit::MetricsLost.into());
    }
    Ok(ExitCode::SUCCESS)
}

/// A child proof file: a segment proof or a node proof, by its header.
fn read_child(path: &Path) -> Result<TreeChild, FileError> {
    let bytes = std::fs::read(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match file_kind(&bytes) {
        Some(FileKind::NodeProof) => Ok(TreeChild::Node(node_file_from_bytes(&bytes, path)?)),
        // Anything else is read as a segment proof: the decoder names what it found.
        _ => Ok(TreeChild::Segment(read_file(
            path,
            segment_file_from_bytes,
        )?)),
    }
}
