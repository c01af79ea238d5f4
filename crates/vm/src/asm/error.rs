//! Assembler errors: every one names `file:line:col` and says what was expected.

use std::fmt;

/// What went wrong, without where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AsmErrorKind {
    #[error("unexpected character {ch:?}")]
    UnexpectedChar { ch: char },
    #[error("unterminated string: expected a closing `\"`")]
    UnterminatedString,
    #[error("expected {expected}, found {found}")]
    Syntax {
        expected: &'static str,
        found: String,
    },
    #[error("`{text}` is not a number (decimal, 0x hex or 0b binary)")]
    BadNumber { text: String },
    #[error("unknown opcode `{name}`")]
    UnknownOpcode { name: String },
    #[error("unknown directive `{name}`: expected `.const` or `.data`")]
    UnknownDirective { name: String },
    #[error("`{mnemonic}` takes {expected} operand{}, found {found}", if *.expected == "1" { "" } else { "s" })]
    OperandCount {
        mnemonic: String,
        expected: &'static str,
        found: usize,
    },
    #[error("undefined label or constant `{name}`")]
    UndefinedLabel { name: String },
    #[error("`{name}` is already defined at line {first_line}, column {first_col}")]
    DuplicateLabel {
        name: String,
        first_line: u32,
        first_col: u32,
    },
    #[error("{what} {value} is out of range: expected {min}..={max}")]
    ImmediateOutOfRange {
        what: &'static str,
        value: String,
        min: i128,
        max: i128,
    },
    #[error("region name {name:?} must be non-empty and must not contain `;`")]
    BadRegionName { name: String },
    #[error("labels of the next instruction sit on both sides of this marker: jumps to them would disagree on it (move the labels together)")]
    AmbiguousMarker,
    #[error("the program has no instructions: expected at least one (e.g. `halt 0`)")]
    EmptyProgram,
}

/// An assembler error at a source position (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub kind: AsmErrorKind,
    /// The offending source line, for [`AsmError::snippet`].
    pub source_line: String,
}

impl AsmError {
    /// The source line with a caret under the column, for terminal output.
    pub fn snippet(&self) -> String {
        let pad: String = self
            .source_line
            .chars()
            .take(self.col.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("    {}\n    {pad}^", self.source_line)
    }
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.kind)
    }
}

impl std::error::Error for AsmError {}
