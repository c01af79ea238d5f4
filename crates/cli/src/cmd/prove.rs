//! `starkscope prove`: execute a program in segments, prove them in parallel, verify the
//! proof, and print what every segment cost.
//!
//! Exit codes: 0 when the proof was made and verified; 1 when the program cannot be read
//! or assembled, the options are invalid, execution traps, or proving fails.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{anyhow, Context};
use starkscope_sdk::Exit;

use crate::failure::{tag, ExitWith};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use starkscope_sdk::files::{
    node_file_to_bytes, pk_from_file_bytes, proof_to_bytes, read_file, root_to_bytes,
    segment_file_to_bytes, write_file,
};
use starkscope_sdk::{
    Aggregated, AppProof, ChainSummary, FriPreset, ProgramHash, Progress, ProveReport, Sdk,
    SdkConfig, SegmentFile, TreeConfig,
};
use starkscope_vm::{DEFAULT_MAX_CYCLES, F};

use super::run::{load, outputs, read_inputs};
use super::{measured, paths};

/// Cycles per segment when `--segment-size` is not given: 2^18 keeps a segment's working
/// set near 1 GiB, so that two provers fit a small machine.
pub const DEFAULT_PROVE_SEGMENT_SIZE: u64 = 1 << 18;

/// Prove a `.sasm` program and verify the proof.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Examples:
  starkscope prove benchmarks/programs/fibonacci.sasm --input 100000 --out fib.proof
  starkscope prove prog.sasm -i 3 -i 4 --segment-size 65536 --metrics run.json
  RUST_LOG=info,p3_=warn starkscope prove prog.sasm -i 7    # span tree with timings

Then check the proof anywhere with `starkscope verify fib.proof --program <PROGRAM>`.
--metrics (or METRIC_OUTPUT=path) needs a build with `--features bench-metrics`.
A build with `--features exporters` also exports the run where STARKSCOPE_PUSHGATEWAY,
STARKSCOPE_PROMETHEUS_LISTEN or METRICS_ENDPOINT say (docs/observability.md).")]
pub struct ProveArgs {
    /// The program (`.sasm` assembly).
    #[arg(value_name = "PROGRAM")]
    pub program: PathBuf,

    /// Hint-stream inputs, in order: decimal, 0x hex or 0b binary, negatives wrap modulo p.
    /// Repeat the flag or list several values after it.
    #[arg(long = "input", short = 'i', value_name = "N", num_args = 1.., allow_negative_numbers = true)]
    pub inputs: Vec<String>,

    /// Read hint-stream inputs from a file (numbers separated by whitespace or commas;
    /// `#` or `;` start a comment), before any --input values: for long inputs.
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,

    /// Cycles per segment: each segment is one proof; smaller segments use less memory
    /// and prove in parallel, larger ones amortise fixed costs.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PROVE_SEGMENT_SIZE)]
    pub segment_size: u64,

    /// FRI parameters: `fast` (blowup 2, 100 queries), `recursion` (blowup 4, 50
    /// queries), or `testing` (4 queries: NOT secure, for tests only).
    #[arg(long, value_name = "PRESET", default_value = "fast", value_parser = parse_fri)]
    pub fri: FriPreset,

    /// Proving threads (0: one per core; at most 4 per core, see `max_threads`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Memory for segments alive at once, in MiB (by the SDK's per-segment estimate);
    /// fewer segments are proven in parallel when it is small.
    #[arg(long, value_name = "MIB", default_value_t = starkscope_sdk::DEFAULT_MEMORY_BUDGET >> 20)]
    pub memory_budget: u64,

    /// Stop with an error after this many cycles without `halt`.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CYCLES)]
    pub max_cycles: u64,

    /// Prove with this proving key (from `starkscope keygen`) instead of generating one;
    /// it must be for PROGRAM.
    #[arg(long, value_name = "FILE")]
    pub pk: Option<PathBuf>,

    /// Write the proof here (replaced atomically; nothing is written if proving fails).
    /// With --aggregate, the root proof file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Also aggregate the segment proofs into one root proof (leaf, internal and root
    /// layers; docs/aggregation.md). Segments are then proven with the fixed tallest
    /// height the leaf circuit needs: a run shorter than one segment pays for a whole one.
    #[arg(long)]
    pub aggregate: bool,

    /// Children per aggregation node (with --aggregate).
    #[arg(long, value_name = "K", default_value_t = 2, requires = "aggregate")]
    pub children: usize,

    /// Also write every segment proof and every node proof of the tree into this directory
    /// (`segment-I.bin`, `leaf-I.bin`, `internal.H-I.bin`, numbered as the metrics' `idx`),
    /// the inputs of `starkscope aggregate` (with --aggregate).
    #[arg(long, value_name = "DIR", requires = "aggregate")]
    pub nodes_dir: Option<PathBuf>,

    /// FRI preset of the aggregation nodes (with --aggregate).
    #[arg(long, value_name = "PRESET", default_value = "recursion", value_parser = parse_fri, requires = "aggregate")]
    pub node_fri: FriPreset,

    /// Write the metrics snapshot (JSON) here; overrides METRIC_OUTPUT.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,

    /// No progress bar and no span tree; only the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Print the result as one JSON object on stdout (every output, every segment; the
    /// fields are listed in docs/sdk.md) instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn parse_fri(s: &str) -> Result<FriPreset, String> {
    FriPreset::ALL
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| {
            let names: Vec<_> = FriPreset::ALL.iter().map(|p| p.name()).collect();
            format!(
                "unknown FRI preset `{s}`; expected one of: {}",
                names.join(", ")
            )
        })
}

struct Proven {
    proof: AppProof,
    report: ProveReport,
    summary: ChainSummary,
    /// With --aggregate: the verified root, every node and what each layer cost.
    tree: Option<Aggregated>,
}

pub fn run(args: &ProveArgs) -> anyhow::Result<ExitCode> {
    // Every output checked before any work: nothing is proven only to be lost.
    // Resolved once: checked here, handed to the harness below.
    let metrics_path = measured::snapshot_path(args.metrics.as_ref())?;
    let mut outputs = Vec::new();
    if let Some(out) = &args.out {
        outputs.push(paths::Role {
            what: if args.aggregate {
                "root proof"
            } else {
                "proof"
            },
            path: out,
        });
    }
    outputs.extend(measured::snapshot_role(metrics_path.as_ref()));
    let mut read = vec![paths::Role {
        what: "program",
        path: &args.program,
    }];
    if let Some(pk) = &args.pk {
        read.push(paths::Role {
            what: "proving key",
            path: pk,
        });
    }
    paths::check(&outputs, &read)?;
    let program = load(&args.program)?;
    let inputs = read_inputs(args.input_file.as_deref(), &args.inputs)?;
    let config = SdkConfig {
        segment_size: args.segment_size,
        fri: args.fri,
        threads: args.threads,
        memory_budget: args.memory_budget.saturating_mul(1 << 20),
        max_cycles: args.max_cycles,
        // The prover checks its own proof (a bug check, not trust): at any preset.
        allow_insecure: true,
    };
    let sdk = Sdk::new(config)?;
    let pk = match &args.pk {
        Some(path) => {
            let pk = read_file(path, pk_from_file_bytes)?;
            let hash = ProgramHash::of(&program);
            if pk.hash != hash {
                return Err(tag(
                    Exit::BadInput,
                    anyhow!(
                        "{}: the proving key is for program `{}` (hash {}), not {} (hash {hash})",
                        path.display(),
                        pk.program.name,
                        pk.hash,
                        args.program.display()
                    ),
                ));
            }
            Some(pk)
        }
        None => None,
    };
    if args.aggregate && args.children < 2 {
        return Err(tag(
            Exit::Usage,
            anyhow!(
                "--children {}: an aggregation node has at least 2",
                args.children
            ),
        ));
    }
    let work = || -> anyhow::Result<Proven> {
        let mut pk = match pk {
            Some(pk) => pk,
            None => sdk.keygen(&program)?,
        };
        if args.aggregate {
            pk.vm = pk
                .vm
                .with_layout(starkscope_vm::prove::HeightLayout::FixedTallest);
        }
        // Created after keygen, cleared as the last proof ends: the span tree, printed as
        // root spans close, never lands in the bar's line.
        let bar = progress_bar(args.quiet);
        let total = AtomicU64::new(u64::MAX);
        let proven = sdk.prove_with_progress(&pk, &inputs, &|e| on_progress(&bar, &total, e));
        bar.finish_and_clear();
        let (proof, report) =
            proven.with_context(|| format!("proving {}", args.program.display()))?;
        let summary = sdk
            .verify(&pk.verifying_key(), &proof)
            .context("the proof just made does not verify (a prover bug)")
            .exit_with(Exit::Internal)?;
        let tree = if args.aggregate {
            let config = TreeConfig {
                children: args.children,
                preset: args.node_fri,
            };
            let mut aggregated = sdk
                .aggregate(&pk, &proof, config)
                .with_context(|| format!("aggregating {}", args.program.display()))?;
            sdk.verify_root_with(&pk, &aggregated.root, &mut aggregated.circuits)
                .context("the root proof just made does not verify (a prover bug)")
                .exit_with(Exit::Internal)?;
            Some(aggregated)
        } else {
            None
        };
        Ok(Proven {
            proof,
            report,
            summary,
            tree,
        })
    };
    let (proven, metrics_lost) = measured::measured(
        !args.quiet,
        &program.name,
        None,
        metrics_path.as_deref(),
        work,
    )?;
    let proven = proven?;

    // The proof first: a snapshot that could not be written never costs it.
    let written = match &args.out {
        Some(path) => {
            let bytes = match &proven.tree {
                Some(a) => root_to_bytes(&a.root),
                None => proof_to_bytes(&proven.proof),
            }
            .exit_with(Exit::Internal)?;
            if let Err(e) = write_file(path, &bytes) {
                if let Some(lost) = &metrics_lost {
                    eprintln!("error: the metrics were lost as well: {lost}");
                }
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot write proof to {}", path.display())));
            }
            Some((path, bytes.len()))
        }
        None => None,
    };
    if let (Some(dir), Some(tree)) = (&args.nodes_dir, &proven.tree) {
        write_nodes(dir, &proven.proof, args.segment_size, tree)?;
    }
    if args.json {
        println!("{}", json(args, &proven, written));
    } else {
        println!("{}", summary(args, &proven, written));
    }
    if let Some(e) = metrics_lost {
        let kept = match written {
            Some((path, _)) => format!("the proof was written to {}", path.display()),
            None => "the proof is complete (no --out was given)".to_string(),
        };
        eprintln!("error: {kept}, but its metrics were lost: {e}");
        return Ok(Exit::MetricsLost.into());
    }
    Ok(ExitCode::SUCCESS)
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} proving [{elapsed_precise}] {bar:30} {pos}/{len} segments {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message("(executing)");
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The bar's length grows as segments are executed; its position as they are proven.
/// `total` is the segment count once the last one was executed.
fn on_progress(bar: &ProgressBar, total: &AtomicU64, event: Progress) {
    match event {
        Progress::Executed { index, halted, .. } => {
            bar.set_length(index as u64 + 1);
            if halted {
                bar.set_message("");
                total.store(index as u64 + 1, Ordering::SeqCst);
            }
        }
        Progress::Proven { .. } => {
            bar.inc(1);
            if bar.position() >= total.load(Ordering::SeqCst) {
                bar.finish_and_clear();
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The result as JSON: the text summary's content, with every output.
fn json(args: &ProveArgs, p: &Proven, written: Option<(&PathBuf, usize)>) -> String {
    let r = &p.report;
    let plan = r.parallelism;
    let value = serde_json::json!({
        "program": r.program,
        "path": args.program.display().to_string(),
        "program_hash": p.proof.program_hash.to_string(),
        "preset": args.fri.name(),
        "conjectured_bits": args.fri.conjectured_security_bits(),
        "cycles": r.cycles,
        "segment_size": args.segment_size,
        "exit_code": r.exit_code,
        "outputs": p.proof.outputs.iter().map(|&v| starkscope_vm::field::canonical(v)).collect::<Vec<_>>(),
        "verified": true,
        "proof_bytes": r.proof_bytes,
        "proof_file": written.map(|(path, _)| path.display().to_string()),
        "proof_file_bytes": written.map(|(_, n)| n),
        "wall_s": r.wall.as_secs_f64(),
        "peak_rss_bytes": r.peak_rss_bytes,
        "parallelism": {
            "provers": plan.provers,
            "pool_threads": plan.pool_threads,
            "queue": plan.queue,
        },
        "aggregation": p.tree.as_ref().map(|Aggregated { root, report: layers, .. }| serde_json::json!({
            "children": args.children,
            "preset": args.node_fri.name(),
            "root_segments": root.top.segments(),
            "layers": layers.layers.iter().map(|l| serde_json::json!({
                "group": l.group.to_string(),
                "nodes": l.nodes.len(),
                "circuit_build_ms": ms(l.circuit_build),
                "wall_ms": ms(l.wall),
                "witness_gen_ms": l.nodes.iter().map(|n| ms(n.witness_gen)).sum::<f64>(),
                "prove_ms": l.nodes.iter().map(|n| ms(n.prove)).sum::<f64>(),
                "proof_bytes": l.nodes.iter().map(|n| n.proof_bytes).sum::<usize>(),
            })).collect::<Vec<_>>(),
        })),
        "segments": r.segments.iter().map(|s| serde_json::json!({
            "index": s.index,
            "cycles": s.cycles,
            "execute_ms": ms(s.execute),
            "trace_gen_ms": ms(s.trace_gen),
            "stark_prove_ms": ms(s.stark_prove),
            "total_ms": ms(s.total()),
            "main_cells": s.main_cells_used,
            "total_cells": s.total_cells_used,
            "proof_bytes": s.proof_bytes,
        })).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn summary(args: &ProveArgs, p: &Proven, written: Option<(&PathBuf, usize)>) -> String {
    let r = &p.report;
    let plan = r.parallelism;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "program     {} ({})",
        r.program,
        args.program.display()
    );
    let _ = writeln!(out, "cycles      {}", r.cycles);
    let _ = writeln!(
        out,
        "segments    {} (at most {} cycles each; {} provers on {} threads, queue {})",
        r.segments.len(),
        args.segment_size,
        plan.provers,
        plan.pool_threads,
        plan.queue
    );
    let _ = writeln!(out, "exit code   {}", r.exit_code);
    let outs: Vec<F> = p.proof.outputs.clone();
    let _ = writeln!(out, "outputs     {}", outputs(&outs));
    let _ = writeln!(
        out,
        "proof       {} bytes, FRI `{}` (~{} bits conjectured){}",
        r.proof_bytes,
        args.fri.name(),
        args.fri.conjectured_security_bits(),
        match written {
            Some((path, n)) => format!(", file {} ({n} bytes)", path.display()),
            None => String::new(),
        }
    );
    let _ = writeln!(
        out,
        "verified    yes: {} segments chain from the initial memory to halt",
        p.summary.segments
    );
    let _ = writeln!(out, "wall time   {:.3} s", r.wall.as_secs_f64());
    if let Some(rss) = r.peak_rss_bytes {
        let _ = writeln!(out, "peak RSS    {:.1} MiB", rss as f64 / (1 << 20) as f64);
    }
    let _ = writeln!(
        out,
        "\n{:>7} {:>10} {:>11} {:>13} {:>15} {:>11} {:>12} {:>11}",
        "segment",
        "cycles",
        "execute ms",
        "trace_gen ms",
        "stark_prove ms",
        "total ms",
        "main cells",
        "proof B"
    );
    for s in &r.segments {
        let _ = writeln!(
            out,
            "{:>7} {:>10} {:>11.2} {:>13.2} {:>15.2} {:>11.2} {:>12} {:>11}",
            s.index,
            s.cycles,
            ms(s.execute),
            ms(s.trace_gen),
            ms(s.stark_prove),
            ms(s.total()),
            s.main_cells_used,
            s.proof_bytes
        );
    }
    let (e, t, sp, total) = r.sums();
    let _ = write!(
        out,
        "{:>7} {:>10} {:>11.2} {:>13.2} {:>15.2} {:>11.2} {:>12} {:>11}",
        "sum",
        r.cycles,
        ms(e),
        ms(t),
        ms(sp),
        ms(total),
        r.main_cells_used(),
        r.proof_bytes
    );
    if let Some(Aggregated {
        root,
        report: layers,
        ..
    }) = &p.tree
    {
        let _ = write!(
            out,
            "\n\naggregation {} children per node, FRI `{}`; the root verifies: {} segments, exit code {}",
            args.children,
            args.node_fri.name(),
            root.top.segments(),
            root.exit_code
        );
        let _ = write!(
            out,
            "\n{:>11} {:>6} {:>9} {:>10} {:>13} {:>11} {:>11} {:>11}",
            "layer",
            "nodes",
            "children",
            "build ms",
            "witness ms",
            "prove ms",
            "wall ms",
            "proof B"
        );
        for l in &layers.layers {
            let children: Vec<String> = l.nodes.iter().map(|n| n.children.to_string()).collect();
            let mut kids = children.clone();
            kids.dedup();
            let _ = write!(
                out,
                "\n{:>11} {:>6} {:>9} {:>10.1} {:>13.1} {:>11.1} {:>11.1} {:>11}",
                l.group.to_string(),
                l.nodes.len(),
                kids.join("/"),
                ms(l.circuit_build),
                l.nodes.iter().map(|n| ms(n.witness_gen)).sum::<f64>(),
                l.nodes.iter().map(|n| ms(n.prove)).sum::<f64>(),
                ms(l.wall),
                l.nodes.iter().map(|n| n.proof_bytes).sum::<usize>()
            );
        }
    }
    out
}

/// Every segment and node proof of the tree, one file each, into `dir` (created if needed).
fn write_nodes(
    dir: &Path,
    proof: &AppProof,
    segment_size: u64,
    tree: &Aggregated,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
        .exit_with(Exit::BadInput)?;
    let write = |name: String, bytes: Vec<u8>| -> anyhow::Result<()> {
        let path = dir.join(name);
        write_file(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    for (i, p) in proof.segments.iter().enumerate() {
        let file = SegmentFile {
            program_name: proof.program_name.clone(),
            program_hash: proof.program_hash,
            preset: proof.preset,
            segment_size,
            proof: p.clone(),
        };
        write(
            starkscope_sdk::tree::segment_file_name(i),
            segment_file_to_bytes(&file).exit_with(Exit::Internal)?,
        )?;
    }
    let first_indices = starkscope_sdk::tree::first_indices(tree.layers.iter().map(Vec::len));
    for (h, layer) in tree.layers.iter().enumerate() {
        for (i, node) in layer.iter().enumerate() {
            write(
                starkscope_sdk::tree::node_file_name(h, first_indices[h] + i),
                node_file_to_bytes(node).exit_with(Exit::Internal)?,
            )?;
        }
    }
    Ok(())
}
