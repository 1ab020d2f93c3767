//! Real packages from `$APK_CORPUS`: signatures, identities against real index entries,
//! datahash and per-file checksums.

use std::io::Read;
use std::path::Path;

use apk_index::{Index, IndexOptions, KeySet};
use apk_pkg::{EntryKind, IndexBuilder, PackageReader, VerifyPackageError, read_package_info};

use sha1::{Digest, Sha1};

use crate::util::corpus;

/// Reads every entry (all contents), returning the file count; panics on any error.
fn read_all(
    path: &Path,
) -> (
    PackageReader<std::io::BufReader<std::fs::File>>,
    Vec<String>,
) {
    let mut pkg = PackageReader::open(path).expect("open package");
    let mut listing = Vec::new();
    while let Some(mut entry) = pkg.next_entry().expect("next entry") {
        let mut contents = Vec::new();
        entry
            .read_to_end(&mut contents)
            .expect("contents match their checksum");
        match entry.kind().clone() {
            EntryKind::File => {
                let sum = entry.checksum().expect("every file has a checksum");
                assert_eq!(
                    sum.as_bytes(),
                    &Sha1::digest(&contents)[..],
                    "{}",
                    entry.path().display()
                );
                listing.push(format!("F {} {}", entry.path().display(), contents.len()));
            }
            EntryKind::Symlink { target } => listing.push(format!(
                "L {} -> {}",
                entry.path().display(),
                target.display()
            )),
            EntryKind::Directory => listing.push(format!("D {}", entry.path().display())),
            other => listing.push(format!("? {} {other:?}", entry.path().display())),
        }
    }
    // `pkg` is returned to let the caller finish it.
    (pkg, listing)
}

fn index_entry(index: &Index, name: &str, version: &str) -> apk_index::Checksum {
    index
        .packages()
        .find(|p| p.name() == name && p.version() == version)
        .and_then(|p| p.identity())
        .unwrap_or_else(|| panic!("{name}-{version} is in the index"))
}

#[test]
fn alpine_baselayout_verifies_and_matches_its_index_entry() {
    let Some(corpus) = corpus() else { return };
    let apko = corpus.join("chainguard-dev_apko");
    let path = apko.join("alpine-316/alpine-baselayout-3.2.0-r23.apk");
    let keys = KeySet::from_dir(corpus.join("csmith_apkutils")).expect("alpine keys");
    let (pkg, listing) = read_all(&path);
    assert_eq!(pkg.info().name, "alpine-baselayout");
    assert_eq!(pkg.info().version, "3.2.0-r23");
    assert_eq!(pkg.scripts().len(), 4);
    let by = pkg.verify(&keys).expect("signed by an Alpine key");
    assert_eq!(
        by.key_name(),
        "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub"
    );
    let identity = pkg.identity().expect("identity known with datahash");
    let summary = pkg.finish().expect("datahash and trailer are fine");
    assert!(summary.has_datahash());
    assert_eq!(summary.identity(), identity);
    assert_eq!(
        summary.verify(&keys).expect("verifies").key_name(),
        by.key_name()
    );
    assert_eq!(
        summary.file_size(),
        std::fs::metadata(&path).expect("stat").len()
    );
    assert!(
        listing.contains(&"L var/run -> /run".to_owned()),
        "{listing:#?}"
    );
    assert!(
        listing.contains(&"F etc/motd 283".to_owned()),
        "{listing:#?}"
    );
    assert_eq!(summary.file_count(), 11);

    let index = Index::open(
        apko.join("rsa256-signed/APKINDEX.tar.gz"),
        None,
        &IndexOptions::default(),
    )
    .expect("index");
    assert_eq!(
        identity,
        index_entry(&index, "alpine-baselayout", "3.2.0-r23")
    );

    let (info, id) = read_package_info(&path).expect("package info");
    assert_eq!(id, identity);
    assert_eq!(info.identity, Some(identity));
    assert_eq!(info.size, 11012);
}

#[test]
fn packages_signed_by_unknown_keys_are_untrusted() {
    let Some(corpus) = corpus() else { return };
    let keys = KeySet::from_dir(corpus.join("csmith_apkutils")).expect("alpine keys");
    for name in ["hello-2.12-r0.apk", "hello-wolfi-2.12.1-r0.apk"] {
        let path = corpus.join("chainguard-dev_apko").join(name);
        let (pkg, _) = read_all(&path);
        match pkg.verify(&keys) {
            Err(VerifyPackageError::UntrustedKey { names }) => {
                assert_eq!(names.len(), 1, "{name}: {names:?}")
            }
            other => panic!("{name}: {other:?}"),
        }
        let summary = pkg.finish().expect("datahash fine");
        assert!(summary.has_datahash(), "{name}");
    }
}

#[test]
fn unsigned_packages_are_unsigned() {
    let Some(corpus) = corpus() else { return };
    let keys = KeySet::from_dir(corpus.join("csmith_apkutils")).expect("alpine keys");
    for name in ["hello-0.1.0-r0.apk", "replaces/replaces-0.0.1-r0.apk"] {
        let path = corpus.join("chainguard-dev_apko").join(name);
        let (pkg, listing) = read_all(&path);
        assert_eq!(
            pkg.verify(&keys),
            Err(VerifyPackageError::Unsigned),
            "{name}"
        );
        assert!(!listing.is_empty(), "{name}");
        let summary = pkg.finish().expect("reads to the end");
        assert_eq!(
            summary.verify(&keys),
            Err(VerifyPackageError::Unsigned),
            "{name}"
        );
    }
}

const REPO_A: [&str; 4] = [
    "fooplug-1-r0.apk",
    "hello-1.0-r0.apk",
    "libgreet-2.1-r0.apk",
    "trig-1-r0.apk",
];

#[test]
fn apk3_transaction_packages_verify_and_match_their_index() {
    let Some(corpus) = corpus() else { return };
    let base = corpus.join("apk3-transactions");
    let repo = base.join("repo-a/x86_64");
    let keys = KeySet::from_dir(base.join("keys")).expect("keys");
    let index =
        Index::open(repo.join("APKINDEX.tar.gz"), None, &IndexOptions::default()).expect("index");
    for name in REPO_A {
        let (pkg, _) = read_all(&repo.join(name));
        pkg.verify(&keys).unwrap_or_else(|e| panic!("{name}: {e}"));
        let identity = pkg.identity().expect("datahash");
        let expected = index_entry(&index, &pkg.info().name, &pkg.info().version);
        assert_eq!(identity, expected, "{name}");
        pkg.finish().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn index_builder_reproduces_apk_index_byte_for_byte() {
    let Some(corpus) = corpus() else { return };
    let repo = corpus.join("apk3-transactions/repo-a/x86_64");
    let archive = apk_index::IndexArchive::open(repo.join("APKINDEX.tar.gz")).expect("index");
    let mut builder = IndexBuilder::new();
    builder.rewrite_arch(Some("x86_64".to_owned()));
    // Add in reverse order: the builder sorts.
    for name in REPO_A.iter().rev() {
        builder
            .add_file(repo.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let text = builder.build();
    assert_eq!(
        String::from_utf8_lossy(&text),
        String::from_utf8_lossy(archive.apkindex())
    );
    assert_eq!(archive.description(), Some(&b"test repo"[..]));
}
