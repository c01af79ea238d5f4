//! `starkscope plan`: the units of work of a run, without proving: its segments as the
//! prover cuts them and the aggregation tree over them, each node with its `group`, `idx`,
//! children and file name. A scheduler outside this process (the Ray driver in
//! `distributed/`) lays out its tasks from this, so the tree's shape and numbering have one
//! definition (`starkscope_sdk::tree::plan`).
//!
//! Exit codes (`starkscope_sdk::Exit`): 0 printed; 2 bad options; 3 a bad program or inputs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use serde_json::json;
use starkscope_metrics::Group;
use starkscope_sdk::tree::{plan, Shape};
use starkscope_sdk::{Exit, FriPreset, Sdk, SdkConfig};
use starkscope_vm::DEFAULT_MAX_CYCLES;

use super::prove::{parse_fri, DEFAULT_PROVE_SEGMENT_SIZE};
use super::run::{load, read_inputs};
use crate::failure::tag;

/// Print a run's segments and aggregation tree: the units of work that prove it.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Examples:
  starkscope plan fib.sasm -i 70 --segment-size 64
  starkscope plan fib.sasm -i 70 --segment-size 64 --children 2 --json

Executes the run (nothing is proven) with the executor the prover uses, whose cut can end a
segment before --segment-size. Each unit is a command: segment I is `prove-segment --segment
I`, a node is `aggregate --children <its children's files> --idx <idx>`, the root is
`aggregate --root` over the top node. Files are named as `prove --aggregate --nodes-dir`
names them. With --json: {program, segment_size, children_per_node, fri, node_fri, metrics
(whether this binary writes snapshots), exit_code, cycles,
segments: [{segment, cycles, file}], layers: [{group, nodes: [{idx, children, segments,
file}]}], root: {child, file}}; a node's children index the layer below (segments for a
leaf).")]
pub struct PlanArgs {
    /// The program (`.sasm` assembly).
    #[arg(value_name = "PROGRAM")]
    pub program: PathBuf,

    /// Hint-stream inputs of the run, as `starkscope prove` takes them.
    #[arg(long = "input", short = 'i', value_name = "N", num_args = 1.., allow_negative_numbers = true)]
    pub inputs: Vec<String>,

    /// Read hint-stream inputs from a file, before any --input values.
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,

    /// Cycles per segment of the run.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PROVE_SEGMENT_SIZE)]
    pub segment_size: u64,

    /// Children per aggregation node.
    #[arg(long, value_name = "K", default_value_t = 2)]
    pub children: usize,

    /// FRI preset the segments will be proven with (checked and reported; the cut does not
    /// depend on it).
    #[arg(long, value_name = "PRESET", default_value = "fast", value_parser = parse_fri)]
    pub fri: FriPreset,

    /// FRI preset of the aggregation nodes (checked and reported).
    #[arg(long, value_name = "PRESET", default_value = "recursion", value_parser = parse_fri)]
    pub node_fri: FriPreset,

    /// Stop with an error after this many cycles without `halt`.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CYCLES)]
    pub max_cycles: u64,

    /// Print the plan as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    if args.children < 2 {
        return Err(tag(
            Exit::Usage,
            anyhow!(
                "--children must be at least 2 (got {}): a node of one child adds a layer and verifies nothing new",
                args.children
            ),
        ));
    }
    let program = load(&args.program)?;
    let inputs = read_inputs(args.input_file.as_deref(), &args.inputs)?;
    let sdk = Sdk::new(SdkConfig {
        segment_size: args.segment_size,
        max_cycles: args.max_cycles,
        threads: 1,
        ..SdkConfig::default()
    })?;
    let (cycles, exit_code) = sdk.segment_cycles(&program, &inputs)?;
    let layers = plan(cycles.len(), args.children);

    let segments: Vec<_> = cycles
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"segment": i, "cycles": c, "file": format!("segment-{i}.bin")}))
        .collect();
    let mut out_layers = Vec::new();
    let mut internal_idx = 0usize;
    for (height, layer) in layers.iter().enumerate() {
        let group = if height == 0 {
            Group::Leaf
        } else {
            Group::Internal(height as u32 - 1)
        };
        let first_idx = if height == 0 { 0 } else { internal_idx };
        // The layer below is numbered from 0 in run order: segments under a leaf layer,
        // the previous layer's nodes otherwise.
        let mut below = 0usize;
        let nodes: Vec<_> = layer
            .iter()
            .enumerate()
            .map(|(i, shape)| {
                let n = shape.num_children();
                let children: Vec<usize> = (below..below + n).collect();
                below += n;
                json!({
                    "idx": first_idx + i,
                    "children": children,
                    "segments": shape.segments(),
                    "file": node_file(height, first_idx + i),
                })
            })
            .collect();
        out_layers.push(json!({"group": group.to_string(), "nodes": nodes}));
        if height > 0 {
            internal_idx += layer.len();
        }
    }
    let top = layers.len() - 1;
    let root = json!({"child": 0, "file": "root.bin"});

    if args.json {
        let value = json!({
            "program": program.name,
            "segment_size": args.segment_size,
            "children_per_node": args.children,
            "fri": args.fri.name(),
            "node_fri": args.node_fri.name(),
            // Whether this binary writes metrics snapshots (`--features bench-metrics`):
            // a scheduler asked for metrics checks it before starting any unit.
            "metrics": cfg!(feature = "bench-metrics"),
            "exit_code": exit_code,
            "cycles": cycles.iter().sum::<u64>(),
            "segments": segments,
            "layers": out_layers,
            "root": root,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "`{}`: {} cycles in {} segment{} of at most {} (exit code {exit_code}); tree of {} children per node:",
        program.name,
        cycles.iter().sum::<u64>(),
        cycles.len(),
        if cycles.len() == 1 { "" } else { "s" },
        args.segment_size,
        args.children,
    );
    println!(
        "  segments   {} unit{} (prove-segment)",
        cycles.len(),
        if cycles.len() == 1 { "" } else { "s" }
    );
    for (height, layer) in out_layers.iter().enumerate() {
        let nodes = layer["nodes"].as_array().map_or(0, Vec::len);
        let shapes: Vec<String> = layers[height].iter().map(describe).collect();
        println!(
            "  {:<10} {nodes} unit{} (aggregate): {}",
            layer["group"].as_str().unwrap_or(""),
            if nodes == 1 { "" } else { "s" },
            shapes.join(" ")
        );
    }
    println!(
        "  root       1 unit (aggregate --root) over {}",
        node_file(top, internal_idx.saturating_sub(1))
    );
    Ok(ExitCode::SUCCESS)
}

/// The file a node's proof is named by (as `prove --aggregate --nodes-dir` writes them).
fn node_file(height: usize, idx: usize) -> String {
    if height == 0 {
        format!("leaf-{idx}.bin")
    } else {
        format!("internal.{}-{idx}.bin", height - 1)
    }
}

/// `[2]` for a leaf of two segments, `[2 1]` for an internal node over two leaves, ...
fn describe(shape: &Shape) -> String {
    match shape {
        Shape::Leaf(c) => format!("[{c}]"),
        Shape::Internal(children) => {
            let inner: Vec<String> = children.iter().map(describe).collect();
            format!("[{}]", inner.join(" "))
        }
    }
}
