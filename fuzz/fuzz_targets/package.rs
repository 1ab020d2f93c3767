//! `.apk` packages on arbitrary bytes, through `apk_pkg::PackageReader`.
//!
//! The checks live in `fuzz/checks/package.rs`, shared with the test that replays
//! `fuzz/artifacts/package/`.

#![no_main]

#[path = "../checks/package.rs"]
mod checks;
#[path = "../checks/gzip_streams.rs"]
mod gzip_streams;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
