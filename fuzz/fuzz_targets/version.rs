//! Version validation and comparison on arbitrary bytes, under both rule sets.
//!
//! The checks live in `fuzz/checks/version.rs`, shared with the test that replays
//! `fuzz/artifacts/version/`.

#![no_main]

#[path = "../checks/version.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
