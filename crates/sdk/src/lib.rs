//! starkscope-sdk (see docs/architecture.md).
