//! Signed index archives (`APKINDEX.tar.gz`) on arbitrary bytes.
//!
//! The checks live in `fuzz/checks/index_archive.rs`, shared with the test that replays
//! `fuzz/artifacts/index_archive/`.

#![no_main]

#[path = "../checks/index_archive.rs"]
mod checks;
#[path = "../checks/gzip_streams.rs"]
mod gzip_streams;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
