//! The verifier circuit: nodes that verify 1 and 2 child proofs in-circuit.
//!
//! Children: (a) the first segment proof of `fibonacci.sasm` at 2^18 cycles, proven under
//! FRI preset `fast` and under `recursion`; (b) proofs of nodes (a node over one
//! `recursion`-preset fibonacci segment), i.e. the internal layers of a tree. Every node
//! is proven under `recursion`, the tree's preset. Per verified child: Poseidon2 rows,
//! extension ops (ALU lanes), every table entry; per node: build (record + compile, once
//! per circuit), witness generation, proving (medians of a few in-process runs), proof
//! size, the process's peak RSS over witness + prove, and the yardstick: Plonky3's own
//! `Poseidon2Air` proving as many permutations as the node's Poseidon2 table has rows
//! (padded to a power of two), same PCS and preset, runs interleaved with the node's.
//! Then the same internal layers under the `aggregation` preset (issue 17): a node over
//! the `recursion` fibonacci segment compiled under `aggregation`, and nodes compiled
//! under `aggregation` verifying its proof ("aggregation node proof" rows).
//!
//! (`VERIFIER_BENCH_ONLY=aggregation` runs only the aggregation rows.)
//!
//!     cargo bench -p starkscope-recursion --bench verifier
//!
//! (`VERIFIER_BENCH_RUNS` sets the runs per step, default 3; `.cargo/config.toml` builds
//! with `-C target-cpu=native`.)

mod common;

use std::time::Duration;

use common::{median, ms, timed, yardstick_air, yardstick_prove};
use starkscope_metrics::process::{peak_rss_bytes, reset_peak_rss};
use starkscope_recursion::verifier::{child_hints, verify_child, ChildSpec};
use starkscope_recursion::{ChildCost, CircuitBuilder, CompiledCircuit, TableId};
use starkscope_stark_backend::codec::proof_encoded_len;
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{FriPreset, Proof, StarkConfig, VerifyingKey};
use starkscope_vm::exec::ExecConfig;
use starkscope_vm::prove::{vm_keygen, Continuation};
use starkscope_vm::F;

const LOG_CYCLES: u32 = 18;
const NODE_PRESET: FriPreset = FriPreset::Recursion;

fn runs() -> usize {
    std::env::var("VERIFIER_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1)
}

/// The first segment of fibonacci at 2^18 cycles, proven under `preset`.
fn fib_segment(preset: FriPreset) -> (StarkConfig, VerifyingKey, Proof, Duration) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../benchmarks/programs/fibonacci.sasm"
    );
    let program = starkscope_vm::assemble_file(path).expect("assembles");
    // Enough iterations for more than one full segment.
    let inputs = [F::from_u32(1 << (LOG_CYCLES - 1))];
    let segments = starkscope_vm::exec::record(
        &program,
        &inputs,
        &ExecConfig::default().with_segment_size(1 << LOG_CYCLES),
    )
    .expect("executes");
    let pk = vm_keygen(&program, preset).expect("keygen");
    let mut cont = Continuation::start(&program);
    let first = segments.into_iter().next().expect("a segment");
    let prepared = cont.advance(first, Duration::ZERO);
    let (t, proof) = timed(|| prepared.prove(&pk).expect("proves").proof);
    (pk.config.clone(), pk.pk.vk.clone(), proof, t)
}

/// A node: a circuit verifying `k` children of one spec, with their hints.
struct Node {
    cc: CompiledCircuit,
    hints: Vec<starkscope_stark_backend::Challenge>,
    cost: ChildCost,
    build: Duration,
}

fn node(cfg: &StarkConfig, vk: &VerifyingKey, child: &Proof, k: usize) -> Node {
    node_under(cfg, vk, child, k, NODE_PRESET)
}

fn node_under(
    cfg: &StarkConfig,
    vk: &VerifyingKey,
    child: &Proof,
    k: usize,
    node_preset: FriPreset,
) -> Node {
    let spec = ChildSpec::of_proof(cfg.clone(), vk.clone(), child).expect("spec");
    let (build, (cc, cost)) = timed(|| {
        let mut b = CircuitBuilder::new();
        let costs: Vec<ChildCost> = (0..k).map(|_| verify_child(&mut b, &spec).cost).collect();
        let cc = CompiledCircuit::new(b.build(), StarkConfig::new(node_preset)).expect("compiles");
        (cc, costs[0])
    });
    let one = child_hints(&spec, child).expect("hints");
    let hints = (0..k).flat_map(|_| one.iter().copied()).collect();
    Node {
        cc,
        hints,
        cost,
        build,
    }
}

struct Measured {
    witness: Duration,
    prove: Duration,
    yardstick: Duration,
    proof: Proof,
    peak_rss: Option<u64>,
}

fn measure(n: &Node) -> Measured {
    let rows = n.cc.program.heights[TableId::Poseidon2 as usize];
    let p3 = n.cc.config.to_p3();
    let air = yardstick_air();
    let (mut w, mut p, mut y) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    let mut peak = None;
    for _ in 0..runs() {
        reset_peak_rss();
        let (tw, witness) = timed(|| n.cc.run(&[], &n.hints).expect("runs"));
        let (tp, proof) = timed(|| n.cc.prove(witness).expect("proves"));
        peak = peak.max(peak_rss_bytes());
        w.push(tw);
        p.push(tp);
        let trace = air.generate_random_trace_rows(rows, n.cc.config.preset().log_blowup());
        let (ty, _) = timed(|| yardstick_prove(&p3, &air, trace));
        y.push(ty);
        last = Some(proof);
    }
    let proof = last.expect("at least one run");
    n.cc.verify(&proof, &[]).expect("the node proof verifies");
    Measured {
        witness: median(w),
        prove: median(p),
        yardstick: median(y),
        proof,
        peak_rss: peak,
    }
}

fn report(label: &str, n: &Node, m: &Measured, k: usize) {
    let h = &n.cc.program.heights;
    let total_rows: usize = h.iter().sum();
    println!(
        "| {label} | {k} | {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.2} | {} | {} |",
        n.cost.poseidon2,
        n.cost.ext_ops,
        n.cost.total,
        total_rows,
        ms(n.build),
        ms(m.witness),
        ms(m.prove),
        m.prove.as_secs_f64() / m.yardstick.as_secs_f64(),
        proof_encoded_len(&m.proof).map_or("?".into(), |b| format!("{}", b / 1024)),
        m.peak_rss.map_or("?".into(), |b| format!("{}", b >> 20)),
    );
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent: do nothing there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!(
        "verifier nodes (node preset {NODE_PRESET}, {} runs per step, medians)",
        runs()
    );
    let only_agg = std::env::var("VERIFIER_BENCH_ONLY").is_ok_and(|v| v == "aggregation");
    let mut children = Vec::new();
    let presets: &[FriPreset] = if only_agg {
        &[FriPreset::Recursion]
    } else {
        &[FriPreset::Fast, FriPreset::Recursion]
    };
    for &preset in presets {
        let (cfg, vk, proof, t) = fib_segment(preset);
        println!(
            "child: fibonacci segment 2^{LOG_CYCLES} cycles under {preset}: proved in {:.0} ms, {} KiB",
            ms(t),
            proof_encoded_len(&proof).unwrap_or(0) / 1024
        );
        children.push((format!("fib 2^{LOG_CYCLES} {preset}"), cfg, vk, proof));
    }
    println!();
    println!("| child | children | Poseidon2 / child | ext ops / child | entries / child | node rows (all tables) | build ms | witness ms | prove ms | prove / yardstick | proof KiB | peak RSS MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut node_child = None;
    let mut agg_child = None;
    for (label, cfg, vk, proof) in &children {
        if cfg.preset() == FriPreset::Recursion {
            // The first aggregation layer: a node over the segment, proven under
            // `aggregation`; its proof is the child of the aggregation rows below.
            let n = node_under(cfg, vk, proof, 1, FriPreset::Aggregation);
            let m = measure(&n);
            report(&format!("{label} (node under aggregation)"), &n, &m, 1);
            agg_child = Some((n.cc.config.clone(), n.cc.vk().clone(), m.proof));
        }
        if only_agg {
            continue;
        }
        for k in [1, 2] {
            let n = node(cfg, vk, proof, k);
            let m = measure(&n);
            report(label, &n, &m, k);
            if k == 1 && cfg.preset() == FriPreset::Recursion {
                node_child = Some((n.cc.config.clone(), n.cc.vk().clone(), m.proof));
            }
        }
    }
    if let Some((cfg, vk, proof)) = node_child {
        for k in [1, 2] {
            let n = node(&cfg, &vk, &proof, k);
            let m = measure(&n);
            report("node proof", &n, &m, k);
        }
    }
    let (cfg, vk, proof) = agg_child.expect("an aggregation node proof");
    for k in [1, 2] {
        let n = node_under(&cfg, &vk, &proof, k, FriPreset::Aggregation);
        let m = measure(&n);
        report("aggregation node proof (node under aggregation)", &n, &m, k);
    }
}
