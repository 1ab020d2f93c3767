//! Repository lists (`etc/apk/repositories`, `-X` arguments) on arbitrary bytes.
//!
//! Oracles: `RepositoryList::parse` and `push_url` never panic; an accepted list keeps within
//! the 32-repository and 16-tag limits, every repository's URL has an accepted scheme, its
//! index, package and cache names can be computed, and printing the list gives text that
//! parses back to the same repositories and prints the same again.
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/repositories.rs` and by
//! `apk-db/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/repositories/`; depends only
//! on the library crates, never on libFuzzer.

use std::hint::black_box;

use apk_db::repositories::{MAX_REPOSITORIES, MAX_TAGS, RepositoryList};

/// Check every oracle on `data`.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for arch in ["x86_64", "aarch64"] {
        match RepositoryList::parse(&text, arch) {
            Ok(list) => check_list(&list, arch),
            Err(e) => {
                black_box(e.to_string());
            }
        }
    }
    // Every line as a `-X` argument.
    let mut list = RepositoryList::new("armv7");
    for line in text.split('\n') {
        if let Err(e) = list.push_url(line) {
            black_box(e.to_string());
        }
    }
    check_list(&list, "armv7");
}

fn check_list(list: &RepositoryList, arch: &str) {
    assert!(
        list.len() <= MAX_REPOSITORIES,
        "{} repositories",
        list.len()
    );
    assert!(list.tags().len() < MAX_TAGS, "{} tags", list.tags().len());
    for repo in list.repositories() {
        let url = &repo.url;
        assert!(
            url.starts_with("http://")
                || url.starts_with("https://")
                || url.starts_with("file:/")
                || url.starts_with('/'),
            "accepted URL {url:?}"
        );
        assert!(!url.contains("${"), "unexpanded variable in {url:?}");
        black_box((
            repo.index_url(arch),
            repo.package_url(arch, "name", "1.0-r0"),
            repo.cache_index_name(),
            repo.is_direct_index(),
        ));
    }
    let printed = list.to_string();
    let again = RepositoryList::parse(&printed, arch)
        .unwrap_or_else(|e| panic!("printed list does not re-parse: {e}\n{printed}"));
    assert_eq!(
        again.repositories(),
        list.repositories(),
        "printed list parses back differently:\n{printed}"
    );
    assert_eq!(again.to_string(), printed, "printing is not stable");
}
