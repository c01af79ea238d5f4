#![allow(dead_code)]
//! Shared fixtures: AIR sets with their witnesses.

use std::sync::Arc;

use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::{keygen, AirInput, FriPreset, ProvingKey, StarkAir, StarkConfig};

pub fn config() -> StarkConfig {
    StarkConfig::new(FriPreset::Testing)
}

/// Fibonacci alone at `2^log_h` rows.
pub fn fib(cfg: &StarkConfig, log_h: usize) -> (ProvingKey, Vec<AirInput>) {
    let pk = keygen(cfg, vec![Arc::new(FibonacciAir) as Arc<dyn StarkAir>]).unwrap();
    let (t, pv) = FibonacciAir::trace(1, 1, 1 << log_h);
    (pk, vec![AirInput::new(t, pv)])
}

/// Three AIRs of different heights: Fibonacci (2^log_fib), a sender on the byte bus
/// (2^log_send rows, `extra` work columns) and the preprocessed byte table (2^8).
pub fn bus_set(
    cfg: &StarkConfig,
    log_fib: usize,
    log_send: usize,
    extra: usize,
) -> (ProvingKey, Vec<AirInput>) {
    let send = RangeSendAir {
        extra_columns: extra,
    };
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(send),
        Arc::new(RangeTableAir),
    ];
    let pk = keygen(cfg, airs).unwrap();
    let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << log_fib);
    let (st, counts) = send.trace(1 << log_send, 5);
    let tt = RangeTableAir::trace(&counts);
    (
        pk,
        vec![
            AirInput::new(ft, fpv),
            AirInput::new(st, vec![]),
            AirInput::new(tt, vec![]),
        ],
    )
}
