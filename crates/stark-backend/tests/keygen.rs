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

/// Two columns, one constraint per row: `col1 = col0 + K` (same shape for every K), and
/// optionally a transition reading the next row.
struct Offset<const K: u32, const NEXT: bool, const DECLARE_NEXT: bool>;
impl<const K: u32, const NEXT: bool, const DECLARE_NEXT: bool> BaseAir<Val>
    for Offset<K, NEXT, DECLARE_NEXT>
{
    fn width(&self) -> usize {
        2
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        if DECLARE_NEXT {
            vec![0]
        } else {
            vec![]
        }
    }
}
impl<AB: AirBuilder<F = Val>, const K: u32, const NEXT: bool, const DECLARE_NEXT: bool> Air<AB>
    for Offset<K, NEXT, DECLARE_NEXT>
{
    fn eval(&self, b: &mut AB) {
        let m = b.main();
        let (x, y) = (m.current_slice()[0], m.current_slice()[1]);
        b.assert_eq(y, x + AB::Expr::from(Val::new(K)));
        if NEXT {
            let x_next = m.next_slice()[0];
            b.when_transition().assert_eq(x_next, x);
        }
    }
}
impl<const K: u32, const NEXT: bool, const DECLARE_NEXT: bool> StarkAir
    for Offset<K, NEXT, DECLARE_NEXT>
{
    fn name(&self) -> String {
        "offset".into()
    }
}

fn offset_trace(k: u32) -> RowMajorMatrix<Val> {
    RowMajorMatrix::new(
        (0..8)
            .flat_map(|_| [Val::new(3), Val::new(3 + k)])
            .collect(),
        2,
    )
}

/// The key digest binds the constraints themselves: two AIRs of one shape and one
/// constraint count that differ only in a constant get different digests, and a proof
/// made under one key is refused under the other even for a trace both accept.
#[test]
fn the_key_digest_binds_the_constraints_not_only_their_shape() {
    use starkscope_stark_backend::{prove, verify, AirInput};
    let cfg = StarkConfig::new(FriPreset::Fast);
    let one = keygen(&cfg, vec![Arc::new(Offset::<1, false, false>)]).unwrap();
    let two = keygen(&cfg, vec![Arc::new(Offset::<2, false, false>)]).unwrap();
    assert_eq!(
        one.vk.data.airs[0].num_constraints,
        two.vk.data.airs[0].num_constraints
    );
    assert_ne!(one.vk.data.digest, two.vk.data.digest);
    // Deterministic: the same AIRs give the same digest.
    let again = keygen(&cfg, vec![Arc::new(Offset::<1, false, false>)]).unwrap();
    assert_eq!(one.vk.data.digest, again.vk.data.digest);

    let proof = prove(&cfg, &one, vec![AirInput::new(offset_trace(1), vec![])]).unwrap();
    verify(&cfg, &one.vk, &proof).unwrap();
    assert!(verify(&cfg, &two.vk, &proof).is_err());

    // A key file whose digest was edited is refused on reading.
    let mut edited = one.vk.clone();
    edited.data.digest[3] += Val::new(1);
    let bytes = edited.to_bytes().unwrap();
    assert!(VerifyingKey::from_bytes(&bytes, vec![Arc::new(Offset::<1, false, false>)]).is_err());
}

/// Next-row openings follow the constraints: an AIR that reads no next row opens none
/// (whatever it declares), and one that reads an undeclared next-row column is refused.
#[test]
fn next_row_openings_are_derived_from_the_constraints() {
    let cfg = StarkConfig::new(FriPreset::Fast);
    let declared_unused = keygen(&cfg, vec![Arc::new(Offset::<1, false, true>)]).unwrap();
    assert!(!declared_unused.vk.data.airs[0].opens_main_next);
    let used = keygen(&cfg, vec![Arc::new(Offset::<1, true, true>)]).unwrap();
    assert!(used.vk.data.airs[0].opens_main_next);
    let err = keygen(&cfg, vec![Arc::new(Offset::<1, true, false>)]).unwrap_err();
    assert!(
        matches!(err, KeygenError::Unsupported { .. }) && err.to_string().contains("next row"),
        "{err}"
    );
}
