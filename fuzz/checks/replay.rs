//! Replaying the committed fuzz artifacts (`fuzz/artifacts/<target>/`) through their checks,
//! so a fixed crash stays fixed without a fuzzer. Shared, via `#[path]`, by the
//! `tests/fuzz_artifacts.rs` of the crates the targets feed: each replays its own targets.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Every fuzz target, and the crate whose tests replay its artifacts.
#[allow(dead_code)]
pub const TARGETS: [(&str, &str); 11] = [
    ("adb", "apk-index"),
    ("dependency", "apk-index"),
    ("index_archive", "apk-index"),
    ("record", "apk-index"),
    ("version", "apk-index"),
    ("extract", "apk-pkg"),
    ("extract_adb", "apk-pkg"),
    ("package", "apk-pkg"),
    ("solver", "apk-solver"),
    ("installed_db", "apk-db"),
    ("repositories", "apk-db"),
];

/// A fuzz target's name and the check its artifacts go through.
pub type Replay<'a> = (&'a str, fn(&[u8]));

/// `fuzz/artifacts`, seen from the crate at `crate_dir` (its `CARGO_MANIFEST_DIR`).
fn artifacts(crate_dir: &str) -> PathBuf {
    Path::new(crate_dir).join("../fuzz/artifacts")
}

/// Runs every artifact of each `(target, check)` (hidden files aside, in name order) through
/// its check, and panics listing those that fail. A missing directory has nothing to replay.
pub fn replay(crate_dir: &str, targets: &[Replay<'_>]) {
    let mut failures = Vec::new();
    for &(target, check) in targets {
        let Ok(files) = std::fs::read_dir(artifacts(crate_dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = files
            .map(|f| f.expect("reading an artifact directory").path())
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).expect("reading an artifact");
            if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz artifacts that still fail:\n  {}",
        failures.join("\n  ")
    );
}

/// Panics if `fuzz/artifacts` holds a directory for a target no crate replays.
#[allow(dead_code)]
pub fn assert_every_target_is_replayed(crate_dir: &str) {
    let Ok(dirs) = std::fs::read_dir(artifacts(crate_dir)) else {
        return;
    };
    for dir in dirs {
        let dir = dir.expect("reading fuzz/artifacts");
        let name = dir.file_name().to_string_lossy().into_owned();
        if dir.path().is_dir() && !TARGETS.iter().any(|(t, _)| *t == name) {
            panic!("fuzz/artifacts/{name}: no replay for this fuzz target; add it to TARGETS");
        }
    }
}
