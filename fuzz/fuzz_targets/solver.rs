//! The solver (greedy, CDCL and the default) on small universes decoded from the bytes.
//!
//! The checks live in `fuzz/checks/solver.rs`, shared with the test that replays
//! `fuzz/artifacts/solver/` (`apk-solver/tests/fuzz_artifacts.rs`).

#![no_main]

#[path = "../checks/solver.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
