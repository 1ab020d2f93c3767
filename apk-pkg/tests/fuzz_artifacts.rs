//! Replays the minimized crash inputs committed under `fuzz/artifacts/package/` and
//! `fuzz/artifacts/extract/` through the entry points and oracles of the matching fuzz targets
//! (`fuzz/fuzz_targets/{package,extract}.rs`), so a fixed crash stays fixed without a fuzzer.
//! (The other targets feed apk-index and are replayed by `apk-index/tests/fuzz_artifacts.rs`.)
//!
//! The checks here mirror the fuzz targets; change both together. A missing artifact directory
//! means there is nothing to replay.

use std::collections::BTreeMap;
use std::fs;
use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Component, Path, PathBuf};

use apk_index::KeySet;
use apk_pkg::{
    EntryKind, ExtractError, Extractor, PackageReader, ReadLimits, ReadPackageError,
    VerifyPackageError,
};
use flate2::Compression;
use flate2::write::GzEncoder;

/// The fuzz targets replayed here.
const TARGETS: [&str; 2] = ["package", "extract"];

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
        let check: fn(&[u8]) = match target {
            "package" => package_check,
            _ => extract_check,
        };
        let replay = || {
            check(&data);
            if !data.starts_with(&[0x1f, 0x8b]) {
                check(&gzip_members(&data));
            }
        };
        if catch_unwind(AssertUnwindSafe(replay)).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz artifacts that still fail:\n  {}",
        failures.join("\n  ")
    );
}

/// Separates the uncompressed tar streams of a structured input.
const SEPARATOR: &[u8] = b"%%GZ%%";

/// Compress each `SEPARATOR`-delimited part of `data` into its own gzip member.
fn gzip_members(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut rest = data;
    loop {
        let (part, next) = match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(i) => (&rest[..i], Some(&rest[i + SEPARATOR.len()..])),
            None => (rest, None),
        };
        let mut encoder = GzEncoder::new(&mut out, Compression::fast());
        encoder.write_all(part).expect("writing to a Vec");
        encoder.finish().expect("writing to a Vec");
        match next {
            Some(next) => rest = next,
            None => return out,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fuzz/fuzz_targets/package.rs

/// Limits that keep one input cheap.
fn limits() -> ReadLimits {
    let mut limits = ReadLimits::default();
    limits.max_data_size = 16 << 20;
    limits.max_entries = 10_000;
    limits.max_ratio = 1000;
    limits
}

fn package_check(data: &[u8]) {
    let mut reader = match PackageReader::new(data) {
        Ok(reader) => reader,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    reader.set_limits(limits());
    assert_eq!(reader.limits(), limits());

    let info = reader.info();
    assert_eq!(info.identity, reader.identity());
    let mut record = Vec::new();
    black_box((info.write_index_record(&mut record).is_ok(), record));
    black_box(format!("{reader:?}"));
    for (kind, script) in reader.scripts() {
        black_box((kind.to_string(), script.len()));
    }
    for sig in reader.signatures() {
        black_box((sig.algorithm(), sig.key_name(), sig.signature()));
    }
    let identity = reader.identity();
    let signatures = reader.signatures().to_vec();

    match reader.verify(&KeySet::new()) {
        Ok(by) => panic!("verified by {:?} with no keys", by.key_name()),
        Err(VerifyPackageError::Unsigned) => assert!(signatures.is_empty()),
        Err(VerifyPackageError::NeedsData) => {
            assert!(!signatures.is_empty());
            assert!(identity.is_none(), "NeedsData but the identity is known");
        }
        Err(VerifyPackageError::UntrustedKey { names }) => {
            let expected: Vec<&str> = signatures.iter().map(|s| s.key_name()).collect();
            assert_eq!(names, expected);
        }
        Err(e) => panic!("unexpected error with no keys: {e:?}"),
    }

    let mut files = 0u64;
    let mut file_bytes = 0u64;
    let mut content = Vec::new();
    loop {
        let mut entry = match reader.next_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => {
                black_box(e.to_string());
                assert!(
                    matches!(reader.next_entry(), Err(ReadPackageError::Poisoned)),
                    "a failed reader must stay failed"
                );
                assert!(reader.finish().is_err(), "a failed reader finished");
                return;
            }
        };
        let path = entry.path().to_owned();
        assert!(
            path.components().all(|c| matches!(c, Component::Normal(_))),
            "unsafe entry path {path:?}"
        );
        assert!(!path.as_os_str().is_empty(), "empty entry path");
        black_box((
            entry.mode(),
            entry.uid(),
            entry.gid(),
            entry.mtime(),
            entry.xattrs().len(),
            entry.checksum(),
            format!("{entry:?}"),
        ));
        let kind = entry.kind().clone();
        let size = entry.size();
        if kind != EntryKind::File {
            assert_eq!(size, 0, "{kind:?} with a size");
        }
        content.clear();
        match entry.read_to_end(&mut content) {
            Ok(n) => {
                assert_eq!(n as u64, size, "{path:?}: read {n} of {size} bytes");
                if kind == EntryKind::File {
                    files += 1;
                    file_bytes += size;
                }
            }
            Err(e) => {
                black_box(e.to_string());
                assert!(
                    matches!(reader.next_entry(), Err(ReadPackageError::Poisoned)),
                    "{path:?} failed to read, yet the reader goes on"
                );
                assert!(
                    reader.finish().is_err(),
                    "{path:?} failed to read, yet finished"
                );
                return;
            }
        }
    }

    match reader.finish() {
        Ok(summary) => {
            if let Some(identity) = identity {
                assert_eq!(summary.identity(), identity, "identity changed");
            }
            assert_eq!(summary.signatures(), &signatures[..]);
            assert_eq!(summary.file_count(), files);
            assert_eq!(summary.installed_bytes(), file_bytes);
            assert!(summary.data_size() <= limits().max_data_size);
            assert!(summary.entry_count() <= limits().max_entries);
            match summary.verify(&KeySet::new()) {
                Ok(by) => panic!("summary verified by {:?} with no keys", by.key_name()),
                Err(VerifyPackageError::Unsigned) => assert!(signatures.is_empty()),
                Err(VerifyPackageError::UntrustedKey { .. }) => assert!(!signatures.is_empty()),
                Err(e) => panic!("unexpected summary error with no keys: {e:?}"),
            }
            black_box((
                summary.has_datahash(),
                summary.file_size(),
                summary.control_size(),
                summary.data_compressed_size(),
                format!("{summary:?}"),
            ));
        }
        Err(e) => {
            black_box(e.to_string());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fuzz/fuzz_targets/extract.rs

/// The sentinel next to the destination, and what it holds.
const SENTINEL: &str = "sentinel";
const SENTINEL_TEXT: &[u8] = b"outside the destination\n";

const MAX_DATA: u64 = 16 << 20;
const MAX_ENTRIES: u64 = 10_000;
const MAX_RATIO: u64 = 1000;

fn extract_check(data: &[u8]) {
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
            for (path, kind) in &tree {
                let name = path.file_name().expect("a name").to_string_lossy();
                assert!(!is_temp_name(&name), "temporary file {path:?} left behind");
                if !matches!(e, ExtractError::Io { .. }) {
                    assert_eq!(
                        *kind,
                        Kind::Dir,
                        "{path:?} left behind by a failed extraction"
                    );
                }
            }
        }
    }
}

/// What the walk found at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Symlink,
    Other,
}

/// Everything below `root`, never following symlinks. Directories and files are made readable
/// first (their modes come from the package, 0 included).
fn walk(root: &Path) -> BTreeMap<PathBuf, Kind> {
    let mut found = BTreeMap::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let dir = root.join(&rel);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod a directory");
        for entry in fs::read_dir(&dir).expect("listing a directory") {
            let entry = entry.expect("listing a directory");
            let path = rel.join(entry.file_name());
            let ft = entry.file_type().expect("file type");
            let kind = if ft.is_dir() {
                todo.push(path.clone());
                Kind::Dir
            } else if ft.is_file() {
                let file = root.join(&path);
                fs::set_permissions(&file, fs::Permissions::from_mode(0o600))
                    .expect("chmod a file");
                Kind::File
            } else if ft.is_symlink() {
                Kind::Symlink
            } else {
                Kind::Other
            };
            found.insert(path, kind);
        }
    }
    found
}

/// `.apk.` and 48 lowercase hex digits: the extractor's temporary names.
fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(".apk.").is_some_and(|hex| {
        hex.len() == 48
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
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
