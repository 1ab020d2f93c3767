//! `apk-rs verify` on packages, `apk-rs extract` and `apk-rs index`, over packages built in
//! the test (and the corpus's real ones when `APK_CORPUS` is set).

use std::path::Path;
use std::sync::OnceLock;

use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_index::{IndexArchive, KeySet, PackageInfo};
use apk_pkg::PackageBuilder;
use rand::SeedableRng;

use crate::util::Dir;

const TRUSTED: &str = "pkgtest@example.org-00000001.rsa.pub";
const STRANGER: &str = "pkgstranger@example.org-00000002.rsa.pub";

fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let trusted = SigningKey::generate(TRUSTED, 1024, &mut rng).expect("generate a key");
        let stranger = SigningKey::generate(STRANGER, 1024, &mut rng).expect("generate a key");
        (trusted, stranger)
    })
}

/// A package `name-1.0-r0` with two files, signed by `signer` (if any).
fn package(name: &str, arch: &str, signer: Option<&SigningKey>) -> Vec<u8> {
    package_with(name, arch, signer, &[])
}

/// [`package`] with `extra` files too.
fn package_with(
    name: &str,
    arch: &str,
    signer: Option<&SigningKey>,
    extra: &[(&str, &[u8])],
) -> Vec<u8> {
    let mut info = PackageInfo::new(name, "1.0-r0");
    info.arch = Some(arch.to_owned());
    info.description = format!("the {name} package");
    info.license = "MIT".to_owned();
    let mut builder = PackageBuilder::new(info);
    builder
        .add_file("usr/bin/hello", 0o755, b"#!/bin/sh\necho hello\n".to_vec())
        .expect("add a file")
        .add_file("etc/hello.conf", 0o644, b"x=1\n".to_vec())
        .expect("add a file");
    for (path, contents) in extra {
        builder
            .add_file(path, 0o644, contents.to_vec())
            .expect("add a file");
    }
    if let Some(key) = signer {
        builder.sign_with(key, SignatureAlgorithm::RsaSha1);
    }
    let mut out = Vec::new();
    builder.write(&mut out).expect("build a package");
    out
}

/// A directory with `keys/` trusting [`TRUSTED`], `keys/…` holding the private key too, and
/// `good.apk`, `unsigned.apk`, `stranger.apk`, `tampered.apk`.
fn fixture() -> Dir {
    let dir = Dir::new();
    let (trusted, stranger) = keys();
    dir.create(
        Path::new("keys").join(TRUSTED),
        trusted.public_key().to_pem(),
    );
    dir.create(
        "private/pkgtest@example.org-00000001.rsa",
        trusted.private_key_pem(),
    );
    dir.create("good.apk", package("hello", "x86_64", Some(trusted)));
    dir.create("unsigned.apk", package("hello", "x86_64", None));
    dir.create("stranger.apk", package("hello", "x86_64", Some(stranger)));
    let mut tampered = package("hello", "x86_64", Some(trusted));
    let last = tampered.len() - 6;
    tampered[last] ^= 1; // the data member's size trailer
    dir.create("tampered.apk", tampered);
    dir
}

#[test]
fn verify_reports_each_package() {
    let dir = fixture();
    dir.apk([
        "verify",
        "--keys-dir",
        "keys",
        "good.apk",
        "unsigned.apk",
        "stranger.apk",
        "tampered.apk",
    ])
    .assert(
        3,
        "good.apk: OK\nunsigned.apk: UNTRUSTED\nstranger.apk: UNTRUSTED\ntampered.apk: UNTRUSTED\n",
    );
    let out = dir.apk([
        "verify",
        "-v",
        "--keys-dir",
        "keys",
        "good.apk",
        "unsigned.apk",
        "tampered.apk",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], format!("good.apk: OK (signed by {TRUSTED})"));
    assert_eq!(lines[1], "unsigned.apk: UNTRUSTED (package is not signed)");
    assert!(
        lines[2].starts_with("tampered.apk: UNTRUSTED (corrupt gzip data in the data stream"),
        "{out:?}"
    );
}

#[test]
fn extract_requires_a_trusted_signature_unless_allowed() {
    let dir = fixture();
    dir.apk([
        "extract",
        "--keys-dir",
        "keys",
        "--destination",
        "out",
        "good.apk",
    ])
    .assert(0, "");
    assert_eq!(
        std::fs::read(dir.join("out/etc/hello.conf")).expect("extracted"),
        b"x=1\n"
    );

    let out = dir.apk([
        "extract",
        "--keys-dir",
        "keys",
        "--destination",
        "out2",
        "unsigned.apk",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "ERROR: failed to extract unsigned.apk: package is not trusted: package is not signed\n"
    );
    assert!(!dir.join("out2/etc").exists());

    dir.apk([
        "extract",
        "--allow-untrusted",
        "-v",
        "--destination",
        "out3",
        "unsigned.apk",
    ])
    .assert(0, "unsigned.apk: 2 files, 3 directories, 0 symlinks\n");
    assert!(dir.join("out3/usr/bin/hello").is_file());
}

#[test]
fn extract_defaults_to_the_current_directory_and_refuses_escapes() {
    let dir = fixture();
    std::fs::create_dir(dir.join("work")).expect("mkdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apk-rs"))
        .args(["extract", "--keys-dir", "../keys", "../good.apk"])
        .current_dir(dir.join("work"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    assert!(dir.join("work/usr/bin/hello").is_file());
    // Extracting again over existing files is refused (nothing is overwritten).
    let out = dir.apk([
        "extract",
        "--keys-dir",
        "keys",
        "--destination",
        "work",
        "good.apk",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("already exists"), "{out:?}");
}

#[test]
fn index_writes_a_signed_sorted_index() {
    let dir = fixture();
    let (trusted, _) = keys();
    dir.create(
        "repo/zlib-1.0-r0.apk",
        package("zlib", "x86_64", Some(trusted)),
    );
    dir.create(
        "repo/abc-1.0-r0.apk",
        package("abc", "noarch", Some(trusted)),
    );
    dir.apk([
        "index",
        "-o",
        "repo/APKINDEX.tar.gz",
        "--rewrite-arch",
        "x86_64",
        "-d",
        "my repo",
        "--sign-key",
        "private/pkgtest@example.org-00000001.rsa",
        "repo/zlib-1.0-r0.apk",
        "repo/abc-1.0-r0.apk",
    ])
    .assert(0, "");
    let archive = IndexArchive::open(dir.join("repo/APKINDEX.tar.gz")).expect("index");
    let mut keys = KeySet::new();
    keys.insert(TRUSTED, trusted.public_key());
    archive.verify(&keys).expect("signed by the trusted key");
    assert_eq!(archive.signatures()[0].key_name(), TRUSTED);
    assert_eq!(archive.description(), Some(&b"my repo"[..]));
    let text = String::from_utf8(archive.apkindex().to_vec()).expect("utf-8");
    let names: Vec<&str> = text.lines().filter(|l| l.starts_with("P:")).collect();
    assert_eq!(names, ["P:abc", "P:zlib"]);
    assert!(!text.contains("noarch"), "{text}");
    // The written index verifies with `apk-rs verify` too.
    dir.apk(["verify", "--keys-dir", "keys", "repo/APKINDEX.tar.gz"])
        .assert(0, "repo/APKINDEX.tar.gz: OK\n");

    // `-x`: a file named and sized as a record of the old index is not read again (here a
    // same-sized file of zeros keeps zlib's record); a changed size is read anew (abc now a
    // different package of another size, with another identity).
    let old_text = text.clone();
    let zlib_len = std::fs::metadata(dir.join("repo/zlib-1.0-r0.apk"))
        .unwrap()
        .len();
    dir.create("repo/zlib-1.0-r0.apk", vec![0u8; zlib_len as usize]);
    let big: &[u8] = &[b'a'; 5000];
    let abc = package_with("abc", "x86_64", None, &[("usr/share/abc", big)]);
    dir.create("repo/abc-1.0-r0.apk", abc);
    dir.apk([
        "index",
        "-x",
        "repo/APKINDEX.tar.gz",
        "-o",
        "repo/APKINDEX.new.tar.gz",
        "repo/zlib-1.0-r0.apk",
        "repo/abc-1.0-r0.apk",
    ])
    .assert(0, "");
    let new = IndexArchive::open(dir.join("repo/APKINDEX.new.tar.gz")).expect("index");
    let new_text = String::from_utf8(new.apkindex().to_vec()).expect("utf-8");
    let record = |t: &str, name: &str| {
        let own = format!("P:{name}");
        t.split("\n\n")
            .find(|r| r.lines().any(|l| l == own))
            .map(str::to_owned)
    };
    assert_eq!(record(&new_text, "zlib"), record(&old_text, "zlib"));
    assert!(record(&new_text, "abc").is_some());
    assert_ne!(record(&new_text, "abc"), record(&old_text, "abc"));
    // Without -x the file of zeros is not a package.
    let out = dir.apk(["index", "-o", "repo/again.tar.gz", "repo/zlib-1.0-r0.apk"]);
    assert_eq!(out.code, 1, "{out:?}");

    let out = dir.apk(["index", "-o", "bad.tar.gz", "keys/README-missing.apk"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("ERROR: failed to index keys/README-missing.apk"),
        "{out:?}"
    );
    assert!(!dir.join("bad.tar.gz").exists());
}

#[test]
fn real_packages_verify_extract_and_index() {
    let Some(corpus) = std::env::var_os("APK_CORPUS").map(std::path::PathBuf::from) else {
        eprintln!("note: APK_CORPUS is not set; skipping");
        return;
    };
    let apko = corpus.join("chainguard-dev_apko");
    assert!(
        apko.is_dir(),
        "APK_CORPUS={} is not a readable corpus",
        corpus.display()
    );
    let dir = Dir::new();
    let alpine_keys = corpus.join("csmith_apkutils");
    let out = dir.apk([
        "verify".as_ref(),
        "--keys-dir".as_ref(),
        alpine_keys.as_os_str(),
        apko.join("alpine-316/alpine-baselayout-3.2.0-r23.apk")
            .as_os_str(),
        apko.join("hello-2.12-r0.apk").as_os_str(),
        apko.join("hello-0.1.0-r0.apk").as_os_str(),
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout
            .lines()
            .next()
            .is_some_and(|l| l.ends_with("alpine-baselayout-3.2.0-r23.apk: OK")),
        "{out:?}"
    );

    let repo = corpus.join("apk3-transactions/repo-a/x86_64");
    let mut args: Vec<std::ffi::OsString> = vec![
        "index".into(),
        "-o".into(),
        dir.join("APKINDEX.tar.gz").into(),
        "--rewrite-arch".into(),
        "x86_64".into(),
    ];
    for name in [
        "trig-1-r0.apk",
        "hello-1.0-r0.apk",
        "libgreet-2.1-r0.apk",
        "fooplug-1-r0.apk",
    ] {
        args.push(repo.join(name).into());
    }
    dir.apk(&args).assert(0, "");
    let ours = IndexArchive::open(dir.join("APKINDEX.tar.gz")).expect("ours");
    let theirs = IndexArchive::open(repo.join("APKINDEX.tar.gz")).expect("theirs");
    assert_eq!(ours.apkindex(), theirs.apkindex());

    let keys = corpus.join("apk3-transactions/keys");
    dir.apk([
        "extract".as_ref(),
        "--keys-dir".as_ref(),
        keys.as_os_str(),
        "--destination".as_ref(),
        dir.join("root").as_os_str(),
        repo.join("hello-1.0-r0.apk").as_os_str(),
    ])
    .assert(0, "");
    assert!(dir.join("root/usr/bin/hello").is_file());
}
