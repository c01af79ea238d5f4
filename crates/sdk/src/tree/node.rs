//! Aggregation node circuits: a leaf verifies segment proofs, an internal node verifies
//! node proofs, the root verifies the top node and states the whole run
//! (docs/aggregation.md). Every child's key is a constant of its parent's circuit.

use std::time::{Duration, Instant};

use starkscope_recursion::compile::TableId;
use starkscope_recursion::verifier::{child_hints, verify_child, ChildError, ChildSpec};
use starkscope_recursion::{CircuitBuilder, CompileError, CompiledCircuit, RunError};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Proof, ProveError, StarkConfig, Val};
use starkscope_vm::prove::{Digest, DIGEST, EMPTY_DIGEST};

use super::statement::{self, Statement};

/// What a node's children are.
#[derive(Clone)]
pub enum Children {
    /// Segment proofs of one program (a leaf), each of this spec.
    Segments(Vec<ChildSpec>),
    /// Proofs of node circuits (an internal node), child `i` of `specs[i]`.
    Nodes(Vec<ChildSpec>),
}

impl Children {
    pub fn specs(&self) -> &[ChildSpec] {
        match self {
            Children::Segments(s) | Children::Nodes(s) => s,
        }
    }
}

/// Why a node could not be built, filled or proven.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("node circuit: {0}")]
    Compile(#[from] CompileError),
    #[error("child {index}: {source}")]
    Child { index: usize, source: ChildError },
    #[error("{expected} children expected, {got} given")]
    Count { expected: usize, got: usize },
    #[error("child {index} has no statement: {what}")]
    Statement { index: usize, what: String },
    #[error("the children do not form one run: {0}")]
    Link(String),
    #[error("the children cannot make one node: {0}")]
    Children(String),
    #[error("the outputs given are not the run's: their digest differs from the one the top node proves (were the segments proven with other inputs?)")]
    Outputs,
    #[error("the root's child does not {0}")]
    Root(&'static str),
    #[error("witness: {0}")]
    Run(#[from] RunError),
    #[error("proving: {0}")]
    Prove(#[from] ProveError),
}

/// A leaf or internal node's circuit: it verifies its children, links their statements and
/// exposes the joined statement as its public values ([`statement::pv`]).
pub struct NodeCircuit {
    pub children: Children,
    pub circuit: CompiledCircuit,
}

impl NodeCircuit {
    /// Builds and compiles the circuit for `children`, proven under `config`.
    pub fn new(children: Children, config: StarkConfig) -> Result<Self, NodeError> {
        let mut b = CircuitBuilder::new();
        let statements: Vec<Statement<_>> = children
            .specs()
            .iter()
            .map(|spec| {
                let child = verify_child(&mut b, spec);
                match &children {
                    Children::Segments(_) => Statement::of_segment(&child.public_values),
                    Children::Nodes(_) => {
                        Statement::from_values(&child.public_values[TableId::Public as usize])
                    }
                }
            })
            .collect();
        statement::link(&mut b, &statements);
        statement::expose(&mut b, &Statement::joined(&statements));
        let circuit = CompiledCircuit::new(b.build(), config)?;
        Ok(NodeCircuit { children, circuit })
    }

    /// Proves that `proofs` (one per child, in order) verify and form one run.
    pub fn prove(&self, proofs: &[&Proof]) -> Result<NodeProof, NodeError> {
        let specs = self.children.specs();
        if proofs.len() != specs.len() {
            return Err(NodeError::Count {
                expected: specs.len(),
                got: proofs.len(),
            });
        }
        let started = Instant::now();
        let mut hints = Vec::new();
        let mut statements = Vec::with_capacity(proofs.len());
        for (index, (spec, proof)) in specs.iter().zip(proofs).enumerate() {
            hints.extend(
                child_hints(spec, proof).map_err(|source| NodeError::Child { index, source })?,
            );
            statements.push(child_statement(&self.children, index, proof)?);
        }
        let statement = statement::native_link(&statements).map_err(NodeError::Link)?;
        let witness = self.circuit.run(&statement.values(), &hints)?;
        let witness_gen = started.elapsed();
        let started = Instant::now();
        let proof = self.circuit.prove(witness)?;
        let prove = started.elapsed();
        record(witness_gen + prove, proofs.len());
        Ok(NodeProof {
            proof,
            statement,
            witness_gen,
            prove,
        })
    }
}

/// A node's proof, its statement, and what making it took.
pub struct NodeProof {
    pub proof: Proof,
    pub statement: Statement<Val>,
    /// Hints from the children, linking checks and running the circuit.
    pub witness_gen: Duration,
    /// The backend's prover.
    pub prove: Duration,
}

fn child_statement(
    children: &Children,
    index: usize,
    proof: &Proof,
) -> Result<Statement<Val>, NodeError> {
    let pvs: Vec<Vec<Val>> = proof.airs.iter().map(|a| a.public_values.clone()).collect();
    let missing = |what: String| NodeError::Statement { index, what };
    match children {
        Children::Segments(_) => {
            starkscope_vm::prove::SegmentPublic::of(proof)
                .ok_or_else(|| missing("not a segment proof's public values".into()))?;
            Ok(Statement::of_segment(&pvs))
        }
        Children::Nodes(_) => {
            let v = pvs
                .get(TableId::Public as usize)
                .filter(|v| v.len() == statement::pv::COUNT)
                .ok_or_else(|| missing("not a node proof's public values".into()))?;
            Ok(Statement::from_values(v))
        }
    }
}

/// Public values of the root, in this order.
pub mod root_pv {
    use super::DIGEST;
    /// The program's commitment (the segment key's preprocessed commitment).
    pub const PROGRAM: usize = 0;
    pub const SEGMENTS: usize = DIGEST;
    pub const EXIT_CODE: usize = DIGEST + 1;
    pub const OUTPUT_DIGEST: usize = DIGEST + 2;
    pub const COUNT: usize = OUTPUT_DIGEST + DIGEST;
}

/// The root's circuit: verifies the top node's proof and that its run is the whole run
/// (segments from 0, pc 0, the program's initial memory, no output before, halted at the
/// end); exposes the program, the number of segments, the exit code and the output digest
/// ([`root_pv`]).
pub struct RootCircuit {
    pub child: ChildSpec,
    pub program: Digest,
    pub circuit: CompiledCircuit,
}

impl RootCircuit {
    pub fn new(
        child: ChildSpec,
        program: Digest,
        initial_root: Digest,
        config: StarkConfig,
    ) -> Result<Self, NodeError> {
        let mut b = CircuitBuilder::new();
        let verified = verify_child(&mut b, &child);
        let s = Statement::from_values(&verified.public_values[TableId::Public as usize]);
        b.assert_zero(s.first_segment);
        b.assert_zero(s.start_pc);
        let one = b.one();
        b.assert_eq(s.halted, one);
        for ((&cell, &expected), &digest) in s
            .root_before
            .iter()
            .zip(&initial_root)
            .zip(&s.digest_before)
        {
            let root = b.constant(expected);
            b.assert_eq(cell, root);
            b.assert_zero(digest);
        }
        let segments = b.add(s.last_segment, one);
        let mut exposed = Vec::with_capacity(root_pv::COUNT);
        for &v in &program {
            exposed.push(b.constant(v));
        }
        exposed.push(segments);
        exposed.push(s.exit_code);
        exposed.extend(s.digest_after);
        for cell in exposed {
            let public = b.public();
            b.assert_eq(public, cell);
        }
        let circuit = CompiledCircuit::new(b.build(), config)?;
        Ok(RootCircuit {
            child,
            program,
            circuit,
        })
    }

    /// Proves the root over the top node's proof.
    pub fn prove(&self, initial_root: &Digest, top: &Proof) -> Result<RootNodeProof, NodeError> {
        let started = Instant::now();
        let s = child_statement(&Children::Nodes(vec![]), 0, top)?;
        if s.first_segment != Val::ZERO {
            return Err(NodeError::Root("start at segment 0"));
        }
        if s.start_pc != Val::ZERO {
            return Err(NodeError::Root("start at pc 0"));
        }
        if &s.root_before != initial_root {
            return Err(NodeError::Root("start from the program's initial memory"));
        }
        if s.digest_before != EMPTY_DIGEST {
            return Err(NodeError::Root("start with no output"));
        }
        if s.halted != Val::ONE {
            return Err(NodeError::Root("end halted"));
        }
        let mut public = self.program.to_vec();
        public.push(s.last_segment + Val::ONE);
        public.push(s.exit_code);
        public.extend(s.digest_after);
        let hints = child_hints(&self.child, top)
            .map_err(|source| NodeError::Child { index: 0, source })?;
        let witness = self.circuit.run(&public, &hints)?;
        let witness_gen = started.elapsed();
        let started = Instant::now();
        let proof = self.circuit.prove(witness)?;
        let prove = started.elapsed();
        record(witness_gen + prove, 1);
        Ok(RootNodeProof {
            proof,
            public,
            witness_gen,
            prove,
        })
    }
}

/// The root's proof, its public values ([`root_pv`]), and what making it took.
pub struct RootNodeProof {
    pub proof: Proof,
    pub public: Vec<Val>,
    pub witness_gen: Duration,
    pub prove: Duration,
}

/// A node's totals, once per node in the caller's scope (`group`, `idx`): the backend's
/// phases, `witness_gen` and `proof_size_bytes` come from their own spans and calls.
#[cfg(feature = "bench-metrics")]
fn record(total: Duration, children: usize) {
    use starkscope_metrics::metrics::{counter, gauge};
    use starkscope_metrics::names;
    gauge!(names::TOTAL_PROOF_TIME_MS).set(total.as_nanos() as f64 / 1e6);
    counter!(names::NUM_CHILDREN).absolute(children as u64);
}

#[cfg(not(feature = "bench-metrics"))]
fn record(_total: Duration, _children: usize) {}
