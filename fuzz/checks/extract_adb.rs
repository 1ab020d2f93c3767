//! apk v3 (ADB) packages on arbitrary bytes, extracted by `apk_pkg::Extractor::extract_adb`
//! and staged by `Extractor::stage_adb`.
//!
//! The input is read as a package file as it is (any wrapper), and, so that the fuzzer reaches
//! the blocks and values without having to find the magic first, as the body of an
//! uncompressed package (`ADB.pckg` + input). Each is extracted, with small limits and no
//! devices, into a fresh temporary directory that sits in another fresh temporary directory
//! next to a sentinel file. Oracles, from what `Extractor` documents:
//!
//! * nothing outside the destination changes: the sentinel keeps its contents and the parent
//!   holds only the sentinel and the destination, still a real directory;
//! * a failed extraction leaves nothing behind (no temporary file `.apk.<48 hex>`, no
//!   directory it created) unless it failed on a filesystem call, and even then no temporary
//!   file;
//! * a successful one put every file entry of the package at its path: regular files with
//!   the contents their SHA-256 names, symlinks with their targets, hard links to the same
//!   contents as their source, directories as directories, and nothing else that is not a
//!   directory;
//! * a package that opens as an `AdbPackage` and stages, then is aborted, leaves nothing;
//!   staging lists one entry per package entry (the nameless root excepted);
//! * such a package also opens as it streams (`AdbPackageReader`, through a small buffer),
//!   with the same metadata, and stages through `stage_adb_reader` to the same entries.
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/extract_adb.rs` and by
//! `apk-pkg/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/extract_adb/`; depends
//! only on the library crates and `tempfile`, never on libFuzzer.
//!
//! The includer declares `mod tree_walk` (`tree_walk.rs`) at its crate root.

use std::collections::BTreeMap;
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use crate::tree_walk::{Kind, is_temp_name, walk};

use apk_index::adb::{self, AdbFile, FileTarget, Package, ReadOptions};
use apk_pkg::{AdbPackage, AdbPackageReader, ExtractError, Extractor};
use sha2::{Digest, Sha256};

/// The sentinel next to the destination, and what it holds.
const SENTINEL: &str = "sentinel";
const SENTINEL_TEXT: &[u8] = b"outside the destination\n";

const MAX_DATA: u64 = 16 << 20;
const MAX_ENTRIES: u64 = 10_000;

/// Check `data` as a package file and as the body of an uncompressed package.
pub fn run(data: &[u8]) {
    check(data);
    let mut stream = b"ADB.pckg".to_vec();
    stream.extend_from_slice(data);
    check(&stream);
}

fn extractor() -> Extractor {
    let mut extractor = Extractor::new();
    extractor
        .allow_devices(false)
        .max_total_size(MAX_DATA)
        .max_entries(MAX_ENTRIES);
    extractor
}

/// A fresh destination inside a fresh directory, next to the sentinel.
struct Sandbox {
    outer: tempfile::TempDir,
    dest: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let outer = tempfile::tempdir().expect("creating a temporary directory");
        fs::write(outer.path().join(SENTINEL), SENTINEL_TEXT).expect("writing the sentinel");
        let dest = tempfile::tempdir_in(outer.path()).expect("creating a temporary directory");
        Sandbox { outer, dest }
    }

    /// Nothing outside the destination changed.
    fn check_outside(&self) {
        let sentinel = self.outer.path().join(SENTINEL);
        let meta = fs::symlink_metadata(&sentinel).expect("the sentinel is still there");
        assert!(meta.is_file(), "the sentinel was replaced");
        assert_eq!(
            fs::read(&sentinel).expect("reading the sentinel"),
            SENTINEL_TEXT
        );
        let meta = fs::symlink_metadata(self.dest.path()).expect("the destination is there");
        assert!(meta.is_dir(), "the destination was replaced");
        let mut names: Vec<_> = fs::read_dir(self.outer.path())
            .expect("listing the parent")
            .map(|e| e.expect("listing the parent").file_name())
            .collect();
        names.sort();
        let mut expected = vec![
            SENTINEL.into(),
            self.dest.path().file_name().expect("a name").to_owned(),
        ];
        expected.sort();
        assert_eq!(
            names, expected,
            "something was written next to the destination"
        );
    }
}

fn check(data: &[u8]) {
    let sandbox = Sandbox::new();
    let result = extractor().extract_adb(data, sandbox.dest.path());
    black_box(format!("{result:?}"));
    sandbox.check_outside();
    let tree = walk(sandbox.dest.path());
    match result {
        Ok(summary) => {
            black_box((summary.files, summary.bytes, summary.identity));
            check_tree(data, &tree, sandbox.dest.path());
        }
        Err(e) => nothing_left(&tree, &e),
    }
    check_staging(data);
}

/// A failed extraction left no temporary file, and nothing at all unless a filesystem call
/// failed.
fn nothing_left(tree: &BTreeMap<PathBuf, Kind>, e: &ExtractError) {
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

/// Open, stage and abort: only directories stay.
fn check_staging(data: &[u8]) {
    let options = ReadOptions {
        max_size: MAX_DATA + (1 << 20),
    };
    let package = match AdbPackage::with_options(data.to_vec(), &options) {
        Ok(package) => package,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    black_box((package.info(), package.scripts(), package.identity()));
    assert!(package.verify(&apk_index::KeySet::new()).is_err());
    let sandbox = Sandbox::new();
    let staged = extractor().stage_adb(&package, sandbox.dest.path());
    sandbox.check_outside();
    match staged {
        Ok(staged) => {
            assert_eq!(staged.identity(), package.identity());
            let stream = adb::decompress(data, &options).expect("decompressed once");
            let file = AdbFile::parse(&stream).expect("parsed once");
            let parsed = Package::from_file(&file).expect("parsed once");
            let expected: usize = parsed
                .paths
                .iter()
                .map(|d| usize::from(!d.path().is_empty()) + d.files.len())
                .sum();
            assert_eq!(staged.entries().len(), expected, "staged entries");
            for e in staged.entries() {
                black_box((&e.path, e.checksum));
            }
            let entries = comparable(staged.entries());
            staged.abort();
            let tree = walk(sandbox.dest.path());
            assert!(
                tree.is_empty(),
                "{tree:?} left behind by an aborted staging"
            );
            check_streamed_staging(data, &package, &entries);
        }
        Err(e) => {
            let tree = walk(sandbox.dest.path());
            nothing_left(&tree, &e);
        }
    }
    sandbox.check_outside();
}

/// Staged entries as text, directories without their time (v3 directories get the time of
/// staging): what two stagings of the same package must agree on.
pub fn comparable(entries: &[apk_pkg::StagedEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if e.kind == apk_pkg::StagedKind::Directory {
                e.mtime = 0;
            }
            format!("{e:?}")
        })
        .collect()
}

/// The package read as it streams: same metadata, same staged entries as in memory.
fn check_streamed_staging(data: &[u8], package: &AdbPackage, entries: &[String]) {
    let source = std::io::BufReader::with_capacity(5, data);
    let mut reader = AdbPackageReader::new(source).expect("opens as it streams");
    let streamed = reader.package();
    assert_eq!(streamed.info().name, package.info().name);
    assert_eq!(streamed.info().depends, package.info().depends);
    assert_eq!(streamed.scripts(), package.scripts());
    assert_eq!(streamed.identity(), package.identity());
    let sandbox = Sandbox::new();
    let staged = extractor()
        .stage_adb_reader(&mut reader, sandbox.dest.path())
        .expect("stages as it streams");
    assert_eq!(comparable(staged.entries()), entries, "staged entries");
    staged.abort();
    assert!(walk(sandbox.dest.path()).is_empty());
    sandbox.check_outside();
}

/// After a successful extraction: every entry of the package is at its path, as the package
/// describes it, and nothing else but directories is there.
fn check_tree(data: &[u8], tree: &BTreeMap<PathBuf, Kind>, dest: &Path) {
    let options = ReadOptions {
        max_size: MAX_DATA + (1 << 28),
    };
    let stream = adb::decompress(data, &options).expect("decompressed once");
    let file = AdbFile::parse(&stream).expect("parsed once");
    let package = Package::from_file(&file).expect("parsed once");
    let mut non_dirs = 0;
    for dir in &package.paths {
        let dir_path = PathBuf::from(dir.path());
        if !dir.path().is_empty() {
            assert_eq!(
                tree.get(&dir_path),
                Some(&Kind::Dir),
                "directory {dir_path:?}"
            );
        }
        for f in &dir.files {
            let path = dir_path.join(f.name);
            let on_disk = tree.get(&path).copied();
            non_dirs += 1;
            match f.file_target() {
                None => {
                    assert_eq!(on_disk, Some(Kind::File), "file {path:?}");
                    let written = fs::read(dest.join(&path)).expect("reading a file");
                    assert_eq!(written.len() as u64, f.size, "{path:?}: size");
                    // Only contents that come in a DATA block are checked against the hash.
                    if let Some(hash) = f.hash.filter(|h| h.len() == 32 && f.needs_data()) {
                        assert_eq!(Sha256::digest(&written)[..], hash[..], "{path:?}: contents");
                    }
                }
                Some(FileTarget::Symlink(target)) => {
                    assert_eq!(on_disk, Some(Kind::Symlink), "symlink {path:?}");
                    let read = fs::read_link(dest.join(&path)).expect("reading a symlink");
                    use std::os::unix::ffi::OsStrExt as _;
                    assert_eq!(read.as_os_str().as_bytes(), target, "{path:?}: target");
                }
                Some(FileTarget::HardLink(target)) => {
                    assert_eq!(on_disk, Some(Kind::File), "hard link {path:?}");
                    use std::os::unix::ffi::OsStrExt as _;
                    let source = dest.join(std::ffi::OsStr::from_bytes(target));
                    assert_eq!(
                        fs::read(dest.join(&path)).expect("reading a hard link"),
                        fs::read(source).expect("reading a hard link's source"),
                        "{path:?}: contents differ from its source"
                    );
                }
                Some(other) => panic!("{path:?}: {other:?} extracted without allow_devices"),
            }
        }
    }
    let found = tree.values().filter(|&&k| k != Kind::Dir).count();
    assert_eq!(found, non_dirs, "extra files in the destination: {tree:?}");
}
