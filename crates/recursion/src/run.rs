//! Running a compiled circuit: computing every cell from the public inputs and hints,
//! checking every op that checks something, and filling the tables' main traces.

use starkscope_stark_backend::p3::{Field, PrimeCharacteristicRing, PrimeField32, RowMajorMatrix};
use starkscope_stark_backend::poseidon2::{self as p2, NUM_COLS, RATE, WIDTH};
use starkscope_stark_backend::{AirInput, Challenge, Val};

use crate::builder::FELT_BITS;
use crate::compile::{limbs, CompiledCircuit, TableId};
use crate::ir::{Addr, AluOp, AluOut, Group, HintSource, Op};
use crate::tables::{self, alu, bits, hints, horner, poseidon2};

/// Why a circuit could not run with the given values.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{got} public inputs given, the circuit has {expected}")]
    PublicCount { expected: usize, got: usize },
    #[error("{got} hints given, the circuit has {expected}")]
    HintCount { expected: usize, got: usize },
    #[error("op {op} ({kind}{label}): {what}")]
    Op {
        op: usize,
        kind: &'static str,
        label: String,
        what: String,
    },
}

/// The filled traces of one run, ready to prove.
#[derive(Clone, Debug)]
pub struct Witness {
    pub inputs: Vec<AirInput>,
    /// Every cell's value.
    pub values: Vec<Challenge>,
}

impl Witness {
    /// The main trace of a table.
    pub fn trace_mut(&mut self, t: TableId) -> &mut RowMajorMatrix<Val> {
        &mut self.inputs[t as usize].trace
    }
}

fn is_base(v: Challenge) -> bool {
    limbs(&v)[1..].iter().all(|l| *l == Val::ZERO)
}

fn base(v: Challenge) -> Val {
    limbs(&v)[0]
}

/// `m*a*b + x*a + y*b + z*c`.
pub(crate) fn alu_value(op: &AluOp, get: impl Fn(Option<Addr>) -> Challenge) -> Challenge {
    let [m, x, y, z] = op.coeffs;
    let (a, b, c) = (get(op.a), get(op.b), get(op.c));
    a * b * m + a * x + b * y + c * z
}

/// The canonical bits of `v`, least significant first.
pub(crate) fn canonical_bits(v: Val) -> [Val; FELT_BITS] {
    let n = v.as_canonical_u32();
    core::array::from_fn(|i| Val::from_bool((n >> i) & 1 == 1))
}

/// Why a 31-bit string is not `v`'s canonical decomposition, if it is not.
pub(crate) fn check_bits(v: Val, bits: &[Val; FELT_BITS]) -> Option<String> {
    if let Some(i) = bits.iter().position(|b| *b != Val::ZERO && *b != Val::ONE) {
        return Some(format!("bit {i} is {}, not 0 or 1", bits[i]));
    }
    let n: u64 = bits
        .iter()
        .enumerate()
        .map(|(i, b)| (b.as_canonical_u32() as u64) << i)
        .sum();
    if n >= Val::ORDER_U32 as u64 {
        return Some(format!(
            "the bits encode {n}, not below p: not the canonical decomposition"
        ));
    }
    if Val::from_u64(n) != v {
        return Some(format!("the bits encode {n}, the input is {v}"));
    }
    None
}

/// A permutation's input after the swap and the tag.
pub(crate) fn permutation_input(operands: [Val; WIDTH], dir: Val, tag: u8) -> [Val; WIDTH] {
    let mut input = operands;
    if dir == Val::ONE {
        input[..RATE].copy_from_slice(&operands[RATE..]);
        input[RATE..].copy_from_slice(&operands[..RATE]);
    }
    input[RATE] += Val::from_u8(tag);
    input
}

impl CompiledCircuit {
    /// Runs the circuit with these public inputs and hints (caller hints in the order the
    /// builder created them; base hints as extension elements with zero upper limbs).
    pub fn run(&self, public: &[Val], hints: &[Challenge]) -> Result<Witness, RunError> {
        self.run_with::<false>(public, hints, &[])
    }

    /// [`CompiledCircuit::run`], with cells overwritten right after the op that writes
    /// them and before anything checks them: what a cheating prover's witness
    /// generator would do. For soundness tests.
    #[cfg(feature = "forge")]
    pub fn run_forged(
        &self,
        public: &[Val],
        hints: &[Challenge],
        overrides: &[(Addr, Challenge)],
    ) -> Result<Witness, RunError> {
        self.run_with::<false>(public, hints, overrides)
    }

    /// [`CompiledCircuit::run`] that never refuses a value: what a forger who fills the
    /// traces from bad hints (a mutated child proof) would commit. Every cell is computed
    /// as `run` computes it; a failed assertion is ignored (the asserting lane still holds
    /// the asserted cell as its `out`, so the ALU constraint fails), the inverse of zero is
    /// written as zero, a base read of an extension value reads its first limb, a
    /// non-base base hint is written as it is, and bits are the canonical decomposition of
    /// what is read. The traces are filled from the cell values as usual, so every reader
    /// sees what the writer wrote: the bus stays balanced wherever the types allow it, and
    /// a table's constraints are what refuses the lie ([`check_traces`] names them).
    /// Still refuses wrong public or hint counts. For soundness tests.
    ///
    /// [`check_traces`]: starkscope_stark_backend::debug::check_traces
    #[cfg(feature = "forge")]
    pub fn run_unchecked(&self, public: &[Val], hints: &[Challenge]) -> Result<Witness, RunError> {
        self.run_with::<true>(public, hints, &[])
    }

    /// With `LAX`, no op's check refuses (see [`CompiledCircuit::run_unchecked`]); the
    /// flag is a constant, so `run` pays nothing for it.
    fn run_with<const LAX: bool>(
        &self,
        public: &[Val],
        hint_values: &[Challenge],
        overrides: &[(Addr, Challenge)],
    ) -> Result<Witness, RunError> {
        let _span = tracing::info_span!(starkscope_metrics::spans::WITNESS_GEN).entered();
        let c = &self.circuit;
        if public.len() != c.num_public {
            return Err(RunError::PublicCount {
                expected: c.num_public,
                got: public.len(),
            });
        }
        if hint_values.len() != c.num_hints {
            return Err(RunError::HintCount {
                expected: c.num_hints,
                got: hint_values.len(),
            });
        }
        let mut values = vec![Challenge::ZERO; c.num_cells as usize];
        for (i, r) in c.ops.iter().enumerate() {
            let fail = |what: String| RunError::Op {
                op: i,
                kind: r.kind.as_str(),
                label: r.label.map(|l| format!(", {l}")).unwrap_or_default(),
                what,
            };
            let get_base = |values: &[Challenge], a: Addr| -> Result<Val, RunError> {
                let v = values[a as usize];
                if LAX || is_base(v) {
                    Ok(base(v))
                } else {
                    Err(fail(format!(
                        "cell {a} is read as a base value but holds {v}"
                    )))
                }
            };
            match &r.op {
                Op::Const { out, value } => values[*out as usize] = *value,
                Op::Public { out, index } => {
                    values[*out as usize] = Challenge::from(public[*index])
                }
                Op::Hint { out, source, base } => {
                    let v = match *source {
                        HintSource::Input(k) => hint_values[k],
                        HintSource::Inverse(a) => {
                            let x = values[a as usize];
                            match x.try_inverse() {
                                Some(i) => i,
                                None if LAX => Challenge::ZERO,
                                None => return Err(fail(format!("cell {a} is zero: no inverse"))),
                            }
                        }
                        HintSource::Limb(a, j) => Challenge::from(limbs(&values[a as usize])[j]),
                    };
                    let v = overridden(overrides, *out, v);
                    if !LAX && *base && !is_base(v) {
                        return Err(fail(format!(
                            "base hint for cell {out} is {v}, not a base value"
                        )));
                    }
                    values[*out as usize] = v;
                }
                Op::Alu(op) => {
                    let v = alu_value(op, |a| a.map_or(Challenge::ZERO, |a| values[a as usize]));
                    match op.out {
                        AluOut::Write(a) => values[a as usize] = overridden(overrides, a, v),
                        AluOut::Assert(a) => {
                            if !LAX && values[a as usize] != v {
                                return Err(fail(format!(
                                    "check failed: the lane computes {v}, cell {a} holds {}",
                                    values[a as usize]
                                )));
                            }
                        }
                    }
                }
                Op::Bits(op) => {
                    let v = get_base(&values, op.input)?;
                    let mut b = canonical_bits(v);
                    for (bit, &a) in b.iter_mut().zip(&op.bits) {
                        let o = overridden(overrides, a, Challenge::from(*bit));
                        *bit = base(o);
                        if !LAX && !is_base(o) {
                            return Err(fail(format!("bit cell {a} holds {o}, not a base value")));
                        }
                    }
                    if let Some(why) = check_bits(v, &b).filter(|_| !LAX) {
                        return Err(fail(why));
                    }
                    for (bit, &a) in b.iter().zip(&op.bits) {
                        values[a as usize] = Challenge::from(*bit);
                    }
                }
                Op::Poseidon2(op) => {
                    let operands = operands(&op.groups, &values);
                    let dir = match op.dir {
                        Some(d) => get_base(&values, d.0)?,
                        None => Val::ZERO,
                    };
                    if !LAX && dir != Val::ZERO && dir != Val::ONE {
                        return Err(fail(format!("direction bit is {dir}, not 0 or 1")));
                    }
                    let out = p2::permute(permutation_input(operands, dir, op.tag));
                    for (g, &a) in op.outs.iter().enumerate() {
                        values[a as usize] = overridden(overrides, a, quad(&out[4 * g..4 * g + 4]));
                    }
                }
                Op::Horner(op) => {
                    let alpha = values[op.alpha as usize];
                    let mut acc = op.acc.map_or(Challenge::ZERO, |a| values[a as usize]);
                    for x in horner_values(op, &values) {
                        acc = acc * alpha + x;
                    }
                    values[op.out as usize] = overridden(overrides, op.out, acc);
                }
            }
        }
        let inputs = self.fill(&values, public);
        Ok(Witness { inputs, values })
    }

    /// The main traces of every table for these cell values.
    fn fill(&self, values: &[Challenge], public: &[Val]) -> Vec<AirInput> {
        let prog = &self.program;
        let h = prog.heights;
        let mut traces = [
            tables::zeros(1, h[0]),
            tables::zeros(prog.num_public.max(1), h[1]),
            tables::zeros(hints::LANES * hints::MAIN_PER_LANE, h[2]),
            tables::zeros(alu::LANES * alu::MAIN_PER_LANE, h[3]),
            tables::zeros(bits::MAIN_WIDTH, h[4]),
            tables::zeros(poseidon2::MAIN_WIDTH, h[5]),
            tables::zeros(horner::MAIN_WIDTH, h[6]),
        ];
        let get = |a: Addr| values[a as usize];
        let mut p2_rows: Vec<([Val; WIDTH], Val, [Val; WIDTH])> = Vec::new();
        for (r, place) in self.circuit.ops.iter().zip(&prog.placements) {
            let m = &mut traces[place.table as usize];
            let w = m.width;
            let row = &mut m.values[place.row * w..(place.row + 1) * w];
            match &r.op {
                Op::Const { .. } => {}
                Op::Public { out, .. } => row[place.lane] = base(get(*out)),
                Op::Hint { out, .. } => {
                    row[place.lane * hints::MAIN_PER_LANE..][..4].copy_from_slice(limbs(&get(*out)))
                }
                Op::Alu(op) => {
                    let lane = &mut row[place.lane * alu::MAIN_PER_LANE..][..alu::MAIN_PER_LANE];
                    let reads = op.reads();
                    for (k, (a, read)) in [op.a, op.b, op.c].into_iter().zip(reads).enumerate() {
                        if let (Some(a), true) = (a, read) {
                            lane[4 * k..4 * k + 4].copy_from_slice(limbs(&get(a)));
                        }
                    }
                    let out = match op.out {
                        AluOut::Write(a) | AluOut::Assert(a) => get(a),
                    };
                    lane[12..16].copy_from_slice(limbs(&out));
                }
                Op::Bits(op) => {
                    let v = base(get(op.input));
                    let b: [Val; FELT_BITS] = core::array::from_fn(|i| base(get(op.bits[i])));
                    row[bits::main::V] = v;
                    row[bits::main::BITS..bits::main::BITS + FELT_BITS].copy_from_slice(&b);
                    row[bits::main::T] = b[27] * b[28];
                    row[bits::main::TOP] = b[27] * b[28] * b[29] * b[30];
                }
                Op::Poseidon2(op) => {
                    let operands = operands(&op.groups, values);
                    let dir = op.dir.map_or(Val::ZERO, |d| base(get(d.0)));
                    p2_rows.push((operands, dir, permutation_input(operands, dir, op.tag)));
                }
                Op::Horner(op) => {
                    use horner::main::*;
                    let alpha = get(op.alpha);
                    let mut acc = op.acc.map_or(Challenge::ZERO, get);
                    row[ACC_IN..ACC_IN + 4].copy_from_slice(limbs(&acc));
                    row[ALPHA..ALPHA + 4].copy_from_slice(limbs(&alpha));
                    for (q, x) in op.values.iter().enumerate() {
                        if let Some(x) = x {
                            row[X + 4 * q..X + 4 * q + 4].copy_from_slice(limbs(&get(*x)));
                        }
                    }
                    let xs = horner_values(op, values);
                    for k in 0..horner::STEPS {
                        if let Some(x) = xs.get(k) {
                            acc = acc * alpha + *x;
                        }
                        row[ACC + 4 * k..ACC + 4 * k + 4].copy_from_slice(limbs(&acc));
                    }
                }
            }
        }
        // The Poseidon2 table: p3-poseidon2-air's (vectorised) generation for the rounds.
        let p2_trace = &mut traces[TableId::Poseidon2 as usize];
        let mut inputs: Vec<[Val; WIDTH]> = p2_rows.iter().map(|r| r.2).collect();
        inputs.resize(h[5], [Val::ZERO; WIDTH]);
        let rounds = p2::generate_rows(inputs);
        for (i, (dst, src)) in p2_trace
            .values
            .chunks_exact_mut(poseidon2::MAIN_WIDTH)
            .zip(rounds.values.chunks_exact(NUM_COLS))
            .enumerate()
        {
            dst[..NUM_COLS].copy_from_slice(src);
            if let Some((operands, dir, _)) = p2_rows.get(i) {
                dst[poseidon2::main::OPERANDS..poseidon2::main::OPERANDS + WIDTH]
                    .copy_from_slice(operands);
                dst[poseidon2::main::DIR] = *dir;
            }
        }
        traces
            .into_iter()
            .enumerate()
            .map(|(t, trace)| {
                let pv = if t == TableId::Public as usize {
                    public.to_vec()
                } else {
                    Vec::new()
                };
                AirInput::new(trace, pv)
            })
            .collect()
    }
}

/// A cell holding four base values.
fn quad(v: &[Val]) -> Challenge {
    <Challenge as p3_field::BasedVectorSpace<Val>>::from_basis_coefficients_fn(|j| v[j])
}

/// A permutation's operands: four values per group, zero for a zero group.
fn operands(groups: &[Group; 4], values: &[Challenge]) -> [Val; WIDTH] {
    let mut ops = [Val::ZERO; WIDTH];
    for (g, group) in groups.iter().enumerate() {
        if let Group::Cell(q) = group {
            ops[4 * g..4 * g + 4].copy_from_slice(limbs(&values[q.0 as usize]));
        }
    }
    ops
}

/// The base values a Horner row steps over: the first `len` values of its cells.
fn horner_values(op: &crate::ir::HornerOp, values: &[Challenge]) -> Vec<Val> {
    op.values
        .iter()
        .flatten()
        .flat_map(|q| limbs(&values[*q as usize]).to_vec())
        .take(op.len as usize)
        .collect()
}

fn overridden(overrides: &[(Addr, Challenge)], a: Addr, v: Challenge) -> Challenge {
    overrides
        .iter()
        .rev()
        .find(|(o, _)| *o == a)
        .map_or(v, |(_, v)| *v)
}

/// Recomputes a Poseidon2 row's round columns from its operands, direction and tag (after
/// a test changed them), so that the row is an honest permutation of its new input.
#[cfg(feature = "forge")]
pub fn refill_poseidon2_row(row: &mut [Val], tag: u8) {
    use starkscope_stark_backend::poseidon2::Cols;
    use std::borrow::BorrowMut;
    let operands: [Val; WIDTH] = core::array::from_fn(|i| row[poseidon2::main::OPERANDS + i]);
    let dir = row[poseidon2::main::DIR];
    let cols: &mut Cols<Val> = row[..NUM_COLS].borrow_mut();
    cols.inputs = permutation_input(operands, dir, tag);
    p2::fill_row(cols, None);
}

#[cfg(feature = "forge")]
impl CompiledCircuit {
    /// Sets cell `addr` to `value` wherever the traces hold it: in its writer's columns
    /// and in every bus read of it (chained permutation lanes are not bus reads, and a
    /// permutation row read from is not recomputed). The bus stays balanced; the tables
    /// decide whether the lie holds. For building consistent lies in soundness tests.
    pub fn patch_cell(&self, w: &mut Witness, addr: Addr, value: Challenge) {
        let limbs4 = limbs(&value).to_vec();
        w.values[addr as usize] = value;
        let mut p2_index = 0;
        let mut horner_index = 0;
        for (r, place) in self.circuit.ops.iter().zip(&self.program.placements) {
            let m = &mut w.inputs[place.table as usize].trace;
            let width = m.width;
            let row = &mut m.values[place.row * width..(place.row + 1) * width];
            match &r.op {
                Op::Const { .. } => {}
                Op::Public { out, .. } if *out == addr => row[place.lane] = limbs4[0],
                Op::Public { .. } => {}
                Op::Hint { out, .. } if *out == addr => {
                    row[place.lane * hints::MAIN_PER_LANE..][..4].copy_from_slice(&limbs4)
                }
                Op::Hint { .. } => {}
                Op::Alu(op) => {
                    let lane = &mut row[place.lane * alu::MAIN_PER_LANE..][..alu::MAIN_PER_LANE];
                    for (k, (a, read)) in [op.a, op.b, op.c].into_iter().zip(op.reads()).enumerate()
                    {
                        if a == Some(addr) && read {
                            lane[4 * k..4 * k + 4].copy_from_slice(&limbs4);
                        }
                    }
                    let (AluOut::Write(a) | AluOut::Assert(a)) = op.out;
                    if a == addr {
                        lane[12..16].copy_from_slice(&limbs4);
                    }
                }
                Op::Bits(op) => {
                    if op.input == addr {
                        row[bits::main::V] = limbs4[0];
                    }
                    if let Some(i) = op.bits.iter().position(|&b| b == addr) {
                        row[bits::main::BITS + i] = limbs4[0];
                    }
                }
                Op::Horner(op) => {
                    use horner::main::*;
                    let chained = self.program.horner_chained[horner_index];
                    horner_index += 1;
                    if op.acc == Some(addr) && !chained {
                        row[ACC_IN..ACC_IN + 4].copy_from_slice(&limbs4);
                    }
                    if op.alpha == addr {
                        row[ALPHA..ALPHA + 4].copy_from_slice(&limbs4);
                    }
                    for (q, x) in op.values.iter().enumerate() {
                        if *x == Some(addr) {
                            row[X + 4 * q..X + 4 * q + 4].copy_from_slice(&limbs4);
                        }
                    }
                    if op.out == addr {
                        let last = ACC + 4 * (horner::STEPS - 1);
                        row[last..last + 4].copy_from_slice(&limbs4);
                    }
                }
                Op::Poseidon2(op) => {
                    let chained = self.program.chained[p2_index];
                    p2_index += 1;
                    for (g, group) in op.groups.iter().enumerate() {
                        if *group == Group::Cell(crate::ir::Quad(addr)) && !chained[g] {
                            let at = poseidon2::main::OPERANDS + 4 * g;
                            row[at..at + 4].copy_from_slice(&limbs4);
                        }
                    }
                    if op.dir.map(|d| d.0) == Some(addr) {
                        row[poseidon2::main::DIR] = limbs4[0];
                    }
                    if let Some(g) = op.outs.iter().position(|&o| o == addr) {
                        let cols: &mut starkscope_stark_backend::poseidon2::Cols<Val> =
                            std::borrow::BorrowMut::borrow_mut(&mut row[..NUM_COLS]);
                        let last = cols.ending_full_rounds.len() - 1;
                        cols.ending_full_rounds[last].post[4 * g..4 * g + 4]
                            .copy_from_slice(&limbs4);
                    }
                }
            }
        }
    }
}
