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
use starkscope_sdk::tree::{
    first_indices, layer_group, node_file_name, plan, segment_file_name, Shape,
};
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
    let total_cycles: u64 = cycles.iter().sum();
    let layers = plan(cycles.len(), args.children);
    let first_indices = first_indices(layers.iter().map(Vec::len));
    let top_file = node_file_name(layers.len() - 1, *first_indices.last().expect("a layer"));

    if !args.json {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        println!(
            "`{}`: {total_cycles} cycles in {} segment{} of at most {} (exit code {exit_code}); tree of {} children per node:",
            program.name,
            cycles.len(),
            plural(cycles.len()),
            args.segment_size,
            args.children,
        );
        println!(
            "  segments   {} unit{} (prove-segment)",
            cycles.len(),
            plural(cycles.len())
        );
        for (height, layer) in layers.iter().enumerate() {
            let shapes: Vec<String> = layer.iter().map(describe).collect();
            println!(
                "  {:<10} {} unit{} (aggregate): {}",
                layer_group(height).to_string(),
                layer.len(),
                plural(layer.len()),
                shapes.join(" ")
            );
        }
        println!("  root       1 unit (aggregate --root) over {top_file}");
        return Ok(ExitCode::SUCCESS);
    }

    let segments: Vec<_> = cycles
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"segment": i, "cycles": c, "file": segment_file_name(i)}))
        .collect();
    let out_layers: Vec<_> = layers
        .iter()
        .enumerate()
        .map(|(height, layer)| {
            // A node's children index the layer below from 0 in run order: segments under
            // a leaf layer, the previous layer's nodes otherwise.
            let mut below = 0usize;
            let nodes: Vec<_> = layer
                .iter()
                .enumerate()
                .map(|(i, shape)| {
                    let n = shape.num_children();
                    let children: Vec<usize> = (below..below + n).collect();
                    below += n;
                    let idx = first_indices[height] + i;
                    json!({
                        "idx": idx,
                        "children": children,
                        "segments": shape.segments(),
                        "file": node_file_name(height, idx),
                    })
                })
                .collect();
            json!({"group": layer_group(height).to_string(), "nodes": nodes})
        })
        .collect();
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
        "cycles": total_cycles,
        "segments": segments,
        "layers": out_layers,
        "root": {"child": 0, "file": "root.bin"},
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
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
