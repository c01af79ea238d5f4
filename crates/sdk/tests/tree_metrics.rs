//! Every aggregation node's metrics carry its layer (`group`) and index (`idx`), also when
//! a layer's nodes are proven in parallel on the pool; the numbers match the SDK's report.
//! Release only (proves a tree); its own binary for the tracing callsite cache (see
//! tests/metrics.rs).
#![cfg(feature = "bench-metrics")]

use starkscope_metrics::{names, Group};
use starkscope_sdk::{FriPreset, Sdk, SdkConfig, TreeConfig};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::Val;
use starkscope_vm::{assemble, Program};

const FIB: &str = include_str!("../../../benchmarks/programs/fibonacci.sasm");

fn fib() -> Program {
    let mut p = assemble(FIB, "fibonacci.sasm").expect("assembles");
    p.name = "fibonacci".into();
    p
}

#[cfg_attr(debug_assertions, ignore = "proves a tree: run with --release")]
#[test]
fn every_node_has_its_group_idx_and_numbers() {
    let collected = starkscope_harness::Harness::new()
        .install(starkscope_harness::Install::Local)
        .span_tree(false)
        .run(|| {
            let sdk = Sdk::new(
                SdkConfig::default()
                    .with_segment_size(64)
                    .with_threads(2)
                    .with_fri(FriPreset::Testing),
            )
            .unwrap();
            let pk = sdk.keygen_for_aggregation(&fib()).unwrap();
            let (app, _) = sdk.prove(&pk, &[Val::from_u32(70)]).unwrap();
            let tree = TreeConfig {
                children: 2,
                preset: FriPreset::Testing,
            };
            let report = sdk.aggregate(&pk, &app, tree).unwrap().report;
            (app.segments.len(), report)
        })
        .unwrap();
    let ((segments, report), snap) = (collected.value, collected.snapshot);
    assert_eq!(segments, 6);
    // idx: leaves from 0; internal layers count on without resetting; the root is 0.
    let expected: [(Group, &[(usize, u64)]); 4] = [
        (Group::Leaf, &[(0, 2), (1, 2), (2, 2)]),
        (Group::Internal(0), &[(0, 2), (1, 1)]),
        (Group::Internal(1), &[(2, 2)]),
        (Group::Root, &[(0, 1)]),
    ];
    assert_eq!(report.layers.len(), expected.len());
    for (layer, (group, nodes)) in report.layers.iter().zip(expected) {
        assert_eq!(layer.group, group);
        let g = group.to_string();
        for (node, &(idx, children)) in layer.nodes.iter().zip(nodes) {
            let i = idx.to_string();
            let labels = [("group", g.as_str()), ("idx", i.as_str())];
            assert_eq!(
                snap.counter_value(names::NUM_CHILDREN, &labels),
                Some(children),
                "{labels:?}"
            );
            let total = snap
                .gauge_value(names::TOTAL_PROOF_TIME_MS, &labels)
                .unwrap_or_else(|| panic!("total_proof_time_ms {labels:?}"));
            let reported = (node.witness_gen + node.prove).as_secs_f64() * 1e3;
            assert!(
                (total - reported).abs() < 1e-3,
                "{labels:?}: {total} vs {reported}"
            );
            assert_eq!(
                snap.counter_value(names::PROOF_SIZE_BYTES, &labels),
                Some(node.proof_bytes as u64),
                "{labels:?}"
            );
            for gauge in [names::WITNESS_GEN_TIME_MS, names::PCS_OPENING_TIME_MS] {
                assert!(
                    snap.gauge_value(gauge, &labels).is_some(),
                    "{gauge} {labels:?}"
                );
            }
            assert!(
                snap.counters(names::ROWS).any(|e| e.has_labels(&labels)),
                "rows {labels:?}"
            );
        }
        // Each layer's circuits are built in the layer's scope.
        assert!(
            snap.gauge_value(names::CIRCUIT_BUILD_TIME_MS, &[("group", g.as_str())])
                .is_some(),
            "circuit_build {g}"
        );
    }
    // The app layer keeps its segment labels.
    for s in 0..segments {
        let seg = s.to_string();
        let labels = [("group", "fibonacci"), ("segment", seg.as_str())];
        assert!(snap
            .gauge_value(names::TOTAL_PROOF_TIME_MS, &labels)
            .is_some());
    }
}
