//! Soundness: lies refused by witness generation, the same lies pushed past it (a trace
//! that lies consistently: the wrong value written and every read of it patched) refused
//! by the verifier, malformed programs refused, and the constraint coverage of every
//! table (with `ablation`: each lie verifies once the constraints it trips are dropped).

mod common;

use std::borrow::BorrowMut;
use std::collections::BTreeSet;

use common::*;
use starkscope_recursion::gadgets::{hash, merkle, Digest};
use starkscope_recursion::ir::{AluOp, AluOut, Op, OpKind, Recorded};
use starkscope_recursion::tables::{bits as bits_t, poseidon2 as p2_t};
use starkscope_recursion::{
    Circuit, CircuitBuilder, CompileError, CompiledCircuit, Felt, Group, TableId, Witness,
};
use starkscope_stark_backend::debug::{check_traces, own_constraint_counts};
use starkscope_stark_backend::p3::{PrimeCharacteristicRing, PrimeField32};
use starkscope_stark_backend::poseidon2::{self as p2, Cols, NUM_COLS, NUM_CONSTRAINTS};
use starkscope_stark_backend::{Challenge, Val};

fn c(v: u32) -> Challenge {
    Challenge::from(Val::from_u32(v))
}

fn base(v: Challenge) -> Val {
    p3_field::BasedVectorSpace::<Val>::as_basis_coefficients_slice(&v)[0]
}

/// Sets a cell everywhere and recomputes every ALU op that depends on it (transitively),
/// as a cheating prover keeping the bus balanced would.
fn lie_cell(cc: &CompiledCircuit, w: &mut Witness, addr: u32, value: Challenge) {
    cc.patch_cell(w, addr, value);
    for r in &cc.circuit.ops {
        if let Op::Alu(op) = &r.op {
            let reads = op.reads();
            let uses = [op.a, op.b, op.c]
                .into_iter()
                .zip(reads)
                .any(|(a, read)| read && a == Some(addr));
            if let (true, AluOut::Write(out)) = (uses, op.out) {
                let v = alu(op, &w.values);
                if v != w.values[out as usize] {
                    lie_cell(cc, w, out, v);
                }
            }
        }
    }
}

/// [`lie_cell`] with the cell's value plus `delta`.
fn bump(cc: &CompiledCircuit, w: &mut Witness, addr: u32, delta: Challenge) {
    let v = w.values[addr as usize] + delta;
    lie_cell(cc, w, addr, v);
}

fn alu(op: &AluOp, values: &[Challenge]) -> Challenge {
    let get = |a: Option<u32>| a.map_or(Challenge::ZERO, |a| values[a as usize]);
    let [m, x, y, z] = op.coeffs;
    get(op.a) * get(op.b) * m + get(op.a) * x + get(op.b) * y + get(op.c) * z
}

// ---- witness generation refuses wrong hints --------------------------------------------

#[test]
fn a_wrong_inverse_is_refused_by_witness_generation() {
    let mut b = CircuitBuilder::new();
    let x = b.hint_ext();
    let inv = b.inverse(x);
    let cc = compile(b.build());
    let xv = ext(&mut rng(1));
    let err = cc
        .run_forged(&[], &[xv], &[(inv.addr(), Challenge::ONE + xv)])
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("(inverse)") && msg.contains("check failed"),
        "{msg}"
    );
    let err = cc.run(&[], &[Challenge::ZERO]).unwrap_err();
    assert!(err.to_string().contains("no inverse"), "{err}");
}

#[test]
fn a_non_canonical_decomposition_is_refused_by_witness_generation() {
    let mut b = CircuitBuilder::new();
    let x = b.hint_felt();
    let bits = b.bits(x);
    let cc = compile(b.build());
    // 5 + p < 2^31: its 31 bits recompose to 5 mod p, all boolean, but are not canonical.
    let lie = 5u64 + Val::ORDER_U32 as u64;
    let overrides: Vec<(u32, Challenge)> = bits
        .iter()
        .enumerate()
        .map(|(i, bit)| (bit.addr(), c(((lie >> i) & 1) as u32)))
        .collect();
    let err = cc.run_forged(&[], &[c(5)], &overrides).unwrap_err();
    assert!(err.to_string().contains("not below p"), "{err}");
}

#[test]
fn a_wrong_merkle_sibling_is_refused_by_witness_generation() {
    let (cc, public, mut hints, sibling_hint) = merkle_lab();
    cc.run(&public, &hints).expect("the honest path verifies");
    hints[sibling_hint] += Challenge::ONE;
    let err = cc.run(&public, &hints).unwrap_err();
    assert!(err.to_string().contains("assert_eq"), "{err}");
}

#[test]
fn a_non_boolean_select_bit_is_refused_by_witness_generation() {
    let mut b = CircuitBuilder::new();
    let bit = b.hint_felt();
    let x = b.hint_ext();
    let y = b.hint_ext();
    let _ = b.select(bit, x, y);
    let cc = compile(b.build());
    let err = cc.run(&[], &[c(2), c(7), c(9)]).unwrap_err();
    assert!(err.to_string().contains("bool_check"), "{err}");
    // A non-boolean direction bit of a Merkle step too.
    let mut b = CircuitBuilder::new();
    let bit = b.hint_felt();
    let d: Digest = core::array::from_fn(|_| b.hint_quad());
    let _ = hash::compress_dir(&mut b, bit, d, d);
    let cc = compile(b.build());
    let hints = vec![c(2), c(3), c(4)];
    let err = cc.run(&[], &hints).unwrap_err();
    assert!(err.to_string().contains("direction bit"), "{err}");
}

/// A Merkle path of depth 3 checked against a public root: (circuit, public root, hints,
/// index of the first sibling's first hint).
fn merkle_lab() -> (CompiledCircuit, Vec<Val>, Vec<Challenge>, usize) {
    let mut r = rng(5);
    let leaf: Vec<Val> = (0..5).map(|_| felt(&mut r)).collect();
    let siblings: Vec<[Val; 8]> = (0..3)
        .map(|_| core::array::from_fn(|_| felt(&mut r)))
        .collect();
    let index = 0b101usize;
    // Natively.
    let mut node = starkscope_recursion_native::hash(&leaf);
    for (level, s) in siblings.iter().enumerate() {
        node = if (index >> level) & 1 == 0 {
            starkscope_recursion_native::compress(node, *s)
        } else {
            starkscope_recursion_native::compress(*s, node)
        };
    }
    let mut b = CircuitBuilder::new();
    let root_felts: [Felt; 8] = core::array::from_fn(|_| b.public());
    let root = hash::digest_from_felts(&mut b, root_felts);
    let mut hints = Vec::new();
    let leaf_c = quads_of(&mut b, &leaf, &mut hints);
    let idx = b.hint_felt();
    hints.push(c(index as u32));
    let bits = b.bits(idx);
    let sibling_hint = hints.len();
    let sib_c: Vec<Digest> = siblings
        .iter()
        .map(|s| digest_of(&mut b, *s, &mut hints))
        .collect();
    let level = merkle::OpenedLevel {
        log_height: 3,
        values: leaf_c,
        len: leaf.len(),
    };
    merkle::verify_batch(&mut b, root, &[level], &bits[..3], &sib_c);
    (compile(b.build()), node.to_vec(), hints, sibling_hint)
}

mod starkscope_recursion_native {
    use p3_symmetric::{CryptographicHasher, PseudoCompressionFunction};
    use starkscope_stark_backend::config::{LeafHash, NodeCompress};
    use starkscope_stark_backend::Val;

    pub fn hash(v: &[Val]) -> [Val; 8] {
        LeafHash::new(p3_baby_bear::default_babybear_poseidon2_16()).hash_iter(v.iter().copied())
    }
    pub fn compress(l: [Val; 8], r: [Val; 8]) -> [Val; 8] {
        NodeCompress::new(p3_baby_bear::default_babybear_poseidon2_16()).compress([l, r])
    }
}

// ---- the same lies, consistent, past witness generation ----------------------------------

/// Proves the witness and verifies it against the public values it claims: refused by
/// the STARK, not by a comparison of public values.
fn refused(cc: &CompiledCircuit, w: Witness) -> bool {
    let claimed = w.inputs[TableId::Public as usize].public_values.clone();
    match cc.prove(w) {
        Err(_) => true,
        Ok(proof) => cc.verify(&proof, &claimed).is_err(),
    }
}

/// `run_unchecked` refuses nothing and keeps the bus balanced: each lie below fails only the
/// table constraint that checks it.
#[test]
fn a_permissive_run_fills_what_a_forger_commits_and_the_tables_refuse_it() {
    let mut b = CircuitBuilder::new();
    let x = b.hint_ext();
    let _ = b.inverse(x); // x = 0: no inverse
    let y = b.hint_ext();
    let z = b.hint_ext();
    b.assert_eq(y, z); // y != z
    let f = b.hint_felt(); // an extension value in a base hint
    let _ = b.bits(f);
    let cc = compile(b.build());
    let hints = [Challenge::ZERO, c(3), c(4), ext(&mut rng(7))];
    assert!(cc.run(&[], &hints).is_err());
    let w = cc.run_unchecked(&[], &hints).unwrap();
    let report = check_traces(&cc.pk, &w.inputs);
    let tables: BTreeSet<usize> = report.failures.iter().map(|f| f.air_id).collect();
    assert!(
        tables.contains(&(TableId::Alu as usize)) && tables.contains(&(TableId::Hint as usize)),
        "{report}"
    );
    // Only the base read of the extension-valued hint (the BITS input) unbalances the bus.
    assert!(
        !report.unbalanced.is_empty() && report.unbalanced.iter().all(|u| u.tuple[0] == f.addr()),
        "{report}"
    );
    // The honest run of the same circuit is what `run_unchecked` computes.
    let honest = [c(2), c(3), c(3), c(5)];
    assert_eq!(
        cc.run(&[], &honest).unwrap().values,
        cc.run_unchecked(&[], &honest).unwrap().values
    );
}

#[test]
fn a_consistent_wrong_inverse_is_refused_by_the_verifier() {
    let mut b = CircuitBuilder::new();
    let x = b.hint_ext();
    let inv = b.inverse(x);
    let y = b.mul(inv, inv);
    let _ = b.add(y, x);
    let cc = compile(b.build());
    let xv = ext(&mut rng(1));
    let mut w = cc.run(&[], &[xv]).unwrap();
    bump(&cc, &mut w, inv.addr(), Challenge::ONE);
    let report = check_traces(&cc.pk, &w.inputs);
    assert!(
        report.buses_balance(),
        "the lie is consistent on the bus: {report}"
    );
    // Only the checking lane (ALU row 0, lane 0: its four limb equations) fails.
    assert_eq!(
        report.failing_constraints(),
        (0..4).map(|k| (TableId::Alu as usize, k)).collect(),
        "{report}"
    );
    assert!(refused(&cc, w));
}

#[test]
fn a_consistent_non_boolean_select_bit_is_refused_by_the_verifier() {
    let mut b = CircuitBuilder::new();
    let bit = b.hint_felt();
    let x = b.hint_ext();
    let y = b.hint_ext();
    let s = b.select(bit, x, y);
    let _ = b.mul(s, s);
    let cc = compile(b.build());
    let mut w = cc.run(&[], &[c(1), c(7), c(9)]).unwrap();
    lie_cell(&cc, &mut w, bit.addr(), c(2));
    let report = check_traces(&cc.pk, &w.inputs);
    assert!(report.buses_balance(), "{report}");
    assert_eq!(
        report.failures.len(),
        1,
        "only the boolean check fails: {report}"
    );
    assert!(refused(&cc, w));
}

#[test]
fn a_consistent_wrong_merkle_sibling_is_refused_by_the_verifier() {
    let (cc, public, hints, sibling_hint) = merkle_lab();
    let mut w = cc.run(&public, &hints).unwrap();
    // The sibling cell is written by the hint table and read by a permutation row: patch
    // both, keep the permutation's rounds (so the root still matches).
    let hint_ops: Vec<u32> = cc
        .circuit
        .ops
        .iter()
        .filter_map(|r| match r.op {
            Op::Hint { out, .. } if r.kind == OpKind::Hint => Some(out),
            _ => None,
        })
        .collect();
    let addr = hint_ops[sibling_hint];
    let v = w.values[addr as usize] + Challenge::ONE;
    cc.patch_cell(&mut w, addr, v);
    let report = check_traces(&cc.pk, &w.inputs);
    assert!(report.buses_balance(), "{report}");
    assert!(
        report
            .failures
            .iter()
            .all(|f| f.air_name == "rec_poseidon2"),
        "{report}"
    );
    assert!(refused(&cc, w));
}

// ---- programs and keys -------------------------------------------------------------------

fn raw(ops: Vec<Op>, num_cells: u32) -> Circuit {
    Circuit {
        ops: ops
            .into_iter()
            .map(|op| Recorded {
                op,
                kind: OpKind::Linear,
                label: None,
            })
            .collect(),
        num_cells,
        num_public: 0,
        num_hints: 0,
        children: Vec::new(),
    }
}

#[test]
fn a_program_that_writes_a_cell_twice_or_reads_an_unwritten_cell_does_not_compile() {
    let k = |out, v| Op::Const { out, value: c(v) };
    let err = CompiledCircuit::new(raw(vec![k(0, 1), k(0, 2)], 1), test_config()).unwrap_err();
    assert!(
        matches!(err, CompileError::WrittenTwice { addr: 0, .. }),
        "{err}"
    );
    let add = Op::Alu(AluOp {
        a: Some(0),
        b: Some(1),
        c: None,
        coeffs: [Val::ZERO, Val::ONE, Val::ONE, Val::ZERO],
        out: AluOut::Write(2),
    });
    let err = CompiledCircuit::new(raw(vec![k(0, 1), add], 3), test_config()).unwrap_err();
    assert!(
        matches!(err, CompileError::ReadBeforeWrite { op: 1, addr: 1 }),
        "{err}"
    );
}

/// What the tables take on trust from the program (flags are 0/1, nothing chains into
/// row 0) is checked when a circuit compiles; a program that breaks it is refused.
#[test]
fn program_invariants_are_checked_at_compile_time() {
    use starkscope_recursion::tables::poseidon2::prep;
    use starkscope_recursion::Program;
    let mut b = CircuitBuilder::new();
    let x = b.hint_quad();
    let out = b.poseidon2([Group::Cell(x); 4]);
    let _ = b.poseidon2(out.map(Group::Cell));
    let circuit = b.build();
    let honest = Program::new(&circuit).unwrap();
    assert_eq!(honest.check(), Ok(()));
    let tampered = |f: &dyn Fn(&mut [Val])| {
        let mut p = honest.clone();
        let m = &mut p.preprocessed[TableId::Poseidon2 as usize];
        let w = m.width;
        f(&mut m.values[..2 * w]);
        p.check()
    };
    let w = prep::WIDTH_;
    assert!(
        tampered(&|rows| rows[prep::CHAIN] = Val::ONE).is_err(),
        "row 0 chained"
    );
    assert!(
        tampered(&|rows| rows[w + prep::READ] = Val::ONE).is_err(),
        "read and chained"
    );
    assert!(
        tampered(&|rows| rows[prep::READ + 3] = Val::TWO).is_err(),
        "read flag 2"
    );
}

/// The Merkle gadget takes exactly one index bit per level (Plonky3 refuses an index at
/// or above the tree's height; a wider index must be constrained by the caller).
#[test]
#[should_panic(expected = "exactly one index bit per level")]
fn the_merkle_gadget_refuses_extra_index_bits() {
    let mut b = CircuitBuilder::new();
    let d: Digest = core::array::from_fn(|_| b.hint_quad());
    let idx = b.hint_felt();
    let bits = b.bits(idx);
    let level = merkle::OpenedLevel {
        log_height: 2,
        values: vec![d[0]],
        len: 4,
    };
    merkle::verify_batch(&mut b, d, &[level], &bits[..3], &[d, d]);
}

fn test_config() -> starkscope_stark_backend::StarkConfig {
    starkscope_stark_backend::StarkConfig::new(starkscope_stark_backend::FriPreset::Testing)
}

fn small_circuit(k: u32) -> Circuit {
    let mut b = CircuitBuilder::new();
    let x = b.public();
    let h = b.hint_ext();
    let kk = b.constant(Val::from_u32(k));
    let y = b.mul_add(h, x.ext(), kk.ext());
    let _ = b.mul(y, y);
    b.build()
}

/// The bus refuses a read of a cell nobody writes and a write whose count is not the
/// number of reads, even when the key commits to such a program.
#[test]
fn the_bus_refuses_an_unwritten_read_and_a_wrong_read_count() {
    use starkscope_recursion::tables::alu::{prep, PREP_PER_LANE};
    let public = [Val::from_u32(3)];
    let hints = [c(4)];
    // An ALU lane reading a cell no op writes.
    let cc = CompiledCircuit::with_tampered_program(small_circuit(1), test_config(), |p| {
        let m = &mut p.preprocessed[TableId::Alu as usize];
        m.values[prep::ADDR_A] = Val::from_u32(999);
    })
    .unwrap();
    let w = cc.run(&public, &hints).unwrap();
    assert!(!check_traces(&cc.pk, &w.inputs).buses_balance());
    assert!(refused(&cc, w));
    // A write whose count is one more than its reads.
    let cc = CompiledCircuit::with_tampered_program(small_circuit(1), test_config(), |p| {
        let m = &mut p.preprocessed[TableId::Alu as usize];
        m.values[prep::CNT_OUT] += Val::ONE;
        let _ = PREP_PER_LANE;
    })
    .unwrap();
    let w = cc.run(&public, &hints).unwrap();
    assert!(!check_traces(&cc.pk, &w.inputs).buses_balance());
    assert!(refused(&cc, w));
}

#[test]
fn a_proof_is_bound_to_its_public_inputs_and_its_circuit() {
    let cc = compile(small_circuit(1));
    let public = [Val::from_u32(3)];
    let w = cc.run(&public, &[c(4)]).unwrap();
    let proof = cc.prove(w.clone()).unwrap();
    cc.verify(&proof, &public).unwrap();
    // Another public input: refused before the STARK.
    assert!(cc.verify(&proof, &[Val::from_u32(4)]).is_err());
    // A proof that claims another public value than its trace holds: refused by the STARK.
    let mut forged = w.clone();
    forged.inputs[TableId::Public as usize].public_values[0] = Val::from_u32(4);
    let proof = cc.prove(forged).unwrap();
    assert!(cc.verify(&proof, &[Val::from_u32(4)]).is_err());
    // The same-shaped circuit with another constant has another key.
    let other = compile(small_circuit(2));
    let proof = cc.prove(w).unwrap();
    assert!(other.verify(&proof, &public).is_err());
}

#[test]
fn keys_are_deterministic() {
    let a = compile(small_circuit(1));
    let b = compile(small_circuit(1));
    let bytes = |cc: &CompiledCircuit| cc.vk().to_bytes().unwrap();
    assert_eq!(bytes(&a), bytes(&b));
    let other = compile(small_circuit(2));
    assert_ne!(bytes(&a), bytes(&other));
}

// ---- the lie catalogue and constraint coverage -------------------------------------------

/// A circuit touching every table in the places the lies need.
struct Lab {
    cc: CompiledCircuit,
    honest: Witness,
    /// Base hints in hint lanes 0..4, each read only by `add(h, h)` in ALU lanes 0..4.
    base_hints: [Felt; 4],
    /// Those adds, each read only by a `mul` whose result nobody reads.
    adds: [Felt; 4],
    /// The decomposed value (a hint read only by the bits row) and its bits.
    bits_in: Felt,
    bits: [Felt; 31],
}

/// Poseidon2 rows of the lab: A reads all lanes and a direction bit, B chains all of A,
/// C reads lanes 0..8 with lanes 8..16 zero and tag 3, D has lanes 0..8 zero and reads
/// 8..16. No output is read.
const ROW_A: usize = 0;
const ROW_B: usize = 1;
const ROW_C: usize = 2;
const ROW_D: usize = 3;
const TAGS: [u8; 4] = [0, 0, 3, 0];

fn lab() -> Lab {
    let mut r = rng(99);
    let mut b = CircuitBuilder::new();
    let public = vec![felt(&mut r), felt(&mut r)];
    let p0 = b.public();
    let p1 = b.public();
    let mut hints = Vec::new();
    let base_hints: [Felt; 4] = core::array::from_fn(|_| {
        hints.push(Challenge::from(felt(&mut r)));
        b.hint_felt()
    });
    let adds = base_hints.map(|h| b.add(h, h));
    for a in adds {
        let _ = b.mul(a, a);
    }
    let _ = b.add(p0, p1);
    let bits_in = b.hint_felt();
    hints.push(c(5));
    let bits = b.bits(bits_in);
    let mut cell_of = |b: &mut CircuitBuilder, hints: &mut Vec<Challenge>| -> Group {
        let v: Vec<Val> = (0..4).map(|_| felt(&mut r)).collect();
        Group::Cell(quads_of(b, &v, hints)[0])
    };
    let a_groups: [Group; 4] = core::array::from_fn(|_| cell_of(&mut b, &mut hints));
    let dir = b.hint_felt();
    hints.push(c(1));
    let a_out = b.poseidon2_op(a_groups, Some(dir), 0);
    let _b_out = b.poseidon2(a_out.map(Group::Cell));
    let c_groups: [Group; 4] = core::array::from_fn(|g| {
        if g < 2 {
            cell_of(&mut b, &mut hints)
        } else {
            Group::Zero
        }
    });
    let _ = b.poseidon2_op(c_groups, None, TAGS[ROW_C]);
    let d_groups: [Group; 4] = core::array::from_fn(|g| {
        if g < 2 {
            Group::Zero
        } else {
            cell_of(&mut b, &mut hints)
        }
    });
    let _ = b.poseidon2(d_groups);
    // Horner rows: H0 reads its accumulator, H1 chains H0's (5 steps), H2 starts from
    // zero (8 steps, result unread); row 3 is padding.
    let xs: Vec<starkscope_recursion::Quad> = (0..6)
        .map(|_| match cell_of(&mut b, &mut hints) {
            Group::Cell(q) => q,
            Group::Zero => unreachable!(),
        })
        .collect();
    let mut r = rng(98);
    let alpha = b.hint_ext();
    hints.push(ext(&mut r));
    let acc = b.hint_ext();
    hints.push(ext(&mut r));
    let _ = b.horner(Some(acc), alpha, &xs[..4], 13);
    let _ = b.horner(None, alpha, &xs[4..], 8);
    let cc = compile(b.build());
    let honest = cc.run(&public, &hints).unwrap();
    Lab {
        cc,
        honest,
        base_hints,
        adds,
        bits_in,
        bits,
    }
}

type Apply = Box<dyn Fn(&Lab, &mut Witness)>;

struct Lie {
    name: String,
    apply: Apply,
}

fn lie(name: impl Into<String>, apply: impl Fn(&Lab, &mut Witness) + 'static) -> Lie {
    Lie {
        name: name.into(),
        apply: Box::new(apply),
    }
}

fn e_j(j: usize) -> Challenge {
    <Challenge as p3_field::BasedVectorSpace<Val>>::ith_basis_element(j).unwrap()
}

/// Recomputes a lab Poseidon2 row from its operands and direction with the table's own
/// formulas (so a non-boolean direction is honoured), optionally lying at constraint k.
fn refill(row: &mut [Val], tag: u8, lie: Option<(usize, Val)>) {
    let op: Vec<Val> = row[p2_t::main::OPERANDS..p2_t::main::OPERANDS + 16].to_vec();
    let d = row[p2_t::main::DIR];
    let cols: &mut Cols<Val> = row[..NUM_COLS].borrow_mut();
    for i in 0..8 {
        let (l, r) = (op[i], op[i + 8]);
        cols.inputs[i] = l + d * (r - l);
        cols.inputs[i + 8] = r - d * (r - l);
    }
    cols.inputs[8] += Val::from_u8(tag);
    p2::fill_row(cols, lie);
}

fn p2_row(w: &mut Witness, r: usize) -> &mut [Val] {
    let t = w.trace_mut(TableId::Poseidon2);
    let width = t.width;
    &mut t.values[r * width..(r + 1) * width]
}

fn bits_row(w: &mut Witness) -> &mut [Val] {
    let t = w.trace_mut(TableId::Bits);
    let width = t.width;
    &mut t.values[..width]
}

/// Sets the lab's bits row to `bits` (and the value to `v`), every read patched.
fn set_bits(lab: &Lab, w: &mut Witness, v: Val, bits: [Val; 31]) {
    lie_cell(&lab.cc, w, lab.bits_in.addr(), Challenge::from(v));
    for (cell, b) in lab.bits.iter().zip(bits) {
        lie_cell(&lab.cc, w, cell.addr(), Challenge::from(b));
    }
    let row = bits_row(w);
    row[bits_t::main::T] = bits[27] * bits[28];
    row[bits_t::main::TOP] = bits[27] * bits[28] * bits[29] * bits[30];
}

fn horner_row(w: &mut Witness, r: usize) -> &mut [Val] {
    let t = w.trace_mut(TableId::Horner);
    let width = t.width;
    &mut t.values[r * width..(r + 1) * width]
}

/// Recomputes a Horner row's accumulators from `acc_in`, `alpha` and its values (steps
/// `0..active` active), adding `bump` to step `k`'s limb `j` on the way.
fn horner_refill(row: &mut [Val], active: usize, bump: Option<(usize, usize)>) {
    use starkscope_recursion::tables::horner::{main::*, STEPS};
    let ext_at = |row: &[Val], at: usize| -> Challenge {
        <Challenge as p3_field::BasedVectorSpace<Val>>::from_basis_coefficients_fn(|j| row[at + j])
    };
    let alpha = ext_at(row, ALPHA);
    let mut acc = ext_at(row, ACC_IN);
    for k in 0..STEPS {
        if k < active {
            acc = acc * alpha + row[X + k];
        }
        if let Some((bk, j)) = bump {
            if bk == k {
                acc += e_j(j);
            }
        }
        let l = p3_field::BasedVectorSpace::<Val>::as_basis_coefficients_slice(&acc).to_vec();
        row[ACC + 4 * k..ACC + 4 * k + 4].copy_from_slice(&l);
    }
}

const HORNER_CHAINED: usize = 1;
const HORNER_FROM_ZERO: usize = 2;
const HORNER_PADDING: usize = 3;

fn catalogue() -> Vec<Lie> {
    let mut lies = Vec::new();
    // PUBLIC: the proof states another public value than the trace holds.
    for i in 0..2 {
        lies.push(lie(
            format!("public/{i}: claimed value differs"),
            move |_, w| {
                w.inputs[TableId::Public as usize].public_values[i] += Val::ONE;
            },
        ));
    }
    // HINT: a base hint with a nonzero upper limb, read consistently.
    for lane in 0..4 {
        for j in 1..4 {
            lies.push(lie(
                format!("hint/lane {lane}: base hint with limb {j}"),
                move |lab, w| {
                    let h = lab.base_hints[lane].addr();
                    bump(&lab.cc, w, h, e_j(j));
                },
            ));
        }
    }
    // ALU: a wrong result limb, its reader recomputed on it.
    for lane in 0..4 {
        for j in 0..4 {
            lies.push(lie(
                format!("alu/lane {lane}: result limb {j} off by one"),
                move |lab, w| {
                    let a = lab.adds[lane].addr();
                    bump(&lab.cc, w, a, e_j(j));
                },
            ));
        }
    }
    // BITS.
    for i in 0..31 {
        lies.push(lie(format!("bits/bit {i} is 2"), move |lab, w| {
            let mut bits: [Val; 31] =
                core::array::from_fn(|k| base(w.values[lab.bits[k].addr() as usize]));
            let v = base(w.values[lab.bits_in.addr() as usize]);
            let v2 = v + (Val::TWO - bits[i]) * Val::from_u32(1 << i);
            bits[i] = Val::TWO;
            set_bits(lab, w, v2, bits);
        }));
    }
    lies.push(lie("bits/value is not the bits' sum", |lab, w| {
        let a = lab.bits_in.addr();
        bump(&lab.cc, w, a, Challenge::ONE);
    }));
    lies.push(lie("bits/t is not b27*b28", |_, w| {
        bits_row(w)[bits_t::main::T] += Val::ONE;
    }));
    lies.push(lie("bits/top is not t*b29*b30", |_, w| {
        bits_row(w)[bits_t::main::TOP] += Val::ONE;
    }));
    lies.push(lie("bits/5 decomposed as 5 + p", |lab, w| {
        let n = 5u64 + Val::ORDER_U32 as u64;
        let bits = core::array::from_fn(|i| Val::from_bool((n >> i) & 1 == 1));
        set_bits(lab, w, Val::from_u32(5), bits);
    }));
    // POSEIDON2: every round constraint (in row D, whose outputs nobody reads).
    for k in 0..NUM_CONSTRAINTS {
        lies.push(lie(
            format!("poseidon2/round constraint {k}"),
            move |_, w| {
                refill(p2_row(w, ROW_D), TAGS[ROW_D], Some((k, Val::ONE)));
            },
        ));
    }
    lies.push(lie("poseidon2/direction bit 2", |lab, w| {
        let dir_cell = dir_of(lab);
        lie_cell(&lab.cc, w, dir_cell, c(2));
        refill(p2_row(w, ROW_A), TAGS[ROW_A], None);
        // B chains A's new output.
        let out = p2::output(p2_row(w, ROW_A)[..NUM_COLS].as_ref().borrow_cols());
        let b = p2_row(w, ROW_B);
        b[p2_t::main::OPERANDS..p2_t::main::OPERANDS + 16].copy_from_slice(&out);
        refill(b, TAGS[ROW_B], None);
    }));
    lies.push(lie("poseidon2/swapped without a direction read", |_, w| {
        let row = p2_row(w, ROW_C);
        row[p2_t::main::DIR] = Val::ONE;
        refill(row, TAGS[ROW_C], None);
    }));
    for i in 0..16 {
        lies.push(lie(
            format!("poseidon2/operand {i} is not the input"),
            move |lab, w| {
                let a = group_cell(lab, ROW_A, i / 4);
                let v = w.values[a as usize] + e_j(i % 4);
                lab.cc.patch_cell(w, a, v);
            },
        ));
        let zero_row = if i < 8 { ROW_D } else { ROW_C };
        lies.push(lie(
            format!("poseidon2/zero lane {i} is not zero"),
            move |_, w| {
                let row = p2_row(w, zero_row);
                row[p2_t::main::OPERANDS + i] = Val::ONE;
                refill(row, TAGS[zero_row], None);
            },
        ));
        lies.push(lie(
            format!("poseidon2/chained lane {i} differs"),
            move |_, w| {
                let row = p2_row(w, ROW_B);
                row[p2_t::main::OPERANDS + i] += Val::ONE;
                refill(row, TAGS[ROW_B], None);
            },
        ));
    }
    // HORNER.
    {
        use starkscope_recursion::tables::horner::main::{ACC_IN, ALPHA};
        for k in 0..8 {
            for j in 0..4 {
                lies.push(lie(
                    format!("horner/step {k} limb {j} off by one"),
                    move |_, w| {
                        horner_refill(horner_row(w, HORNER_FROM_ZERO), 8, Some((k, j)));
                    },
                ));
            }
        }
        for j in 0..4 {
            lies.push(lie(
                format!("horner/unread accumulator limb {j} is not zero"),
                move |_, w| {
                    let row = horner_row(w, HORNER_FROM_ZERO);
                    row[ACC_IN + j] = Val::ONE;
                    horner_refill(row, 8, None);
                },
            ));
            lies.push(lie(
                format!("horner/unread alpha limb {j} is not zero"),
                move |_, w| {
                    horner_row(w, HORNER_PADDING)[ALPHA + j] = Val::ONE;
                },
            ));
            lies.push(lie(
                format!("horner/chained accumulator limb {j} differs"),
                move |_, w| {
                    let row = horner_row(w, HORNER_CHAINED);
                    row[ACC_IN + j] += Val::ONE;
                    horner_refill(row, 5, None);
                },
            ));
        }
    }
    lies
}

trait BorrowCols {
    fn borrow_cols(&self) -> &Cols<Val>;
}
impl BorrowCols for [Val] {
    fn borrow_cols(&self) -> &Cols<Val> {
        std::borrow::Borrow::borrow(self)
    }
}

fn p2_ops(lab: &Lab) -> Vec<starkscope_recursion::ir::Poseidon2Op> {
    lab.cc
        .circuit
        .ops
        .iter()
        .filter_map(|r| match r.op {
            Op::Poseidon2(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn dir_of(lab: &Lab) -> u32 {
    p2_ops(lab)[ROW_A].dir.unwrap().addr()
}

fn group_cell(lab: &Lab, row: usize, g: usize) -> u32 {
    match p2_ops(lab)[row].groups[g] {
        Group::Cell(q) => q.addr(),
        Group::Zero => panic!("group {g} of row {row} is zero"),
    }
}

/// `(table, constraint)` pairs a lie trips, by the debug checker.
fn tripped(lab: &Lab, l: &Lie) -> (BTreeSet<(usize, usize)>, bool) {
    let mut w = lab.honest.clone();
    (l.apply)(lab, &mut w);
    let report = check_traces(&lab.cc.pk, &w.inputs);
    (report.failing_constraints(), report.buses_balance())
}

#[test]
fn the_lab_is_honest_and_its_rows_are_where_the_lies_expect() {
    let lab = lab();
    assert!(check_traces(&lab.cc.pk, &lab.honest.inputs).is_ok());
    let chained = &lab.cc.program.chained;
    assert_eq!(chained.len(), 4);
    assert!(chained[ROW_B].iter().all(|&c| c) && !chained[ROW_A].iter().any(|&c| c));
    assert_eq!(lab.cc.program.heights[TableId::Poseidon2 as usize], 4);
    assert_eq!(lab.cc.program.horner_chained, vec![false, true, false]);
    assert_eq!(lab.cc.program.heights[TableId::Horner as usize], 4);
    for (i, h) in lab.base_hints.iter().enumerate() {
        let p = lab
            .cc
            .program
            .placements
            .iter()
            .zip(&lab.cc.circuit.ops)
            .find(|(_, r)| matches!(r.op, Op::Hint { out, .. } if out == h.addr()));
        assert_eq!(p.unwrap().0.row, 0);
        assert_eq!(p.unwrap().0.lane, i);
    }
}

/// Every lie trips some constraint, keeps the bus balanced (it is consistent), and every
/// constraint of every table is tripped by some lie.
#[test]
fn every_constraint_is_covered_by_a_consistent_lie() {
    let lab = lab();
    let lies = catalogue();
    let mut covered: BTreeSet<(usize, usize)> = BTreeSet::new();
    for l in &lies {
        let (t, balanced) = tripped(&lab, l);
        assert!(balanced, "{}: not consistent on the bus", l.name);
        assert!(!t.is_empty(), "{}: trips no constraint", l.name);
        covered.extend(t);
    }
    let counts = own_constraint_counts(&lab.cc.pk);
    let names: Vec<String> = lab.cc.vk().airs().iter().map(|a| a.name()).collect();
    eprintln!("| table | constraints | covered by a lie |");
    eprintln!("|---|---:|---:|");
    let mut missing = Vec::new();
    for (t, &n) in counts.iter().enumerate() {
        let hit = (0..n).filter(|k| covered.contains(&(t, *k))).count();
        eprintln!("| {} | {n} | {hit} |", names[t]);
        missing.extend(
            (0..n)
                .filter(|k| !covered.contains(&(t, *k)))
                .map(|k| (names[t].clone(), k)),
        );
    }
    eprintln!("{} lies", lies.len());
    assert!(missing.is_empty(), "constraints no lie trips: {missing:?}");
}

/// Lies proven and verified: all refused. The test command proves a sample (every
/// table); `RECURSION_SWEEP=all` (scripts/recursion-sweep.sh) proves every lie.
#[test]
fn lies_are_refused_by_the_verifier() {
    let lab = lab();
    let all = std::env::var("RECURSION_SWEEP").is_ok_and(|v| v == "all");
    let lies = catalogue();
    let mut accepted = Vec::new();
    let mut proven = 0;
    for (i, l) in lies.iter().enumerate() {
        if !all && !sampled(i, &l.name) {
            continue;
        }
        let mut w = lab.honest.clone();
        (l.apply)(&lab, &mut w);
        proven += 1;
        if !refused(&lab.cc, w) {
            accepted.push(l.name.clone());
        }
    }
    eprintln!("{proven} lies proven, {} accepted", accepted.len());
    assert!(accepted.is_empty(), "accepted lies: {accepted:?}");
}

/// The sample: the first lie of each table and of each Poseidon2 family, and every 37th.
fn sampled(i: usize, name: &str) -> bool {
    const FIRST: &[&str] = &[
        "public/0",
        "hint/lane 0: base hint with limb 1",
        "alu/lane 0: result limb 0",
        "bits/bit 0 ",
        "bits/5 decomposed",
        "poseidon2/round constraint 0",
        "poseidon2/direction",
        "poseidon2/swapped",
        "poseidon2/operand 0 ",
        "poseidon2/zero lane 0 ",
        "poseidon2/chained lane 0 ",
        "horner/step 0 limb 0",
        "horner/unread accumulator limb 0",
        "horner/unread alpha limb 0",
        "horner/chained accumulator limb 0",
    ];
    FIRST.iter().any(|f| name.starts_with(f)) || i.is_multiple_of(37)
}

/// With the constraints a lie trips dropped from prover and verifier alike, the lie
/// verifies: the coverage above is real, not an artefact of the debug checker.
#[cfg(feature = "ablation")]
#[test]
fn a_lie_verifies_once_its_constraints_are_dropped() {
    let all = std::env::var("RECURSION_SWEEP").is_ok_and(|v| v == "all");
    let lies = catalogue();
    let mut failed = Vec::new();
    let mut proven = 0;
    for (i, l) in lies.iter().enumerate() {
        if !all && !sampled(i, &l.name) {
            continue;
        }
        let lab = lab();
        let (dropped, _) = tripped(&lab, l);
        let config = lab.cc.config.clone().without_constraints(dropped);
        let mut w = lab.honest.clone();
        (l.apply)(&lab, &mut w);
        let cc = lab.cc.with_config(config);
        proven += 1;
        if refused(&cc, w) {
            failed.push(l.name.clone());
        }
    }
    eprintln!("{proven} lies proven with their constraints dropped");
    assert!(failed.is_empty(), "still refused: {failed:?}");
}
