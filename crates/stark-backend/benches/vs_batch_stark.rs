//! Our prover against p3-batch-stark 0.8.0: same AIR set, same FRI parameters (preset
//! `fast` for both), same heights, alternating runs in one process. Prints the median
//! of each and the ratio ours / theirs.
//!
//!   cargo bench -p starkscope-stark-backend --bench vs_batch_stark -- [--samples N] [--heights 16,18]

use std::sync::Arc;
use std::time::{Duration, Instant};

use p3_air::{Air, BaseAir};
use p3_batch_stark::{prove_batch, verify_batch, ProverData, StarkInstance};
use p3_matrix::dense::RowMajorMatrix;
use starkscope_stark_backend::codec::proof_to_bytes_with_preset;
use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::{
    keygen, prove, verify, AirInput, FriPreset, InteractionBuilder, StarkAir, StarkConfig, Val,
};

/// The AIR set as one type, which p3-batch-stark requires.
#[derive(Clone, Copy)]
enum BenchAir {
    Fib(FibonacciAir),
    Send(RangeSendAir),
    Table(RangeTableAir),
}

impl BaseAir<Val> for BenchAir {
    fn width(&self) -> usize {
        match self {
            BenchAir::Fib(a) => a.width(),
            BenchAir::Send(a) => a.width(),
            BenchAir::Table(a) => a.width(),
        }
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        match self {
            BenchAir::Table(a) => a.preprocessed_trace(),
            _ => None,
        }
    }
    fn preprocessed_width(&self) -> usize {
        match self {
            BenchAir::Table(a) => a.preprocessed_width(),
            _ => 0,
        }
    }
    fn num_public_values(&self) -> usize {
        match self {
            BenchAir::Fib(a) => a.num_public_values(),
            _ => 0,
        }
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        match self {
            BenchAir::Fib(a) => a.main_next_row_columns(),
            BenchAir::Send(a) => a.main_next_row_columns(),
            BenchAir::Table(a) => a.main_next_row_columns(),
        }
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for BenchAir {
    fn eval(&self, builder: &mut AB) {
        match self {
            BenchAir::Fib(a) => a.eval(builder),
            BenchAir::Send(a) => a.eval(builder),
            BenchAir::Table(a) => a.eval(builder),
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let samples: usize = arg("--samples").and_then(|s| s.parse().ok()).unwrap_or(7);
    let heights: Vec<usize> = arg("--heights")
        .map(|s| s.split(',').filter_map(|h| h.parse().ok()).collect())
        .unwrap_or_else(|| vec![16, 18]);

    let cfg = StarkConfig::new(FriPreset::Fast);
    let p3cfg = cfg.to_p3();
    let send = RangeSendAir { extra_columns: 30 };
    println!(
        "AIR set: fibonacci (2 cols, 2^h rows), range_send (32 cols, 2^h rows, 1 bus send), range_table (1 prep + 1 col, 256 rows); FRI preset `fast`; {} rayon threads",
        p3_maybe_rayon::prelude::current_num_threads()
    );
    println!("| log2 rows | ours median (ms) | p3-batch-stark median (ms) | ratio of medians | ours min (ms) | theirs min (ms) | ratio of minima | our proof (bytes) | their proof (bytes) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for &h in &heights {
        let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << h);
        let (st, counts) = send.trace(1 << h, 3);
        let tt = RangeTableAir::trace(&counts);

        // Ours.
        let airs: Vec<Arc<dyn StarkAir>> = vec![
            Arc::new(FibonacciAir),
            Arc::new(send),
            Arc::new(RangeTableAir),
        ];
        let pk = keygen(&cfg, airs).expect("keygen");
        let inputs = vec![
            AirInput::new(ft.clone(), fpv.clone()),
            AirInput::new(st.clone(), vec![]),
            AirInput::new(tt.clone(), vec![]),
        ];

        // Theirs.
        let bench_airs = [
            BenchAir::Fib(FibonacciAir),
            BenchAir::Send(send),
            BenchAir::Table(RangeTableAir),
        ];
        let traces = [&ft, &st, &tt];
        let pvs = vec![fpv.clone(), vec![], vec![]];
        let instances = StarkInstance::new_multiple(&bench_airs, &traces, &pvs);
        let prover_data =
            ProverData::from_instances(&p3cfg, &instances).expect("batch-stark prover data");

        // Both verify (untimed), then alternate timed runs.
        let ours = prove(&cfg, &pk, inputs.clone()).expect("prove");
        verify(&cfg, &pk.vk, &ours).expect("our proof verifies");
        let size = proof_to_bytes_with_preset(&ours, cfg.preset())
            .map(|b| b.len())
            .unwrap_or(0);
        let theirs = prove_batch(&p3cfg, &instances, &prover_data).expect("prove_batch");
        let their_size = postcard::to_allocvec(&theirs).map(|b| b.len()).unwrap_or(0);
        verify_batch(&p3cfg, &bench_airs, &theirs, &pvs, &prover_data.common)
            .expect("their proof verifies");

        let (mut t_ours, mut t_theirs) = (Vec::new(), Vec::new());
        // Alternate which prover goes first, so neither always inherits the other's caches.
        for sample in 0..samples {
            for turn in 0..2 {
                if (sample + turn) % 2 == 0 {
                    let input = inputs.clone();
                    let t = Instant::now();
                    let p = prove(&cfg, &pk, input).expect("prove");
                    t_ours.push(t.elapsed());
                    drop(p);
                } else {
                    let t = Instant::now();
                    let p = prove_batch(&p3cfg, &instances, &prover_data).expect("prove_batch");
                    t_theirs.push(t.elapsed());
                    drop(p);
                }
            }
        }
        let (lo, lt) = (
            ms(*t_ours.iter().min().unwrap()),
            ms(*t_theirs.iter().min().unwrap()),
        );
        let (mo, mt) = (ms(median(t_ours)), ms(median(t_theirs)));
        println!(
            "| {h} | {mo:.1} | {mt:.1} | {:.3} | {lo:.1} | {lt:.1} | {:.3} | {size} | {their_size} |",
            mo / mt,
            lo / lt
        );
    }
}
