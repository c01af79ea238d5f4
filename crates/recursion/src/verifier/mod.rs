//! The in-circuit verifier of starkscope STARK proofs: circuit ops that check a child
//! proof exactly as `starkscope_stark_backend::verify` does (docs/recursion.md, "The
//! verifier circuit"; the contract is docs/stark-backend.md).
//!
//! - [`transcript`]: transcript steps 1-13 (key, heights, commitments, public values,
//!   LogUp challenges, cumulative sums, `alpha`, `zeta`);
//! - [`constraints`]: every child AIR's constraints (its own and LogUp's) at `zeta`,
//!   compiled from its symbolic constraints, against the quotient recombined from chunks;
//! - [`fri`]: step 14, the PCS opening argument of p3-fri 0.8 (seeds, claimed
//!   evaluations, batching, commit rounds, query PoW and indices, Merkle openings, reduced
//!   openings, folding, the final polynomial).

pub mod constraints;
pub mod fri;
pub mod transcript;
