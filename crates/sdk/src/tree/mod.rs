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

use starkscope_recursion::compile::NUM_TABLES;
use starkscope_recursion::verifier::ChildSpec;
use starkscope_stark_backend::{FriPreset, Proof, StarkConfig, Val};
use starkscope_vm::prove::{segment_height_ranges, Digest, VmProvingKey};
use starkscope_vm::Program;

pub use node::{Children, NodeCircuit, NodeError, RootCircuit};
pub use statement::Statement;

/// What a node circuit verifies: `Leaf(c)` c segment proofs, `Internal(ids)` one proof of
/// each circuit `ids[i]` (indices into [`Circuits`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    Leaf(usize),
    Internal(Vec<usize>),
}

/// The node circuits of one program's trees, built on first use.
pub struct Circuits {
    segment: ChildSpec,
    node_config: StarkConfig,
    shapes: HashMap<Shape, usize>,
    circuits: Vec<NodeCircuit>,
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
        Ok(Circuits {
            segment,
            node_config: StarkConfig::new(node_preset),
            shapes: HashMap::new(),
            circuits: Vec::new(),
        })
    }

    /// The circuit of `shape`, built if new; its index.
    pub fn get(&mut self, shape: Shape) -> Result<usize, NodeError> {
        if let Some(&id) = self.shapes.get(&shape) {
            return Ok(id);
        }
        let children = match &shape {
            Shape::Leaf(c) => Children::Segments(vec![self.segment.clone(); *c]),
            Shape::Internal(ids) => Children::Nodes(
                ids.iter()
                    .map(|&id| self.spec_of(id))
                    .collect::<Result<_, _>>()?,
            ),
        };
        let circuit = NodeCircuit::new(children, self.node_config.clone())?;
        let id = self.circuits.len();
        self.circuits.push(circuit);
        self.shapes.insert(shape, id);
        Ok(id)
    }

    pub fn circuit(&self, id: usize) -> &NodeCircuit {
        &self.circuits[id]
    }

    /// The spec a parent uses for a child proof of circuit `id`: its key and its tables'
    /// heights, all constants.
    pub fn spec_of(&self, id: usize) -> Result<ChildSpec, NodeError> {
        let c = &self.circuits[id].circuit;
        let heights: Vec<usize> = c.program.heights[..NUM_TABLES]
            .iter()
            .map(|h| h.trailing_zeros() as usize)
            .collect();
        ChildSpec::new(self.node_config.clone(), c.vk().clone(), heights)
            .map_err(|source| NodeError::Child { index: 0, source })
    }
}

/// One proven node: which circuit, its proof, its statement.
pub struct ProvenNode {
    pub circuit: usize,
    pub proof: Proof,
    pub statement: Statement<Val>,
}

/// Proves the tree over `segments` (in order) with `k` children per node; returns every
/// layer's nodes (leaves first) and the root's proof and public values.
pub fn prove_tree(
    circuits: &mut Circuits,
    program_commitment: Digest,
    initial_root: Digest,
    segments: &[Proof],
    k: usize,
) -> Result<(Vec<Vec<ProvenNode>>, RootProof), NodeError> {
    assert!(k >= 1, "a node has at least one child");
    let mut layers: Vec<Vec<ProvenNode>> = Vec::new();
    let mut leaves = Vec::new();
    for chunk in segments.chunks(k) {
        let id = circuits.get(Shape::Leaf(chunk.len()))?;
        let refs: Vec<&Proof> = chunk.iter().collect();
        let (proof, statement) = circuits.circuit(id).prove(&refs)?;
        leaves.push(ProvenNode {
            circuit: id,
            proof,
            statement,
        });
    }
    layers.push(leaves);
    while layers.last().expect("a layer").len() > 1 {
        let below = layers.last().expect("a layer");
        let mut nodes = Vec::new();
        for chunk in below.chunks(k) {
            let id = circuits.get(Shape::Internal(chunk.iter().map(|n| n.circuit).collect()))?;
            let refs: Vec<&Proof> = chunk.iter().map(|n| &n.proof).collect();
            let (proof, statement) = circuits.circuit(id).prove(&refs)?;
            nodes.push(ProvenNode {
                circuit: id,
                proof,
                statement,
            });
        }
        layers.push(nodes);
    }
    let top = &layers.last().expect("a layer")[0];
    let root = RootCircuit::new(
        circuits.spec_of(top.circuit)?,
        program_commitment,
        initial_root,
        circuits.node_config.clone(),
    )?;
    let (proof, public) = root.prove(&initial_root, &top.proof)?;
    Ok((
        layers,
        RootProof {
            root,
            proof,
            public,
        },
    ))
}

/// The root's circuit, proof and public values ([`node::root_pv`]).
pub struct RootProof {
    pub root: RootCircuit,
    pub proof: Proof,
    pub public: Vec<Val>,
}
