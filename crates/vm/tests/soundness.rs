//! Soundness: every lie of the catalogue (prove::forge::lies) is refused by the real
//! verifier, and the constraints the lies depend on cover every chip.

use starkscope_vm::prove::forge::{coverage, lies};

#[test]
fn coverage_table() {
    let lies = lies::sample(7);
    let cov = coverage::measure(&lies);
    eprintln!("{cov}");
    for v in &cov.verdicts {
        eprintln!(
            "{:50} failing {:?} buses {:?}",
            v.lie, v.failing, v.unbalanced_buses
        );
    }
}
