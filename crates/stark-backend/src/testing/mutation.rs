//! Mutants of a proof (or any serde value), for "every change is rejected" tests.
//!
//! The value is serialised to a `serde_json` tree, so every number serde writes is
//! reached: commitment digest elements, opened values, cumulative sums, public values, FRI
//! layer commitments, sibling values, Merkle path digests, final polynomial coefficients,
//! proof-of-work witnesses. Each mutant changes one thing and is decoded back; a mutant
//! that does not decode has `value: None` (it tests the decoder, not the verifier).
//!
//! Paths name the changed node from the root: `.key` for an object field, `[i]` for a list
//! element, e.g. `.airs[0].openings.main_local[3][1]`. A mutant's `kind` is its path with
//! the indices removed (`.airs[].openings.main_local[][]`).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::proof::Proof;

/// What a mutant changed at its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A number replaced by another of the same kind: `n - 1`, or 1 when `n` is 0 (so a
    /// field element stays in range).
    Number { from: u64, to: u64 },
    /// A list with its last element removed.
    Shrunk,
    /// A list with its last element appended once more.
    Grown,
}

/// One mutant: where, what kind of field, what changed, and the decoded value.
#[derive(Clone, Debug)]
pub struct Mutant<T = Proof> {
    pub path: String,
    pub kind: String,
    pub change: Change,
    /// `None` if the mutated tree does not decode as `T`.
    pub value: Option<T>,
}

/// Every number of `value`, changed one at a time (see [`Change::Number`]), in tree order.
pub fn single_field_mutants<T: Serialize + DeserializeOwned>(
    value: &T,
) -> impl Iterator<Item = Mutant<T>> {
    let tree = serde_json::to_value(value).expect("serialises");
    let paths = paths_where(&tree, Value::is_number);
    paths.into_iter().map(move |path| {
        let mut t = tree.clone();
        let leaf = at(&mut t, &path);
        let from = leaf.as_u64().expect("numbers in a proof are unsigned");
        let to = if from == 0 { 1 } else { from - 1 };
        *leaf = Value::from(to);
        mutant(path, Change::Number { from, to }, t)
    })
}

/// Every non-empty list of `value` shrunk by one and grown by one (its last element
/// repeated), shrunk first, in tree order. Fixed-size arrays (digests, extension elements)
/// are lists in the tree too; their mutants do not decode.
pub fn list_length_mutants<T: Serialize + DeserializeOwned>(
    value: &T,
) -> impl Iterator<Item = Mutant<T>> {
    let tree = serde_json::to_value(value).expect("serialises");
    let paths = paths_where(&tree, |v| v.as_array().is_some_and(|a| !a.is_empty()));
    paths.into_iter().flat_map(move |path| {
        let tree = &tree;
        [Change::Shrunk, Change::Grown].map(|change| {
            let mut t = tree.clone();
            let Value::Array(a) = at(&mut t, &path) else {
                unreachable!("selected as a list")
            };
            if change == Change::Grown {
                a.push(a.last().cloned().expect("non-empty"));
            } else {
                a.pop();
            }
            mutant(path.clone(), change, t)
        })
    })
}

/// A path with its `[i]` indices emptied to `[]`: the kind of field it names.
pub fn kind_of(path: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for c in path.chars() {
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

fn mutant<T: DeserializeOwned>(path: String, change: Change, tree: Value) -> Mutant<T> {
    Mutant {
        kind: kind_of(&path),
        path,
        change,
        value: serde_json::from_value(tree).ok(),
    }
}

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

/// The node at `path` (as [`walk`] writes paths).
fn at<'a>(v: &'a mut Value, path: &str) -> &'a mut Value {
    let mut cur = v;
    for part in path.split(['.', '[']).filter(|s| !s.is_empty()) {
        cur = match part.strip_suffix(']') {
            Some(i) => &mut cur[i.parse::<usize>().expect("index")],
            None => &mut cur[part],
        };
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
    struct S {
        a: [u32; 2],
        b: Vec<Vec<u8>>,
    }

    #[test]
    fn paths_kinds_and_counts() {
        let s = S {
            a: [0, 5],
            b: vec![vec![1], vec![]],
        };
        let m: Vec<_> = single_field_mutants(&s).collect();
        let paths: Vec<_> = m.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, [".a[0]", ".a[1]", ".b[0][0]"]);
        assert_eq!(m[0].change, Change::Number { from: 0, to: 1 });
        assert_eq!(m[1].value.as_ref().unwrap().a, [0, 4]);
        assert_eq!(m[2].kind, ".b[][]");
        let l: Vec<_> = list_length_mutants(&s).collect();
        // .a (2, fixed size: no decode), .b (2), .b[0] (2); .b[1] is empty.
        assert_eq!(l.len(), 6);
        assert!(l[0].value.is_none() && l[1].value.is_none());
        assert_eq!(l[2].path, ".b");
        assert_eq!(l[3].value.as_ref().unwrap().b.len(), 3);
        assert_eq!(l[5].value.as_ref().unwrap().b[0], [1, 1]);
    }
}
