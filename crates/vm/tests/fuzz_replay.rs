//! Replays the `asm` fuzz target's kept inputs (fuzz/corpus/asm, fuzz/regressions/asm)
//! through the check the fuzzer runs: a stable test, no cargo-fuzz needed.

use std::path::Path;

#[path = "../../../fuzz/checks/asm.rs"]
mod check;
#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn asm_fuzz_corpus_replays() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    assert!(replay::replay(&fuzz, "asm", check::check) > 0);
}
