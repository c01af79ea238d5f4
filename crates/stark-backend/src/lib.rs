//! starkscope-stark-backend (see docs/architecture.md).
