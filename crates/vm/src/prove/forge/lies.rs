//! The catalogue of lies: for each chip, every semantic lie a prover could try, each
//! built consistently (see the module above). [`all`] lists them; the soundness tests
//! prove each with the real prover and require the verifier to refuse it, and the
//! coverage table ([`super::coverage`]) reads which constraint each one depends on.

use std::borrow::BorrowMut;

use starkscope_stark_backend::p3::{Field, PrimeCharacteristicRing, PrimeField32};
use starkscope_stark_backend::Val;

use super::super::cpu::{pv as cpu_pv, CpuChip};
use super::super::ext_chip::ExtChip;
use super::super::merkle::{join, leaf, pv as merkle_pv, Digest, MerkleChip};
use super::super::poseidon2_chip::{self, compress, Cols, P2_COLS, ROW_CONSTRAINTS};
use super::super::{air_id, boundary, outputs_digest, DIGEST};
use super::*;
use crate::exec::Segment;
use crate::field::{ext_from_cells, ext_to_cells, EF};
use crate::isa::{Opcode, LT_BITS, MEMORY_BITS};

/// A lie: a name, and how to build its witness.
pub struct Lie {
    pub name: String,
    build: Box<dyn Fn() -> (Lab, Forgery) + Send + Sync>,
}

impl Lie {
    pub fn new(
        name: impl Into<String>,
        build: impl Fn() -> (Lab, Forgery) + Send + Sync + 'static,
    ) -> Self {
        Lie {
            name: name.into(),
            build: Box::new(build),
        }
    }

    /// The lab (the program the lie claims) and the lying witness.
    pub fn build(&self) -> (Lab, Forgery) {
        (self.build)()
    }
}

impl std::fmt::Debug for Lie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// Every lie in the catalogue.
pub fn all() -> Vec<Lie> {
    let mut lies = Vec::new();
    lies.extend(cpu());
    lies.extend(ext());
    lies.extend(poseidon2_mem());
    lies.extend(poseidon2());
    lies.extend(memory());
    lies.extend(merkle());
    lies
}

/// A smaller catalogue for the test command: every lie but the generated Poseidon2 ones,
/// of which every `stride`-th.
pub fn sample(stride: usize) -> Vec<Lie> {
    let mut lies = all();
    let mut k = 0;
    lies.retain(|l| {
        if l.name.starts_with("poseidon2/round-") {
            k += 1;
            k % stride == 1
        } else {
            true
        }
    });
    lies
}

fn v(x: u32) -> Val {
    Val::from_u32(x)
}

/// Runs `src` on `inputs` (one segment), edits the record, fills every chip from it and
/// rebalances the lookup tables.
fn from_records(src: &str, inputs: &[u32], edit: impl FnOnce(&mut Segment)) -> (Lab, Forgery) {
    let lab = Lab::new(src);
    let mut segs = lab.run(inputs, 1 << 20);
    edit(&mut segs[0]);
    let mut f = lab.witness(segs);
    f.rebalance(&lab);
    (lab, f)
}

// ---- programs -----------------------------------------------------------------------

/// Field and memory instructions, one of each, in a straight line. Inputs: X, Y.
const ALU: &str = "
.data 0x20, 5
.data 0x21, 6
        hint 0            ; 0
        hint 1            ; 1
        add  2, 0, 1      ; 2
        sub  3, 0, 1      ; 3
        mul  4, 0, 1      ; 4
        inv  5, 0         ; 5
        addi 6, 0, 7      ; 6
        muli 7, 0, 7      ; 7
        li   8, 9         ; 8
        mov  9, 0         ; 9
        li   10, 0x20     ; 10
        load 11, 10, 1    ; 11
        store 0, 10, 2    ; 12
        jal  12, f        ; 13
        jmp  end          ; 14
f:      li   14, 14       ; 15
        jalr 13, 14       ; 16
end:    out  2            ; 17
        out  4            ; 18
        halt 0            ; 19
";

/// One `add` whose operands are read for the last time. Inputs: X, Y.
const ADD: &str = "
        hint 0            ; 0
        hint 1            ; 1
        add  2, 0, 1      ; 2
        out  2            ; 3
        halt 0            ; 4
";

/// `lt` on two hinted operands. Inputs: X, Y.
const LT: &str = "
        hint 0            ; 0
        hint 1            ; 1
        lt   2, 0, 1      ; 2
        out  2            ; 3
        halt 0            ; 4
";

/// A branch on two hinted values. Inputs: X, Y.
const BEQ: &str = "
        hint 0            ; 0
        hint 1            ; 1
        beq  0, 1, eq     ; 2
        out  0            ; 3
        halt 1            ; 4
eq:     out  1            ; 5
        halt 2            ; 6
";

/// A branch on a hinted value and an immediate. Input: X.
const BEQI: &str = "
        hint 0            ; 0
        beqi 0, 7, eq     ; 1
        out  0            ; 2
        halt 1            ; 3
eq:     out  0            ; 4
        halt 2            ; 5
";

/// A jump over an output. Input: X.
const JUMP: &str = "
        hint 0            ; 0
        jmp  skip         ; 1
        out  0            ; 2
skip:   halt 0            ; 3
";

/// Writes, reads and rewrites cell 0, with a read in `{READ}` whose value steers nothing
/// (a branch to the next instruction either way). Input: X.
const HISTORY: &str = "
        hint 0            ; 0  cell 0 = X
        {READ}            ; 1  reads cell 0; falls through either way
        li   0, 7         ; 2  cell 0 = 7
        beqi 0, 7, 4      ; 3
        halt 0            ; 4
";

/// [`HISTORY`] with the read in cpu slot `slot`.
fn history(slot: usize) -> String {
    HISTORY.replace(
        "{READ}",
        if slot == 0 {
            "beqi 0, 5, 2"
        } else {
            "beq  1, 0, 2"
        },
    )
}

/// The reported double-history forgery's program: the honest output is [5].
const DOUBLE_HISTORY: &str = "
        li   10, 5        ; 0
        mov  11, 10       ; 1
        li   10, 5        ; 2
        out  11           ; 3
        halt 0            ; 4
";

/// A loop that runs `add` once; the lie skips it (jumping back to pc 0, where a row
/// without opcode must go). Inputs: X, X.
const SKIP: &str = "
        hint 0            ; 0
        beqi 1, 1, end    ; 1  second time round: done
        li   1, 1         ; 2
        add  0, 0, 0      ; 3  (the variant jumps back to 1 instead)
        jmp  1            ; 4
end:    out  0            ; 5
        halt 0            ; 6
";

/// Touches cell 5 only.
const ONE_CELL: &str = "
        li   5, 1         ; 0
        halt 0            ; 1
";

/// add's result (slot 2) read back by a branch to the next row. Input: X.
const WRITE_THEN_READ: &str = "
        hint 1            ; 0
        add  0, 1, 1      ; 1
        beqi 0, 5, 3      ; 2
        halt 0            ; 3
";

/// A cell written, read into another, cleared: `li c, 5; mov o, c; li c, 0; out o`.
fn clear_after_copy(c: u32, o: u32) -> String {
    format!(
        "
        li   {c}, 5       ; 0
        mov  {o}, {c}     ; 1
        li   {c}, 0       ; 2
        out  {o}          ; 3
        halt 0            ; 4
"
    )
}

/// Copies cell `c` (0 in memory) to cell 0 and outputs it.
fn copy_out(c: u32) -> String {
    format!(
        "
        mov  0, {c}       ; 0
        out  0            ; 1
        halt 0            ; 2
"
    )
}

/// No memory access at all.
const NO_MEMORY: &str = "
        jmp  1            ; 0
        halt 0            ; 1
";

/// `halt 1` with dead code after it. Input: X.
const FUSED: &str = "
        hint 0            ; 0
        halt 1            ; 1
        out  0            ; 2
        halt 2            ; 3
";

/// A counting loop long enough for several segments. Input: N.
const LOOP: &str = "
        hint 0            ; 0
top:    addi 0, 0, -1     ; 1
        bnei 0, 0, top    ; 2
        out  0            ; 3
        halt 0            ; 4
";

/// The extension-field instructions. x = (2, 3, 0, 0), y = (5, 0, 0, 7), w = (2, 0, 0, 0).
const EXT: &str = "
        li   0, 2         ; 0
        li   1, 3         ; 1
        li   4, 5         ; 2
        li   7, 7         ; 3
        li   8, 2         ; 4
        eadd 12, 0, 4     ; 5
        esub 16, 0, 4     ; 6
        emul 20, 0, 4     ; 7
        einv 24, 8        ; 8
        halt 0            ; 9
";

/// One `poseidon2` of a hinted state [X, Y, 0, ..] (not the input of any Merkle
/// compression in the segment, which pairs leaves [v, 0 x 7]). Inputs: X, Y.
const POSEIDON2: &str = "
        hint 0            ; 0
        hint 1            ; 1
        poseidon2 16, 0   ; 2
        halt 0            ; 3
";

// ---- cpu ----------------------------------------------------------------------------

fn cpu() -> Vec<Lie> {
    let mut lies = Vec::new();
    // Each opcode's result, wrong, with everything downstream patched.
    for (name, pc, slot) in [
        ("add", 2, 2),
        ("sub", 3, 2),
        ("mul", 4, 2),
        ("inv", 5, 1),
        ("addi", 6, 1),
        ("muli", 7, 1),
        ("li", 8, 0),
        ("mov", 9, 1),
        ("load", 11, 2),
        ("store", 12, 2),
        ("jal-link", 13, 0),
        ("jalr-link", 16, 1),
    ] {
        lies.push(Lie::new(format!("cpu/wrong-result/{name}"), move || {
            from_records(ALU, &[3, 7], |seg| {
                let i = access_of(seg, pc, 0, slot);
                let value = seg.accesses[i].value + Val::ONE;
                set_written_value(seg, i, value);
            })
        }));
    }
    // A read returns something else than the cell holds (and the add follows it).
    for slot in [0, 1] {
        lies.push(Lie::new(
            format!("cpu/read-changes-value/slot{slot}"),
            move || {
                from_records(ADD, &[3, 7], |seg| {
                    let r = access_of(seg, 2, 0, slot);
                    let x = seg.accesses[r].value + Val::ONE;
                    read_returns(seg, r, x);
                    let (a, b) = (
                        seg.accesses[r - slot].value,
                        seg.accesses[r - slot + 1].value,
                    );
                    set_written_value(seg, access_of(seg, 2, 0, 2), a + b);
                })
            },
        ));
    }
    // An access at another address than the instruction's operand.
    for (slot, variant, col) in [
        (0, "add  2, 3, 1", 'b'),
        (1, "add  2, 0, 3", 'c'),
        (2, "add  3, 0, 1", 'a'),
    ] {
        lies.push(Lie::new(
            format!("cpu/access-address/slot{slot}"),
            move || {
                let lab = Lab::new(ADD);
                let segs = lab.run_variant(&ADD.replace("add  2, 0, 1", variant), &[3, 7], 1 << 20);
                let mut f = lab.witness(segs);
                let l = CpuChip::default().layout().clone();
                let row = cpu_row(&f.segment, 2, 0);
                let (column, real) = match col {
                    'a' => (l.a, 2),
                    'b' => (l.b, 0),
                    _ => (l.c, 1),
                };
                f.set(air_id::CPU, row, column, v(real));
                f.rebalance(&lab);
                (lab, f)
            },
        ));
    }
    lies.extend(opposing_selector_lies());
    lies.extend(opposing_selector_special_lies());
    lies.extend(lt_lies());
    lies.extend(branch_lies());
    lies.extend(control_lies());
    lies.extend(boundary_lies());
    lies
}

/// `x = lo + 2^16 hi` with `lo < 2^16` and `2^(24-16) * hi < 2^16` in the field, for an
/// `x` in `[2^24, 2^24 + 65279]`: `hi` is then not an integer (the reported `lt` attack).
fn forged_limbs(x: u32) -> (Val, Val) {
    let d = x - (1 << LT_BITS);
    assert!(d < 65280);
    let s = 65535u32; // 2^8 * hi
    let lo = d + (1 << LT_BITS) - 256 * s;
    let hi = (v(x) - v(lo)) * v(1 << 16).inverse();
    assert_eq!(hi * v(256), v(s));
    (v(lo), hi)
}

fn honest_limbs(x: u32) -> (Val, Val) {
    (v(x & 0xffff), v(x >> 16))
}

/// `lt` of hinted operands `x`, `y` (canonical) claiming result `z`, every dependent
/// column patched. Each of x, y and `t = x - y + z 2^24` gets its honest limbs when below
/// 2^24, else the limbs `beyond` makes up for it.
fn lt_lie(x: u32, y: u32, z: Val, beyond: fn(u32) -> (Val, Val)) -> (Lab, Forgery) {
    // Honest on (1, 2); the hints are the prover's to choose, the result is the lie.
    let (lab, mut f) = from_records(LT, &[1, 2], |seg| {
        set_written_value(seg, access_of(seg, 0, 0, 0), v(x));
        set_written_value(seg, access_of(seg, 1, 0, 0), v(y));
        set_written_value(seg, access_of(seg, 2, 0, 2), z);
    });
    let row = cpu_row(&f.segment, 2, 0);
    let l = CpuChip::default().layout().clone();
    let t = (v(x) - v(y) + z * v(1 << LT_BITS)).as_canonical_u32();
    for (k, value) in [x, y, t].into_iter().enumerate() {
        let (lo, hi) = if value < 1 << LT_BITS {
            honest_limbs(value)
        } else {
            beyond(value)
        };
        f.set(air_id::CPU, row, l.lt_lo[k], lo);
        f.set(air_id::CPU, row, l.lt_hi[k], hi);
    }
    f.rebalance(&lab);
    (lab, f)
}

fn lt_lies() -> Vec<Lie> {
    let p_minus_1 = (-Val::ONE).as_canonical_u32();
    let mut lies: Vec<Lie> = [
        // x is p - 1 (the executor traps): "p - 1 < 5", with x's limbs claiming 0.
        ("lt/huge-x-limbs-lie", p_minus_1, 5, Val::ONE, 0),
        // y is p - 1: "5 < p - 1 is false", with y's limbs claiming 0.
        ("lt/huge-y-limbs-lie", 5, p_minus_1, Val::ZERO, 1),
        // 5 < 5 claimed true, t = 2^24 with limbs claiming 0.
        ("lt/t-limbs-lie", 5, 5, Val::ONE, 2),
        // 5 < 5 = 1/2: t = 2^23 decomposes honestly; only booleanity refuses it.
        ("lt/result-one-half", 5, 5, Val::TWO.inverse(), 3),
    ]
    .into_iter()
    .map(|(name, x, y, z, lying)| {
        Lie::new(format!("cpu/{name}"), move || {
            // The value named as lying is the one whose limbs are made up (zeros).
            let t = (v(x) - v(y) + z * v(1 << LT_BITS)).as_canonical_u32();
            assert!(lying == 3 || [x, y, t][lying] >= 1 << LT_BITS);
            lt_lie(x, y, z, |_| (Val::ZERO, Val::ZERO))
        })
    })
    .collect();
    lies.extend(lt_attack_lies());
    lies
}

/// The reported attack: limbs whose high part is not an integer (refused by the range
/// lookup of `hi` itself, which the fix added).
fn lt_attack_lies() -> Vec<Lie> {
    // (name, x, y, claimed x < y)
    [
        ("lt/equal-is-less", 5, 5, 1),
        ("lt/y-plus-one-is-less", 6, 5, 1),
        ("lt/operand-above-2^24", (1 << LT_BITS) + 5, 3, 0),
    ]
    .into_iter()
    .map(|(name, x, y, z)| {
        Lie::new(format!("cpu/{name}"), move || {
            lt_lie(x, y, v(z), forged_limbs)
        })
    })
    .collect()
}

/// Patches of a padding row that make two opposing opcodes' constraints hold.
#[derive(Clone, Copy)]
enum Recipe {
    Zeros,
    /// val0 = val1 = 1 (inv holds: 1 * 1 = 1).
    Ones,
    /// b = val0 = pc + 1 (li and jal agree).
    LinkInB,
    /// c = pc + 1 (a branch to the next row).
    TargetNext,
    /// val0 = val1 = pc + 1 (mov and jalr agree).
    LinkInBoth,
}

/// A padding row with opcode `plus` selected and `minus` selected -1: their memory
/// slots, clock steps and control flow cancel, and the row claims nothing. Harmless as
/// built, but only the booleanity of `minus`'s selector refuses it.
fn opposing_selector_lies() -> Vec<Lie> {
    use Opcode::*;
    use Recipe::*;
    [
        (Sub, Add, Zeros),
        (Add, Sub, Zeros),
        (Add, Mul, Zeros),
        (Mov, Inv, Ones),
        (Mov, AddI, Zeros),
        (Mov, MulI, Zeros),
        (Li, Hint, Zeros),
        (Hint, Li, Zeros),
        (AddI, Mov, Zeros),
        (Add, Load, Zeros),
        (Add, Store, Zeros),
        (Bne, Beq, TargetNext),
        (Beq, Bne, TargetNext),
        (BneI, BeqI, TargetNext),
        (BeqI, BneI, TargetNext),
        (Li, Jal, LinkInB),
        (Mov, Jalr, LinkInBoth),
        (Add, Lt, Zeros),
        (ESub, EAdd, Zeros),
        (EAdd, ESub, Zeros),
        (EAdd, EMul, Zeros),
    ]
    .into_iter()
    .map(|(plus, minus, recipe)| {
        Lie::new(format!("cpu/selector-minus-one/{minus}"), move || {
            let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
            let l = CpuChip::default().layout().clone();
            let row = f.segment.instructions.len();
            assert!(row < f.height(air_id::CPU), "a padding row");
            let pc1 = f.get(air_id::CPU, row, l.pc) + Val::ONE;
            f.set(air_id::CPU, row, l.sel[plus as usize], Val::ONE);
            f.set(air_id::CPU, row, l.sel[minus as usize], -Val::ONE);
            let vals = |f: &mut Forgery, x: Val| {
                for k in 0..2 {
                    f.set(air_id::CPU, row, l.slot[k].val, x);
                    f.set(air_id::CPU, row, l.slot[k].prev_val, x);
                }
            };
            match recipe {
                Zeros => {}
                Ones => vals(&mut f, Val::ONE),
                LinkInB => {
                    f.set(air_id::CPU, row, l.b, pc1);
                    vals(&mut f, pc1);
                }
                TargetNext => f.set(air_id::CPU, row, l.c, pc1),
                LinkInBoth => vals(&mut f, pc1),
            }
            f.rebalance(&lab);
            (lab, f)
        })
    })
    .collect()
}

/// Opposing selectors that need more than a recipe: `out` (the digest follows the
/// negative fold), `jmp` and `halt` (a `halt` whose exit code is its own pc), `einv`
/// (four fewer accesses than `eadd`: the clock of later rows moves).
fn opposing_selector_special_lies() -> Vec<Lie> {
    let mut lies = Vec::new();
    lies.push(Lie::new("cpu/selector-minus-one/out", || {
        let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
        let l = CpuChip::default().layout().clone();
        let row = f.segment.instructions.len();
        let pc1 = f.get(air_id::CPU, row, l.pc) + Val::ONE;
        f.set(air_id::CPU, row, l.sel[Opcode::BeqI as usize], Val::ONE);
        f.set(air_id::CPU, row, l.sel[Opcode::Out as usize], -Val::ONE);
        f.set(air_id::CPU, row, l.is_eq, Val::ONE);
        f.set(air_id::CPU, row, l.c, pc1);
        let d: Digest = std::array::from_fn(|k| f.get(air_id::CPU, row, l.dig[k]));
        // The row "unfolds" output 0: dig_after = d - (new - d).
        let new = outputs_digest(d, &[Val::ZERO]);
        let after: Digest = std::array::from_fn(|k| d[k] + d[k] - new[k]);
        for k in 0..DIGEST {
            f.set(air_id::CPU, row, l.dig_new[k], new[k]);
            f.set(air_id::CPU, row, l.dig_after[k], after[k]);
        }
        carry_digest(&mut f, row + 1, after);
        f.rebalance(&lab);
        (lab, f)
    }));
    for (plus, minus) in [(Opcode::Halt, Opcode::Jmp), (Opcode::Jmp, Opcode::Halt)] {
        lies.push(Lie::new(
            format!("cpu/selector-minus-one/{minus}"),
            move || {
                let src = ADD.replace("halt 0            ; 4", "halt 4            ; 4");
                let (lab, mut f) = from_records(&src, &[3, 7], |_| {});
                let l = CpuChip::default().layout().clone();
                let row = f.segment.instructions.len();
                let pc = f.get(air_id::CPU, row, l.pc);
                f.set(air_id::CPU, row, l.sel[plus as usize], Val::ONE);
                f.set(air_id::CPU, row, l.sel[minus as usize], -Val::ONE);
                f.set(air_id::CPU, row, l.a, pc);
                (lab, f)
            },
        ));
    }
    lies.push(Lie::new("cpu/selector-minus-one/einv", || {
        let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
        let l = CpuChip::default().layout().clone();
        let row = f.segment.instructions.len();
        f.set(air_id::CPU, row, l.sel[Opcode::EAdd as usize], Val::ONE);
        f.set(air_id::CPU, row, l.sel[Opcode::EInv as usize], -Val::ONE);
        for r in row + 1..f.height(air_id::CPU) {
            f.add(air_id::CPU, r, l.ts, v(4));
        }
        (lab, f)
    }));
    lies
}

fn branch_lies() -> Vec<Lie> {
    let l = CpuChip::default().layout().clone();
    let mut lies = Vec::new();
    // beq taken although the operands differ: is_eq set, diff_inv zeroed.
    let lt = l.clone();
    lies.push(Lie::new("cpu/beq/taken-on-unequal", move || {
        let (lab, mut f) = from_records(BEQ, &[4, 4], |seg| {
            set_written_value(seg, access_of(seg, 1, 0, 0), v(5));
        });
        let row = cpu_row(&f.segment, 2, 0);
        f.set(air_id::CPU, row, lt.is_eq, Val::ONE);
        f.set(air_id::CPU, row, lt.diff_inv, Val::ZERO);
        (lab, f)
    }));
    let ln = l.clone();
    lies.push(Lie::new("cpu/beq/not-taken-on-equal", move || {
        let (lab, mut f) = from_records(BEQ, &[4, 5], |seg| {
            set_written_value(seg, access_of(seg, 1, 0, 0), v(4));
        });
        let row = cpu_row(&f.segment, 2, 0);
        f.set(air_id::CPU, row, ln.is_eq, Val::ZERO);
        (lab, f)
    }));
    // The compared value is not the operand (beq) or not the immediate (beqi).
    let lc = l.clone();
    lies.push(Lie::new("cpu/beq/compares-another-value", move || {
        let (lab, mut f) = from_records(BEQ, &[4, 4], |seg| {
            set_written_value(seg, access_of(seg, 1, 0, 0), v(5));
        });
        let row = cpu_row(&f.segment, 2, 0);
        f.set(air_id::CPU, row, lc.cmp, v(4));
        f.set(air_id::CPU, row, lc.is_eq, Val::ONE);
        f.set(air_id::CPU, row, lc.diff_inv, Val::ZERO);
        (lab, f)
    }));
    let li = l;
    lies.push(Lie::new("cpu/beqi/compares-another-value", move || {
        let (lab, mut f) = from_records(BEQI, &[7], |seg| {
            set_written_value(seg, access_of(seg, 0, 0, 0), v(8));
        });
        let row = cpu_row(&f.segment, 1, 0);
        f.set(air_id::CPU, row, li.cmp, v(8));
        f.set(air_id::CPU, row, li.is_eq, Val::ONE);
        f.set(air_id::CPU, row, li.diff_inv, Val::ZERO);
        (lab, f)
    }));
    lies
}

/// The output digest is `digest` from cpu row `from` on (both digest columns of every
/// later row) and in the public digest after.
fn carry_digest(f: &mut Forgery, from: usize, digest: Digest) {
    let l = CpuChip::default().layout().clone();
    for r in from..f.height(air_id::CPU) {
        for (k, &x) in digest.iter().enumerate() {
            f.set(air_id::CPU, r, l.dig[k], x);
            f.set(air_id::CPU, r, l.dig_after[k], x);
        }
    }
    for (k, x) in digest.into_iter().enumerate() {
        f.set_public(air_id::CPU, cpu_pv::DIGEST_AFTER + k, x);
    }
}

fn control_lies() -> Vec<Lie> {
    let mut lies = Vec::new();
    // The jump lands elsewhere than its target: an output the program skips is made.
    lies.push(Lie::new("cpu/jump-elsewhere", || {
        let lab = Lab::new(JUMP);
        let segs = lab.run_variant(&JUMP.replace("jmp  skip", "jmp  2"), &[9], 1 << 20);
        let mut f = lab.witness(segs);
        let row = cpu_row(&f.segment, 1, 0);
        f.set(air_id::CPU, row, CpuChip::default().layout().a, v(3));
        f.rebalance(&lab);
        (lab, f)
    }));
    // A row that claims no opcode: it fetches opcode 0 (`add 0, 0, 0`) but checks nothing.
    lies.push(Lie::new("cpu/no-opcode-skips-add", || {
        let lab = Lab::new(SKIP);
        let segs = lab.run_variant(&SKIP.replace("add  0, 0, 0", "jmp  0"), &[21, 21], 1 << 20);
        let mut f = lab.witness(segs);
        let row = cpu_row(&f.segment, 3, 0);
        let l = CpuChip::default().layout().clone();
        f.set(air_id::CPU, row, l.sel[Opcode::Jmp as usize], Val::ZERO);
        f.rebalance(&lab);
        (lab, f)
    }));
    // An instruction that ran is left out; the one before still points at it.
    lies.push(Lie::new("cpu/instruction-skipped", || {
        from_records(JUMP.replace("jmp  skip", "jmp  2").as_str(), &[9], |seg| {
            let i = seg.instructions.iter().position(|r| r.pc == 2).unwrap();
            remove_instruction(seg, i);
        })
    }));
    // Timestamps that jump (harmless by itself, but the clock is what orders memory).
    lies.push(Lie::new("cpu/clock-skips", || {
        from_records(ADD, &[3, 7], |seg| shift_timestamps(seg, 2, 1))
    }));
    lies.push(Lie::new("cpu/clock-starts-late", || {
        from_records(ADD, &[3, 7], |seg| shift_timestamps(seg, 0, 1))
    }));
    // A row counted twice (is_real = 2) fusing `muli` and `jmp` so that its opcode sums
    // to `halt`: the program's `halt 1` is passed over and dead code runs (output [X],
    // exit 2).
    lies.push(Lie::new("cpu/halt-fused-from-two-opcodes", || {
        let lab = Lab::new(FUSED);
        let segs = lab.run_variant(&FUSED.replace("halt 1", "muli 1, 0, 0"), &[9], 2);
        let mut f = lab.witness(segs);
        let l = CpuChip::default().layout().clone();
        let row = cpu_row(&f.segment, 1, 0);
        f.set(air_id::CPU, row, l.sel[Opcode::Jmp as usize], Val::ONE);
        f.set(air_id::CPU, row, l.is_real, Val::TWO);
        f.rebalance(&lab);
        (lab, f)
    }));
    // An output made but not folded into the digest, or the digest changing between
    // rows: the public digest then omits it.
    for name in ["not-folded", "dropped-between-rows"] {
        lies.push(Lie::new(format!("cpu/output-{name}"), move || {
            let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
            let l = CpuChip::default().layout().clone();
            let row = cpu_row(&f.segment, 3, 0);
            let before: Digest = std::array::from_fn(|k| f.get(air_id::CPU, row, l.dig[k]));
            if name == "not-folded" {
                for (k, &c) in l.dig_after.iter().enumerate() {
                    f.set(air_id::CPU, row, c, before[k]);
                }
            }
            carry_digest(&mut f, row + 1, before);
            (lab, f)
        }));
    }
    // `halt` runs twice.
    lies.push(Lie::new("cpu/halt-then-more", || {
        let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
        let used = f.segment.instructions.len();
        let halt = f.row(air_id::CPU, used - 1).to_vec();
        let pad = f.row(air_id::CPU, f.height(air_id::CPU) - 1).to_vec();
        assert!(
            used < f.height(air_id::CPU),
            "the program leaves padding rows"
        );
        f.append_rows(air_id::CPU, &[halt], used, &pad);
        f.rebalance(&lab);
        (lab, f)
    }));
    // A real row after padding rows: the halt again, as the very last row.
    lies.push(Lie::new("cpu/real-row-after-padding", || {
        let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
        let used = f.segment.instructions.len();
        let halt = f.row(air_id::CPU, used - 1).to_vec();
        let last = f.height(air_id::CPU) - 1;
        assert!(last > used, "room for padding in between");
        let w = f.width(air_id::CPU);
        f.inputs[air_id::CPU].trace.values[last * w..].copy_from_slice(&halt);
        f.rebalance(&lab);
        (lab, f)
    }));
    lies
}

fn boundary_lies() -> Vec<Lie> {
    let mut lies = Vec::new();
    // Public values the trace does not support.
    for (name, index, delta) in [
        ("exit-code", cpu_pv::EXIT_CODE, 1),
        ("start-pc", cpu_pv::START_PC, 1),
        ("end-pc", cpu_pv::END_PC, 1),
    ] {
        lies.push(Lie::new(format!("cpu/public/{name}"), move || {
            let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
            let p = f.inputs[air_id::CPU].public_values[index];
            f.set_public(air_id::CPU, index, p + v(delta));
            (lab, f)
        }));
    }
    for (name, at) in [
        ("digest-before", cpu_pv::DIGEST_BEFORE),
        ("digest-after", cpu_pv::DIGEST_AFTER),
    ] {
        lies.push(Lie::new(format!("cpu/public/{name}"), move || {
            let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
            // Another digest: the output folded once more.
            let d: Digest = std::array::from_fn(|i| f.inputs[air_id::CPU].public_values[at + i]);
            let other = outputs_digest(d, &[Val::ZERO]);
            for (i, x) in other.into_iter().enumerate() {
                f.set_public(air_id::CPU, at + i, x);
            }
            (lab, f)
        }));
    }
    // A segment that has not halted claims an exit code anyway.
    lies.push(Lie::new("cpu/public/exit-code-without-halt", || {
        let lab = Lab::new(LOOP);
        let segs = lab.run(&[20], 6);
        let mut f = lab.witness(segs);
        f.set_public(air_id::CPU, cpu_pv::EXIT_CODE, v(42));
        (lab, f)
    }));
    // A segment that has not halted claims it has (with padding after it, and without).
    for (name, segment_size) in [("padded", 6), ("full", 8)] {
        lies.push(Lie::new(format!("cpu/claims-halt/{name}"), move || {
            let lab = Lab::new(LOOP);
            let segs = lab.run(&[20], segment_size);
            assert!(segs.len() > 1);
            let mut f = lab.witness(segs);
            f.set_public(air_id::CPU, cpu_pv::HALTED, Val::ONE);
            f.set_public(air_id::CPU, cpu_pv::EXIT_CODE, v(42));
            (lab, f)
        }));
    }
    // A segment without a single instruction that claims the program halted with 42.
    lies.push(Lie::new("cpu/empty-segment-halts", || {
        from_records(ADD, &[3, 7], |seg| {
            seg.instructions.clear();
            seg.accesses.clear();
            seg.touched.clear();
            seg.outputs.clear();
            seg.end = seg.start;
            seg.exit_code = Some(42);
        })
    }));
    lies
}

// ---- ext_arith ----------------------------------------------------------------------

fn is_ext(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::EAdd | Opcode::ESub | Opcode::EMul | Opcode::EInv
    )
}

fn ext() -> Vec<Lie> {
    let mut lies = Vec::new();
    // (name, pc, first access of z)
    for (name, pc, z) in [
        ("eadd", 5, 8),
        ("esub", 6, 8),
        ("emul", 7, 8),
        ("einv", 8, 4),
    ] {
        for i in 0..4 {
            lies.push(Lie::new(
                format!("ext/wrong-result/{name}/{i}"),
                move || {
                    from_records(EXT, &[], |seg| {
                        let k = access_of(seg, pc, 0, z + i);
                        let value = seg.accesses[k].value + Val::ONE;
                        set_written_value(seg, k, value);
                    })
                },
            ));
        }
    }
    // emul (the last reader of x and y) reads an operand coefficient as something else
    // than the cell holds; the product follows it.
    for (operand, base) in [("x", 0), ("y", 4)] {
        for i in 0..4 {
            lies.push(Lie::new(
                format!("ext/read-changes-value/{operand}{i}"),
                move || {
                    from_records(EXT, &[], |seg| {
                        let r = access_of(seg, 7, 0, base + i);
                        let value = seg.accesses[r].value + Val::ONE;
                        read_returns(seg, r, value);
                        write_product(seg, 7);
                    })
                },
            ));
        }
    }
    // An operand coefficient read from, or the result written to, another cell.
    for (operand, base) in [("x", 0), ("y", 4), ("z", 8)] {
        for i in 0..4 {
            lies.push(Lie::new(
                format!("ext/access-address/{operand}{i}"),
                move || {
                    from_records(EXT, &[], |seg| {
                        let k = access_of(seg, 5, 0, base + i);
                        let old = seg.accesses[k].value;
                        redirect_access(seg, k, 100 + i as u32, Val::ZERO);
                        if base < 8 {
                            // Reads now see 0: the sum's coefficient follows.
                            let z = access_of(seg, 5, 0, 8 + i);
                            let sum = seg.accesses[z].value - old;
                            set_written_value(seg, z, sum);
                        }
                    })
                },
            ));
        }
    }
    // The extension chip computes another operation than the cpu handed over: the row
    // multiplies where the instruction (and the cpu's ext_op tuple) says add.
    lies.push(Lie::new("ext/op-kind-differs", || {
        let (lab, mut f) = from_records(EXT, &[], |seg| write_product(seg, 5));
        let l = ExtChip::default().layout().clone();
        f.set(air_id::EXT, 0, l.add, Val::ZERO);
        f.set(air_id::EXT, 0, l.mul, Val::ONE);
        (lab, f)
    }));
    // A padding row with one selector -1 and another +1 (no accesses, nothing claimed).
    for (plus, minus) in [("sub", "add"), ("add", "sub"), ("add", "mul")] {
        lies.push(Lie::new(
            format!("ext/selector-minus-one/{minus}"),
            move || {
                let (lab, mut f) = from_records(EXT, &[], |_| {});
                let l = ExtChip::default().layout().clone();
                let col = |name: &str| match name {
                    "add" => l.add,
                    "sub" => l.sub,
                    _ => l.mul,
                };
                let mut row = vec![Val::ZERO; f.width(air_id::EXT)];
                row[col(plus)] = Val::ONE;
                row[col(minus)] = -Val::ONE;
                let used = f
                    .segment
                    .instructions
                    .iter()
                    .filter(|r| is_ext(r.instruction.opcode))
                    .count();
                let zero = vec![Val::ZERO; f.width(air_id::EXT)];
                f.append_rows(air_id::EXT, &[row], used, &zero);
                (lab, f)
            },
        ));
    }
    // Ordering: emul reads an operand coefficient from the future (a later `li`), or its
    // result coefficient is written after the read that follows it.
    for (operand, cell, access) in [("x", 0u32, 0usize), ("y", 4, 4)] {
        for i in 0..4 {
            lies.push(Lie::new(
                format!("ext/read-from-the-future/{operand}{i}"),
                move || {
                    let src = EXT.replace(
                        "halt 0            ; 9",
                        &format!("li   {}, 9\n        halt 0", cell + i as u32),
                    );
                    from_records(&src, &[], |seg| {
                        let r = access_of(seg, 7, 0, access + i);
                        let w = access_of(seg, 9, 0, 0);
                        read_from_the_future(seg, r, w);
                        write_product(seg, 7);
                    })
                },
            ));
        }
    }
    for i in 0..4u32 {
        lies.push(Lie::new(
            format!("ext/write-after-its-read/z{i}"),
            move || {
                let src = EXT.replace(
                    "halt 0            ; 9",
                    &format!("beqi {}, 0, 10\n        halt 0", 20 + i),
                );
                from_records(&src, &[], |seg| {
                    let w = access_of(seg, 7, 0, 8 + i as usize);
                    let r = access_of(seg, 9, 0, 0);
                    write_after_its_read(seg, w, r);
                })
            },
        ));
    }
    lies
}

/// Makes the extension instruction at `pc` of [`EXT`] write the product of the operands it
/// recorded reading (the executor's own extension-field multiplication).
fn write_product(seg: &mut Segment, pc: u32) {
    let operand = |seg: &Segment, base: usize| -> EF {
        ext_from_cells(std::array::from_fn(|i| {
            seg.accesses[access_of(seg, pc, 0, base + i)].value
        }))
    };
    let z = ext_to_cells(operand(seg, 0) * operand(seg, 4));
    for (i, zi) in z.into_iter().enumerate() {
        let k = access_of(seg, pc, 0, 8 + i);
        set_written_value(seg, k, zi);
    }
}

// ---- poseidon2_mem and poseidon2 ----------------------------------------------------

fn poseidon2_mem() -> Vec<Lie> {
    let mut lies = Vec::new();
    // An input cell read from another address, an output written to another address.
    for (side, base) in [("input", 0), ("output", 16)] {
        for i in 0..16usize {
            lies.push(Lie::new(
                format!("poseidon2_mem/access-address/{side}{i}"),
                move || {
                    poseidon2_lie(POSEIDON2, |seg| {
                        let k = access_of(seg, 2, 0, base + i);
                        redirect_access(seg, k, 200 + i as u32, Val::ZERO);
                    })
                },
            ));
        }
    }
    for i in 0..16usize {
        // An input read as something else than memory holds (the permutation follows).
        lies.push(Lie::new(
            format!("poseidon2_mem/read-changes-value/input{i}"),
            move || {
                poseidon2_lie(POSEIDON2, |seg| {
                    let k = access_of(seg, 2, 0, i);
                    let value = seg.accesses[k].value + Val::ONE;
                    read_returns(seg, k, value);
                })
            },
        ));
        // An input read from the future (a later write of the cell).
        lies.push(Lie::new(
            format!("poseidon2_mem/read-from-the-future/input{i}"),
            move || {
                let src = POSEIDON2.replace(
                    "halt 0            ; 3",
                    &format!("li   {i}, 9\n        halt 0"),
                );
                poseidon2_lie(&src, |seg| {
                    let r = access_of(seg, 2, 0, i);
                    let w = access_of(seg, 3, 0, 0);
                    read_from_the_future(seg, r, w);
                })
            },
        ));
        // An output written after the read that follows it.
        lies.push(Lie::new(
            format!("poseidon2_mem/write-after-its-read/output{i}"),
            move || {
                let src = POSEIDON2.replace(
                    "halt 0            ; 3",
                    &format!("beqi {}, 0, 4\n        halt 0", 16 + i),
                );
                from_records(&src, &[11, 12], |seg| {
                    let w = access_of(seg, 2, 0, 16 + i);
                    let r = access_of(seg, 3, 0, 0);
                    write_after_its_read(seg, w, r);
                })
            },
        ));
    }
    // A row and its negative copy: every interaction cancels; only booleanity refuses.
    lies.push(Lie::new("poseidon2_mem/row-counted-negative", || {
        let (lab, mut f) = from_records(POSEIDON2, &[11, 12], |_| {});
        let row = f.row(air_id::POSEIDON2_MEM, 0).to_vec();
        let mut negative = row.clone();
        negative[0] = -Val::ONE; // is_real
        let zero = vec![Val::ZERO; f.width(air_id::POSEIDON2_MEM)];
        f.append_rows(air_id::POSEIDON2_MEM, &[row, negative], 1, &zero);
        (lab, f)
    }));
    lies
}

/// The [`POSEIDON2`] program with the record edited, its output recomputed from the
/// (possibly edited) inputs so that the permutation itself stays honest.
/// The 16 cells the `poseidon2` instruction of [`POSEIDON2`] read.
fn poseidon2_input(seg: &Segment) -> [Val; 16] {
    std::array::from_fn(|i| seg.accesses[access_of(seg, 2, 0, i)].value)
}

fn poseidon2_lie(src: &str, edit: impl FnOnce(&mut Segment)) -> (Lab, Forgery) {
    from_records(src, &[11, 12], |seg| {
        edit(seg);
        let input = poseidon2_input(seg);
        let output = permute(input);
        for (i, o) in output.into_iter().enumerate() {
            let k = access_of(seg, 2, 0, 16 + i);
            set_written_value(seg, k, o);
        }
    })
}

fn poseidon2() -> Vec<Lie> {
    // One lie per constraint of a Poseidon2 row: the committed value it checks is off by
    // one, every later round follows, and the instruction writes that wrong output.
    (0..ROW_CONSTRAINTS)
        .map(|k| {
            Lie::new(format!("poseidon2/round-value-{k}"), move || {
                let lab = Lab::new(POSEIDON2);
                let mut segs = lab.run(&[11, 12], 1 << 20);
                let seg = &mut segs[0];
                let input = poseidon2_input(seg);
                let mut cols = vec![Val::ZERO; P2_COLS];
                cols[..16].copy_from_slice(&input);
                let c: &mut Cols<Val> = cols.as_mut_slice().borrow_mut();
                poseidon2_chip::fill_row(c, Some((k, Val::ONE)));
                let fake = c.ending_full_rounds.last().unwrap().post;
                for (i, o) in fake.into_iter().enumerate() {
                    let a = access_of(seg, 2, 0, 16 + i);
                    set_written_value(seg, a, o);
                }
                let mut f = lab.witness(segs);
                // The table's row for this input now computes the same wrong output.
                let row = f.poseidon2_row(input).expect("a row for the input");
                let w = f.width(air_id::POSEIDON2);
                let values =
                    &mut f.inputs[air_id::POSEIDON2].trace.values[row * w..row * w + P2_COLS];
                values.copy_from_slice(&cols);
                f.rebalance(&lab);
                (lab, f)
            })
        })
        .collect()
}

// ---- memory (boundary and the ordering of accesses) ---------------------------------

fn memory() -> Vec<Lie> {
    let mut lies = Vec::new();
    // Reads from the future, in each cpu slot that reads.
    for slot in [0, 1] {
        lies.push(Lie::new(
            format!("memory/read-from-the-future/slot{slot}"),
            move || {
                from_records(&history(slot), &[5], |seg| {
                    let r = access_of(seg, 1, 0, slot);
                    let w = access_of(seg, 2, 0, 0);
                    read_from_the_future(seg, r, w);
                })
            },
        ));
    }
    // A write that happens, in memory's history, after the read that follows it.
    lies.push(Lie::new("memory/write-after-its-read", || {
        from_records(&history(0), &[5], |seg| {
            let w = access_of(seg, 0, 0, 0);
            let r = access_of(seg, 1, 0, 0);
            write_after_its_read(seg, w, r);
        })
    }));
    // The same for a write in cpu slot 2 (add's result), read back by a later branch.
    lies.push(Lie::new("memory/write-after-its-read/slot2", || {
        from_records(WRITE_THEN_READ, &[4], |seg| {
            let w = access_of(seg, 1, 0, 2);
            let r = access_of(seg, 2, 0, 0);
            write_after_its_read(seg, w, r);
        })
    }));
    // The reported forgery: a cell with two histories, one boundary row and one Merkle
    // path (with its own root row) each. `mov` reads the old value: output [0], not [5].
    lies.push(Lie::new(
        "memory/two-histories-for-one-cell",
        double_history,
    ));
    // A boundary row under another address than the cell its accesses use.
    lies.push(Lie::new("memory/boundary-address-differs", || {
        let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
        f.add(air_id::BOUNDARY, 0, boundary::ADDR, v(64));
        (lab, f)
    }));
    // The boundary's closing timestamp is not the cell's last access.
    lies.push(Lie::new("memory/boundary-closes-early", || {
        let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
        let row = (0..f.height(air_id::BOUNDARY))
            .find(|&r| f.get(air_id::BOUNDARY, r, boundary::ADDR) == Val::ZERO)
            .unwrap();
        f.add(air_id::BOUNDARY, row, boundary::LAST_TS, -Val::ONE);
        (lab, f)
    }));
    // A pair of boundary rows for one cell that cancel each other, one of them counted
    // -1: harmless here, but counts outside {0, 1} break the bound that keeps LogUp sums
    // from wrapping.
    lies.push(Lie::new("memory/boundary-row-counted-negative", || {
        let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
        let used = f.segment.touched.len();
        let row = f.row(air_id::BOUNDARY, 0).to_vec();
        let mut negative = row.clone();
        negative[boundary::IS_REAL] = -Val::ONE;
        let zero = vec![Val::ZERO; f.width(air_id::BOUNDARY)];
        f.append_rows(air_id::BOUNDARY, &[row, negative], used, &zero);
        (lab, f)
    }));
    lies
}

fn double_history() -> (Lab, Forgery) {
    let lab = Lab::new(DOUBLE_HISTORY);
    let mut segs = lab.run(&[], 1 << 20);
    let seg = &mut segs[0];
    // mov copies the 0 it reads in history 2 of cell 10 (open -> mov reads 0 -> li writes
    // 5 -> close); history 1 is open -> li writes 5 -> close. Both end with 5.
    set_written_value(seg, access_of(seg, 1, 0, 1), Val::ZERO);
    let second = [access_of(seg, 1, 0, 0), access_of(seg, 2, 0, 0)];
    split_history(seg, &second);
    let mut f = lab.witness(segs);
    // A second copy of cell 10's Merkle path, its own root row on top; at level 1 the
    // sibling (cell 11) is untouched in the copy (it holds 0 before and after).
    let l = MerkleChip::default().layout().clone();
    let real_rows = (0..f.height(air_id::MERKLE))
        .filter(|&r| f.get(air_id::MERKLE, r, l.is_real) == Val::ONE)
        .count();
    let mut copy = Vec::new();
    for level in 1..=MEMORY_BITS {
        let index = 10u32 >> level;
        let row = (0..real_rows)
            .find(|&r| {
                f.get(air_id::MERKLE, r, l.level) == v(level)
                    && f.get(air_id::MERKLE, r, l.index) == v(index)
            })
            .expect("path row");
        let mut values = f.row(air_id::MERKLE, row).to_vec();
        if level == 1 {
            values[l.right_touched] = Val::ZERO;
        }
        copy.push(values);
    }
    let zero = vec![Val::ZERO; f.width(air_id::MERKLE)];
    f.append_rows(air_id::MERKLE, &copy, real_rows, &zero);
    f.rebalance(&lab);
    (lab, f)
}

// ---- merkle -------------------------------------------------------------------------

fn merkle() -> Vec<Lie> {
    let mut lies = Vec::new();
    lies.extend(merkle_structure_lies());
    // The public roots the root row does not hold.
    for (name, at) in [
        ("root-before", merkle_pv::ROOT_BEFORE),
        ("root-after", merkle_pv::ROOT_AFTER),
    ] {
        for i in 0..DIGEST {
            lies.push(Lie::new(format!("merkle/public/{name}/{i}"), move || {
                let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
                let p = f.inputs[air_id::MERKLE].public_values[at + i];
                f.set_public(air_id::MERKLE, at + i, p + Val::ONE);
                (lab, f)
            }));
        }
    }
    // An untouched child whose digest changes anyway (element i of its "after"), with
    // the path above it rehashed: memory changes where the segment did not write.
    for side in ["left", "right"] {
        for i in 0..DIGEST {
            lies.push(Lie::new(
                format!("merkle/untouched-child-changes/{side}/{i}"),
                move || {
                    // Only cell 5 is touched: at level 1 its left sibling (cell 4) is
                    // untouched, at level 2 the right child (cells 6, 7) is.
                    let (lab, mut f) = from_records(ONE_CELL, &[], |_| {});
                    let l = MerkleChip::default().layout().clone();
                    let rows = f.height(air_id::MERKLE);
                    let (flag, after) = if side == "left" {
                        (l.left_touched, l.left_after)
                    } else {
                        (l.right_touched, l.right_after)
                    };
                    let row = (0..rows)
                        .find(|&r| {
                            f.get(air_id::MERKLE, r, l.is_real) == Val::ONE
                                && f.get(air_id::MERKLE, r, flag) == Val::ZERO
                        })
                        .expect("a row with an untouched child");
                    f.add(air_id::MERKLE, row, after[i], Val::ONE);
                    rehash_up(&mut f, row);
                    f.rebalance(&lab);
                    (lab, f)
                },
            ));
        }
    }
    lies
}

/// The Merkle row of node (`level`, `index`).
fn merkle_row(f: &Forgery, level: u32, index: u32) -> usize {
    let l = MerkleChip::default().layout().clone();
    (0..f.height(air_id::MERKLE))
        .find(|&r| {
            f.get(air_id::MERKLE, r, l.is_real) == Val::ONE
                && f.get(air_id::MERKLE, r, l.level) == v(level)
                && f.get(air_id::MERKLE, r, l.index) == v(index)
        })
        .expect("a row for the node")
}

fn merkle_structure_lies() -> Vec<Lie> {
    let l = MerkleChip::default().layout().clone();
    let mut lies = Vec::new();
    // A row and its negative copy (children unchanged): everything cancels.
    let lp = l.clone();
    lies.push(Lie::new("merkle/row-counted-negative", move || {
        let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
        let l = &lp;
        let real = f.real_rows(air_id::MERKLE, l.is_real);
        let mut row = f.row(air_id::MERKLE, real - 1).to_vec();
        row[l.left_touched] = Val::ZERO;
        row[l.right_touched] = Val::ZERO;
        for k in 0..DIGEST {
            row[l.left_after[k]] = row[l.left_before[k]];
            row[l.right_after[k]] = row[l.right_before[k]];
            row[l.out_after[k]] = row[l.out_before[k]];
        }
        let mut negative = row.clone();
        negative[l.is_real] = -Val::ONE;
        let zero = vec![Val::ZERO; f.width(air_id::MERKLE)];
        f.append_rows(air_id::MERKLE, &[row, negative], real, &zero);
        f.rebalance(&lab);
        (lab, f)
    }));
    // A padding row takes in a leaf the tree does not hold: cell c reads 42 though it
    // holds 0, and the path above it says nothing changed.
    for (side, c) in [("left", 6u32), ("right", 7)] {
        let l = l.clone();
        lies.push(Lie::new(
            format!("merkle/padding-row-swallows-leaf/{side}"),
            move || {
                let src = copy_out(c);
                let lab = Lab::new(&src);
                let mut segs = lab.run(&[], 1 << 20);
                let seg = &mut segs[0];
                let r = access_of(seg, 0, 0, 0);
                seg.accesses[r].prev_value = v(42);
                read_returns(seg, r, v(42));
                set_written_value(seg, access_of(seg, 0, 0, 1), v(42));
                seg.touched
                    .iter_mut()
                    .find(|t| t.addr == c)
                    .unwrap()
                    .initial = v(42);
                let mut f = lab.witness(segs);
                // The tree keeps cell c at 0: its parent marks it untouched, unchanged.
                let parent = merkle_row(&f, 1, c / 2);
                let (flag, before, after) = if side == "left" {
                    (l.left_touched, l.left_before, l.left_after)
                } else {
                    (l.right_touched, l.right_before, l.right_after)
                };
                f.set(air_id::MERKLE, parent, flag, Val::ZERO);
                for k in 0..DIGEST {
                    let b = f.get(air_id::MERKLE, parent, before[k]);
                    f.set(air_id::MERKLE, parent, after[k], b);
                }
                rehash_up(&mut f, parent);
                // The swallowing padding row.
                let mut row = vec![Val::ZERO; f.width(air_id::MERKLE)];
                row[l.level] = Val::ONE;
                row[l.index] = v(c / 2);
                row[flag] = Val::ONE;
                for (k, x) in leaf(v(42)).into_iter().enumerate() {
                    row[before[k]] = x;
                    row[after[k]] = x;
                }
                let real = f.real_rows(air_id::MERKLE, l.is_real);
                let zero = vec![Val::ZERO; f.width(air_id::MERKLE)];
                f.append_rows(air_id::MERKLE, &[row], real, &zero);
                f.rebalance(&lab);
                (lab, f)
            },
        ));
    }
    // The root row marked padding; a real row at the root's place does the hashing.
    let lr = l.clone();
    lies.push(Lie::new("merkle/root-row-is-padding", move || {
        let (lab, mut f) = from_records(ADD, &[3, 7], |_| {});
        let l = &lr;
        let real = f.real_rows(air_id::MERKLE, l.is_real);
        let mut top = f.row(air_id::MERKLE, 0).to_vec();
        top[l.is_root] = Val::ZERO;
        let mut root = f.row(air_id::MERKLE, 0).to_vec();
        root[l.is_real] = Val::ZERO;
        root[l.left_touched] = Val::ZERO;
        root[l.right_touched] = Val::ZERO;
        for k in 0..DIGEST {
            for c in [
                l.left_before[k],
                l.left_after[k],
                l.right_before[k],
                l.right_after[k],
            ] {
                root[c] = Val::ZERO;
            }
        }
        let w = f.width(air_id::MERKLE);
        f.inputs[air_id::MERKLE].trace.values[..w].copy_from_slice(&root);
        let zero = vec![Val::ZERO; w];
        f.append_rows(air_id::MERKLE, &[top], real, &zero);
        f.rebalance(&lab);
        (lab, f)
    }));
    // A child received twice (touched flag 2): two histories of one cell, no second path.
    // The cell ends as it began (0), so the unchanged leaf is all the parent hashes.
    for (side, c, o) in [("left", 10u32, 11u32), ("right", 11, 10)] {
        let l = l.clone();
        lies.push(Lie::new(
            format!("merkle/child-received-twice/{side}"),
            move || {
                let src = clear_after_copy(c, o);
                let lab = Lab::new(&src);
                let mut segs = lab.run(&[], 1 << 20);
                let seg = &mut segs[0];
                // History 1: open -> li 5 -> li 0 -> close. History 2: open -> mov reads 0.
                set_written_value(seg, access_of(seg, 1, 0, 1), Val::ZERO);
                let mov = access_of(seg, 1, 0, 0);
                split_history(seg, &[mov]);
                let mut f = lab.witness(segs);
                let parent = merkle_row(&f, 1, c / 2);
                let flag = if side == "left" {
                    l.left_touched
                } else {
                    l.right_touched
                };
                f.set(air_id::MERKLE, parent, flag, Val::TWO);
                f.rebalance(&lab);
                (lab, f)
            },
        ));
    }
    // A segment with no memory access and no root row: the public roots are free, and
    // it claims all of memory changed.
    let ln = l;
    lies.push(Lie::new("merkle/no-root-row", move || {
        let (lab, mut f) = from_records(NO_MEMORY, &[], |_| {});
        f.set(air_id::MERKLE, 0, ln.is_root, Val::ZERO);
        f.set(air_id::MERKLE, 0, ln.is_real, Val::ZERO);
        f.set_public(air_id::MERKLE, merkle_pv::ROOT_AFTER, v(1234));
        f.rebalance(&lab);
        (lab, f)
    }));
    lies
}

/// Recomputes `out_after` of Merkle row `row` from its children and carries it up the
/// touched path to the root and the public root after.
fn rehash_up(f: &mut Forgery, mut row: usize) {
    let l = MerkleChip::default().layout().clone();
    loop {
        let digest = |cols: &[usize; DIGEST]| -> Digest {
            std::array::from_fn(|k| f.get(air_id::MERKLE, row, cols[k]))
        };
        let out = compress(join(&digest(&l.left_after), &digest(&l.right_after)));
        for (k, &c) in l.out_after.iter().enumerate() {
            f.set(air_id::MERKLE, row, c, out[k]);
        }
        let (level, index) = (
            f.get(air_id::MERKLE, row, l.level),
            f.get(air_id::MERKLE, row, l.index).as_canonical_u32(),
        );
        if f.get(air_id::MERKLE, row, l.is_root) == Val::ONE {
            for (k, x) in out.into_iter().enumerate() {
                f.set_public(air_id::MERKLE, merkle_pv::ROOT_AFTER + k, x);
            }
            return;
        }
        let parent = (0..f.height(air_id::MERKLE))
            .find(|&r| {
                f.get(air_id::MERKLE, r, l.is_real) == Val::ONE
                    && f.get(air_id::MERKLE, r, l.level) == level + Val::ONE
                    && f.get(air_id::MERKLE, r, l.index) == v(index / 2)
            })
            .expect("parent row");
        let slot = if index % 2 == 0 {
            l.left_after
        } else {
            l.right_after
        };
        for (k, &c) in slot.iter().enumerate() {
            f.set(air_id::MERKLE, parent, c, out[k]);
        }
        row = parent;
    }
}
