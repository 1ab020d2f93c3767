//! `.apk` packages on arbitrary bytes, extracted by `apk_pkg::Extractor`.
//!
//! Inputs are read as in `package` (as they are, and as `%%GZ%%`-separated tar streams gzipped
//! on the fly). A package that opens is extracted, with small limits and no devices, into a
//! fresh temporary directory that sits in another fresh temporary directory next to a sentinel
//! file. Oracles, from what `Extractor` documents:
//!
//! * nothing outside the destination changes: the sentinel keeps its contents and the parent
//!   holds only the sentinel and the destination, still a real directory;
//! * a failed extraction leaves no temporary file (`.apk.<48 hex>`) behind, and nothing at
//!   all (not the directories it created) unless it failed on a filesystem call (which may
//!   happen while the checked files are being renamed into place);
//! * a successful one put every entry the reader yields at its path: files and hard links with
//!   their contents, symlinks with their targets, directories as directories, and nothing else
//!   that is not a directory.
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/extract.rs` and by
//! `apk-pkg/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/extract/`; depends only on the
//! library crates, `flate2` and `tempfile`, never on libFuzzer. The includer also declares
//! `mod gzip_streams` (`gzip_streams.rs`) and `mod tree_walk` (`tree_walk.rs`) at its crate root.

use std::collections::BTreeMap;
use std::fs;
use std::hint::black_box;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use apk_pkg::{EntryKind, ExtractError, Extractor, PackageReader, ReadLimits};

use crate::gzip_streams;
use crate::tree_walk::{Kind, is_temp_name, walk};

/// The sentinel next to the destination, and what it holds.
const SENTINEL: &str = "sentinel";
const SENTINEL_TEXT: &[u8] = b"outside the destination\n";

const MAX_DATA: u64 = 16 << 20;
const MAX_ENTRIES: u64 = 10_000;
const MAX_RATIO: u64 = 1000;

/// Check `data` as it is and as `%%GZ%%`-separated tar streams.
pub fn run(data: &[u8]) {
    gzip_streams::check_both(data, check);
}

fn check(data: &[u8]) {
    let mut reader = match PackageReader::new(data) {
        Ok(reader) => reader,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    let outer = tempfile::tempdir().expect("creating a temporary directory");
    let sentinel = outer.path().join(SENTINEL);
    fs::write(&sentinel, SENTINEL_TEXT).expect("writing the sentinel");
    let dest = tempfile::tempdir_in(outer.path()).expect("creating a temporary directory");

    let mut extractor = Extractor::new();
    extractor
        .allow_devices(false)
        .max_total_size(MAX_DATA)
        .max_entries(MAX_ENTRIES)
        .max_ratio(MAX_RATIO);
    let result = extractor.extract(&mut reader, dest.path());
    black_box(format!("{result:?}"));

    // Nothing outside the destination.
    let meta = fs::symlink_metadata(&sentinel).expect("the sentinel is still there");
    assert!(meta.is_file(), "the sentinel was replaced");
    assert_eq!(
        fs::read(&sentinel).expect("reading the sentinel"),
        SENTINEL_TEXT
    );
    let meta = fs::symlink_metadata(dest.path()).expect("the destination is still there");
    assert!(meta.is_dir(), "the destination was replaced");
    let mut names: Vec<_> = fs::read_dir(outer.path())
        .expect("listing the parent")
        .map(|e| e.expect("listing the parent").file_name())
        .collect();
    names.sort();
    let mut expected = vec![
        SENTINEL.into(),
        dest.path().file_name().expect("a name").to_owned(),
    ];
    expected.sort();
    assert_eq!(
        names, expected,
        "something was written next to the destination"
    );

    let tree = walk(dest.path());
    match result {
        Ok(summary) => {
            black_box((summary.files, summary.bytes, summary.package.identity()));
            check_tree(data, &tree, dest.path());
        }
        Err(e) => {
            black_box(e.to_string());
            for path in tree.keys() {
                let name = path.file_name().expect("a name").to_string_lossy();
                assert!(!is_temp_name(&name), "temporary file {path:?} left behind");
                assert!(
                    matches!(e, ExtractError::Io { .. }),
                    "{path:?} left behind by a failed extraction ({e})"
                );
            }
        }
    }
}

/// After a successful extraction: every entry the reader yields is at its path, as it is in
/// the package, and nothing else but directories is there.
fn check_tree(data: &[u8], tree: &BTreeMap<PathBuf, Kind>, dest: &Path) {
    let mut reader = PackageReader::new(data).expect("the package read once");
    let mut limits = ReadLimits::default();
    limits.max_data_size = MAX_DATA;
    limits.max_entries = MAX_ENTRIES;
    limits.max_ratio = MAX_RATIO;
    reader.set_limits(limits);
    let mut contents: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    let mut others = 0;
    while let Some(mut entry) = reader.next_entry().expect("the package read once") {
        let path = entry.path().to_owned();
        let on_disk = tree.get(&path).copied();
        match entry.kind().clone() {
            EntryKind::Directory => {
                assert_eq!(on_disk, Some(Kind::Dir), "directory {path:?}");
                continue;
            }
            EntryKind::File => {
                let mut content = Vec::new();
                entry
                    .read_to_end(&mut content)
                    .expect("the package read once");
                assert_eq!(on_disk, Some(Kind::File), "file {path:?}");
                let written = fs::read(dest.join(&path)).expect("reading an extracted file");
                assert!(written == content, "{path:?}: contents differ");
                contents.insert(path, content);
            }
            EntryKind::HardLink { target } => {
                assert_eq!(on_disk, Some(Kind::File), "hard link {path:?}");
                let written = fs::read(dest.join(&path)).expect("reading an extracted file");
                let content = contents
                    .get(&target)
                    .expect("a hard link to an earlier file");
                assert!(
                    &written == content,
                    "{path:?}: contents differ from {target:?}"
                );
                contents.insert(path, written);
            }
            EntryKind::Symlink { target } => {
                assert_eq!(on_disk, Some(Kind::Symlink), "symlink {path:?}");
                let read = fs::read_link(dest.join(&path)).expect("reading an extracted symlink");
                assert_eq!(read, target, "{path:?}: symlink target");
            }
            kind => panic!("{path:?}: {kind:?} extracted without allow_devices"),
        }
        others += 1;
    }
    reader.finish().expect("the package read once");
    let non_dirs = tree.values().filter(|&&k| k != Kind::Dir).count();
    assert_eq!(non_dirs, others, "extra files in the destination: {tree:?}");
}
