//! The `prof_snapshot` target: metrics snapshot files (starkscope's JSON or OpenVM's)
//! through what `starkscope prof` does with them: parse each, merge them into one run,
//! analyse it and write the markdown reports. A NUL byte (never valid in JSON text)
//! separates files, so one input can be a run read from several files.

use std::path::PathBuf;

use starkscope_prof::{analyse, bench_json, flame, markdown, Run};
use starkscope_snapshot::Snapshot;

/// At most this many files per input: enough to merge, and no input becomes thousands.
const MAX_FILES: usize = 3;

/// Any bytes are read or refused with an error that prints; a snapshot that reads
/// writes back to JSON that reads as the same snapshot, and a run that reads renders.
pub fn check(data: &[u8]) {
    let mut run = Run::default();
    for (i, part) in data.split(|&b| b == 0).take(MAX_FILES).enumerate() {
        let path = PathBuf::from(format!("part{i}.json"));
        // `Snapshot::read` reads the file as UTF-8 text: other bytes are an I/O error.
        let Ok(text) = std::str::from_utf8(part) else {
            return;
        };
        let snapshot = match Snapshot::from_json(text, &path) {
            Ok(s) => s,
            Err(e) => {
                let _ = e.to_string();
                return;
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
            return;
        }
    }
    let analysis = analyse(&run, None);
    let report = markdown::Report {
        run: &run,
        analysis: &analysis,
        baseline: None,
        threshold_pct: 2.0,
    };
    let _ = report.summary();
    let _ = report.detailed();
    let _ = bench_json::to_json(&bench_json::entries(&analysis));
    let _ = flame::cycle_regions(&run).text();
    let _ = flame::prover_phases(&run).text();
    let _ = run.panics();
}
