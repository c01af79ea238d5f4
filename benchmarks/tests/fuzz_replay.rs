//! Replays the `bench_config` fuzz target's kept inputs (fuzz/corpus/bench_config,
//! fuzz/regressions/bench_config) through the check the fuzzer runs, each read as if it
//! were benchmarks/config.json: a stable test, no cargo-fuzz needed.

use std::path::Path;

#[path = "../../fuzz/checks/bench_config.rs"]
mod check;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn bench_config_fuzz_corpus_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = root.join("config.json");
    let count = replay::replay(&root.join("../fuzz"), "bench_config", |data| {
        check::check(data, &config)
    });
    assert!(count > 0);
}
