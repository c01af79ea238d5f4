//! The `proof_file` target: a proof file's bytes through the SDK reader `verify` uses.

use starkscope_sdk::files::{proof_from_file_bytes, proof_to_bytes, unnamed};

/// Any bytes decode or give an error; a proof that decodes re-encodes to the same bytes
/// (every byte of a proof file matters).
pub fn check(data: &[u8]) {
    match proof_from_file_bytes(data, &unnamed("fuzz proof")) {
        Ok(proof) => {
            let again = proof_to_bytes(&proof).expect("a decoded proof encodes");
            assert!(again == data, "a decoded proof re-encodes to other bytes");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
