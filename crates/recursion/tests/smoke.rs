mod common;

use common::*;
use starkscope_recursion::{CircuitBuilder, Lane};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Challenge, Val};

#[test]
fn every_op_proves_and_verifies() {
    let mut b = CircuitBuilder::new();
    let x = b.public();
    let h = b.hint_ext();
    let y = b.mul_add(h, x.ext(), h);
    let i = b.inverse(y);
    let one = b.mul(i, y);
    let one_c = b.one();
    b.assert_eq(one, one_c.ext());
    let bits = b.bits(x);
    let s = b.select(bits[0], h, y);
    let _ = b.sub(s, h);
    let _ = b.neg(s);
    let out = b.poseidon2([Lane::Val(x); 16]);
    let out2 = b.poseidon2(out.map(Lane::Val));
    let _ = b.add(out2[3], out[2]);
    let limbs = b.ext_to_limbs(h);
    let back = b.ext_from_limbs(limbs);
    b.assert_eq(back, h);
    let c = compile(b.build());
    let mut r = rng(1);
    prove_and_verify(&c, &[Val::from_u32(12345)], &[ext(&mut r)]);
    let _ = Challenge::ONE;
}

#[test]
fn debug_report() {
    let mut b = CircuitBuilder::new();
    let x = b.public();
    let h = b.hint_ext();
    let y = b.mul_add(h, x.ext(), h);
    let _i = b.inverse(y);
    let c = compile(b.build());
    let mut r = rng(1);
    let w = c.run(&[Val::from_u32(12345)], &[ext(&mut r)]).unwrap();
    let rep = starkscope_stark_backend::debug::check_traces(&c.pk, &w.inputs);
    eprintln!("{rep}");
    assert!(rep.is_ok());
}
