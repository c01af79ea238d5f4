//! Replays the `prof_snapshot` fuzz target's kept inputs (fuzz/corpus/prof_snapshot,
//! fuzz/regressions/prof_snapshot) through the check the fuzzer runs: a stable test, no
//! cargo-fuzz needed.

use std::path::Path;

#[path = "../../../fuzz/checks/prof_snapshot.rs"]
mod check;
#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn prof_snapshot_fuzz_corpus_replays() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    assert!(replay::replay(&fuzz, "prof_snapshot", check::check) > 0);
}
