//! starkscope's benchmark runner, as a library: the matrix config ([`config`]), one measured
//! proof ([`measure`]), and the comparisons that run proofs in child processes so each has
//! its own peak RSS and its own build ([`child`], [`sweep`], [`overhead`]), and the repeated
//! samples with their [`yardstick`] that the benchmark gate compares ([`repeat`]).
//!
//! The binary `starkscope-bench` is a thin shell over these; see benchmarks/README.md.

pub mod child;
pub mod config;
pub mod exit;
pub mod measure;
pub mod overhead;
pub mod repeat;
pub mod stats;
pub mod sweep;
pub mod yardstick;

pub use config::{BenchConfig, Benchmark, ConfigError, DEFAULT_CONFIG};
pub use measure::{prove_once, Measurement};
