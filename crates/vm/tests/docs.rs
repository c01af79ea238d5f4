//! docs/isa.md's instruction table must match the ISA: code, mnemonic, operand count and
//! accesses of every opcode.

use std::path::PathBuf;

use starkscope_vm::Opcode;

#[test]
fn isa_doc_table_matches_the_opcodes() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/isa.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = Vec::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | code | `asm` | semantics | accesses |
        if cells.len() == 6 && cells[1].parse::<u8>().is_ok() {
            let code: u8 = cells[1].parse().unwrap();
            let asm = cells[2].trim_matches('`');
            let mnemonic = asm.split_whitespace().next().unwrap_or("");
            let operands = asm.split_whitespace().skip(1).count();
            let accesses: usize = cells[4]
                .parse()
                .unwrap_or_else(|_| panic!("bad accesses in {line}"));
            rows.push((code, mnemonic.to_string(), operands, accesses));
        }
    }
    let expected: Vec<_> = Opcode::ALL
        .iter()
        .map(|&op| {
            (
                op as u8,
                op.mnemonic().to_string(),
                op.operands().len(),
                op.accesses(),
            )
        })
        .collect();
    assert_eq!(
        rows, expected,
        "docs/isa.md's instruction table is out of date"
    );
}
