//! Prints how long each prover phase takes (span close events) for the bench AIR set.
//!
//!   cargo run --release -p starkscope-stark-backend --example phases -- 16

use std::sync::Arc;

use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::{keygen, prove, AirInput, FriPreset, StarkAir, StarkConfig};
use tracing_subscriber::fmt::format::FmtSpan;

fn main() {
    tracing_subscriber::fmt()
        .with_span_events(FmtSpan::CLOSE)
        .with_env_filter("info,p3_=warn")
        .init();
    let h: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let cfg = StarkConfig::new(FriPreset::Fast);
    let send = RangeSendAir { extra_columns: 30 };
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(send),
        Arc::new(RangeTableAir),
    ];
    let pk = keygen(&cfg, airs).expect("keygen");
    let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << h);
    let (st, counts) = send.trace(1 << h, 3);
    let tt = RangeTableAir::trace(&counts);
    let inputs = vec![
        AirInput::new(ft, fpv),
        AirInput::new(st, vec![]),
        AirInput::new(tt, vec![]),
    ];
    for _ in 0..3 {
        prove(&cfg, &pk, inputs.clone()).expect("prove");
    }
}
