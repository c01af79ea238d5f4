//! `starkscope prove-segment`: one segment of a run as a unit of work. It re-executes the
//! run up to segment `i` (with the recording executor, whose cut the segment boundaries
//! are), proves that segment and writes a segment proof file, the child of a leaf for
//! `starkscope aggregate`: a scheduler outside this process can prove a run's segments
//! anywhere (docs/aggregation.md, "Units of work and files").
//!
//! Exit codes (`starkscope_sdk::Exit`): 0 written; 2 bad options (a segment past the run's
//! last among them); 3 a bad program or inputs; 70 a proving failure (a bug).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use starkscope_sdk::files::{segment_file_to_bytes, write_file};
use starkscope_sdk::{Exit, FriPreset, Sdk, SdkConfig};

use starkscope_vm::DEFAULT_MAX_CYCLES;

use super::prove::{parse_fri, DEFAULT_PROVE_SEGMENT_SIZE};
use super::run::{load, read_inputs};
use super::{measured, paths};

/// Prove one segment of a run and write its segment proof file.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Examples:
  starkscope prove-segment fib.sasm -i 70 --segment 0 --segment-size 64 --out segment-0.bin
  starkscope prove-segment fib.sasm -i 70 --segment 1 --segment-size 64 --out segment-1.bin
  starkscope aggregate --program fib.sasm --children segment-0.bin segment-1.bin --out leaf-0.bin

Segments are proven with the fixed tallest height the leaf circuit needs (as `prove
--aggregate` proves them). The run is executed again up to the segment: its cost grows with
the segment's index (executing, not proving: about 1% of a segment's proving time per
earlier segment). With --json the result is one object on stdout: index, cycles, whether it
halted (the run's last segment) and its exit code, the time re-executing to it
(`replay_ms`), the segment's timings, proof bytes, the file.")]
pub struct ProveSegmentArgs {
    /// The program (`.sasm` assembly).
    #[arg(value_name = "PROGRAM")]
    pub program: PathBuf,

    /// Hint-stream inputs of the run, as `starkscope prove` takes them.
    #[arg(long = "input", short = 'i', value_name = "N", num_args = 1.., allow_negative_numbers = true)]
    pub inputs: Vec<String>,

    /// Read hint-stream inputs from a file, before any --input values.
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,

    /// Which segment to prove (0 is the first).
    #[arg(long, value_name = "I")]
    pub segment: usize,

    /// Cycles per segment of the run.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PROVE_SEGMENT_SIZE)]
    pub segment_size: u64,

    /// FRI parameters of the segment proof: `fast`, `recursion` or `testing` (NOT secure).
    #[arg(long, value_name = "PRESET", default_value = "fast", value_parser = parse_fri)]
    pub fri: FriPreset,

    /// Proving threads (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Stop with an error after this many cycles without `halt`.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CYCLES)]
    pub max_cycles: u64,

    /// Write the segment proof file here (replaced atomically; nothing on failure).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Write the metrics snapshot (JSON) here; overrides METRIC_OUTPUT.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,

    #[command(flatten)]
    pub host: measured::HostArgs,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ProveSegmentArgs) -> anyhow::Result<ExitCode> {
    let metrics_path = measured::snapshot_path(args.metrics.as_ref())?;
    let mut outputs = vec![paths::Role {
        what: "segment proof",
        path: &args.out,
    }];
    outputs.extend(measured::snapshot_role(metrics_path.as_ref()));
    let mut read = vec![paths::Role {
        what: "program",
        path: &args.program,
    }];
    if let Some(f) = &args.input_file {
        read.push(paths::Role {
            what: "input file",
            path: f,
        });
    }
    paths::check(&outputs, &read)?;
    let program = load(&args.program)?;
    let inputs = read_inputs(args.input_file.as_deref(), &args.inputs)?;
    let sdk = Sdk::new(SdkConfig {
        segment_size: args.segment_size,
        fri: args.fri,
        threads: args.threads,
        max_cycles: args.max_cycles,
        allow_insecure: true,
        ..SdkConfig::default()
    })?;
    let work = || -> anyhow::Result<_> {
        let pk = sdk.keygen_for_aggregation(&program)?;
        let unit = sdk.prove_segment(&pk, &inputs, args.segment)?;
        Ok((segment_file_to_bytes(&unit.file)?, unit))
    };
    let (value, metrics_lost) = measured::measured(
        false,
        &program.name,
        Some(&args.host.name()),
        metrics_path.as_deref(),
        work,
    )?;
    let (bytes, unit) = value.with_context(|| {
        format!(
            "proving segment {} of {}",
            args.segment,
            args.program.display()
        )
    })?;
    let (report, exit_code) = (&unit.report, unit.exit_code);
    write_file(&args.out, &bytes)
        .with_context(|| format!("cannot write the segment proof to {}", args.out.display()))?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    if args.json {
        let value = serde_json::json!({
            "program": program.name,
            "segment": report.index,
            "segment_size": args.segment_size,
            "cycles": report.cycles,
            "halted": exit_code.is_some(),
            "exit_code": exit_code,
            "preset": args.fri.name(),
            "replay_ms": ms(unit.replay),
            "execute_ms": ms(report.execute),
            "trace_gen_ms": ms(report.trace_gen),
            "stark_prove_ms": ms(report.stark_prove),
            "total_ms": ms(report.total()),
            "proof_bytes": report.proof_bytes,
            "file": args.out,
            "file_bytes": bytes.len(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        println!(
            "segment {} of `{}`: {} cycles{}, proof {} bytes (re-executing to it {:.1} ms; execute {:.1} ms, trace_gen {:.1} ms, stark_prove {:.1} ms); written to {}",
            report.index,
            program.name,
            report.cycles,
            match exit_code {
                Some(code) => format!(", halted with exit code {code} (the run's last segment)"),
                None => String::new(),
            },
            report.proof_bytes,
            ms(unit.replay),
            ms(report.execute),
            ms(report.trace_gen),
            ms(report.stark_prove),
            args.out.display()
        );
    }
    if let Some(e) = metrics_lost {
        eprintln!(
            "error: the segment proof was written to {}, but its metrics were lost: {e}",
            args.out.display()
        );
        return Ok(Exit::MetricsLost.into());
    }
    Ok(ExitCode::SUCCESS)
}
