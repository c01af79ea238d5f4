//! Adversarial review, second round: the variable-height path (`verifier/heights.rs`,
//! `verifier/fri_var.rs`, `ChildSpec::with_ranges`) and the `aggregation` preset's paths
//! of `verifier/fri.rs` (caps, arity-8 folding with roll-ins, a final polynomial of
//! length 8, 16-bit query PoW).
//!
//! The generic attack of tests/verifier_review.rs, "every hint lane is bound", applied to
//! circuits it did not cover: every lane of every caller hint is changed alone and the run
//! must fail, except the padding lanes of opened-row cells. A lane that can change while
//! every check of the circuit still holds is a proof value the circuit does not bind (a
//! hint no constraint ties to the transcript or to a Merkle root).
//!
//! Circuits: one range circuit with an isolated variable matrix (Fibonacci 2..=3), two
//! variable matrices sharing mixed levels (senders 4..=7, 5..=7) and a fixed preprocessed
//! tallest (byte table at 8), at three height combinations; one with unknown sponge phases
//! (4-, 8- and 12-wide counters at 6, 3..=6, 2..=6); one fixed-shape `aggregation` child
//! (caps of 16 roots, schedule of arity-8 rounds, final polynomial of length 8), all 50
//! queries.

mod common;

use common::every_hint_lane_is_bound;

use std::sync::Arc;

use starkscope_recursion::verifier::ChildSpec;
use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::p3::{
    Air, AirBuilder, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{
    keygen, prove, verify, AirInput, FriPreset, Proof, ProvingKey, StarkAir, StarkConfig, Val,
};

fn testing() -> StarkConfig {
    StarkConfig::new(FriPreset::Testing)
}

const SEND_A: RangeSendAir = RangeSendAir { extra_columns: 2 }; // 4 wide
const SEND_B: RangeSendAir = RangeSendAir { extra_columns: 6 }; // 8 wide

fn bus_key(cfg: &StarkConfig) -> ProvingKey {
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(SEND_A),
        Arc::new(SEND_B),
        Arc::new(RangeTableAir),
    ];
    keygen(cfg, airs).unwrap()
}

fn bus_proof(cfg: &StarkConfig, pk: &ProvingKey, h: [usize; 3]) -> Proof {
    let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << h[0]);
    let (sa, ca) = SEND_A.trace(1 << h[1], 5);
    let (sb, cb) = SEND_B.trace(1 << h[2], 11);
    let counts: Vec<u32> = ca.iter().zip(&cb).map(|(x, y)| x + y).collect();
    let tt = RangeTableAir::trace(&counts);
    let inputs = vec![
        AirInput::new(ft, fpv),
        AirInput::new(sa, vec![]),
        AirInput::new(sb, vec![]),
        AirInput::new(tt, vec![]),
    ];
    let proof = prove(cfg, pk, inputs).unwrap();
    verify(cfg, &pk.vk, &proof).unwrap();
    proof
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "thousands of runs of a verifier circuit: release only"
)]
fn every_hint_lane_of_a_range_circuit_is_bound() {
    let cfg = testing();
    let pk = bus_key(&cfg);
    let spec = ChildSpec::with_ranges(cfg.clone(), pk.vk.clone(), vec![2..=3, 4..=7, 5..=7, 8..=8])
        .unwrap();
    // Separate heights; the senders sharing a mixed level; both at the tallest variable.
    let proofs: Vec<Proof> = [[3, 5, 6], [2, 5, 5], [3, 7, 7]]
        .into_iter()
        .map(|h| bus_proof(&cfg, &pk, h))
        .collect();
    every_hint_lane_is_bound(&spec, &proofs);
}

/// Columns x_0..x_(w-1): x_0 counts up from 0, x_j = x_(j-1) x_0 + j (as in
/// tests/verifier_heights.rs).
struct CounterAir {
    width: usize,
}

impl BaseAir<Val> for CounterAir {
    fn width(&self) -> usize {
        self.width
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for CounterAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let row = main.current_slice().to_vec();
        let x0_next = main.next_slice()[0];
        builder.when_first_row().assert_zero(row[0]);
        builder
            .when_transition()
            .assert_eq(x0_next, row[0] + AB::Expr::ONE);
        for j in 1..self.width {
            builder.assert_eq(row[j], row[j - 1] * row[0] + AB::Expr::from_usize(j));
        }
    }
}

impl StarkAir for CounterAir {
    fn name(&self) -> String {
        format!("counter{}", self.width)
    }
}

fn counter_trace(width: usize, log_height: usize) -> RowMajorMatrix<Val> {
    let mut values = Vec::new();
    for i in 0..1usize << log_height {
        let x0 = Val::from_usize(i);
        let mut prev = x0;
        values.push(x0);
        for j in 1..width {
            prev = prev * x0 + Val::from_usize(j);
            values.push(prev);
        }
    }
    RowMajorMatrix::new(values, width)
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "thousands of runs of a verifier circuit: release only"
)]
fn every_hint_lane_of_a_range_circuit_with_unknown_phases_is_bound() {
    let cfg = testing();
    let widths = [4, 8, 12];
    let airs: Vec<Arc<dyn StarkAir>> = widths
        .iter()
        .map(|&width| Arc::new(CounterAir { width }) as Arc<dyn StarkAir>)
        .collect();
    let pk = keygen(&cfg, airs).unwrap();
    let spec =
        ChildSpec::with_ranges(cfg.clone(), pk.vk.clone(), vec![6..=6, 3..=6, 2..=6]).unwrap();
    // The 12-wide row after the 8-wide one at one level (phase a cell), and apart.
    let proofs: Vec<Proof> = [[6, 4, 4], [6, 3, 5]]
        .into_iter()
        .map(|h| {
            let inputs = widths
                .iter()
                .zip(h)
                .map(|(&w, lh)| AirInput::new(counter_trace(w, lh), vec![]))
                .collect();
            let proof = prove(&cfg, &pk, inputs).unwrap();
            verify(&cfg, &pk.vk, &proof).unwrap();
            proof
        })
        .collect();
    every_hint_lane_is_bound(&spec, &proofs);
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "thousands of runs of a verifier circuit: release only"
)]
fn every_hint_lane_of_an_aggregation_child_is_bound() {
    let cfg = StarkConfig::new(FriPreset::Aggregation);
    let send = RangeSendAir { extra_columns: 2 };
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(send),
        Arc::new(RangeTableAir),
    ];
    let pk = keygen(&cfg, airs).unwrap();
    let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << 4);
    let (st, counts) = send.trace(1 << 6, 5);
    let tt = RangeTableAir::trace(&counts);
    let inputs = vec![
        AirInput::new(ft, fpv),
        AirInput::new(st, vec![]),
        AirInput::new(tt, vec![]),
    ];
    let proof = prove(&cfg, &pk, inputs).unwrap();
    verify(&cfg, &pk.vk, &proof).unwrap();
    let spec = ChildSpec::of_proof(cfg, pk.vk.clone(), &proof).unwrap();
    every_hint_lane_is_bound(&spec, &[proof]);
}
