//! With `bench-metrics`: the prover's phase gauges add up to its total, and keygen and
//! the prover emit their per-AIR and per-proof counters with the right labels.

mod common;

use starkscope_harness::{Harness, Install};
use starkscope_metrics::{names, spans};
use starkscope_stark_backend::codec::proof_to_bytes_with_preset;
use starkscope_stark_backend::{prove, verify};

#[test]
fn phases_sum_to_the_total_and_counters_are_labelled() {
    let cfg = common::config();
    let collected = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .run(|| {
            let _scope =
                tracing::info_span!("segment", group = "backend_test", segment = 3).entered();
            let (pk, inputs) = common::bus_set(&cfg, 10, 14, 6);
            let proof = prove(&cfg, &pk, inputs).unwrap();
            verify(&cfg, &pk.vk, &proof).unwrap();
            (pk, proof)
        })
        .unwrap();
    let (pk, proof) = collected.value;
    let snap = collected.snapshot;
    let scope = [("group", "backend_test"), ("segment", "3")];

    let total = snap
        .gauge_value(names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS, &scope)
        .expect("total prover time gauge");
    let mut sum = 0.0;
    for phase in spans::PROVER_PHASES {
        let name = format!("{phase}_time_ms");
        let v = snap
            .gauge_value(&name, &scope)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(v >= 0.0);
        sum += v;
    }
    assert!(total > 0.0);
    let gap = (total - sum) / total;
    assert!(
        (0.0..0.05).contains(&gap),
        "phases {sum:.3} ms vs total {total:.3} ms ({:.1}% unaccounted)",
        gap * 100.0
    );

    // Per AIR, labelled by name and id (plus the enclosing scope).
    let mut cells = 0;
    for (id, name) in ["fibonacci", "range_send", "range_table"]
        .iter()
        .enumerate()
    {
        let id = id.to_string();
        let l = [
            ("air_name", *name),
            ("air_id", id.as_str()),
            ("group", "backend_test"),
        ];
        let info = pk.air_info(id.parse().unwrap());
        let rows = snap
            .counter_value(names::ROWS, &l)
            .unwrap_or_else(|| panic!("rows of {name}"));
        assert_eq!(rows, proof.heights()[info_index(name)] as u64);
        assert_eq!(
            snap.counter_value(names::MAIN_COLS, &l),
            Some(info.main_width as u64)
        );
        assert_eq!(
            snap.counter_value(names::PREP_COLS, &l),
            Some(info.preprocessed_width() as u64)
        );
        assert_eq!(
            snap.counter_value(names::PERM_COLS, &l),
            Some(info.permutation_width_base() as u64)
        );
        let c = snap.counter_value(names::CELLS, &l).unwrap();
        assert_eq!(
            c,
            rows * (info.main_width + info.preprocessed_width() + info.permutation_width_base())
                as u64
        );
        cells += c;
        // Keygen's counters (same labels; keygen ran inside the same scope here).
        assert_eq!(
            snap.counter_value(names::CONSTRAINT_DEG, &l),
            Some(info.constraint_degree as u64)
        );
        assert_eq!(
            snap.counter_value(names::CONSTRAINTS, &l),
            Some(info.num_constraints as u64)
        );
        assert_eq!(
            snap.counter_value(names::INTERACTIONS, &l),
            Some(info.num_interactions as u64)
        );
    }
    assert_eq!(snap.counter_value(names::TOTAL_CELLS, &scope), Some(cells));
    let size = proof_to_bytes_with_preset(&proof, cfg.preset())
        .unwrap()
        .len() as u64;
    assert_eq!(
        snap.counter_value(names::PROOF_SIZE_BYTES, &scope),
        Some(size)
    );
    assert_eq!(pk.air_info(0).num_interactions, 0);
    assert_eq!(pk.air_info(1).num_interactions, 1);
}

fn info_index(name: &str) -> usize {
    ["fibonacci", "range_send", "range_table"]
        .iter()
        .position(|n| *n == name)
        .unwrap()
}
