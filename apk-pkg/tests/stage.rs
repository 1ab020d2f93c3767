//! Tests of staged extraction ([`Extractor::stage`], [`StagedPackage::commit`] and
//! [`StagedPackage::abort`]): placements, the per-entry metadata a transaction manager records,
//! `existed`, clean-up of temporary files on every path out.

use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_index::{Checksum, ChecksumKind, KeySet, PackageInfo};
use apk_pkg::{
    BuiltPackage, ExtractError, Extractor, PackageBuilder, PackageReader, Placement, StagedKind,
    StagedPackage,
};
use rand::SeedableRng;
use sha1::{Digest, Sha1};

// The hand-made tar and package helpers of the `pkg` integration tests, for packages the
// builder would not make (no checksum records, fifos).
#[allow(dead_code)]
#[path = "pkg/util.rs"]
mod util;

use util::{Tar, TestPkg, tree};

const KEY_NAME: &str = "stage@example.org-00000001.rsa.pub";
const OTHER_KEY_NAME: &str = "other@example.org-00000002.rsa.pub";

fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let a = SigningKey::generate(KEY_NAME, 1024, &mut rng).expect("generate a key");
        let b = SigningKey::generate(OTHER_KEY_NAME, 1024, &mut rng).expect("generate a key");
        (a, b)
    })
}

fn keyset(key: &SigningKey) -> KeySet {
    let mut set = KeySet::new();
    set.insert(key.key_name(), key.public_key());
    set
}

fn sha1(data: &[u8]) -> Checksum {
    Checksum::sha1(Sha1::digest(data).into())
}

const APP: &[u8] = b"#!/bin/sh\necho app\n";
const APP_CONF: &[u8] = b"colour=blue\n";
const OTHER_CONF: &[u8] = b"size=10\n";
const README: &[u8] = b"read me\n";

/// `app 1.0-r0`: config files, a binary with a symlink and a hard link to it, a document.
fn app_builder() -> PackageBuilder {
    let mut b = PackageBuilder::new(PackageInfo::new("app", "1.0-r0"));
    b.options_mut().mtime = 1_700_000_000;
    b.add_dir("etc", 0o755)
        .and_then(|b| b.add_file("etc/app.conf", 0o644, APP_CONF))
        .and_then(|b| b.add_file("etc/other.conf", 0o600, OTHER_CONF))
        .and_then(|b| b.add_dir("usr", 0o755))
        .and_then(|b| b.add_dir("usr/bin", 0o755))
        .and_then(|b| b.add_file("usr/bin/app", 0o755, APP))
        .and_then(|b| b.add_hard_link("usr/bin/app2", "usr/bin/app"))
        .and_then(|b| b.add_symlink("usr/bin/link", "app"))
        .and_then(|b| b.add_file("usr/share/doc/app/README", 0o644, README))
        .expect("valid entries");
    b
}

fn write(builder: &PackageBuilder) -> (Vec<u8>, BuiltPackage) {
    let mut out = Vec::new();
    let built = builder.write(&mut out).expect("builds");
    (out, built)
}

fn app_package() -> Vec<u8> {
    write(&app_builder()).0
}

/// A destination inside a temporary directory, with a sibling that must never be touched.
struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join("dest")).expect("mkdir dest");
        std::fs::create_dir(tmp.path().join("outside")).expect("mkdir outside");
        std::fs::write(tmp.path().join("outside/sentinel"), b"keep me").expect("sentinel");
        Fixture { tmp }
    }

    fn dest(&self) -> PathBuf {
        self.tmp.path().join("dest")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dest().join(rel)
    }

    fn put(&self, rel: &str, content: &[u8]) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir -p");
        }
        std::fs::write(path, content).expect("write");
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    fn stage(&self, apk: &[u8], extractor: &Extractor) -> Result<StagedPackage, ExtractError> {
        let mut reader = PackageReader::new(apk).map_err(ExtractError::Read)?;
        extractor.stage(&mut reader, &self.dest())
    }

    /// The temporary files anywhere below the fixture.
    fn temp_files(&self) -> Vec<String> {
        tree(self.tmp.path())
            .into_iter()
            .filter(|p| p.contains(".apk."))
            .collect()
    }

    /// No temporary file is left and the sibling directory is untouched.
    #[track_caller]
    fn assert_clean(&self) {
        assert_eq!(
            self.temp_files(),
            Vec::<String>::new(),
            "temporary files left"
        );
        assert_eq!(
            tree(&self.tmp.path().join("outside")),
            vec!["F sentinel".to_owned()]
        );
        assert_eq!(
            std::fs::read(self.tmp.path().join("outside/sentinel")).expect("sentinel"),
            b"keep me"
        );
    }
}

#[test]
fn commit_with_install_install_as_and_discard() {
    let f = Fixture::new();
    f.put("etc/app.conf", b"colour=red\n"); // changed by the user
    f.put("etc/other.conf", OTHER_CONF); // same as the new one
    f.put("usr/bin/link", b"a file where the package has a symlink");
    let staged = f
        .stage(&app_package(), &Extractor::new())
        .expect("stages over existing files whatever `overwrite` says");

    // Nothing is at a new final name yet; the existing files are untouched.
    assert!(!f.path("usr/bin/app").exists());
    assert!(!f.path("usr/share/doc/app/README").exists());
    assert_eq!(f.read("etc/app.conf"), b"colour=red\n");
    assert_eq!(
        f.read("usr/bin/link"),
        b"a file where the package has a symlink"
    );
    // One temporary name per non-directory entry.
    assert_eq!(f.temp_files().len(), 6, "{:#?}", f.temp_files());

    let existed: Vec<_> = staged
        .entries()
        .iter()
        .filter(|e| e.existed)
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(
        existed,
        [
            PathBuf::from("etc/app.conf"),
            PathBuf::from("etc/other.conf"),
            PathBuf::from("usr/bin/link"),
        ]
    );

    let mut decided = Vec::new();
    let summary = staged
        .commit(|e| {
            decided.push(e.path.clone());
            if e.path == Path::new("etc/app.conf") {
                Placement::InstallAs(OsString::from("app.conf.apk-new"))
            } else if e.path == Path::new("etc/other.conf") {
                Placement::Discard
            } else {
                Placement::Install
            }
        })
        .expect("commits");

    // `decide` saw each non-directory entry once, in archive order.
    assert_eq!(
        decided,
        [
            "etc/app.conf",
            "etc/other.conf",
            "usr/bin/app",
            "usr/bin/app2",
            "usr/bin/link",
            "usr/share/doc/app/README",
        ]
        .map(PathBuf::from)
    );
    assert_eq!(
        tree(&f.dest()),
        [
            "D etc",
            "D usr",
            "D usr/bin",
            "D usr/share",
            "D usr/share/doc",
            "D usr/share/doc/app",
            "F etc/app.conf",
            "F etc/app.conf.apk-new",
            "F etc/other.conf",
            "F usr/bin/app",
            "F usr/bin/app2",
            "F usr/share/doc/app/README",
            "L usr/bin/link -> app",
        ]
    );
    assert_eq!(f.read("etc/app.conf"), b"colour=red\n");
    assert_eq!(f.read("etc/app.conf.apk-new"), APP_CONF);
    assert_eq!(f.read("etc/other.conf"), OTHER_CONF);
    // The discarded copy did not touch the existing file's metadata either.
    let other = std::fs::metadata(f.path("etc/other.conf")).expect("stat");
    assert_ne!(other.mtime(), 1_700_000_000);
    assert_eq!(f.read("usr/bin/app"), APP);
    assert_eq!(f.read("usr/bin/app2"), APP);
    assert_eq!(f.read("usr/share/doc/app/README"), README);
    let app = std::fs::metadata(f.path("usr/bin/app")).expect("stat");
    let app2 = std::fs::metadata(f.path("usr/bin/app2")).expect("stat");
    assert_eq!(app.ino(), app2.ino(), "hard link shares the inode");
    assert_eq!(app.permissions().mode() & 0o7777, 0o755);
    assert_eq!(app.mtime(), 1_700_000_000);
    let conf_new = std::fs::metadata(f.path("etc/app.conf.apk-new")).expect("stat");
    assert_eq!(conf_new.mtime(), 1_700_000_000);
    // Directory attributes were applied at commit.
    let bin = std::fs::metadata(f.path("usr/bin")).expect("stat");
    assert_eq!(bin.permissions().mode() & 0o7777, 0o755);
    assert_eq!(bin.mtime(), 1_700_000_000);

    // The counts cover what was installed, not what was discarded.
    assert_eq!(summary.files, 3);
    assert_eq!(summary.hardlinks, 1);
    assert_eq!(summary.symlinks, 1);
    assert_eq!(summary.devices, 0);
    assert_eq!(summary.directories, 6);
    assert_eq!(
        summary.bytes,
        (APP_CONF.len() + APP.len() + README.len()) as u64
    );
    f.assert_clean();
}

#[test]
fn entries_carry_kind_metadata_and_checksums() {
    let builder = app_builder();
    let (apk, built) = write(&builder);
    let f = Fixture::new();
    let staged = f.stage(&apk, &Extractor::new()).expect("stages");
    assert_eq!(staged.dest(), f.dest());
    assert_eq!(staged.summary().identity(), built.identity);

    // Every entry (directories included) in archive order, which is the builder's order.
    let paths: Vec<_> = staged
        .entries()
        .iter()
        .map(|e| e.path.display().to_string())
        .collect();
    let expected: Vec<_> = builder.paths().map(str::to_owned).collect();
    assert_eq!(paths, expected);

    let entry = |p: &str| {
        staged
            .entries()
            .iter()
            .find(|e| e.path == Path::new(p))
            .unwrap_or_else(|| panic!("no entry {p}"))
    };
    let app = entry("usr/bin/app");
    assert_eq!(app.kind, StagedKind::File);
    assert_eq!(app.checksum, Some(sha1(APP)));
    assert_eq!(app.size, APP.len() as u64);
    assert_eq!(app.mode, 0o755);
    assert_eq!(app.mtime, 1_700_000_000);
    assert_eq!((app.uid, app.gid), (0, 0));
    assert!(!app.existed);
    assert!(app.xattrs.is_empty());

    let conf = entry("etc/other.conf");
    assert_eq!(conf.checksum, Some(sha1(OTHER_CONF)));
    assert_eq!(conf.mode, 0o600);
    // The checksum is what the installed database's `Z:` line holds.
    assert_eq!(
        conf.checksum.map(|c| c.to_string()),
        Some(sha1(OTHER_CONF).to_string())
    );
    assert!(
        conf.checksum
            .map(|c| c.to_string())
            .is_some_and(|z| z.starts_with("Q1"))
    );

    let link = entry("usr/bin/link");
    assert_eq!(
        link.kind,
        StagedKind::Symlink {
            target: PathBuf::from("app")
        }
    );
    assert_eq!(link.checksum, Some(sha1(b"app")));
    assert_eq!(link.size, 0);

    let hard = entry("usr/bin/app2");
    assert_eq!(
        hard.kind,
        StagedKind::HardLink {
            target: PathBuf::from("usr/bin/app")
        }
    );
    assert_eq!(hard.checksum, Some(sha1(APP)));
    assert_eq!(hard.size, APP.len() as u64);

    for dir in ["etc", "usr", "usr/bin", "usr/share", "usr/share/doc/app"] {
        let d = entry(dir);
        assert_eq!(d.kind, StagedKind::Directory);
        assert_eq!(d.checksum, None);
        assert_eq!(d.size, 0);
        assert!(!d.existed);
        assert!(f.path(dir).is_dir(), "{dir} is created while staging");
    }
    assert_eq!(entry("usr/bin").mode, 0o755);

    let summary = staged.commit(|_| Placement::Install).expect("commits");
    assert_eq!(summary.files, 4);
    assert_eq!(summary.hardlinks, 1);
    assert_eq!(summary.symlinks, 1);
    f.assert_clean();
}

#[test]
fn checksums_are_computed_when_the_package_has_none() {
    let mut data = Tar::new();
    data.dir("etc");
    // A file with no checksum record at all.
    data.header(b"etc/plain", b'0', 0o644, 5, b"");
    data.data(b"plain");
    // A file with only a legacy MD5 record (not a SHA-1 the installed db could use).
    data.pax(&[(
        "APK-TOOLS.checksum.MD5",
        b"0123456789abcdef0123456789abcdef".as_slice(),
    )]);
    data.header(b"etc/md5", b'0', 0o644, 3, b"");
    data.data(b"md5");
    data.hardlink("etc/plain-link", "etc/plain");
    data.symlink("etc/sym", "/usr/lib/target");
    data.special("etc/fifo", b'6');
    data.end();
    let apk = TestPkg::new().unsigned().with_data(data).build();
    let f = Fixture::new();
    let mut extractor = Extractor::new();
    extractor.allow_devices(true);
    let staged = f.stage(&apk, &extractor).expect("stages");
    let checksums: Vec<_> = staged
        .entries()
        .iter()
        .map(|e| (e.path.display().to_string(), e.kind.clone(), e.checksum))
        .collect();
    assert_eq!(
        checksums,
        [
            ("etc".to_owned(), StagedKind::Directory, None),
            (
                "etc/plain".to_owned(),
                StagedKind::File,
                Some(sha1(b"plain"))
            ),
            ("etc/md5".to_owned(), StagedKind::File, Some(sha1(b"md5"))),
            (
                "etc/plain-link".to_owned(),
                StagedKind::HardLink {
                    target: PathBuf::from("etc/plain")
                },
                Some(sha1(b"plain"))
            ),
            (
                "etc/sym".to_owned(),
                StagedKind::Symlink {
                    target: PathBuf::from("/usr/lib/target")
                },
                Some(sha1(b"/usr/lib/target"))
            ),
            ("etc/fifo".to_owned(), StagedKind::Device, None),
        ]
    );
    for e in staged.entries() {
        if let Some(c) = e.checksum {
            assert_eq!(c.kind(), ChecksumKind::Sha1, "{}", e.path.display());
        }
    }
    let summary = staged.commit(|_| Placement::Install).expect("commits");
    assert_eq!(summary.devices, 1);
    assert_eq!(summary.files, 2);
    assert_eq!(summary.hardlinks, 1);
    assert!(
        std::fs::symlink_metadata(f.path("etc/fifo"))
            .expect("lstat")
            .file_type()
            .is_fifo()
    );
    assert_eq!(f.read("etc/plain-link"), b"plain");
    f.assert_clean();
}

#[test]
fn a_hard_link_survives_its_discarded_source() {
    let f = Fixture::new();
    f.put("usr/bin/app", b"old app");
    let staged = f.stage(&app_package(), &Extractor::new()).expect("stages");
    staged
        .commit(|e| {
            if e.path == Path::new("usr/bin/app") {
                Placement::Discard
            } else {
                Placement::Install
            }
        })
        .expect("commits");
    assert_eq!(f.read("usr/bin/app"), b"old app");
    assert_eq!(f.read("usr/bin/app2"), APP);
    // And installed under another name, the link still has the new contents.
    let f = Fixture::new();
    let staged = f.stage(&app_package(), &Extractor::new()).expect("stages");
    staged
        .commit(|e| {
            if e.path == Path::new("usr/bin/app") {
                Placement::InstallAs("app.apk-new".into())
            } else {
                Placement::Install
            }
        })
        .expect("commits");
    assert!(!f.path("usr/bin/app").exists());
    assert_eq!(f.read("usr/bin/app.apk-new"), APP);
    assert_eq!(f.read("usr/bin/app2"), APP);
    f.assert_clean();
}

#[test]
fn install_replaces_an_existing_symlink_without_following_it() {
    let f = Fixture::new();
    std::fs::create_dir(f.path("etc")).expect("mkdir");
    let outside = f.tmp.path().join("outside/sentinel");
    std::os::unix::fs::symlink(&outside, f.path("etc/app.conf")).expect("symlink");
    let staged = f.stage(&app_package(), &Extractor::new()).expect("stages");
    let conf = staged
        .entries()
        .iter()
        .find(|e| e.path == Path::new("etc/app.conf"))
        .expect("entry");
    assert!(
        conf.existed,
        "a symlink at the final name counts as existing"
    );
    staged.commit(|_| Placement::Install).expect("commits");
    let meta = std::fs::symlink_metadata(f.path("etc/app.conf")).expect("lstat");
    assert!(meta.file_type().is_file());
    assert_eq!(f.read("etc/app.conf"), APP_CONF);
    f.assert_clean();
}

#[test]
fn abort_removes_the_temporary_files_and_touches_nothing_else() {
    let f = Fixture::new();
    f.put("etc/app.conf", b"mine\n");
    f.put("usr/bin/app", b"old app");
    let before = tree(&f.dest());
    let staged = f.stage(&app_package(), &Extractor::new()).expect("stages");
    assert!(!f.temp_files().is_empty());
    staged.abort();
    assert_eq!(f.read("etc/app.conf"), b"mine\n");
    assert_eq!(f.read("usr/bin/app"), b"old app");
    // Only the directories created while staging were added.
    let after: Vec<_> = tree(&f.dest())
        .into_iter()
        .filter(|p| !p.starts_with("D "))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|p| !p.starts_with("D "))
        .collect();
    assert_eq!(after, before);
    f.assert_clean();
}

#[test]
fn dropping_an_uncommitted_stage_removes_the_temporary_files() {
    let f = Fixture::new();
    f.put("etc/other.conf", b"mine\n");
    {
        let staged = f.stage(&app_package(), &Extractor::new()).expect("stages");
        assert_eq!(staged.entries().len(), 12);
        assert_eq!(f.temp_files().len(), 6);
    }
    assert_eq!(f.read("etc/other.conf"), b"mine\n");
    assert_eq!(
        tree(&f.dest())
            .into_iter()
            .filter(|p| !p.starts_with("D "))
            .collect::<Vec<_>>(),
        ["F etc/other.conf"]
    );
    f.assert_clean();
}

#[test]
fn a_directory_in_the_way_is_still_an_error() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.path("usr/bin/app")).expect("mkdir -p");
    std::fs::write(f.path("usr/bin/app/keep"), b"x").expect("write");
    match f.stage(&app_package(), &Extractor::new()) {
        Err(ExtractError::AlreadyExists { path }) => assert_eq!(path, Path::new("usr/bin/app")),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(f.read("usr/bin/app/keep"), b"x");
    assert!(!f.path("etc/app.conf").exists());
    f.assert_clean();
}

#[test]
fn extract_without_overwrite_still_refuses_existing_files() {
    let f = Fixture::new();
    f.put("usr/share/doc/app/README", b"mine");
    let apk = app_package();
    let mut reader = PackageReader::new(&apk[..]).expect("reads");
    match Extractor::new().extract(&mut reader, &f.dest()) {
        Err(ExtractError::AlreadyExists { path }) => {
            assert_eq!(path, Path::new("usr/share/doc/app/README"))
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(f.read("usr/share/doc/app/README"), b"mine");
    assert!(!f.path("usr/bin/app").exists());
    f.assert_clean();
}

#[test]
fn install_as_refuses_names_that_are_not_plain() {
    for bad in ["", ".", "..", "sub/app.conf", "../app.conf", "a\0b"] {
        let f = Fixture::new();
        f.put("etc/app.conf", b"mine\n");
        let staged = f.stage(&app_package(), &Extractor::new()).expect("stages");
        let result = staged.commit(|e| {
            if e.path == Path::new("usr/bin/app") {
                Placement::InstallAs(bad.into())
            } else {
                Placement::Install
            }
        });
        match result {
            Err(ExtractError::InvalidPlacement { path, name }) => {
                assert_eq!(path, Path::new("usr/bin/app"));
                assert_eq!(name, OsString::from(bad));
            }
            other => panic!("{bad:?}: expected InvalidPlacement, got {other:?}"),
        }
        // Refused before anything was renamed.
        assert_eq!(f.read("etc/app.conf"), b"mine\n", "{bad:?}");
        assert!(!f.path("usr/bin/link").exists(), "{bad:?}");
        assert!(!f.path("usr/share/doc/app/README").exists(), "{bad:?}");
        f.assert_clean();
    }
}

#[test]
fn a_commit_failing_part_way_removes_what_is_left() {
    let f = Fixture::new();
    // Renaming a file over a non-empty directory fails.
    std::fs::create_dir_all(f.path("usr/bin/blocker/inside")).expect("mkdir -p");
    let staged = f.stage(&app_package(), &Extractor::new()).expect("stages");
    let result = staged.commit(|e| {
        if e.path == Path::new("usr/bin/app2") {
            Placement::InstallAs("blocker".into())
        } else {
            Placement::Install
        }
    });
    match result {
        Err(ExtractError::Io { path, .. }) => assert_eq!(path, f.path("usr/bin/blocker")),
        other => panic!("expected Io, got {other:?}"),
    }
    // What came before the failure is in place, what came after is gone.
    assert_eq!(f.read("etc/app.conf"), APP_CONF);
    assert_eq!(f.read("usr/bin/app"), APP);
    assert!(f.path("usr/bin/blocker/inside").is_dir());
    assert!(std::fs::symlink_metadata(f.path("usr/bin/link")).is_err());
    assert!(!f.path("usr/share/doc/app/README").exists());
    f.assert_clean();
}

#[test]
fn a_panicking_decide_leaves_no_temporary_files() {
    let f = Fixture::new();
    let staged = f.stage(&app_package(), &Extractor::new()).expect("stages");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        staged.commit(|e| {
            if e.path == Path::new("usr/bin/link") {
                panic!("decide failed");
            }
            Placement::Install
        })
    }));
    assert!(result.is_err());
    assert!(!f.path("usr/bin/app").exists());
    f.assert_clean();
}

#[test]
fn signatures_are_checked_before_staging_returns() {
    let (key, other) = keys();
    let mut builder = app_builder();
    builder.sign_with(key, SignatureAlgorithm::RsaSha1);
    let (apk, built) = write(&builder);

    let f = Fixture::new();
    let mut extractor = Extractor::new();
    extractor.trusted_keys(Some(keyset(key)));
    let staged = f.stage(&apk, &extractor).expect("trusted");
    assert_eq!(staged.summary().identity(), built.identity);
    assert_eq!(staged.summary().signatures().len(), 1);
    let summary = staged.commit(|_| Placement::Install).expect("commits");
    assert_eq!(summary.package.identity(), built.identity);
    f.assert_clean();

    let f = Fixture::new();
    extractor.trusted_keys(Some(keyset(other)));
    match f.stage(&apk, &extractor) {
        Err(ExtractError::Untrusted(_)) => {}
        other => panic!("expected Untrusted, got {other:?}"),
    }
    assert_eq!(tree(&f.dest()), Vec::<String>::new());
    f.assert_clean();
}

#[test]
fn a_tampered_file_fails_staging_without_leftovers() {
    let mut data = Tar::new();
    data.dir("etc")
        .file("etc/good", b"good")
        .file_bad_checksum("etc/bad", b"bad")
        .end();
    let apk = TestPkg::new().unsigned().with_data(data).build();
    let f = Fixture::new();
    f.put("etc/good", b"mine");
    assert!(f.stage(&apk, &Extractor::new()).is_err());
    assert_eq!(f.read("etc/good"), b"mine");
    assert!(!f.path("etc/bad").exists());
    f.assert_clean();
}

/// Temporary names left by an interrupted run (`.apk.` + 48 hex digits of SHA-256 over the
/// package name, a NUL and the path) are replaced, whatever they hold.
#[test]
fn leftover_temporaries_of_an_interrupted_run_are_replaced() {
    use sha2::{Digest as _, Sha256};
    let f = Fixture::new();
    let temp = |path: &str| {
        let mut h = Sha256::new();
        h.update(b"app\0");
        h.update(path.as_bytes());
        let hex: String = h.finalize()[..24]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(".apk.{hex}")
    };
    let conf_tmp = format!("etc/{}", temp("etc/app.conf"));
    let link_tmp = format!("usr/bin/{}", temp("usr/bin/link"));
    f.put(&conf_tmp, b"half-written by a killed run");
    f.put(&link_tmp, b"not a symlink");
    let data = app_package();
    let mut reader = PackageReader::new(&data[..]).expect("reads");
    Extractor::new()
        .extract(&mut reader, &f.dest())
        .expect("extracts");
    assert_eq!(std::fs::read(f.path("etc/app.conf")).unwrap(), APP_CONF);
    assert_eq!(
        std::fs::read_link(f.path("usr/bin/link")).unwrap(),
        Path::new("app")
    );
    assert!(!f.path(&conf_tmp).exists());
    assert!(std::fs::symlink_metadata(f.path(&link_tmp)).is_err());
}
