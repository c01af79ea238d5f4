#![no_main]

#[path = "../checks/prof_snapshot.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
