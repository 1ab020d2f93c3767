//! Replays the minimized crash inputs committed under `fuzz/artifacts/<target>/` through the
//! checks of the matching fuzz target, so a fixed crash stays fixed without a fuzzer.
//!
//! The checks are not copied: each target's live in `fuzz/checks/<target>.rs`, included here
//! and by `fuzz/fuzz_targets/<target>.rs` alike. A missing `fuzz/artifacts` directory means
//! there is nothing to replay. The `package` and `extract` targets feed apk-pkg, which depends
//! on this crate: their artifacts are replayed by `apk-pkg/tests/fuzz_artifacts.rs` (and
//! `solver`'s by apk-solver's).

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
#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[path = "../../fuzz/checks/version.rs"]
mod version;

#[test]
fn fuzz_artifacts_do_not_panic() {
    // Every artifact directory belongs to a target some crate replays (the others: apk-pkg's,
    // apk-solver's and apk-db's own `tests/fuzz_artifacts.rs`; apk-index cannot depend on
    // the crates they feed).
    replay::assert_every_target_is_replayed(env!("CARGO_MANIFEST_DIR"));
    replay::replay(
        env!("CARGO_MANIFEST_DIR"),
        &[
            ("version", version::run),
            ("dependency", dependency::run),
            ("record", record::run),
            ("index_archive", index_archive::run),
            ("adb", adb::run),
        ],
    );
}
