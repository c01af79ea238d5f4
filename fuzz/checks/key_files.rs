//! The `key_files` target: a key file's bytes through the SDK readers `verify --vk` (a
//! program's key or the tree's) and `prove --pk` use. The header's kind byte routes the
//! bytes to one reader; the others refuse them at the header.

use starkscope_sdk::files::{
    pk_from_file_bytes, pk_to_bytes, tree_vk_from_file_bytes, tree_vk_to_bytes, unnamed,
    vk_from_file_bytes, vk_to_bytes,
};

/// Any bytes decode or give an error; a key that decodes re-encodes to the same bytes.
pub fn check(data: &[u8]) {
    match vk_from_file_bytes(data, &unnamed("fuzz vk")) {
        Ok(vk) => {
            let again = vk_to_bytes(&vk).expect("a decoded verifying key encodes");
            assert!(
                again == data,
                "a decoded verifying key re-encodes to other bytes"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match pk_from_file_bytes(data, &unnamed("fuzz pk")) {
        Ok(pk) => {
            let again = pk_to_bytes(&pk).expect("a decoded proving key encodes");
            assert!(
                again == data,
                "a decoded proving key re-encodes to other bytes"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match tree_vk_from_file_bytes(data, &unnamed("fuzz tree vk")) {
        Ok(key) => {
            let again = tree_vk_to_bytes(&key).expect("a decoded tree key encodes");
            assert!(
                again == data,
                "a decoded tree key re-encodes to other bytes"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
