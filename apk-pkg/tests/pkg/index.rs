//! `IndexBuilder` over packages made in the test.

use apk_index::IndexArchive;
use apk_index::keys::SignatureAlgorithm;
use apk_pkg::{IndexBuilder, IndexPackageError};

use crate::util::{TestPkg, trusted, trusted_keys};

#[test]
fn builds_a_sorted_signed_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (name, version, arch) in [
        ("zeta", "1.0-r0", "x86_64"),
        ("alpha", "1.10-r0", "noarch"),
        ("alpha", "1.9-r0", "noarch"),
    ] {
        let pkg = TestPkg {
            pkginfo: format!(
                "pkgname = {name}\npkgver = {version}\narch = {arch}\nsize = 3\nlicense = MIT\n"
            ),
            ..TestPkg::new()
        };
        let path = dir.path().join(format!("{name}-{version}.apk"));
        std::fs::write(&path, pkg.build()).expect("write");
        paths.push(path);
    }
    let mut builder = IndexBuilder::new();
    builder
        .rewrite_arch(Some("aarch64".to_owned()))
        .description(Some("v1.0".to_owned()));
    for p in &paths {
        builder.add_file(p).expect("add");
    }
    let text = String::from_utf8(builder.build()).expect("utf-8");
    let order: Vec<&str> = text.lines().filter(|l| l.starts_with("V:")).collect();
    assert_eq!(order, ["V:1.9-r0", "V:1.10-r0", "V:1.0-r0"]);
    assert_eq!(text.matches("A:aarch64\n").count(), 2);
    assert!(text.contains("A:x86_64\n"));
    for p in &paths {
        let size = std::fs::metadata(p).expect("stat").len();
        assert!(text.contains(&format!("S:{size}\n")), "{text}");
    }
    let archive = builder
        .write_archive(&[(trusted(), SignatureAlgorithm::RsaSha1)])
        .expect("archive");
    let archive = IndexArchive::from_bytes(&archive).expect("readable");
    archive.verify(&trusted_keys()).expect("signed");
    assert_eq!(archive.description(), Some(&b"v1.0"[..]));
    assert_eq!(&archive.apkindex()[..], text.as_bytes());
}

#[test]
fn broken_packages_are_reported_with_their_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.apk");
    std::fs::write(&path, b"not a package").expect("write");
    let err = IndexBuilder::new().add_file(&path).expect_err("broken");
    let IndexPackageError::Read { path: p, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(p, &path);
}
