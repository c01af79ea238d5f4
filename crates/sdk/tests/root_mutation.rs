//! Changed root proofs are refused: one mutant per field kind of the decoded root proof
//! (every number kind changed, every list kind grown and shrunk), and a random sample of
//! changed bytes of the root file, each either refused by the decoder or, when it decodes
//! (then it re-encodes byte for byte), by the root's verification. None verifies, none
//! panics. `ROOT_MUTATION_BYTES=30000` (scripts/root-mutation.sh) widens the byte sample.
//! Release only (proves a tree).

use std::collections::BTreeSet;
use std::path::Path;

use starkscope_sdk::files::{root_from_file_bytes, root_to_bytes};
use starkscope_sdk::{FriPreset, Sdk, SdkConfig, TreeConfig};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::testing::mutation::{
    list_length_mutants, single_field_mutants, Change,
};
use starkscope_stark_backend::Val;

const FIB: &str = include_str!("../../../benchmarks/programs/fibonacci.sasm");

#[cfg_attr(debug_assertions, ignore = "proves a tree: run with --release")]
#[test]
fn every_field_kind_and_sampled_bytes_of_a_root_are_refused() {
    let sdk = Sdk::new(
        SdkConfig::default()
            .with_segment_size(64)
            .with_fri(FriPreset::Testing)
            .with_allow_insecure(true),
    )
    .unwrap();
    let program = starkscope_vm::assemble(FIB, "fibonacci.sasm").unwrap();
    let pk = sdk.keygen_for_aggregation(&program).unwrap();
    let (app, _) = sdk.prove(&pk, &[Val::from_u32(20)]).unwrap();
    let tree = TreeConfig {
        children: 2,
        preset: FriPreset::Testing,
    };
    let mut aggregated = sdk.aggregate(&pk, &app, tree).unwrap();
    let root = aggregated.root.clone();
    let circuits = &mut aggregated.circuits;
    sdk.verify_root_with(&pk, &root, circuits)
        .expect("the honest root verifies");

    // One mutant per field kind of the root proof.
    let (mut kinds, mut tried, mut undecoded) = (BTreeSet::new(), 0, 0);
    let mutants = single_field_mutants(&root.proof).chain(list_length_mutants(&root.proof));
    for m in mutants {
        let change = match m.change {
            Change::Number { .. } => "changed",
            Change::Shrunk => "shrunk",
            Change::Grown => "grown",
        };
        if !kinds.insert((m.kind.clone(), change)) {
            continue;
        }
        let Some(proof) = m.value else {
            undecoded += 1;
            continue;
        };
        tried += 1;
        let mut changed = root.clone();
        changed.proof = proof;
        assert!(
            sdk.verify_root_with(&pk, &changed, circuits).is_err(),
            "{} ({:?}): still verifies",
            m.path,
            m.change
        );
    }
    eprintln!(
        "{} field-kind mutants: {tried} refused by verification, {undecoded} not decodable",
        kinds.len()
    );
    assert!(tried > 20, "{tried} mutants verified");

    // Every other field of the root file.
    let mut file_fields: Vec<(&str, starkscope_sdk::RootProof)> = Vec::new();
    let mut r = root.clone();
    r.exit_code += 1;
    file_fields.push(("exit code", r));
    let mut r = root.clone();
    r.outputs[0] += Val::ONE;
    file_fields.push(("an output", r));
    let mut r = root.clone();
    r.outputs.push(Val::ONE);
    file_fields.push(("one output more", r));
    let mut r = root.clone();
    r.program_hash.0[0] ^= 1;
    file_fields.push(("program hash", r));
    let mut r = root.clone();
    r.program_name.push('x');
    file_fields.push(("program name", r));
    let mut r = root.clone();
    r.segment_size *= 2;
    file_fields.push(("segment size", r));
    let mut r = root.clone();
    r.top = starkscope_sdk::tree::Shape::Internal(vec![r.top.clone()]);
    file_fields.push(("tree shape", r));
    let mut r = root.clone();
    r.node_preset = FriPreset::Recursion;
    file_fields.push(("node preset", r));
    let mut r = root.clone();
    r.app_preset = FriPreset::Fast;
    file_fields.push(("app preset", r));
    for (what, r) in file_fields {
        // With the circuits that proved the tree, and rebuilt from the file as a verifier
        // elsewhere would.
        assert!(
            sdk.verify_root_with(&pk, &r, circuits).is_err(),
            "{what} changed: still verifies"
        );
        assert!(
            sdk.verify_root(&pk, &r).is_err(),
            "{what} changed: still verifies (rebuilt)"
        );
    }

    // Changed bytes of the file.
    let bytes = root_to_bytes(&root).unwrap();
    let samples: usize = std::env::var("ROOT_MUTATION_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let path = Path::new("root.bin");
    let (mut refused_by_decoder, mut refused_by_verifier) = (0, 0);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..samples {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let at = (state % bytes.len() as u64) as usize;
        let flip = ((state >> 32) as u8) | 1;
        let mut b = bytes.clone();
        b[at] ^= flip;
        match root_from_file_bytes(&b, path) {
            Err(_) => refused_by_decoder += 1,
            Ok(r) => {
                assert_eq!(root_to_bytes(&r).unwrap(), b, "byte {at}: not canonical");
                assert!(
                    sdk.verify_root_with(&pk, &r, circuits).is_err(),
                    "byte {at} ^ {flip:#x}: still verifies"
                );
                refused_by_verifier += 1;
            }
        }
    }
    eprintln!(
        "{samples} changed bytes of a {}-byte root file: {refused_by_decoder} refused by the decoder, {refused_by_verifier} by verification",
        bytes.len()
    );
}
