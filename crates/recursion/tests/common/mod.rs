//! Shared helpers for the recursion tests.
#![allow(dead_code)]

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use starkscope_recursion::{Circuit, CompiledCircuit};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::{Challenge, FriPreset, StarkConfig, Val};

pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

pub fn felt(rng: &mut SmallRng) -> Val {
    Val::from_u32(rng.random_range(0..0x7800_0001))
}

pub fn ext(rng: &mut SmallRng) -> Challenge {
    <Challenge as p3_field::BasedVectorSpace<Val>>::from_basis_coefficients_fn(|_| felt(rng))
}

pub fn compile(circuit: Circuit) -> CompiledCircuit {
    CompiledCircuit::new(circuit, StarkConfig::new(FriPreset::Testing)).expect("compiles")
}

/// Runs, proves and verifies; panics with the failing step.
pub fn prove_and_verify(c: &CompiledCircuit, public: &[Val], hints: &[Challenge]) {
    let w = c.run(public, hints).expect("runs");
    let proof = c.prove(w).expect("proves");
    c.verify(&proof, public).expect("verifies");
}

use starkscope_recursion::gadgets::Digest;
use starkscope_recursion::{CircuitBuilder, Felt, Quad, Witness};

/// Hints for `values`, four to a cell (the last padded with zeros).
pub fn quads_of(b: &mut CircuitBuilder, values: &[Val], hints: &mut Vec<Challenge>) -> Vec<Quad> {
    values
        .chunks(4)
        .map(|c| {
            hints.push(
                <Challenge as p3_field::BasedVectorSpace<Val>>::from_basis_coefficients_fn(|j| {
                    c.get(j).copied().unwrap_or(Val::ZERO)
                }),
            );
            b.hint_quad()
        })
        .collect()
}

/// Hints for individual base values.
pub fn felts_of(b: &mut CircuitBuilder, values: &[Val], hints: &mut Vec<Challenge>) -> Vec<Felt> {
    values
        .iter()
        .map(|&v| {
            hints.push(Challenge::from(v));
            b.hint_felt()
        })
        .collect()
}

/// A digest as two hint cells.
pub fn digest_of(b: &mut CircuitBuilder, d: [Val; 8], hints: &mut Vec<Challenge>) -> Digest {
    quads_of(b, &d, hints).try_into().unwrap()
}

/// A base cell's value.
pub fn value(w: &Witness, f: Felt) -> Val {
    limbs(w.values[f.addr() as usize])[0]
}

/// A four-value cell's values.
pub fn quad_values(w: &Witness, q: Quad) -> [Val; 4] {
    let l = limbs(w.values[q.addr() as usize]);
    [l[0], l[1], l[2], l[3]]
}

pub fn digest_values(w: &Witness, d: Digest) -> [Val; 8] {
    let (a, b) = (quad_values(w, d[0]), quad_values(w, d[1]));
    core::array::from_fn(|i| if i < 4 { a[i] } else { b[i - 4] })
}

pub fn limbs(v: Challenge) -> Vec<Val> {
    p3_field::BasedVectorSpace::<Val>::as_basis_coefficients_slice(&v).to_vec()
}

/// A real child proof of the backend's three-AIR bus set: Fibonacci (public values), a
/// sender on a bus with `extra` work columns, and the preprocessed byte table — every
/// commitment kind, three heights, next-row openings, LogUp. Verified natively.
pub fn bus_child(
    cfg: &starkscope_stark_backend::StarkConfig,
    log_fib: usize,
    log_send: usize,
    extra: usize,
) -> (
    starkscope_stark_backend::VerifyingKey,
    starkscope_stark_backend::Proof,
) {
    use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
    use starkscope_stark_backend::{keygen, prove, verify, AirInput, StarkAir};
    use std::sync::Arc;
    let send = RangeSendAir {
        extra_columns: extra,
    };
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(send),
        Arc::new(RangeTableAir),
    ];
    let pk = keygen(cfg, airs).unwrap();
    let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << log_fib);
    let (st, counts) = send.trace(1 << log_send, 5);
    let tt = RangeTableAir::trace(&counts);
    let inputs = vec![
        AirInput::new(ft, fpv),
        AirInput::new(st, vec![]),
        AirInput::new(tt, vec![]),
    ];
    let proof = prove(cfg, &pk, inputs).unwrap();
    verify(cfg, &pk.vk, &proof).unwrap();
    (pk.vk.clone(), proof)
}

// ---- The "every hint lane is bound" attack (tests/verifier_review*.rs) ----

use starkscope_recursion::ir::{HintSource, Op};
use starkscope_recursion::verifier::{child_hints, verify_child, ChildSpec, VerifiedChild};
use starkscope_recursion::Addr;
use std::collections::{BTreeMap, BTreeSet};

/// A circuit verifying one child of `spec`, compiled under `testing`.
pub fn build_verifier(spec: &ChildSpec) -> (CompiledCircuit, VerifiedChild) {
    let mut b = CircuitBuilder::new();
    let child = verify_child(&mut b, spec);
    (compile(b.build()), child)
}

/// Caller-hint index -> (cell, base flag).
pub fn hint_cells(cc: &CompiledCircuit) -> BTreeMap<usize, (Addr, bool)> {
    cc.circuit
        .ops
        .iter()
        .filter_map(|r| match r.op {
            Op::Hint {
                out,
                source: HintSource::Input(i),
                base,
            } => Some((i, (out, base))),
            _ => None,
        })
        .collect()
}

/// The (cell, lane) pairs of opened-row cells that lie past the matrix's width (the
/// padding of a row to whole cells): the only lanes that may legitimately be unbound.
pub fn padding_lanes(spec: &ChildSpec, child: &VerifiedChild) -> BTreeSet<(Addr, usize)> {
    let shape = spec.opening_shape();
    let mut out = BTreeSet::new();
    for q in &child.proof.fri.queries {
        for (k, c) in shape.commitments.iter().enumerate() {
            for (m, ms) in c.iter().enumerate() {
                for (j, cell) in q.rows[k][m].iter().enumerate() {
                    for lane in 0..4 {
                        if 4 * j + lane >= ms.width {
                            out.insert((cell.addr(), lane));
                        }
                    }
                }
            }
        }
    }
    out
}

/// `v` with limb `lane` increased by one.
pub fn bump_lane(v: Challenge, lane: usize) -> Challenge {
    let mut c = limbs(v);
    c[lane] += Val::ONE;
    <Challenge as p3_field::BasedVectorSpace<Val>>::from_basis_coefficients_fn(|j| c[j])
}

/// Every lane of every caller hint of a circuit verifying `spec`, changed alone, for each
/// of `proofs`: the run must fail, except on the padding lanes of opened-row cells (read by
/// no check, and not part of the native proof). A lane that can change while the run still
/// succeeds is a value the circuit does not bind.
pub fn every_hint_lane_is_bound(spec: &ChildSpec, proofs: &[starkscope_stark_backend::Proof]) {
    let (cc, child) = build_verifier(spec);
    let cells = hint_cells(&cc);
    let padding = padding_lanes(spec, &child);
    for proof in proofs {
        let hints = child_hints(spec, proof).unwrap();
        cc.run(&[], &hints).expect("honest hints run");
        assert_eq!(cells.len(), hints.len());
        let mut unbound = Vec::new();
        let (mut tried, mut padding_seen) = (0, 0);
        for (&i, &(addr, base)) in &cells {
            for lane in 0..4 {
                if padding.contains(&(addr, lane)) {
                    padding_seen += 1;
                    continue;
                }
                let mut h = hints.clone();
                h[i] = bump_lane(h[i], lane);
                tried += 1;
                if cc.run(&[], &h).is_ok() {
                    unbound.push((i, addr, base, lane));
                }
            }
        }
        let heights: Vec<u8> = proof.airs.iter().map(|a| a.log_height).collect();
        eprintln!(
            "heights {heights:?}: {} hints, {tried} lanes changed, {padding_seen} padding lanes \
             (free, unread), unbound: {unbound:?}",
            hints.len()
        );
        assert!(
            unbound.is_empty(),
            "heights {heights:?}: unbound hint lanes: {unbound:?}"
        );
    }
}
