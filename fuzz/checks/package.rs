//! `.apk` packages on arbitrary bytes, through `apk_pkg::PackageReader`.
//!
//! The input goes to `PackageReader::new` as it is and, when it does not start with the gzip
//! magic, also as uncompressed tar streams separated by `%%GZ%%`, each gzip-compressed into one
//! member (as in `index_archive`): mutating gzip data mostly breaks its checksum, this way the
//! fuzzer reaches the tar, PAX, `.PKGINFO` and signature code. A package that opens has its
//! metadata read, is verified against an empty key set (which can never succeed), has every
//! data entry read to the end under small limits, and is finished. Oracles: the identity known
//! up front is the one `finish` reports, a reader that failed stays failed, file contents are
//! as long as their headers say, and paths are relative with no `.`/`..` components.
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/package.rs` and by
//! `apk-pkg/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/package/`; depends only on the
//! library crates, `flate2` and `tempfile`, never on libFuzzer. The includer also declares
//! `mod gzip_streams` (`gzip_streams.rs`) at its crate root.

use std::hint::black_box;
use std::io::Read as _;
use std::path::Component;

use apk_index::KeySet;
use apk_pkg::{EntryKind, PackageReader, ReadLimits, ReadPackageError, VerifyPackageError};

use crate::gzip_streams;

/// Check `data` as it is and as `%%GZ%%`-separated tar streams.
pub fn run(data: &[u8]) {
    gzip_streams::check_both(data, check);
}

/// Limits that keep one input cheap.
fn limits() -> ReadLimits {
    let mut limits = ReadLimits::default();
    limits.max_data_size = 16 << 20;
    limits.max_entries = 10_000;
    limits.max_ratio = 1000;
    limits
}

fn check(data: &[u8]) {
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
