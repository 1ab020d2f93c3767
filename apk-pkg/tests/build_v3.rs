//! Writing apk v3 (ADB) packages and indexes.
//!
//! * Against apk-tools 3.0.6 (`$APK_CORPUS/apk3-made`, skipped with a note when `APK_CORPUS`
//!   is unset, a failure when it is set but unreadable): the same trees, metadata and key as
//!   `inputs.tar` and `keys/` must give the same inner streams (ADB block, signature, DATA
//!   blocks) byte for byte, the same `adbdump` text, files our reader verifies, and the same
//!   compressed bytes wherever the deflate encoder allows (see `compressed_differences`).
//! * Without the corpus: build → read back → same tree; index → `Index::from_adb_bytes`;
//!   tampering refused.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use apk_index::adb::{self, AdbFile, Compression, IndexWriter, Package, ReadOptions};
use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_index::{Index, IndexOptions, KeySet, PackageInfo};
use apk_pkg::{AdbIndexBuilder, BuildOptions, Extractor, PackageBuilder, ScriptKind};
use rand::SeedableRng;
use sha2::{Digest, Sha256};

/// `$APK_CORPUS/apk3-made`, or `None` with a note.
fn apk3() -> Option<PathBuf> {
    let Some(corpus) = std::env::var_os("APK_CORPUS") else {
        eprintln!("note: APK_CORPUS is not set: skipping the v3 writer corpus test");
        return None;
    };
    let dir = PathBuf::from(corpus).join("apk3-made");
    assert!(
        dir.join("inputs.tar").is_file() && dir.join("keys/test@example-1.rsa").is_file(),
        "APK_CORPUS is set but {} is not readable",
        dir.display()
    );
    Some(dir)
}

/// The mtime of every file in `inputs.tar` (whole seconds).
const INPUT_MTIME: u64 = 1_795_801_122;

/// One package of the sample, as it was made with apk-tools 3's `mkpkg`.
struct Spec {
    file: &'static str,
    info: &'static [(&'static str, &'static str)],
    tree: &'static str,
    scripts: &'static [(ScriptKind, &'static str)],
    triggers: &'static [&'static str],
    compression: Compression,
    signed: bool,
}

const HELLO3_INFO: &[(&str, &str)] = &[
    ("name", "hello3"),
    ("version", "1.0-r0"),
    ("description", "hello in v3 format"),
    ("arch", "x86_64"),
    ("license", "MIT"),
    ("origin", "hello3"),
    ("depends", "so:libgreet.so.2"),
];
const HELLO3_BARE_INFO: &[(&str, &str)] = &[
    ("name", "hello3"),
    ("version", "1.0-r0"),
    ("arch", "x86_64"),
    ("depends", "so:libgreet.so.2"),
];

fn specs() -> Vec<Spec> {
    vec![
        Spec {
            file: "x86_64/hello3-1.0-r0.apk",
            info: HELLO3_INFO,
            tree: "t/hello",
            scripts: &[(ScriptKind::PostInstall, "post-install.sh")],
            triggers: &[],
            compression: Compression::Deflate,
            signed: true,
        },
        Spec {
            file: "x86_64/libgreet-2.1-r0.apk",
            info: &[
                ("name", "libgreet"),
                ("version", "2.1-r0"),
                ("description", "greeting library"),
                ("arch", "x86_64"),
                ("license", "MIT"),
                ("provides", "so:libgreet.so.2=2"),
            ],
            tree: "t/lib",
            scripts: &[],
            triggers: &[],
            compression: Compression::Deflate,
            signed: true,
        },
        Spec {
            file: "x86_64/trig-1-r0.apk",
            info: &[("name", "trig"), ("version", "1-r0"), ("arch", "x86_64")],
            tree: "t/trig",
            scripts: &[(ScriptKind::Trigger, "trigger.sh")],
            triggers: &["/usr/share/foo/*"],
            compression: Compression::Deflate,
            signed: true,
        },
        Spec {
            file: "x86_64/fooplug-1-r0.apk",
            info: &[("name", "fooplug"), ("version", "1-r0"), ("arch", "x86_64")],
            tree: "t/plug",
            scripts: &[],
            triggers: &[],
            compression: Compression::Deflate,
            signed: true,
        },
        Spec {
            file: "variants/hello3-uncompressed.apk",
            info: HELLO3_BARE_INFO,
            tree: "t/hello",
            scripts: &[],
            triggers: &[],
            compression: Compression::None,
            signed: true,
        },
        Spec {
            file: "variants/hello3-unsigned.apk",
            info: HELLO3_BARE_INFO,
            tree: "t/hello",
            scripts: &[],
            triggers: &[],
            compression: Compression::Deflate,
            signed: false,
        },
        Spec {
            file: "variants/hello3-zstd.apk",
            info: HELLO3_BARE_INFO,
            tree: "t/hello",
            scripts: &[],
            triggers: &[],
            compression: Compression::Zstd { level: 0 },
            signed: true,
        },
    ]
}

fn info_from(pairs: &[(&str, &str)]) -> PackageInfo {
    let mut info = PackageInfo::default();
    for (key, value) in pairs {
        match *key {
            "name" => info.name = (*value).to_owned(),
            "version" => info.version = (*value).to_owned(),
            "description" => info.description = (*value).to_owned(),
            "arch" => info.arch = Some((*value).to_owned()),
            "license" => info.license = (*value).to_owned(),
            "origin" => info.origin = Some((*value).to_owned()),
            "depends" => info.depends.push(value.parse().unwrap()),
            "provides" => info.provides.push(value.parse().unwrap()),
            other => panic!("unexpected key {other}"),
        }
    }
    info
}

fn build(spec: &Spec, inputs: &Path, key: &SigningKey) -> Vec<u8> {
    let mut options = BuildOptions::default();
    options.mtime = INPUT_MTIME;
    options.adb_compression = spec.compression;
    let mut builder = PackageBuilder::with_options(info_from(spec.info), options);
    builder.add_tree(inputs.join(spec.tree)).unwrap();
    for (kind, file) in spec.scripts {
        builder.script(*kind, std::fs::read(inputs.join(file)).unwrap());
    }
    builder.triggers(spec.triggers.iter().copied());
    if spec.signed {
        builder.sign_with(key, SignatureAlgorithm::RsaSha512);
    }
    let mut out = Vec::new();
    let built = builder.write_v3(&mut out).unwrap();
    assert_eq!(built.size, out.len() as u64);
    out
}

fn inner(file: &[u8]) -> Vec<u8> {
    adb::decompress(file, &ReadOptions::default())
        .unwrap()
        .into_owned()
}

fn unpack_inputs(apk3: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let tar = std::fs::File::open(apk3.join("inputs.tar")).unwrap();
    let mut archive = tar::Archive::new(tar);
    archive.set_preserve_permissions(true);
    archive.unpack(dir.path()).unwrap();
    dir
}

fn corpus_key(apk3: &Path) -> (SigningKey, KeySet) {
    let key = SigningKey::from_file(apk3.join("keys/test@example-1.rsa")).unwrap();
    let mut keys = KeySet::new();
    keys.add_pem(
        "test@example-1.rsa.pub",
        &std::fs::read(apk3.join("keys/test@example-1.rsa.pub")).unwrap(),
    )
    .unwrap();
    (key, keys)
}

#[test]
fn packages_match_apk_tools_3() {
    let Some(apk3) = apk3() else { return };
    let inputs = unpack_inputs(&apk3);
    let (key, keys) = corpus_key(&apk3);
    let mut compressed_differences = Vec::new();
    for spec in specs() {
        let ours = build(&spec, inputs.path(), &key);
        let theirs = std::fs::read(apk3.join(spec.file)).unwrap();
        // The inner stream (ADB block, SIG block, DATA blocks) is identical.
        assert!(
            inner(&ours) == inner(&theirs),
            "{}: inner stream differs",
            spec.file
        );
        // The same adbdump text, and the expected file's.
        let name = Path::new(spec.file).file_name().unwrap().to_str().unwrap();
        let expected =
            std::fs::read_to_string(apk3.join(format!("expected/{name}.adbdump.txt"))).unwrap();
        let dump = adb::dump_bytes(&ours, None, &ReadOptions::default()).unwrap();
        assert_eq!(String::from_utf8(dump).unwrap(), expected, "{name}");
        // Our reader verifies it with the test key (or finds it unsigned).
        let verified = adb::verify_bytes(&ours, &keys, &ReadOptions::default());
        if spec.signed {
            verified.unwrap();
        } else {
            assert!(matches!(verified, Err(adb::AdbError::Unsigned)));
        }
        // The compressed file: identical without compression and where the deflate encoder
        // makes the same choices as zlib's (it does not on the incompressible 50 kB and
        // 300 kB files); zstd frames come from a different encoder.
        if ours != theirs {
            assert!(
                !matches!(spec.compression, Compression::None),
                "{}: uncompressed file differs",
                spec.file
            );
            compressed_differences.push(format!(
                "{} ({} bytes, apk-tools: {})",
                spec.file,
                ours.len(),
                theirs.len()
            ));
        }
    }
    eprintln!(
        "v3 packages whose compressed bytes differ from apk-tools 3 (inner streams identical): {compressed_differences:?}"
    );
    for same in ["x86_64/trig-1-r0.apk", "x86_64/fooplug-1-r0.apk"] {
        assert!(
            !compressed_differences.iter().any(|d| d.starts_with(same)),
            "{same} should be byte-identical"
        );
    }
}

#[test]
fn index_matches_apk_tools_3() {
    let Some(apk3) = apk3() else { return };
    let (key, keys) = corpus_key(&apk3);
    let files = [
        "fooplug-1-r0.apk",
        "hello3-1.0-r0.apk",
        "libgreet-2.1-r0.apk",
        "trig-1-r0.apk",
    ];
    for (signed, expected_file) in [
        (true, "x86_64/Packages.adb"),
        (false, "variants/Packages-unsigned.adb"),
    ] {
        let mut builder = AdbIndexBuilder::new();
        if signed {
            builder.description(Some("apk-rs v3 test repository".into()));
            builder.sign_with(&key);
        }
        for file in files {
            builder.add_file(apk3.join("x86_64").join(file)).unwrap();
        }
        let ours = builder.write_file(Compression::Deflate).unwrap();
        let theirs = std::fs::read(apk3.join(expected_file)).unwrap();
        assert!(
            inner(&ours) == inner(&theirs),
            "{expected_file}: inner stream differs"
        );
        let name = Path::new(expected_file)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let expected =
            std::fs::read_to_string(apk3.join(format!("expected/{name}.adbdump.txt"))).unwrap();
        let dump = adb::dump_bytes(&ours, None, &ReadOptions::default()).unwrap();
        assert_eq!(String::from_utf8(dump).unwrap(), expected, "{name}");
        // The signed index deflates to the same bytes; the unsigned one is one byte longer
        // here: zlib-rs picks one match differently from zlib at level 9.
        if signed {
            assert!(ours == theirs, "{expected_file} differs");
        } else if ours != theirs {
            eprintln!(
                "{expected_file}: compressed bytes differ ({} bytes, apk-tools: {}), inner stream identical",
                ours.len(),
                theirs.len()
            );
        }
        let index = Index::from_adb_bytes(&ours, signed.then_some(&keys), &IndexOptions::default())
            .unwrap();
        assert_eq!(index.len(), 4);
    }
}

// -- without the corpus -------------------------------------------------------------------

fn test_key() -> SigningKey {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    SigningKey::generate("v3test@example.org-1.rsa.pub", 1024, &mut rng).unwrap()
}

fn trusting(key: &SigningKey) -> KeySet {
    let mut keys = KeySet::new();
    keys.insert(key.key_name(), key.public_key());
    keys
}

/// path → (kind, mode, contents or link target), for comparing trees.
fn tree(root: &Path) -> BTreeMap<String, (char, u32, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (char, u32, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, ('l', 0, target.to_str().unwrap().as_bytes().to_vec()));
            } else if meta.is_dir() {
                out.insert(rel, ('d', mode, Vec::new()));
                walk(root, &path, out);
            } else {
                out.insert(rel, ('f', mode, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn sample_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("usr/bin")).unwrap();
    std::fs::create_dir_all(p.join("usr-local/share")).unwrap();
    std::fs::create_dir_all(p.join("etc/empty")).unwrap();
    std::fs::create_dir_all(p.join("var/secret")).unwrap();
    std::fs::set_permissions(p.join("var/secret"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(p.join("usr/bin/tool"), "#!/bin/sh\necho tool\n").unwrap();
    std::fs::set_permissions(
        p.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(p.join("usr/bin/empty"), "").unwrap();
    std::os::unix::fs::symlink("tool", p.join("usr/bin/t")).unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(p.join("usr-local/share/big.bin"), &big).unwrap();
    std::fs::hard_link(
        p.join("usr-local/share/big.bin"),
        p.join("usr-local/share/big-link.bin"),
    )
    .unwrap();
    std::fs::write(p.join("etc/tool.conf"), "x=1\n").unwrap();
    dir
}

fn sample_package(key: &SigningKey, tree: &Path, compression: Compression) -> Vec<u8> {
    let mut info = PackageInfo::new("tool", "2.0-r1");
    info.arch = Some("x86_64".into());
    info.description = "a tool".into();
    info.depends = vec!["musl".parse().unwrap(), "!conflict".parse().unwrap()];
    info.provides = vec!["cmd:tool=2.0-r1".parse().unwrap()];
    info.build_time = 1_700_000_000;
    let mut options = BuildOptions::default();
    options.adb_compression = compression;
    let mut builder = PackageBuilder::with_options(info, options);
    builder.add_tree(tree).unwrap();
    builder
        .script(ScriptKind::PostInstall, "#!/bin/sh\nexit 0\n")
        .script(ScriptKind::Trigger, "#!/bin/sh\n")
        .triggers(["/usr/share/fonts/*"])
        .sign_with(key, SignatureAlgorithm::RsaSha512);
    let mut out = Vec::new();
    builder.write_v3(&mut out).unwrap();
    out
}

#[test]
fn v3_package_round_trips() {
    let key = test_key();
    let keys = trusting(&key);
    let src = sample_tree();
    for compression in [
        Compression::None,
        Compression::Deflate,
        Compression::DeflateWithLevel { level: 1 },
        Compression::Zstd { level: 3 },
    ] {
        let apk = sample_package(&key, src.path(), compression);
        let (found, _) = adb::decompress_with_info(&apk, &ReadOptions::default()).unwrap();
        assert_eq!(found, compression);
        adb::verify_bytes(&apk, &keys, &ReadOptions::default()).unwrap();

        let stream = inner(&apk);
        let file = AdbFile::parse(&stream).unwrap();
        let package = Package::from_file(&file).unwrap();
        package.check_unique_id(&file.adb()).unwrap();
        let info = package.to_package_info().unwrap();
        assert_eq!(info.name, "tool");
        assert_eq!(info.depends.len(), 2);
        assert_eq!(info.triggers, ["/usr/share/fonts/*"]);
        // Regular files only, the hard-linked one once.
        assert_eq!(info.installed_size, 200_000 + 20 + 4);
        assert_eq!(
            package.scripts.post_install,
            Some(&b"#!/bin/sh\nexit 0\n"[..])
        );
        // `paths` is sorted bytewise: `usr-local` before `usr/bin`.
        let dirs: Vec<&str> = package.paths.iter().map(|d| d.name.unwrap_or("")).collect();
        assert_eq!(
            dirs,
            [
                "",
                "etc",
                "etc/empty",
                "usr",
                "usr-local",
                "usr-local/share",
                "usr/bin",
                "var",
                "var/secret"
            ]
        );

        let dest = tempfile::tempdir().unwrap();
        let mut extractor = Extractor::new();
        extractor
            .preserve_owner(false)
            .trusted_keys(Some(keys.clone()));
        extractor.extract_adb(&apk, dest.path()).unwrap();
        assert_eq!(tree(dest.path()), tree(src.path()), "{compression}");
    }
}

#[test]
fn v3_package_is_reproducible_and_tamper_evident() {
    let key = test_key();
    let keys = trusting(&key);
    let src = sample_tree();
    let a = sample_package(&key, src.path(), Compression::None);
    let b = sample_package(&key, src.path(), Compression::None);
    assert_eq!(a, b);

    let file = AdbFile::parse(&a).unwrap();
    let adb_end = 12 + file.adb().payload().len();
    // A flipped byte in the ADB block breaks the signature.
    let mut bad = a.clone();
    bad[40] ^= 1;
    assert!(adb::verify_bytes(&bad, &keys, &ReadOptions::default()).is_err());
    // A flipped byte in the last DATA block breaks the file hash.
    let mut bad = a.clone();
    let last = bad.len() - 9;
    bad[last] ^= 0x55;
    assert!(adb::verify_bytes(&bad, &keys, &ReadOptions::default()).is_err());
    let dest = tempfile::tempdir().unwrap();
    assert!(
        Extractor::new()
            .trusted_keys(Some(keys.clone()))
            .extract_adb(&bad, dest.path())
            .is_err()
    );
    // A stranger's key is not trusted.
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let stranger = SigningKey::generate("stranger.rsa.pub", 1024, &mut rng).unwrap();
    assert!(matches!(
        adb::verify_bytes(&a, &trusting(&stranger), &ReadOptions::default()),
        Err(adb::AdbError::UntrustedKey { .. })
    ));
    // Dropping the SIG block leaves an unsigned package.
    let sig_len = file.blocks()[1].payload.len() + 4;
    let sig_padded = sig_len.div_ceil(8) * 8;
    let mut unsigned = a[..adb_end.div_ceil(8) * 8].to_vec();
    unsigned.extend_from_slice(&a[adb_end.div_ceil(8) * 8 + sig_padded..]);
    assert!(matches!(
        adb::verify_bytes(&unsigned, &keys, &ReadOptions::default()),
        Err(adb::AdbError::Unsigned)
    ));
}

#[test]
fn index_of_v3_and_v2_packages() {
    let key = test_key();
    let keys = trusting(&key);
    let src = sample_tree();
    let dir = tempfile::tempdir().unwrap();
    let v3 = sample_package(&key, src.path(), Compression::Deflate);
    std::fs::write(dir.path().join("tool-2.0-r1.apk"), &v3).unwrap();

    let mut v2_info = PackageInfo::new("legacy", "1.0-r0");
    v2_info.arch = Some("noarch".into());
    v2_info.depends.push("tool>=2".parse().unwrap());
    let mut v2 = PackageBuilder::new(v2_info);
    v2.add_file("usr/share/legacy/readme", 0o644, "hi\n")
        .unwrap();
    v2.sign_with(&key, SignatureAlgorithm::RsaSha1);
    let mut v2_bytes = Vec::new();
    let v2_built = v2.write(&mut v2_bytes).unwrap();
    std::fs::write(dir.path().join("legacy-1.0-r0.apk"), &v2_bytes).unwrap();

    let mut builder = AdbIndexBuilder::new();
    builder
        .description(Some("test repo".into()))
        .sign_with(&key);
    builder
        .add_file(dir.path().join("tool-2.0-r1.apk"))
        .unwrap();
    builder
        .add_file(dir.path().join("legacy-1.0-r0.apk"))
        .unwrap();
    let index_bytes = builder.write_file(Compression::Deflate).unwrap();

    let index = Index::from_adb_bytes(&index_bytes, Some(&keys), &IndexOptions::default()).unwrap();
    assert_eq!(index.description(), Some("test repo"));
    let names: Vec<&str> = (0..index.len()).map(|i| index.package(i).name()).collect();
    assert_eq!(names, ["legacy", "tool"]);
    let legacy = index.package(0);
    assert_eq!(legacy.size(), v2_bytes.len() as u64);
    assert_eq!(legacy.identity(), Some(v2_built.identity));
    let tool = index.package(1);
    assert_eq!(tool.size(), v3.len() as u64);
    let stream = inner(&v3);
    let identity = Sha256::digest(AdbFile::parse(&stream).unwrap().adb().payload());
    // The index model keeps the first 20 bytes of a v3 identity, as apk does.
    assert!(identity.starts_with(tool.identity().unwrap().as_bytes()));

    // A tampered index is refused.
    let plain = {
        let mut w = IndexWriter::new();
        w.add_v3_package(
            AdbFile::parse(&stream).unwrap().adb().payload(),
            v3.len() as u64,
        )
        .unwrap();
        adb::write_file(
            adb::SchemaId::INDEX,
            &w.finish().unwrap(),
            &[&key],
            Compression::None,
        )
        .unwrap()
    };
    Index::from_adb_bytes(&plain, Some(&keys), &IndexOptions::default()).unwrap();
    let mut bad = plain.clone();
    bad[20] ^= 1;
    assert!(Index::from_adb_bytes(&bad, Some(&keys), &IndexOptions::default()).is_err());
}
