//! The `.sasm` assembler.
//!
//! ```text
//! ; comments start with `;`, `#` or `//`
//! .const N_ADDR 0            ; named constant (may use labels and earlier constants)
//! .data  0x100, 1, 2, -1     ; initial memory: address, then values
//! start:  hint N_ADDR        ; labels end with `:`
//!         ct_start "loop"    ; phantom cycle-tracker marker (no cycle)
//! loop:   addi N_ADDR, N_ADDR, -1
//!         bnei N_ADDR, 0, loop
//!         ct_end
//!         halt 0
//! ```
//!
//! Operands are expressions `term (+|- term)*` over numbers (decimal, `0x`, `0b`, `_`
//! separators), constants and labels (a label's value is its pc). Pseudo-instructions:
//! `subi a, b, k` is `addi a, b, -k`; `halt` alone is `halt 0`.

// Assembling is not a hot path, and an error carries the offending source line for its
// snippet: a large `Err` is the better trade than boxing every error.
#![allow(clippy::result_large_err)]

mod error;
mod lexer;

use std::collections::HashMap;
use std::path::Path;

use p3_field::PrimeCharacteristicRing;

pub use error::{AsmError, AsmErrorKind};
use lexer::{tokenize, Tok, Token};

use crate::field::{from_signed, parse_u64_literal, F, MODULUS};
use crate::isa::{Instruction, Opcode, OperandKind, MEMORY_SIZE};
use crate::program::{place_markers, Marker, MarkerAt, Program, SourceLoc, SourceMap};

/// Assembles `source`; `file` names it in errors and its stem names the program.
pub fn assemble(source: &str, file: &str) -> Result<Program, AsmError> {
    Assembler::new(source, file).run()
}

/// Reading or assembling a program file failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read program {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}:{line}:{col}: byte 0x{byte:02x} is not UTF-8 (a .sasm file is UTF-8 text)")]
    NotUtf8 {
        path: String,
        line: usize,
        col: usize,
        byte: u8,
    },
    #[error(transparent)]
    Asm(#[from] AsmError),
}

/// Reads and assembles a `.sasm` file.
pub fn assemble_file(path: impl AsRef<Path>) -> Result<Program, LoadError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| LoadError::Io {
        path: shown.clone(),
        error,
    })?;
    assemble_bytes(&bytes, &shown)
}

/// Assembles a `.sasm` file's bytes, as [`assemble_file`] does once it has read them;
/// `file` names it in errors. Bytes that are not UTF-8 are an error naming where.
pub fn assemble_bytes(bytes: &[u8], file: &str) -> Result<Program, LoadError> {
    let source = std::str::from_utf8(bytes).map_err(|e| {
        // Where the text stops being UTF-8: 1-based line and column (in characters).
        let bad = e.valid_up_to();
        let valid = std::str::from_utf8(&bytes[..bad]).unwrap_or_default();
        let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
        LoadError::NotUtf8 {
            path: file.to_string(),
            line: valid.matches('\n').count() + 1,
            col: valid[line_start..].chars().count() + 1,
            byte: bytes[bad],
        }
    })?;
    Ok(assemble(source, file)?)
}

#[derive(Clone, Debug)]
enum Term {
    Num(u64),
    Sym(String),
}

#[derive(Clone, Debug)]
struct Expr {
    col: u32,
    /// (negated, term, column)
    terms: Vec<(bool, Term, u32)>,
}

#[derive(Clone, Debug)]
enum Stmt {
    Instr {
        mnemonic: String,
        operands: Vec<Expr>,
    },
    Data {
        addr: Expr,
        values: Vec<Expr>,
    },
    Const {
        name: String,
        value: Expr,
    },
    CtStart {
        name: String,
    },
    CtEnd,
}

#[derive(Clone, Copy, Debug)]
enum SymVal {
    Label(u32),
    /// A constant: its value once evaluated (constants evaluate in order after pass 1).
    Const(Option<i128>),
}

#[derive(Clone, Copy, Debug)]
struct Symbol {
    value: SymVal,
    line: u32,
    col: u32,
}

struct Assembler<'a> {
    file: &'a str,
    lines: Vec<&'a str>,
    symbols: HashMap<String, Symbol>,
}

/// A statement and its position (line, column of its first token).
struct Located {
    line: u32,
    col: u32,
    stmt: Stmt,
}

impl<'a> Assembler<'a> {
    fn new(source: &'a str, file: &'a str) -> Self {
        Assembler {
            file,
            lines: source.lines().collect(),
            symbols: HashMap::new(),
        }
    }

    fn err(&self, line: u32, col: u32, kind: AsmErrorKind) -> AsmError {
        AsmError {
            file: self.file.to_string(),
            line,
            col,
            kind,
            source_line: self.lines.get(line as usize - 1).unwrap_or(&"").to_string(),
        }
    }

    fn run(mut self) -> Result<Program, AsmError> {
        // Pass 1: parse, define labels and constants, place markers.
        let mut stmts = Vec::new();
        let mut pc: u32 = 0;
        let mut markers = Vec::new();
        // Per label: pc and markers of that pc written before it; per marker: line, col.
        let mut label_places: Vec<(u32, usize)> = Vec::new();
        let mut marker_places: Vec<(u32, u32)> = Vec::new();
        for (i, text) in self.lines.clone().into_iter().enumerate() {
            let line = i as u32 + 1;
            let (tokens, end_col) =
                tokenize(text).map_err(|(col, kind)| self.err(line, col, kind))?;
            let (labels, stmt) =
                parse_line(&tokens, end_col).map_err(|(col, kind)| self.err(line, col, kind))?;
            for (name, col) in labels {
                self.define(name, SymVal::Label(pc), line, col)?;
                let before = markers
                    .iter()
                    .rev()
                    .take_while(|m: &&MarkerAt| m.pc == pc)
                    .count();
                label_places.push((pc, before));
            }
            let Some((col, stmt)) = stmt else { continue };
            match &stmt {
                Stmt::Instr { .. } => pc += 1,
                Stmt::Const { name, .. } => {
                    self.define(name.clone(), SymVal::Const(None), line, col)?
                }
                Stmt::CtStart { name } => {
                    if name.is_empty() || name.contains(';') {
                        return Err(self.err(
                            line,
                            col,
                            AsmErrorKind::BadRegionName { name: name.clone() },
                        ));
                    }
                    markers.push(MarkerAt::new(pc, Marker::Start(name.clone())));
                    marker_places.push((line, col));
                }
                Stmt::CtEnd => {
                    markers.push(MarkerAt::new(pc, Marker::End));
                    marker_places.push((line, col));
                }
                Stmt::Data { .. } => {}
            }
            stmts.push(Located { line, col, stmt });
        }
        if pc == 0 {
            let line = self.lines.len().max(1) as u32;
            return Err(self.err(line, 1, AsmErrorKind::EmptyProgram));
        }
        let len = pc;
        if let Err(j) = place_markers(&mut markers, &label_places) {
            let (line, col) = marker_places[j];
            return Err(self.err(line, col, AsmErrorKind::AmbiguousMarker));
        }

        // Pass 2: constants, in order (they may use any label and earlier constants).
        for s in &stmts {
            if let Stmt::Const { name, value } = &s.stmt {
                let v = self.eval(value, s.line)?;
                if let Some(sym) = self.symbols.get_mut(name) {
                    sym.value = SymVal::Const(Some(v));
                }
            }
        }

        // Pass 3: encode.
        let mut instructions = Vec::with_capacity(len as usize);
        let mut locations = Vec::with_capacity(len as usize);
        let mut data = std::collections::BTreeMap::new();
        for s in &stmts {
            match &s.stmt {
                Stmt::Instr { mnemonic, operands } => {
                    instructions.push(self.encode(mnemonic, operands, s.line, s.col, len)?);
                    locations.push(SourceLoc {
                        line: s.line,
                        col: s.col,
                    });
                }
                Stmt::Data { addr, values } => {
                    let count = values.len() as i128;
                    let base = self.eval(addr, s.line)?;
                    let max = MEMORY_SIZE as i128 - count;
                    if !(0..=max).contains(&base) {
                        let kind = AsmErrorKind::ImmediateOutOfRange {
                            what: "data address",
                            value: base.to_string(),
                            min: 0,
                            max,
                        };
                        return Err(self.err(s.line, addr.col, kind));
                    }
                    for (i, v) in values.iter().enumerate() {
                        let value = self.field(v, s.line, false)?;
                        data.insert(base as u32 + i as u32, value);
                    }
                }
                Stmt::Const { .. } | Stmt::CtStart { .. } | Stmt::CtEnd => {}
            }
        }
        let name = Path::new(self.file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let program = Program {
            name,
            instructions,
            data,
            markers,
            source: Some(SourceMap {
                file: self.file.to_string(),
                locations,
            }),
        };
        // Everything was range-checked above; this guards the encoder itself.
        if let Err(e) = program.validate() {
            let pc = e.pc.unwrap_or(0) as usize;
            let loc = program
                .source
                .as_ref()
                .and_then(|m| m.locations.get(pc).copied());
            let (line, col) = loc.map(|l| (l.line, l.col)).unwrap_or((1, 1));
            let kind = AsmErrorKind::Syntax {
                expected: "a valid instruction",
                found: e.kind.to_string(),
            };
            return Err(self.err(line, col, kind));
        }
        Ok(program)
    }

    fn define(&mut self, name: String, value: SymVal, line: u32, col: u32) -> Result<(), AsmError> {
        if let Some(first) = self.symbols.get(&name) {
            let kind = AsmErrorKind::DuplicateLabel {
                name,
                first_line: first.line,
                first_col: first.col,
            };
            return Err(self.err(line, col, kind));
        }
        self.symbols.insert(name, Symbol { value, line, col });
        Ok(())
    }

    fn eval(&self, e: &Expr, line: u32) -> Result<i128, AsmError> {
        let mut acc: i128 = 0;
        for (neg, term, col) in &e.terms {
            let v = match term {
                Term::Num(n) => *n as i128,
                Term::Sym(name) => match self.symbols.get(name).map(|s| s.value) {
                    Some(SymVal::Label(pc)) => pc as i128,
                    Some(SymVal::Const(Some(v))) => v,
                    // A constant defined further down, used by an earlier constant.
                    Some(SymVal::Const(None)) | None => {
                        return Err(self.err(
                            line,
                            *col,
                            AsmErrorKind::UndefinedLabel { name: name.clone() },
                        ));
                    }
                },
            };
            acc = if *neg { acc - v } else { acc + v };
            // Terms are at most 2^64 and programs are short: this cannot overflow i128,
            // but a huge sum must not wrap silently either.
            if acc.unsigned_abs() > u64::MAX as u128 * 4 {
                let kind = AsmErrorKind::ImmediateOutOfRange {
                    what: "expression",
                    value: acc.to_string(),
                    min: -(u64::MAX as i128),
                    max: u64::MAX as i128,
                };
                return Err(self.err(line, e.col, kind));
            }
        }
        Ok(acc)
    }

    fn field(&self, e: &Expr, line: u32, negate: bool) -> Result<F, AsmError> {
        let v = self.eval(e, line)?;
        let v = if negate { -v } else { v };
        from_signed(v).ok_or_else(|| {
            let p = MODULUS as i128;
            self.err(
                line,
                e.col,
                AsmErrorKind::ImmediateOutOfRange {
                    what: "field immediate",
                    value: v.to_string(),
                    min: -(p - 1),
                    max: p - 1,
                },
            )
        })
    }

    fn encode(
        &self,
        mnemonic: &str,
        operands: &[Expr],
        line: u32,
        col: u32,
        len: u32,
    ) -> Result<Instruction, AsmError> {
        let count_err = |expected| {
            self.err(
                line,
                col,
                AsmErrorKind::OperandCount {
                    mnemonic: mnemonic.to_string(),
                    expected,
                    found: operands.len(),
                },
            )
        };
        // Pseudo-instructions first.
        let (opcode, negate_last) = match mnemonic {
            "subi" => (Opcode::AddI, true),
            "halt" if operands.is_empty() => {
                return Ok(Instruction::new(Opcode::Halt, F::ZERO, F::ZERO, F::ZERO))
            }
            _ => match Opcode::from_mnemonic(mnemonic) {
                Some(op) => (op, false),
                None => {
                    return Err(self.err(
                        line,
                        col,
                        AsmErrorKind::UnknownOpcode {
                            name: mnemonic.to_string(),
                        },
                    ))
                }
            },
        };
        let kinds = opcode.operands();
        if operands.len() != kinds.len() {
            let expected = match (opcode, kinds.len()) {
                (Opcode::Halt, _) => "0 or 1",
                (_, 0) => "0",
                (_, 1) => "1",
                (_, 2) => "2",
                _ => "3",
            };
            return Err(count_err(expected));
        }
        let mut slots = [F::ZERO; 3];
        for (i, (kind, e)) in kinds.iter().zip(operands).enumerate() {
            slots[i] = match kind {
                OperandKind::Imm => self.field(e, line, negate_last && i == kinds.len() - 1)?,
                OperandKind::Target => {
                    let v = self.eval(e, line)?;
                    let max = len as i128 - 1;
                    if !(0..=max).contains(&v) {
                        let kind = AsmErrorKind::ImmediateOutOfRange {
                            what: "branch target",
                            value: v.to_string(),
                            min: 0,
                            max,
                        };
                        return Err(self.err(line, e.col, kind));
                    }
                    F::from_u32(v as u32)
                }
                k => {
                    let v = self.eval(e, line)?;
                    let max = k.max_address().unwrap_or(0) as i128;
                    if !(0..=max).contains(&v) {
                        let kind = AsmErrorKind::ImmediateOutOfRange {
                            what: k.describe(),
                            value: v.to_string(),
                            min: 0,
                            max,
                        };
                        return Err(self.err(line, e.col, kind));
                    }
                    F::from_u32(v as u32)
                }
            };
        }
        Ok(Instruction::new(opcode, slots[0], slots[1], slots[2]))
    }
}

type ParseResult<T> = Result<T, (u32, AsmErrorKind)>;

/// Labels (name, column) and the statement (column, statement) of one line.
#[allow(clippy::type_complexity)]
fn parse_line(
    tokens: &[Token],
    end_col: u32,
) -> ParseResult<(Vec<(String, u32)>, Option<(u32, Stmt)>)> {
    let mut labels = Vec::new();
    let mut i = 0;
    while let (
        Some(Token {
            tok: Tok::Ident(name),
            col,
        }),
        Some(Token {
            tok: Tok::Colon, ..
        }),
    ) = (tokens.get(i), tokens.get(i + 1))
    {
        if name.starts_with('.') {
            return Err((
                *col,
                AsmErrorKind::Syntax {
                    expected: "a label name (not starting with `.`)",
                    found: format!("`{name}`"),
                },
            ));
        }
        labels.push((name.clone(), *col));
        i += 2;
    }
    let Some(head) = tokens.get(i) else {
        return Ok((labels, None));
    };
    let Tok::Ident(word) = &head.tok else {
        return Err((
            head.col,
            AsmErrorKind::Syntax {
                expected: "an opcode, a directive or a label",
                found: head.tok.describe(),
            },
        ));
    };
    let col = head.col;
    let rest = &tokens[i + 1..];
    let stmt = match word.as_str() {
        ".const" => {
            let Some(Token {
                tok: Tok::Ident(name),
                ..
            }) = rest.first()
            else {
                return Err(expected_at(rest.first(), end_col, "a constant name"));
            };
            let mut j = 1;
            if matches!(
                rest.get(1),
                Some(Token {
                    tok: Tok::Comma,
                    ..
                })
            ) {
                j = 2;
            }
            let (value, used) = parse_expr(&rest[j..], end_col)?;
            if let Some(t) = rest.get(j + used) {
                return Err((
                    t.col,
                    AsmErrorKind::Syntax {
                        expected: "end of line",
                        found: t.tok.describe(),
                    },
                ));
            }
            Stmt::Const {
                name: name.clone(),
                value,
            }
        }
        ".data" => {
            let mut ops = parse_operands(rest, end_col)?;
            if ops.len() < 2 {
                return Err((
                    col,
                    AsmErrorKind::Syntax {
                        expected: "`.data ADDRESS, VALUE, ...` with at least one value",
                        found: format!("{} operand(s)", ops.len()),
                    },
                ));
            }
            let values = ops.split_off(1);
            Stmt::Data {
                addr: ops.remove(0),
                values,
            }
        }
        "ct_start" => match rest {
            [Token {
                tok: Tok::Str(name),
                ..
            }] => Stmt::CtStart { name: name.clone() },
            [] => {
                return Err((
                    end_col,
                    AsmErrorKind::Syntax {
                        expected: "a region name in quotes",
                        found: "end of line".into(),
                    },
                ))
            }
            [Token {
                tok: Tok::Str(_), ..
            }, t, ..] => {
                return Err((
                    t.col,
                    AsmErrorKind::Syntax {
                        expected: "end of line",
                        found: t.tok.describe(),
                    },
                ));
            }
            [t, ..] => {
                return Err((
                    t.col,
                    AsmErrorKind::Syntax {
                        expected: "a region name in quotes",
                        found: t.tok.describe(),
                    },
                ))
            }
        },
        "ct_end" => match rest.first() {
            None => Stmt::CtEnd,
            Some(t) => {
                return Err((
                    t.col,
                    AsmErrorKind::Syntax {
                        expected: "end of line",
                        found: t.tok.describe(),
                    },
                ))
            }
        },
        d if d.starts_with('.') => {
            return Err((
                col,
                AsmErrorKind::UnknownDirective {
                    name: d.to_string(),
                },
            ))
        }
        m => Stmt::Instr {
            mnemonic: m.to_string(),
            operands: parse_operands(rest, end_col)?,
        },
    };
    Ok((labels, Some((col, stmt))))
}

fn expected_at(tok: Option<&Token>, end_col: u32, expected: &'static str) -> (u32, AsmErrorKind) {
    match tok {
        Some(t) => (
            t.col,
            AsmErrorKind::Syntax {
                expected,
                found: t.tok.describe(),
            },
        ),
        None => (
            end_col,
            AsmErrorKind::Syntax {
                expected,
                found: "end of line".into(),
            },
        ),
    }
}

/// Comma-separated expressions up to the end of the line.
fn parse_operands(tokens: &[Token], end_col: u32) -> ParseResult<Vec<Expr>> {
    let mut out = Vec::new();
    let mut i = 0;
    if tokens.is_empty() {
        return Ok(out);
    }
    loop {
        let (e, used) = parse_expr(&tokens[i..], end_col)?;
        out.push(e);
        i += used;
        match tokens.get(i) {
            None => return Ok(out),
            Some(Token {
                tok: Tok::Comma, ..
            }) => i += 1,
            Some(t) => {
                return Err((
                    t.col,
                    AsmErrorKind::Syntax {
                        expected: "`,` or end of line",
                        found: t.tok.describe(),
                    },
                ))
            }
        }
    }
}

/// `['-'] term (('+'|'-') term)*`; returns the expression and the tokens it used.
fn parse_expr(tokens: &[Token], end_col: u32) -> ParseResult<(Expr, usize)> {
    let mut i = 0;
    let mut terms = Vec::new();
    let col = tokens.first().map(|t| t.col).unwrap_or(end_col);
    let mut neg = false;
    if matches!(
        tokens.first(),
        Some(Token {
            tok: Tok::Minus,
            ..
        })
    ) {
        neg = true;
        i = 1;
    }
    loop {
        let t = tokens.get(i).ok_or((
            end_col,
            AsmErrorKind::Syntax {
                expected: "a number, constant or label",
                found: "end of line".into(),
            },
        ))?;
        let term = match &t.tok {
            Tok::Number(text) => match parse_u64_literal(text) {
                Some(n) => Term::Num(n),
                None if well_formed_literal(text) => {
                    let kind = AsmErrorKind::ImmediateOutOfRange {
                        what: "number",
                        value: text.clone(),
                        min: 0,
                        max: u64::MAX as i128,
                    };
                    return Err((t.col, kind));
                }
                None => return Err((t.col, AsmErrorKind::BadNumber { text: text.clone() })),
            },
            Tok::Ident(name) if !name.starts_with('.') => Term::Sym(name.clone()),
            other => {
                return Err((
                    t.col,
                    AsmErrorKind::Syntax {
                        expected: "a number, constant or label",
                        found: other.describe(),
                    },
                ))
            }
        };
        terms.push((neg, term, t.col));
        i += 1;
        match tokens.get(i).map(|t| &t.tok) {
            Some(Tok::Plus) => neg = false,
            Some(Tok::Minus) => neg = true,
            _ => return Ok((Expr { col, terms }, i)),
        }
        i += 1;
    }
}

/// True when `text` is a number in the right format that only failed by being too large.
fn well_formed_literal(text: &str) -> bool {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let lower = cleaned.to_ascii_lowercase();
    let (radix, digits) = if let Some(h) = lower.strip_prefix("0x") {
        (16, h)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b)
    } else {
        (10, lower.as_str())
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))
}
