//! Recording execution: the run cut into segments of at most `segment_size` cycles, each
//! with what trace generation needs.
//!
//! Timestamps are local to a segment: they start at 1 and advance by one per memory
//! access, so an instruction's accesses get consecutive timestamps and every opcode
//! advances the clock by [`Opcode::accesses`](crate::Opcode::accesses). Timestamp 0 is a
//! cell's state at the segment's start (what the memory boundary proves from the Merkle
//! root), so `prev_timestamp == 0` marks a cell's first access in the segment.

use tracing::info_span;

use super::config::{max_trace_height, ExecConfig};
use super::core::{Cells, Machine, Stop, Tracer};
use super::decode::Decoded;
use super::error::{ExecError, Trap, TrapKind};
use super::fast::locate;
use super::stats::SegmentStats;
use crate::field::F;
use crate::isa::{Instruction, Opcode, MEMORY_BITS, MEMORY_SIZE};
use crate::program::Program;

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    Read,
    Write,
}

/// One memory access, with what offline memory checking needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAccess {
    pub addr: u32,
    pub kind: AccessKind,
    /// Segment-local, >= 1, strictly increasing over the segment's accesses.
    pub timestamp: u32,
    /// Timestamp of the previous access to `addr` in this segment, 0 if none.
    pub prev_timestamp: u32,
    /// Value after the access (the value read, for a read).
    pub value: F,
    /// Value before the access (equal to `value` for a read).
    pub prev_value: F,
}

/// One executed instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstructionRecord {
    pub pc: u32,
    /// Timestamp of the instruction's first access (the clock when it started).
    pub timestamp: u32,
    pub instruction: Instruction,
    /// pc of the next instruction (the same pc for `halt`).
    pub next_pc: u32,
    /// Index of the first of its `instruction.opcode.accesses()` accesses in
    /// [`Segment::accesses`].
    pub first_access: u32,
}

/// A cell the segment accessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TouchedCell {
    pub addr: u32,
    /// Value at the start of the segment.
    pub initial: F,
    /// Value at the end of the segment.
    pub last: F,
    /// Timestamp of the last access.
    pub last_timestamp: u32,
}

/// The machine state at a segment boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundaryState {
    pub pc: u32,
    /// Cycles executed since the program started.
    pub cycle: u64,
    /// Hint values consumed since the program started.
    pub hint_cursor: usize,
    /// Public outputs produced since the program started.
    pub outputs: usize,
}

/// A segment of the run: the unit one proof covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub index: usize,
    pub start: BoundaryState,
    /// For the last segment, `pc` is the `halt`'s pc.
    pub end: BoundaryState,
    /// `Some(code)` for the segment that ran `halt`.
    pub exit_code: Option<u32>,
    pub instructions: Vec<InstructionRecord>,
    pub accesses: Vec<MemoryAccess>,
    /// Cells accessed, sorted by address.
    pub touched: Vec<TouchedCell>,
    /// Hint values consumed by this segment.
    pub hints: Vec<F>,
    /// Public outputs produced by this segment.
    pub outputs: Vec<F>,
    pub stats: SegmentStats,
    /// The executor's segment size: with it the prover pads the cpu chip to the segment's
    /// fixed height ([`max_trace_height`]) when that is above 2^16.
    pub segment_size: u64,
}

impl Segment {
    /// The accesses of one instruction record.
    pub fn accesses_of(&self, rec: &InstructionRecord) -> &[MemoryAccess] {
        let start = rec.first_access as usize;
        let end = start + rec.instruction.opcode.accesses();
        &self.accesses[start.min(self.accesses.len())..end.min(self.accesses.len())]
    }

    /// Timestamp after the segment's last access.
    pub fn end_timestamp(&self) -> u32 {
        self.accesses.last().map(|a| a.timestamp + 1).unwrap_or(1)
    }
}

/// The recording tracer.
struct Recorder {
    instructions: Vec<Instruction>,
    clock: u32,
    /// Per address: last access timestamp in this segment, 0 = untouched.
    last_ts: Vec<u32>,
    /// First-touch order: (address, value at segment start).
    touched: Vec<(u32, F)>,
    records: Vec<InstructionRecord>,
    accesses: Vec<MemoryAccess>,
    /// One bit per Merkle node (levels 1..=MEMORY_BITS) on the touched cells' paths.
    nodes: Vec<u64>,
    /// Bits set in `nodes`: the Merkle chip's rows.
    merkle_rows: usize,
    /// `out` and `poseidon2` instructions of the segment (a Poseidon2 row each at most).
    hash_instructions: usize,
    /// [`max_trace_height`] of the segment size.
    budget: usize,
}

/// The most a single instruction can add to `2 * merkle_rows + hash_instructions`: 32
/// accesses (`poseidon2`) to new cells, each with a new path of `MEMORY_BITS` nodes, two
/// compressions per node, and the instruction's own Poseidon2 row.
const MAX_STEP: usize = 2 * 32 * MEMORY_BITS as usize + 1;

/// The position of Merkle node `(level, index)`, `level` in `1..=MEMORY_BITS`, in
/// [`Recorder::nodes`]: the levels one after the other.
#[inline(always)]
fn node_bit(level: u32, index: usize) -> usize {
    MEMORY_SIZE - ((2 * MEMORY_SIZE) >> level) + index
}

impl Recorder {
    #[inline(always)]
    fn log(&mut self, addr: u32, kind: AccessKind, prev_value: F, value: F) {
        let slot = &mut self.last_ts[addr as usize];
        let prev_timestamp = *slot;
        if prev_timestamp == 0 {
            self.touched.push((addr, prev_value));
        }
        *slot = self.clock;
        if prev_timestamp == 0 {
            self.mark_path(addr);
        }
        self.accesses.push(MemoryAccess {
            addr,
            kind,
            timestamp: self.clock,
            prev_timestamp,
            value,
            prev_value,
        });
        self.clock += 1;
    }
}

impl Recorder {
    /// Marks the Merkle nodes above a newly touched cell, counting the new ones.
    fn mark_path(&mut self, addr: u32) {
        let mut i = addr as usize & (MEMORY_SIZE - 1);
        for level in 1..=MEMORY_BITS {
            i >>= 1;
            let bit = node_bit(level, i);
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            if self.nodes[word] & mask != 0 {
                break;
            }
            self.nodes[word] |= mask;
            self.merkle_rows += 1;
        }
    }

    /// Clears the marks of a touched cell's path (at the segment's end).
    fn clear_path(&mut self, addr: u32) {
        let mut i = addr as usize & (MEMORY_SIZE - 1);
        for level in 1..=MEMORY_BITS {
            i >>= 1;
            let bit = node_bit(level, i);
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            if self.nodes[word] & mask == 0 {
                break;
            }
            self.nodes[word] &= !mask;
        }
    }
}

impl Tracer for Recorder {
    /// The Poseidon2 chip's rows are at most `2 * merkle_rows + hash_instructions` (two
    /// compressions per Merkle row, one per `out`, one permutation per `poseidon2`), the
    /// boundary chip's at most `2 * merkle_rows`: the segment ends before an instruction
    /// that could take either past the budget.
    #[inline(always)]
    fn full(&self) -> bool {
        2 * self.merkle_rows + self.hash_instructions + MAX_STEP > self.budget
    }

    #[inline(always)]
    fn begin(&mut self, pc: u32) {
        let opcode = self.instructions[pc as usize].opcode;
        if matches!(opcode, Opcode::Out | Opcode::Poseidon2) {
            self.hash_instructions += 1;
        }
        self.records.push(InstructionRecord {
            pc,
            timestamp: self.clock,
            instruction: self.instructions[pc as usize],
            next_pc: pc,
            first_access: self.accesses.len() as u32,
        });
    }

    #[inline(always)]
    fn read(&mut self, mem: &Cells, addr: u32) -> F {
        let v = mem[addr as usize & (MEMORY_SIZE - 1)];
        self.log(addr, AccessKind::Read, v, v);
        v
    }

    #[inline(always)]
    fn write(&mut self, mem: &mut Cells, addr: u32, value: F) {
        let cell = &mut mem[addr as usize & (MEMORY_SIZE - 1)];
        let prev = *cell;
        *cell = value;
        self.log(addr, AccessKind::Write, prev, value);
    }

    #[inline(always)]
    fn end(&mut self, next_pc: u32) {
        if let Some(r) = self.records.last_mut() {
            r.next_pc = next_pc;
        }
    }
}

/// Executes a program segment by segment, keeping records. An iterator of segments, so
/// that a prover can hold one segment at a time.
pub struct RecordingExecutor {
    program: Program,
    decoded: Decoded,
    machine: Machine,
    recorder: Recorder,
    config: ExecConfig,
    next_index: usize,
    finished: bool,
}

impl RecordingExecutor {
    pub fn new(program: &Program, inputs: &[F], config: &ExecConfig) -> Result<Self, ExecError> {
        config.validate()?;
        program.validate()?;
        let decoded = Decoded::new(program);
        let machine = Machine::new(program, &decoded, inputs);
        Ok(RecordingExecutor {
            program: program.clone(),
            recorder: Recorder {
                instructions: program.instructions.clone(),
                clock: 1,
                last_ts: vec![0; MEMORY_SIZE],
                touched: Vec::new(),
                records: Vec::new(),
                accesses: Vec::new(),
                nodes: vec![0; MEMORY_SIZE / 64],
                merkle_rows: 0,
                hash_instructions: 0,
                budget: max_trace_height(config.segment_size),
            },
            decoded,
            machine,
            config: *config,
            next_index: 0,
            finished: false,
        })
    }

    /// The whole memory as it is now (after the last segment returned).
    pub fn memory(&self) -> &[F] {
        &self.machine.mem[..]
    }

    /// The exit code, once the program halted.
    pub fn exit_code(&self) -> Option<u32> {
        self.machine.exit
    }

    /// Cycles executed so far.
    pub fn cycles(&self) -> u64 {
        self.machine.cycle
    }

    /// Public outputs so far.
    pub fn outputs(&self) -> &[F] {
        &self.machine.outputs
    }

    /// Hands a consumed segment's buffers back for the next segments: a prover that keeps
    /// one segment at a time saves the allocation and page faults of fresh records.
    pub fn recycle(&mut self, segment: Segment) {
        let rec = &mut self.recorder;
        if segment.instructions.capacity() > rec.records.capacity() {
            rec.records = segment.instructions;
            rec.records.clear();
        }
        if segment.accesses.capacity() > rec.accesses.capacity() {
            rec.accesses = segment.accesses;
            rec.accesses.clear();
        }
    }

    /// Runs the next segment; `None` after the segment that halted (or after an error).
    pub fn next_segment(&mut self) -> Option<Result<Segment, ExecError>> {
        if self.finished {
            return None;
        }
        let index = self.next_index;
        let segment_span = info_span!("segment", segment = index);
        let _entered = segment_span.enter();
        let result = info_span!("execute").in_scope(|| self.run_segment(index));
        if let Ok(seg) = &result {
            #[cfg(feature = "bench-metrics")]
            super::metrics::emit_segment(&seg.stats);
            self.finished = seg.exit_code.is_some();
        } else {
            self.finished = true;
        }
        self.next_index += 1;
        Some(result)
    }

    fn run_segment(&mut self, index: usize) -> Result<Segment, ExecError> {
        let m = &mut self.machine;
        let start = BoundaryState {
            pc: m.pc,
            cycle: m.cycle,
            hint_cursor: m.hint_cursor,
            outputs: m.outputs.len(),
        };
        let limit = self
            .config
            .max_cycles
            .min(m.cycle + self.config.segment_size);
        let rec = &mut self.recorder;
        let reserve = (self.config.segment_size.min(1 << 16)) as usize;
        rec.records.reserve(reserve);
        rec.accesses.reserve(reserve * 3);
        let stop = m
            .run(&self.decoded, rec, limit)
            .map_err(|t| locate(&self.program, t))?;
        if stop == Stop::Limit && m.cycle >= self.config.max_cycles {
            let trap = Trap {
                kind: TrapKind::MaxCyclesExceeded {
                    max: self.config.max_cycles,
                },
                pc: m.pc,
                cycle: m.cycle,
                location: None,
            };
            return Err(locate(&self.program, trap));
        }
        let end = BoundaryState {
            pc: m.pc,
            cycle: m.cycle,
            hint_cursor: m.hint_cursor,
            outputs: m.outputs.len(),
        };
        let mut touched: Vec<TouchedCell> = rec
            .touched
            .drain(..)
            .map(|(addr, initial)| TouchedCell {
                addr,
                initial,
                last: m.mem[addr as usize],
                last_timestamp: rec.last_ts[addr as usize],
            })
            .collect();
        touched.sort_unstable_by_key(|c| c.addr);
        for c in &touched {
            rec.last_ts[c.addr as usize] = 0;
            rec.clear_path(c.addr);
        }
        debug_assert!(rec.nodes.iter().all(|&w| w == 0));
        rec.merkle_rows = 0;
        rec.hash_instructions = 0;
        rec.clock = 1;
        let stats = m.take_segment_stats(index);
        Ok(Segment {
            index,
            start,
            end,
            exit_code: match stop {
                Stop::Halted(code) => Some(code),
                Stop::Limit => None,
            },
            instructions: std::mem::take(&mut rec.records),
            accesses: std::mem::take(&mut rec.accesses),
            touched,
            hints: m.inputs[start.hint_cursor..end.hint_cursor].to_vec(),
            outputs: m.outputs[start.outputs..end.outputs].to_vec(),
            stats,
            segment_size: self.config.segment_size,
        })
    }
}

impl Iterator for RecordingExecutor {
    type Item = Result<Segment, ExecError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_segment()
    }
}

/// Records a whole run (every segment in memory; use [`RecordingExecutor`] to stream).
pub fn record(
    program: &Program,
    inputs: &[F],
    config: &ExecConfig,
) -> Result<Vec<Segment>, ExecError> {
    RecordingExecutor::new(program, inputs, config)?.collect()
}
