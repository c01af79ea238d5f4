//! The per-layer audit against the snapshots it reads: every per-layer sum is the sum of the
//! snapshot's per-node values, children per node follow each format's convention, the
//! shares add up to the whole run, and a baseline turns the table into a diff.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use starkscope_prof::layers::{ChildrenSource, LayerRow};
use starkscope_prof::{analyse, Run};

/// Per group, the values of `metric` recorded for one node each (labels exactly `group`
/// and `segment` or `idx`), read from the raw JSON rather than through prof.
fn per_node_values(fixture_name: &str, metric: &str) -> BTreeMap<String, Vec<(String, f64)>> {
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture(fixture_name)).unwrap()).unwrap();
    let mut out: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for kind in ["counter", "gauge"] {
        for e in raw[kind].as_array().unwrap() {
            if e["metric"] != metric {
                continue;
            }
            let labels: BTreeMap<&str, &str> = e["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
                .collect();
            let index = labels.get("segment").or(labels.get("idx"));
            let (Some(group), Some(index), 2) = (labels.get("group"), index, labels.len()) else {
                continue;
            };
            out.entry(group.to_string()).or_default().push((
                index.to_string(),
                e["value"].as_str().unwrap().parse().unwrap(),
            ));
        }
    }
    out
}

fn layers_of(fixture_name: &str) -> Vec<LayerRow> {
    analyse(&Run::read(&[fixture(fixture_name)]).unwrap(), None).layers
}

fn layer<'a>(layers: &'a [LayerRow], group: &str) -> &'a LayerRow {
    layers
        .iter()
        .find(|l| l.group.to_string() == group)
        .unwrap_or_else(|| panic!("no layer {group}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

#[test]
fn per_layer_sums_equal_the_snapshots_per_node_values() {
    for name in ["aggregation.json", "openvm_aggregation.json"] {
        let layers = layers_of(name);
        let groups: Vec<String> = layers.iter().map(|l| l.group.to_string()).collect();
        assert_eq!(groups.len(), 5, "{name}: {groups:?}");
        assert_eq!(&groups[1..], ["leaf", "internal.0", "internal.1", "root"]);

        let times = per_node_values(name, "total_proof_time_ms");
        let cells = per_node_values(name, "total_cells");
        let bytes = per_node_values(name, "proof_size_bytes");
        for l in &layers {
            let g = l.group.to_string();
            let t = &times[&g];
            let nodes: BTreeSet<&String> = t.iter().map(|(i, _)| i).collect();
            assert_eq!(l.nodes, nodes.len(), "{name} {g}: nodes");
            let sum: f64 = t.iter().map(|(_, v)| v).sum();
            assert!(close(l.proof_time_ms.unwrap(), sum), "{name} {g}: time");
            let (slowest_index, slowest_ms) = t
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, v)| (i.clone(), *v))
                .unwrap();
            let slowest = l.slowest.as_ref().unwrap();
            assert_eq!(slowest.ms, slowest_ms, "{name} {g}: slowest");
            assert_eq!(slowest.index.as_ref().unwrap().as_str(), slowest_index);
            let cell_sum: f64 = cells[&g].iter().map(|(_, v)| v).sum();
            assert_eq!(l.cells, Some(cell_sum), "{name} {g}: cells");
            let byte_sum = bytes.get(&g).map(|b| b.iter().map(|(_, v)| v).sum::<f64>());
            assert_eq!(l.proof_bytes, byte_sum, "{name} {g}: proof bytes");
        }
    }
}

#[test]
fn shares_of_every_layer_add_up_to_the_whole_run() {
    for name in ["aggregation.json", "openvm_aggregation.json"] {
        let layers = layers_of(name);
        for (what, share) in [
            (
                "time",
                layers
                    .iter()
                    .map(|l| l.shares.proof_time_pct)
                    .sum::<Option<f64>>(),
            ),
            (
                "critical path",
                layers.iter().map(|l| l.shares.critical_path_pct).sum(),
            ),
            ("cells", layers.iter().map(|l| l.shares.cells_pct).sum()),
        ] {
            assert!(close(share.unwrap(), 100.0), "{name} {what}: {share:?}");
        }
    }
}

#[test]
fn peak_memory_is_the_layers_largest_sample() {
    let layers = layers_of("aggregation.json");
    // The app process: the largest of its segments' peaks.
    assert_eq!(layer(&layers, "fib").peak_rss_bytes, Some(402_653_184.0));
    // Aggregation layers proven together in one process: the group-level sample.
    assert_eq!(layer(&layers, "leaf").peak_rss_bytes, Some(905_969_664.0));
    assert_eq!(layer(&layers, "root").peak_rss_bytes, Some(587_202_560.0));
    // OpenVM's snapshots carry no memory samples.
    assert!(layers_of("openvm_aggregation.json")
        .iter()
        .all(|l| l.peak_rss_bytes.is_none()));
}

#[test]
fn children_per_node_come_from_the_nodes_or_from_the_layer_below() {
    // Ours: each node's num_children.
    let ours = layers_of("aggregation.json");
    let internal0 = layer(&ours, "internal.0").children.clone().unwrap();
    assert_eq!(internal0.source, ChildrenSource::PerNode);
    assert_eq!(
        (internal0.total, internal0.nodes, internal0.max),
        (3.0, 2, Some(2.0))
    );
    assert_eq!(internal0.per_node(), 1.5);
    assert!(
        layer(&ours, "fib").children.is_none(),
        "app segments verify no child"
    );

    // OpenVM's: no per-node count; the proofs of the layer below over the nodes, and the
    // group-level num_children as the layer's fan-in limit (none recorded for the root).
    let openvm = layers_of("openvm_aggregation.json");
    for (group, per_node, limit) in [
        ("leaf", 1.0, Some(1.0)),
        ("internal.0", 2.0, Some(3.0)),
        ("internal.1", 2.0, Some(3.0)),
        ("root", 1.0, None),
    ] {
        let l = layer(&openvm, group);
        let c = l.children.as_ref().unwrap();
        assert_eq!(c.source, ChildrenSource::LayerBelow, "{group}");
        assert_eq!(c.per_node(), per_node, "{group}");
        assert_eq!(l.fan_in_limit, limit, "{group}");
    }
}

#[test]
fn a_baseline_turns_the_layer_table_into_a_diff() {
    let mut o = opts(&["openvm_aggregation.json"]);
    o.baselines = vec![fixture("openvm_aggregation_baseline.json")];
    let md = summary_of(&o);
    let row = |group: &str| -> String {
        let start = md.find("## Layers").unwrap();
        md[start..]
            .lines()
            .find(|l| l.starts_with(&format!("| {group} |")))
            .unwrap_or_else(|| panic!("no {group} row in\n{md}"))
            .to_string()
    };
    // Four leaves where the baseline had two: a change with no better direction, gray.
    let leaf = row("leaf");
    assert!(
        leaf.contains("| 4 <span style=\"color: gray\">(+2 [+100.0%])</span> |"),
        "{leaf}"
    );
    // Each leaf is faster (its slowest node too): green; the shares say what was before.
    assert!(
        leaf.contains("1,924 <span style=\"color: green\">(-1,815 [-48.5%])</span> (idx 2)"),
        "{leaf}"
    );
    assert!(leaf.contains("31.0% (was 39.9%)"), "{leaf}");
    // internal.0 doubled its summed time: red.
    assert!(
        row("internal.0").contains("5,142 <span style=\"color: red\">(+2,577 [+100.5%])</span>"),
        "{}",
        row("internal.0")
    );
    // A layer the baseline's tree did not have.
    assert!(
        row("internal.1").contains("| 1 (new) |"),
        "{}",
        row("internal.1")
    );

    // The reverse: a layer only in the baseline keeps its row, with what it was.
    let mut reverse = opts(&["openvm_aggregation_baseline.json"]);
    reverse.baselines = vec![fixture("openvm_aggregation.json")];
    let md = summary_of(&reverse);
    let internal1 = md
        .lines()
        .find(|l| l.starts_with("| internal.1 |"))
        .unwrap();
    assert!(internal1.contains("| - (was 1) |"), "{internal1}");
    assert!(internal1.contains("- (was 2,542)"), "{internal1}");
}

/// A distributed run's values carry the `host` they were measured on: an annotation, so the
/// audit of a run whose every value names a host (a different one per proof) is the audit
/// of the same run without them.
#[test]
fn host_labels_annotate_values_without_changing_the_audit() {
    let mut raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("aggregation.json")).unwrap()).unwrap();
    for kind in ["counter", "gauge", "histogram"] {
        let Some(entries) = raw.get_mut(kind).and_then(|v| v.as_array_mut()) else {
            continue;
        };
        for (i, e) in entries.iter_mut().enumerate() {
            let host = serde_json::json!(["host", format!("node-{}", i % 3)]);
            match e["labels"].as_array_mut() {
                Some(labels) => labels.push(host),
                None => e["labels"] = serde_json::json!([host]),
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let hosted = dir.path().join("hosted.json");
    std::fs::write(&hosted, serde_json::to_vec(&raw).unwrap()).unwrap();
    let with_hosts = analyse(&Run::read(&[hosted]).unwrap(), None).layers;
    assert_eq!(with_hosts, layers_of("aggregation.json"));
}
