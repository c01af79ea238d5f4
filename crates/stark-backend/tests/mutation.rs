//! Every field of a valid proof, changed one at a time, makes it fail to verify.
//!
//! The proof is walked as a JSON tree (serde's view of it), so every number in it is
//! visited: each commitment digest element, opened value, cumulative sum, public value,
//! FRI layer commitment, query sibling value, Merkle path digest, final polynomial
//! coefficient and proof-of-work witness.

mod common;

use serde_json::Value;
use starkscope_stark_backend::{prove, verify, Proof};

/// Calls `visit` with every node of the tree and its path (`.key` and `[index]` steps).
fn walk(v: &Value, path: &mut String, visit: &mut dyn FnMut(&Value, &str)) {
    visit(v, path);
    let n = path.len();
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(x, path, visit);
                path.truncate(n);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                path.push('.');
                path.push_str(k);
                walk(x, path, visit);
                path.truncate(n);
            }
        }
        _ => {}
    }
}

/// Paths of the nodes for which `keep` holds.
fn paths_where(tree: &Value, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    walk(tree, &mut String::new(), &mut |v, p| {
        if keep(v) {
            out.push(p.to_string());
        }
    });
    out
}

fn at<'a>(v: &'a mut Value, path: &str) -> &'a mut Value {
    let mut cur = v;
    for part in path.split(['.', '[']).filter(|s| !s.is_empty()) {
        cur = match part.strip_suffix(']') {
            Some(i) => &mut cur[i.parse::<usize>().unwrap()],
            None => &mut cur[part],
        };
    }
    cur
}

fn strip_indices(p: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for c in p.chars() {
        match c {
            '[' => {
                skip = true;
                out.push_str("[]");
            }
            ']' => skip = false,
            _ if !skip => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn every_single_field_mutation_is_rejected() {
    let cfg = common::config();
    let (pk, inputs) = common::bus_set(&cfg, 3, 4, 2);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    verify(&cfg, &pk.vk, &proof).unwrap();
    let tree = serde_json::to_value(&proof).unwrap();
    let paths = paths_where(&tree, Value::is_number);

    // Field kinds reached by mutants that decode: a mutant that fails to decode tests the
    // decoder, not the verifier, so it does not count towards reaching a kind.
    let mut kinds = std::collections::BTreeSet::new();
    let mut undecodable = std::collections::BTreeSet::new();
    let mut decoded = 0usize;
    let mut accepted = Vec::new();
    for path in &paths {
        let mut t = tree.clone();
        let leaf = at(&mut t, path);
        let n = leaf.as_u64().expect("numbers in a proof are unsigned");
        // A different value of the same kind (field elements stay in range).
        *leaf = Value::from(if n == 0 { 1 } else { n - 1 });
        let Ok(mutant) = serde_json::from_value::<Proof>(t) else {
            undecodable.insert(strip_indices(path));
            continue;
        };
        decoded += 1;
        kinds.insert(strip_indices(path));
        if verify(&cfg, &pk.vk, &mutant).is_ok() {
            accepted.push(path.clone());
        }
    }
    assert!(
        accepted.is_empty(),
        "{} of {decoded} decoded mutants verified, e.g. {:?}",
        accepted.len(),
        &accepted[..accepted.len().min(10)]
    );
    // Every mutant of a number decodes (changing a value by one keeps it in range).
    assert_eq!(
        decoded,
        paths.len(),
        "mutants that did not decode, by kind: {undecodable:#?}"
    );

    // The walk reached every kind of field the issue names, with decoded mutants.
    let all: Vec<&str> = kinds.iter().map(String::as_str).collect();
    for needle in [
        ".commitments.main",
        ".commitments.permutation",
        ".commitments.quotient",
        ".openings.main_local",
        ".openings.quotient_chunks",
        ".openings.permutation_next",
        ".openings.preprocessed_local",
        ".cumulative_sum",
        ".public_values",
        ".opening_proof.commit_phase_commits",
        ".opening_proof.commit_phase_openings",
        ".opening_proof.input_openings",
        ".opening_proof.final_poly",
        ".opening_proof.query_pow_witness",
    ] {
        assert!(
            all.iter().any(|k| k.contains(needle)),
            "no mutation reached {needle}; kinds: {all:#?}"
        );
    }
    eprintln!(
        "{} single-field mutants, {decoded} decoded, over {} field kinds, all rejected:\n{all:#?}",
        paths.len(),
        kinds.len()
    );
}

#[test]
fn every_shortened_or_lengthened_list_is_rejected_without_panic() {
    let cfg = common::config();
    let (pk, inputs) = common::bus_set(&cfg, 3, 4, 2);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    let tree = serde_json::to_value(&proof).unwrap();
    let paths = paths_where(&tree, Value::is_array);
    let mut accepted = Vec::new();
    let mut tried = 0;
    let mut decoded = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for path in &paths {
        for grow in [false, true] {
            let mut t = tree.clone();
            let Value::Array(a) = at(&mut t, path) else {
                unreachable!()
            };
            if grow {
                let Some(last) = a.last().cloned() else {
                    continue;
                };
                a.push(last);
            } else if a.pop().is_none() {
                continue;
            }
            tried += 1;
            let Ok(mutant) = serde_json::from_value::<Proof>(t) else {
                continue;
            };
            decoded += 1;
            kinds.insert(strip_indices(path));
            if verify(&cfg, &pk.vk, &mutant).is_ok() {
                accepted.push(format!(
                    "{path} ({})",
                    if grow { "grown" } else { "shrunk" }
                ));
            }
        }
    }
    assert!(tried > 100);
    // Fixed-size arrays (digests, extension elements) do not decode at another length;
    // every variable-length list must be reached by mutants that decode, so that the
    // verifier's shape checks, not the decoder, are what refuse them.
    let all: Vec<&str> = kinds.iter().map(String::as_str).collect();
    for needle in [
        ".airs",
        ".public_values",
        ".openings.main_local",
        ".openings.main_next",
        ".openings.permutation_local",
        ".openings.quotient_chunks",
        ".opening_proof.commit_phase_commits",
        ".opening_proof.commit_phase_openings",
        ".opening_proof.input_openings",
        ".opening_proof.final_poly",
    ] {
        assert!(
            all.iter().any(|k| k.ends_with(needle)),
            "no decoded length mutant of {needle}; kinds: {all:#?}"
        );
    }
    eprintln!(
        "{tried} length mutants, {decoded} decoded over {} list kinds, all rejected",
        all.len()
    );
    assert!(
        accepted.is_empty(),
        "{} of {tried} length mutants verified: {:?}",
        accepted.len(),
        &accepted[..accepted.len().min(10)]
    );
}
