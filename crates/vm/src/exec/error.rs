//! Why an execution stopped without halting.

use std::fmt;

use crate::isa::{LT_BITS, MEMORY_SIZE};
use crate::program::ProgramError;

/// A runtime fault of the program (or a limit it ran into).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrapKind {
    #[error("pc {pc} is outside the program ({len} instructions)")]
    PcOutOfProgram { pc: u32, len: usize },
    #[error("address {addr} is outside memory (0..{MEMORY_SIZE})")]
    AddressOutOfBounds { addr: u32 },
    #[error("inverse of zero")]
    InverseOfZero,
    #[error("`lt` operand {value} is not below 2^{LT_BITS}")]
    LtOperandOutOfRange { value: u32 },
    #[error("hint stream exhausted: the program asked for input #{requested} but {available} were given")]
    HintExhausted { requested: usize, available: usize },
    #[error("no `halt` within the limit of {max} cycles")]
    MaxCyclesExceeded { max: u64 },
}

/// A trap with the pc and cycle it happened at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    pub kind: TrapKind,
    /// pc of the faulting instruction (for `PcOutOfProgram`, the instruction that jumped
    /// or fell out of the program, when the run executed one; else the bad pc itself).
    pub pc: u32,
    /// Cycles executed before the fault.
    pub cycle: u64,
    /// `file:line:col` of the faulting instruction, when the program has a source map.
    pub location: Option<String>,
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(
                f,
                "{loc} (pc {}, cycle {}): {}",
                self.pc, self.cycle, self.kind
            ),
            None => write!(f, "pc {}, cycle {}: {}", self.pc, self.cycle, self.kind),
        }
    }
}

impl std::error::Error for Trap {}

/// Why an execution could not run to `halt`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    // Not `#[from]`/`#[source]`: the message already includes the inner error, and a
    // source would print it twice in `{:#}` chains.
    #[error("invalid program: {0}")]
    InvalidProgram(ProgramError),
    #[error("invalid execution config: {0}")]
    Config(String),
    #[error("execution trapped at {0}")]
    Trap(Trap),
}

impl From<ProgramError> for ExecError {
    fn from(e: ProgramError) -> Self {
        ExecError::InvalidProgram(e)
    }
}

impl From<Trap> for ExecError {
    fn from(t: Trap) -> Self {
        ExecError::Trap(t)
    }
}

impl ExecError {
    /// The trap, if the program ran and faulted.
    pub fn trap(&self) -> Option<&Trap> {
        match self {
            ExecError::Trap(t) => Some(t),
            _ => None,
        }
    }
}
