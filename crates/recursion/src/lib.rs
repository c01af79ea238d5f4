//! starkscope-recursion: straight-line circuits over BabyBear and its degree-4 extension,
//! proven on starkscope's STARK backend. The foundation of in-circuit proof verification
//! (docs/recursion.md).
//!
//! Flow: record a [`Circuit`] with a [`CircuitBuilder`] (and the hashing [`gadgets`]),
//! compile it to a [`CompiledCircuit`] (its program and keys), [`CompiledCircuit::run`]
//! it with public inputs and hints, then prove and verify.

pub mod builder;
pub mod compile;
pub mod gadgets;
#[cfg(feature = "bench-metrics")]
mod instrument;
pub mod ir;
pub mod key;
pub mod prove;
pub mod run;
pub mod tables;
pub mod verifier;

pub use builder::{CircuitBuilder, Var, FELT_BITS};
pub use compile::{CompileError, CompiledCircuit, Placement, Program, TableId};
pub use ir::{Addr, ChildCost, Circuit, Ext, Felt, Group, OpKind, Quad};
pub use key::{CircuitKeyError, CircuitVerifyingKey};
pub use prove::CircuitVerifyError;
pub use run::{RunError, Witness};
