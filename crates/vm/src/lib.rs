//! starkscope-vm (see docs/architecture.md).
