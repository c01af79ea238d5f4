//! Everything that can go wrong in a prof run. Every variant names the file (or option) at fault.

use std::path::PathBuf;

use starkscope_metrics::{GroupParseError, SnapshotError};

/// A prof run failed; no output file was left behind.
#[derive(Debug, thiserror::Error)]
pub enum ProfError {
    /// Missing file, unreadable file, malformed JSON, or a value that is not a number.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),

    #[error("{path}: no recognisable metrics (none of the catalogue's names and no `*_time_ms` timing)")]
    NoMetrics { path: PathBuf },

    #[error("{path}: {metric}{labels}: label `{key}` is given twice, as `{first}` and `{second}`")]
    DuplicateLabel { path: PathBuf, metric: String, labels: String, key: String, first: String, second: String },

    #[error(
        "contradicting values for {metric}{labels}: {first_value} in {first_path}, {second_value} in {second_path}"
    )]
    Contradiction {
        metric: String,
        labels: String,
        first_path: PathBuf,
        first_value: String,
        second_path: PathBuf,
        second_value: String,
    },

    #[error("{path}: {metric}{labels}: bad `group` label: {source}")]
    BadGroup { path: PathBuf, metric: String, labels: String, source: GroupParseError },

    #[error("invalid option: {0}")]
    Options(String),

    #[error("cannot render {what}: {message}")]
    Render { what: &'static str, message: String },

    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

impl ProfError {
    /// The process exit code for this error: always 1 (2 is reserved for a regression).
    pub fn exit_code(&self) -> i32 {
        1
    }
}
