//! The installed database (`lib/apk/db/installed`) on arbitrary bytes.
//!
//! Oracles: `InstalledDb::from_bytes` never panics, with or without unknown fields allowed;
//! a database that reads writes text that reads back to the same database, and writing that
//! again gives the same bytes (write → read → write is stable).
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/installed_db.rs` and by
//! `apk-db/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/installed_db/`; depends only
//! on the library crates, never on libFuzzer.

use std::hint::black_box;

use apk_index::{InstalledDb, InstalledDbOptions};

/// Check every oracle on `data`.
pub fn run(data: &[u8]) {
    for allow_unknown_fields in [false, true] {
        check(data, allow_unknown_fields);
    }
}

fn write(db: &InstalledDb) -> Vec<u8> {
    let mut out = Vec::new();
    db.write_to(&mut out).expect("writing to a Vec");
    out
}

fn check(data: &[u8], allow_unknown_fields: bool) {
    let options = InstalledDbOptions {
        allow_unknown_fields,
    };
    let db = match InstalledDb::from_bytes(data, &options) {
        Ok(db) => db,
        Err(e) => {
            black_box((e.line(), e.kind(), e.to_string()));
            return;
        }
    };
    let first = write(&db);
    let again = InstalledDb::from_bytes(&first, &options).unwrap_or_else(|e| {
        panic!(
            "written installed db does not re-read: {e}\n{}",
            String::from_utf8_lossy(&first)
        )
    });
    assert_eq!(again, db, "written installed db reads back differently");
    let second = write(&again);
    assert!(
        first == second,
        "write → read → write is not stable:\n{}\n---\n{}",
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second),
    );
}
