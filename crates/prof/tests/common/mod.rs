//! Shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use starkscope_prof::{run, ProfOptions};

/// A fixture path relative to the crate (tests run from the crate directory), so that the
/// paths printed in reports are the same on every machine.
pub fn fixture(name: &str) -> PathBuf {
    Path::new("tests/fixtures").join(name)
}

pub fn opts(inputs: &[&str]) -> ProfOptions {
    ProfOptions {
        inputs: inputs.iter().map(|i| fixture(i)).collect(),
        ..ProfOptions::default()
    }
}

/// Compares `actual` with the golden file; `UPDATE_GOLDEN=1` rewrites it instead.
pub fn check_golden(name: &str, actual: &str) {
    let path = Path::new("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b);
        panic!(
            "{} differs from the output (first differing line: {:?}); run with UPDATE_GOLDEN=1 to accept\n--- actual ---\n{actual}",
            path.display(),
            first.map(|i| i + 1)
        );
    }
}

pub fn summary_of(o: &ProfOptions) -> String {
    run(o).unwrap().summary
}
