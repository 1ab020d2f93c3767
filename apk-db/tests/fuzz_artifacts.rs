//! Replays the minimized crash inputs committed under `fuzz/artifacts/installed_db/` and
//! `fuzz/artifacts/repositories/` through the checks of the matching fuzz targets, so a fixed
//! crash stays fixed without a fuzzer. (The other targets are replayed by the tests of the
//! crates they feed, such as `apk-index/tests/fuzz_artifacts.rs`.)
//!
//! The checks are not copied: they live in `fuzz/checks/{installed_db,repositories}.rs`,
//! included here and by `fuzz/fuzz_targets/{installed_db,repositories}.rs` alike. A missing
//! artifact directory means there is nothing to replay.

#[path = "../../fuzz/checks/installed_db.rs"]
mod installed_db;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[path = "../../fuzz/checks/repositories.rs"]
mod repositories;

#[test]
fn fuzz_artifacts_do_not_panic() {
    replay::replay(
        env!("CARGO_MANIFEST_DIR"),
        &[
            ("installed_db", installed_db::run),
            ("repositories", repositories::run),
        ],
    );
}

/// The checks themselves pass on well-formed inputs (so an artifact-free run still exercises
/// them): a real-looking installed database and a repositories file using every line form.
#[test]
fn checks_accept_good_inputs() {
    installed_db::run(
        b"C:Q1FF4YFta38d5wuxH9v4onw2JUKW0=\nP:musl\nV:1.2.3-r4\nA:x86_64\nS:1\nI:2\nT:libc\nU:\nL:MIT\nF:lib\nR:libc.so\na:0:0:755\nZ:Q1FF4YFta38d5wuxH9v4onw2JUKW0=\n\n",
    );
    repositories::run(
        b"# c\nhttps://a/main\n@edge http://b/edge\nset m=/srv\nv3 @t ${m} x y\nndx file:///r/p.adb\nv2 /c/APKINDEX.tar.gz\n",
    );
}
