//! Replays a fuzz target's kept inputs: fuzz/corpus/<target>/ (what the fuzzer kept as
//! new coverage, minimised) and fuzz/regressions/<target>/ (inputs that once failed).
//! Shared by the stable `fuzz_replay` tests of the crates that own each reader.

use std::path::{Path, PathBuf};

/// Calls `check` on every kept input of `target`, naming the file if it panics; returns
/// how many corpus files there were (a test asserts the corpus is not empty).
pub fn replay(fuzz_dir: &Path, target: &str, check: impl Fn(&[u8])) -> usize {
    let mut corpus = 0;
    for (kind, required) in [("corpus", true), ("regressions", false)] {
        let dir = fuzz_dir.join(kind).join(target);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(_) if !required => continue,
            Err(e) => panic!("{}: {e}", dir.display()),
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
            if outcome.is_err() {
                panic!(
                    "{} failed its fuzz check (the panic is printed above)",
                    file.display()
                );
            }
            if kind == "corpus" {
                corpus += 1;
            }
        }
    }
    corpus
}
