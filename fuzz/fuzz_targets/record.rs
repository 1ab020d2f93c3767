//! Package-record text on arbitrary bytes: APKINDEX text, the installed database and
//! `.PKGINFO`.
//!
//! The checks live in `fuzz/checks/record.rs`, shared with the test that replays
//! `fuzz/artifacts/record/`.

#![no_main]

#[path = "../checks/record.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
