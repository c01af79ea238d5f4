//! Every assembler error: its kind, and the file:line:col it names.

use starkscope_vm::{assemble, assemble_file, AsmError, AsmErrorKind, LoadError};

fn err(src: &str) -> AsmError {
    match assemble(src, "prog.sasm") {
        Ok(p) => panic!("expected an error, assembled:\n{p}"),
        Err(e) => e,
    }
}

fn at(src: &str) -> (u32, u32, AsmErrorKind) {
    let e = err(src);
    (e.line, e.col, e.kind)
}

#[test]
fn unknown_opcode() {
    let e = err("li 0, 1\n  ad 1, 2, 3\n");
    assert_eq!((e.line, e.col), (2, 3));
    assert_eq!(e.kind, AsmErrorKind::UnknownOpcode { name: "ad".into() });
    assert_eq!(e.to_string(), "prog.sasm:2:3: unknown opcode `ad`");
    assert_eq!(e.snippet(), "      ad 1, 2, 3\n      ^");
}

#[test]
fn undefined_label() {
    assert_eq!(
        at("jmp nowhere\n"),
        (
            1,
            5,
            AsmErrorKind::UndefinedLabel {
                name: "nowhere".into()
            }
        )
    );
    // in an expression, pointing at the term
    assert_eq!(
        at("li 0, 1 + X\nhalt\n"),
        (1, 11, AsmErrorKind::UndefinedLabel { name: "X".into() })
    );
    // a constant used by an earlier constant
    assert_eq!(
        at(".const A B\n.const B 1\nhalt\n"),
        (1, 10, AsmErrorKind::UndefinedLabel { name: "B".into() })
    );
}

#[test]
fn duplicate_label() {
    let e = err("top: li 0, 1\n  top: halt\n");
    assert_eq!((e.line, e.col), (2, 3));
    assert_eq!(
        e.kind,
        AsmErrorKind::DuplicateLabel {
            name: "top".into(),
            first_line: 1,
            first_col: 1
        }
    );
    assert_eq!(
        e.to_string(),
        "prog.sasm:2:3: `top` is already defined at line 1, column 1"
    );
    // labels and constants share one namespace
    assert!(matches!(
        at(".const x 1\nx: halt\n").2,
        AsmErrorKind::DuplicateLabel { .. }
    ));
}

#[test]
fn out_of_range_immediates() {
    // address beyond memory
    let (l, c, k) = at("li 1048576, 1\n");
    assert_eq!((l, c), (1, 4));
    assert!(
        matches!(
            k,
            AsmErrorKind::ImmediateOutOfRange {
                what: "address",
                max: 1048575,
                ..
            }
        ),
        "{k}"
    );
    // an extension operand needs 4 cells
    let (_, c, k) = at("eadd 1048573, 0, 0\n");
    assert_eq!(c, 6);
    assert!(
        matches!(k, AsmErrorKind::ImmediateOutOfRange { max: 1048572, .. }),
        "{k}"
    );
    // a poseidon2 operand needs 16
    assert!(matches!(
        at("poseidon2 0, 1048561\n").2,
        AsmErrorKind::ImmediateOutOfRange { max: 1048560, .. }
    ));
    // negative address
    assert!(matches!(
        at("mov -1, 0\n").2,
        AsmErrorKind::ImmediateOutOfRange { .. }
    ));
    // field immediate: p is out, p - 1 and -(p - 1) are in
    let (_, c, k) = at("li 0, 2013265921\n");
    assert_eq!(c, 7);
    assert!(
        matches!(
            k,
            AsmErrorKind::ImmediateOutOfRange {
                what: "field immediate",
                ..
            }
        ),
        "{k}"
    );
    assert!(assemble("li 0, 2013265920\nli 0, -2013265920\nhalt\n", "p").is_ok());
    // a literal beyond 64 bits
    let (_, c, k) = at("li 0, 99999999999999999999999\n");
    assert_eq!(c, 7);
    assert!(
        matches!(k, AsmErrorKind::ImmediateOutOfRange { what: "number", .. }),
        "{k}"
    );
    // a branch target past the program
    let (_, c, k) = at("jmp 5\nhalt\n");
    assert_eq!(c, 5);
    assert!(
        matches!(
            k,
            AsmErrorKind::ImmediateOutOfRange {
                what: "branch target",
                max: 1,
                ..
            }
        ),
        "{k}"
    );
    // data that would run off the end of memory
    assert!(matches!(
        at(".data 1048575, 1, 2\nhalt\n").2,
        AsmErrorKind::ImmediateOutOfRange {
            what: "data address",
            ..
        }
    ));
    let e = err("li 0, 2013265921\n");
    assert_eq!(
        e.to_string(),
        "prog.sasm:1:7: field immediate 2013265921 is out of range: expected -2013265920..=2013265920"
    );
}

#[test]
fn bad_operand_count() {
    let e = err("halt\nadd 1, 2\n");
    assert_eq!((e.line, e.col), (2, 1));
    assert_eq!(
        e.kind,
        AsmErrorKind::OperandCount {
            mnemonic: "add".into(),
            expected: "3",
            found: 2
        }
    );
    assert_eq!(
        e.to_string(),
        "prog.sasm:2:1: `add` takes 3 operands, found 2"
    );
    assert_eq!(
        at("out\n").2,
        AsmErrorKind::OperandCount {
            mnemonic: "out".into(),
            expected: "1",
            found: 0
        }
    );
    assert_eq!(
        at("halt 1, 2\n").2,
        AsmErrorKind::OperandCount {
            mnemonic: "halt".into(),
            expected: "0 or 1",
            found: 2
        }
    );
    assert_eq!(
        at("subi 1, 2\n").2,
        AsmErrorKind::OperandCount {
            mnemonic: "subi".into(),
            expected: "3",
            found: 2
        }
    );
}

#[test]
fn lexical_and_syntax_errors() {
    assert_eq!(
        at("li 0, @\n"),
        (1, 7, AsmErrorKind::UnexpectedChar { ch: '@' })
    );
    assert_eq!(
        at("ct_start \"abc\nhalt\n"),
        (1, 10, AsmErrorKind::UnterminatedString)
    );
    assert_eq!(
        at("li 0, 0xZZ\n"),
        (
            1,
            7,
            AsmErrorKind::BadNumber {
                text: "0xZZ".into()
            }
        )
    );
    assert!(matches!(
        at("li 0 1\n"),
        (
            1,
            6,
            AsmErrorKind::Syntax {
                expected: "`,` or end of line",
                ..
            }
        )
    ));
    assert!(matches!(
        at("add 1, , 2\n"),
        (1, 8, AsmErrorKind::Syntax { .. })
    ));
    assert!(matches!(at("li 0,\n"), (1, 6, AsmErrorKind::Syntax { .. })));
    assert!(matches!(
        at("5: halt\n"),
        (1, 1, AsmErrorKind::Syntax { .. })
    ));
    assert!(matches!(
        at("ct_start name\nhalt\n"),
        (
            1,
            10,
            AsmErrorKind::Syntax {
                expected: "a region name in quotes",
                ..
            }
        )
    ));
    assert!(matches!(
        at("ct_end 1\nhalt\n"),
        (
            1,
            8,
            AsmErrorKind::Syntax {
                expected: "end of line",
                ..
            }
        )
    ));
    assert!(matches!(
        at(".data 5\nhalt\n"),
        (1, 1, AsmErrorKind::Syntax { .. })
    ));
    assert!(matches!(
        at(".const\nhalt\n"),
        (
            1,
            7,
            AsmErrorKind::Syntax {
                expected: "a constant name",
                ..
            }
        )
    ));
    assert!(matches!(
        at(".const X 1 2\nhalt\n"),
        (
            1,
            12,
            AsmErrorKind::Syntax {
                expected: "end of line",
                ..
            }
        )
    ));
}

#[test]
fn directives_regions_and_empty_programs() {
    assert_eq!(
        at("  .word 5\n"),
        (
            1,
            3,
            AsmErrorKind::UnknownDirective {
                name: ".word".into()
            }
        )
    );
    assert_eq!(
        at("ct_start \"\"\nhalt\n"),
        (1, 1, AsmErrorKind::BadRegionName { name: "".into() })
    );
    assert_eq!(
        at("ct_start \"a;b\"\nhalt\n"),
        (1, 1, AsmErrorKind::BadRegionName { name: "a;b".into() })
    );
    assert_eq!(at("; nothing\n\n"), (2, 1, AsmErrorKind::EmptyProgram));
    assert_eq!(at(""), (1, 1, AsmErrorKind::EmptyProgram));
    // labels of one instruction on both sides of a marker
    assert_eq!(
        at("a: ct_start \"x\"\nb: halt\n"),
        (1, 4, AsmErrorKind::AmbiguousMarker)
    );
}

#[test]
fn valid_syntax_variants() {
    let p = assemble(
        "// comment\n# comment\nstart: top: li 0, 0b1010 ; both labels\n.const A, 0x1_0\nli A, -0X10\nhalt\n",
        "dir/name.sasm",
    )
    .unwrap();
    assert_eq!(p.name, "name");
    assert_eq!(p.instructions.len(), 3);
    assert_eq!(p.location(1).as_deref(), Some("dir/name.sasm:5:1"));
}

#[test]
fn missing_file() {
    match assemble_file("/nonexistent/prog.sasm") {
        Err(LoadError::Io { path, .. }) => assert_eq!(path, "/nonexistent/prog.sasm"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}
