//! The SDK's parallel, bounded pipeline against the plain sequential loop (record every
//! segment, advance, prove one after the other) on the same program, segments and preset,
//! in the same run. Prints medians and the ratio, and the peak RSS of the process.
//!
//!   cargo bench -p starkscope-sdk --bench pipeline
//!   BENCH_N=60000 BENCH_SEGMENT=65536 BENCH_RUNS=5 BENCH_BUDGET_MIB=4096 cargo bench -p starkscope-sdk --bench pipeline

use std::time::{Duration, Instant};

use starkscope_sdk::{AppProvingKey, FriPreset, Sdk, SdkConfig};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::Val;
use starkscope_vm::prove::{verify_chain, Continuation};
use starkscope_vm::{assemble, record, ExecConfig};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// The yardstick: everything in order on the calling thread (the backend still uses the
/// global rayon pool inside each proof).
fn sequential(pk: &AppProvingKey, inputs: &[Val], segment_size: u64) -> usize {
    let config = ExecConfig::default().with_segment_size(segment_size);
    let segments = record(&pk.program, inputs, &config).expect("executes");
    let mut cont = Continuation::start(&pk.program);
    let mut proofs = Vec::new();
    for segment in segments {
        let prepared = cont.advance(segment, Duration::ZERO);
        proofs.push(prepared.prove(&pk.vm).expect("proves").proof);
    }
    verify_chain(&pk.vm.verifying_key(), &proofs, None).expect("verifies");
    proofs.len()
}

fn main() {
    let n = env("BENCH_N", 30_000);
    let segment_size = env("BENCH_SEGMENT", 1 << 15);
    let runs = env("BENCH_RUNS", 3).max(1) as usize;
    let src = include_str!("../../../benchmarks/programs/fibonacci.sasm");
    let mut program = assemble(src, "fibonacci.sasm").expect("assembles");
    program.name = "fibonacci".into();
    let inputs = [Val::from_u64(n)];

    let sdk = Sdk::new(
        SdkConfig::default()
            .with_segment_size(segment_size)
            .with_fri(FriPreset::Fast)
            .with_memory_budget(env("BENCH_BUDGET_MIB", 4096) << 20),
    )
    .expect("sdk");
    let pk = sdk.keygen(&program).expect("keygen");
    let plan = sdk.parallelism();
    println!(
        "fibonacci({n}), segments of {segment_size} cycles, FRI fast, {} threads, {} provers, queue {}",
        plan.pool_threads, plan.provers, plan.queue
    );

    let mut seq = Vec::new();
    let mut par = Vec::new();
    let mut segments = 0;
    // Alternate which runs first so neither always gets the warmer caches.
    for run in 0..runs {
        let mut time_seq = || {
            let t = Instant::now();
            segments = sequential(&pk, &inputs, segment_size);
            seq.push(t.elapsed());
        };
        let mut time_par = || {
            let t = Instant::now();
            let (proof, _) = sdk.prove(&pk, &inputs).expect("proves");
            sdk.verify(&pk.verifying_key(), &proof).expect("verifies");
            par.push(t.elapsed());
        };
        if run % 2 == 0 {
            time_seq();
            time_par();
        } else {
            time_par();
            time_seq();
        }
    }
    let (s, p) = (median(seq), median(par));
    println!("segments                 {segments}");
    println!(
        "sequential (yardstick)   {:>9.1} ms  (median of {runs})",
        s.as_secs_f64() * 1e3
    );
    println!(
        "sdk pipeline             {:>9.1} ms  (median of {runs})",
        p.as_secs_f64() * 1e3
    );
    println!(
        "ratio sequential/sdk     {:>9.2}x",
        s.as_secs_f64() / p.as_secs_f64()
    );
    if let Some(rss) = starkscope_sdk::report::peak_rss_bytes() {
        println!(
            "peak RSS (process)       {:>9.1} MiB",
            rss as f64 / (1 << 20) as f64
        );
    }
}
