//! Extraction of apk v3 (ADB) packages: the apk-tools 3.0.6 sample (`$APK_CORPUS/apk3-made`,
//! skipped with a note when `APK_CORPUS` is unset) and hand-built hostile packages.

use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use apk_index::KeySet;
use apk_index::adb::tests_support::{RawPayload, raw_block};
use apk_pkg::{AdbPackage, AdbPackageReader, ExtractError, Extractor, Placement, ScriptKind};
use sha2::{Digest, Sha256};

// The fuzz target `extract_adb`'s checks: `comparable` tells which staged entries must agree.
#[allow(dead_code)]
#[path = "../../fuzz/checks/extract_adb.rs"]
mod extract_adb_check;
#[allow(dead_code)]
#[path = "../../fuzz/checks/tree_walk.rs"]
mod tree_walk;

use extract_adb_check::comparable;

fn apk3() -> Option<PathBuf> {
    let Some(corpus) = std::env::var_os("APK_CORPUS") else {
        eprintln!("APK_CORPUS is not set: skipping the v3 extraction corpus test");
        return None;
    };
    let dir = PathBuf::from(corpus).join("apk3-made");
    assert!(
        dir.join("README.md").is_file(),
        "APK_CORPUS is set but {} is not readable",
        dir.display()
    );
    Some(dir)
}

/// `find . | sort` with type, mode, size and SHA-256, the format of
/// `expected/hello3-extract-listing.txt`.
fn listing(root: &Path) -> String {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = format!("./{}", path.strip_prefix(root).unwrap().display());
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let line = if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                format!("{rel} symlink {}", target.display())
            } else if meta.is_dir() {
                walk(root, &path, out);
                format!("{rel} dir {mode:o}")
            } else {
                let data = std::fs::read(&path).unwrap();
                let hash: String = Sha256::digest(&data)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("{rel} file {mode:o} {} {hash}", meta.size())
            };
            out.push((rel, line));
        }
    }
    let mut lines = Vec::new();
    walk(root, root, &mut lines);
    lines.sort();
    lines.into_iter().fold(String::new(), |mut s, (_, l)| {
        let _ = writeln!(s, "{l}");
        s
    })
}

/// The key that signed the apk3-made files, trusted under `name` (v3 matches keys by id).
fn test_key(dir: &Path, name: &str) -> KeySet {
    let mut keys = KeySet::new();
    keys.add_pem(
        name,
        &std::fs::read(dir.join("keys/test@example-1.rsa.pub")).unwrap(),
    )
    .unwrap();
    keys
}

/// hello3 as apk-tools 3 wrote it, compressed three ways.
const HELLO3: [&str; 3] = [
    "x86_64/hello3-1.0-r0.apk",
    "variants/hello3-zstd.apk",
    "variants/hello3-uncompressed.apk",
];

/// The key apk-tools 3's `hello3` packages are signed with (as `test.pub`) and the listing
/// of what they extract to.
fn hello3_expectations(dir: &Path) -> (KeySet, String) {
    let listing = dir.join("expected/hello3-extract-listing.txt");
    (
        test_key(dir, "test.pub"),
        std::fs::read_to_string(listing).unwrap(),
    )
}

fn extractor() -> Extractor {
    let mut e = Extractor::new();
    e.preserve_owner(false);
    e
}

#[test]
fn hello3_extracts_exactly_as_apk_tools_does() {
    let Some(dir) = apk3() else { return };
    let (keys, expected) = hello3_expectations(&dir);
    for f in HELLO3 {
        let data = std::fs::read(dir.join(f)).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let mut e = extractor();
        e.trusted_keys(Some(keys.clone()));
        let summary = e.extract_adb(&data, dest.path()).unwrap();
        assert_eq!(summary.verified_by.as_deref(), Some("test.pub"));
        assert_eq!((summary.files, summary.symlinks), (3, 1), "{f}");
        assert_eq!(listing(dest.path()), expected, "{f}");
    }

    // Unsigned: refused with keys, and nothing is written.
    let data = std::fs::read(dir.join("variants/hello3-unsigned.apk")).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let mut e = extractor();
    e.trusted_keys(Some(keys.clone()));
    assert!(matches!(
        e.extract_adb(&data, dest.path()),
        Err(ExtractError::Adb(_))
    ));
    assert_eq!(listing(dest.path()), "");
    // Without keys it extracts.
    extractor().extract_adb(&data, dest.path()).unwrap();
    assert_eq!(listing(dest.path()), expected);

    // Changed contents: refused, and nothing is left (not even the directories staging made).
    let mut data = std::fs::read(dir.join("variants/hello3-uncompressed.apk")).unwrap();
    let last = data.len() - 100;
    data[last] ^= 1;
    let dest = tempfile::tempdir().unwrap();
    let err = extractor().extract_adb(&data, dest.path()).unwrap_err();
    assert!(format!("{:?}", err).contains("HashMismatch"), "{err:?}");
    assert_eq!(listing(dest.path()), "");
}

/// The three apk-tools 3 packages read as they stream, one byte at a time from the source,
/// through `AdbPackageReader` and `stage_adb_reader` (what installing does).
#[test]
fn hello3_streams_from_a_reader_as_it_extracts_from_memory() {
    let Some(dir) = apk3() else { return };
    let (keys, expected) = hello3_expectations(&dir);
    for f in HELLO3 {
        let data = std::fs::read(dir.join(f)).unwrap();
        let whole = AdbPackage::new(data.clone()).unwrap();
        let source =
            std::io::BufReader::with_capacity(1, std::fs::File::open(dir.join(f)).unwrap());
        let mut reader = AdbPackageReader::new(source)
            .unwrap()
            .with_file_size(data.len() as u64);
        let streamed = reader.package();
        assert_eq!(streamed.info(), whole.info(), "{f}");
        assert_eq!(streamed.scripts(), whole.scripts(), "{f}");
        assert_eq!(streamed.identity(), whole.identity(), "{f}");
        assert_eq!(
            streamed.signature_key_ids(),
            whole.signature_key_ids(),
            "{f}"
        );
        assert_eq!(streamed.compression(), whole.compression(), "{f}");
        streamed.verify(&keys).unwrap();

        let dest = tempfile::tempdir().unwrap();
        let mut e = extractor();
        e.trusted_keys(Some(keys.clone()));
        let staged = e.stage_adb_reader(&mut reader, dest.path()).unwrap();
        let in_memory = tempfile::tempdir().unwrap();
        let staged_whole = e.stage_adb(&whole, in_memory.path()).unwrap();
        assert_eq!(
            comparable(staged.entries()),
            comparable(staged_whole.entries()),
            "{f}"
        );
        assert_eq!(staged.identity(), whole.identity(), "{f}");
        // The data is read once.
        assert!(e.stage_adb_reader(&mut reader, dest.path()).is_err());
        staged.commit(|_| Placement::Install).unwrap();
        assert_eq!(listing(dest.path()), expected, "{f}");
    }
}

#[test]
fn streamed_and_in_memory_extraction_agree_on_damaged_packages() {
    let pkg = package(&[
        (None, vec![]),
        (
            Some("a"),
            vec![
                ("f", Spec::Data(b"hello")),
                ("g", Spec::Data(b"0123456789abcdef")),
                ("l", Spec::Symlink("f")),
            ],
        ),
        (Some("a/b"), vec![("h", Spec::HardLink("a/f"))]),
    ]);
    let reference = tempfile::tempdir().unwrap();
    extractor().extract_adb(&pkg, reference.path()).unwrap();
    let good = listing(reference.path());
    let mut state = 0x9e37_79b9u32;
    for round in 0..600 {
        let mut d = pkg.clone();
        if round > 0 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let pos = state as usize % d.len();
            d[pos] ^= 1 << (state % 8);
        }
        let memory = tempfile::tempdir().unwrap();
        let streamed = tempfile::tempdir().unwrap();
        let a = extractor().extract_adb(&d, memory.path());
        let source = std::io::BufReader::with_capacity(3, &d[..]);
        let b = extractor().extract_adb_from(source, streamed.path());
        assert_eq!(a.is_ok(), b.is_ok(), "round {round}: {a:?} / {b:?}");
        let (la, lb) = (listing(memory.path()), listing(streamed.path()));
        assert_eq!(la, lb, "round {round}");
        // A refused package leaves nothing at all. (A damaged name in this unsigned package
        // can make another valid package, which both extract alike.)
        if round == 0 {
            assert_eq!(la, good);
        }
        if a.is_err() {
            assert_eq!(la, "", "round {round}: {a:?}");
        }
    }
}

#[test]
fn hello3_stages_with_the_checksums_apk_tools_3_records() {
    let Some(dir) = apk3() else { return };
    let keys = test_key(&dir, "whatever.pub");
    let data = std::fs::read(dir.join("x86_64/hello3-1.0-r0.apk")).unwrap();
    let package = AdbPackage::new(data).unwrap();
    let info = package.info();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("hello3", "1.0-r0")
    );
    assert_eq!(info.depends[0].to_string(), "so:libgreet.so.2");
    assert_eq!(info.size, 301_098);
    // The package's own unique id, and the identity the index records (`C:` in the
    // installed database after `add` from the repository: its first 20 bytes).
    assert_eq!(
        info.identity.unwrap().to_string(),
        "Q1OMEj0l0+OqoR5PksGR9aI9I7K88="
    );
    let identity = package.identity();
    assert_eq!(
        apk_index::Checksum::from_digest(&identity[..20], apk_index::ChecksumForm::Q1)
            .unwrap()
            .to_string(),
        "Q1dQpnUtS49XZo/onxeSZKEBrnsXs="
    );
    assert_eq!(package.scripts().len(), 1);
    assert_eq!(package.scripts()[0].0, ScriptKind::PostInstall);
    assert_eq!(
        package.scripts()[0].1,
        b"#!/bin/sh\necho post-install \"$@\"\n"
    );
    assert_eq!(package.signature_key_ids().len(), 1);
    package.verify(&keys).unwrap();
    package.check().unwrap();

    let dest = tempfile::tempdir().unwrap();
    let mut e = extractor();
    e.trusted_keys(Some(keys));
    let staged = e.stage_adb(&package, dest.path()).unwrap();
    assert_eq!(staged.verified_by(), Some("whatever.pub"));
    assert_eq!(staged.identity(), identity);
    // Path, kind, mode and `Z:` as in `expected/installed-after-add`.
    let got: Vec<String> = staged
        .entries()
        .iter()
        .map(|e| {
            let z = e.checksum.map(|c| c.to_string()).unwrap_or_default();
            format!("{} {:?} {:o} {z}", e.path.display(), e.kind, e.mode)
        })
        .collect();
    let want = [
        "etc Directory 755 ",
        "etc/hello Directory 755 ",
        "etc/hello/hello.conf File 644 Q17FXxDa/NC74V9OuVs5bAYqnOpLg=",
        "usr Directory 755 ",
        "usr/bin Directory 755 ",
        "usr/bin/hello3 File 755 Q1dZ8E8CHYICtZFpKw4MWu30EvjeE=",
        "usr/bin/hi3 Symlink { target: \"hello3\" } 777 Q1R+pwzwiHK9tK+tNDKwHZY6x9Fl8=",
        "usr/share Directory 755 ",
        "usr/share/hello Directory 755 ",
        "usr/share/hello/blob.bin File 644 Q1PVJH0TU6gRamNXFkYyqB3edqaK8=",
        "var Directory 755 ",
        "var/lib Directory 755 ",
        "var/lib/hello Directory 700 ",
    ];
    assert_eq!(got, want);
    // Nothing is at a final name before the commit; everything is after it.
    assert!(!dest.path().join("usr/bin/hello3").exists());
    let summary = staged.commit(|_| Placement::Install).unwrap();
    assert_eq!((summary.files, summary.symlinks), (3, 1));
    assert_eq!(
        listing(dest.path()),
        std::fs::read_to_string(dir.join("expected/hello3-extract-listing.txt")).unwrap()
    );

    // Aborted, a staging leaves only directories.
    let dest = tempfile::tempdir().unwrap();
    let package =
        AdbPackage::new(std::fs::read(dir.join("variants/hello3-unsigned.apk")).unwrap()).unwrap();
    assert!(matches!(
        package.verify(&KeySet::new()),
        Err(apk_index::adb::AdbError::Unsigned)
    ));
    extractor()
        .stage_adb(&package, dest.path())
        .unwrap()
        .abort();
    assert!(
        listing(dest.path()).lines().all(|l| l.contains(" dir ")),
        "{}",
        listing(dest.path())
    );
}

// ---------------------------------------------------------------------------------------------
// Hand-built packages

enum Spec<'a> {
    Data(&'a [u8]),
    Symlink(&'a str),
    HardLink(&'a str),
}

/// A directory (`None`: the root) and its files.
type DirSpec<'a> = (Option<&'a str>, Vec<(&'a str, Spec<'a>)>);

/// An unsigned package with these directories and files.
fn package(dirs: &[DirSpec<'_>]) -> Vec<u8> {
    let mut p = RawPayload::new();
    let name = p.blob(b"evil");
    let version = p.blob(b"1-r0");
    let info = p.vector(&[name, version]);
    let mut data = Vec::new();
    let mut dir_words = Vec::new();
    for (di, (dname, files)) in dirs.iter().enumerate() {
        let mut file_words = Vec::new();
        for (fi, (fname, spec)) in files.iter().enumerate() {
            let n = p.blob(fname.as_bytes());
            let word = match spec {
                Spec::Data(content) => {
                    let hash = p.blob(&Sha256::digest(content));
                    let mut payload = ((di + 1) as u32).to_le_bytes().to_vec();
                    payload.extend_from_slice(&((fi + 1) as u32).to_le_bytes());
                    payload.extend_from_slice(content);
                    data.extend_from_slice(&raw_block(2, &payload));
                    let size = 0x1000_0000 | content.len() as u32;
                    p.vector(&[n, 0, size, 0, hash])
                }
                Spec::Symlink(target) | Spec::HardLink(target) => {
                    let bits: &[u8] = if matches!(spec, Spec::Symlink(_)) {
                        b"\x00\xa0"
                    } else {
                        b"\x00\x80"
                    };
                    let t = p.blob(&[bits, target.as_bytes()].concat());
                    p.vector(&[n, 0, 0x1000_0000 | target.len() as u32, 0, 0, t])
                }
            };
            file_words.push(word);
        }
        let dn = dname.map_or(0, |d| p.blob(d.as_bytes()));
        let files = if file_words.is_empty() {
            0
        } else {
            p.vector(&file_words)
        };
        dir_words.push(p.vector(&[dn, 0, files]));
    }
    let paths = p.vector(&dir_words);
    let root = p.vector(&[info, paths]);
    let mut stream = b"ADB.pckg".to_vec();
    stream.extend_from_slice(&raw_block(0, &p.finish(root)));
    stream.extend_from_slice(&data);
    stream
}

#[test]
fn a_well_formed_hand_built_package_extracts() {
    let pkg = package(&[
        (None, vec![]),
        (
            Some("a"),
            vec![("f", Spec::Data(b"hello")), ("l", Spec::Symlink("f"))],
        ),
        (Some("b"), vec![("h", Spec::HardLink("a/f"))]),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let summary = extractor().extract_adb(&pkg, dest.path()).unwrap();
    assert_eq!(
        (summary.files, summary.symlinks, summary.hardlinks),
        (1, 1, 1)
    );
    assert_eq!(std::fs::read(dest.path().join("b/h")).unwrap(), b"hello");
}

#[test]
fn escaping_paths_are_refused_and_nothing_is_left_behind() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "dot-dot directory",
            package(&[(Some("../out"), vec![("f", Spec::Data(b"x"))])]),
        ),
        (
            "absolute directory",
            package(&[(Some("/etc"), vec![("f", Spec::Data(b"x"))])]),
        ),
        (
            "slash in a name",
            package(&[(Some("a"), vec![("../../f", Spec::Data(b"x"))])]),
        ),
        (
            "dot-dot name",
            package(&[(Some("a"), vec![("..", Spec::Data(b"x"))])]),
        ),
        (
            "through a symlink",
            package(&[
                (Some("a"), vec![("l", Spec::Symlink("/tmp"))]),
                (Some("a/l"), vec![("f", Spec::Data(b"x"))]),
            ]),
        ),
        (
            "hard link outside",
            package(&[(Some("a"), vec![("h", Spec::HardLink("../../etc/passwd"))])]),
        ),
        (
            "hard link to nothing earlier",
            package(&[(
                Some("a"),
                vec![("h", Spec::HardLink("a/z")), ("z", Spec::Data(b"x"))],
            )]),
        ),
        (
            "reserved temporary name",
            package(&[(Some("a"), vec![(".apk.0", Spec::Data(b"x"))])]),
        ),
    ];
    for (what, pkg) in cases {
        let outer = tempfile::tempdir().unwrap();
        let dest = outer.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let result = extractor().extract_adb(&pkg, &dest);
        assert!(result.is_err(), "{what}: extracted");
        // Nothing outside the destination, no file left at a final or temporary name.
        assert_eq!(
            listing(outer.path())
                .lines()
                .filter(|l| !l.contains(" dir "))
                .count(),
            0,
            "{what}: {}",
            listing(outer.path())
        );
    }
}

#[test]
fn hostile_bytes_never_panic() {
    let pkg = package(&[
        (None, vec![]),
        (
            Some("a"),
            vec![("f", Spec::Data(b"hello")), ("l", Spec::Symlink("f"))],
        ),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let mut e = extractor();
    e.overwrite(true);
    for cut in 0..pkg.len() {
        let _ = e.extract_adb(&pkg[..cut], dest.path());
    }
    let mut state = 0x1234_5678u32;
    for _ in 0..2000 {
        let mut d = pkg.clone();
        for _ in 0..3 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let pos = (state >> 8) as usize % d.len();
            d[pos] ^= 1 << (state % 8);
        }
        let _ = e.extract_adb(&d, dest.path());
    }
}
