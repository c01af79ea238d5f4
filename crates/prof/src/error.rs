//! Everything that can go wrong in a prof run. Every variant names the file (or option) at fault.

use std::path::PathBuf;

use starkscope_metrics::GroupParseError;
use starkscope_snapshot::SnapshotError;

/// A prof run failed; no output file was left behind.
#[derive(Debug, thiserror::Error)]
pub enum ProfError {
    /// Missing file, unreadable file, malformed JSON, or a value that is not a number.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),

    #[error(
        "{path}: no recognisable metrics (none of the catalogue's names and no `*_time_ms` timing)"
    )]
    NoMetrics { path: PathBuf },

    #[error("{}: {}: label `{}` is given twice, as `{}` and `{}`", .0.path.display(), .0.series, .0.key, .0.first, .0.second)]
    DuplicateLabel(Box<DuplicateLabel>),

    #[error(
        "contradicting values for {}: {} in {}, {} in {}",
        .0.series, .0.first_value, .0.first_path.display(), .0.second_value, .0.second_path.display()
    )]
    Contradiction(Box<Contradiction>),

    #[error("{path}: {metric}{labels}: bad `group` label: {source}")]
    BadGroup {
        path: PathBuf,
        metric: String,
        labels: String,
        source: GroupParseError,
    },

    #[error("{path}: {message}")]
    BadRepeats { path: PathBuf, message: String },

    #[error("invalid option: {0}")]
    Options(String),

    #[error("cannot render {what}: {message}")]
    Render { what: &'static str, message: String },

    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One label key with two values in one entry.
#[derive(Debug)]
pub struct DuplicateLabel {
    pub path: PathBuf,
    /// `metric{labels}` as written in the file.
    pub series: String,
    pub key: String,
    pub first: String,
    pub second: String,
}

/// One metric and label set recorded with two values.
#[derive(Debug)]
pub struct Contradiction {
    /// `metric{labels}`, labels sorted.
    pub series: String,
    pub first_path: PathBuf,
    pub first_value: String,
    pub second_path: PathBuf,
    pub second_value: String,
}
