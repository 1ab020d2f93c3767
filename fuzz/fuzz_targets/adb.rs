//! apk v3 (ADB) files on arbitrary bytes, through `apk_index::adb`.
//!
//! The checks live in `fuzz/checks/adb.rs`, shared with the test that replays
//! `fuzz/artifacts/adb/`.

#![no_main]

#[path = "../checks/adb.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
