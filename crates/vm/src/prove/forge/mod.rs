//! Lying witnesses, for soundness tests (feature `forge`; never in a shipped binary).
//!
//! A test that perturbs one cell of an honest trace is refused by a sound and an unsound
//! chip alike. The lies here are *consistent*: a wrong value with every column that
//! depends on it patched, so that exactly one constraint (or one bus) stands between the
//! lie and an accepted proof. They are built in three ways, freely combined:
//!
//! - **records**: edit what the execution recorded ([`set_written_value`],
//!   [`read_returns`]) and let the honest trace generators fill every chip from it;
//! - **variant programs**: execute a slightly different program ([`Lab::run_variant`]) and
//!   claim it was this one by patching the cpu row's instruction columns back;
//! - **cells**: patch trace cells directly ([`Forgery::set`]).
//!
//! [`Forgery::rebalance`] then fixes what a cheating prover controls for free: the
//! multiplicity columns of the lookup tables (range, program) and the Poseidon2 table's
//! rows, from what the other chips actually look up. [`Forgery::report`] runs the debug
//! checker (every failing constraint, every unbalanced bus); [`Forgery::prove_and_verify`]
//! runs the real prover and verifier, which never look at the debug checker.

pub mod coverage;
pub mod lies;

use std::borrow::BorrowMut;
use std::sync::Arc;

use starkscope_stark_backend::debug::{check_traces, DebugReport};
use starkscope_stark_backend::p3::{BaseAir, Matrix, PrimeCharacteristicRing};
use starkscope_stark_backend::{prove, verify, AirInput, FriPreset, StarkConfig, Val, VerifyError};

use super::poseidon2_chip::{self, permute, MULT_COMPRESS, MULT_PERMUTE, P2_COLS};
use super::{air_id, buses, Continuation, ProgramChip, VmProvingKey};
use crate::exec::{record, AccessKind, ExecConfig, Segment};
use crate::field::F;
use crate::isa::Opcode;
use crate::program::Program;

/// A program with its proving key, the real one a lie claims to execute.
pub struct Lab {
    pub program: Program,
    pub pk: VmProvingKey,
}

impl Lab {
    /// Assembles `src` and generates its key (`fast` preset, as users prove).
    pub fn new(src: &str) -> Self {
        let program = crate::asm::assemble(src, "lie.sasm").expect("lab program assembles");
        let pk = super::vm_keygen(&program, FriPreset::Fast).expect("keygen");
        Lab { program, pk }
    }

    /// The honest segments of this program on `inputs`.
    pub fn run(&self, inputs: &[u32], segment_size: u64) -> Vec<Segment> {
        run_program(&self.program, inputs, segment_size)
    }

    /// The segments of a variant of this program (same data, an instruction changed),
    /// to be passed off as this program's.
    pub fn run_variant(&self, src: &str, inputs: &[u32], segment_size: u64) -> Vec<Segment> {
        let variant = crate::asm::assemble(src, "variant.sasm").expect("variant assembles");
        assert_eq!(
            variant.instructions.len(),
            self.program.instructions.len(),
            "a variant keeps the program's length"
        );
        run_program(&variant, inputs, segment_size)
    }

    /// Traces of the first segment of `segments`, as the honest generators fill them.
    pub fn witness(&self, segments: Vec<Segment>) -> Forgery {
        let first = segments.into_iter().next().expect("a segment");
        let prepared = Continuation::start(&self.program).advance(first, std::time::Duration::ZERO);
        let segment = prepared.segment().clone();
        let (inputs, _) = prepared.generate(&self.pk);
        Forgery { inputs, segment }
    }
}

fn run_program(program: &Program, inputs: &[u32], segment_size: u64) -> Vec<Segment> {
    let inputs: Vec<F> = inputs.iter().map(|&x| F::from_u32(x)).collect();
    record(
        program,
        &inputs,
        &ExecConfig::default().with_segment_size(segment_size),
    )
    .expect("the lab program executes")
}

/// Why a lying witness was not accepted.
#[derive(Debug)]
pub enum Refusal {
    /// The prover refused its inputs (a shape or multiplicity bound).
    Prover(String),
    /// The verifier refused the proof.
    Verifier(VerifyError),
}

/// One segment's traces (every chip, key order), open to patching.
#[derive(Clone)]
pub struct Forgery {
    pub inputs: Vec<AirInput>,
    /// The execution the traces were generated from (after any record-level edits).
    pub segment: Segment,
}

impl Forgery {
    pub fn width(&self, chip: usize) -> usize {
        self.inputs[chip].trace.width()
    }

    pub fn height(&self, chip: usize) -> usize {
        self.inputs[chip].trace.height()
    }

    pub fn get(&self, chip: usize, row: usize, col: usize) -> Val {
        let w = self.width(chip);
        self.inputs[chip].trace.values[row * w + col]
    }

    pub fn set(&mut self, chip: usize, row: usize, col: usize, v: Val) {
        let w = self.width(chip);
        self.inputs[chip].trace.values[row * w + col] = v;
    }

    pub fn add(&mut self, chip: usize, row: usize, col: usize, delta: Val) {
        let v = self.get(chip, row, col);
        self.set(chip, row, col, v + delta);
    }

    pub fn row(&self, chip: usize, row: usize) -> &[Val] {
        let w = self.width(chip);
        &self.inputs[chip].trace.values[row * w..(row + 1) * w]
    }

    /// A public value of a chip.
    pub fn set_public(&mut self, chip: usize, index: usize, v: Val) {
        self.inputs[chip].public_values[index] = v;
    }

    /// Replaces the rows after the first `used` by `rows`, then pads to a power of two
    /// with copies of `pad`.
    pub fn append_rows(&mut self, chip: usize, rows: &[Vec<Val>], used: usize, pad: &[Val]) {
        let w = self.width(chip);
        let trace = &mut self.inputs[chip].trace;
        let mut values: Vec<Val> = trace.values[..used * w].to_vec();
        for r in rows {
            assert_eq!(r.len(), w);
            values.extend_from_slice(r);
        }
        let height = (values.len() / w).next_power_of_two().max(2);
        while values.len() < height * w {
            values.extend_from_slice(pad);
        }
        trace.values = values;
    }

    /// The number of leading rows whose column `flag` is 1 (a chip's real rows).
    pub fn real_rows(&self, chip: usize, flag: usize) -> usize {
        (0..self.height(chip))
            .take_while(|&r| self.get(chip, r, flag) == Val::ONE)
            .count()
    }

    /// Gives the lookup tables what the other chips actually ask of them: the range and
    /// program multiplicities, and a Poseidon2 row for every permutation asked for (when
    /// the tuple is a true permutation; a false one stays unbalanced). A cheating prover
    /// sets these columns freely, so a lie must not fail on them. Rows already in the
    /// Poseidon2 table, patched or not, are kept; only their multiplicities change.
    pub fn rebalance(&mut self, lab: &Lab) {
        let report = self.report(lab);
        let mut new_p2: Vec<Vec<Val>> = Vec::new();
        for u in &report.unbalanced {
            let net = Val::from_u32(u.net);
            let t: Vec<Val> = u.tuple.iter().map(|&x| Val::from_u32(x)).collect();
            match u.bus.as_str() {
                buses::RANGE16 if (u.tuple[0] as usize) < super::range::RANGE16_SIZE => {
                    self.add(air_id::RANGE16, u.tuple[0] as usize, 0, net);
                }
                buses::PROGRAM => {
                    // The row the program chip provides at that pc, if it is this tuple.
                    let pc = u.tuple[0] as usize;
                    let table = ProgramChip::new(Arc::new(lab.program.instructions.clone()))
                        .preprocessed_trace()
                        .expect("the program chip is preprocessed");
                    let w = table.width();
                    if table.values.get(pc * w..(pc + 1) * w) == Some(&t[..]) {
                        self.add(air_id::PROGRAM, pc, 0, net);
                    }
                }
                buses::PERMUTE | buses::COMPRESS => {
                    let input: [Val; 16] = t[..16].try_into().unwrap();
                    if permute(input)[..t.len() - 16] != t[16..] {
                        continue;
                    }
                    let col = if u.bus == buses::PERMUTE {
                        MULT_PERMUTE
                    } else {
                        MULT_COMPRESS
                    };
                    if let Some(r) = self.poseidon2_row(input) {
                        self.add(air_id::POSEIDON2, r, col, net);
                    } else if let Some(row) = new_p2.iter_mut().find(|r| r[..16] == input) {
                        row[col] += net;
                    } else {
                        let mut row = poseidon2_row_of(input);
                        row[col] = net;
                        new_p2.push(row);
                    }
                }
                _ => {}
            }
        }
        if !new_p2.is_empty() {
            // Keep every row that provides something, add the new ones, pad honestly.
            let w = self.width(air_id::POSEIDON2);
            let mut rows: Vec<Vec<Val>> = (0..self.height(air_id::POSEIDON2))
                .map(|r| self.row(air_id::POSEIDON2, r).to_vec())
                .filter(|r| r[MULT_PERMUTE] != Val::ZERO || r[MULT_COMPRESS] != Val::ZERO)
                .collect();
            rows.extend(new_p2);
            let height = rows.len().next_power_of_two().max(2);
            rows.resize(height, poseidon2_row_of([Val::ZERO; 16]));
            self.inputs[air_id::POSEIDON2].trace.values = rows.concat();
            debug_assert_eq!(
                self.inputs[air_id::POSEIDON2].trace.values.len(),
                height * w
            );
        }
    }

    /// The row of the Poseidon2 table whose input is `input`.
    pub fn poseidon2_row(&self, input: [Val; 16]) -> Option<usize> {
        (0..self.height(air_id::POSEIDON2)).find(|&r| self.row(air_id::POSEIDON2, r)[..16] == input)
    }

    /// Every failing constraint and unbalanced bus tuple.
    pub fn report(&self, lab: &Lab) -> DebugReport {
        check_traces(&lab.pk.pk, &self.inputs)
    }

    /// Proves the traces with the real prover and checks the proof with the real verifier,
    /// under `config` (the key's preset; an ablation build may drop a constraint).
    pub fn prove_and_verify_with(&self, lab: &Lab, config: &StarkConfig) -> Result<(), Refusal> {
        let proof = prove(config, &lab.pk.pk, self.inputs.clone())
            .map_err(|e| Refusal::Prover(e.to_string()))?;
        verify(config, &lab.pk.pk.vk, &proof).map_err(Refusal::Verifier)
    }

    pub fn prove_and_verify(&self, lab: &Lab) -> Result<(), Refusal> {
        self.prove_and_verify_with(lab, &lab.pk.config)
    }
}

/// An honest Poseidon2 table row for `input`, providing nothing.
fn poseidon2_row_of(input: [Val; 16]) -> Vec<Val> {
    let mut row = vec![Val::ZERO; poseidon2_chip::P2_CHIP_WIDTH];
    row[..16].copy_from_slice(&input);
    let cols: &mut poseidon2_chip::Cols<Val> = row[..P2_COLS].borrow_mut();
    poseidon2_chip::fill_row(cols, None);
    row
}

/// Changes the value written by access `index` and carries it forward: later reads of
/// the cell see it, the next write finds it as the previous value, the cell's last value
/// follows, and `out` records are re-read. The instruction that wrote it now lies.
pub fn set_written_value(seg: &mut Segment, index: usize, value: F) {
    set_value(seg, index, AccessKind::Write, value);
}

/// Makes read `index` return `value` instead of what the cell holds, and carries it
/// forward as the cell's content (a read that secretly writes).
pub fn read_returns(seg: &mut Segment, index: usize, value: F) {
    set_value(seg, index, AccessKind::Read, value);
}

/// Access `index` (of `kind`) now leaves `value` in its cell; later accesses follow.
fn set_value(seg: &mut Segment, index: usize, kind: AccessKind, value: F) {
    assert_eq!(
        seg.accesses[index].kind, kind,
        "access {index} is a {kind:?}"
    );
    seg.accesses[index].value = value;
    let addr = seg.accesses[index].addr;
    for a in seg.accesses[index + 1..]
        .iter_mut()
        .filter(|a| a.addr == addr)
    {
        a.prev_value = value;
        if a.kind == AccessKind::Write {
            break;
        }
        a.value = value;
    }
    // Only this cell's last value moves (not a full `retouch`: another cell's history may
    // have been made to end before its latest access).
    let last = seg
        .accesses
        .iter()
        .rev()
        .find(|a| a.addr == addr)
        .expect("the cell was accessed")
        .value;
    if let Some(c) = seg.touched.iter_mut().find(|c| c.addr == addr) {
        c.last = last;
    }
    recompute_outputs(seg);
}

/// Index (into `seg.accesses`) of access `slot` of the `n`-th executed instruction at `pc`.
pub fn access_of(seg: &Segment, pc: u32, n: usize, slot: usize) -> usize {
    let rec = seg
        .instructions
        .iter()
        .filter(|r| r.pc == pc)
        .nth(n)
        .unwrap_or_else(|| panic!("pc {pc} executed fewer than {} times", n + 1));
    rec.first_access as usize + slot
}

/// The cpu row of the `n`-th execution of `pc`.
pub fn cpu_row(seg: &Segment, pc: u32, n: usize) -> usize {
    seg.instructions
        .iter()
        .enumerate()
        .filter(|(_, r)| r.pc == pc)
        .nth(n)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("pc {pc} executed fewer than {} times", n + 1))
}

/// The earliest access to `addr` after access `index`, if any.
fn next_access(seg: &Segment, index: usize, addr: u32) -> Option<usize> {
    (index + 1..seg.accesses.len()).find(|&j| seg.accesses[j].addr == addr)
}

/// Takes access `k` out of its cell's history: the next access of the cell takes over
/// its predecessor (timestamp and value; a read then sees that value).
fn unlink(seg: &mut Segment, k: usize) {
    let acc = seg.accesses[k];
    if let Some(j) = next_access(seg, k, acc.addr) {
        let next = &mut seg.accesses[j];
        next.prev_timestamp = acc.prev_timestamp;
        next.prev_value = acc.prev_value;
        if next.kind == AccessKind::Read {
            next.value = acc.prev_value;
        }
    }
}

/// Recomputes the touched cells' last value and timestamp from the accesses (cells no
/// longer accessed are dropped, `initial` values are kept).
fn retouch(seg: &mut Segment) {
    let mut cells = std::collections::BTreeMap::new();
    for c in &seg.touched {
        cells.entry(c.addr).or_insert(c.initial);
    }
    let mut touched = Vec::new();
    for (addr, initial) in cells {
        if let Some(last) = seg.accesses.iter().rev().find(|a| a.addr == addr) {
            touched.push(crate::exec::TouchedCell {
                addr,
                initial,
                last: last.value,
                last_timestamp: last.timestamp,
            });
        }
    }
    seg.touched = touched;
}

/// Moves access `index` to the untouched cell `to` (holding `initial` at the segment's
/// start), relinking both cells' histories: the old cell's next access now follows the
/// one before, and the access reads (or overwrites) `to`'s initial value. The
/// instruction's address operand now lies; a read's new value is not carried forward.
pub fn redirect_access(seg: &mut Segment, index: usize, to: u32, initial: F) {
    assert!(
        !seg.accesses.iter().any(|a| a.addr == to),
        "cell {to} must be untouched"
    );
    unlink(seg, index);
    let a = &mut seg.accesses[index];
    a.addr = to;
    a.prev_timestamp = 0;
    a.prev_value = initial;
    if a.kind == AccessKind::Read {
        a.value = initial;
    }
    seg.touched.push(crate::exec::TouchedCell {
        addr: to,
        initial,
        last: F::ZERO,
        last_timestamp: 0,
    });
    retouch(seg);
    recompute_outputs(seg);
}

/// Read `r` sees the value that the next access to its cell, the write `w`, only makes
/// later: the history runs `.. -> w -> r -> ..` with `r` reaching back in time (its
/// ordering check fails). `r`'s new value is not carried into its instruction's result.
pub fn read_from_the_future(seg: &mut Segment, r: usize, w: usize) {
    let (read, write) = (seg.accesses[r], seg.accesses[w]);
    assert_eq!(read.kind, AccessKind::Read);
    assert_eq!(write.kind, AccessKind::Write);
    assert_eq!(
        next_access(seg, r, read.addr),
        Some(w),
        "w is the next access of r's cell"
    );
    let after = next_access(seg, w, read.addr);
    seg.accesses[w].prev_timestamp = read.prev_timestamp;
    seg.accesses[w].prev_value = read.prev_value;
    seg.accesses[r].prev_timestamp = write.timestamp;
    seg.accesses[r].prev_value = write.value;
    seg.accesses[r].value = write.value;
    match after {
        Some(n) => seg.accesses[n].prev_timestamp = read.timestamp,
        None => close_history_at(seg, r),
    }
    recompute_outputs(seg);
}

/// Write `w` happens, in the memory's history, after the next access to its cell, the
/// read `r`: `r` sees the value from before `w` (a stale read) and `w` reaches forward
/// in time to take its previous value from `r` (its ordering check fails).
pub fn write_after_its_read(seg: &mut Segment, w: usize, r: usize) {
    let (write, read) = (seg.accesses[w], seg.accesses[r]);
    assert_eq!(write.kind, AccessKind::Write);
    assert_eq!(read.kind, AccessKind::Read);
    assert_eq!(next_access(seg, w, write.addr), Some(r));
    let after = next_access(seg, r, write.addr);
    seg.accesses[r].prev_timestamp = write.prev_timestamp;
    seg.accesses[r].prev_value = write.prev_value;
    seg.accesses[r].value = write.prev_value;
    seg.accesses[w].prev_timestamp = read.timestamp;
    seg.accesses[w].prev_value = write.prev_value;
    match after {
        Some(n) => seg.accesses[n].prev_timestamp = write.timestamp,
        None => close_history_at(seg, w),
    }
    recompute_outputs(seg);
}

/// The cell's history now ends at access `i`, which need not be its latest in time: the
/// boundary closes there.
fn close_history_at(seg: &mut Segment, i: usize) {
    let a = seg.accesses[i];
    if let Some(c) = seg.touched.iter_mut().find(|c| c.addr == a.addr) {
        c.last = a.value;
        c.last_timestamp = a.timestamp;
    }
}

/// Splits the history of a cell in two, each opened from the cell's initial value and
/// closed by its own boundary row: the accesses `second` (all to one cell) form the second
/// history, the cell's other accesses the first. Reads see their own history's value.
/// (Do other record edits first: they rebuild the touched cells, one per address.)
pub fn split_history(seg: &mut Segment, second: &[usize]) {
    let addr = seg.accesses[second[0]].addr;
    let at = seg
        .touched
        .iter()
        .position(|c| c.addr == addr)
        .expect("the cell was touched");
    let initial = seg.touched[at].initial;
    let mut ends = Vec::new();
    for in_second in [false, true] {
        let (mut prev_ts, mut prev_val) = (0, initial);
        for (i, a) in seg.accesses.iter_mut().enumerate() {
            if a.addr != addr || second.contains(&i) != in_second {
                continue;
            }
            a.prev_timestamp = prev_ts;
            a.prev_value = prev_val;
            if a.kind == AccessKind::Read {
                a.value = prev_val;
            }
            (prev_ts, prev_val) = (a.timestamp, a.value);
        }
        ends.push(crate::exec::TouchedCell {
            addr,
            initial,
            last: prev_val,
            last_timestamp: prev_ts,
        });
    }
    seg.touched.splice(at..=at, ends);
    recompute_outputs(seg);
}

/// Adds `delta` to every timestamp from instruction `from` on (records, accesses, and
/// previous-timestamp links into the shifted part).
pub fn shift_timestamps(seg: &mut Segment, from: usize, delta: u32) {
    let first_ts = seg.instructions[from].timestamp;
    for r in &mut seg.instructions[from..] {
        r.timestamp += delta;
    }
    for a in &mut seg.accesses {
        if a.timestamp >= first_ts {
            a.timestamp += delta;
        }
        if a.prev_timestamp >= first_ts {
            a.prev_timestamp += delta;
        }
    }
    for c in &mut seg.touched {
        if c.last_timestamp >= first_ts {
            c.last_timestamp += delta;
        }
    }
}

/// Re-reads the outputs from the `out` records.
pub fn recompute_outputs(seg: &mut Segment) {
    seg.outputs = seg
        .instructions
        .iter()
        .filter(|r| r.instruction.opcode == Opcode::Out)
        .map(|r| seg.accesses_of(r)[0].value)
        .collect();
}

/// Drops executed instruction `i` (and its accesses) from the record as if it never ran:
/// later timestamps move back, histories skip its accesses. The instruction before it
/// still names it as the next pc.
pub fn remove_instruction(seg: &mut Segment, i: usize) {
    let rec = seg.instructions[i];
    let n = rec.instruction.opcode.accesses();
    let first = rec.first_access as usize;
    for k in (first..first + n).rev() {
        unlink(seg, k);
        seg.accesses.remove(k);
    }
    seg.instructions.remove(i);
    for r in &mut seg.instructions[i..] {
        r.first_access -= n as u32;
    }
    if n > 0 {
        let cut = rec.timestamp;
        for a in &mut seg.accesses {
            if a.timestamp > cut {
                a.timestamp -= n as u32;
            }
            if a.prev_timestamp > cut {
                a.prev_timestamp -= n as u32;
            }
        }
        for r in &mut seg.instructions[i..] {
            r.timestamp -= n as u32;
        }
    }
    retouch(seg);
    recompute_outputs(seg);
}
