//! Replays the minimized crash inputs committed under `fuzz/artifacts/<target>/` through the
//! checks of the matching fuzz target, so a fixed crash stays fixed without a fuzzer.
//!
//! The checks are not copied: each target's live in `fuzz/checks/<target>.rs`, included here
//! and by `fuzz/fuzz_targets/<target>.rs` alike. A missing `fuzz/artifacts` directory means
//! there is nothing to replay. The `package` and `extract` targets feed apk-pkg, which depends
//! on this crate: their artifacts are replayed by `apk-pkg/tests/fuzz_artifacts.rs` (and
//! `solver`'s by apk-solver's).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/checks/adb.rs"]
mod adb;
#[path = "../../fuzz/checks/dependency.rs"]
mod dependency;
#[path = "../../fuzz/checks/gzip_streams.rs"]
mod gzip_streams;
#[path = "../../fuzz/checks/index_archive.rs"]
mod index_archive;
#[path = "../../fuzz/checks/record.rs"]
mod record;
#[path = "../../fuzz/checks/version.rs"]
mod version;

/// Every artifact file, as (target name, path), in a stable order.
fn fuzz_artifact_paths() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/artifacts");
    let Ok(targets) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for target in targets {
        let target = target.expect("reading fuzz/artifacts");
        if !target.file_type().expect("file type").is_dir() {
            continue;
        }
        let name = target.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(target.path()).expect("reading an artifact directory") {
            let file = file.expect("reading an artifact directory");
            let hidden = file.file_name().to_string_lossy().starts_with('.');
            if !hidden && file.file_type().expect("file type").is_file() {
                paths.push((name.clone(), file.path()));
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
        let data = std::fs::read(&path).expect("reading an artifact");
        let replay: fn(&[u8]) = match target.as_str() {
            "version" => version::run,
            "dependency" => dependency::run,
            "record" => record::run,
            "index_archive" => index_archive::run,
            "adb" => adb::run,
            // Replayed by the tests of the crates they feed (apk-index cannot depend on them):
            // apk-pkg's, apk-solver's and apk-db's own `tests/fuzz_artifacts.rs`.
            "package" | "extract" | "extract_adb" | "solver" | "installed_db" | "repositories" => {
                continue;
            }
            other => panic!(
                "{}: no replay for fuzz target {other:?}; add it to this test",
                path.display()
            ),
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
