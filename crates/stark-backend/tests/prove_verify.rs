//! Honest proofs verify; wrong traces, public values and unbalanced buses do not.
//! The prover never runs the debug checker, so these hold in release builds too.

mod common;

use starkscope_stark_backend::debug::{assert_traces_ok, check_traces};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{prove, verify, Val, VerifyError};

#[test]
fn fibonacci_with_public_values_across_heights() {
    let cfg = common::config();
    for log_h in 3..=15 {
        let (pk, inputs) = common::fib(&cfg, log_h);
        assert_traces_ok(&pk, &inputs);
        let proof = prove(&cfg, &pk, inputs).unwrap();
        verify(&cfg, &pk.vk, &proof).unwrap_or_else(|e| panic!("2^{log_h}: {e}"));
    }
}

#[test]
fn fibonacci_at_2_pow_16() {
    let cfg = common::config();
    let (pk, inputs) = common::fib(&cfg, 16);
    let proof = prove(&cfg, &pk, inputs).unwrap();
    verify(&cfg, &pk.vk, &proof).unwrap();
}

#[test]
fn two_tables_linked_by_a_bus_with_preprocessed_columns() {
    let cfg = common::config();
    for (log_fib, log_send) in [(3, 3), (5, 11), (12, 4)] {
        let (pk, inputs) = common::bus_set(&cfg, log_fib, log_send, 4);
        assert_traces_ok(&pk, &inputs);
        let proof = prove(&cfg, &pk, inputs).unwrap();
        verify(&cfg, &pk.vk, &proof).unwrap_or_else(|e| panic!("({log_fib},{log_send}): {e}"));
        assert!(proof.airs[1].cumulative_sum.is_some());
        assert!(proof.airs[0].cumulative_sum.is_none());
    }
}

#[test]
fn every_preset_proves_and_verifies() {
    for preset in starkscope_stark_backend::FriPreset::ALL {
        let cfg = starkscope_stark_backend::StarkConfig::new(preset);
        let (pk, inputs) = common::bus_set(&cfg, 4, 6, 3);
        let proof = prove(&cfg, &pk, inputs).unwrap();
        verify(&cfg, &pk.vk, &proof).unwrap_or_else(|e| panic!("{preset}: {e}"));
    }
}

#[test]
fn wrong_trace_is_rejected() {
    let cfg = common::config();
    let (pk, mut inputs) = common::fib(&cfg, 6);
    inputs[0].trace.values[2 * 20 + 1] += Val::ONE;
    let report = check_traces(&pk, &inputs);
    // Row 20's b feeds `a' = b` on row 20 and `b' = a + b` on rows 19 and 20.
    assert_eq!(
        report.failing_constraints(),
        [(0, 2), (0, 3)].into_iter().collect(),
        "{report}"
    );
    let rows: Vec<(usize, usize)> = report.failures.iter().map(|f| (f.row, f.rows)).collect();
    assert_eq!(rows, vec![(20, 1), (19, 2)]);
    assert_eq!(report.failures[0].air_name, "fibonacci");
    let proof = prove(&cfg, &pk, inputs).unwrap();
    assert!(matches!(
        verify(&cfg, &pk.vk, &proof),
        Err(VerifyError::Constraints { air_id: 0, .. })
    ));
}

#[test]
fn wrong_trace_in_a_bus_set_is_rejected() {
    let cfg = common::config();
    let (pk, mut inputs) = common::bus_set(&cfg, 4, 6, 4);
    // Break the sender's work columns (not its bus tuple).
    let w = inputs[1].trace.width;
    inputs[1].trace.values[w * 9 + 4] += Val::ONE;
    let proof = prove(&cfg, &pk, inputs).unwrap();
    assert!(matches!(
        verify(&cfg, &pk.vk, &proof),
        Err(VerifyError::Constraints { air_id: 1, .. })
    ));
}

#[test]
fn wrong_public_value_is_rejected() {
    let cfg = common::config();
    // The prover claims a wrong final value.
    let (pk, mut inputs) = common::fib(&cfg, 5);
    inputs[0].public_values[2] += Val::ONE;
    let proof = prove(&cfg, &pk, inputs).unwrap();
    assert!(matches!(
        verify(&cfg, &pk.vk, &proof),
        Err(VerifyError::Constraints { .. })
    ));

    // An honest proof whose public value is edited afterwards.
    let (pk, inputs) = common::fib(&cfg, 5);
    let mut proof = prove(&cfg, &pk, inputs).unwrap();
    verify(&cfg, &pk.vk, &proof).unwrap();
    proof.airs[0].public_values[0] += Val::ONE;
    assert!(verify(&cfg, &pk.vk, &proof).is_err());
}

#[test]
fn unbalanced_bus_is_rejected() {
    let cfg = common::config();
    let (pk, mut inputs) = common::bus_set(&cfg, 4, 6, 2);
    // The table claims one more receive of byte 200 than was sent.
    inputs[2].trace.values[200] += Val::ONE;
    let report = check_traces(&pk, &inputs);
    assert!(report.failures.is_empty());
    assert_eq!(report.unbalanced.len(), 1, "{report}");
    assert_eq!(report.unbalanced[0].tuple, vec![200]);
    assert_eq!(report.unbalanced[0].bus, "range8");
    let proof = prove(&cfg, &pk, inputs).unwrap();
    assert!(matches!(
        verify(&cfg, &pk.vk, &proof),
        Err(VerifyError::UnbalancedBus)
    ));
}

#[test]
fn sender_of_an_out_of_table_value_is_rejected() {
    let cfg = common::config();
    let (pk, mut inputs) = common::bus_set(&cfg, 4, 6, 2);
    // Row 0 is active; it now sends 256, which the table does not hold.
    let w = inputs[1].trace.width;
    let x = inputs[1].trace.values[0];
    inputs[1].trace.values[0] = Val::from_u32(256);
    let idx = starkscope_stark_backend::example_airs::as_u32(x) as usize;
    // Keep the table's counts as they were: the bus is now unbalanced on 256 and x.
    let _ = (w, idx);
    let report = check_traces(&pk, &inputs);
    assert_eq!(report.unbalanced.len(), 2, "{report}");
    let proof = prove(&cfg, &pk, inputs).unwrap();
    assert!(verify(&cfg, &pk.vk, &proof).is_err());
}

#[test]
fn mismatched_inputs_are_errors_not_panics() {
    let cfg = common::config();
    let (pk, mut inputs) = common::fib(&cfg, 4);
    inputs[0].public_values.pop();
    assert!(prove(&cfg, &pk, inputs).is_err());
    let (pk, inputs) = common::fib(&cfg, 4);
    assert!(prove(&cfg, &pk, vec![inputs[0].clone(), inputs[0].clone()]).is_err());
    let other =
        starkscope_stark_backend::StarkConfig::new(starkscope_stark_backend::FriPreset::Fast);
    assert!(prove(&other, &pk, inputs).is_err());
}

/// `col == is_first_row`: compares a selector with a column, which only makes sense with
/// the prover's own (unnormalised) selector values.
struct FirstRowFlag;
impl starkscope_stark_backend::p3::BaseAir<Val> for FirstRowFlag {
    fn width(&self) -> usize {
        1
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}
impl<AB: starkscope_stark_backend::p3::AirBuilder<F = Val>> starkscope_stark_backend::p3::Air<AB>
    for FirstRowFlag
{
    fn eval(&self, b: &mut AB) {
        use starkscope_stark_backend::p3::WindowAccess;
        let first = b.is_first_row();
        let col = b.main().current_slice()[0];
        b.assert_eq(col, first);
    }
}
impl starkscope_stark_backend::StarkAir for FirstRowFlag {
    fn name(&self) -> String {
        "first_row_flag".into()
    }
}

/// The debug checker sees the selectors the prover uses: a trace passes it exactly when it
/// proves. Plonky3's first-row selector is `n` on row 0, so `col = 1` there fails both,
/// and `col = n` passes both.
#[test]
fn the_debug_checker_agrees_with_the_prover_on_selectors() {
    use starkscope_stark_backend::p3::RowMajorMatrix;
    use starkscope_stark_backend::{keygen, AirInput};
    use std::sync::Arc;
    let cfg = common::config();
    let pk = keygen(&cfg, vec![Arc::new(FirstRowFlag)]).unwrap();
    let n = 8u32;
    for (first, holds) in [(1, false), (n, true)] {
        let mut col = vec![Val::new(0); n as usize];
        col[0] = Val::new(first);
        let inputs = vec![AirInput::new(RowMajorMatrix::new(col, 1), vec![])];
        assert_eq!(
            check_traces(&pk, &inputs).is_ok(),
            holds,
            "col[0] = {first}"
        );
        let proof = prove(&cfg, &pk, inputs).unwrap();
        assert_eq!(
            verify(&cfg, &pk.vk, &proof).is_ok(),
            holds,
            "col[0] = {first}"
        );
    }
}

/// The aggregation preset (arity-8 folding, final polynomial of length 8, cap height 4)
/// across heights: heights below and above the cap, inputs joining mid-schedule (rounds
/// that fold less than 8), and a serialized round trip.
#[test]
fn aggregation_preset_across_heights() {
    use starkscope_stark_backend::codec::{proof_from_bytes, proof_to_bytes_with_preset};
    use starkscope_stark_backend::{FriPreset, StarkConfig};
    let cfg = StarkConfig::new(FriPreset::Aggregation);
    // p3-fri refuses an input not above the final domain (2^(log_blowup + 3) rows): a
    // trace needs at least 16 rows under this preset.
    let (pk, inputs) = common::fib(&cfg, 3);
    assert!(prove(&cfg, &pk, inputs).is_err());
    for log_h in [4, 5, 6, 9, 12] {
        let (pk, inputs) = common::fib(&cfg, log_h);
        let proof = prove(&cfg, &pk, inputs).unwrap();
        verify(&cfg, &pk.vk, &proof).unwrap_or_else(|e| panic!("2^{log_h}: {e}"));
    }
    for (log_fib, log_send) in [(4, 4), (5, 11), (12, 4), (7, 6)] {
        let (pk, inputs) = common::bus_set(&cfg, log_fib, log_send, 4);
        let proof = prove(&cfg, &pk, inputs).unwrap();
        verify(&cfg, &pk.vk, &proof).unwrap_or_else(|e| panic!("({log_fib},{log_send}): {e}"));
        let bytes = proof_to_bytes_with_preset(&proof, cfg.preset()).unwrap();
        let back = proof_from_bytes(&bytes, cfg.preset()).unwrap();
        verify(&cfg, &pk.vk, &back).unwrap();
        let mut bad = back.clone();
        bad.opening_proof.final_poly[3] += starkscope_stark_backend::Challenge::ONE;
        assert!(verify(&cfg, &pk.vk, &bad).is_err());
    }
}
