//! A program: instructions, initial memory, cycle-tracker markers and where each
//! instruction came from.

use std::collections::BTreeMap;
use std::fmt;

use crate::field::{canonical, F};
use crate::isa::{Instruction, OperandKind, MEMORY_SIZE};

/// A phantom cycle-tracker marker. Markers cost no cycle and no trace row: they are
/// attached to the instruction that follows them and take effect when control reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marker {
    /// `ct_start "name"`: opens a region nested in the currently open one.
    Start(String),
    /// `ct_end`: closes the innermost open region.
    End,
}

/// A marker and the pc of the instruction it precedes.
///
/// A marker takes effect when execution passes its place in the text: by falling through
/// from the previous instruction, by a computed jump (`jalr`) to its instruction, or by a
/// jump to a label written *before* it. A jump to a label written *after* it skips it
/// (`skipped_by_jumps`), so that `ct_start "loop"` followed by `loop:` opens the region
/// once, not once per iteration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerAt {
    pub pc: u32,
    pub marker: Marker,
    /// True when the labels of its instruction are written after the marker.
    pub skipped_by_jumps: bool,
}

impl MarkerAt {
    pub fn new(pc: u32, marker: Marker) -> Self {
        MarkerAt {
            pc,
            marker,
            skipped_by_jumps: false,
        }
    }
}

/// Sets `skipped_by_jumps` from where labels sit among the markers of their instruction.
///
/// `labels` holds, per label, its pc and how many markers of that pc precede it. On
/// conflict (labels of one instruction on both sides of a marker, so that jumps to them
/// would disagree on the marker) returns the index of the marker in `markers`.
pub(crate) fn place_markers(
    markers: &mut [MarkerAt],
    labels: &[(u32, usize)],
) -> Result<(), usize> {
    let mut local = 0;
    for j in 0..markers.len() {
        if j > 0 && markers[j - 1].pc == markers[j].pc {
            local += 1;
        } else {
            local = 0;
        }
        let pc = markers[j].pc;
        let after = labels.iter().any(|&(lpc, k)| lpc == pc && local < k);
        let before = labels.iter().any(|&(lpc, k)| lpc == pc && local >= k);
        if after && before {
            return Err(j);
        }
        markers[j].skipped_by_jumps = after;
    }
    Ok(())
}

/// A 1-based source position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceLoc {
    pub line: u32,
    pub col: u32,
}

/// Where each instruction was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceMap {
    pub file: String,
    /// One location per instruction, indexed by pc.
    pub locations: Vec<SourceLoc>,
}

/// A whole program. Build one with [`crate::assemble`] or [`crate::ProgramBuilder`]; both
/// validate it. A hand-made one is validated again before it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Program {
    /// The program's name (the `group` label of its proofs); the file stem for `.sasm`.
    pub name: String,
    /// The instructions, indexed by pc.
    pub instructions: Vec<Instruction>,
    /// Initial memory: cells not listed are zero.
    pub data: BTreeMap<u32, F>,
    /// Cycle-tracker markers in program order.
    pub markers: Vec<MarkerAt>,
    /// Where each instruction came from, when known.
    pub source: Option<SourceMap>,
}

/// What is wrong with a program's encoding.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgramErrorKind {
    #[error("operand {slot} of `{opcode}` is {value}, but a {what} must be at most {max}")]
    OperandOutOfRange {
        opcode: &'static str,
        slot: usize,
        value: u32,
        what: &'static str,
        max: u32,
    },
    #[error("operand slot {slot} of `{opcode}` is unused and must be 0, found {value}")]
    UnusedSlotNotZero {
        opcode: &'static str,
        slot: usize,
        value: u32,
    },
    #[error("initial data at address {addr} is outside memory (0..{MEMORY_SIZE})")]
    DataOutOfMemory { addr: u32 },
    #[error("marker at pc {pc} is past the end of the program ({len} instructions)")]
    MarkerOutOfProgram { pc: u32, len: usize },
    #[error(
        "region name {name:?} must be non-empty and must not contain `;` (the nesting separator)"
    )]
    BadRegionName { name: String },
    #[error("the program has no instructions")]
    Empty,
    #[error("labels of the instruction at pc {pc} sit on both sides of a cycle-tracker marker: jumps to them would disagree on it")]
    AmbiguousMarker { pc: u32 },
    #[error("the source map lists {found} locations for {expected} instructions")]
    SourceMapLength { expected: usize, found: usize },
}

/// A program that cannot run, with the instruction it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramError {
    /// The instruction's pc, when the error concerns one.
    pub pc: Option<u32>,
    /// `file:line:col` of that instruction, when known.
    pub location: Option<String>,
    pub kind: ProgramErrorKind,
}

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, self.pc) {
            (Some(loc), _) => write!(f, "{loc}: {}", self.kind),
            (None, Some(pc)) => write!(f, "instruction at pc {pc}: {}", self.kind),
            (None, None) => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for ProgramError {}

impl Program {
    /// `file:line:col` of the instruction at `pc`, when the program has a source map.
    pub fn location(&self, pc: u32) -> Option<String> {
        let map = self.source.as_ref()?;
        let loc = map.locations.get(pc as usize)?;
        Some(format!("{}:{}:{}", map.file, loc.line, loc.col))
    }

    /// Distinct region names used by `ct_start` markers, in order of appearance.
    pub fn region_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for m in &self.markers {
            if let Marker::Start(name) = &m.marker {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Checks every operand against its kind, the initial data against memory and the
    /// markers against the program.
    pub fn validate(&self) -> Result<(), ProgramError> {
        let err = |pc: Option<u32>, kind| ProgramError {
            pc,
            location: pc.and_then(|pc| self.location(pc)),
            kind,
        };
        if self.instructions.is_empty() {
            return Err(err(None, ProgramErrorKind::Empty));
        }
        if let Some(map) = &self.source {
            if map.locations.len() != self.instructions.len() {
                return Err(err(
                    None,
                    ProgramErrorKind::SourceMapLength {
                        expected: self.instructions.len(),
                        found: map.locations.len(),
                    },
                ));
            }
        }
        let len = self.instructions.len();
        for (pc, ins) in self.instructions.iter().enumerate() {
            let pc = pc as u32;
            let kinds = ins.opcode.operands();
            for (slot, value) in ins.operands().into_iter().enumerate() {
                let value = canonical(value);
                let Some(&kind) = kinds.get(slot) else {
                    if value != 0 {
                        let kind = ProgramErrorKind::UnusedSlotNotZero {
                            opcode: ins.opcode.mnemonic(),
                            slot,
                            value,
                        };
                        return Err(err(Some(pc), kind));
                    }
                    continue;
                };
                let max = match kind {
                    OperandKind::Imm => continue,
                    OperandKind::Target => len as u32 - 1,
                    k => k.max_address().unwrap_or(0),
                };
                if value > max {
                    let kind = ProgramErrorKind::OperandOutOfRange {
                        opcode: ins.opcode.mnemonic(),
                        slot,
                        value,
                        what: kind.describe(),
                        max,
                    };
                    return Err(err(Some(pc), kind));
                }
            }
        }
        if let Some((&addr, _)) = self.data.range(MEMORY_SIZE as u32..).next() {
            return Err(err(None, ProgramErrorKind::DataOutOfMemory { addr }));
        }
        for m in &self.markers {
            if m.pc as usize > len {
                return Err(err(
                    None,
                    ProgramErrorKind::MarkerOutOfProgram { pc: m.pc, len },
                ));
            }
            if let Marker::Start(name) = &m.marker {
                if name.is_empty() || name.contains(';') {
                    return Err(err(
                        Some(m.pc),
                        ProgramErrorKind::BadRegionName { name: name.clone() },
                    ));
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Program {
    /// A disassembly listing: one instruction per line with its pc and markers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut markers = self.markers.iter().peekable();
        for (pc, ins) in self.instructions.iter().enumerate() {
            while let Some(m) = markers.next_if(|m| m.pc as usize == pc) {
                match &m.marker {
                    Marker::Start(name) => writeln!(f, "        ct_start {name:?}")?,
                    Marker::End => writeln!(f, "        ct_end")?,
                }
            }
            writeln!(f, "{pc:>6}: {ins}")?;
        }
        for m in markers {
            match &m.marker {
                Marker::Start(name) => writeln!(f, "        ct_start {name:?}")?,
                Marker::End => writeln!(f, "        ct_end")?,
            }
        }
        Ok(())
    }
}
