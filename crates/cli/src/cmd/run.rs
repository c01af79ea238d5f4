//! `starkscope run`: how many cycles does my program take, without proving?
//!
//! Exit codes: 0 when the program halted (whatever its own exit code, which is printed);
//! 1 when the program cannot be read or assembled, the options are invalid, or execution
//! traps (the error names `file:line:col`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use starkscope_harness::SnapshotError;
use starkscope_sdk::Exit;
use starkscope_vm::field::{canonical, parse_field_literals};

use crate::failure::tag;
use starkscope_vm::{
    assemble_file, execute, ExecConfig, ExecutionReport, LoadError, Program, DEFAULT_MAX_CYCLES,
    DEFAULT_SEGMENT_SIZE, F,
};

/// Execute a `.sasm` program and report what it cost.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The program (`.sasm` assembly).
    #[arg(value_name = "PROGRAM")]
    pub program: PathBuf,

    /// Hint-stream inputs, in order: decimal, 0x hex or 0b binary, negatives wrap modulo p.
    /// Repeat the flag or list several values after it.
    #[arg(long = "input", short = 'i', value_name = "N", num_args = 1.., allow_negative_numbers = true)]
    pub inputs: Vec<String>,

    /// Read hint-stream inputs from a file (same literals, separated by whitespace or
    /// commas; `#` or `;` start a comment). They come before any --input values.
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,

    /// Cycles per segment (the unit one proof covers).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEGMENT_SIZE)]
    pub segment_size: u64,

    /// Stop with an error after this many cycles without `halt`.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CYCLES)]
    pub max_cycles: u64,

    /// How many opcodes to list, most frequent first (0: all).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let program = load(&args.program)?;
    let inputs = read_inputs(args.input_file.as_deref(), &args.inputs)?;
    starkscope_sdk::check_segment_size(args.segment_size)?;
    let config = ExecConfig {
        segment_size: args.segment_size,
        max_cycles: args.max_cycles,
    };
    let (report, metrics_lost) = execute_measured(&program, &inputs, &config)
        .with_context(|| format!("running {}", args.program.display()))?;
    let text = if args.json {
        json(&report, &args.program)
    } else {
        table(&report, &args.program, args.top)
    };
    println!("{text}");
    if let Some(e) = metrics_lost {
        eprintln!("error: the report above is complete, but its metrics were lost: {e}");
        return Ok(Exit::MetricsLost.into());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn load(path: &PathBuf) -> anyhow::Result<Program> {
    match assemble_file(path) {
        Ok(p) => Ok(p),
        Err(LoadError::Asm(e)) => Err(tag(Exit::BadInput, anyhow!("{e}\n{}", e.snippet()))),
        Err(e) => Err(e.into()),
    }
}

/// A run's hint-stream inputs: those of `--input-file` (if any), then those of `--input`.
pub(crate) fn read_inputs(
    input_file: Option<&std::path::Path>,
    raw: &[String],
) -> anyhow::Result<Vec<F>> {
    let mut inputs = match input_file {
        Some(path) => read_input_file(path)?,
        None => Vec::new(),
    };
    inputs.extend(parse_inputs(raw)?);
    Ok(inputs)
}

fn parse_inputs(raw: &[String]) -> anyhow::Result<Vec<F>> {
    parse_field_literals(raw).map_err(|(i, e)| tag(Exit::Usage, anyhow!("--input #{}: {e}", i + 1)))
}

fn read_input_file(path: &std::path::Path) -> anyhow::Result<Vec<F>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read input file {}", path.display()))?;
    starkscope_vm::field::parse_hint_text(&text)
        .map_err(|(line, e)| tag(Exit::BadInput, anyhow!("{}:{line}: {e}", path.display())))
}

/// Executes; with `bench-metrics`, inside the metrics harness (snapshot to `$METRIC_OUTPUT`
/// when set), under a span carrying the program's `group` label. The report comes back
/// with why the snapshot could not be written, if it could not.
fn execute_measured(
    program: &Program,
    inputs: &[F],
    config: &ExecConfig,
) -> anyhow::Result<(ExecutionReport, Option<SnapshotError>)> {
    let work = || {
        let group = starkscope_metrics::Group::app(program.name.clone()).to_string();
        let _span = tracing::info_span!("app_execute", group = group.as_str()).entered();
        execute(program, inputs, config)
    };
    #[cfg(feature = "bench-metrics")]
    {
        // Exporters as for `prove`; the harness prints what went where, and warnings.
        let collected = starkscope_harness::Harness::new()
            .output_env("METRIC_OUTPUT")
            .span_tree(false)
            .program(program.name.clone())
            .export_from_env()?
            .run(work)?;
        if let Some(path) = &collected.written_to {
            eprintln!("metrics written to {}", path.display());
        }
        Ok((collected.value?, collected.write_error))
    }
    #[cfg(not(feature = "bench-metrics"))]
    {
        // Exporter variables do nothing in this build: say so rather than ignore them.
        for w in starkscope_harness::export::uncompiled_env_warnings() {
            eprintln!("warning: {w}");
        }
        Ok((work()?, None))
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

pub(crate) fn outputs(values: &[F]) -> String {
    const SHOWN: usize = 16;
    let mut s: Vec<String> = values
        .iter()
        .take(SHOWN)
        .map(|&v| canonical(v).to_string())
        .collect();
    if values.len() > SHOWN {
        s.push(format!("... ({} more)", values.len() - SHOWN));
    }
    format!("[{}]", s.join(", "))
}

fn table(r: &ExecutionReport, path: &std::path::Path, top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "program     {} ({})", r.program, path.display());
    let _ = writeln!(out, "cycles      {}", r.cycles);
    let _ = writeln!(
        out,
        "segments    {} (at most {} cycles each)",
        r.segments.len(),
        r.segment_size
    );
    let _ = writeln!(out, "exit code   {}", r.exit_code);
    let _ = writeln!(out, "outputs     {}", outputs(&r.outputs));
    let ops = r.opcode_counts.by_frequency();
    let shown = if top == 0 {
        ops.len()
    } else {
        top.min(ops.len())
    };
    let _ = writeln!(
        out,
        "\n{:<28}{:>14}{:>9}",
        format!("top opcodes ({shown} of {})", ops.len()),
        "count",
        "share"
    );
    for (op, n) in &ops[..shown] {
        let _ = writeln!(
            out,
            "  {:<26}{:>14}{:>8.2}%",
            op.mnemonic(),
            n,
            share(*n, r.cycles)
        );
    }
    if r.regions.is_empty() {
        let _ = write!(
            out,
            "\nno cycle-tracker regions (mark them with ct_start \"name\" / ct_end)"
        );
    } else {
        let width = r
            .regions
            .iter()
            .map(|x| x.path.len())
            .max()
            .unwrap_or(0)
            .max(26);
        let _ = writeln!(
            out,
            "\n{:<w$}{:>14}{:>9}",
            "regions (inclusive)",
            "cycles",
            "share",
            w = width + 2
        );
        for x in &r.regions {
            let _ = writeln!(
                out,
                "  {:<width$}{:>14}{:>8.2}%",
                x.path,
                x.cycles,
                share(x.cycles, r.cycles)
            );
        }
    }
    out.trim_end().to_string()
}

fn json(r: &ExecutionReport, path: &std::path::Path) -> String {
    let value = serde_json::json!({
        "program": r.program,
        "path": path.display().to_string(),
        "cycles": r.cycles,
        "segments": r.segments.len(),
        "segment_size": r.segment_size,
        "exit_code": r.exit_code,
        "outputs": r.outputs.iter().map(|&v| canonical(v)).collect::<Vec<_>>(),
        "opcodes": r.opcode_counts.by_frequency().iter()
            .map(|(op, n)| serde_json::json!({"opcode": op.mnemonic(), "count": n}))
            .collect::<Vec<_>>(),
        "regions": r.regions.iter()
            .map(|x| serde_json::json!({"region": x.path, "cycles": x.cycles}))
            .collect::<Vec<_>>(),
        "segment_cycles": r.segments.iter().map(|s| s.cycles).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
