//! `.apk` packages on arbitrary bytes, extracted by `apk_pkg::Extractor`.
//!
//! The checks live in `fuzz/checks/extract.rs`, shared with the test that replays
//! `fuzz/artifacts/extract/`.

#![no_main]

#[path = "../checks/extract.rs"]
mod checks;
#[path = "../checks/gzip_streams.rs"]
mod gzip_streams;
#[path = "../checks/tree_walk.rs"]
mod tree_walk;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
