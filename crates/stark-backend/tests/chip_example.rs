//! The chip from docs/stark-backend.md ("Writing a chip"), with a cpu-like sender: a
//! constant in the tuple, a negative bounded count, padding rows that send nothing.

use std::sync::Arc;

use starkscope_stark_backend::debug::check_traces;
use starkscope_stark_backend::p3::{
    Air, AirBuilder, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{
    keygen, prove, verify, AirInput, Count, FriPreset, InteractionBuilder, StarkAir, StarkConfig,
    Val, VerifyError,
};

struct AddChip; // a, b, c, is_real
impl BaseAir<Val> for AddChip {
    fn width(&self) -> usize {
        4
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}
impl<AB: InteractionBuilder<F = Val>> Air<AB> for AddChip {
    fn eval(&self, b: &mut AB) {
        let m = b.main();
        let r = m.current_slice();
        b.assert_bool(r[3]);
        b.when(r[3]).assert_eq(r[2], r[0] + r[1]);
        b.push_interaction(
            "exec",
            [AB::Expr::from_u32(7), r[0].into(), r[1].into(), r[2].into()],
            Count::bounded(-r[3].into(), 1),
        );
    }
}
impl StarkAir for AddChip {
    fn name(&self) -> String {
        "add".into()
    }
}

/// Sends (7, a, b, c) when `send` is 1: columns a, b, c, send.
struct CpuChip;
impl BaseAir<Val> for CpuChip {
    fn width(&self) -> usize {
        4
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}
impl<AB: InteractionBuilder<F = Val>> Air<AB> for CpuChip {
    fn eval(&self, b: &mut AB) {
        let m = b.main();
        let r = m.current_slice();
        b.assert_bool(r[3]);
        b.push_interaction(
            "exec",
            [AB::Expr::from_u32(7), r[0].into(), r[1].into(), r[2].into()],
            Count::bounded(r[3].into(), 1),
        );
    }
}
impl StarkAir for CpuChip {
    fn name(&self) -> String {
        "cpu".into()
    }
}

fn rows(n_real: usize, height: usize, bump_c: bool) -> RowMajorMatrix<Val> {
    let mut v = Val::zero_vec(4 * height);
    for i in 0..n_real {
        let (a, b) = (Val::from_usize(i), Val::from_usize(3 * i + 1));
        v[4 * i..4 * i + 4].copy_from_slice(&[
            a,
            b,
            a + b + Val::from_bool(bump_c && i == 2),
            Val::ONE,
        ]);
    }
    RowMajorMatrix::new(v, 4)
}

#[test]
fn chip_from_the_docs_proves_and_its_bus_is_checked() {
    let cfg = StarkConfig::new(FriPreset::Testing);
    let airs: Vec<Arc<dyn StarkAir>> = vec![Arc::new(CpuChip), Arc::new(AddChip)];
    let pk = keygen(&cfg, airs).unwrap();
    // The cpu pads to 32 rows, the add chip to 8: heights differ, padding sends nothing.
    let inputs = vec![
        AirInput::new(rows(5, 32, false), vec![]),
        AirInput::new(rows(5, 8, false), vec![]),
    ];
    assert!(check_traces(&pk, &inputs).is_ok());
    let proof = prove(&cfg, &pk, inputs).unwrap();
    verify(&cfg, &pk.vk, &proof).unwrap();
    let bytes = proof.to_bytes(cfg.preset()).unwrap();
    verify(
        &cfg,
        &pk.vk,
        &starkscope_stark_backend::Proof::from_bytes(&bytes, cfg.preset()).unwrap(),
    )
    .unwrap();

    // The cpu claims a wrong sum for one instruction: the add chip's rows no longer match.
    let inputs = vec![
        AirInput::new(rows(5, 32, true), vec![]),
        AirInput::new(rows(5, 8, false), vec![]),
    ];
    let report = check_traces(&pk, &inputs);
    assert_eq!(report.unbalanced.len(), 2, "{report}");
    let proof = prove(&cfg, &pk, inputs).unwrap();
    assert!(matches!(
        verify(&cfg, &pk.vk, &proof),
        Err(VerifyError::UnbalancedBus)
    ));
}
