//! The per-layer audit: what each layer of the proof tree costs and how big it is.
//!
//! A layer is one proof-producing group: an app (its segment proofs), `leaf`, `internal.0`
//! .. `internal.h`, `root`. Its *nodes* are the group's proofs: each `segment` (app) or
//! `idx` (aggregation) value that carries a per-proof sample. Values recorded for the group
//! as a whole (no `segment`/`idx`: a layer's peak memory when its nodes are proven together,
//! OpenVM's `num_children` fan-in, a circuit's build time) describe the layer but are no
//! node. docs/prof.md ("The per-layer audit") defines every column.

use std::collections::{BTreeMap, BTreeSet};

use starkscope_metrics::{names, Group};

use crate::analysis::{proof_time, ProofMetrics};
use crate::model::{GroupKey, NaturalKey, ProofId};

/// How many child proofs the nodes of a layer verify.
#[derive(Clone, Debug, PartialEq)]
pub struct Children {
    /// Child proofs verified by the nodes counted in `nodes`, together.
    pub total: f64,
    /// The nodes `total` is over.
    pub nodes: usize,
    /// The most children one node verifies; `None` when only the total is known.
    pub max: Option<f64>,
    pub source: ChildrenSource,
}

/// Where a layer's child count comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildrenSource {
    /// Each node's own `num_children`.
    PerNode,
    /// The nodes of the layer below: every proof of a layer is verified by exactly one node
    /// of the next (used when nodes record no `num_children`).
    LayerBelow,
}

impl Children {
    /// The mean number of children per node.
    pub fn per_node(&self) -> f64 {
        self.total / self.nodes as f64
    }
}

/// The slowest node of a layer: with the nodes of a layer proven in parallel, the layer's
/// part of the critical path.
#[derive(Clone, Debug, PartialEq)]
pub struct SlowestNode {
    /// Its `segment`/`idx`; `None` for a group's single unindexed proof.
    pub index: Option<NaturalKey>,
    pub ms: f64,
}

/// Each layer's part of the whole run, in percent; `None` when the run's total is zero or
/// the layer has no value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shares {
    /// Of the total proof time (the sum of every layer's summed proof time).
    pub proof_time_pct: Option<f64>,
    /// Of the critical path (the sum over layers of the slowest node).
    pub critical_path_pct: Option<f64>,
    /// Of the cells of every layer.
    pub cells_pct: Option<f64>,
}

/// What one layer costs.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    pub group: GroupKey,
    /// Proofs of the layer (see the module docs).
    pub nodes: usize,
    pub children: Option<Children>,
    /// The layer's configured fan-in, when recorded: a `num_children` of the group as a
    /// whole (OpenVM's convention: the most children a node of the layer may verify).
    pub fan_in_limit: Option<f64>,
    /// Proof times of the nodes that have one, summed.
    pub proof_time_ms: Option<f64>,
    pub slowest: Option<SlowestNode>,
    /// Committed cells of the nodes summed: each node's `total_cells`, else the sum of its
    /// per-AIR `cells`.
    pub cells: Option<f64>,
    /// `proof_size_bytes` of the nodes summed.
    pub proof_bytes: Option<f64>,
    /// The largest `peak_rss_bytes` without a `phase` label recorded for the layer: for the
    /// group as a whole or for one of its nodes.
    pub peak_rss_bytes: Option<f64>,
    pub shares: Shares,
}

impl LayerRow {
    /// The slowest node's time: the layer's part of the critical path (0 without times).
    pub fn critical_path_ms(&self) -> f64 {
        self.slowest.as_ref().map_or(0.0, |s| s.ms)
    }
}

/// The layers of a run, app groups first, then leaf, internal layers by height, root.
///
/// `by_proof` holds the per-proof (scope-level) samples of every proof; `per_air_cells` the
/// sum of the per-AIR `cells` of each proof.
pub fn audit(by_proof: &ProofMetrics, per_air_cells: &BTreeMap<ProofId, f64>) -> Vec<LayerRow> {
    // Proofs in index order (ProofId orders by group, then index), each once.
    let mut by_group: BTreeMap<&GroupKey, BTreeSet<&ProofId>> = BTreeMap::new();
    for id in by_proof.keys().chain(per_air_cells.keys()) {
        if id.group.is_proof() {
            by_group.entry(&id.group).or_default().insert(id);
        }
    }
    let mut rows: Vec<LayerRow> = by_group
        .into_iter()
        .filter_map(|(group, ids)| {
            let ids: Vec<&ProofId> = ids.into_iter().collect();
            layer(group, &ids, by_proof, per_air_cells)
        })
        .collect();
    derive_children_from_layer_below(&mut rows);
    fill_shares(&mut rows);
    rows
}

fn layer(
    group: &GroupKey,
    ids: &[&ProofId],
    by_proof: &ProofMetrics,
    per_air_cells: &BTreeMap<ProofId, f64>,
) -> Option<LayerRow> {
    let metric = |id: &ProofId, name: &str| by_proof.get(id).and_then(|m| m.get(name)).copied();
    // A group's unindexed values are a node only when they are a proof's time (a run
    // measured without segment labels); otherwise they describe the layer as a whole.
    let is_node =
        |id: &ProofId| id.index.is_some() || by_proof.get(id).and_then(|m| proof_time(m)).is_some();
    let nodes: Vec<&ProofId> = ids.iter().copied().filter(|id| is_node(id)).collect();
    if nodes.is_empty() {
        return None;
    }
    let sum = |values: Vec<f64>| (!values.is_empty()).then(|| values.iter().sum::<f64>());

    let times: Vec<(&ProofId, f64)> = nodes
        .iter()
        .filter_map(|id| Some((*id, proof_time(by_proof.get(*id)?)?)))
        .collect();
    // The first of equally slow nodes, in index order.
    let slowest = times
        .iter()
        .fold(None::<&(&ProofId, f64)>, |best, t| match best {
            Some(b) if b.1 >= t.1 => Some(b),
            _ => Some(t),
        })
        .map(|(id, ms)| SlowestNode {
            index: id.index.clone(),
            ms: *ms,
        });
    let cells = sum(nodes
        .iter()
        .filter_map(|id| metric(id, names::TOTAL_CELLS).or_else(|| per_air_cells.get(*id).copied()))
        .collect());
    let recorded_children: Vec<f64> = nodes
        .iter()
        .filter_map(|id| metric(id, names::NUM_CHILDREN))
        .collect();
    let fan_in_limit = ids
        .iter()
        .find(|id| id.index.is_none())
        .and_then(|id| metric(id, names::NUM_CHILDREN));
    let children = (!recorded_children.is_empty()).then(|| Children {
        total: recorded_children.iter().sum(),
        nodes: recorded_children.len(),
        max: Some(recorded_children.iter().copied().fold(0.0, f64::max)),
        source: ChildrenSource::PerNode,
    });
    let peak_rss_bytes = ids
        .iter()
        .filter_map(|id| metric(id, names::PEAK_RSS_BYTES))
        .reduce(f64::max);
    Some(LayerRow {
        group: group.clone(),
        nodes: nodes.len(),
        // Without per-node counts, filled in from the layer below once every layer is known.
        children,
        fan_in_limit,
        proof_time_ms: sum(times.iter().map(|(_, t)| *t).collect()),
        slowest,
        cells,
        proof_bytes: sum(nodes
            .iter()
            .filter_map(|id| metric(id, names::PROOF_SIZE_BYTES))
            .collect()),
        peak_rss_bytes,
        shares: Shares::default(),
    })
}

/// The layer whose proofs the nodes of `group` verify: the apps' segments for the leaf
/// layer, leaf for `internal.0`, `internal.{h-1}` for `internal.h`, and for the root the
/// highest internal layer (or the leaf layer when there is none).
fn layer_below(group: &Group, rows: &[LayerRow]) -> Option<usize> {
    let position = |g: &Group| rows.iter().position(|r| r.group.0.as_ref() == Some(g));
    match group {
        Group::Leaf => None, // the apps: summed by the caller
        Group::Internal(0) => position(&Group::Leaf),
        Group::Internal(h) => position(&Group::Internal(h - 1)),
        Group::Root => rows
            .iter()
            .rposition(|r| matches!(r.group.0, Some(Group::Internal(_))))
            .or_else(|| position(&Group::Leaf)),
        Group::App(_) | Group::Keygen => None,
    }
}

fn derive_children_from_layer_below(rows: &mut [LayerRow]) {
    let app_nodes: usize = rows
        .iter()
        .filter(|r| r.group.is_app())
        .map(|r| r.nodes)
        .sum();
    for i in 0..rows.len() {
        let Some(group) = rows[i].group.0.clone().filter(Group::is_aggregation) else {
            continue;
        };
        if rows[i].children.is_some() {
            continue;
        }
        let below = match group {
            Group::Leaf => (app_nodes > 0).then_some(app_nodes),
            _ => layer_below(&group, rows).map(|j| rows[j].nodes),
        };
        rows[i].children = below.map(|below| Children {
            total: below as f64,
            nodes: rows[i].nodes,
            max: None,
            source: ChildrenSource::LayerBelow,
        });
    }
}

fn fill_shares(rows: &mut [LayerRow]) {
    let total_time: f64 = rows.iter().filter_map(|r| r.proof_time_ms).sum();
    let critical_path: f64 = rows.iter().map(LayerRow::critical_path_ms).sum();
    let total_cells: f64 = rows.iter().filter_map(|r| r.cells).sum();
    let pct =
        |part: Option<f64>, whole: f64| part.filter(|_| whole > 0.0).map(|p| p / whole * 100.0);
    for r in rows.iter_mut() {
        r.shares = Shares {
            proof_time_pct: pct(r.proof_time_ms, total_time),
            critical_path_pct: pct(r.slowest.as_ref().map(|s| s.ms), critical_path),
            cells_pct: pct(r.cells, total_cells),
        };
    }
}
