//! The in-circuit constraint check at zeta (`verifier::constraints`) on real child proofs:
//! the backend's example AIRs on a bus, and a small recursion circuit (every rec_* table).
//! Honest openings run; a changed opened value, cumulative sum, zeta or public value does
//! not; one such circuit proves and verifies.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use p3_air::symbolic::{BaseEntry, BaseLeaf, ExtLeaf, SymbolicExpr};
use starkscope_stark_backend::keygen::symbolic_constraints;

use starkscope_recursion::ir::Op;
use starkscope_recursion::verifier::constraints::{check_air_at_zeta, AirOpeningVars};
use starkscope_recursion::{Circuit, CircuitBuilder, CompiledCircuit, Group, RunError};
use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::p3::{
    Air, AirBuilder, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::verifier::{challenges, OodChallenges};
use starkscope_stark_backend::{
    keygen, prove, verify, AirInput, Challenge, FriPreset, Proof, StarkAir, StarkConfig, Val,
    VerifyingKey,
};

/// A child proof with the challenges the native verifier derives for it.
struct Child {
    config: StarkConfig,
    vk: VerifyingKey,
    proof: Proof,
    ch: OodChallenges,
}

fn testing() -> StarkConfig {
    StarkConfig::new(FriPreset::Testing)
}

/// Fibonacci (public values), a sender and a preprocessed byte table on one bus.
fn backend_child() -> Child {
    let config = testing();
    let send = RangeSendAir { extra_columns: 2 };
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(send),
        Arc::new(RangeTableAir),
    ];
    let pk = keygen(&config, airs).unwrap();
    let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << 4);
    let (st, counts) = send.trace(1 << 5, 5);
    let tt = RangeTableAir::trace(&counts);
    let inputs = vec![
        AirInput::new(ft, fpv),
        AirInput::new(st, vec![]),
        AirInput::new(tt, vec![]),
    ];
    let proof = prove(&config, &pk, inputs).unwrap();
    verify(&config, &pk.vk, &proof).unwrap();
    let ch = challenges(&config, &pk.vk, &proof).unwrap();
    Child {
        config,
        vk: pk.vk,
        proof,
        ch,
    }
}

/// A small recursion circuit using every table: a public input, hints, constants, ALU
/// lanes, a bit decomposition, a Poseidon2 permutation and a Horner row.
fn recursion_child() -> Child {
    let mut b = CircuitBuilder::new();
    let x = b.public();
    let h = b.hint_ext();
    let f = b.hint_felt();
    let k = b.constant(Val::from_u32(7));
    let y = b.mul_add(h, x.ext(), k.ext());
    let i = b.inverse(y);
    let one = b.mul(i, y);
    let c1 = b.one();
    b.assert_eq(one, c1.ext());
    let _bits = b.bits(f);
    let q = b.pack([x, f, k, c1]);
    let out = b.poseidon2([Group::Cell(q), Group::Zero, Group::Cell(q), Group::Zero]);
    // Chained into a second permutation (the chain flags are not all zero).
    let out = b.poseidon2(out.map(Group::Cell));
    // Two Horner rows, the second chained to the first.
    let r = b.horner(None, h, &out, 16);
    let _ = b.add(r, y);
    let cc = common::compile(b.build());
    let public = [Val::from_u32(3)];
    let hints = [
        Challenge::from(Val::from_u32(5)),
        Challenge::from(Val::from_u32(11)),
    ];
    let w = cc.run(&public, &hints).unwrap();
    let proof = cc.prove(w).unwrap();
    cc.verify(&proof, &public).unwrap();
    let ch = challenges(&cc.config, cc.vk(), &proof).unwrap();
    let CompiledCircuit { config, pk, .. } = cc;
    Child {
        config,
        vk: pk.vk,
        proof,
        ch,
    }
}

/// Builds a circuit checking the given AIRs of `child` at zeta; every input is a hint,
/// filled from the proof and the challenges. Returns the circuit and its hints.
fn verifier_circuit(child: &Child, airs: &[usize]) -> (Circuit, Vec<Challenge>) {
    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let ext = |b: &mut CircuitBuilder, hints: &mut Vec<Challenge>, v: Challenge| {
        hints.push(v);
        b.hint_ext()
    };
    let cells = |b: &mut CircuitBuilder, hints: &mut Vec<Challenge>, v: &[Challenge]| -> Vec<_> {
        v.iter().map(|&x| ext(b, hints, x)).collect()
    };
    let alpha = ext(&mut b, &mut hints, child.ch.alpha);
    let zeta = ext(&mut b, &mut hints, child.ch.zeta);
    let mut per_air = Vec::new();
    for &i in airs {
        let p = &child.proof.airs[i];
        let o = &p.openings;
        let h = &mut hints;
        let vars = AirOpeningVars {
            main_local: cells(&mut b, h, &o.main_local),
            main_next: cells(&mut b, h, &o.main_next),
            preprocessed_local: cells(&mut b, h, &o.preprocessed_local),
            preprocessed_next: cells(&mut b, h, &o.preprocessed_next),
            permutation_local: cells(&mut b, h, &o.permutation_local),
            permutation_next: cells(&mut b, h, &o.permutation_next),
            quotient_chunks: o
                .quotient_chunks
                .iter()
                .map(|c| cells(&mut b, h, c).try_into().unwrap())
                .collect(),
        };
        let lookup = cells(&mut b, h, &child.ch.lookup_challenges[i]);
        let cum = p.cumulative_sum.map(|s| ext(&mut b, h, s));
        let publics: Vec<_> = p
            .public_values
            .iter()
            .map(|&v| {
                h.push(Challenge::from(v));
                b.hint_felt()
            })
            .collect();
        per_air.push((i, vars, lookup, cum, publics));
    }
    for (i, vars, lookup, cum, publics) in &per_air {
        check_air_at_zeta(
            &mut b,
            &child.config,
            &child.vk,
            *i,
            child.proof.airs[*i].log_height as usize,
            vars,
            publics,
            *cum,
            lookup,
            alpha,
            zeta,
        );
    }
    (b.build(), hints)
}

fn run(child: &Child) -> Result<(), RunError> {
    let airs: Vec<usize> = (0..child.vk.num_airs()).collect();
    let (circuit, hints) = verifier_circuit(child, &airs);
    let cc = common::compile(circuit);
    cc.run(&[], &hints).map(drop)
}

/// ALU lanes (every arithmetic op, assertion and inverse check) the check of one AIR costs.
fn alu_ops(child: &Child, air: usize) -> usize {
    let (circuit, _) = verifier_circuit(child, &[air]);
    circuit
        .ops
        .iter()
        .filter(|r| matches!(r.op, Op::Alu(_)))
        .count()
}

fn report(child: &Child) {
    for i in 0..child.vk.num_airs() {
        let info = child.vk.air_info(i);
        let (circuit, _) = verifier_circuit(child, &[i]);
        let counts: Vec<String> = circuit
            .op_counts()
            .iter()
            .map(|(k, n)| format!("{}={n}", k.as_str()))
            .collect();
        println!(
            "{:>14}: {:>4} constraints, degree {}, {} quotient chunks, log height {:>2}: {:>5} ALU ops ({})",
            info.name,
            info.num_constraints,
            info.constraint_degree,
            info.num_quotient_chunks(),
            child.proof.airs[i].log_height,
            alu_ops(child, i),
            counts.join(" ")
        );
    }
}

/// Every way of lying checked on one child: each must make the run fail.
fn lies(child: &Child) -> Vec<(String, Child)> {
    let mut out = Vec::new();
    let mut edit = |what: String, f: &dyn Fn(&mut Proof, &mut OodChallenges)| {
        let mut proof = child.proof.clone();
        let mut ch = child.ch.clone();
        f(&mut proof, &mut ch);
        out.push((
            what,
            Child {
                config: child.config.clone(),
                vk: child.vk.clone(),
                proof,
                ch,
            },
        ));
    };
    let bump = |v: &mut Challenge| *v += Challenge::ONE;
    edit("zeta".into(), &|_, ch| bump(&mut ch.zeta));
    for (i, a) in child.proof.airs.iter().enumerate() {
        let o = &a.openings;
        // rec_const's one main column is read by no constraint.
        if !o.main_local.is_empty() && child.vk.air_info(i).name != "rec_const" {
            edit(format!("air {i} main_local[0]"), &|p, _| {
                bump(&mut p.airs[i].openings.main_local[0])
            });
        }
        if !o.main_next.is_empty() {
            let c = max_next_main_column(&child.vk, i).expect("the AIR reads a next row");
            edit(format!("air {i} main_next[{c}]"), &move |p, _| {
                bump(&mut p.airs[i].openings.main_next[c])
            });
        }
        if !o.permutation_next.is_empty() {
            edit(format!("air {i} permutation_next[1]"), &|p, _| {
                bump(&mut p.airs[i].openings.permutation_next[1])
            });
        }
        edit(format!("air {i} quotient chunk 0 coordinate 3"), &|p, _| {
            bump(&mut p.airs[i].openings.quotient_chunks[0][3])
        });
        if a.cumulative_sum.is_some() {
            edit(format!("air {i} cumulative sum"), &|p, _| {
                bump(p.airs[i].cumulative_sum.as_mut().unwrap())
            });
        }
        if !a.public_values.is_empty() {
            edit(format!("air {i} public value 0"), &|p, _| {
                p.airs[i].public_values[0] += Val::ONE
            });
        }
    }
    out
}

/// The highest main column the constraints read at the next row.
fn max_next_main_column(vk: &VerifyingKey, air: usize) -> Option<usize> {
    fn walk<A>(
        e: &SymbolicExpr<A>,
        seen: &mut HashSet<usize>,
        leaf: &dyn Fn(&A, &mut HashSet<usize>) -> Option<usize>,
    ) -> Option<usize> {
        if !seen.insert(e as *const _ as usize) {
            return None;
        }
        match e {
            SymbolicExpr::Leaf(l) => leaf(l, seen),
            SymbolicExpr::Add { x, y, .. }
            | SymbolicExpr::Sub { x, y, .. }
            | SymbolicExpr::Mul { x, y, .. } => walk(x, seen, leaf).max(walk(y, seen, leaf)),
            SymbolicExpr::Neg { x, .. } => walk(x, seen, leaf),
        }
    }
    fn base(l: &BaseLeaf<Val>, _: &mut HashSet<usize>) -> Option<usize> {
        match l {
            BaseLeaf::Variable(v) if v.entry == (BaseEntry::Main { offset: 1 }) => Some(v.index),
            _ => None,
        }
    }
    let sc = symbolic_constraints(vk, air);
    let mut seen = HashSet::new();
    let mut best = None;
    for e in &sc.base {
        best = best.max(walk(e, &mut seen, &base));
    }
    for e in &sc.ext {
        best = best.max(walk(e, &mut seen, &|l, seen| match l {
            ExtLeaf::Base(e) => walk(e, seen, &base),
            _ => None,
        }));
    }
    best
}

fn check_child(child: &Child) {
    report(child);
    run(child).expect("the honest openings satisfy the check");
    let lies = lies(child);
    assert!(lies.len() > 4);
    for (what, liar) in &lies {
        assert!(
            matches!(run(liar), Err(RunError::Op { .. })),
            "changing {what} was not caught"
        );
    }
    // A preprocessed column may be read only through a product with another column that
    // vanishes on this small trace (so the native check ignores it too): require that
    // some preprocessed opening of each AIR is caught, trying them in order.
    for i in 0..child.vk.num_airs() {
        let width = child.proof.airs[i].openings.preprocessed_local.len();
        let caught = (0..width).any(|c| {
            let mut liar = Child {
                config: child.config.clone(),
                vk: child.vk.clone(),
                proof: child.proof.clone(),
                ch: child.ch.clone(),
            };
            liar.proof.airs[i].openings.preprocessed_local[c] += Challenge::ONE;
            let (circuit, hints) = verifier_circuit(&liar, &[i]);
            common::compile(circuit).run(&[], &hints).is_err()
        });
        assert!(
            width == 0 || caught,
            "no preprocessed opening of air {i} is checked"
        );
    }
}

#[test]
fn backend_example_airs_check_at_zeta() {
    check_child(&backend_child());
}

#[test]
fn recursion_tables_check_at_zeta() {
    let child = recursion_child();
    // Every table of the circuit is one of the child's AIRs.
    assert!(child.vk.num_airs() >= 7);
    check_child(&child);
}

#[test]
fn the_check_is_provable() {
    let child = backend_child();
    let airs: Vec<usize> = (0..child.vk.num_airs()).collect();
    let (circuit, hints) = verifier_circuit(&child, &airs);
    common::prove_and_verify(&common::compile(circuit), &[], &hints);
}

/// Degree 5 (four quotient chunks under preset `recursion`): columns (a, b); a_0 is the
/// public value, a' = a + 1, b = a^5.
struct QuinticAir;

impl BaseAir<Val> for QuinticAir {
    fn width(&self) -> usize {
        2
    }
    fn num_public_values(&self) -> usize {
        1
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for QuinticAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (a, b) = (main.current_slice()[0], main.current_slice()[1]);
        let a_next = main.next_slice()[0];
        let a0: AB::Expr = builder.public_values()[0].into();
        builder.when_first_row().assert_eq(a, a0);
        builder
            .when_transition()
            .assert_eq(a_next, a + AB::Expr::ONE);
        let a: AB::Expr = a.into();
        builder.assert_eq(b, a.exp_u64(5));
    }
}

impl StarkAir for QuinticAir {
    fn name(&self) -> String {
        "quintic".into()
    }
}

#[test]
fn four_quotient_chunks_check_at_zeta() {
    let config = StarkConfig::new(FriPreset::Recursion);
    let pk = keygen(&config, vec![Arc::new(QuinticAir) as Arc<dyn StarkAir>]).unwrap();
    assert_eq!(pk.air_info(0).num_quotient_chunks(), 4);
    let rows: Vec<Val> = (0..8u32)
        .flat_map(|i| {
            let a = Val::from_u32(i + 3);
            [a, a.exp_u64(5)]
        })
        .collect();
    let inputs = vec![AirInput::new(
        RowMajorMatrix::new(rows, 2),
        vec![Val::from_u32(3)],
    )];
    let proof = prove(&config, &pk, inputs).unwrap();
    verify(&config, &pk.vk, &proof).unwrap();
    let ch = challenges(&config, &pk.vk, &proof).unwrap();
    check_child(&Child {
        config,
        vk: pk.vk,
        proof,
        ch,
    });
}
