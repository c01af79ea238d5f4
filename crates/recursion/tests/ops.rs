//! Every op against native arithmetic on random inputs, in the base and the extension
//! field: the witness holds the native result, and the run proves and verifies.

mod common;

use common::*;
use starkscope_recursion::{CircuitBuilder, Ext, Felt, Group, Var};
use starkscope_stark_backend::p3::{Field, PrimeCharacteristicRing, PrimeField32};
use starkscope_stark_backend::{poseidon2, Challenge, Val};

/// A circuit of every op on `n` random operand sets, checked against native results.
fn random_ops<V: Var>(seed: u64, n: usize, base: bool) {
    let mut r = rng(seed);
    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let mut expect: Vec<(V, Challenge)> = Vec::new();
    let draw = |r: &mut rand::rngs::SmallRng| {
        if base {
            Challenge::from(felt(r))
        } else {
            ext(r)
        }
    };
    for _ in 0..n {
        let (x, y, z) = (draw(&mut r), draw(&mut r), draw(&mut r));
        let hx: V = hint(&mut b, base);
        let hy: V = hint(&mut b, base);
        let hz: V = hint(&mut b, base);
        hints.extend([x, y, z]);
        let k = felt(&mut r);
        let coeffs = [felt(&mut r), felt(&mut r), felt(&mut r), felt(&mut r)];
        expect.push((b.add(hx, hy), x + y));
        expect.push((b.sub(hx, hy), x - y));
        expect.push((b.mul(hx, hy), x * y));
        expect.push((b.mul_add(hx, hy, hz), x * y + z));
        expect.push((b.neg(hx), -x));
        expect.push((b.scale(hx, k), x * k));
        expect.push((
            b.linear(coeffs, hx, hy, hz),
            x * y * coeffs[0] + x * coeffs[1] + y * coeffs[2] + z * coeffs[3],
        ));
        expect.push((b.inverse(hx), x.inverse()));
        expect.push((b.div(hy, hx), y / x));
        let bit = b.hint_felt();
        let bv = r.random_bool_(0.5);
        hints.push(Challenge::from(Val::from_bool(bv)));
        expect.push((b.select(bit, hx, hy), if bv { x } else { y }));
        let s = b.add(hx, hy);
        b.assert_eq(s, s);
    }
    let circuit = compile(b.build());
    let w = circuit.run(&[], &hints).expect("runs");
    for (i, (v, e)) in expect.iter().enumerate() {
        assert_eq!(w.values[v.addr() as usize], *e, "op {i}");
    }
    let proof = circuit.prove(w).expect("proves");
    circuit.verify(&proof, &[]).expect("verifies");
}

fn hint<V: Var>(b: &mut CircuitBuilder, base: bool) -> V {
    assert_eq!(base, V::BASE);
    b.hint::<V>()
}

trait RandBool {
    fn random_bool_(&mut self, p: f64) -> bool;
}
impl RandBool for rand::rngs::SmallRng {
    fn random_bool_(&mut self, p: f64) -> bool {
        rand::Rng::random_bool(self, p)
    }
}

#[test]
fn base_ops_match_native_arithmetic() {
    for seed in 0..4 {
        random_ops::<Felt>(seed, 16, true);
    }
}

#[test]
fn extension_ops_match_native_arithmetic() {
    for seed in 10..14 {
        random_ops::<Ext>(seed, 16, false);
    }
}

#[test]
fn bits_are_the_canonical_decomposition() {
    let mut r = rng(7);
    let mut values: Vec<Val> = (0..60).map(|_| felt(&mut r)).collect();
    // The edges: 0, 1, p - 1 (all of bits 27..30 set, lower bits 0), 2^27 - 1, 2^31 - 2^27.
    values.extend([0u32, 1, 0x7800_0000, (1 << 27) - 1, 0x7000_0000].map(Val::from_u32));
    let mut b = CircuitBuilder::new();
    let inputs: Vec<Felt> = values.iter().map(|_| b.hint_felt()).collect();
    let bits: Vec<[Felt; 31]> = inputs.iter().map(|&x| b.bits(x)).collect();
    let circuit = compile(b.build());
    let hints: Vec<Challenge> = values.iter().map(|&v| Challenge::from(v)).collect();
    let w = circuit.run(&[], &hints).unwrap();
    for (v, bits) in values.iter().zip(&bits) {
        let n = v.as_canonical_u32();
        for (i, bit) in bits.iter().enumerate() {
            assert_eq!(
                w.values[bit.addr() as usize],
                Challenge::from(Val::from_bool((n >> i) & 1 == 1)),
                "bit {i} of {n}"
            );
        }
    }
    let proof = circuit.prove(w).unwrap();
    circuit.verify(&proof, &[]).unwrap();
}

#[test]
fn ext_limbs_round_trip() {
    let mut r = rng(8);
    let mut b = CircuitBuilder::new();
    let e = b.hint_ext();
    let limbs = b.ext_to_limbs(e);
    let back = b.ext_from_limbs(limbs);
    b.assert_eq(back, e);
    let circuit = compile(b.build());
    let x = ext(&mut r);
    let w = circuit.run(&[], &[x]).unwrap();
    let coeffs: &[Val] = p3_field::BasedVectorSpace::<Val>::as_basis_coefficients_slice(&x);
    for (j, l) in limbs.iter().enumerate() {
        assert_eq!(w.values[l.addr() as usize], Challenge::from(coeffs[j]));
    }
    let proof = circuit.prove(w).unwrap();
    circuit.verify(&proof, &[]).unwrap();
}

#[test]
fn poseidon2_is_the_backends_permutation() {
    let mut r = rng(9);
    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let mut checks = Vec::new();
    for _ in 0..8 {
        let input: [Val; 16] = core::array::from_fn(|_| felt(&mut r));
        let cells: Vec<_> = quads_of(&mut b, &input, &mut hints);
        let out = b.poseidon2(core::array::from_fn(|g| Group::Cell(cells[g])));
        // And once more, chained (the next row reads the previous output in place).
        let out2 = b.poseidon2(out.map(Group::Cell));
        checks.push((out, poseidon2::permute(input)));
        checks.push((out2, poseidon2::permute(poseidon2::permute(input))));
    }
    let circuit = compile(b.build());
    let w = circuit.run(&[], &hints).unwrap();
    for (out, expected) in &checks {
        let got: Vec<Val> = out.iter().flat_map(|q| quad_values(&w, *q)).collect();
        assert_eq!(got, expected.to_vec());
    }
    assert!(circuit.program.chained.iter().any(|c| c.iter().all(|&x| x)));
    let proof = circuit.prove(w).unwrap();
    circuit.verify(&proof, &[]).unwrap();
}

#[test]
fn exp_of_reverse_bits_matches_native() {
    let g = Val::two_adic_generator_(20);
    let mut r = rng(11);
    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let mut checks = Vec::new();
    for _ in 0..12 {
        let i: u32 = rand::Rng::random_range(&mut r, 0..1 << 20);
        hints.push(Challenge::from(Val::from_u32(i)));
        let ic = b.hint_felt();
        let bits = b.bits(ic);
        let x = b.exp_reverse_bits_const(g, &bits[..20]);
        let y = b.exp_bits_const(g, &bits[..20]);
        let rev = i.reverse_bits() >> 12;
        checks.push((x, g.exp_u64(rev as u64)));
        checks.push((y, g.exp_u64(i as u64)));
    }
    let circuit = compile(b.build());
    let w = circuit.run(&[], &hints).unwrap();
    for (f, e) in &checks {
        assert_eq!(w.values[f.addr() as usize], Challenge::from(*e));
    }
    let proof = circuit.prove(w).unwrap();
    circuit.verify(&proof, &[]).unwrap();
}

trait TwoAdic {
    fn two_adic_generator_(bits: usize) -> Val;
}
impl TwoAdic for Val {
    fn two_adic_generator_(bits: usize) -> Val {
        <Val as p3_field::TwoAdicField>::two_adic_generator(bits)
    }
}

#[test]
fn horner_matches_native_reduced_opening() {
    let mut r = rng(12);
    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let alpha_v = ext(&mut r);
    hints.push(alpha_v);
    let alpha = b.hint_ext();
    let start_v = ext(&mut r);
    hints.push(start_v);
    let start = b.hint_ext();
    let mut checks = Vec::new();
    for (n, with_start) in [
        (1usize, false),
        (7, true),
        (8, false),
        (9, true),
        (30, false),
        (64, true),
    ] {
        let xs: Vec<Val> = (0..n).map(|_| felt(&mut r)).collect();
        let cells = quads_of(&mut b, &xs, &mut hints);
        let acc = b.horner(with_start.then_some(start), alpha, &cells, n);
        let mut e = if with_start { start_v } else { Challenge::ZERO };
        for x in &xs {
            e = e * alpha_v + *x;
        }
        checks.push((acc, e));
    }
    let circuit = compile(b.build());
    assert!(
        circuit
            .program
            .horner_chained
            .iter()
            .filter(|&&c| c)
            .count()
            >= 10
    );
    let w = circuit.run(&[], &hints).unwrap();
    for (a, e) in &checks {
        assert_eq!(w.values[a.addr() as usize], *e);
    }
    let proof = circuit.prove(w).unwrap();
    circuit.verify(&proof, &[]).unwrap();
}
