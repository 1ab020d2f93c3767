//! Hostile packages built by hand: each must fail with its own error and write nothing outside
//! the destination (a sentinel directory beside it stays untouched) and leave no temporary
//! `.apk.*` files behind.

use std::io::Read;
use std::path::{Path, PathBuf};

use apk_index::keys::SignatureAlgorithm;
use apk_pkg::{
    ExtractError, ExtractSummary, Extractor, LimitKind, PackageReader, PackageSummary,
    ReadPackageError, StreamKind, VerifyPackageError,
};

use crate::util::{Tar, TestPkg, gzip, identity_of, stranger, tree, trusted, trusted_keys};

/// A destination and a sentinel directory beside it.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join("dest")).expect("mkdir dest");
        std::fs::create_dir(tmp.path().join("outside")).expect("mkdir outside");
        std::fs::write(tmp.path().join("outside/sentinel"), b"keep me").expect("sentinel");
        Fixture { tmp }
    }

    pub fn dest(&self) -> PathBuf {
        self.tmp.path().join("dest")
    }

    pub fn outside(&self) -> PathBuf {
        self.tmp.path().join("outside")
    }

    /// Extracts `bytes` into `dest` with the extractor as configured by `configure`.
    pub fn extract(
        &self,
        bytes: &[u8],
        configure: impl FnOnce(&mut Extractor),
    ) -> Result<ExtractSummary, ExtractError> {
        let mut reader = PackageReader::new(bytes)?;
        let mut extractor = Extractor::new();
        configure(&mut extractor);
        extractor.extract(&mut reader, &self.dest())
    }

    /// The sentinel is untouched and no temporary file is left anywhere.
    #[track_caller]
    pub fn assert_contained(&self) {
        assert_eq!(tree(&self.outside()), vec!["F sentinel".to_owned()]);
        assert_eq!(
            std::fs::read(self.outside().join("sentinel")).expect("sentinel"),
            b"keep me"
        );
        let all = tree(self.tmp.path());
        assert!(
            all.iter().all(|p| !p.contains(".apk.")),
            "temporary files left: {all:#?}"
        );
    }

    /// The regular files and symlinks under dest (directories may stay after an error).
    pub fn files(&self) -> Vec<String> {
        tree(&self.dest())
            .into_iter()
            .filter(|p| !p.starts_with("D "))
            .collect()
    }
}

/// Reads a whole package from bytes (all contents), as a verifier would.
pub fn read_whole(bytes: &[u8]) -> Result<PackageSummary, ReadPackageError> {
    let mut reader = PackageReader::new(bytes)?;
    while let Some(mut entry) = reader.next_entry()? {
        let mut sink = Vec::new();
        entry.read_to_end(&mut sink).map_err(|e| {
            match e
                .into_inner()
                .map(|inner| inner.downcast::<ReadPackageError>())
            {
                Some(Ok(err)) => *err,
                other => panic!("unexpected read error {other:?}"),
            }
        })?;
    }
    reader.finish()
}

fn data(build: impl FnOnce(&mut Tar)) -> Tar {
    let mut tar = Tar::new();
    build(&mut tar);
    tar.end();
    tar
}

fn pkg_with(build: impl FnOnce(&mut Tar)) -> Vec<u8> {
    TestPkg::new().with_data(data(build)).build()
}

#[track_caller]
fn assert_malicious(result: Result<ExtractSummary, ExtractError>, expected_path: &str) {
    match result {
        Err(ExtractError::Read(ReadPackageError::MaliciousPath { path, .. })) => {
            assert_eq!(path, expected_path)
        }
        other => panic!("expected a malicious path error, got {other:?}"),
    }
}

#[test]
fn path_traversal_is_refused() {
    for name in ["../x", "a/../../x", "usr/../../outside/sentinel"] {
        let f = Fixture::new();
        let result = f.extract(
            &pkg_with(|t| {
                t.file(name, b"pwned");
            }),
            |_| {},
        );
        assert_malicious(result, name);
        f.assert_contained();
    }
}

#[test]
fn absolute_paths_control_characters_and_dot_segments_are_refused() {
    for name in ["/tmp/x", "a\nb", "a\u{1b}b", "./a", "a//b"] {
        let f = Fixture::new();
        let result = f.extract(
            &pkg_with(|t| {
                t.file(name, b"pwned");
            }),
            |_| {},
        );
        assert_malicious(result, name);
        f.assert_contained();
    }
}

#[test]
fn long_pax_path_traversal_is_refused() {
    // The PAX path overrides the harmless header name.
    let f = Fixture::new();
    let bytes = pkg_with(|t| {
        t.pax(&[("path", b"../../escape")]);
        t.header(b"harmless", b'0', 0o644, 0, b"");
    });
    assert_malicious(f.extract(&bytes, |_| {}), "../../escape");
    f.assert_contained();
}

#[test]
fn symlink_escape_then_write_through_it_is_refused() {
    let f = Fixture::new();
    let outside = f.outside().display().to_string();
    for target in [outside.as_str(), "../outside"] {
        let bytes = pkg_with(|t| {
            t.symlink("link", target).file("link/sentinel", b"pwned");
        });
        match f.extract(&bytes, |_| {}) {
            Err(ExtractError::SymlinkInPath { path }) => assert_eq!(path, Path::new("link")),
            other => panic!("{target}: {other:?}"),
        }
        f.assert_contained();
        assert!(f.files().is_empty(), "{:?}", f.files());
    }
}

#[test]
fn existing_symlink_in_destination_is_not_followed() {
    let f = Fixture::new();
    std::os::unix::fs::symlink(f.outside(), f.dest().join("pre")).expect("symlink");
    let bytes = pkg_with(|t| {
        t.file("pre/new", b"pwned");
    });
    match f.extract(&bytes, |_| {}) {
        Err(ExtractError::SymlinkInPath { path }) => assert_eq!(path, Path::new("pre")),
        other => panic!("{other:?}"),
    }
    // Replacing the symlink itself by a file is refused too without overwrite...
    let bytes = pkg_with(|t| {
        t.file("pre", b"replaced");
    });
    assert!(matches!(
        f.extract(&bytes, |_| {}),
        Err(ExtractError::AlreadyExists { .. })
    ));
    // ...and with overwrite the link is replaced, never written through.
    f.extract(&bytes, |e| {
        e.overwrite(true);
    })
    .expect("overwrite replaces the symlink");
    assert_eq!(
        std::fs::read(f.dest().join("pre")).expect("file"),
        b"replaced"
    );
    f.assert_contained();
}

#[test]
fn hard_links_only_to_earlier_files_of_the_package() {
    for (target, expect_malicious) in [
        ("../outside/sentinel", true),
        ("/etc/passwd", true),
        ("later", false),
        ("dir", false),
    ] {
        let f = Fixture::new();
        let bytes = pkg_with(|t| {
            t.dir("dir").hardlink("link", target).file("later", b"x");
        });
        let result = f.extract(&bytes, |_| {});
        match result {
            Err(ExtractError::Read(ReadPackageError::MaliciousPath { .. })) if expect_malicious => {
            }
            Err(ExtractError::HardLinkTarget { path, .. }) if !expect_malicious => {
                assert_eq!(path, Path::new("link"))
            }
            other => panic!("{target}: {other:?}"),
        }
        f.assert_contained();
        assert!(f.files().is_empty(), "{:?}", f.files());
    }
    // An earlier file is fine and shares the inode.
    let f = Fixture::new();
    let bytes = pkg_with(|t| {
        t.file("a", b"same").hardlink("b", "a");
    });
    let summary = f
        .extract(&bytes, |_| {})
        .expect("hard link to an earlier file");
    assert_eq!(summary.hardlinks, 1);
    use std::os::unix::fs::MetadataExt;
    let a = std::fs::metadata(f.dest().join("a")).expect("a");
    let b = std::fs::metadata(f.dest().join("b")).expect("b");
    assert_eq!(a.ino(), b.ino());
    f.assert_contained();
}

#[test]
fn duplicate_entries_are_refused() {
    let f = Fixture::new();
    let bytes = pkg_with(|t| {
        t.file("a", b"one").file("a", b"two");
    });
    match f.extract(&bytes, |_| {}) {
        Err(ExtractError::DuplicateEntry { path }) => assert_eq!(path, Path::new("a")),
        other => panic!("{other:?}"),
    }
    assert!(f.files().is_empty(), "{:?}", f.files());
    f.assert_contained();
    // A symlink and then a file at the same path too.
    let f = Fixture::new();
    let bytes = pkg_with(|t| {
        t.symlink("a", "/etc/passwd").file("a", b"two");
    });
    assert!(matches!(
        f.extract(&bytes, |_| {}),
        Err(ExtractError::DuplicateEntry { .. })
    ));
    f.assert_contained();
}

fn zeros_pkg(len: usize) -> Vec<u8> {
    let zeros = vec![0u8; len];
    pkg_with(|t| {
        t.file("bomb", &zeros);
    })
}

#[test]
fn gzip_bomb_hits_the_size_and_ratio_limits() {
    let bytes = zeros_pkg(16 << 20);
    assert!(bytes.len() < 100_000, "{}", bytes.len());
    let f = Fixture::new();
    match f.extract(&bytes, |e| {
        e.max_total_size(4 << 20);
    }) {
        Err(ExtractError::Read(ReadPackageError::LimitExceeded { limit, value })) => {
            assert_eq!((limit, value), (LimitKind::DataSize, 4 << 20))
        }
        other => panic!("{other:?}"),
    }
    f.assert_contained();
    assert!(f.files().is_empty());
    let f = Fixture::new();
    match f.extract(&bytes, |e| {
        e.max_ratio(100);
    }) {
        Err(ExtractError::Read(ReadPackageError::LimitExceeded { limit, .. })) => {
            assert_eq!(limit, LimitKind::Ratio)
        }
        other => panic!("{other:?}"),
    }
    f.assert_contained();
    assert!(f.files().is_empty());
}

#[test]
fn tar_bomb_hits_the_entry_limit() {
    let bytes = pkg_with(|t| {
        for i in 0..300 {
            t.file(&format!("f{i}"), b"");
        }
    });
    let f = Fixture::new();
    match f.extract(&bytes, |e| {
        e.max_entries(100);
    }) {
        Err(ExtractError::Read(ReadPackageError::LimitExceeded { limit, value })) => {
            assert_eq!((limit, value), (LimitKind::Entries, 100))
        }
        other => panic!("{other:?}"),
    }
    f.assert_contained();
    assert!(f.files().is_empty());
    // The same package is fine with a higher limit.
    Fixture::new()
        .extract(&bytes, |e| {
            e.max_entries(300);
        })
        .expect("within the limit");
}

#[test]
fn truncation_anywhere_is_reported_with_its_stream() {
    let members = TestPkg::new().members();
    let full = members.concat();
    let sig = members.signature.as_ref().map_or(0, Vec::len);
    let control_end = sig + members.control.len();
    assert!(read_whole(&full).is_ok());
    for cut in 0..full.len() {
        let result = read_whole(&full[..cut]);
        let expected = if cut < sig {
            StreamKind::Signature
        } else if cut < control_end {
            StreamKind::Control
        } else {
            StreamKind::Data
        };
        match result {
            Err(ReadPackageError::NotAPackage { .. }) if cut == 0 => {}
            Err(ReadPackageError::Truncated { stream }) => {
                assert_eq!(stream, expected, "cut at {cut} of {}", full.len())
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    // Extraction of a package cut inside the data leaves nothing at a final name.
    let f = Fixture::new();
    let result = f.extract(&full[..full.len() - 10], |_| {});
    assert!(
        matches!(
            result,
            Err(ExtractError::Read(ReadPackageError::Truncated {
                stream: StreamKind::Data
            }))
        ),
        "{result:?}"
    );
    assert!(f.files().is_empty(), "{:?}", f.files());
    f.assert_contained();
}

#[test]
fn a_flipped_bit_in_any_member_is_detected() {
    let members = TestPkg::new().members();
    let full = members.concat();
    let sig = members.signature.as_ref().map_or(0, Vec::len);
    let control = members.control.len();
    let keys = trusted_keys();
    for (start, len, stream) in [
        (0, sig, StreamKind::Signature),
        (sig, control, StreamKind::Control),
        (sig + control, members.data.len(), StreamKind::Data),
    ] {
        // A flip in the CRC: the contents are intact, the gzip check catches it.
        let mut bytes = full.clone();
        bytes[start + len - 8] ^= 0x10;
        match read_whole(&bytes) {
            Err(ReadPackageError::Corrupt { stream: s, .. }) => assert_eq!(s, stream),
            other => panic!("{stream}: {other:?}"),
        }
        // Any bit of the deflate body or trailer (the 10-byte gzip header is not covered by
        // the CRC; see the next test): always an error, never a panic, whichever check
        // (tar structure, file checksum, CRC) notices first.
        for pos in start + 10..start + len {
            for bit in [0, 3, 7] {
                let mut bytes = full.clone();
                bytes[pos] ^= 1 << bit;
                match read_whole(&bytes) {
                    Err(_) => {}
                    // Unused padding bits at the end of the deflate data change nothing that
                    // is decoded. In the signature member that is harmless; in the control
                    // member the identity changes, so the signature fails; the data member is
                    // covered by datahash (an error above).
                    Ok(summary) => match stream {
                        StreamKind::Signature => {
                            assert!(summary.verify(&keys).is_ok(), "byte {pos} bit {bit}")
                        }
                        _ => assert!(
                            summary.verify(&keys).is_err(),
                            "byte {pos} bit {bit} ({stream}) went unnoticed"
                        ),
                    },
                }
            }
        }
    }
}

#[test]
fn tampered_but_valid_members_fail_signature_datahash_or_checksum() {
    let pkg = TestPkg::new();
    let members = pkg.members();
    let keys = trusted_keys();

    // Control member re-compressed with another gzip header mtime: signature no longer matches.
    let mut bytes = members.concat();
    let sig = members.signature.as_ref().map_or(0, Vec::len);
    bytes[sig + 4] ^= 1;
    let reader = PackageReader::new(&bytes[..]).expect("readable");
    assert!(matches!(
        reader.verify(&keys),
        Err(VerifyPackageError::BadSignature { .. })
    ));
    let f = Fixture::new();
    let result = f.extract(&bytes, |e| {
        e.trusted_keys(Some(keys.clone()));
    });
    assert!(matches!(
        result,
        Err(ExtractError::Untrusted(
            VerifyPackageError::BadSignature { .. }
        ))
    ));
    assert!(tree(&f.dest()).is_empty());

    // A different data member under the same .PKGINFO: datahash mismatch, nothing in place.
    let mut other = Tar::new();
    other.file("usr/bin/hello", b"evil").end();
    let mut bytes = members.signature.clone().unwrap_or_default();
    bytes.extend_from_slice(&members.control);
    bytes.extend_from_slice(&gzip(&other.bytes));
    assert!(matches!(
        read_whole(&bytes),
        Err(ReadPackageError::DataHashMismatch { .. })
    ));
    let f = Fixture::new();
    let result = f.extract(&bytes, |e| {
        e.trusted_keys(Some(keys.clone()));
    });
    assert!(
        matches!(
            result,
            Err(ExtractError::Read(
                ReadPackageError::DataHashMismatch { .. }
            ))
        ),
        "{result:?}"
    );
    assert!(f.files().is_empty(), "{:?}", f.files());
    f.assert_contained();

    // A file whose contents do not match its checksum.
    let bytes = pkg_with(|t| {
        t.file("good", b"fine")
            .file_bad_checksum("bad", b"contents");
    });
    match read_whole(&bytes) {
        Err(ReadPackageError::ChecksumMismatch { path }) => assert_eq!(path, Path::new("bad")),
        other => panic!("{other:?}"),
    }
    // Skipping the contents still checks them.
    let mut reader = PackageReader::new(&bytes[..]).expect("readable");
    let err = loop {
        match reader.next_entry() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("mismatch not detected"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, ReadPackageError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    let f = Fixture::new();
    let result = f.extract(&bytes, |_| {});
    assert!(matches!(
        result,
        Err(ExtractError::Read(
            ReadPackageError::ChecksumMismatch { .. }
        ))
    ));
    assert!(f.files().is_empty(), "{:?}", f.files());
    f.assert_contained();
}

#[test]
fn trailing_garbage_is_an_error() {
    let mut bytes = TestPkg::new().build();
    bytes.extend_from_slice(b"garbage");
    assert!(matches!(
        read_whole(&bytes),
        Err(ReadPackageError::TrailingGarbage { .. })
    ));
}

#[test]
fn unsigned_and_untrusted_packages_are_refused_before_writing() {
    let keys = trusted_keys();
    for (pkg, expected) in [
        (TestPkg::new().unsigned(), "unsigned"),
        (
            TestPkg {
                signers: vec![(stranger(), SignatureAlgorithm::RsaSha1)],
                ..TestPkg::new()
            },
            "untrusted",
        ),
    ] {
        let f = Fixture::new();
        let result = f.extract(&pkg.build(), |e| {
            e.trusted_keys(Some(keys.clone()));
        });
        match (expected, result) {
            ("unsigned", Err(ExtractError::Untrusted(VerifyPackageError::Unsigned))) => {}
            (
                "untrusted",
                Err(ExtractError::Untrusted(VerifyPackageError::UntrustedKey { names })),
            ) => {
                assert_eq!(names, vec![stranger().key_name().to_owned()])
            }
            (_, other) => panic!("{expected}: {other:?}"),
        }
        assert!(tree(&f.dest()).is_empty());
    }
}

#[test]
fn devices_and_fifos_need_permission() {
    let bytes = pkg_with(|t| {
        t.special("pipe", b'6');
    });
    let f = Fixture::new();
    match f.extract(&bytes, |_| {}) {
        Err(ExtractError::DeviceNotAllowed { path }) => assert_eq!(path, Path::new("pipe")),
        other => panic!("{other:?}"),
    }
    f.assert_contained();
    let summary = f
        .extract(&bytes, |e| {
            e.allow_devices(true);
        })
        .expect("fifo allowed");
    assert_eq!(summary.devices, 1);
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::symlink_metadata(f.dest().join("pipe")).expect("fifo");
    assert!(meta.file_type().is_fifo());
    f.assert_contained();
}

#[test]
fn packages_without_datahash_are_identified_and_verified_after_the_data() {
    let pkg = TestPkg {
        datahash: false,
        signers: vec![
            (stranger(), SignatureAlgorithm::RsaSha1),
            (trusted(), SignatureAlgorithm::RsaSha256),
        ],
        ..TestPkg::new()
    };
    let members = pkg.members();
    let bytes = members.concat();
    let keys = trusted_keys();
    let reader = PackageReader::new(&bytes[..]).expect("readable");
    assert_eq!(reader.identity(), None);
    assert_eq!(reader.verify(&keys), Err(VerifyPackageError::NeedsData));
    let summary = reader.finish().expect("reads");
    assert_eq!(summary.identity().to_string(), identity_of(&members, false));
    let by = summary.verify(&keys).expect("verifies");
    assert_eq!(by.algorithm(), SignatureAlgorithm::RsaSha256);

    // Extraction with trusted keys verifies at the end, before renaming into place.
    let f = Fixture::new();
    f.extract(&bytes, |e| {
        e.trusted_keys(Some(keys.clone()));
    })
    .expect("trusted");
    assert!(f.dest().join("usr/bin/hello").is_file());

    // Other (valid) data: the signature fails after the data, nothing is in place.
    let mut other = Tar::new();
    other.file("usr/bin/hello", b"evil").end();
    let mut bytes = members.signature.clone().unwrap_or_default();
    bytes.extend_from_slice(&members.control);
    bytes.extend_from_slice(&gzip(&other.bytes));
    let f = Fixture::new();
    let result = f.extract(&bytes, |e| {
        e.trusted_keys(Some(keys.clone()));
    });
    assert!(matches!(
        result,
        Err(ExtractError::Untrusted(
            VerifyPackageError::BadSignature { .. }
        ))
    ));
    assert!(f.files().is_empty(), "{:?}", f.files());
    f.assert_contained();
}

#[test]
fn not_packages() {
    for (bytes, what) in [
        (Vec::new(), "empty"),
        (b"hello world".to_vec(), "text"),
        (
            gzip(b"not a tar archive at all, just text padded out to a block or more"),
            "gzip text",
        ),
    ] {
        assert!(
            matches!(
                PackageReader::new(&bytes[..]),
                Err(ReadPackageError::NotAPackage { .. })
            ),
            "{what}"
        );
    }
    // A tar without .PKGINFO.
    let mut tar = Tar::new();
    tar.file(".other", b"x");
    assert!(matches!(
        PackageReader::new(&[gzip(&tar.bytes), gzip(&[0; 1024])].concat()[..]),
        Err(ReadPackageError::MissingPkgInfo)
    ));
}

/// Found by the `package` fuzz target: a directory (or link) whose tar header claims a size
/// has no contents to read, as `DataEntry::size` says; the bytes are skipped, and the entries
/// after it read as usual.
#[test]
fn non_file_entries_have_no_contents_whatever_their_header_says() {
    let bytes = pkg_with(|t| {
        t.header(b"usr", b'5', 0o755, 56, b"");
        t.data(&[b'x'; 56]);
        t.header(b"usr/hi", b'2', 0o777, 3, b"hello");
        t.data(b"abc");
        t.file("usr/hello", b"hello\n");
    });
    let mut reader = PackageReader::new(&bytes[..]).expect("readable");
    let mut seen = Vec::new();
    while let Some(mut entry) = reader.next_entry().expect("entry") {
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("contents");
        assert_eq!(content.len() as u64, entry.size(), "{:?}", entry.path());
        seen.push((entry.path().display().to_string(), content));
    }
    assert_eq!(
        seen,
        [
            ("usr".to_owned(), Vec::new()),
            ("usr/hi".to_owned(), Vec::new()),
            ("usr/hello".to_owned(), b"hello\n".to_vec()),
        ]
    );
    reader.finish().expect("finishes");

    let f = Fixture::new();
    f.extract(&bytes, |_| {}).expect("extracts");
    assert_eq!(
        std::fs::read(f.dest().join("usr/hello")).expect("file"),
        b"hello\n"
    );
    f.assert_contained();
}
