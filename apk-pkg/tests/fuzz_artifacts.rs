//! Replays the minimized crash inputs committed under `fuzz/artifacts/package/`,
//! `fuzz/artifacts/extract/` and `fuzz/artifacts/extract_adb/` through the checks of the
//! matching fuzz targets, so a fixed crash stays fixed without a fuzzer. (The other targets are replayed by the tests of the crates
//! they feed, such as `apk-index/tests/fuzz_artifacts.rs`.)
//!
//! The checks are not copied: they live in `fuzz/checks/{package,extract,extract_adb}.rs`,
//! included here and by `fuzz/fuzz_targets/{package,extract,extract_adb}.rs` alike. A missing artifact directory means there
//! is nothing to replay.

#[path = "../../fuzz/checks/extract.rs"]
mod extract;
#[path = "../../fuzz/checks/extract_adb.rs"]
mod extract_adb;
#[path = "../../fuzz/checks/gzip_streams.rs"]
mod gzip_streams;
#[path = "../../fuzz/checks/package.rs"]
mod package;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[path = "../../fuzz/checks/tree_walk.rs"]
mod tree_walk;

#[test]
fn fuzz_artifacts_do_not_panic() {
    replay::replay(
        env!("CARGO_MANIFEST_DIR"),
        &[
            ("package", package::run),
            ("extract", extract::run),
            ("extract_adb", extract_adb::run),
        ],
    );
}
