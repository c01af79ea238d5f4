//! starkscope-prof: reads metrics snapshots (starkscope's JSON or OpenVM's) and an optional
//! baseline, and produces what a reader of a benchmark run wants:
//!
//! - a markdown summary: headline totals (total, parallel and bounded-parallel proof time,
//!   cycles, cells, proof size), the per-layer audit ([`layers`]), one avg/sum/max/min table per group and
//!   a per-segment table for app groups ([`markdown`]);
//! - a detailed markdown with one table per label-key set (per AIR, per opcode, per region);
//! - changes against the baseline in every cell, coloured by whether they are better or
//!   worse for that metric, hidden under a noise threshold ([`diff`]);
//! - an HTML report with SVG charts ([`charts`], [`html`]), folded stacks and flamegraphs of
//!   cycle-tracker regions and prover phases ([`flame`]);
//! - a benchmark-tracker JSON ([`bench_json`]) and a regression gate ([`gate`]) that
//!   compares deterministic metrics exactly and timings only through repeated samples.
//!
//! [`run`] does all of it from a [`ProfOptions`]; the pieces are public for other tools.

pub mod analysis;
pub mod bench_json;
pub mod charts;
pub mod diff;
pub mod error;
pub mod flame;
pub mod format;
pub mod gate;
pub mod html;
pub mod layers;
pub mod markdown;
pub mod metric_info;
pub mod model;
pub mod output;
pub mod stats;

use std::path::PathBuf;

pub use analysis::{analyse, Analysis};
pub use error::ProfError;
pub use gate::{GateReport, Regression};
pub use model::Run;

use output::OutputFile;

/// File names written into the output directory.
pub mod files {
    pub const SUMMARY_MD: &str = "summary.md";
    pub const DETAILED_MD: &str = "detailed.md";
    pub const REPORT_HTML: &str = "report.html";
    pub const BENCH_JSON: &str = "bench.json";
    /// With the gate on (`--fail-on-regression`).
    pub const GATE_MD: &str = "gate.md";
    pub const GATE_JSON: &str = "gate.json";
    pub const CYCLES_FOLDED: &str = "cycles.folded";
    pub const CYCLES_SVG: &str = "cycles.svg";
    pub const PROVER_FOLDED: &str = "prover.folded";
    pub const PROVER_SVG: &str = "prover.svg";
}

/// What to read, what to write, and how to judge changes.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfOptions {
    /// Snapshot files of the run (merged: parts of one run).
    pub inputs: Vec<PathBuf>,
    /// Snapshot files of the baseline (merged), if any.
    pub baselines: Vec<PathBuf>,
    /// Where to write every report file; `None` prints the summary only.
    pub out_dir: Option<PathBuf>,
    /// Changes smaller than this many percent are hidden. Default 2.
    pub threshold_pct: f64,
    /// Estimate the proof time with this many provers.
    pub provers: Option<usize>,
    /// Write the benchmark-tracker JSON here.
    pub json: Option<PathBuf>,
    /// Turns the gate on (needs a baseline): deterministic metrics exactly, peak memory
    /// with a small tolerance, timings through repeated samples with a threshold of at
    /// least this many percent ([`gate`]).
    pub fail_on_regression_pct: Option<f64>,
}

impl Default for ProfOptions {
    fn default() -> Self {
        ProfOptions {
            inputs: Vec::new(),
            baselines: Vec::new(),
            out_dir: None,
            threshold_pct: 2.0,
            provers: None,
            json: None,
            fail_on_regression_pct: None,
        }
    }
}

/// The result of a successful prof run.
#[derive(Clone, Debug)]
pub struct ProfOutcome {
    /// The summary markdown (what the cli prints).
    pub summary: String,
    /// Files written, in order.
    pub written: Vec<PathBuf>,
    /// What the gate found, when it was on.
    pub gate: Option<GateReport>,
    /// What fails the gate (empty when it passed or was off).
    pub regressions: Vec<Regression>,
    /// Inconsistencies that did not stop the run (e.g. region counts exceeding a total).
    pub warnings: Vec<String>,
}

impl ProfOutcome {
    /// True when the gate was on and found a regression: the caller decides what that
    /// means (the cli exits with `starkscope_sdk::Exit::Regression`).
    pub fn regressed(&self) -> bool {
        !self.regressions.is_empty()
    }
}

impl ProfOptions {
    fn validate(&self) -> Result<(), ProfError> {
        if self.inputs.is_empty() {
            return Err(ProfError::Options("no input snapshot given".into()));
        }
        if !(self.threshold_pct.is_finite() && self.threshold_pct >= 0.0) {
            return Err(ProfError::Options(format!(
                "--threshold must be a non-negative percentage, got {}",
                self.threshold_pct
            )));
        }
        if let Some(p) = self.fail_on_regression_pct {
            if !(p.is_finite() && p >= 0.0) {
                return Err(ProfError::Options(format!(
                    "--fail-on-regression must be a non-negative percentage, got {p}"
                )));
            }
            if self.baselines.is_empty() {
                return Err(ProfError::Options(
                    "--fail-on-regression needs a --baseline to compare against".into(),
                ));
            }
        }
        if self.provers == Some(0) {
            return Err(ProfError::Options("--provers must be at least 1".into()));
        }
        // Checked before anything is written, so that a mistyped --json directory does not
        // leave the --out-dir files of a run that then fails.
        if let Some(json) = &self.json {
            let parent = match json.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => std::path::Path::new("."),
            };
            if !parent.is_dir() {
                return Err(ProfError::Options(format!(
                    "--json {}: directory {} does not exist",
                    json.display(),
                    parent.display()
                )));
            }
        }
        Ok(())
    }
}

/// Reads every input, renders every report in memory, and only then writes files: bad
/// input leaves nothing behind.
pub fn run(opts: &ProfOptions) -> Result<ProfOutcome, ProfError> {
    opts.validate()?;
    let run = Run::read(&opts.inputs)?;
    let baseline = if opts.baselines.is_empty() {
        None
    } else {
        Some(Run::read(&opts.baselines)?)
    };

    let analysis = analyse(&run, opts.provers);
    let base_analysis = baseline.as_ref().map(|b| analyse(b, opts.provers));
    let report = markdown::Report {
        run: &run,
        analysis: &analysis,
        baseline: baseline.as_ref().zip(base_analysis.as_ref()),
        threshold_pct: opts.threshold_pct,
    };
    let summary = report.summary();
    let gate = match (opts.fail_on_regression_pct, &baseline) {
        (Some(pct), Some(base)) => Some(gate::check(&run, base, pct)?),
        _ => None,
    };
    let regressions = gate
        .as_ref()
        .map(GateReport::regressions)
        .unwrap_or_default();
    let bench = bench_json::to_json(&bench_json::entries(&analysis));
    let cycles = flame::cycle_regions(&run);
    let phases = flame::prover_phases(&run);
    let mut warnings = run.panics();
    warnings.extend(baseline.iter().flat_map(Run::panics));
    warnings.extend(cycles.warnings.iter().cloned());
    warnings.extend(phases.warnings.iter().cloned());

    let mut written = Vec::new();
    if let Some(dir) = &opts.out_dir {
        let detailed = report.detailed();
        let mut out = vec![
            OutputFile {
                name: files::SUMMARY_MD,
                contents: summary.clone().into_bytes(),
            },
            OutputFile {
                name: files::DETAILED_MD,
                contents: detailed.clone().into_bytes(),
            },
            OutputFile {
                name: files::BENCH_JSON,
                contents: bench.clone().into_bytes(),
            },
        ];
        if let Some(gate) = &gate {
            out.push(OutputFile {
                name: files::GATE_MD,
                contents: gate.markdown().into_bytes(),
            });
            out.push(OutputFile {
                name: files::GATE_JSON,
                contents: gate.json().into_bytes(),
            });
        }
        let mut flamegraphs = Vec::new();
        for (folded, folded_name, svg_name, title, unit) in [
            (
                &cycles,
                files::CYCLES_FOLDED,
                files::CYCLES_SVG,
                "cycles per cycle-tracker region",
                "cycles",
            ),
            (
                &phases,
                files::PROVER_FOLDED,
                files::PROVER_SVG,
                "prover phases",
                "us",
            ),
        ] {
            if folded.is_empty() {
                continue;
            }
            let svg = flame::flamegraph_svg(folded, title, unit)?;
            out.push(OutputFile {
                name: folded_name,
                contents: folded.text().into_bytes(),
            });
            out.push(OutputFile {
                name: svg_name,
                contents: svg.clone().into_bytes(),
            });
            flamegraphs.push(html::Figure {
                title: title.to_string(),
                svg,
            });
        }
        let charts = render_charts(&run, &analysis, base_analysis.as_ref(), opts.threshold_pct)?;
        let page = html::Page {
            charts: &charts,
            flamegraphs: &flamegraphs,
            summary_md: &summary,
            detailed_md: &detailed,
        };
        out.push(OutputFile {
            name: files::REPORT_HTML,
            contents: page.render().into_bytes(),
        });
        written = output::write_all(dir, &out)?;
    }
    if let Some(path) = &opts.json {
        starkscope_snapshot::write_atomic(path, bench.as_bytes()).map_err(|source| {
            ProfError::Write {
                path: path.clone(),
                source,
            }
        })?;
        written.push(path.clone());
    }
    Ok(ProfOutcome {
        summary,
        written,
        gate,
        regressions,
        warnings,
    })
}

fn render_charts(
    run: &Run,
    analysis: &Analysis,
    base: Option<&Analysis>,
    threshold_pct: f64,
) -> Result<Vec<html::Figure>, ProfError> {
    let mut charts: Vec<charts::BarChart> = analysis
        .groups
        .iter()
        .filter_map(charts::segment_phases)
        .collect();
    charts.extend(charts::air_cells(run));
    charts.extend(charts::layer_cost(analysis));
    charts.extend(charts::layer_shares(analysis));
    if let Some(base) = base {
        charts.extend(charts::baseline_comparison(analysis, base, threshold_pct));
    }
    charts
        .iter()
        .map(|c| {
            Ok(html::Figure {
                title: c.title.clone(),
                svg: c.to_svg()?,
            })
        })
        .collect()
}
