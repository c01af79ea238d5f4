//! The interpreter: one loop, generic over what it records.
//!
//! Fast and recording execution share this loop, so they cannot disagree on semantics.
//! The fast [`Untraced`] tracer compiles to plain memory accesses; the recording tracer
//! logs every access. Counting is in plain integers: one increment per instruction into
//! a per-opcode array.

use p3_baby_bear::{default_babybear_poseidon2_16, Poseidon2BabyBear};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_symmetric::Permutation;

use super::decode::{Decoded, MarkerOp, Op};
use super::error::{Trap, TrapKind};
use super::regions::RegionTracker;
use super::stats::{OpcodeCounts, SegmentStats};
use crate::field::{canonical, ext_from_cells, ext_to_cells, EXT_DEGREE, F};
use crate::isa::{Opcode, LT_BITS, MEMORY_SIZE, POSEIDON2_WIDTH};
use crate::program::Program;

/// The whole memory. A fixed-size array so that masked indexing needs no bounds check.
pub(crate) type Cells = [F; MEMORY_SIZE];

const ADDR_MASK: usize = MEMORY_SIZE - 1;

/// What the loop reports to a recorder. Every memory access goes through it.
pub(crate) trait Tracer {
    /// An instruction at `pc` starts (after its markers).
    fn begin(&mut self, pc: u32);
    fn read(&mut self, mem: &Cells, addr: u32) -> F;
    fn write(&mut self, mem: &mut Cells, addr: u32, value: F);
    /// The instruction finished; control continues at `next_pc`.
    fn end(&mut self, next_pc: u32);
    /// Whether the segment must end before the next instruction (checked with the cycle
    /// limit); the recording executor's trace-height budget.
    #[inline(always)]
    fn full(&self) -> bool {
        false
    }
}

/// Records nothing: fast mode.
pub(crate) struct Untraced;

impl Tracer for Untraced {
    #[inline(always)]
    fn begin(&mut self, _pc: u32) {}
    #[inline(always)]
    fn read(&mut self, mem: &Cells, addr: u32) -> F {
        mem[addr as usize & ADDR_MASK]
    }
    #[inline(always)]
    fn write(&mut self, mem: &mut Cells, addr: u32, value: F) {
        mem[addr as usize & ADDR_MASK] = value;
    }
    #[inline(always)]
    fn end(&mut self, _next_pc: u32) {}
}

/// The per-opcode counters, at a fixed offset in their own page.
///
/// Every instruction increments one counter right after storing to a memory cell. When the
/// two addresses agree modulo 4096 the CPU suspects a dependency ("4K aliasing") and the
/// loop slows by a third; on the stack the counters' page offset depends on the caller,
/// which made the same loop's speed depend on who called it. Here they sit mid-page, away
/// from the low cells (memory starts near a page boundary) that programs use most.
#[repr(C, align(4096))]
pub(crate) struct CountsPage {
    _pad: [u8; 2048],
    pub counts: OpcodeCounts,
}

impl Default for CountsPage {
    fn default() -> Self {
        CountsPage {
            _pad: [0; 2048],
            counts: OpcodeCounts::default(),
        }
    }
}

/// Why [`Machine::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Halted(u32),
    /// The cycle limit passed to `run` was reached.
    Limit,
}

/// The machine's state between runs.
pub(crate) struct Machine {
    pub pc: u32,
    /// Cycles executed since the start of the program.
    pub cycle: u64,
    pub mem: Box<Cells>,
    pub inputs: Vec<F>,
    pub hint_cursor: usize,
    pub outputs: Vec<F>,
    /// Counts of the current segment.
    pub counts: Box<CountsPage>,
    pub regions: RegionTracker,
    pub exit: Option<u32>,
    /// Cycle at which the current segment started.
    pub segment_start: u64,
    /// Whether control reached `pc` by a jump to a label (which skips the markers written
    /// before the label); kept across segment boundaries.
    pub jumped: bool,
    perm: Poseidon2BabyBear<16>,
}

impl Machine {
    pub fn new(program: &Program, decoded: &Decoded, inputs: &[F]) -> Self {
        // `zero_vec` allocates zeroed pages (calloc): only the pages a program touches are
        // ever faulted in, which matters for short runs.
        let mut mem: Box<Cells> = F::zero_vec(MEMORY_SIZE)
            .into_boxed_slice()
            .try_into()
            .expect("a vector of MEMORY_SIZE cells converts to the memory array");
        for (&addr, &v) in &program.data {
            // Validated: every data address is below MEMORY_SIZE.
            mem[addr as usize & ADDR_MASK] = v;
        }
        Machine {
            pc: 0,
            cycle: 0,
            mem,
            inputs: inputs.to_vec(),
            hint_cursor: 0,
            outputs: Vec::new(),
            counts: Box::default(),
            regions: RegionTracker::new(decoded.region_names.clone()),
            exit: None,
            segment_start: 0,
            jumped: false,
            perm: default_babybear_poseidon2_16(),
        }
    }

    /// Ends the current segment: its counts and regions, reset for the next one.
    pub fn take_segment_stats(&mut self, index: usize) -> SegmentStats {
        let stats = SegmentStats {
            index,
            cycles: self.cycle - self.segment_start,
            opcode_counts: std::mem::take(&mut self.counts.counts),
            regions: self.regions.take_segment(self.cycle),
        };
        self.segment_start = self.cycle;
        stats
    }

    /// Runs until `halt`, a trap, or `limit` total cycles.
    pub fn run<T: Tracer>(&mut self, prog: &Decoded, tr: &mut T, limit: u64) -> Result<Stop, Trap> {
        if let Some(code) = self.exit {
            return Ok(Stop::Halted(code));
        }
        let Machine {
            pc: pc_out,
            cycle: cycle_out,
            mem,
            inputs,
            hint_cursor,
            outputs,
            counts,
            regions,
            exit,
            perm,
            jumped: jumped_out,
            ..
        } = self;
        let mem: &mut Cells = mem;
        let counts = &mut counts.counts.0;
        let mut pc = *pc_out;
        let mut cycle = *cycle_out;
        let mut jumped = *jumped_out;
        // The instruction executed last: a pc that leaves the program names it.
        let mut came_from: Option<u32> = None;

        macro_rules! rd {
            ($addr:expr) => {
                tr.read(mem, $addr)
            };
        }
        macro_rules! wr {
            ($addr:expr, $v:expr) => {{
                let v = $v;
                tr.write(mem, $addr, v)
            }};
        }
        macro_rules! trap {
            ($kind:expr) => {{
                break Err(($kind, pc, cycle));
            }};
        }
        macro_rules! count {
            ($op:expr) => {
                counts[$op as usize] += 1
            };
        }
        macro_rules! rd_ext {
            ($base:expr) => {{
                let base = $base;
                let mut cells = [F::ZERO; EXT_DEGREE];
                for (i, c) in cells.iter_mut().enumerate() {
                    *c = rd!(base + i as u32);
                }
                ext_from_cells(cells)
            }};
        }
        macro_rules! wr_ext {
            ($base:expr, $v:expr) => {{
                let base = $base;
                for (i, c) in ext_to_cells($v).into_iter().enumerate() {
                    wr!(base + i as u32, c);
                }
            }};
        }
        // An indirect address, range-checked.
        macro_rules! indirect {
            ($b:expr, $off:expr) => {{
                let addr = canonical(rd!($b) + $off);
                if addr as usize >= MEMORY_SIZE {
                    trap!(TrapKind::AddressOutOfBounds { addr });
                }
                addr
            }};
        }

        let result: Result<Stop, (TrapKind, u32, u64)> = loop {
            if cycle >= limit || tr.full() {
                break Ok(Stop::Limit);
            }
            let Some(&fetched) = prog.ops.get(pc as usize) else {
                let kind = TrapKind::PcOutOfProgram {
                    pc,
                    len: prog.ops.len(),
                };
                break Err((kind, came_from.unwrap_or(pc), cycle));
            };
            let op = match fetched {
                Op::Marked(i) => {
                    let marked = &prog.marked[i as usize];
                    let markers = if jumped {
                        &marked.via_jump
                    } else {
                        &marked.all
                    };
                    // Markers measure; they never change what the program computes
                    // (proofs do not see them): a `ct_end` with no open region is a no-op.
                    for m in markers {
                        match *m {
                            MarkerOp::Start(name) => regions.start(name, cycle),
                            MarkerOp::End => {
                                regions.end(cycle);
                            }
                        }
                    }
                    marked.op
                }
                op => op,
            };
            // Jumps to labels set it again below.
            jumped = false;
            tr.begin(pc);
            let next = match op {
                Op::Add { a, b, c } => {
                    count!(Opcode::Add);
                    wr!(a, rd!(b) + rd!(c));
                    pc + 1
                }
                Op::Sub { a, b, c } => {
                    count!(Opcode::Sub);
                    wr!(a, rd!(b) - rd!(c));
                    pc + 1
                }
                Op::Mul { a, b, c } => {
                    count!(Opcode::Mul);
                    wr!(a, rd!(b) * rd!(c));
                    pc + 1
                }
                Op::Inv { a, b } => {
                    count!(Opcode::Inv);
                    let Some(inv) = rd!(b).try_inverse() else {
                        trap!(TrapKind::InverseOfZero)
                    };
                    wr!(a, inv);
                    pc + 1
                }
                Op::AddI { a, b, k } => {
                    count!(Opcode::AddI);
                    wr!(a, rd!(b) + k);
                    pc + 1
                }
                Op::MulI { a, b, k } => {
                    count!(Opcode::MulI);
                    wr!(a, rd!(b) * k);
                    pc + 1
                }
                Op::EAdd { a, b, c } => {
                    count!(Opcode::EAdd);
                    let x = rd_ext!(b);
                    let y = rd_ext!(c);
                    wr_ext!(a, x + y);
                    pc + 1
                }
                Op::ESub { a, b, c } => {
                    count!(Opcode::ESub);
                    let x = rd_ext!(b);
                    let y = rd_ext!(c);
                    wr_ext!(a, x - y);
                    pc + 1
                }
                Op::EMul { a, b, c } => {
                    count!(Opcode::EMul);
                    let x = rd_ext!(b);
                    let y = rd_ext!(c);
                    wr_ext!(a, x * y);
                    pc + 1
                }
                Op::EInv { a, b } => {
                    count!(Opcode::EInv);
                    let Some(inv) = rd_ext!(b).try_inverse() else {
                        trap!(TrapKind::InverseOfZero)
                    };
                    wr_ext!(a, inv);
                    pc + 1
                }
                Op::Li { a, k } => {
                    count!(Opcode::Li);
                    wr!(a, k);
                    pc + 1
                }
                Op::Mov { a, b } => {
                    count!(Opcode::Mov);
                    wr!(a, rd!(b));
                    pc + 1
                }
                Op::Load { a, b, off } => {
                    count!(Opcode::Load);
                    let addr = indirect!(b, off);
                    wr!(a, rd!(addr));
                    pc + 1
                }
                Op::Store { a, b, off } => {
                    count!(Opcode::Store);
                    let addr = indirect!(b, off);
                    wr!(addr, rd!(a));
                    pc + 1
                }
                Op::Beq { a, b, t } => {
                    count!(Opcode::Beq);
                    if rd!(a) == rd!(b) {
                        jumped = true;
                        t
                    } else {
                        pc + 1
                    }
                }
                Op::Bne { a, b, t } => {
                    count!(Opcode::Bne);
                    if rd!(a) != rd!(b) {
                        jumped = true;
                        t
                    } else {
                        pc + 1
                    }
                }
                Op::BeqI { a, k, t } => {
                    count!(Opcode::BeqI);
                    if rd!(a) == k {
                        jumped = true;
                        t
                    } else {
                        pc + 1
                    }
                }
                Op::BneI { a, k, t } => {
                    count!(Opcode::BneI);
                    if rd!(a) != k {
                        jumped = true;
                        t
                    } else {
                        pc + 1
                    }
                }
                Op::Jal { a, t } => {
                    count!(Opcode::Jal);
                    wr!(a, F::from_u32(pc + 1));
                    jumped = true;
                    t
                }
                Op::Jalr { a, b } => {
                    count!(Opcode::Jalr);
                    // Read before writing: `jalr x, x` jumps to the old value of x.
                    let target = canonical(rd!(b));
                    wr!(a, F::from_u32(pc + 1));
                    target
                }
                Op::Jmp { t } => {
                    count!(Opcode::Jmp);
                    jumped = true;
                    t
                }
                Op::Lt { a, b, c } => {
                    count!(Opcode::Lt);
                    let x = canonical(rd!(b));
                    let y = canonical(rd!(c));
                    if x >> LT_BITS != 0 {
                        trap!(TrapKind::LtOperandOutOfRange { value: x });
                    }
                    if y >> LT_BITS != 0 {
                        trap!(TrapKind::LtOperandOutOfRange { value: y });
                    }
                    wr!(a, F::from_bool(x < y));
                    pc + 1
                }
                Op::Poseidon2 { a, b } => {
                    count!(Opcode::Poseidon2);
                    let mut state = [F::ZERO; POSEIDON2_WIDTH];
                    for (i, s) in state.iter_mut().enumerate() {
                        *s = rd!(b + i as u32);
                    }
                    perm.permute_mut(&mut state);
                    for (i, s) in state.into_iter().enumerate() {
                        wr!(a + i as u32, s);
                    }
                    pc + 1
                }
                Op::Hint { a } => {
                    count!(Opcode::Hint);
                    let Some(&v) = inputs.get(*hint_cursor) else {
                        trap!(TrapKind::HintExhausted {
                            requested: *hint_cursor + 1,
                            available: inputs.len()
                        })
                    };
                    *hint_cursor += 1;
                    wr!(a, v);
                    pc + 1
                }
                Op::Out { a } => {
                    count!(Opcode::Out);
                    outputs.push(rd!(a));
                    pc + 1
                }
                Op::Halt { code } => {
                    count!(Opcode::Halt);
                    tr.end(pc);
                    cycle += 1;
                    regions.close_all(cycle);
                    *exit = Some(code);
                    break Ok(Stop::Halted(code));
                }
                Op::Marked(_) => unreachable!("a marked op never wraps another marked op"),
            };
            tr.end(next);
            cycle += 1;
            came_from = Some(pc);
            pc = next;
        };
        *pc_out = pc;
        *cycle_out = cycle;
        *jumped_out = jumped;
        result.map_err(|(kind, pc, cycle)| Trap {
            kind,
            pc,
            cycle,
            location: None,
        })
    }
}
