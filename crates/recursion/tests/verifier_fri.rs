//! `verifier::fri::verify_pcs` (transcript step 14 in the circuit) on real child proofs of
//! the backend: a multi-AIR set on a bus (Fibonacci, range sender, range table) with three
//! heights and all four commitments (main, quotient, preprocessed, permutation).
//!
//! - the honest hints run, and the in-circuit challenger ends in exactly the state p3-fri's
//!   own `verify` leaves (sponge and both buffers);
//! - a changed claimed value, opened value, Merkle sibling, final polynomial, query PoW
//!   witness or commit-phase commitment, and a non-zero zero-bit PoW witness are refused;
//! - the outer circuit proves and verifies (testing preset);
//! - op counts, total and per query, for a `testing` and a `recursion` child.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use p3_challenger::{CanObserve, FieldChallenger, GrindingChallenger};
use p3_commit::Pcs as _;
use starkscope_recursion::gadgets::challenger::ChallengerVar;
use starkscope_recursion::verifier::fri::{
    verify_pcs, CommitmentClaim, FriProofVars, OpeningShape,
};
use starkscope_recursion::{Circuit, CircuitBuilder, Ext, Felt, Group, OpKind};
use starkscope_stark_backend::config::{Challenger, PcsProof};
use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::verifier::{transcript_before_opening, PcsClaims};
use starkscope_stark_backend::{
    keygen, prove, AirInput, Challenge, FriPreset, StarkAir, StarkConfig, Val,
};

struct Child {
    preset: FriPreset,
    cfg: StarkConfig,
    ch: Challenger,
    claims: PcsClaims,
    proof: PcsProof,
}

fn child(preset: FriPreset, log_fib: usize, log_send: usize) -> Child {
    let cfg = StarkConfig::new(preset);
    let send = RangeSendAir { extra_columns: 2 };
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(send),
        Arc::new(RangeTableAir),
    ];
    let pk = keygen(&cfg, airs).unwrap();
    let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << log_fib);
    let (st, counts) = send.trace(1 << log_send, 5);
    let tt = RangeTableAir::trace(&counts);
    let inputs = vec![
        AirInput::new(ft, fpv),
        AirInput::new(st, vec![]),
        AirInput::new(tt, vec![]),
    ];
    let proof = prove(&cfg, &pk, inputs).unwrap();
    let (ch, claims) = transcript_before_opening(&cfg, &pk.vk, &proof).unwrap();
    assert_eq!(claims.len(), 4, "main, quotient, preprocessed, permutation");
    Child {
        preset,
        cfg,
        ch,
        claims,
        proof: proof.opening_proof,
    }
}

/// The circuit and where things are in its hints.
struct Built {
    circuit: Circuit,
    hints: Vec<Challenge>,
    shape: OpeningShape,
    /// Hint index of the first claimed value.
    first_value: usize,
    /// Hint index of the first FRI proof cell.
    fri_start: usize,
    state: [Group; 4],
    buffers: (Vec<Felt>, Vec<Felt>),
}

fn build(c: &Child) -> Built {
    let shape = OpeningShape::from_claims(&c.claims);
    let mut b = CircuitBuilder::new();
    let mut hints = Vec::new();
    let mut cv = ChallengerVar::from_native(&mut b, &c.ch);
    // One cell per distinct point (zeta is shared by every matrix).
    let mut points: Vec<(Challenge, Ext)> = Vec::new();
    let mut first_value = None;
    let claims: Vec<CommitmentClaim> = c
        .claims
        .iter()
        .map(|cl| {
            let commitment = cl
                .commitment
                .roots()
                .iter()
                .map(|r| digest_of(&mut b, *r, &mut hints))
                .collect();
            let matrices = cl
                .matrices
                .iter()
                .map(|m| {
                    m.points
                        .iter()
                        .map(|p| {
                            let pc = match points.iter().find(|(v, _)| *v == p.point) {
                                Some(&(_, e)) => e,
                                None => {
                                    hints.push(p.point);
                                    let e = b.hint_ext();
                                    points.push((p.point, e));
                                    e
                                }
                            };
                            let vals = p
                                .values
                                .iter()
                                .map(|&v| {
                                    first_value.get_or_insert(hints.len());
                                    hints.push(v);
                                    b.hint_ext()
                                })
                                .collect();
                            (pc, vals)
                        })
                        .collect()
                })
                .collect();
            CommitmentClaim {
                commitment,
                matrices,
            }
        })
        .collect();
    let fri_start = hints.len();
    let vars = FriProofVars::alloc(&mut b, c.preset, &shape);
    hints.extend(
        FriProofVars::hint_values(c.preset, &shape, &c.ch, &c.claims, &c.proof)
            .expect("hint values of the honest proof"),
    );
    verify_pcs(&mut b, c.preset, &shape, &mut cv, &claims, &vars);
    let state = cv.state();
    let buffers = cv.buffers(&mut b);
    Built {
        circuit: b.build(),
        hints,
        shape,
        first_value: first_value.unwrap(),
        fri_start,
        state,
        buffers,
    }
}

fn report(name: &str, c: &Child, built: &Built) {
    let counts = built.circuit.op_counts();
    let alu: u64 = counts
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k,
                OpKind::Const
                    | OpKind::Public
                    | OpKind::Hint
                    | OpKind::Bits
                    | OpKind::Poseidon2
                    | OpKind::Horner
            )
        })
        .map(|(_, v)| v)
        .sum();
    let mut by_label: BTreeMap<&str, BTreeMap<OpKind, u64>> = BTreeMap::new();
    for r in &built.circuit.ops {
        *by_label
            .entry(r.label.unwrap_or("-"))
            .or_default()
            .entry(r.kind)
            .or_insert(0) += 1;
    }
    let q = c.preset.num_queries() as u64;
    println!(
        "== {name}: preset {}, H = {}, R = {}, Q = {q}, {} ops, {} hints",
        c.preset,
        built.shape.log_max_lde_height(c.preset),
        built.shape.num_rounds(c.preset),
        built.circuit.ops.len(),
        built.hints.len()
    );
    println!(
        "   poseidon2 {}, horner {}, bits {}, ALU-table entries (lanes + inverse/recompose hints) {alu}",
        counts.get(&OpKind::Poseidon2).unwrap_or(&0),
        counts.get(&OpKind::Horner).unwrap_or(&0),
        counts.get(&OpKind::Bits).unwrap_or(&0),
    );
    println!("   all: {counts:?}");
    for (label, ks) in &by_label {
        let per_query = matches!(
            *label,
            "fri_input_merkle" | "fri_reduced_openings" | "fri_fold" | "fri_commit_merkle"
        );
        let total: u64 = ks.values().sum();
        if per_query {
            let per: BTreeMap<_, _> = ks.iter().map(|(k, v)| (*k, v / q)).collect();
            println!("   {label}: {total} ops, per query {per:?}");
        } else {
            println!("   {label}: {total} ops {ks:?}");
        }
    }
}

fn run_honest(c: &Child, built: &Built) -> starkscope_recursion::CompiledCircuit {
    let circuit = compile(built.circuit.clone());
    let w = circuit
        .run(&[], &built.hints)
        .expect("the honest proof verifies in the circuit");

    // The in-circuit challenger ends where p3-fri's own verify leaves the native one.
    let mut theirs = c.ch.clone();
    c.cfg
        .pcs()
        .verify(c.claims.clone(), &c.proof, &mut theirs)
        .unwrap();
    let state: Vec<Val> = built
        .state
        .iter()
        .flat_map(|g| match g {
            Group::Cell(q) => quad_values(&w, *q),
            Group::Zero => [Val::ZERO; 4],
        })
        .collect();
    assert_eq!(state, theirs.sponge_state.to_vec(), "sponge state");
    let (inb, outb) = &built.buffers;
    let inv: Vec<Val> = inb.iter().map(|f| value(&w, *f)).collect();
    let outv: Vec<Val> = outb.iter().map(|f| value(&w, *f)).collect();
    assert_eq!(inv, theirs.input_buffer, "input buffer");
    assert_eq!(outv, theirs.output_buffer, "output buffer");
    circuit
}

/// Hint indices in the FRI proof cells: (first cap cell, first final-polynomial
/// coefficient, query PoW witness, first query).
fn offsets(c: &Child, built: &Built) -> (usize, usize, usize, usize) {
    let f = built.fri_start;
    let h = built.shape.log_max_lde_height(c.preset);
    let sched = built.shape.schedule(c.preset);
    let mut l = h;
    let mut cap_cells = 0;
    for a in sched {
        l -= a;
        cap_cells += 2 * starkscope_recursion::verifier::fri::cap_len(c.preset, l);
    }
    let caps = f + 1 + built.shape.num_rounds(c.preset);
    let final_poly = caps + cap_cells;
    let pow = final_poly + (1 << c.preset.log_final_poly_len());
    (caps, final_poly, pow, pow + 1)
}

/// Every lie must fail the run.
fn check_lies(c: &Child, built: &Built, circuit: &starkscope_recursion::CompiledCircuit) {
    let f = built.fri_start;
    let row_cells: usize = built.shape.commitments[0]
        .iter()
        .map(|m| m.width.div_ceil(4))
        .sum();
    let (caps, final_at, pow_at, first_query) = offsets(c, built);
    let lies: Vec<(&str, usize, Challenge)> = vec![
        ("claimed value", built.first_value, Challenge::ONE),
        ("nonzero batch PoW witness", f, Challenge::ONE),
        ("nonzero commit PoW witness", f + 1, Challenge::ONE),
        ("commit-phase commitment", caps, Challenge::ONE),
        ("final polynomial", final_at, Challenge::ONE),
        ("query PoW witness", pow_at, Challenge::ONE),
        ("opened value", first_query, Challenge::ONE),
        (
            "input Merkle sibling",
            first_query + row_cells,
            Challenge::ONE,
        ),
    ];
    for (what, at, delta) in lies {
        let mut hints = built.hints.clone();
        hints[at] += delta;
        let err = circuit.run(&[], &hints);
        assert!(err.is_err(), "{}: a changed {what} is accepted", c.preset);
        println!("   {what}: refused ({})", err.err().unwrap());
    }
    // A commit-phase sibling value: the first query's round-0 sibling value sits after
    // all of the query's input openings.
    let input_cells: usize = built
        .shape
        .commitments
        .iter()
        .map(|cm| {
            let lk = cm.iter().map(|m| m.log_height).max().unwrap() + c.preset.log_blowup();
            cm.iter().map(|m| m.width.div_ceil(4)).sum::<usize>()
                + 2 * (lk - starkscope_recursion::verifier::fri::eff_cap_height(c.preset, lk))
        })
        .sum();
    // Round 0's sibling value (arity 2) or opened row (larger arities: every entry, the
    // queried one included, is refused), then its path.
    let row_len = if c.preset.max_log_arity() == 1 {
        1
    } else {
        1 << built.shape.schedule(c.preset)[0]
    };
    let mut at: Vec<(&str, usize)> = (0..row_len)
        .map(|j| ("commit-phase sibling value", first_query + input_cells + j))
        .collect();
    at.push((
        "commit-phase Merkle sibling",
        first_query + input_cells + row_len,
    ));
    for (what, at) in at {
        let mut hints = built.hints.clone();
        hints[at] += Challenge::ONE;
        assert!(
            circuit.run(&[], &hints).is_err(),
            "{}: a changed {what} is accepted",
            c.preset
        );
        println!("   {what}: refused");
    }
}

/// A forger who changes a claimed value or the final polynomial and re-grinds the query
/// PoW (so the lie passes the PoW and reaches the openings): the circuit still refuses.
fn check_reground_lies(c: &Child, built: &Built, circuit: &starkscope_recursion::CompiledCircuit) {
    let (_, final_at, pow_at, _) = offsets(c, built);
    for what in ["claimed value", "final polynomial"] {
        let mut claims = c.claims.clone();
        let mut final_poly = c.proof.final_poly.clone();
        let mut hints = built.hints.clone();
        if what == "claimed value" {
            claims[0].matrices[0].points[0].values[0] += Challenge::ONE;
            hints[built.first_value] += Challenge::ONE;
        } else {
            final_poly[0] += Challenge::ONE;
            hints[final_at] += Challenge::ONE;
        }
        let mut ch = c.ch.clone();
        ch.observe_slice(&built.shape.pcs_seed());
        for cl in &claims {
            for m in &cl.matrices {
                for p in &m.points {
                    for &v in &p.values {
                        ch.observe_algebra_element(v);
                    }
                }
            }
        }
        let _alpha: Challenge = ch.sample_algebra_element();
        ch.observe_slice(&built.shape.fri_seed(c.preset));
        for com in &c.proof.commit_phase_commits {
            for root in com.roots() {
                ch.observe_slice(root);
            }
            let _beta: Challenge = ch.sample_algebra_element();
        }
        for &coeff in &final_poly {
            ch.observe_algebra_element(coeff);
        }
        hints[pow_at] = Challenge::from(ch.grind(c.preset.query_pow_bits()));
        let err = circuit.run(&[], &hints);
        assert!(
            err.is_err(),
            "{}: a re-ground {what} lie is accepted",
            c.preset
        );
        let err = err.err().unwrap().to_string();
        assert!(
            !err.contains("fri_transcript"),
            "the re-ground PoW passes: {err}"
        );
        println!("   re-ground {what}: refused ({err})");
    }
}

#[test]
fn fri_testing_child_verifies_in_circuit_and_lies_are_refused() {
    let c = child(FriPreset::Testing, 6, 4);
    let built = build(&c);
    report("testing child (fib 2^6, send 2^4, table)", &c, &built);
    let circuit = run_honest(&c, &built);
    check_lies(&c, &built, &circuit);
    check_reground_lies(&c, &built, &circuit);
    // Another height mix: the tallest is the range table (preprocessed + permutation).
    let c2 = child(FriPreset::Testing, 3, 5);
    let built2 = build(&c2);
    let circuit2 = run_honest(&c2, &built2);
    check_lies(&c2, &built2, &circuit2);
    // Hint values refuse (without panicking) claims or a proof of another shape.
    let p = c.preset;
    assert!(FriProofVars::hint_values(p, &built.shape, &c2.ch, &c2.claims, &c2.proof).is_err());
    let mut short = c.proof.clone();
    short.commit_phase_commits.pop();
    assert!(FriProofVars::hint_values(p, &built.shape, &c.ch, &c.claims, &short).is_err());
    let mut short = c.proof.clone();
    short.input_openings[1].opened_values[0][0].pop();
    assert!(FriProofVars::hint_values(p, &built.shape, &c.ch, &c.claims, &short).is_err());
    // Fibonacci and the sender at one height: their rows share a leaf of the main tree
    // and, widths not being multiples of 4, are repacked to be hashed.
    let c3 = child(FriPreset::Testing, 4, 4);
    let built3 = build(&c3);
    let circuit3 = run_honest(&c3, &built3);
    check_lies(&c3, &built3, &circuit3);
    // The outer circuit is provable.
    prove_and_verify(&circuit, &[], &built.hints);
}

#[test]
fn fri_recursion_child_runs_in_circuit() {
    let c = child(FriPreset::Recursion, 6, 4);
    let built = build(&c);
    report("recursion child (fib 2^6, send 2^4, table)", &c, &built);
    let circuit = run_honest(&c, &built);
    check_lies(&c, &built, &circuit);
    check_reground_lies(&c, &built, &circuit);
}

#[test]
fn fri_fast_child_runs_in_circuit() {
    let c = child(FriPreset::Fast, 5, 7);
    let built = build(&c);
    report("fast child (fib 2^5, send 2^7, table)", &c, &built);
    let circuit = run_honest(&c, &built);
    check_lies(&c, &built, &circuit);
}

/// The aggregation preset: arity-8 folding (the schedule's last round smaller), a final
/// polynomial of length 8, Merkle caps of 16 roots (8 for a small tree). Runs, matches
/// p3-fri's challenger, refuses the lies (a changed cap root, row entry, sibling), and the
/// outer circuit proves.
#[test]
fn fri_aggregation_child_runs_in_circuit() {
    for (log_fib, log_send) in [(9, 6), (5, 4), (4, 7)] {
        let c = child(FriPreset::Aggregation, log_fib, log_send);
        let built = build(&c);
        println!("schedule {:?}", built.shape.schedule(c.preset));
        report(
            &format!("aggregation child (fib 2^{log_fib}, send 2^{log_send}, table)"),
            &c,
            &built,
        );
        let circuit = run_honest(&c, &built);
        check_lies(&c, &built, &circuit);
        check_reground_lies(&c, &built, &circuit);
        // Every root of the first commit-phase cap is bound.
        let (caps, ..) = offsets(&c, &built);
        for j in [2, 7, 31] {
            let mut hints = built.hints.clone();
            hints[caps + j] += Challenge::ONE;
            assert!(circuit.run(&[], &hints).is_err(), "cap cell {j}");
        }
        if log_fib == 5 {
            prove_and_verify(&circuit, &[], &built.hints);
        }
    }
}
