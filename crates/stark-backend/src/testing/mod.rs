//! Test support shared with dependent crates' tests (feature `test-support`, off by
//! default; no shipped binary enables it: scripts/check-feature-graph.sh checks).
//!
//! - [`mutation`]: every single-number and every list-length mutant of a proof, through
//!   its serde view.

pub mod mutation;
