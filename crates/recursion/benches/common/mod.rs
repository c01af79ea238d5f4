//! What the recursion benches share: the yardstick (Plonky3's own Poseidon2 AIR proving
//! permutations with the backend's PCS) and timing helpers.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use p3_baby_bear::{
    GenericPoseidon2LinearLayersBabyBear, BABYBEAR_POSEIDON2_HALF_FULL_ROUNDS,
    BABYBEAR_POSEIDON2_PARTIAL_ROUNDS_16, BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL, BABYBEAR_POSEIDON2_RC_16_INTERNAL,
    BABYBEAR_S_BOX_DEGREE,
};
use p3_poseidon2_air::{Poseidon2Air, RoundConstants};
use starkscope_stark_backend::config::P3Config;
use starkscope_stark_backend::p3::RowMajorMatrix;
use starkscope_stark_backend::poseidon2::WIDTH;
use starkscope_stark_backend::Val;

/// Plonky3's Poseidon2 AIR with the backend's permutation: BabyBear, width 16, x^7 through
/// one register, 4 + 4 full rounds, 13 partial rounds.
pub type YardstickAir = Poseidon2Air<
    Val,
    GenericPoseidon2LinearLayersBabyBear,
    WIDTH,
    BABYBEAR_S_BOX_DEGREE,
    1,
    BABYBEAR_POSEIDON2_HALF_FULL_ROUNDS,
    BABYBEAR_POSEIDON2_PARTIAL_ROUNDS_16,
>;

pub fn yardstick_air() -> YardstickAir {
    Poseidon2Air::new(RoundConstants::new(
        BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
        BABYBEAR_POSEIDON2_RC_16_INTERNAL,
        BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    ))
}

pub fn yardstick_prove(
    config: &P3Config,
    air: &YardstickAir,
    trace: RowMajorMatrix<Val>,
) -> p3_uni_stark::Proof<P3Config> {
    p3_uni_stark::prove(config, air, trace, &[]).expect("yardstick proves")
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Wall time of `f` (proving is multi-threaded: CPU time of one thread would undercount).
pub fn timed<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let t = Instant::now();
    let r = f();
    (t.elapsed(), r)
}
