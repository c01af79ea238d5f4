//! Soundness against lying provers: every lie of the catalogue (prove::forge::lies) is
//! proven with the real prover and refused by the real verifier, and every constraint of
//! every chip is one some lie depends on (or is explained as implied by others).
//!
//! Meant for release mode (`cargo test --release -p starkscope-vm --features forge
//! --test soundness`, as scripts/test.sh runs it): nothing in the prover or verifier looks
//! at the debug checker, in either mode, but release is how users prove.

use starkscope_stark_backend::VerifyError;
use starkscope_vm::prove::air_id;
use starkscope_vm::prove::forge::{coverage, lies, Refusal};

fn lie(name: &str) -> lies::Lie {
    lies::all()
        .into_iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no lie named {name}"))
}

/// The reported forgery: one memory cell with two histories (a second boundary row and a
/// second copy of its Merkle path with its own root row). Output [0] where an honest run
/// outputs [5]; refused by the one-root constraint.
#[test]
fn the_reported_two_history_forgery_is_refused() {
    let (lab, f) = lie("memory/two-histories-for-one-cell").build();
    assert_eq!(f.segment.outputs, vec![starkscope_vm::F::new(0)]);
    let report = f.report(&lab);
    assert!(report.buses_balance(), "{report}");
    assert_eq!(report.failing_constraints().len(), 1, "{report}");
    assert_eq!(report.failures[0].air_name, "merkle");
    match f.prove_and_verify(&lab) {
        Err(Refusal::Verifier(VerifyError::Constraints { air_id: a, .. })) => {
            assert_eq!(a, air_id::MERKLE)
        }
        other => panic!("expected the merkle constraints to refuse it, got {other:?}"),
    }
}

/// The reported forgery: `5 < 5 == 1` with a high limb that is not an integer. Refused by
/// the range lookup of the high limb itself.
#[test]
fn the_reported_lt_forgery_is_refused() {
    for name in [
        "cpu/lt/equal-is-less",
        "cpu/lt/y-plus-one-is-less",
        "cpu/lt/operand-above-2^24",
    ] {
        let (lab, f) = lie(name).build();
        let report = f.report(&lab);
        assert!(report.failures.is_empty(), "{name}: {report}");
        assert!(
            report.unbalanced.iter().all(|u| u.bus == "range16"),
            "{name}: {report}"
        );
        assert!(
            matches!(
                f.prove_and_verify(&lab),
                Err(Refusal::Verifier(VerifyError::UnbalancedBus))
            ),
            "{name}"
        );
    }
}

/// Every lie (the generated Poseidon2 ones sampled) is refused by the verifier, and the
/// debug checker sees each.
#[test]
fn every_lie_is_refused_by_the_verifier() {
    let full = std::env::var("SOUNDNESS_SWEEP").is_ok_and(|v| v == "all");
    let lies = if full { lies::all() } else { lies::sample(9) };
    let mut accepted = Vec::new();
    for lie in &lies {
        let (lab, f) = lie.build();
        assert!(
            !f.report(&lab).is_ok(),
            "{}: the debug checker sees no lie",
            lie.name
        );
        if f.prove_and_verify(&lab).is_ok() {
            accepted.push(lie.name.clone());
        }
    }
    eprintln!("{} lies proven, all refused", lies.len());
    assert!(accepted.is_empty(), "accepted lies: {accepted:?}");
}

/// Every constraint of every chip is one some lie depends on, alone or with others; the
/// few no lie can reach are listed (coverage::IMPLIED) and explained in docs.
#[test]
fn every_constraint_is_covered_or_explained() {
    let cov = coverage::measure(&lies::all());
    eprintln!("{cov}");
    let undetected: Vec<&str> = cov
        .verdicts
        .iter()
        .filter(|v| v.undetected())
        .map(|v| v.lie.as_str())
        .collect();
    assert!(undetected.is_empty(), "lies the AIRs miss: {undetected:?}");
    for chip in &cov.chips {
        let implied: Vec<usize> = coverage::IMPLIED
            .iter()
            .filter(|i| i.chip == chip.name)
            .map(|i| i.constraint)
            .collect();
        assert_eq!(
            chip.uncovered(),
            implied,
            "{}: uncovered constraints differ from the explained ones",
            chip.name
        );
    }
}

/// With the constraints a lie depends on dropped from prover and verifier alike (feature
/// `ablation`), the lie verifies: the dependence the coverage table claims is real, not
/// an artefact of the debug checker. The test command confirms two lies per chip;
/// `SOUNDNESS_SWEEP=all` (scripts/soundness-sweep.sh) confirms every one.
#[cfg(feature = "ablation")]
#[test]
fn a_lie_verifies_once_its_constraints_are_dropped() {
    use std::collections::BTreeMap;
    let all = std::env::var("SOUNDNESS_SWEEP").is_ok_and(|v| v == "all");
    let mut tried: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failed = Vec::new();
    for lie in lies::all() {
        let (lab, f) = lie.build();
        let report = f.report(&lab);
        if !report.buses_balance() || report.failures.is_empty() {
            continue; // refused by a bus: no constraint to drop
        }
        let chip = report.failures[0].air_name.clone();
        let entry = tried.entry(chip.clone()).or_default();
        if !all && entry.0 >= 2 {
            continue;
        }
        let config = lab
            .pk
            .config
            .clone()
            .without_constraints(report.failing_constraints());
        entry.0 += 1;
        match f.prove_and_verify_with(&lab, &config) {
            Ok(()) => entry.1 += 1,
            Err(e) => failed.push(format!("{}: {e:?}", lie.name)),
        }
    }
    eprintln!("| chip | lies proven with their constraints dropped | accepted |");
    eprintln!("|---|---:|---:|");
    for (chip, (n, ok)) in &tried {
        eprintln!("| {chip} | {n} | {ok} |");
    }
    assert!(failed.is_empty(), "still refused: {failed:#?}");
}
