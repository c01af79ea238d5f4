//! The aggregation tree over real segment proofs: leaves, internal layers, a root whose
//! public values state the run; children that do not form one run cannot make a node.
//! Proving-heavy: release only (scripts/test.sh runs it with `--release`).

use starkscope_recursion::verifier::child_hints;
use starkscope_sdk::tree::node::root_pv;
use starkscope_sdk::tree::{Circuits, NodeError, Shape, Statement};
use starkscope_stark_backend::debug::check_traces;
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{FriPreset, Proof, Val};
use starkscope_vm::exec::ExecConfig;
use starkscope_vm::prove::{
    outputs_digest, verify_chain, vm_keygen, Continuation, Digest, HeightLayout, VmProvingKey,
    EMPTY_DIGEST,
};
use starkscope_vm::{Program, F};

const SEGMENT_SIZE: u64 = 64;
const PRESET: FriPreset = FriPreset::Testing;

fn program(name: &str) -> Program {
    let path = format!(
        "{}/../../benchmarks/programs/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    starkscope_vm::assemble(&src, name).expect("assembles")
}

fn segments(program: &Program, pk: &VmProvingKey, inputs: &[u32]) -> (Vec<Proof>, Vec<Val>) {
    let inputs: Vec<F> = inputs.iter().map(|&x| F::from_u32(x)).collect();
    let config = ExecConfig::default().with_segment_size(SEGMENT_SIZE);
    let segs = starkscope_vm::exec::record(program, &inputs, &config).expect("executes");
    let outputs = segs.iter().flat_map(|s| s.outputs.clone()).collect();
    let mut cont = Continuation::start(program);
    let proofs: Vec<Proof> = segs
        .into_iter()
        .map(|s| {
            cont.advance(s, std::time::Duration::ZERO)
                .prove(pk)
                .expect("proves")
                .proof
        })
        .collect();
    verify_chain(&pk.verifying_key(), &proofs, None).expect("the chain verifies");
    (proofs, outputs)
}

fn program_commitment(pk: &VmProvingKey) -> Digest {
    let c = pk
        .pk
        .vk
        .data
        .preprocessed_commitment
        .as_ref()
        .expect("preprocessed");
    c.roots()[0]
}

#[cfg_attr(debug_assertions, ignore = "proves nodes: run with --release")]
#[test]
fn children_that_do_not_form_one_run_make_no_node() {
    let fib = program("fibonacci.sasm");
    let pk = vm_keygen(&fib, PRESET)
        .expect("keygen")
        .with_layout(HeightLayout::FixedTallest);
    let (proofs, _) = segments(&fib, &pk, &[50]);
    let (other, _) = segments(&fib, &pk, &[51]);
    let mut circuits = Circuits::new(&fib, &pk, SEGMENT_SIZE, PRESET).expect("circuits");
    circuits.build(&Shape::Leaf(2)).expect("leaf circuit");
    let leaf = circuits.circuit(&Shape::Leaf(2));
    let cases: [(&str, [&Proof; 2]); 4] = [
        ("a dropped segment", [&proofs[0], &proofs[2]]),
        ("a repeated segment", [&proofs[1], &proofs[1]]),
        ("swapped segments", [&proofs[1], &proofs[0]]),
        ("a segment of another run", [&proofs[0], &other[1]]),
    ];
    for (what, pair) in cases {
        match leaf.prove(&pair) {
            Err(NodeError::Link(_)) => {}
            Err(e) => panic!("{what}: refused for another reason: {e}"),
            Ok(_) => panic!("{what}: a leaf was proven"),
        }
    }
    leaf.prove(&[&proofs[0], &proofs[1]])
        .expect("neighbours link");

    // A forger does not run our witness code: filled without any check, the same pairs
    // fail the leaf circuit's own constraints (the links), while neighbours pass them.
    let forged = |pair: [&Proof; 2]| {
        let statements: Vec<Statement<Val>> = pair
            .iter()
            .map(|p| {
                let pvs: Vec<Vec<Val>> = p.airs.iter().map(|a| a.public_values.clone()).collect();
                Statement::of_segment(&pvs)
            })
            .collect();
        let public = Statement::joined(&statements).values();
        let specs = leaf.children.specs();
        let hints: Vec<_> = specs
            .iter()
            .zip(pair)
            .flat_map(|(spec, p)| child_hints(spec, p).expect("a segment proof's shape"))
            .collect();
        let w = leaf
            .circuit
            .run_unchecked(&public, &hints)
            .expect("filled permissively");
        check_traces(&leaf.circuit.pk, &w.inputs)
    };
    for (what, pair) in cases {
        let report = forged(pair);
        assert!(!report.is_ok(), "{what}: the leaf's constraints accept it");
    }
    let honest = forged([&proofs[0], &proofs[1]]);
    assert!(honest.is_ok(), "neighbours: {honest}");
}

/// Filled by a forger (no check of our witness code) for `circuit` over these children's
/// proofs with these public inputs: whether the circuit's own constraints accept it.
fn forged(
    circuit: &starkscope_recursion::CompiledCircuit,
    specs: &[starkscope_recursion::verifier::ChildSpec],
    children: &[&Proof],
    public: &[Val],
) -> starkscope_stark_backend::debug::DebugReport {
    let hints: Vec<_> = specs
        .iter()
        .zip(children)
        .flat_map(|(spec, p)| child_hints(spec, p).expect("a child proof's shape"))
        .collect();
    let w = circuit
        .run_unchecked(public, &hints)
        .expect("filled permissively");
    check_traces(&circuit.pk, &w.inputs)
}

fn node_statement(p: &Proof) -> Statement<Val> {
    Statement::from_values(&p.airs[starkscope_recursion::TableId::Public as usize].public_values)
}

/// The internal node's links and the root's assertions are the circuits' own: with child
/// proofs that do not form one run, our witness code refuses them, and a forger's
/// permissive fill fails the circuits' constraints; honest children pass them.
#[cfg_attr(debug_assertions, ignore = "proves nodes: run with --release")]
#[test]
fn internal_links_and_root_assertions_are_the_circuits_own() {
    let fib = program("fibonacci.sasm");
    let pk = vm_keygen(&fib, PRESET)
        .expect("keygen")
        .with_layout(HeightLayout::FixedTallest);
    let (run, _) = segments(&fib, &pk, &[70]);
    let (other_run, _) = segments(&fib, &pk, &[71]);
    let (short_run, _) = segments(&fib, &pk, &[20]);
    assert!(run.len() >= 6 && other_run.len() >= 4, "segments");
    assert_eq!(
        short_run.len(),
        2,
        "fibonacci(20) in 2 segments of {SEGMENT_SIZE}"
    );
    let mut circuits = Circuits::new(&fib, &pk, SEGMENT_SIZE, PRESET).expect("circuits");
    let pair = Shape::Leaf(2);
    let internal = Shape::Internal(vec![pair.clone(), pair.clone()]);
    circuits.build(&internal).expect("internal circuit");
    let leaf_circuit = circuits.circuit(&pair);
    let leaf = |a: &Proof, b: &Proof| leaf_circuit.prove(&[a, b]).expect("leaf").proof;
    let l0 = leaf(&run[0], &run[1]);
    let l1 = leaf(&run[2], &run[3]);
    let l2 = leaf(&run[4], &run[5]);
    let l1_other = leaf(&other_run[2], &other_run[3]);
    let whole = leaf(&short_run[0], &short_run[1]);

    let node = circuits.circuit(&internal);
    let specs = node.children.specs();
    let cases: [(&str, [&Proof; 2]); 4] = [
        ("a dropped leaf", [&l0, &l2]),
        ("a repeated leaf", [&l0, &l0]),
        ("swapped leaves", [&l1, &l0]),
        ("a leaf of another run", [&l0, &l1_other]),
    ];
    for (what, children) in cases {
        assert!(
            matches!(node.prove(&children), Err(NodeError::Link(_))),
            "{what}: our witness code does not refuse it"
        );
        // The statement a forger would claim: the children's ranges joined.
        let statements: Vec<_> = children.iter().map(|p| node_statement(p)).collect();
        let public = Statement::joined(&statements).values();
        let report = forged(&node.circuit, specs, &children, &public);
        assert!(
            !report.is_ok(),
            "{what}: the internal node's constraints accept it"
        );
    }
    let honest = [&l0, &l1];
    let statements: Vec<_> = honest.iter().map(|p| node_statement(p)).collect();
    let public = Statement::joined(&statements).values();
    let report = forged(&node.circuit, specs, &honest, &public);
    assert!(report.is_ok(), "linked leaves: {report}");

    // The root over a Leaf(2): a top that does not start the run or does not end it.
    let commitment = program_commitment(&pk);
    let root = circuits.root(&pair).expect("root circuit");
    let root_public = |top: &Proof, exit_delta: u32| {
        let s = node_statement(top);
        let mut v = commitment.to_vec();
        v.push(s.last_segment + Val::ONE);
        v.push(s.exit_code + Val::from_u32(exit_delta));
        v.extend(s.digest_after);
        v
    };
    let child = std::slice::from_ref(&root.child);
    for (what, top) in [
        ("a top that does not end halted", &l0),
        ("a top that starts at segment 2", &l1),
    ] {
        assert!(
            matches!(root.prove(&pk.initial_root, top), Err(NodeError::Root(_))),
            "{what}: our witness code does not refuse it"
        );
        let report = forged(&root.circuit, child, &[top], &root_public(top, 0));
        assert!(!report.is_ok(), "{what}: the root's constraints accept it");
    }
    let report = forged(&root.circuit, child, &[&whole], &root_public(&whole, 1));
    assert!(
        !report.is_ok(),
        "the root's constraints accept another exit code"
    );
    let report = forged(&root.circuit, child, &[&whole], &root_public(&whole, 0));
    assert!(report.is_ok(), "a whole run: {report}");
}

fn sdk() -> starkscope_sdk::Sdk {
    starkscope_sdk::Sdk::new(
        starkscope_sdk::SdkConfig::default()
            .with_segment_size(SEGMENT_SIZE)
            .with_fri(PRESET)
            .with_allow_insecure(true),
    )
    .expect("sdk")
}

const TREE: starkscope_sdk::TreeConfig = starkscope_sdk::TreeConfig {
    children: 2,
    preset: PRESET,
};

/// Through the SDK: prove, aggregate, verify the root; its layers are leaf, internal.0,
/// internal.1 and root; claims the root does not state are refused.
#[cfg_attr(debug_assertions, ignore = "proves a tree: run with --release")]
#[test]
fn the_sdk_aggregates_a_run_into_a_root_that_verifies() {
    use starkscope_metrics::Group;
    use starkscope_sdk::SdkError;
    let sdk = sdk();
    let fib = program("fibonacci.sasm");
    let pk = sdk.keygen_for_aggregation(&fib).expect("keygen");
    let (app, _) = sdk.prove(&pk, &[F::from_u32(70)]).expect("proves");
    let aggregated = sdk.aggregate(&pk, &app, TREE).expect("aggregates");
    let (root, report) = (aggregated.root.clone(), &aggregated.report);
    let groups: Vec<Group> = report.layers.iter().map(|l| l.group.clone()).collect();
    assert_eq!(
        groups,
        [
            Group::Leaf,
            Group::Internal(0),
            Group::Internal(1),
            Group::Root
        ]
    );
    let nodes: Vec<usize> = report.layers.iter().map(|l| l.nodes.len()).collect();
    assert_eq!(nodes, [3, 2, 1, 1]);
    assert_eq!(
        sdk.verify_root(&pk, &root).expect("the root verifies"),
        app.segments.len()
    );
    // Its public values state the run: the program, the segments, exit code 0, the
    // digest of the outputs.
    let p = &root.proof.airs[starkscope_recursion::TableId::Public as usize].public_values;
    assert_eq!(
        &p[root_pv::PROGRAM..root_pv::PROGRAM + 8],
        &program_commitment(&pk.vm)
    );
    assert_eq!(p[root_pv::SEGMENTS], Val::from_usize(app.segments.len()));
    assert_eq!(p[root_pv::EXIT_CODE], Val::ZERO);
    assert_eq!(
        &p[root_pv::OUTPUT_DIGEST..root_pv::OUTPUT_DIGEST + 8],
        &outputs_digest(EMPTY_DIGEST, &app.outputs)
    );

    // The root file: decoding then re-encoding is byte-identical; the decoded root
    // verifies; a truncated file and changed bytes are refused (by the decoder or by the
    // root's verification), never accepted.
    let bytes = starkscope_sdk::files::root_to_bytes(&root).expect("encodes");
    let path = std::path::Path::new("root.bin");
    let decoded = starkscope_sdk::files::root_from_file_bytes(&bytes, path).expect("decodes");
    assert_eq!(
        starkscope_sdk::files::root_to_bytes(&decoded).unwrap(),
        bytes
    );
    assert_eq!(
        sdk.verify_root(&pk, &decoded).expect("verifies"),
        app.segments.len()
    );
    assert!(starkscope_sdk::files::root_from_file_bytes(&bytes[..bytes.len() - 1], path).is_err());
    let step = bytes.len() / 24;
    for at in (11..bytes.len()).step_by(step) {
        let mut changed = bytes.clone();
        changed[at] ^= 0x41;
        if let Ok(r) = starkscope_sdk::files::root_from_file_bytes(&changed, path) {
            assert!(
                sdk.verify_root(&pk, &r).is_err(),
                "byte {at} changed: still verifies"
            );
        }
    }

    let mut wrong = root.clone();
    wrong.exit_code += 1;
    assert!(matches!(
        sdk.verify_root(&pk, &wrong),
        Err(SdkError::Invalid(_))
    ));
    let mut wrong = root.clone();
    wrong.outputs[0] += Val::ONE;
    assert!(matches!(
        sdk.verify_root(&pk, &wrong),
        Err(SdkError::Invalid(_))
    ));

    // Another program's key refuses it, also when the file claims that program.
    let other = program("field_loop.sasm");
    let other_pk = sdk.keygen_for_aggregation(&other).expect("keygen");
    assert!(matches!(
        sdk.verify_root(&other_pk, &root),
        Err(SdkError::Invalid(_))
    ));
    let mut relabelled = root.clone();
    relabelled.program_name = other_pk.program.name.clone();
    relabelled.program_hash = other_pk.hash;
    assert!(matches!(
        sdk.verify_root(&other_pk, &relabelled),
        Err(SdkError::Invalid(_))
    ));
}

/// What a root proof states is exactly what the verifier compares: an exit code that only
/// equals the run's modulo p, or circuits made for another initial memory, are refused.
#[cfg_attr(debug_assertions, ignore = "proves a tree: run with --release")]
#[test]
fn a_root_states_nothing_its_run_does_not() {
    use starkscope_sdk::SdkError;
    use starkscope_stark_backend::p3::PrimeField32;
    let sdk = sdk();
    let fib = program("fibonacci.sasm");
    let pk = sdk.keygen_for_aggregation(&fib).expect("keygen");
    let (app, _) = sdk.prove(&pk, &[F::from_u32(12)]).expect("proves");
    let mut aggregated = sdk.aggregate(&pk, &app, TREE).expect("aggregates");
    let root = aggregated.root.clone();
    assert_eq!(root.exit_code, 0);
    assert_eq!(
        sdk.verify_root(&pk, &root).expect("the root verifies"),
        app.segments.len()
    );

    // fibonacci halts with 0: exit code p is another u32 (the app proof's verifier refuses
    // it), equal to 0 only in the field.
    let mut aliased = root.clone();
    aliased.exit_code += Val::ORDER_U32;
    assert!(
        sdk.verify(&pk.verifying_key(), &{
            let mut a = app.clone();
            a.exit_code = aliased.exit_code;
            a
        })
        .is_err(),
        "the app proof's verifier refuses exit code p"
    );
    let mut accepted = Vec::new();
    if !matches!(sdk.verify_root(&pk, &aliased), Err(SdkError::Invalid(_))) {
        accepted.push("a root claiming exit code p for a run that exits with 0");
    }
    let bytes = starkscope_sdk::files::root_to_bytes(&aliased).expect("encodes");
    let path = std::path::Path::new("root.bin");
    if let Ok(decoded) = starkscope_sdk::files::root_from_file_bytes(&bytes, path) {
        if sdk.verify_root(&pk, &decoded).is_ok() {
            accepted.push("that root from its file");
        }
    }

    // The same instructions with other initial memory: the same program commitment, another
    // program. Circuits made for the first (its initial memory is their root's constant)
    // must not verify a root for the second.
    let mut other = fib.clone();
    other.data.insert(1, F::from_u32(5));
    let other_pk = sdk.keygen_for_aggregation(&other).expect("keygen");
    assert_ne!(other_pk.vm.initial_root, pk.vm.initial_root);
    let mut relabelled = root.clone();
    relabelled.program_hash = other_pk.hash;
    assert!(sdk.verify_root(&other_pk, &relabelled).is_err());
    if sdk
        .verify_root_with(&other_pk, &relabelled, &mut aggregated.circuits)
        .is_ok()
    {
        accepted.push("a root of another initial memory, with that program's circuits");
    }
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
}
