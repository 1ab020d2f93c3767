//! Replays the minimized crash inputs committed under `fuzz/artifacts/package/`,
//! `fuzz/artifacts/extract/` and `fuzz/artifacts/extract_adb/` through the checks of the
//! matching fuzz targets, so a fixed crash stays fixed without a fuzzer. (The other targets are replayed by the tests of the crates
//! they feed, such as `apk-index/tests/fuzz_artifacts.rs`.)
//!
//! The checks are not copied: they live in `fuzz/checks/{package,extract,extract_adb}.rs`,
//! included here and by `fuzz/fuzz_targets/{package,extract,extract_adb}.rs` alike. A missing artifact directory means there
//! is nothing to replay.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/checks/extract.rs"]
mod extract;
#[path = "../../fuzz/checks/extract_adb.rs"]
mod extract_adb;
#[path = "../../fuzz/checks/gzip_streams.rs"]
mod gzip_streams;
#[path = "../../fuzz/checks/package.rs"]
mod package;
#[path = "../../fuzz/checks/tree_walk.rs"]
mod tree_walk;

/// The fuzz targets replayed here.
const TARGETS: [&str; 3] = ["package", "extract", "extract_adb"];

/// Every artifact file of `TARGETS`, as (target name, path), in a stable order.
fn fuzz_artifact_paths() -> Vec<(&'static str, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/artifacts");
    let mut paths = Vec::new();
    for target in TARGETS {
        let Ok(files) = fs::read_dir(root.join(target)) else {
            continue;
        };
        for file in files {
            let file = file.expect("reading an artifact directory");
            let hidden = file.file_name().to_string_lossy().starts_with('.');
            if !hidden && file.file_type().expect("file type").is_file() {
                paths.push((target, file.path()));
            }
        }
    }
    paths.sort();
    paths
}

#[test]
fn fuzz_artifacts_do_not_panic() {
    let mut failures = Vec::new();
    for (target, path) in fuzz_artifact_paths() {
        let data = fs::read(&path).expect("reading an artifact");
        let replay: fn(&[u8]) = match target {
            "package" => package::run,
            "extract_adb" => extract_adb::run,
            _ => extract::run,
        };
        if catch_unwind(AssertUnwindSafe(|| replay(&data))).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz artifacts that still fail:\n  {}",
        failures.join("\n  ")
    );
}
