//! With `bench-metrics`: compiling and running a circuit emit `circuit_build_time_ms`,
//! `witness_gen_time_ms` and `circuit_ops{op}` (the op counts of the circuit exactly),
//! around the backend's own keygen and prover metrics, under the caller's scope labels.

mod common;

use starkscope_harness::{Harness, Install};
use starkscope_metrics::names;
use starkscope_recursion::gadgets::challenger::ChallengerVar;
use starkscope_recursion::{CircuitBuilder, TableId};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Challenge, Val};

#[test]
fn circuit_metrics_are_emitted_once_with_the_callers_scope() {
    let collected = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .run(|| {
            let _scope = tracing::info_span!("segment", group = "leaf", idx = 2).entered();
            let mut b = CircuitBuilder::new();
            let x = b.public();
            let h = b.hint_ext();
            let y = b.mul_add(h, x.ext(), h);
            let _ = b.inverse(y);
            let mut ch = ChallengerVar::new();
            ch.observe(&mut b, x);
            let s = ch.sample_ext(&mut b);
            let _ = b.mul(s, y);
            let cc = common::compile(b.build());
            let public = [Val::from_u32(9)];
            let w = cc.run(&public, &[Challenge::ONE]).unwrap();
            let proof = cc.prove(w).unwrap();
            cc.verify(&proof, &public).unwrap();
            let names: Vec<String> = cc.vk().airs().iter().map(|a| a.name()).collect();
            (cc.circuit.op_counts(), cc.program.heights, names)
        })
        .unwrap();
    let (counts, heights, table_names) = collected.value;
    let snap = collected.snapshot;
    let scope = [("group", "leaf"), ("idx", "2")];
    for name in [names::CIRCUIT_BUILD_TIME_MS, names::WITNESS_GEN_TIME_MS] {
        let v = snap
            .gauge_value(name, &scope)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(v > 0.0, "{name} = {v}");
    }
    assert!(counts.len() > 5);
    for (kind, n) in &counts {
        let l = [("op", kind.as_str()), ("group", "leaf"), ("idx", "2")];
        assert_eq!(
            snap.counter_value(names::CIRCUIT_OPS, &l),
            Some(*n),
            "circuit_ops{{op={}}}",
            kind.as_str()
        );
    }
    // The backend's per-table rows, under the table names.
    for t in TableId::ALL {
        let name = table_names[t as usize].as_str();
        let id = (t as usize).to_string();
        let l = [
            ("air_name", name),
            ("air_id", id.as_str()),
            ("group", "leaf"),
        ];
        assert_eq!(
            snap.counter_value(names::ROWS, &l),
            Some(heights[t as usize] as u64),
            "rows of {name}"
        );
    }
}

#[test]
fn a_verifier_circuit_reports_its_cost_per_verified_child() {
    use starkscope_recursion::verifier::{child_hints, verify_child, ChildSpec};
    use starkscope_stark_backend::example_airs::FibonacciAir;
    use starkscope_stark_backend::{keygen, prove, AirInput, FriPreset, StarkAir, StarkConfig};
    let cfg = StarkConfig::new(FriPreset::Testing);
    let pk = keygen(
        &cfg,
        vec![std::sync::Arc::new(FibonacciAir) as std::sync::Arc<dyn StarkAir>],
    )
    .unwrap();
    let (t, pv) = FibonacciAir::trace(0, 1, 1 << 4);
    let child = prove(&cfg, &pk, vec![AirInput::new(t, pv)]).unwrap();
    let collected = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .run(|| {
            let _scope = tracing::info_span!("node", group = "leaf", idx = 0).entered();
            let spec = ChildSpec::of_proof(cfg.clone(), pk.vk.clone(), &child).unwrap();
            let mut b = CircuitBuilder::new();
            let costs: Vec<_> = (0..2).map(|_| verify_child(&mut b, &spec).cost).collect();
            let cc = common::compile(b.build());
            let mut hints = child_hints(&spec, &child).unwrap();
            hints.extend(child_hints(&spec, &child).unwrap());
            let w = cc.run(&[], &hints).unwrap();
            let proof = cc.prove(w).unwrap();
            cc.verify(&proof, &[]).unwrap();
            costs
        })
        .unwrap();
    let costs = collected.value;
    // Two children of one spec cost the same (but for constants, which they share).
    assert_eq!(
        (costs[0].poseidon2, costs[0].ext_ops, costs[0].hints),
        (costs[1].poseidon2, costs[1].ext_ops, costs[1].hints)
    );
    let snap = collected.snapshot;
    let scope = [("group", "leaf"), ("idx", "0")];
    assert_eq!(
        snap.counter_value(names::VERIFIED_CHILDREN, &scope),
        Some(2)
    );
    assert_eq!(
        snap.gauge_value(names::POSEIDON2_PER_CHILD, &scope),
        Some(costs[0].poseidon2 as f64)
    );
    assert_eq!(
        snap.gauge_value(names::EXT_OPS_PER_CHILD, &scope),
        Some(costs[0].ext_ops as f64)
    );
    assert_eq!(
        snap.gauge_value(names::OPS_PER_CHILD, &scope),
        Some((costs[0].total + costs[1].total) as f64 / 2.0)
    );
    assert!(
        costs[0].poseidon2 > 100 && costs[0].ext_ops > 200,
        "{:?}",
        costs[0]
    );
}
