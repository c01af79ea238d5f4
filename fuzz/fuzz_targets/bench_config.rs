#![no_main]

use std::path::Path;

#[path = "../checks/bench_config.rs"]
mod check;

/// Where the input is read as if it were: the bundled matrix, next to its programs.
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../benchmarks/config.json");

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data, Path::new(CONFIG)));
