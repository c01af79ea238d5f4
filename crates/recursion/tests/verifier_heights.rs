//! One verifier circuit for a key whose AIRs have height ranges (docs/recursion.md,
//! "Variable heights"): it accepts real child proofs at several height combinations
//! (matrices sharing a height and not), its outer proof verifies, and it refuses a child
//! outside the ranges, a forged height hint and a child whose claimed height is not the
//! one its openings were made at. Prints the op counts of the fixed and the range circuit.

use std::collections::BTreeMap;
use std::sync::Arc;

use starkscope_recursion::ir::Op;
use starkscope_recursion::verifier::{child_hints, verify_child, ChildSpec};
use starkscope_recursion::{Circuit, CircuitBuilder, CompiledCircuit, OpKind};
use starkscope_stark_backend::example_airs::{FibonacciAir, RangeSendAir, RangeTableAir};
use starkscope_stark_backend::p3::{
    Air, AirBuilder, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{
    keygen, prove, verify, AirInput, Challenge, FriPreset, ProvingKey, StarkAir, StarkConfig, Val,
};

fn testing() -> StarkConfig {
    StarkConfig::new(FriPreset::Testing)
}

const SEND_A: RangeSendAir = RangeSendAir { extra_columns: 2 }; // 4 wide
const SEND_B: RangeSendAir = RangeSendAir { extra_columns: 6 }; // 8 wide

/// AIRs: Fibonacci (log 2..=3, alone at its heights), two senders (log 4..=7 and 5..=7,
/// sharing heights), the byte table (fixed log 8, preprocessed: the tallest everywhere).
fn key(cfg: &StarkConfig) -> ProvingKey {
    let airs: Vec<Arc<dyn StarkAir>> = vec![
        Arc::new(FibonacciAir),
        Arc::new(SEND_A),
        Arc::new(SEND_B),
        Arc::new(RangeTableAir),
    ];
    keygen(cfg, airs).unwrap()
}

fn ranges() -> Vec<std::ops::RangeInclusive<usize>> {
    vec![2..=3, 4..=7, 5..=7, 8..=8]
}

fn child(cfg: &StarkConfig, pk: &ProvingKey, h: [usize; 3]) -> starkscope_stark_backend::Proof {
    let (ft, fpv) = FibonacciAir::trace(0, 1, 1 << h[0]);
    let (sa, ca) = SEND_A.trace(1 << h[1], 5);
    let (sb, cb) = SEND_B.trace(1 << h[2], 11);
    let counts: Vec<u32> = ca.iter().zip(&cb).map(|(x, y)| x + y).collect();
    let tt = RangeTableAir::trace(&counts);
    let inputs = vec![
        AirInput::new(ft, fpv),
        AirInput::new(sa, vec![]),
        AirInput::new(sb, vec![]),
        AirInput::new(tt, vec![]),
    ];
    let proof = prove(cfg, pk, inputs).unwrap();
    verify(cfg, &pk.vk, &proof).unwrap();
    proof
}

struct Counts {
    poseidon2: usize,
    alu: usize,
    total: usize,
}

fn counts(c: &Circuit, pred: impl Fn(Option<&str>) -> bool) -> Counts {
    let ops: Vec<_> = c.ops.iter().filter(|r| pred(r.label)).collect();
    Counts {
        poseidon2: ops.iter().filter(|r| r.kind == OpKind::Poseidon2).count(),
        alu: ops.iter().filter(|r| matches!(r.op, Op::Alu(_))).count(),
        total: ops.len(),
    }
}

fn report(name: &str, c: &Circuit) {
    let per_query = |l: Option<&str>| {
        matches!(
            l,
            Some("fri_input_merkle" | "fri_reduced_openings" | "fri_fold" | "fri_commit_merkle")
        )
    };
    let all = counts(c, |_| true);
    let q = counts(c, per_query);
    let nq = FriPreset::Testing.num_queries();
    eprintln!(
        "{name}: poseidon2 {} alu {} total {}; per query: poseidon2 {} alu {} total {}",
        all.poseidon2,
        all.alu,
        all.total,
        q.poseidon2 / nq,
        q.alu / nq,
        q.total / nq
    );
    let mut by_label: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &c.ops {
        *by_label.entry(r.label.unwrap_or("-")).or_default() += 1;
    }
    eprintln!("{name} by label: {by_label:?}");
    let mut merkle: BTreeMap<&str, usize> = BTreeMap::new();
    for r in c.ops.iter().filter(|r| r.label == Some("fri_input_merkle")) {
        *merkle.entry(r.kind.as_str()).or_default() += 1;
    }
    eprintln!("{name} input Merkle by kind: {merkle:?}");
}

#[test]
fn one_range_circuit_accepts_children_of_several_heights() {
    let cfg = testing();
    let pk = key(&cfg);
    let spec = ChildSpec::with_ranges(cfg.clone(), pk.vk.clone(), ranges()).unwrap();
    let mut b = CircuitBuilder::new();
    let child_vars = verify_child(&mut b, &spec);
    let circuit = b.build();
    report("range circuit", &circuit);
    let cc = CompiledCircuit::new(circuit, testing()).unwrap();

    // Fixed circuit of one shape, for the op counts.
    let first = child(&cfg, &pk, [2, 4, 5]);
    let fixed = ChildSpec::of_proof(cfg.clone(), pk.vk.clone(), &first).unwrap();
    let mut fb = CircuitBuilder::new();
    verify_child(&mut fb, &fixed);
    report("fixed circuit (2, 4, 5, 8)", &fb.build());

    // No shared height; the senders sharing one (main: a 4-wide then an 8-wide row in one
    // sponge); all at their maxima; Fibonacci at its other height.
    let combos = [[2, 4, 5], [3, 5, 5], [2, 7, 7], [3, 6, 7], [2, 7, 6]];
    for (n, h) in combos.into_iter().enumerate() {
        let proof = if n == 0 {
            first.clone()
        } else {
            child(&cfg, &pk, h)
        };
        let hints = child_hints(&spec, &proof).unwrap();
        let w = cc
            .run(&[], &hints)
            .unwrap_or_else(|e| panic!("heights {h:?}: {e}"));
        for (air, cells) in child_vars.public_values.iter().enumerate() {
            for (k, cell) in cells.iter().enumerate() {
                assert_eq!(
                    w.values[cell.addr() as usize],
                    Challenge::from(proof.public_values(air).unwrap()[k])
                );
            }
        }
        if n == 1 {
            let outer = cc.prove(w).unwrap();
            cc.verify(&outer, &[]).unwrap();
        }
    }
}

#[test]
fn heights_outside_the_ranges_or_not_the_openings_are_refused() {
    let cfg = testing();
    let pk = key(&cfg);
    let spec = ChildSpec::with_ranges(cfg.clone(), pk.vk.clone(), ranges()).unwrap();
    let mut b = CircuitBuilder::new();
    verify_child(&mut b, &spec);
    let cc = CompiledCircuit::new(b.build(), testing()).unwrap();

    // Outside a range: the hint generator refuses it (not expressible).
    let tall_fib = child(&cfg, &pk, [4, 5, 5]);
    let e = child_hints(&spec, &tall_fib).unwrap_err();
    assert!(e.to_string().contains("log height 4"), "{e}");
    let short_send = child(&cfg, &pk, [2, 3, 5]);
    assert!(child_hints(&spec, &short_send).is_err());

    let proof = child(&cfg, &pk, [3, 5, 6]);
    let good = child_hints(&spec, &proof).unwrap();
    cc.run(&[], &good).unwrap();
    // Hints: Fibonacci's height cell, then its one-hot [e_2, e_3], then sender A's
    // height cell and [e_4..e_7], then sender B's height and [e_5..e_7].
    // A forged height cell (out of range, one-hot unchanged): the weighted sum refuses it.
    let mut forged = good.clone();
    forged[0] = Challenge::from(Val::from_u32(9));
    assert!(cc.run(&[], &forged).is_err());
    // Two candidates set (height 2 + 3 = 5 claimed): not one-hot.
    let mut forged = good.clone();
    forged[0] = Challenge::from(Val::from_u32(5));
    forged[1] = Challenge::ONE;
    assert!(cc.run(&[], &forged).is_err());
    // A non-boolean one-hot summing to one with an in-range-looking height.
    let mut forged = good.clone();
    forged[1] = Challenge::from(Val::from_u32(2));
    forged[2] = -Challenge::ONE;
    forged[0] = Challenge::from(Val::from_u32(1));
    assert!(cc.run(&[], &forged).is_err());
    // A consistent one-hot for another in-range height (Fibonacci at 2, opened at 3).
    let mut forged = good.clone();
    forged[0] = Challenge::from(Val::from_u32(2));
    forged[1] = Challenge::ONE;
    forged[2] = Challenge::ZERO;
    assert!(cc.run(&[], &forged).is_err());

    // A proof whose claimed heights are not the ones its openings were made at, for each
    // variable AIR in turn: the transcript and the openings disagree.
    for (air, other) in [(0usize, 2u8), (1, 6), (2, 7)] {
        let mut lie = proof.clone();
        lie.airs[air].log_height = other;
        // The hints fill the circuit as a forger would; the circuit refuses them.
        let h = child_hints(&spec, &lie).unwrap();
        assert!(cc.run(&[], &h).is_err(), "AIR {air} at {other}: accepted");
    }
}

#[test]
fn range_specs_without_a_fixed_tallest_or_with_unaligned_shared_widths_are_refused() {
    let cfg = testing();
    let pk = key(&cfg);
    // The table is the only fixed AIR; a sender reaching above it leaves no fixed tallest.
    let e = ChildSpec::with_ranges(cfg.clone(), pk.vk.clone(), vec![2..=3, 4..=9, 5..=7, 8..=8])
        .err()
        .unwrap();
    assert!(e.to_string().contains("tallest"), "{e}");
    // Fibonacci (2 wide) sharing heights with a sender: refused.
    let e = ChildSpec::with_ranges(cfg.clone(), pk.vk.clone(), vec![2..=5, 4..=7, 5..=7, 8..=8])
        .err()
        .unwrap();
    assert!(e.to_string().contains("multiples of 4"), "{e}");
    // A preprocessed AIR cannot vary.
    assert!(ChildSpec::with_ranges(cfg, pk.vk.clone(), vec![2..=3, 4..=7, 5..=7, 7..=8]).is_err());
}

/// Columns x_0..x_(w-1): x_0 = 0 on the first row and counts up, x_j = x_(j-1) x_0 + j.
struct CounterAir {
    width: usize,
}

impl BaseAir<Val> for CounterAir {
    fn width(&self) -> usize {
        self.width
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for CounterAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let row = main.current_slice().to_vec();
        let x0_next = main.next_slice()[0];
        builder.when_first_row().assert_zero(row[0]);
        builder
            .when_transition()
            .assert_eq(x0_next, row[0] + AB::Expr::ONE);
        for j in 1..self.width {
            builder.assert_eq(row[j], row[j - 1] * row[0] + AB::Expr::from_usize(j));
        }
    }
}

impl StarkAir for CounterAir {
    fn name(&self) -> String {
        format!("counter{}", self.width)
    }
}

fn counter_trace(width: usize, log_height: usize) -> RowMajorMatrix<Val> {
    let mut values = Vec::new();
    for i in 0..1usize << log_height {
        let x0 = Val::from_usize(i);
        let mut prev = x0;
        values.push(x0);
        for j in 1..width {
            prev = prev * x0 + Val::from_usize(j);
            values.push(prev);
        }
    }
    RowMajorMatrix::new(values, width)
}

/// Variable matrices that can reach the tallest (fixed) height and share it with it:
/// a 4-wide fixed AIR at log 6, an 8-wide one at 3..=6 and a 12-wide one at 2..=6 (the
/// sponge's phase becomes a cell: both alignments are hashed and selected).
#[test]
fn variable_matrices_sharing_the_tallest_level_and_unknown_phases() {
    let cfg = testing();
    let widths = [4, 8, 12];
    let airs: Vec<Arc<dyn StarkAir>> = widths
        .iter()
        .map(|&width| Arc::new(CounterAir { width }) as Arc<dyn StarkAir>)
        .collect();
    let pk = keygen(&cfg, airs).unwrap();
    let spec =
        ChildSpec::with_ranges(cfg.clone(), pk.vk.clone(), vec![6..=6, 3..=6, 2..=6]).unwrap();
    let mut b = CircuitBuilder::new();
    verify_child(&mut b, &spec);
    let circuit = b.build();
    report("counters range circuit", &circuit);
    let cc = CompiledCircuit::new(circuit, testing()).unwrap();
    for (n, h) in [
        [6, 6, 6],
        [6, 3, 3],
        [6, 6, 2],
        [6, 4, 6],
        [6, 5, 4],
        [6, 3, 5],
    ]
    .into_iter()
    .enumerate()
    {
        let inputs = widths
            .iter()
            .zip(h)
            .map(|(&w, lh)| AirInput::new(counter_trace(w, lh), vec![]))
            .collect();
        let proof = prove(&cfg, &pk, inputs).unwrap();
        verify(&cfg, &pk.vk, &proof).unwrap();
        let hints = child_hints(&spec, &proof).unwrap();
        let w = cc
            .run(&[], &hints)
            .unwrap_or_else(|e| panic!("heights {h:?}: {e}"));
        if n == 0 {
            let outer = cc.prove(w).unwrap();
            cc.verify(&outer, &[]).unwrap();
        }
        // The same proof claiming another in-range height for the 12-wide AIR.
        let mut lie = proof.clone();
        lie.airs[2].log_height = if h[2] == 6 { 5 } else { h[2] as u8 + 1 };
        let hints = child_hints(&spec, &lie).unwrap();
        assert!(
            cc.run(&[], &hints).is_err(),
            "heights {h:?}: a lie accepted"
        );
    }
}
