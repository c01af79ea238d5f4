//! Aggregating an app proof into one root proof (docs/aggregation.md): the tree's layers
//! one after another, the nodes of a layer in parallel on the SDK's pool, each node in
//! `info_span!("node", group = leaf | internal.{h} | root, idx = i)` so that its metrics are
//! scoped without passing labels by hand.

use std::time::{Duration, Instant};

use rayon::prelude::*;
use starkscope_metrics::{spans, Group, Scope};
use starkscope_stark_backend::{FriPreset, Proof, Val};
use starkscope_vm::prove::Digest;
use tracing::info_span;

use crate::error::{InvalidProof, SdkError};
use crate::keys::{AppProvingKey, ProgramHash, TreeVerifyingKey};
use crate::proof::AppProof;
use crate::tree::{self, node::root_pv, Circuits, NodeError, Shape};

/// How the tree is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeConfig {
    /// Children per node (`K`), at least 2.
    pub children: usize,
    /// FRI preset of every node proof (the segment proofs keep the SDK's).
    pub preset: FriPreset,
}

impl Default for TreeConfig {
    fn default() -> Self {
        TreeConfig {
            children: 2,
            preset: FriPreset::Recursion,
        }
    }
}

/// The root of an aggregated run: its proof, what it states, and what is needed to
/// rebuild its key (the tree's shape; the circuits follow from it and the program).
#[derive(Clone, Debug)]
pub struct RootProof {
    pub program_name: String,
    pub program_hash: ProgramHash,
    /// Preset of the segment proofs under the tree.
    pub app_preset: FriPreset,
    /// Preset of every node proof, the root's too.
    pub node_preset: FriPreset,
    pub segment_size: u64,
    /// The shape of the root's child (the top node).
    pub top: Shape,
    pub proof: Proof,
    /// Claimed exit code and outputs, checked against the root's public values.
    pub exit_code: u32,
    pub outputs: Vec<Val>,
}

/// One segment proof of a run, on its own: a leaf's child as a unit of work reads it.
#[derive(Clone, Debug)]
pub struct SegmentFile {
    pub program_name: String,
    pub program_hash: ProgramHash,
    pub preset: FriPreset,
    pub segment_size: u64,
    pub proof: Proof,
}

/// One aggregation node's proof (a leaf or an internal node) and what its circuit is.
#[derive(Clone, Debug)]
pub struct NodeFile {
    pub program_name: String,
    pub program_hash: ProgramHash,
    pub app_preset: FriPreset,
    pub node_preset: FriPreset,
    pub segment_size: u64,
    pub shape: Shape,
    pub proof: Proof,
}

impl NodeFile {
    /// Its statement (public values; checked by whoever verifies it).
    pub fn statement(&self) -> Option<tree::Statement<Val>> {
        let v = &self
            .proof
            .airs
            .get(starkscope_recursion::compile::TableId::Public as usize)?
            .public_values;
        (v.len() == tree::statement::pv::COUNT).then(|| tree::Statement::from_values(v))
    }
}

/// A child of an aggregation node.
#[derive(Clone, Debug)]
pub enum TreeChild {
    Segment(SegmentFile),
    Node(NodeFile),
}

/// The result of aggregating a run: the root, every node (leaves first), what each layer
/// cost, and the circuits that proved them (to verify the root without building them again:
/// [`Sdk::verify_root_with`](crate::Sdk::verify_root_with)).
pub struct Aggregated {
    pub root: RootProof,
    pub layers: Vec<Vec<NodeFile>>,
    pub report: AggregationReport,
    pub circuits: Circuits,
}

/// One layer's numbers.
#[derive(Clone, Debug)]
pub struct LayerReport {
    pub group: Group,
    /// Per node: children verified, witness generation + proving time, proof bytes.
    pub nodes: Vec<NodeReport>,
    /// Building the layer's new circuits (program and keys), once per shape.
    pub circuit_build: Duration,
    /// Wall time of the layer (circuit builds and the nodes, run in parallel).
    pub wall: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct NodeReport {
    pub children: usize,
    pub witness_gen: Duration,
    pub prove: Duration,
    pub proof_bytes: usize,
}

/// Every layer of the tree, leaves first, then the root.
#[derive(Clone, Debug, Default)]
pub struct AggregationReport {
    pub layers: Vec<LayerReport>,
}

/// The program's commitment the root states: the segment key's preprocessed commitment
/// (it commits the program's instructions and the range table).
pub fn program_commitment(pk: &AppProvingKey) -> Digest {
    let vk = &pk.vm.pk.vk;
    let c = vk
        .data
        .preprocessed_commitment
        .as_ref()
        .expect("a VM key commits its program");
    let roots = c.roots();
    debug_assert_eq!(roots.len(), 1, "app presets have cap height 0");
    roots[0]
}

impl crate::Sdk {
    /// Aggregates `proof` (segment proofs made with a key from
    /// [`Sdk::keygen_for_aggregation`](crate::Sdk::keygen_for_aggregation)) into one root proof.
    pub fn aggregate(
        &self,
        pk: &AppProvingKey,
        proof: &AppProof,
        tree_config: TreeConfig,
    ) -> Result<Aggregated, SdkError> {
        check_tree_config(tree_config)?;
        if proof.segments.is_empty() {
            return Err(SdkError::Config("no segment proofs to aggregate".into()));
        }
        let mut circuits = Circuits::new(
            &pk.program,
            &pk.vm,
            self.config().segment_size,
            tree_config.preset,
        )?;
        let mut report = AggregationReport::default();
        let mut layers: Vec<Vec<NodeFile>> = Vec::new();
        let mut below: Vec<Proof> = proof.segments.clone();
        let plan = tree::plan(proof.segments.len(), tree_config.children);
        let first_indices = tree::first_indices(plan.iter().map(Vec::len));
        let mut top = None;
        for (height, shapes) in plan.into_iter().enumerate() {
            let group = tree::layer_group(height);
            let started = Instant::now();
            // The layer's scope (group only), open while its circuits are built and its
            // nodes proven: its circuits' metrics and, with resource sampling, the layer's
            // peak RSS and CPU time (its nodes share the process).
            let layer_span = info_span!(spans::LAYER, group = %group);
            let _layer = layer_span.enter();
            let t = Instant::now();
            for shape in &shapes {
                circuits.build(shape)?;
            }
            let built = t.elapsed();
            let first_idx = first_indices[height];
            let mut starts = Vec::with_capacity(shapes.len());
            let mut next = 0;
            for shape in &shapes {
                starts.push(next);
                next += shape.num_children();
            }
            let circuits_ref = &circuits;
            let below_ref = &below;
            // Each node reports from whichever pool thread runs it: the caller's scope
            // (dispatcher and recorder) is entered there, then the node's own span. At most
            // `provers` nodes at once, as for segments (the memory budget).
            let scope = Scope::capture();
            let batch = self.parallelism().provers.max(1);
            let mut proven: Vec<Result<(Proof, NodeReport), NodeError>> = Vec::new();
            for (b, chunk) in shapes.chunks(batch).enumerate() {
                let first = b * batch;
                proven.extend(self.on_pool(|| {
                    chunk
                        .par_iter()
                        .zip(&starts[first..first + chunk.len()])
                        .enumerate()
                        .map(|(i, (shape, &start))| {
                            let idx = first_idx + first + i;
                            scope.in_scope(|| {
                                info_span!(spans::NODE, group = %group, idx = idx).in_scope(|| {
                                    let children: Vec<&Proof> = below_ref
                                        [start..start + shape.num_children()]
                                        .iter()
                                        .collect();
                                    prove_node(circuits_ref, shape, &children)
                                })
                            })
                        })
                        .collect::<Vec<_>>()
                }));
            }
            let mut nodes = Vec::with_capacity(proven.len());
            let mut proofs = Vec::with_capacity(proven.len());
            for r in proven {
                let (p, n) = r?;
                proofs.push(p);
                nodes.push(n);
            }
            report.layers.push(LayerReport {
                group,
                nodes,
                circuit_build: built,
                wall: started.elapsed(),
            });
            if shapes.len() == 1 {
                top = Some(shapes[0].clone());
            }
            layers.push(
                shapes
                    .iter()
                    .zip(&proofs)
                    .map(|(shape, p)| NodeFile {
                        program_name: proof.program_name.clone(),
                        program_hash: proof.program_hash,
                        app_preset: proof.preset,
                        node_preset: tree_config.preset,
                        segment_size: self.config().segment_size,
                        shape: shape.clone(),
                        proof: p.clone(),
                    })
                    .collect(),
            );
            below = proofs;
        }
        let top = top.expect("the plan ends with one node");

        let started = Instant::now();
        let root_span = info_span!(spans::NODE, group = %Group::Root, idx = 0);
        let (root_proof, node, built) = root_span.in_scope(|| -> Result<_, NodeError> {
            let t = Instant::now();
            let root = circuits.root(&top)?;
            let built = t.elapsed();
            // On the pool the span context does not travel: the root's span is entered
            // again there (a child of the one this closure runs in).
            let parent = tracing::Span::current();
            let p = self.on_pool(|| {
                info_span!(parent: &parent, spans::NODE, group = %Group::Root, idx = 0)
                    .in_scope(|| root.prove(&pk.vm.initial_root, &below[0]))
            })?;
            let node = NodeReport {
                children: 1,
                witness_gen: p.witness_gen,
                prove: p.prove,
                proof_bytes: proof_len(&p.proof),
            };
            Ok((p.proof, node, built))
        })?;
        report.layers.push(LayerReport {
            group: Group::Root,
            nodes: vec![node],
            circuit_build: built,
            wall: started.elapsed(),
        });
        Ok(Aggregated {
            root: RootProof {
                program_name: proof.program_name.clone(),
                program_hash: proof.program_hash,
                app_preset: proof.preset,
                node_preset: tree_config.preset,
                segment_size: self.config().segment_size,
                top,
                proof: root_proof,
                exit_code: proof.exit_code,
                outputs: proof.outputs.clone(),
            },
            layers,
            report,
            circuits,
        })
    }

    /// One aggregation node as a unit of work: proves that `children` (all segment proofs,
    /// making a leaf, or all node proofs, making an internal node) verify and form one run.
    /// `circuits` is built as needed (for an internal node, its children's circuits too).
    /// The same proving code as [`Sdk::aggregate`]'s nodes.
    pub fn aggregate_node(
        &self,
        pk: &AppProvingKey,
        circuits: &mut Circuits,
        children: &[TreeChild],
    ) -> Result<(NodeFile, NodeReport), SdkError> {
        let first = children
            .first()
            .ok_or_else(|| SdkError::Config("an aggregation node needs children".into()))?;
        let (app_preset, segment_size) = match first {
            TreeChild::Segment(s) => (s.preset, s.segment_size),
            TreeChild::Node(n) => (n.app_preset, n.segment_size),
        };
        let node_preset = circuits.node_config().preset();
        let mut proofs = Vec::with_capacity(children.len());
        let mut shapes = Vec::new();
        for (i, child) in children.iter().enumerate() {
            let (name, hash, preset, size) = match child {
                TreeChild::Segment(s) => {
                    (&s.program_name, s.program_hash, s.preset, s.segment_size)
                }
                TreeChild::Node(n) => {
                    if n.node_preset != node_preset {
                        return Err(NodeError::Children(format!(
                            "child {i} is a node proven with FRI preset `{}`, this node proves with `{}`",
                            n.node_preset.name(),
                            node_preset.name()
                        ))
                        .into());
                    }
                    shapes.push(n.shape.clone());
                    (
                        &n.program_name,
                        n.program_hash,
                        n.app_preset,
                        n.segment_size,
                    )
                }
            };
            InvalidProof::same_program((name, hash), (&pk.program.name, pk.hash))?;
            if preset != app_preset || size != segment_size || preset != pk.preset() {
                return Err(NodeError::Children(format!(
                    "child {i}: segments proven with FRI preset `{}` at segment size {size}, \
                     the first child's are `{}` at {segment_size} and the key's `{}`",
                    preset.name(),
                    app_preset.name(),
                    pk.preset().name()
                ))
                .into());
            }
            proofs.push(match child {
                TreeChild::Segment(s) => &s.proof,
                TreeChild::Node(n) => &n.proof,
            });
        }
        let shape = match (shapes.len(), children.len()) {
            (0, n) => Shape::Leaf(n),
            (k, n) if k == n => Shape::Internal(shapes),
            _ => {
                return Err(NodeError::Children(
                    "a node's children are all segment proofs (a leaf) or all node proofs".into(),
                )
                .into())
            }
        };
        circuits.build(&shape)?;
        let (proof, report) = self.on_pool(|| prove_node(circuits, &shape, &proofs))?;
        Ok((
            NodeFile {
                program_name: pk.program.name.clone(),
                program_hash: pk.hash,
                app_preset,
                node_preset,
                segment_size,
                shape,
                proof,
            },
            report,
        ))
    }

    /// The root as a unit of work: verifies the top node and states the run; `outputs` are
    /// the run's claimed outputs (the root proves their digest).
    pub fn aggregate_root(
        &self,
        pk: &AppProvingKey,
        circuits: &mut Circuits,
        top: &NodeFile,
        outputs: Vec<Val>,
    ) -> Result<(RootProof, NodeReport), SdkError> {
        InvalidProof::same_program(
            (&top.program_name, top.program_hash),
            (&pk.program.name, pk.hash),
        )?;
        let statement = top.statement().ok_or_else(|| {
            SdkError::Aggregate(NodeError::Statement {
                index: 0,
                what: "not a node proof's public values".into(),
            })
        })?;
        let claimed =
            starkscope_vm::prove::outputs_digest(starkscope_vm::prove::EMPTY_DIGEST, &outputs);
        if claimed != statement.digest_after {
            return Err(NodeError::Outputs.into());
        }
        let root = circuits.root(&top.shape)?;
        let p = self.on_pool(|| root.prove(&pk.vm.initial_root, &top.proof))?;
        let report = NodeReport {
            children: 1,
            witness_gen: p.witness_gen,
            prove: p.prove,
            proof_bytes: proof_len(&p.proof),
        };
        use starkscope_stark_backend::p3::PrimeField32;
        Ok((
            RootProof {
                program_name: top.program_name.clone(),
                program_hash: top.program_hash,
                app_preset: top.app_preset,
                node_preset: top.node_preset,
                segment_size: top.segment_size,
                top: top.shape.clone(),
                proof: p.proof,
                exit_code: statement.exit_code.as_canonical_u32(),
                outputs,
            },
            report,
        ))
    }

    /// Checks a root proof against the program's key: rebuilds the root's circuit from the
    /// program and the tree's shape, and verifies the root proof with the public values it
    /// must have (this program, the shape's number of segments, the claimed exit code and
    /// the digest of the claimed outputs). Returns the number of segments.
    ///
    /// Any shape is sound: every circuit it names verifies its children completely and
    /// links them, so a valid root proof of any shape proves one whole run. The shape only
    /// has to be one this verifier is willing to build ([`MAX_VERIFIED_SEGMENTS`]).
    pub fn verify_root(&self, pk: &AppProvingKey, root: &RootProof) -> Result<usize, SdkError> {
        self.check_root_file(pk, root)?;
        let mut circuits = Circuits::new(&pk.program, &pk.vm, root.segment_size, root.node_preset)?;
        self.verify_root_with(pk, root, &mut circuits)
    }

    /// [`Sdk::verify_root`] with circuits already at hand (the ones that proved the tree:
    /// nothing is built twice). `circuits` must be for this key, the root's segment size and
    /// node preset.
    pub fn verify_root_with(
        &self,
        pk: &AppProvingKey,
        root: &RootProof,
        circuits: &mut Circuits,
    ) -> Result<usize, SdkError> {
        self.check_root_file(pk, root)?;
        let segments = root.top.segments();
        // The program commitment covers the instructions, not the initial memory: that is
        // the root circuit's constant `initial_root`, compared on its own.
        if circuits.node_config().preset() != root.node_preset
            || circuits.segment_size() != root.segment_size
            || circuits.program_commitment() != program_commitment(pk)
            || circuits.initial_root() != pk.vm.initial_root
        {
            return Err(SdkError::Config(
                "the circuits are not for this key and node preset".into(),
            ));
        }
        let key = circuits.root(&root.top)?.circuit.verifying_key();
        check_root_proof(&key, &program_commitment(pk), root)?;
        Ok(segments)
    }

    /// Generates the tree's verifying key for runs of `segments` segments (each count its
    /// own root key) of the program at `segment_size`, under `tree_config`.
    pub fn tree_keygen(
        &self,
        pk: &AppProvingKey,
        segment_size: u64,
        tree_config: TreeConfig,
        segments: std::ops::RangeInclusive<usize>,
    ) -> Result<TreeVerifyingKey, SdkError> {
        check_tree_config(tree_config)?;
        crate::config::check_segment_size(segment_size)?;
        let (first, last) = (*segments.start(), *segments.end());
        if first == 0 || first > last || last > MAX_VERIFIED_SEGMENTS {
            return Err(SdkError::Config(format!(
                "a tree key covers 1 to {MAX_VERIFIED_SEGMENTS} segments, not {first}..={last}"
            )));
        }
        let span = info_span!("keygen", group = %Group::Keygen);
        let _entered = span.enter();
        let mut circuits = Circuits::new(&pk.program, &pk.vm, segment_size, tree_config.preset)?;
        let mut roots = Vec::with_capacity(last - first + 1);
        for n in segments {
            let top = tree::top_shape(n, tree_config.children);
            let key =
                self.on_pool(|| circuits.root(&top).map(|root| root.circuit.verifying_key()))?;
            roots.push((top, key));
        }
        Ok(TreeVerifyingKey {
            program_name: pk.program.name.clone(),
            hash: pk.hash,
            app_preset: pk.preset(),
            node_preset: tree_config.preset,
            segment_size,
            children: tree_config.children,
            program_commitment: circuits.program_commitment(),
            roots,
        })
    }

    /// Checks a root proof against the tree's verifying key: no program, no circuit built.
    /// The key must be for the root's program, presets, segment size and shape (a key
    /// without a root key for the root's shape cannot check it: a configuration error
    /// naming the counts it covers).
    pub fn verify_root_with_key(
        &self,
        key: &TreeVerifyingKey,
        root: &RootProof,
    ) -> Result<usize, SdkError> {
        self.check_root_claims(&key.program_name, key.hash, key.app_preset, root)?;
        if root.node_preset != key.node_preset {
            return Err(InvalidProof::Root(format!(
                "its nodes were made with FRI preset `{}`, the tree key's with `{}`",
                root.node_preset.name(),
                key.node_preset.name()
            ))
            .into());
        }
        if root.segment_size != key.segment_size {
            return Err(InvalidProof::Root(format!(
                "it is over segments of {} cycles, the tree key's of {}",
                root.segment_size, key.segment_size
            ))
            .into());
        }
        let segments = root.top.segments();
        let Some(root_key) = key.root_key(&root.top) else {
            let covered = key.segments();
            return Err(SdkError::Config(format!(
                "the tree key has no root key for this root's tree ({segments} segments in \
                 nodes of up to {} children); it covers {}..={} segments: generate one with \
                 `starkscope keygen --tree-vk FILE --segments {segments}`",
                key.children,
                covered.start(),
                covered.end()
            )));
        };
        check_root_proof(root_key, &key.program_commitment, root)?;
        Ok(segments)
    }
}

/// The root proof against its circuit's key, with the public values it must have: the
/// program's commitment, the shape's segment count, the claimed exit code and outputs.
fn check_root_proof(
    key: &starkscope_recursion::CircuitVerifyingKey,
    commitment: &Digest,
    root: &RootProof,
) -> Result<(), SdkError> {
    // The root states the exit code as a field element: a claim is the canonical value
    // of one (as the app proof's verifier compares it), not any u32 equal to it mod p.
    use starkscope_stark_backend::p3::PrimeField32;
    if root.exit_code >= Val::ORDER_U32 {
        return Err(InvalidProof::Root(format!(
            "its exit code {} is not one a run can have (a field element below {})",
            root.exit_code,
            Val::ORDER_U32
        ))
        .into());
    }
    let expected = root_public_values(
        commitment,
        root.top.segments(),
        root.exit_code,
        &root.outputs,
    );
    let span = info_span!("verify", group = %Group::Root);
    span.in_scope(|| {
        key.verify(&root.proof, &expected)
            .map_err(|e| InvalidProof::Root(e.to_string()))
    })?;
    Ok(())
}

/// Children per node: at least 2.
fn check_tree_config(tree_config: TreeConfig) -> Result<(), SdkError> {
    if tree_config.children < 2 {
        return Err(SdkError::Config(format!(
            "an aggregation node has at least 2 children, not {}",
            tree_config.children
        )));
    }
    Ok(())
}

impl crate::Sdk {
    /// What a root file claims besides its proof: this key's program and app preset,
    /// presets this verifier accepts, a usable segment size, a shape it builds.
    fn check_root_file(&self, pk: &AppProvingKey, root: &RootProof) -> Result<(), SdkError> {
        self.check_root_claims(&pk.program.name, pk.hash, pk.preset(), root)
    }

    /// [`Sdk::check_root_file`] against what a key says: program name and hash, app preset.
    fn check_root_claims(
        &self,
        program_name: &str,
        hash: ProgramHash,
        app_preset: FriPreset,
        root: &RootProof,
    ) -> Result<(), SdkError> {
        InvalidProof::same_program(
            (&root.program_name, root.program_hash),
            (program_name, hash),
        )?;
        if root.app_preset != app_preset {
            return Err(InvalidProof::WrongPreset {
                proof: root.app_preset.name().to_string(),
                required: app_preset.name().to_string(),
            }
            .into());
        }
        for preset in [root.app_preset, root.node_preset] {
            if !preset.is_secure() && !self.config().allow_insecure {
                return Err(SdkError::InsecurePreset {
                    preset: preset.name().to_string(),
                    bits: preset.conjectured_security_bits(),
                    min: starkscope_stark_backend::MIN_SECURE_BITS,
                });
            }
        }
        crate::config::check_segment_size(root.segment_size)
            .map_err(|e| InvalidProof::Root(format!("its segment size: {e}")))?;
        check_shape(&root.top)?;
        Ok(())
    }
}

/// Refuses a tree shape [`Sdk::verify_root`](crate::Sdk::verify_root) does not build: a node
/// without children, or more than [`MAX_VERIFIED_SEGMENTS`] segments.
fn check_shape(top: &Shape) -> Result<(), SdkError> {
    let segments = top.segments();
    if segments > MAX_VERIFIED_SEGMENTS || !top.is_well_formed() {
        return Err(InvalidProof::Root(format!(
            "its tree's shape ({segments} segments) is not one this verifier builds \
             (at most {MAX_VERIFIED_SEGMENTS} segments, every node with 1 or more children)"
        ))
        .into());
    }
    Ok(())
}

/// The most segments [`Sdk::verify_root`](crate::Sdk::verify_root) builds a tree's circuits
/// for (a root file names its tree's shape; building is the verifier's cost).
pub const MAX_VERIFIED_SEGMENTS: usize = 1 << 16;

fn proof_len(proof: &Proof) -> usize {
    crate::files::segment_proof_len(proof).unwrap_or(0)
}

/// Proves one node over its children (in the node's span).
fn prove_node(
    circuits: &Circuits,
    shape: &Shape,
    children: &[&Proof],
) -> Result<(Proof, NodeReport), NodeError> {
    let node = circuits.circuit(shape).prove(children)?;
    let report = NodeReport {
        children: children.len(),
        witness_gen: node.witness_gen,
        prove: node.prove,
        proof_bytes: proof_len(&node.proof),
    };
    Ok((node.proof, report))
}

/// The root's public values for a run of `segments` segments of the program with this
/// commitment, exit code and outputs.
pub fn root_public_values(
    commitment: &Digest,
    segments: usize,
    exit_code: u32,
    outputs: &[Val],
) -> Vec<Val> {
    use starkscope_stark_backend::p3::PrimeCharacteristicRing;
    let mut v = Vec::with_capacity(root_pv::COUNT);
    v.extend_from_slice(commitment);
    v.push(Val::from_usize(segments));
    v.push(Val::from_u32(exit_code));
    v.extend(starkscope_vm::prove::outputs_digest(
        starkscope_vm::prove::EMPTY_DIGEST,
        outputs,
    ));
    debug_assert_eq!(v.len(), root_pv::COUNT);
    v
}
