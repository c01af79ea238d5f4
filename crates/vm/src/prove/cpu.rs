//! The cpu chip: one row per executed instruction.
//!
//! A row fetches its instruction from the program bus, checks the semantics of every
//! opcode except the extension-field and Poseidon2 families (handed to their chips over
//! buses, with the row's timestamp), makes up to three memory accesses, and links to the
//! next row: `next.pc = next_pc`, `next.ts = ts + accesses(opcode)`. Padding rows follow
//! the real ones and repeat the final state. Public outputs are folded into a Poseidon2
//! digest, `d' = compress(d || [value, 0, ..])`, so a segment exposes the digest before
//! and after instead of a variable number of outputs.

use starkscope_stark_backend::p3::{
    Air, AirBuilder, BaseAir, Field, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::buses;
use super::cols::ColAlloc;
use super::memory::AccessCols;
use super::poseidon2_chip::{compress, Poseidon2Requests, DIGEST};
use super::range::RangeCounts;
use super::HeightLayout;
use crate::exec::Segment;
use crate::field::canonical;
use crate::isa::{Opcode, LT_BITS};

/// Public values of the cpu chip, by index.
pub mod pv {
    pub const SEGMENT_INDEX: usize = 0;
    pub const START_PC: usize = 1;
    pub const END_PC: usize = 2;
    pub const HALTED: usize = 3;
    pub const EXIT_CODE: usize = 4;
    pub const DIGEST_BEFORE: usize = 5;
    pub const DIGEST_AFTER: usize = 5 + super::DIGEST;
    pub const COUNT: usize = 5 + 2 * super::DIGEST;
}

/// The limb split of `lt` operands: `x = lo + 2^16 * hi`, `hi < 2^(LT_BITS - 16)`.
const LT_HI_SHIFT: u32 = 16 - (LT_BITS - 16);

/// Opcodes whose semantics the cpu chip checks itself (the others go to coprocessors).
pub(crate) fn is_ext(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::EAdd | Opcode::ESub | Opcode::EMul | Opcode::EInv
    )
}

/// Which operand feeds each of the three access slots, and whether the slot writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotAddr {
    A,
    B,
    C,
    /// `val0 + c`: an indirect address.
    Indirect,
}

fn slots(op: Opcode) -> &'static [(SlotAddr, bool)] {
    use Opcode::*;
    use SlotAddr::*;
    const R: bool = false;
    const W: bool = true;
    match op {
        Add | Sub | Mul | Lt => &[(B, R), (C, R), (A, W)],
        Inv | AddI | MulI | Mov | Jalr => &[(B, R), (A, W)],
        Load => &[(B, R), (Indirect, R), (A, W)],
        Store => &[(B, R), (A, R), (Indirect, W)],
        Beq | Bne => &[(A, R), (B, R)],
        BeqI | BneI | Out => &[(A, R)],
        Li | Jal | Hint => &[(A, W)],
        Jmp | Halt | EAdd | ESub | EMul | EInv | Poseidon2 => &[],
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub(crate) is_real: usize,
    pub(crate) sel: [usize; Opcode::COUNT],
    pub(crate) pc: usize,
    pub(crate) next_pc: usize,
    pub(crate) ts: usize,
    pub(crate) a: usize,
    pub(crate) b: usize,
    pub(crate) c: usize,
    pub(crate) slot: [AccessCols; 3],
    pub(crate) cmp: usize,
    pub(crate) is_eq: usize,
    pub(crate) diff_inv: usize,
    pub(crate) lt_lo: [usize; 3],
    pub(crate) lt_hi: [usize; 3],
    pub(crate) dig: [usize; DIGEST],
    pub(crate) dig_new: [usize; DIGEST],
    pub(crate) dig_after: [usize; DIGEST],
    /// Committed width (zero columns after the `used` ones).
    pub(crate) width: usize,
    /// Columns the chip reads.
    pub(crate) used: usize,
}

impl Layout {
    fn new() -> Self {
        let mut a = ColAlloc::new();
        let mut l = Layout {
            is_real: a.one(),
            sel: a.array(),
            pc: a.one(),
            next_pc: a.one(),
            ts: a.one(),
            a: a.one(),
            b: a.one(),
            c: a.one(),
            slot: [
                AccessCols::alloc(&mut a),
                AccessCols::alloc(&mut a),
                AccessCols::alloc(&mut a),
            ],
            cmp: a.one(),
            is_eq: a.one(),
            diff_inv: a.one(),
            lt_lo: a.array(),
            lt_hi: a.array(),
            dig: a.array(),
            dig_new: a.array(),
            dig_after: a.array(),
            width: 0,
            used: 0,
        };
        l.width = a.padded_width();
        l.used = a.used();
        l
    }
}

/// The cpu chip.
#[derive(Clone, Debug)]
pub struct CpuChip {
    layout: Layout,
}

impl Default for CpuChip {
    fn default() -> Self {
        Self {
            layout: Layout::new(),
        }
    }
}

impl CpuChip {
    /// Column indices (for building lying witnesses in soundness tests).
    #[cfg(feature = "forge")]
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }
}

impl CpuChip {
    /// Columns the chip reads (the committed width less its zero columns).
    pub(crate) fn used_width(&self) -> usize {
        self.layout.used
    }
}

impl BaseAir<Val> for CpuChip {
    fn width(&self) -> usize {
        self.layout.width
    }
    fn num_public_values(&self) -> usize {
        pv::COUNT
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        let l = &self.layout;
        let mut cols = vec![l.is_real, l.pc, l.ts];
        cols.extend(l.dig);
        cols
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for CpuChip {
    fn eval(&self, b: &mut AB) {
        let l = &self.layout;
        let main = b.main();
        let row: Vec<AB::Var> = main.current_slice().to_vec();
        let next: Vec<AB::Var> = main.next_slice().to_vec();
        let pvs: Vec<AB::Expr> = b.public_values().iter().map(|&v| v.into()).collect();
        let e = |i: usize| -> AB::Expr { row[i].into() };
        let s = |op: Opcode| -> AB::Expr { row[l.sel[op as usize]].into() };
        let sum = |ops: &[Opcode]| -> AB::Expr {
            ops.iter().fold(AB::Expr::ZERO, |acc, &op| acc + s(op))
        };
        let one = AB::Expr::ONE;
        let c = AB::Expr::from_u32;

        // Selectors: booleans, exactly one on a real row, none on padding.
        let is_real = e(l.is_real);
        b.assert_bool(is_real.clone());
        for &op in Opcode::ALL {
            b.assert_bool(s(op));
        }
        b.assert_eq(sum(Opcode::ALL), is_real.clone());
        // Real rows first, then padding.
        b.when_transition()
            .assert_zero(next[l.is_real].into() * (one.clone() - is_real.clone()));
        b.when_first_row().assert_one(is_real.clone());

        // Fetch.
        let opcode = Opcode::ALL
            .iter()
            .fold(AB::Expr::ZERO, |acc, &op| acc + s(op) * c(op as u32));
        b.push_interaction(
            buses::PROGRAM,
            [e(l.pc), opcode, e(l.a), e(l.b), e(l.c)],
            Count::bounded(is_real.clone(), 1),
        );

        // Memory slots.
        let val = |k: usize| e(l.slot[k].val);
        for k in 0..3 {
            let mut active = AB::Expr::ZERO;
            let mut reads = AB::Expr::ZERO;
            let mut any_read = false;
            let mut addr = AB::Expr::ZERO;
            for &op in Opcode::ALL {
                let Some(&(src, write)) = slots(op).get(k) else {
                    continue;
                };
                active += s(op);
                if !write {
                    reads += s(op);
                    any_read = true;
                }
                let src = match src {
                    SlotAddr::A => e(l.a),
                    SlotAddr::B => e(l.b),
                    SlotAddr::C => e(l.c),
                    SlotAddr::Indirect => val(0) + e(l.c),
                };
                addr += s(op) * src;
            }
            b.assert_eq(e(l.slot[k].addr), addr);
            // (No opcode reads in the last slot: no constraint rather than `0 = 0`.)
            if any_read {
                b.assert_zero(reads * (val(k) - e(l.slot[k].prev_val)));
            }
            l.slot[k].eval(b, &row, e(l.ts) + c(k as u32), active);
        }

        // Semantics of the opcodes the cpu checks.
        use Opcode::*;
        let pc1 = e(l.pc) + one.clone();
        b.assert_zero(s(Add) * (val(2) - val(0) - val(1)));
        b.assert_zero(s(Sub) * (val(2) - val(0) + val(1)));
        b.assert_zero(s(Mul) * (val(2) - val(0) * val(1)));
        b.assert_zero(s(Inv) * (val(1) * val(0) - one.clone()));
        b.assert_zero(s(AddI) * (val(1) - val(0) - e(l.c)));
        b.assert_zero(s(MulI) * (val(1) - val(0) * e(l.c)));
        b.assert_zero(s(Li) * (val(0) - e(l.b)));
        b.assert_zero(s(Mov) * (val(1) - val(0)));
        b.assert_zero(s(Load) * (val(2) - val(1)));
        b.assert_zero(s(Store) * (val(2) - val(1)));
        b.assert_zero(s(Jal) * (val(0) - pc1.clone()));
        b.assert_zero(s(Jalr) * (val(1) - pc1.clone()));

        // Branches: is_eq = [val0 == cmp], with cmp the second operand's value or immediate.
        let d = val(0) - e(l.cmp);
        let branch = sum(&[Beq, Bne, BeqI, BneI]);
        b.assert_zero(sum(&[Beq, Bne]) * (e(l.cmp) - val(1)));
        b.assert_zero(sum(&[BeqI, BneI]) * (e(l.cmp) - e(l.b)));
        // On a branch row these two force is_eq = [d == 0] (so it is boolean there); no
        // other row reads it.
        b.assert_zero(branch.clone() * e(l.is_eq) * d.clone());
        b.assert_zero(branch.clone() * (one.clone() - e(l.is_eq) - d * e(l.diff_inv)));
        let not_eq = one.clone() - e(l.is_eq);
        let taken = sum(&[Beq, BeqI]) * e(l.is_eq) + sum(&[Bne, BneI]) * not_eq;

        // lt: val2 = [val0 < val1] for operands below 2^LT_BITS, via t = val0 - val1 + val2 * 2^LT_BITS.
        // Each of val0, val1, t is `lo + 2^16 hi` with lo < 2^16 and hi < 2^(LT_BITS - 16):
        // `hi` and `hi * 2^LT_HI_SHIFT` are both looked up, which makes hi an integer
        // below 2^16 whose shift stays below 2^16. (Looking up only the shifted value lets
        // hi be any field element k / 2^LT_HI_SHIFT with k < 2^16.)
        let lt = s(Lt);
        b.assert_zero(lt.clone() * val(2) * (one.clone() - val(2)));
        let t = val(0) - val(1) + val(2) * c(1 << LT_BITS);
        for (k, x) in [val(0), val(1), t].into_iter().enumerate() {
            let (lo, hi) = (e(l.lt_lo[k]), e(l.lt_hi[k]));
            b.assert_zero(lt.clone() * (x - lo.clone() - hi.clone() * c(1 << 16)));
            b.push_interaction(buses::RANGE16, [lo], Count::bounded(lt.clone(), 1));
            b.push_interaction(buses::RANGE16, [hi.clone()], Count::bounded(lt.clone(), 1));
            b.push_interaction(
                buses::RANGE16,
                [hi * c(1 << LT_HI_SHIFT)],
                Count::bounded(lt.clone(), 1),
            );
        }

        // Coprocessors.
        let ext = sum(&[EAdd, ESub, EMul, EInv]);
        let kind = s(ESub) + s(EMul) * c(2) + s(EInv) * c(3);
        b.push_interaction(
            buses::EXT_OP,
            [e(l.ts), kind, e(l.a), e(l.b), e(l.c)],
            Count::bounded(ext, 1),
        );
        b.push_interaction(
            buses::POSEIDON2_OP,
            [e(l.ts), e(l.a), e(l.b)],
            Count::bounded(s(Poseidon2), 1),
        );

        // Output digest.
        let out = s(Out);
        let mut fields: Vec<AB::Expr> = l.dig.iter().map(|&i| e(i)).collect();
        fields.push(val(0));
        fields.extend((1..DIGEST).map(|_| AB::Expr::ZERO));
        fields.extend(l.dig_new.iter().map(|&i| e(i)));
        b.push_interaction(buses::COMPRESS, fields, Count::bounded(out.clone(), 1));
        for i in 0..DIGEST {
            let (dig, new, after) = (e(l.dig[i]), e(l.dig_new[i]), e(l.dig_after[i]));
            b.assert_eq(after, dig.clone() + out.clone() * (new - dig));
        }

        // Control flow.
        let sequential = sum(&[
            Add, Sub, Mul, Inv, AddI, MulI, EAdd, ESub, EMul, EInv, Li, Mov, Load, Store, Lt,
            Poseidon2, Hint, Out,
        ]);
        let expected_next = (sequential + branch) * pc1.clone()
            + taken * (e(l.c) - pc1)
            + s(Jal) * e(l.b)
            + s(Jalr) * val(0)
            + s(Jmp) * e(l.a)
            + s(Halt) * e(l.pc)
            + (one.clone() - is_real.clone()) * e(l.pc);
        b.assert_eq(e(l.next_pc), expected_next);
        let accesses = Opcode::ALL.iter().fold(AB::Expr::ZERO, |acc, &op| {
            acc + s(op) * c(op.accesses() as u32)
        });
        {
            let mut t = b.when_transition();
            t.assert_eq(next[l.pc], e(l.next_pc));
            t.assert_eq(next[l.ts], e(l.ts) + accesses);
            for i in 0..DIGEST {
                t.assert_eq(next[l.dig[i]], e(l.dig_after[i]));
            }
        }

        // Halt: only as the last real row; the public `halted` says whether it is there.
        // The first row is real, so some row is the last real one, and there `halted`
        // equals its (boolean) halt selector: `halted` is boolean, and 1 when a halt ran.
        let halt = s(Halt);
        let halted = pvs[pv::HALTED].clone();
        b.assert_zero(halt.clone() * (e(l.a) - pvs[pv::EXIT_CODE].clone()));
        // A segment that does not halt has no exit code to claim.
        b.assert_zero((one.clone() - halted.clone()) * pvs[pv::EXIT_CODE].clone());
        b.when_transition()
            .assert_zero(halt.clone() * next[l.is_real].into());
        let ends_here = is_real.clone() * (one.clone() - next[l.is_real].into());
        b.when_transition()
            .assert_zero(ends_here * (halted.clone() - halt.clone()));
        b.when_last_row().assert_zero(is_real * (halted - halt));

        // Boundary.
        b.when_first_row()
            .assert_eq(e(l.pc), pvs[pv::START_PC].clone());
        b.when_first_row().assert_one(e(l.ts));
        for i in 0..DIGEST {
            b.when_first_row()
                .assert_eq(e(l.dig[i]), pvs[pv::DIGEST_BEFORE + i].clone());
            b.when_last_row()
                .assert_eq(e(l.dig_after[i]), pvs[pv::DIGEST_AFTER + i].clone());
        }
        b.when_last_row()
            .assert_eq(e(l.next_pc), pvs[pv::END_PC].clone());
    }
}

impl StarkAir for CpuChip {
    fn name(&self) -> String {
        "cpu".into()
    }
}

/// The cpu trace's height for `used` rows at segment size `segment_size` under `layout`:
/// - [`HeightLayout::Compact`]: the rows used, padded to a power of two;
/// - [`HeightLayout::FixedTallest`]: when `segment_size.next_power_of_two()` is above the
///   range16 table's 2^16 rows, exactly that (the cpu is then every segment's tallest
///   trace, a constant of the key and segment size, so a short last segment pays for the
///   padding); otherwise as compact (the range16 table is the tallest).
///
/// docs/vm-proving.md, "Heights and widths".
pub fn cpu_height(used: usize, segment_size: u64, layout: HeightLayout) -> usize {
    let full = segment_size.next_power_of_two() as usize;
    if layout == HeightLayout::FixedTallest && full > super::range::RANGE16_SIZE {
        assert!(
            used <= full,
            "{used} cpu rows in a segment of {segment_size}"
        );
        full
    } else {
        used.next_power_of_two().max(2)
    }
}

/// What the cpu's trace generation hands back besides the trace.
pub(crate) struct CpuTrace {
    pub trace: RowMajorMatrix<Val>,
    pub public_values: Vec<Val>,
    /// Unpadded rows.
    pub used_rows: usize,
}

impl CpuChip {
    /// The trace of a segment; `digest_before` is the output digest at the segment's start.
    /// Adds the compressions it performs to `requests` (for the poseidon2 chip), its
    /// range lookups to `range`, and per-pc executions to `executions`.
    pub(crate) fn generate(
        &self,
        segment: &Segment,
        digest_before: [Val; DIGEST],
        range: &mut RangeCounts,
        requests: &mut Poseidon2Requests,
        executions: &mut [u32],
        layout: HeightLayout,
    ) -> CpuTrace {
        let l = &self.layout;
        let w = l.width;
        let used = segment.instructions.len();
        let height = cpu_height(used, segment.segment_size, layout);
        let mut values = Val::zero_vec(w * height);
        let mut digest = digest_before;

        for (rec, row) in segment.instructions.iter().zip(values.chunks_exact_mut(w)) {
            let op = rec.instruction.opcode;
            executions[rec.pc as usize] += 1;
            row[l.is_real] = Val::ONE;
            row[l.sel[op as usize]] = Val::ONE;
            row[l.pc] = Val::from_u32(rec.pc);
            row[l.next_pc] = Val::from_u32(rec.next_pc);
            row[l.ts] = Val::from_u32(rec.timestamp);
            row[l.a] = rec.instruction.a;
            row[l.b] = rec.instruction.b;
            row[l.c] = rec.instruction.c;
            let accesses = if is_ext(op) || op == Opcode::Poseidon2 {
                &[][..]
            } else {
                segment.accesses_of(rec)
            };
            for (k, acc) in accesses.iter().enumerate() {
                l.slot[k].fill(row, acc, range);
            }
            let val = |k: usize| accesses[k].value;
            match op {
                Opcode::Beq | Opcode::Bne | Opcode::BeqI | Opcode::BneI => {
                    let cmp = if matches!(op, Opcode::Beq | Opcode::Bne) {
                        val(1)
                    } else {
                        rec.instruction.b
                    };
                    let d = val(0) - cmp;
                    row[l.cmp] = cmp;
                    row[l.is_eq] = Val::from_bool(d == Val::ZERO);
                    row[l.diff_inv] = d.try_inverse().unwrap_or(Val::ZERO);
                }
                Opcode::Lt => {
                    let (x, y) = (canonical(val(0)), canonical(val(1)));
                    let t = x + (1 << LT_BITS) * u32::from(x < y) - y;
                    for (k, v) in [x, y, t].into_iter().enumerate() {
                        // The executor traps on operands of 2^LT_BITS and above; only a
                        // forged record (soundness tests) has them. It gets zero limbs,
                        // so that the constraints, not this function, refuse it.
                        let v = if v < 1 << LT_BITS { v } else { 0 };
                        let (lo, hi) = (v & 0xffff, v >> 16);
                        row[l.lt_lo[k]] = Val::from_u32(lo);
                        row[l.lt_hi[k]] = Val::from_u32(hi);
                        range.add(lo);
                        range.add(hi);
                        range.add(hi << LT_HI_SHIFT);
                    }
                }
                _ => {}
            }
            for i in 0..DIGEST {
                row[l.dig[i]] = digest[i];
            }
            if op == Opcode::Out {
                let mut input = [Val::ZERO; 16];
                input[..DIGEST].copy_from_slice(&digest);
                input[DIGEST] = val(0);
                let new = compress(input);
                requests.compress(input);
                for i in 0..DIGEST {
                    row[l.dig_new[i]] = new[i];
                }
                digest = new;
            }
            for i in 0..DIGEST {
                row[l.dig_after[i]] = digest[i];
            }
        }

        // Padding repeats the final state: pc = next_pc = end pc, same ts and digest.
        let end_pc = Val::from_u32(segment.end.pc);
        let end_ts = Val::from_u32(segment.end_timestamp());
        for row in values.chunks_exact_mut(w).skip(used) {
            row[l.pc] = end_pc;
            row[l.next_pc] = end_pc;
            row[l.ts] = end_ts;
            for i in 0..DIGEST {
                row[l.dig[i]] = digest[i];
                row[l.dig_after[i]] = digest[i];
            }
        }

        let mut public_values = Val::zero_vec(pv::COUNT);
        public_values[pv::SEGMENT_INDEX] = Val::from_usize(segment.index);
        public_values[pv::START_PC] = Val::from_u32(segment.start.pc);
        public_values[pv::END_PC] = end_pc;
        public_values[pv::HALTED] = Val::from_bool(segment.exit_code.is_some());
        public_values[pv::EXIT_CODE] = Val::from_u32(segment.exit_code.unwrap_or(0));
        public_values[pv::DIGEST_BEFORE..pv::DIGEST_BEFORE + DIGEST]
            .copy_from_slice(&digest_before);
        public_values[pv::DIGEST_AFTER..pv::DIGEST_AFTER + DIGEST].copy_from_slice(&digest);

        CpuTrace {
            trace: RowMajorMatrix::new(values, w),
            public_values,
            used_rows: used,
        }
    }
}
