//! Replays the `proof_file` and `key_files` fuzz targets' kept inputs (fuzz/corpus/<target>,
//! fuzz/regressions/<target>) through the checks the fuzzer runs: stable tests, no
//! cargo-fuzz needed.

use std::path::{Path, PathBuf};

#[path = "../../../fuzz/checks/key_files.rs"]
mod key_files;
#[path = "../../../fuzz/checks/proof_file.rs"]
mod proof_file;
#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn proof_file_fuzz_corpus_replays() {
    assert!(replay::replay(&fuzz_dir(), "proof_file", proof_file::check) > 0);
}

#[test]
fn key_files_fuzz_corpus_replays() {
    assert!(replay::replay(&fuzz_dir(), "key_files", key_files::check) > 0);
}
