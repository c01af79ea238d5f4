//! Helpers the CLI's test files share: the built binary, the bundled programs.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn programs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks/programs")
}

/// The bundled fibonacci program's path.
pub fn fib() -> String {
    programs()
        .join("fibonacci.sasm")
        .to_str()
        .unwrap()
        .to_string()
}

/// Fibonacci(30) in 64-cycle segments (156 cycles: 3 segments) at the testing preset.
pub const QUICK: [&str; 6] = ["-i", "30", "--segment-size", "64", "--fri", "testing"];

/// The built `starkscope` with `args`, without the caller's METRIC_OUTPUT or RUST_LOG.
pub fn starkscope_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_starkscope"));
    cmd.args(args)
        .env_remove("METRIC_OUTPUT")
        .env_remove("RUST_LOG");
    cmd
}

/// Runs [`starkscope_cmd`] to completion.
pub fn starkscope(args: &[&str]) -> Output {
    starkscope_cmd(args)
        .output()
        .expect("the starkscope binary runs")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
