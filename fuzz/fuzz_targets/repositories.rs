//! Repository lists (`etc/apk/repositories`, `-X` arguments) on arbitrary bytes.
//!
//! The checks live in `fuzz/checks/repositories.rs`, shared with the test that replays
//! `fuzz/artifacts/repositories/`.

#![no_main]

#[path = "../checks/repositories.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
