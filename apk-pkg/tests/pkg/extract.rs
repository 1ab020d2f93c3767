//! Ordinary extraction: the tree, modes, mtimes, symlinks, skipped entries, overwriting.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use apk_pkg::{ExtractError, PackageReader};

use crate::hostile::Fixture;
use crate::util::{Tar, TestPkg, corpus, identity_of, tree, trusted_keys};

#[test]
fn extracts_the_tree_with_modes_mtimes_and_symlinks() {
    let pkg = TestPkg::new();
    let members = pkg.members();
    let f = Fixture::new();
    let summary = f
        .extract(&members.concat(), |e| {
            e.trusted_keys(Some(trusted_keys()));
        })
        .expect("extracts");
    assert_eq!(
        tree(&f.dest()),
        [
            "D etc",
            "D usr",
            "D usr/bin",
            "F etc/hello.conf",
            "F usr/bin/hello",
            "L usr/bin/hi -> hello",
        ]
    );
    assert_eq!(
        std::fs::read(f.dest().join("usr/bin/hello")).expect("read"),
        b"#!/bin/sh\necho hello\n"
    );
    let meta = std::fs::metadata(f.dest().join("usr/bin/hello")).expect("stat");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
    assert_eq!(meta.mtime(), 1_700_000_000);
    let dir = std::fs::metadata(f.dest().join("usr/bin")).expect("stat");
    assert_eq!(dir.permissions().mode() & 0o7777, 0o755);
    assert_eq!(dir.mtime(), 1_700_000_000);
    let link = std::fs::symlink_metadata(f.dest().join("usr/bin/hi")).expect("lstat");
    assert_eq!(link.mtime(), 1_700_000_000);
    assert_eq!(summary.files, 2);
    assert_eq!(summary.directories, 3);
    assert_eq!(summary.symlinks, 1);
    assert_eq!(summary.bytes, 21 + 15);
    assert_eq!(
        summary.package.identity().to_string(),
        identity_of(&members, true)
    );
    f.assert_contained();
}

#[test]
fn restrictive_directory_modes_are_applied_last() {
    let mut data = Tar::new();
    data.dir_mode("ro", 0o555)
        .file("ro/file", b"x")
        .dir_mode("ro/sub", 0o500)
        .file("ro/sub/deeper", b"y")
        .dir_mode("sticky", 0o1777)
        .end();
    let f = Fixture::new();
    f.extract(&TestPkg::new().with_data(data).build(), |_| {})
        .expect("extracts");
    let mode = |p: &str| {
        std::fs::metadata(f.dest().join(p))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("ro"), 0o555);
    assert_eq!(mode("ro/sub"), 0o500);
    assert_eq!(mode("sticky"), 0o1777);
    assert_eq!(
        std::fs::read(f.dest().join("ro/sub/deeper")).expect("read"),
        b"y"
    );
    // Let the temporary directory be removed.
    for p in ["ro/sub", "ro"] {
        std::fs::set_permissions(f.dest().join(p), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
}

#[test]
fn dot_entries_and_keep_files_are_skipped_missing_parents_created() {
    let mut data = Tar::new();
    data.file(".hidden", b"x")
        .dir(".dotdir")
        .file("usr/share/.keep_usr-share", b"")
        .file("usr/share/.profile", b"kept")
        .end();
    let f = Fixture::new();
    let summary = f
        .extract(&TestPkg::new().with_data(data).build(), |_| {})
        .expect("extracts");
    assert_eq!(
        tree(&f.dest()),
        ["D usr", "D usr/share", "F usr/share/.profile"]
    );
    assert_eq!(summary.package.entry_count(), 4);
    assert_eq!(summary.package.file_count(), 1);
}

#[test]
fn existing_files_need_overwrite() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.dest().join("etc")).expect("mkdir");
    std::fs::write(f.dest().join("etc/hello.conf"), b"mine").expect("write");
    let bytes = TestPkg::new().build();
    match f.extract(&bytes, |_| {}) {
        Err(ExtractError::AlreadyExists { path }) => {
            assert_eq!(path, std::path::Path::new("etc/hello.conf"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read(f.dest().join("etc/hello.conf")).expect("read"),
        b"mine"
    );
    f.extract(&bytes, |e| {
        e.overwrite(true);
    })
    .expect("overwrites");
    assert_eq!(
        std::fs::read(f.dest().join("etc/hello.conf")).expect("read"),
        b"greeting=hello\n"
    );
    f.assert_contained();
}

#[test]
fn large_files_stream_through() {
    // 40 MiB of varied data: read in constant memory and checked.
    let data: Vec<u8> = (0..40u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut tar = Tar::new();
    tar.file("big", &data).end();
    let bytes = TestPkg::new().with_data(tar).build();
    let f = Fixture::new();
    let summary = f.extract(&bytes, |_| {}).expect("extracts");
    assert_eq!(summary.bytes, data.len() as u64);
    assert_eq!(
        std::fs::metadata(f.dest().join("big")).expect("stat").len(),
        data.len() as u64
    );
}

#[test]
fn real_packages_extract() {
    let Some(corpus) = corpus() else { return };
    for name in [
        "chainguard-dev_apko/alpine-316/alpine-baselayout-3.2.0-r23.apk",
        "chainguard-dev_apko/hello-2.12-r0.apk",
        "apk3-transactions/repo-a/x86_64/hello-1.0-r0.apk",
    ] {
        let f = Fixture::new();
        let mut reader = PackageReader::open(corpus.join(name)).expect("open");
        let summary = apk_pkg::Extractor::new()
            .extract(&mut reader, &f.dest())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(summary.files, summary.package.file_count(), "{name}");
        f.assert_contained();
        if name.contains("baselayout") {
            let tmp = std::fs::symlink_metadata(f.dest().join("tmp")).expect("tmp");
            assert_eq!(tmp.permissions().mode() & 0o7777, 0o1777);
            assert_eq!(
                std::fs::read_link(f.dest().join("var/run")).expect("link"),
                std::path::Path::new("/run")
            );
            let root = std::fs::metadata(f.dest().join("etc/crontabs/root")).expect("root");
            assert_eq!(root.permissions().mode() & 0o7777, 0o600);
        }
    }
}
