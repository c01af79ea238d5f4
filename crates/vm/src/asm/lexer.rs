//! Splits one source line into tokens with their columns.

use super::error::AsmErrorKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A name: mnemonic, label, constant or directive (with its leading `.`).
    Ident(String),
    /// A numeric literal as written.
    Number(String),
    /// A string literal, unescaped.
    Str(String),
    Comma,
    Colon,
    Plus,
    Minus,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Number(s) => format!("`{s}`"),
            Tok::Str(s) => format!("{s:?}"),
            Tok::Comma => "`,`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Plus => "`+`".into(),
            Tok::Minus => "`-`".into(),
        }
    }
}

/// A token and its 1-based column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub col: u32,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.'
}

fn is_ident_continue(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Tokens of `line` up to its comment (`;`, `#` or `//`) and the column just after the
/// last one, or the column and kind of the first lexical error.
pub(crate) fn tokenize(line: &str) -> Result<(Vec<Token>, u32), (u32, AsmErrorKind)> {
    let mut end = 0;
    let tokens = tokenize_inner(line, &mut end)?;
    Ok((tokens, end as u32 + 1))
}

fn tokenize_inner(line: &str, end: &mut usize) -> Result<Vec<Token>, (u32, AsmErrorKind)> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i as u32 + 1;
        let before = out.len();
        match c {
            ' ' | '\t' | '\r' => i += 1,
            ';' | '#' => break,
            '/' if chars.get(i + 1) == Some(&'/') => break,
            ',' => {
                out.push(Token {
                    tok: Tok::Comma,
                    col,
                });
                i += 1;
            }
            ':' => {
                out.push(Token {
                    tok: Tok::Colon,
                    col,
                });
                i += 1;
            }
            '+' => {
                out.push(Token {
                    tok: Tok::Plus,
                    col,
                });
                i += 1;
            }
            '-' => {
                out.push(Token {
                    tok: Tok::Minus,
                    col,
                });
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err((col, AsmErrorKind::UnterminatedString)),
                        Some('"') => break,
                        Some('\\') if matches!(chars.get(j + 1), Some('"') | Some('\\')) => {
                            s.push(chars[j + 1]);
                            j += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            j += 1;
                        }
                    }
                }
                out.push(Token {
                    tok: Tok::Str(s),
                    col,
                });
                i = j + 1;
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Number(chars[start..i].iter().collect()),
                    col,
                });
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < chars.len() && is_ident_continue(chars[i]) {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Ident(chars[start..i].iter().collect()),
                    col,
                });
            }
            other => return Err((col, AsmErrorKind::UnexpectedChar { ch: other })),
        }
        if out.len() > before {
            // 0-based index just past the token
            *end = i;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().0.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn splits_and_skips_comments() {
        assert_eq!(
            toks("loop: addi x, x, -0x1 ; c"),
            vec![
                Tok::Ident("loop".into()),
                Tok::Colon,
                Tok::Ident("addi".into()),
                Tok::Ident("x".into()),
                Tok::Comma,
                Tok::Ident("x".into()),
                Tok::Comma,
                Tok::Minus,
                Tok::Number("0x1".into()),
            ]
        );
        assert_eq!(toks("  # only a comment"), vec![]);
        assert_eq!(toks("halt // bye"), vec![Tok::Ident("halt".into())]);
        assert_eq!(toks(r#"ct_start "a \"b\"""#)[1], Tok::Str("a \"b\"".into()));
    }

    #[test]
    fn reports_columns() {
        let (t, end) = tokenize("  add 1 ; x").unwrap();
        assert_eq!((t[0].col, t[1].col, end), (3, 7, 8));
        assert_eq!(tokenize("").unwrap().1, 1);
        assert_eq!(
            tokenize("add @"),
            Err((5, AsmErrorKind::UnexpectedChar { ch: '@' }))
        );
        assert_eq!(
            tokenize("ct_start \"x"),
            Err((10, AsmErrorKind::UnterminatedString))
        );
    }
}
