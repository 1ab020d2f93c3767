//! apk v3 (ADB) packages on arbitrary bytes, extracted and staged by `apk_pkg::Extractor`.
//!
//! The checks live in `fuzz/checks/extract_adb.rs`, shared with the test that replays
//! `fuzz/artifacts/extract_adb/`.

#![no_main]

#[path = "../checks/extract_adb.rs"]
mod checks;
#[path = "../checks/tree_walk.rs"]
mod tree_walk;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
