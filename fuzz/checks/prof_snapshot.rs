//! The `prof_snapshot` target: metrics snapshot files (starkscope's JSON or OpenVM's)
//! through what `starkscope prof run.json --baseline base.json --fail-on-regression` does
//! with them: parse each, merge the run's files, analyse, write the markdown reports with
//! the baseline's changes, and gate the run against the baseline (which reads
//! `meta.repeats`). A NUL byte (never valid in JSON text) separates files: with one file
//! the run is its own baseline; with more, the last file is the baseline and the others
//! are merged into the run.

use std::path::PathBuf;

use starkscope_prof::{analyse, bench_json, flame, gate, markdown, Run};
use starkscope_snapshot::Snapshot;

/// At most this many files per input: enough to merge, and no input becomes thousands.
const MAX_FILES: usize = 3;

/// Any bytes are read or refused with an error that prints; a snapshot that reads
/// writes back to JSON that reads as the same snapshot, and runs that read render.
pub fn check(data: &[u8]) {
    let files: Vec<&[u8]> = data.split(|&b| b == 0).take(MAX_FILES).collect();
    let (run_files, base_file) = match files.split_last() {
        Some((last, rest)) if !rest.is_empty() => (rest, *last),
        _ => (&files[..], files[0]),
    };
    let Some(run) = read_run(run_files, 0) else {
        return;
    };
    let base = read_run(&[base_file], run_files.len());
    let analysis = analyse(&run, None);
    let base_analysis = base.as_ref().map(|b| analyse(b, None));
    let report = markdown::Report {
        run: &run,
        analysis: &analysis,
        baseline: base.as_ref().zip(base_analysis.as_ref()),
        threshold_pct: 2.0,
    };
    let _ = report.summary();
    let _ = report.detailed();
    let _ = bench_json::to_json(&bench_json::entries(&analysis));
    let _ = flame::cycle_regions(&run).text();
    let _ = flame::prover_phases(&run).text();
    let _ = run.panics();
    let Some(base) = base else {
        return;
    };
    match gate::check(&run, &base, 10.0) {
        Ok(gated) => {
            let _ = gated.regressions();
            let _ = gated.markdown();
            let _ = gated.json();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// `files` merged into one run as prof reads them, or `None` when one is refused.
fn read_run(files: &[&[u8]], first_index: usize) -> Option<Run> {
    let mut run = Run::default();
    for (i, bytes) in files.iter().enumerate() {
        let path = PathBuf::from(format!("part{}.json", first_index + i));
        // `Snapshot::read` reads the file as UTF-8 text: other bytes are an I/O error.
        let text = std::str::from_utf8(bytes).ok()?;
        let snapshot = match Snapshot::from_json(text, &path) {
            Ok(s) => s,
            Err(e) => {
                let _ = e.to_string();
                return None;
            }
        };
        let written = snapshot.to_json();
        match Snapshot::from_json(&written, &path) {
            Ok(again) => assert!(
                again == snapshot,
                "a snapshot changes through a write:\n{written}"
            ),
            Err(e) => {
                panic!("a snapshot that was read writes JSON that does not read: {e}\n{written}")
            }
        }
        if let Err(e) = run.add_snapshot(&snapshot, &path) {
            let _ = e.to_string();
            return None;
        }
    }
    Some(run)
}
