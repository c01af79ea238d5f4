//! Medians: these machines are noisy, so every comparison quotes the median of its runs.

pub use starkscope_snapshot::repeats::{median, median_abs_deviation};
