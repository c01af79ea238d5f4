//! Shared helpers for the recursion tests.
#![allow(dead_code)]

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use starkscope_recursion::{Circuit, CompiledCircuit};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Challenge, FriPreset, StarkConfig, Val};

pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

pub fn felt(rng: &mut SmallRng) -> Val {
    Val::from_u32(rng.random_range(0..0x7800_0001))
}

pub fn ext(rng: &mut SmallRng) -> Challenge {
    <Challenge as p3_field::BasedVectorSpace<Val>>::from_basis_coefficients_fn(|_| felt(rng))
}

pub fn compile(circuit: Circuit) -> CompiledCircuit {
    CompiledCircuit::new(circuit, StarkConfig::new(FriPreset::Testing)).expect("compiles")
}

/// Runs, proves and verifies; panics with the failing step.
pub fn prove_and_verify(c: &CompiledCircuit, public: &[Val], hints: &[Challenge]) {
    let w = c.run(public, hints).expect("runs");
    let proof = c.prove(w).expect("proves");
    c.verify(&proof, public).expect("verifies");
}
