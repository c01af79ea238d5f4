//! Keygen: what it derives, and the AIRs it refuses with a named error.

use std::sync::Arc;

use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::p3::{Air, AirBuilder, BaseAir, RowMajorMatrix, WindowAccess};
use starkscope_stark_backend::{
    keygen, FriPreset, KeygenError, Proof, ProvingKey, StarkAir, StarkConfig, Val, VerifyingKey,
};

/// x^4 = x on every row: degree 4.
struct QuarticAir;
impl BaseAir<Val> for QuarticAir {
    fn width(&self) -> usize {
        1
    }
}
impl<AB: AirBuilder<F = Val>> Air<AB> for QuarticAir {
    fn eval(&self, b: &mut AB) {
        let x = b.main().current_slice()[0];
        b.assert_eq(x * x * x * x, x);
    }
}
impl StarkAir for QuarticAir {
    fn name(&self) -> String {
        "quartic".into()
    }
}

/// Declares 2 preprocessed columns but returns a 1-column matrix.
struct LyingPreprocessed;
impl BaseAir<Val> for LyingPreprocessed {
    fn width(&self) -> usize {
        1
    }
    fn preprocessed_width(&self) -> usize {
        2
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some(RowMajorMatrix::new(vec![Val::new(0); 8], 1))
    }
}
impl<AB: AirBuilder<F = Val>> Air<AB> for LyingPreprocessed {
    fn eval(&self, _: &mut AB) {}
}
impl StarkAir for LyingPreprocessed {
    fn name(&self) -> String {
        "lying".into()
    }
}

#[test]
fn derives_degrees_counts_and_buses() {
    let cfg = StarkConfig::new(FriPreset::Fast);
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(RangeSendAir { extra_columns: 3 }),
        Arc::new(RangeTableAir),
    ];
    let pk = keygen(&cfg, airs).unwrap();
    let fib = pk.air_info(0);
    assert_eq!(
        (
            fib.constraint_degree,
            fib.num_constraints,
            fib.num_interactions
        ),
        (2, 5, 0)
    );
    assert_eq!(fib.permutation_width_ext(), 0);
    let send = pk.air_info(1);
    // bool(active), two c' = c^2 + x, then LogUp: one fraction column and 3 accumulator constraints.
    assert_eq!(send.num_interactions, 1);
    assert_eq!(send.num_constraints, 1 + 2 + 1 + 3);
    assert_eq!(send.permutation_width_ext(), 2);
    let table = pk.air_info(2);
    assert_eq!(table.preprocessed_width(), 1);
    assert_eq!(table.preprocessed.as_ref().unwrap().log_height, 8);
    assert_eq!(
        send.lookup_bus_ids, table.lookup_bus_ids,
        "one named bus, one number"
    );
    assert_eq!(pk.vk.data.num_buses, 1);
    assert!(pk.vk.data.preprocessed_commitment.is_some());
}

#[test]
fn refuses_what_it_cannot_prove() {
    let fast = StarkConfig::new(FriPreset::Fast);
    let err = keygen(&fast, vec![Arc::new(QuarticAir) as Arc<dyn StarkAir>]).unwrap_err();
    assert!(
        matches!(&err, KeygenError::DegreeTooHigh { degree: 4, max: 3, name, .. } if name == "quartic"),
        "{err}"
    );
    // The recursion preset (blowup 4) proves degree 4.
    let rec = StarkConfig::new(FriPreset::Recursion);
    assert!(keygen(&rec, vec![Arc::new(QuarticAir) as Arc<dyn StarkAir>]).is_ok());

    let err = keygen(
        &fast,
        vec![Arc::new(LyingPreprocessed) as Arc<dyn StarkAir>],
    )
    .unwrap_err();
    assert!(matches!(err, KeygenError::BadPreprocessed { .. }), "{err}");
    assert!(matches!(keygen(&fast, vec![]), Err(KeygenError::NoAirs)));
}

#[test]
fn keys_and_proofs_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ProvingKey>();
    send_sync::<VerifyingKey>();
    send_sync::<Proof>();
}
