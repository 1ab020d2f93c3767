//! Dependency tokens and lists on arbitrary bytes, under both rule sets.
//!
//! The checks live in `fuzz/checks/dependency.rs`, shared with the test that replays
//! `fuzz/artifacts/dependency/`.

#![no_main]

#[path = "../checks/dependency.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
