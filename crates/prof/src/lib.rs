//! starkscope-prof (see docs/architecture.md).
