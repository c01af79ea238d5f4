//! The aggregation tree: leaf nodes verify `K` segment proofs each, internal layers verify
//! `K` proofs of the layer below until one is left, the root verifies it and states the
//! whole run (docs/aggregation.md).
//!
//! A layer whose proof count is not a multiple of `K` ends with a node of fewer children:
//! a circuit of its own, never a "skip this child" flag. Every circuit has its children's
//! keys as constants, so a circuit is identified by what it verifies ([`Shape`]) and built
//! once per shape ([`Circuits`]).

pub mod node;
pub mod statement;

use std::collections::HashMap;

use starkscope_metrics::Group;
use starkscope_recursion::compile::NUM_TABLES;
use starkscope_recursion::verifier::ChildSpec;
use starkscope_stark_backend::{FriPreset, StarkConfig};
use starkscope_vm::prove::{segment_height_ranges, Digest, VmProvingKey};
use starkscope_vm::Program;

pub use node::{Children, NodeCircuit, NodeError, NodeProof, RootCircuit, RootNodeProof};
pub use statement::Statement;

/// What a node circuit verifies: `Leaf(c)` c segment proofs, `Internal(children)` one
/// proof of each child circuit, in order. A shape determines its circuit and key (given the
/// program's segment key, segment size and the node preset), so it names them in files.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    Leaf(usize),
    Internal(Vec<Shape>),
}

impl Shape {
    /// Segments under a node of this shape.
    pub fn segments(&self) -> usize {
        match self {
            Shape::Leaf(c) => *c,
            Shape::Internal(children) => children.iter().map(Shape::segments).sum(),
        }
    }

    /// The node's layer: 0 for a leaf, one above its tallest child otherwise (internal
    /// nodes of height `h` are the layer `internal.{h-1}`).
    pub fn height(&self) -> usize {
        match self {
            Shape::Leaf(_) => 0,
            Shape::Internal(children) => 1 + children.iter().map(Shape::height).max().unwrap_or(0),
        }
    }

    /// Every node has at least one child.
    pub fn is_well_formed(&self) -> bool {
        match self {
            Shape::Leaf(c) => *c >= 1,
            Shape::Internal(children) => {
                !children.is_empty() && children.iter().all(Shape::is_well_formed)
            }
        }
    }

    /// Proofs it verifies.
    pub fn num_children(&self) -> usize {
        match self {
            Shape::Leaf(c) => *c,
            Shape::Internal(children) => children.len(),
        }
    }
}

/// The tree over `segments` segment proofs with `k` children per node: each layer's node
/// shapes, leaves first; the last layer has one node. Consecutive runs of `k` (the last
/// run of a layer may be shorter).
pub fn plan(segments: usize, k: usize) -> Vec<Vec<Shape>> {
    assert!(
        segments >= 1 && k >= 2,
        "{segments} segments, {k} children per node"
    );
    let leaves: Vec<Shape> = (0..segments.div_ceil(k))
        .map(|i| Shape::Leaf(k.min(segments - i * k)))
        .collect();
    let mut layers = vec![leaves];
    while layers.last().expect("a layer").len() > 1 {
        let below = layers.last().expect("a layer");
        let next = below
            .chunks(k)
            .map(|c| Shape::Internal(c.to_vec()))
            .collect();
        layers.push(next);
    }
    layers
}

/// The group of the tree's layer `height` (0: the leaves): its nodes' `group` label.
pub fn layer_group(height: usize) -> Group {
    match height {
        0 => Group::Leaf,
        h => Group::Internal(h as u32 - 1),
    }
}

/// The `idx` of each layer's first node, for layers of these sizes (leaves first): leaves
/// from 0, internal layers counting on across layers, as the metrics and files number them.
pub fn first_indices(layer_sizes: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut internal = 0;
    layer_sizes
        .into_iter()
        .enumerate()
        .map(|(height, size)| {
            if height == 0 {
                return 0;
            }
            let first = internal;
            internal += size;
            first
        })
        .collect()
}

/// The file segment `index`'s proof is named by in a tree's directory (`prove --aggregate
/// --nodes-dir`, `starkscope plan`).
pub fn segment_file_name(index: usize) -> String {
    format!("segment-{index}.bin")
}

/// The file the proof of node `idx` of layer `height` is named by in a tree's directory.
pub fn node_file_name(height: usize, idx: usize) -> String {
    match height {
        0 => format!("leaf-{idx}.bin"),
        h => format!("internal.{}-{idx}.bin", h - 1),
    }
}

/// The top node's shape of the tree [`plan`] makes: what the root circuit verifies.
pub fn top_shape(segments: usize, k: usize) -> Shape {
    plan(segments, k)
        .pop()
        .and_then(|mut layer| layer.pop())
        .expect("a plan ends with one node")
}

/// The node circuits of one program's trees, built on first use, one per shape.
pub struct Circuits {
    segment: ChildSpec,
    node_config: StarkConfig,
    /// The segment key's preprocessed commitment and the program's initial memory root:
    /// what the root states and starts from.
    program: Digest,
    initial_root: Digest,
    segment_size: u64,
    built: HashMap<Shape, NodeCircuit>,
    roots: HashMap<Shape, RootCircuit>,
}

impl Circuits {
    /// Circuits for trees over segment proofs made with `pk` (its layout must be
    /// `HeightLayout::FixedTallest`) at `segment_size`; nodes proven under `node_preset`.
    pub fn new(
        program: &Program,
        pk: &VmProvingKey,
        segment_size: u64,
        node_preset: FriPreset,
    ) -> Result<Self, NodeError> {
        let segment = ChildSpec::with_ranges(
            pk.config.clone(),
            pk.pk.vk.clone(),
            segment_height_ranges(program, segment_size),
        )
        .map_err(|source| NodeError::Child { index: 0, source })?;
        let program_commitment = pk
            .pk
            .vk
            .data
            .preprocessed_commitment
            .as_ref()
            .map(|c| c.roots()[0])
            .expect("a VM key commits its program");
        Ok(Circuits {
            segment,
            node_config: StarkConfig::new(node_preset),
            program: program_commitment,
            initial_root: pk.initial_root,
            segment_size,
            built: HashMap::new(),
            roots: HashMap::new(),
        })
    }

    /// The program's commitment the root states: the segment key's preprocessed
    /// commitment (it commits the program's instructions and the range table).
    pub fn program_commitment(&self) -> Digest {
        self.program
    }

    /// The root circuit over a top node of `top`'s shape, built (with everything under it)
    /// if new.
    pub fn root(&mut self, top: &Shape) -> Result<&RootCircuit, NodeError> {
        if !self.roots.contains_key(top) {
            self.build(top)?;
            let root = RootCircuit::new(
                self.spec_of(top)?,
                self.program,
                self.initial_root,
                self.node_config.clone(),
            )?;
            self.roots.insert(top.clone(), root);
        }
        Ok(&self.roots[top])
    }

    /// The segment size the leaf circuits take segment proofs of.
    pub fn segment_size(&self) -> u64 {
        self.segment_size
    }

    /// The program's initial memory root: the root circuit's constant start.
    pub fn initial_root(&self) -> Digest {
        self.initial_root
    }

    pub fn node_config(&self) -> &StarkConfig {
        &self.node_config
    }

    /// Builds the circuit of `shape` (and of every shape under it) if new.
    pub fn build(&mut self, shape: &Shape) -> Result<(), NodeError> {
        if self.built.contains_key(shape) {
            return Ok(());
        }
        let children = match shape {
            Shape::Leaf(c) => Children::Segments(vec![self.segment.clone(); *c]),
            Shape::Internal(shapes) => {
                let mut specs = Vec::with_capacity(shapes.len());
                for child in shapes {
                    self.build(child)?;
                    specs.push(self.spec_of(child)?);
                }
                Children::Nodes(specs)
            }
        };
        let circuit = NodeCircuit::new(children, self.node_config.clone())?;
        self.built.insert(shape.clone(), circuit);
        Ok(())
    }

    /// The circuit of a built shape.
    pub fn circuit(&self, shape: &Shape) -> &NodeCircuit {
        self.built
            .get(shape)
            .unwrap_or_else(|| panic!("circuit of {shape:?} not built"))
    }

    /// The spec a parent uses for a child proof of a built `shape`: its key and its tables'
    /// heights, all constants.
    pub fn spec_of(&self, shape: &Shape) -> Result<ChildSpec, NodeError> {
        let c = &self.circuit(shape).circuit;
        let heights: Vec<usize> = c.program.heights[..NUM_TABLES]
            .iter()
            .map(|h| h.trailing_zeros() as usize)
            .collect();
        ChildSpec::new(self.node_config.clone(), c.vk().clone(), heights)
            .map_err(|source| NodeError::Child { index: 0, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_groups_k_consecutive_proofs_until_one_is_left() {
        let shapes = plan(7, 3);
        let leaves = vec![Shape::Leaf(3), Shape::Leaf(3), Shape::Leaf(1)];
        assert_eq!(shapes, vec![leaves.clone(), vec![Shape::Internal(leaves)]]);
        assert_eq!(plan(1, 2), vec![vec![Shape::Leaf(1)]]);
        let sizes: Vec<usize> = plan(6, 2).iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 2, 1]);
        for (n, k) in [(1, 2), (5, 2), (9, 3), (64, 2), (100, 7)] {
            let layers = plan(n, k);
            assert_eq!(layers.last().unwrap().len(), 1);
            assert_eq!(
                layers.last().unwrap()[0].segments(),
                n,
                "{n} segments, k = {k}"
            );
            for layer in &layers {
                assert!(layer.iter().all(|s| (1..=k).contains(&s.num_children())));
            }
        }
    }
}
