//! The `asm` target: a `.sasm` file's bytes through the CLI's loader.

use starkscope_vm::{assemble_bytes, LoadError};

/// Any bytes assemble or give an error that prints; a program that assembles is valid.
pub fn check(data: &[u8]) {
    match assemble_bytes(data, "fuzz.sasm") {
        Ok(program) => {
            if let Err(e) = program.validate() {
                panic!("the assembler accepted an invalid program: {e}");
            }
            let _ = program.to_string();
        }
        Err(LoadError::Asm(e)) => {
            // What the CLI prints: the message and the caret under the column.
            let _ = e.to_string();
            let _ = e.snippet();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
