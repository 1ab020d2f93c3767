//! The installed database (`lib/apk/db/installed`) on arbitrary bytes.
//!
//! The checks live in `fuzz/checks/installed_db.rs`, shared with the test that replays
//! `fuzz/artifacts/installed_db/`.

#![no_main]

#[path = "../checks/installed_db.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::run(data));
