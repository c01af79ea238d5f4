//! Issue 17's required test: every mutant of a child proof is rejected by the verifier
//! circuit's *constraints*, not only by our witness generator. A forger does not run
//! `CompiledCircuit::run`; `run_unchecked` (feature `forge`) fills the traces from the
//! mutant's hints as a forger would (every cell computed, no check refusing), and
//! `check_traces` must then find a failing constraint or an unbalanced bus.
//!
//! - single-field mutants (every number of the proof changed by one): `child_hints`
//!   accepts them (same shape, except a changed log height: a shape the circuit does not
//!   verify), `run` refuses them, and the permissive witness fails the tables;
//! - list-length mutants: `child_hints` refuses them with a shape error, without panicking,
//!   except a pruned Merkle multiproof's `sibling_hashes`: how many siblings it holds depends
//!   on where the queries land (the transcript decides), so it is not a shape the circuit
//!   fixes; the hints hold full paths, zero where the multiproof cannot be restored, and
//!   such a mutant must be refused by the constraints like a value mutant;
//! - (ignored, `scripts/verifier-mutation.sh`) one mutant per field kind (per AIR) filled
//!   permissively and proven for real: the outer proof, if the prover makes one, never
//!   verifies.
//!
//! Every mutant is checked (about 2,100 single-field mutants, 25 s in release on 2 cores:
//! the verifier circuit of this child has 3,086 ops).

mod common;

use common::bus_child;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use starkscope_recursion::verifier::{child_hints, verify_child, ChildError, ChildSpec};
use starkscope_recursion::{CircuitBuilder, CompiledCircuit};
use starkscope_stark_backend::debug::check_traces;
use starkscope_stark_backend::testing::mutation::{
    list_length_mutants, single_field_mutants, Change, Mutant,
};
use starkscope_stark_backend::{FriPreset, Proof, StarkConfig};

fn testing() -> StarkConfig {
    StarkConfig::new(FriPreset::Testing)
}

/// The child, its spec and the verifier circuit (built once).
struct Setup {
    proof: Proof,
    spec: ChildSpec,
    cc: CompiledCircuit,
}

fn setup() -> Setup {
    let t = Instant::now();
    let cfg = testing();
    let (child_vk, proof) = bus_child(&cfg, 4, 3, 3);
    let spec = ChildSpec::of_proof(cfg, child_vk, &proof).unwrap();
    let mut b = CircuitBuilder::new();
    verify_child(&mut b, &spec);
    let cc = CompiledCircuit::new(b.build(), testing()).unwrap();
    // The honest child fills a witness that satisfies every table.
    let hints = child_hints(&spec, &proof).unwrap();
    let w = cc.run(&[], &hints).unwrap();
    let report = check_traces(&cc.pk, &w.inputs);
    assert!(
        report.is_ok(),
        "the honest child's witness fails:\n{report}"
    );
    let lax = cc.run_unchecked(&[], &hints).unwrap();
    assert_eq!(
        lax.values, w.values,
        "run_unchecked differs from run on an honest child"
    );
    eprintln!(
        "setup: child + verifier circuit ({} ops, heights {:?}) in {:.1?}",
        cc.circuit.ops.len(),
        cc.program.heights,
        t.elapsed()
    );
    Setup { proof, spec, cc }
}

/// The field kind, with the AIR index kept where the kind is per AIR (`.airs[1].…`).
fn kind_per_air(m: &Mutant) -> String {
    match m.path.strip_prefix(".airs[") {
        Some(rest) => {
            let air = &rest[..rest.find(']').unwrap()];
            format!("{} (AIR {air})", m.kind)
        }
        None => m.kind.clone(),
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "<non-string panic>".into())
}

/// What happened to one decoded mutant.
enum Outcome {
    /// `child_hints` refused the shape.
    Shape(String),
    /// The permissive witness fails some tables' constraints (and maybe the bus: the
    /// number of unbalanced tuples).
    Constraints {
        unbalanced: usize,
        failing: std::collections::BTreeSet<(usize, usize)>,
    },
    /// Only the bus fails.
    BusOnly,
    /// Everything holds: a mutant the circuit accepts.
    Accepted,
}

/// One decoded single-field mutant through the verifier circuit; `Err` for a broken
/// expectation (a panic, `run` accepting it while the traces are bad, ...).
fn check_single(s: &Setup, mutant: &Proof) -> Result<Outcome, String> {
    let hints = match catch_unwind(AssertUnwindSafe(|| child_hints(&s.spec, mutant))) {
        Err(p) => return Err(format!("child_hints panicked: {}", panic_message(&*p))),
        Ok(Err(ChildError::Shape(e))) => return Ok(Outcome::Shape(e)),
        Ok(Err(e)) => return Err(format!("child_hints refused it, not as a shape: {e}")),
        Ok(Ok(h)) => h,
    };
    let checked = catch_unwind(AssertUnwindSafe(|| s.cc.run(&[], &hints)))
        .map_err(|p| format!("run panicked: {}", panic_message(&*p)))?;
    let lax = catch_unwind(AssertUnwindSafe(|| s.cc.run_unchecked(&[], &hints)))
        .map_err(|p| format!("run_unchecked panicked: {}", panic_message(&*p)))?
        .map_err(|e| format!("run_unchecked refused: {e}"))?;
    let report = check_traces(&s.cc.pk, &lax.inputs);
    if !report.shape_errors.is_empty() {
        return Err(format!("permissive traces have the wrong shape:\n{report}"));
    }
    let outcome = match (report.failures.len(), report.unbalanced.len()) {
        (0, 0) => Outcome::Accepted,
        (0, _) => Outcome::BusOnly,
        (_, u) => Outcome::Constraints {
            unbalanced: u,
            failing: report.failing_constraints(),
        },
    };
    if checked.is_ok() {
        return Err(match outcome {
            Outcome::Accepted => "run accepts it and the traces hold: accepted".into(),
            _ => "run accepts it, yet the traces fail".into(),
        });
    }
    Ok(outcome)
}

#[derive(Default)]
struct Counts {
    mutants: usize,
    decoded: usize,
    constraints: usize,
    /// Of `constraints`: with an unbalanced bus too.
    with_bus: usize,
    bus_only: usize,
    shape: usize,
    accepted: usize,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.mutants += o.mutants;
        self.decoded += o.decoded;
        self.constraints += o.constraints;
        self.with_bus += o.with_bus;
        self.bus_only += o.bus_only;
        self.shape += o.shape;
        self.accepted += o.accepted;
    }
}

fn print_table(title: &str, per_kind: &BTreeMap<String, Counts>) {
    let mut total = Counts::default();
    eprintln!("{title}");
    let row = |c: &Counts, what: &str| {
        eprintln!(
            "{:>8} {:>8} {:>12} {:>9} {:>8} {:>6} {:>8}  {what}",
            c.mutants, c.decoded, c.constraints, c.with_bus, c.bus_only, c.shape, c.accepted
        )
    };
    eprintln!(
        "{:>8} {:>8} {:>12} {:>9} {:>8} {:>6} {:>8}  kind",
        "mutants", "decoded", "constraints", "(+bus)", "bus-only", "shape", "accepted"
    );
    for (kind, c) in per_kind {
        total.add(c);
        row(c, kind);
    }
    row(&total, &format!("TOTAL ({} kinds)", per_kind.len()));
}

/// Which constraints of the verifier circuit's tables the mutants depend on: per table, its
/// constraints, those some mutant fails, and those that are some mutant's only failure
/// (an ablation of that constraint alone would accept the mutant).
fn print_coverage(s: &Setup, tripped: &BTreeMap<(usize, usize), (usize, usize)>) {
    eprintln!("verifier-circuit constraints the mutants depend on:");
    eprintln!(
        "{:<16} {:>11} {:>8} {:>6}",
        "table", "constraints", "tripped", "alone"
    );
    for (air, info) in s.cc.vk().data.airs.iter().enumerate() {
        let on = |want_alone: bool| {
            tripped
                .iter()
                .filter(|((a, _), (_, alone))| *a == air && (!want_alone || *alone > 0))
                .count()
        };
        eprintln!(
            "{:<16} {:>11} {:>8} {:>6}",
            info.name,
            info.num_constraints,
            on(false),
            on(true)
        );
    }
}

#[test]
fn every_single_field_mutant_is_rejected_by_the_constraints() {
    let s = setup();
    let t = Instant::now();
    let mutants: Vec<Mutant> = single_field_mutants(&s.proof).collect();
    let mut per_kind: BTreeMap<String, Counts> = BTreeMap::new();
    let mut broken = Vec::new();
    // Per (table, constraint): mutants it fails on, and mutants it alone refuses (nothing
    // else fails, the bus balances): dropping it would let those through.
    let mut tripped: BTreeMap<(usize, usize), (usize, usize)> = BTreeMap::new();
    for m in &mutants {
        let c = per_kind.entry(m.kind.clone()).or_default();
        c.mutants += 1;
        let Some(mutant) = &m.value else { continue };
        c.decoded += 1;
        match check_single(&s, mutant) {
            Ok(Outcome::Constraints {
                unbalanced,
                failing,
            }) => {
                c.constraints += 1;
                c.with_bus += usize::from(unbalanced > 0);
                let alone = failing.len() == 1 && unbalanced == 0;
                for f in failing {
                    let e = tripped.entry(f).or_default();
                    e.0 += 1;
                    e.1 += usize::from(alone);
                }
            }
            Ok(Outcome::BusOnly) => c.bus_only += 1,
            Ok(Outcome::Shape(e)) => {
                c.shape += 1;
                // Only a changed log height is another shape: the circuit fixes heights.
                if !m.kind.ends_with(".log_height") {
                    broken.push(format!("{}: shape error on a value mutant: {e}", m.path));
                }
            }
            Ok(Outcome::Accepted) => {
                c.accepted += 1;
                broken.push(format!("{}: accepted by the circuit's tables", m.path));
            }
            Err(e) => broken.push(format!("{}: {e}", m.path)),
        }
    }
    print_table("single-field mutants:", &per_kind);
    eprintln!("checked in {:.1?}", t.elapsed());
    print_coverage(&s, &tripped);
    assert!(
        broken.is_empty(),
        "{} broken expectations:\n{}",
        broken.len(),
        broken.join("\n")
    );
    let decoded: usize = per_kind.values().map(|c| c.decoded).sum();
    assert!(decoded > 0);
}

#[test]
fn every_list_length_mutant_is_a_shape_error_without_panic() {
    let s = setup();
    let t = Instant::now();
    let mut per_kind: BTreeMap<String, Counts> = BTreeMap::new();
    let mut broken = Vec::new();
    for m in list_length_mutants(&s.proof) {
        let how = if m.change == Change::Grown {
            "grown"
        } else {
            "shrunk"
        };
        let c = per_kind.entry(m.kind.clone()).or_default();
        c.mutants += 1;
        let Some(mutant) = &m.value else { continue };
        c.decoded += 1;
        if m.kind.ends_with(".opening_proof.sibling_hashes") {
            // A pruned multiproof's sibling count depends on where the queries land, which
            // the transcript decides: not a shape the circuit fixes. The hints hold full
            // paths; one that cannot be restored is zero siblings, refused by the root check.
            match check_single(&s, mutant) {
                Ok(Outcome::Constraints { unbalanced, .. }) => {
                    c.constraints += 1;
                    c.with_bus += usize::from(unbalanced > 0);
                }
                Ok(Outcome::BusOnly) => c.bus_only += 1,
                Ok(Outcome::Shape(e)) => {
                    c.shape += 1;
                    broken.push(format!("{} ({how}): shape error: {e}", m.path));
                }
                Ok(Outcome::Accepted) => {
                    c.accepted += 1;
                    broken.push(format!(
                        "{} ({how}): accepted by the circuit's tables",
                        m.path
                    ));
                }
                Err(e) => broken.push(format!("{} ({how}): {e}", m.path)),
            }
            continue;
        }
        match catch_unwind(AssertUnwindSafe(|| child_hints(&s.spec, mutant))) {
            Ok(Err(ChildError::Shape(_))) => c.shape += 1,
            Ok(Err(e)) => broken.push(format!("{} ({how}): not a shape error: {e}", m.path)),
            Ok(Ok(_)) => {
                c.accepted += 1;
                broken.push(format!("{} ({how}): child_hints accepted it", m.path));
            }
            Err(p) => broken.push(format!(
                "{} ({how}): child_hints panicked: {}",
                m.path,
                panic_message(&*p)
            )),
        }
    }
    print_table("list-length mutants:", &per_kind);
    eprintln!("checked in {:.1?}", t.elapsed());
    assert!(
        broken.is_empty(),
        "{} broken expectations:\n{}",
        broken.len(),
        broken.join("\n")
    );
    let decoded: usize = per_kind.values().map(|c| c.decoded).sum();
    assert!(decoded > 0);
}

/// Every mutant (`VERIFIER_MUTATION=all`, scripts/verifier-mutation.sh) or else one per
/// field kind, per AIR where the kind is per AIR (the middle one of the kind, in tree
/// order): the decoded single-field mutants and the list-length mutants of the pruned
/// multiproofs' `sibling_hashes` (the list mutants the hints accept).
fn forgeable_mutants(proof: &Proof) -> Vec<(String, Mutant)> {
    let mut by_kind: BTreeMap<String, Vec<Mutant>> = BTreeMap::new();
    for m in single_field_mutants(proof) {
        by_kind.entry(kind_per_air(&m)).or_default().push(m);
    }
    for m in list_length_mutants(proof) {
        if m.kind.ends_with(".opening_proof.sibling_hashes") {
            let how = if m.change == Change::Grown {
                "grown"
            } else {
                "shrunk"
            };
            by_kind
                .entry(format!("{} ({how})", m.kind))
                .or_default()
                .push(m);
        }
    }
    let all = std::env::var("VERIFIER_MUTATION").is_ok_and(|v| v == "all");
    by_kind
        .into_iter()
        .flat_map(|(kind, ms)| {
            let picked: Vec<Mutant> = if all {
                ms
            } else {
                let mid = ms.len() / 2;
                ms.into_iter().skip(mid).take(1).collect()
            };
            picked.into_iter().map(move |m| (kind.clone(), m))
        })
        .collect()
}

/// The forger's whole path: mutants filled permissively and proven for real with the
/// backend's prover; an outer proof, if the prover makes one, must not verify, and nothing
/// may panic. The test command proves one mutant per kind (about 35 proofs of 50 ms);
/// scripts/verifier-mutation.sh proves every mutant.
#[test]
fn forged_outer_proofs_of_mutants_never_verify() {
    let s = setup();
    let t = Instant::now();
    let mutants = forgeable_mutants(&s.proof);
    let (mut decoded, mut shape, mut proven, mut prove_refused) = (0, 0, 0, 0);
    let mut per_kind: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    let mut broken = Vec::new();
    for (kind, m) in &mutants {
        let k = per_kind.entry(kind.clone()).or_default();
        k[0] += 1;
        let Some(mutant) = &m.value else { continue };
        decoded += 1;
        let hints = match catch_unwind(AssertUnwindSafe(|| child_hints(&s.spec, mutant))) {
            Ok(Ok(h)) => h,
            Ok(Err(_)) => {
                shape += 1;
                k[1] += 1;
                continue;
            }
            Err(p) => {
                broken.push(format!(
                    "{}: child_hints panicked: {}",
                    m.path,
                    panic_message(&*p)
                ));
                continue;
            }
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            let w = s.cc.run_unchecked(&[], &hints).expect("hint count");
            s.cc.prove(w).map(|proof| s.cc.verify(&proof, &[]))
        }));
        match result {
            Err(p) => broken.push(format!("{}: panicked: {}", m.path, panic_message(&*p))),
            Ok(Err(_)) => {
                prove_refused += 1;
                k[2] += 1;
            }
            Ok(Ok(verdict)) => {
                proven += 1;
                k[3] += 1;
                if verdict.is_ok() {
                    broken.push(format!("{}: the forged outer proof VERIFIES", m.path));
                }
            }
        }
    }
    eprintln!("forged outer proofs:");
    eprintln!(
        "{:>8} {:>6} {:>14} {:>24}  kind",
        "mutants", "shape", "prover-refused", "proven, refused by verify"
    );
    for (kind, [n, sh, pr, pv]) in &per_kind {
        eprintln!("{n:>8} {sh:>6} {pr:>14} {pv:>24}  {kind}");
    }
    eprintln!(
        "forged outer proofs: {} mutants over {} kinds, {decoded} decoded, {shape} refused as \
         shape, {prove_refused} refused by the prover, {proven} proven and every one refused \
         by verify; {:.1?}",
        mutants.len(),
        per_kind.len(),
        t.elapsed()
    );
    assert!(
        broken.is_empty(),
        "{} broken expectations:\n{}",
        broken.len(),
        broken.join("\n")
    );
    assert!(proven > 0);
}
