//! The v3 (ADB) reader: files made by apk-tools 3.0.6 (`$APK_CORPUS/apk3-made`), the OpenWrt
//! corpus index, hand-built files, and hostile input.
//!
//! The corpus tests are skipped (with a note) when `APK_CORPUS` is unset and fail when it is
//! set but the corpus cannot be read.

use std::io::Write;
use std::path::{Path, PathBuf};

use apk_index::adb::{
    self, AdbError, AdbFile, BlockErrorKind, DataErrorKind, IndexFile, Package, ReadOptions,
    SchemaId,
};
use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_index::{Index, IndexOptions, KeySet};
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256, Sha512};

// ---------------------------------------------------------------------------------------------
// Corpus access

fn corpus_root() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("APK_CORPUS") else {
        eprintln!("APK_CORPUS is not set: skipping the ADB corpus tests");
        return None;
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("apk3-made/README.md").is_file(),
        "APK_CORPUS={} is set but apk3-made/ is not readable",
        dir.display()
    );
    Some(dir)
}

fn apk3() -> Option<PathBuf> {
    corpus_root().map(|d| d.join("apk3-made"))
}

fn openwrt() -> Option<PathBuf> {
    corpus_root().map(|d| d.join("harryzhaozy_Build-OpenWrt-APK-Repository-Index"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The signed files of apk3-made.
const SIGNED: [&str; 7] = [
    "x86_64/Packages.adb",
    "x86_64/fooplug-1-r0.apk",
    "x86_64/hello3-1.0-r0.apk",
    "x86_64/libgreet-2.1-r0.apk",
    "x86_64/trig-1-r0.apk",
    "variants/hello3-zstd.apk",
    "variants/hello3-uncompressed.apk",
];

/// The unsigned files of apk3-made.
const UNSIGNED: [&str; 2] = [
    "variants/hello3-unsigned.apk",
    "variants/Packages-unsigned.adb",
];

fn test_keys(dir: &Path) -> KeySet {
    let mut keys = KeySet::new();
    // Named unlike the key's file on purpose: v3 matches keys by key id, not by name.
    keys.add_pem(
        "renamed.pub",
        &read(&dir.join("keys/test@example-1.rsa.pub")),
    )
    .expect("test key");
    keys
}

fn opts() -> ReadOptions {
    ReadOptions::default()
}

// ---------------------------------------------------------------------------------------------
// Corpus: trust

#[test]
fn signed_corpus_files_verify_with_the_test_key_alone() {
    let Some(dir) = apk3() else { return };
    let keys = test_keys(&dir);
    for f in SIGNED {
        let verified = adb::verify_bytes(&read(&dir.join(f)), &keys, &opts())
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(verified.key_name, "renamed.pub", "{f}");
        assert_eq!(verified.hash_alg, 4, "{f}");
        assert_eq!(
            verified.key_id,
            adb::key_id(keys.get("renamed.pub").unwrap()),
            "{f}"
        );
        // The spec's key id: 11fa5dee… for this key.
        assert_eq!(&verified.key_id[..4], &[0x11, 0xfa, 0x5d, 0xee], "{f}");
    }
    eprintln!("{} signed files verified", SIGNED.len());
}

#[test]
fn unsigned_corpus_files_are_refused_as_unsigned() {
    let Some(dir) = apk3() else { return };
    let keys = test_keys(&dir);
    for f in UNSIGNED {
        let err = adb::verify_bytes(&read(&dir.join(f)), &keys, &opts()).unwrap_err();
        assert!(matches!(err, AdbError::Unsigned), "{f}: {err}");
        assert!(err.is_untrusted());
    }
}

#[test]
fn signed_files_are_refused_without_the_key() {
    let Some(dir) = apk3() else { return };
    for f in SIGNED {
        let err = adb::verify_bytes(&read(&dir.join(f)), &KeySet::new(), &opts()).unwrap_err();
        assert!(matches!(err, AdbError::UntrustedKey { .. }), "{f}: {err}");
    }
}

/// Positions to change in a file of `len` bytes: all of them for files up to 4 KiB,
/// otherwise the first KiB (headers, the ADB and SIG blocks), the last 512 bytes and every
/// 1009th byte in between (file contents, checked through their hashes).
fn positions(len: usize) -> Vec<usize> {
    if len <= 4096 {
        return (0..len).collect();
    }
    (0..len)
        .filter(|&i| i < 1024 || i >= len - 512 || i % 1009 == 0)
        .collect()
}

/// The changes tried at `pos` in a file of `len` bytes: three masks on small files, one
/// (varying with the position) on big ones.
fn masks(len: usize, pos: usize) -> &'static [u8] {
    const ALL: [u8; 3] = [0x01, 0x80, 0xFF];
    if len <= 4096 {
        &ALL
    } else {
        &ALL[pos % 3..pos % 3 + 1]
    }
}

/// A changed byte in a file as stored is refused, unless the change is in the compression
/// wrapper and decompresses to the very same inner stream (signatures cover the inner stream
/// only, spec 1: a deflate stream has a few bits that do not change its output, and the
/// `ADBc` level byte is information only). Such a file is the authentic file.
#[test]
fn a_changed_byte_anywhere_is_refused() {
    let Some(dir) = apk3() else { return };
    let keys = test_keys(&dir);
    let (mut refused, mut same_content) = (0usize, 0usize);
    for f in SIGNED {
        let original = read(&dir.join(f));
        let inner = adb::decompress(&original, &opts()).unwrap().into_owned();
        let mut data = original.clone();
        for pos in positions(data.len()) {
            for &mask in masks(original.len(), pos) {
                data[pos] ^= mask;
                if adb::verify_bytes(&data, &keys, &opts()).is_err() {
                    refused += 1;
                } else {
                    let changed = adb::decompress(&data, &opts()).unwrap();
                    assert!(
                        *changed == *inner,
                        "{f}: byte {pos} ^ {mask:#x} changes the contents and still verifies"
                    );
                    same_content += 1;
                }
                data[pos] = original[pos];
            }
        }
    }
    eprintln!(
        "{refused} changed files refused; {same_content} changes in the compressed wrapper \
         decompress to the identical signed stream"
    );
    assert!(same_content * 100 < refused);
}

#[test]
fn changed_inner_streams_are_refused() {
    // The same on the decompressed streams, where every byte is reached.
    let Some(dir) = apk3() else { return };
    let keys = test_keys(&dir);
    let mut tried = 0usize;
    for f in SIGNED {
        let stream = adb::decompress(&read(&dir.join(f)), &opts())
            .unwrap()
            .into_owned();
        let mut data = stream.clone();
        for pos in positions(data.len()) {
            data[pos] ^= 0x10;
            assert!(
                adb::verify_bytes(&data, &keys, &opts()).is_err(),
                "{f}: inner byte {pos} changed still verifies"
            );
            data[pos] = stream[pos];
            tried += 1;
        }
    }
    eprintln!("{tried} changed inner streams refused");
}

#[test]
fn reordered_or_dropped_data_blocks_are_refused() {
    let Some(dir) = apk3() else { return };
    let keys = test_keys(&dir);
    let stream = read(&dir.join("variants/hello3-uncompressed.apk"));
    let file = AdbFile::parse(&stream).unwrap();
    let blocks: Vec<(u64, usize)> = file
        .blocks()
        .iter()
        .map(|b| (b.offset, b.payload.len()))
        .collect();
    assert_eq!(file.data_blocks().len(), 3);
    let padded = |(off, len): (u64, usize)| {
        let raw = 4 + len;
        (off as usize, off as usize + raw.div_ceil(8) * 8)
    };
    let (d1, d2, d3) = (padded(blocks[2]), padded(blocks[3]), padded(blocks[4]));
    // Swap the first two DATA blocks.
    let mut swapped = stream[..d1.0].to_vec();
    swapped.extend_from_slice(&stream[d2.0..d2.1]);
    swapped.extend_from_slice(&stream[d1.0..d1.1]);
    swapped.extend_from_slice(&stream[d3.0..]);
    let err = adb::verify_bytes(&swapped, &keys, &opts()).unwrap_err();
    assert!(
        matches!(
            err,
            AdbError::Data {
                kind: DataErrorKind::OutOfOrder { .. },
                ..
            }
        ),
        "{err}"
    );
    // Drop the last one.
    let dropped = &stream[..d3.0];
    let err = adb::verify_bytes(dropped, &keys, &opts()).unwrap_err();
    assert!(
        matches!(
            err,
            AdbError::Data {
                kind: DataErrorKind::Missing { .. },
                ..
            }
        ),
        "{err}"
    );
    // Move the SIG block after the DATA blocks.
    let sig = padded(blocks[1]);
    let mut moved = stream[..sig.0].to_vec();
    moved.extend_from_slice(&stream[sig.1..]);
    moved.extend_from_slice(&stream[sig.0..sig.1]);
    let err = adb::verify_bytes(&moved, &keys, &opts()).unwrap_err();
    assert!(
        matches!(
            err,
            AdbError::Block {
                kind: BlockErrorKind::SigAfterData,
                ..
            }
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Corpus: adbdump

#[test]
fn adbdump_matches_apk_tools_for_every_corpus_file() {
    let Some(dir) = apk3() else { return };
    let mut compared = 0;
    for f in SIGNED.iter().chain(&UNSIGNED) {
        let name = f.rsplit('/').next().unwrap();
        let expected = read(&dir.join(format!("expected/{name}.adbdump.txt")));
        let got = adb::dump_bytes(&read(&dir.join(f)), None, &opts())
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "{f}"
        );
        compared += 1;
    }
    assert_eq!(compared, 9);
    eprintln!("{compared} adbdump outputs identical");
}

#[test]
fn adbdump_with_the_trusted_key_marks_signatures_ok() {
    let Some(dir) = apk3() else { return };
    let keys = test_keys(&dir);
    let text = adb::dump_bytes(
        &read(&dir.join("x86_64/trig-1-r0.apk")),
        Some(&keys),
        &opts(),
    )
    .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("..: OK\n"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Corpus: the model

#[test]
fn the_v3_index_loads_into_the_index_model() {
    let Some(dir) = apk3() else { return };
    let keys = test_keys(&dir);
    let data = read(&dir.join("x86_64/Packages.adb"));
    let index = Index::from_adb_bytes(&data, Some(&keys), &IndexOptions::default()).unwrap();
    assert_eq!(index.len(), 4);
    assert_eq!(index.description(), Some("apk-rs v3 test repository"));
    assert_eq!(index.signed_by(), Some("renamed.pub"));
    assert!(index.problems().is_empty(), "{:?}", index.problems());
    let names: Vec<&str> = index.packages().map(|p| p.name()).collect();
    assert_eq!(names, ["fooplug", "hello3", "libgreet", "trig"]);

    let hello = index.package(1);
    assert_eq!(hello.version(), "1.0-r0");
    assert_eq!(hello.description(), "hello in v3 format");
    assert_eq!(hello.license(), "MIT");
    assert_eq!(hello.origin(), Some("hello3"));
    assert_eq!(hello.installed_size(), 300041);
    let deps: Vec<String> = hello.depends().iter().map(|d| d.to_string()).collect();
    assert_eq!(deps, ["so:libgreet.so.2"]);
    let provides: Vec<String> = index
        .package(2)
        .provides()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(provides, ["so:libgreet.so.2=2"]);

    // Every entry's hashes is SHA-256 of that package's ADB payload, its identity the first
    // 20 bytes of it (as apk-tools records `C:`), and its size is the size of the file.
    for (i, p) in index.packages().enumerate() {
        let path = dir.join(format!("x86_64/{}-{}.apk", p.name(), p.version()));
        let pkg = read(&path);
        let stream = adb::decompress(&pkg, &opts()).unwrap();
        let file = AdbFile::parse(&stream).unwrap();
        let identity = adb::package_identity(&file.adb());
        assert_eq!(index.adb_hashes(i).unwrap(), identity, "{}", p.name());
        assert_eq!(
            p.identity().unwrap().as_bytes(),
            &identity[..20],
            "{}",
            p.name()
        );
        assert!(p.identity().unwrap().to_string().starts_with("Q1"));
        assert_eq!(p.size(), pkg.len() as u64, "{}", p.name());
    }
    // hello3's `C:` in apk-tools 3's installed database after `add hello3`.
    assert_eq!(
        index.package(1).identity().unwrap().to_string(),
        "Q1dQpnUtS49XZo/onxeSZKEBrnsXs="
    );

    // The unsigned index loads without keys and is refused with them.
    let unsigned = read(&dir.join("variants/Packages-unsigned.adb"));
    assert_eq!(
        Index::from_adb_bytes(&unsigned, None, &IndexOptions::default())
            .unwrap()
            .len(),
        4
    );
    assert!(matches!(
        Index::from_adb_bytes(&unsigned, Some(&keys), &IndexOptions::default()),
        Err(AdbError::Unsigned)
    ));
}

#[test]
fn v3_packages_convert_to_package_info() {
    let Some(dir) = apk3() else { return };
    let data = read(&dir.join("x86_64/hello3-1.0-r0.apk"));
    let stream = adb::decompress(&data, &opts()).unwrap();
    let file = AdbFile::parse_schema(&stream, SchemaId::PACKAGE).unwrap();
    let package = Package::from_file(&file).unwrap();
    package.check_unique_id(&file.adb()).unwrap();
    package.check_data(file.data_blocks()).unwrap();
    let info = package.to_package_info().unwrap();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("hello3", "1.0-r0")
    );
    assert_eq!(info.arch.as_deref(), Some("x86_64"));
    assert_eq!(info.installed_size, 300041);
    assert_eq!(info.depends[0].to_string(), "so:libgreet.so.2");
    // A package's own `hashes` is its 20-byte unique id: `Q1` form.
    assert_eq!(
        info.identity.unwrap().as_bytes(),
        [
            0x38, 0xc1, 0x23, 0xd2, 0x5d, 0x3e, 0x3a, 0xaa, 0x11, 0xe4, 0xf9, 0x2c, 0x19, 0x1f,
            0x5a, 0x23, 0xd2, 0x3b, 0x2b, 0xcf
        ]
    );
    assert_eq!(
        package.scripts.post_install,
        Some(&b"#!/bin/sh\necho post-install \"$@\"\n"[..])
    );
    let files: Vec<String> = package
        .paths
        .iter()
        .flat_map(|d| d.files.iter().map(move |f| d.file_path(f)))
        .collect();
    assert_eq!(
        files,
        [
            "etc/hello/hello.conf",
            "usr/bin/hello3",
            "usr/bin/hi3",
            "usr/share/hello/blob.bin"
        ]
    );
    let hi3 = &package.paths[4].files[1];
    assert_eq!(hi3.file_target(), Some(adb::FileTarget::Symlink(b"hello3")));

    // Every package's unique id checks out.
    for f in SIGNED
        .iter()
        .chain(&UNSIGNED)
        .filter(|f| f.ends_with(".apk"))
    {
        let data = read(&dir.join(f));
        let stream = adb::decompress(&data, &opts()).unwrap();
        let file = AdbFile::parse(&stream).unwrap();
        let package = Package::from_file(&file).unwrap();
        package
            .check_unique_id(&file.adb())
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        package
            .to_package_info()
            .unwrap_or_else(|e| panic!("{f}: {e}"));
    }

    let trig = read(&dir.join("x86_64/trig-1-r0.apk"));
    let stream = adb::decompress(&trig, &opts()).unwrap();
    let info = Package::from_file(&AdbFile::parse(&stream).unwrap())
        .unwrap()
        .to_package_info()
        .unwrap();
    assert_eq!(info.triggers, ["/usr/share/foo/*"]);
}

#[test]
fn openwrt_index_loads_and_verifies_with_its_key() {
    let Some(dir) = openwrt() else { return };
    let mut keys = KeySet::new();
    keys.add_pem("apk.pub", &read(&dir.join("apk.pub")))
        .unwrap();
    let data = read(&dir.join("packages.adb"));
    assert!(data.starts_with(b"ADBd"));
    let index = Index::from_adb_bytes(&data, Some(&keys), &IndexOptions::default()).unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(index.signed_by(), Some("apk.pub"));
    assert!(index.problems().is_empty(), "{:?}", index.problems());
    let passwall = index.package(0);
    assert_eq!(passwall.name(), "luci-app-passwall");
    assert_eq!(passwall.depends().len(), 19);
    assert_eq!(passwall.size(), 835223);
    let zh = index.package(1);
    assert_eq!(zh.name(), "luci-i18n-passwall-zh-cn");
    assert!(zh.description().contains("简体中文"));

    // The corpus package: its identity is the index hash; its ECDSA signature is by a key
    // that is not in the corpus; its data blocks match their hashes.
    let pkg = read(&dir.join("luci-i18n-passwall-zh-cn-26.8.1.apk"));
    let stream = adb::decompress(&pkg, &opts()).unwrap();
    let file = AdbFile::parse(&stream).unwrap();
    assert_eq!(
        index.adb_hashes(1).unwrap(),
        adb::package_identity(&file.adb())
    );
    assert_eq!(
        zh.identity().unwrap().as_bytes(),
        &adb::package_identity(&file.adb())[..20]
    );
    assert!(matches!(
        file.verify_signature(&keys),
        Err(AdbError::UntrustedKey { .. })
    ));
    let package = Package::from_file(&file).unwrap();
    package.check_data(file.data_blocks()).unwrap();
    package.check_unique_id(&file.adb()).unwrap();
    assert_eq!(file.data_blocks().len(), 3);
    assert_eq!(package.info.tags, ["openwrt:section=luci"]);
}

// ---------------------------------------------------------------------------------------------
// Hostile input

/// Runs every reader over `data`; none may panic. Returns whether it verified.
fn exercise(data: &[u8], keys: &KeySet) -> bool {
    let options = ReadOptions { max_size: 1 << 24 };
    let _ = adb::dump_bytes(data, Some(keys), &options);
    if let Ok(stream) = adb::decompress(data, &options) {
        if let Ok(file) = AdbFile::parse(&stream) {
            let _ = adb::dump(&file, None);
            if let Ok(p) = Package::from_file(&file) {
                let _ = p.check_data(file.data_blocks());
                let _ = p.check_unique_id(&file.adb());
                let _ = p.to_package_info();
            }
            if let Ok(i) = IndexFile::from_file(&file) {
                let _ = i.to_apkindex_text();
            }
            let _ = adb::unique_id(&file.adb());
        }
    }
    let _ = Index::from_adb_bytes_with(data, None, &IndexOptions::default(), &options);
    adb::verify_bytes(data, keys, &options).is_ok()
}

#[test]
fn truncations_at_every_byte_are_errors() {
    let Some(dir) = apk3() else { return };
    let keys = test_keys(&dir);
    let mut tried = 0usize;
    for f in SIGNED {
        let data = read(&dir.join(f));
        let stream = adb::decompress(&data, &opts()).unwrap().into_owned();
        // Every truncation of the inner stream.
        for len in 0..stream.len() {
            assert!(
                !exercise(&stream[..len], &keys),
                "{f}: inner stream cut at {len} verifies"
            );
            assert!(AdbFile::parse(&stream[..len]).is_err() || len % 8 == 0);
            tried += 1;
        }
        // And of the file as stored.
        for len in positions(data.len()).into_iter().step_by(3) {
            assert!(
                adb::verify_bytes(&data[..len], &keys, &opts()).is_err(),
                "{f}: cut at {len}"
            );
            tried += 1;
        }
    }
    eprintln!("{tried} truncations refused");
}

#[test]
fn random_bit_flips_never_panic() {
    let Some(dir) = apk3() else { return };
    let keys = test_keys(&dir);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xADB);
    let mut tried = 0usize;
    for f in SIGNED.iter().chain(&UNSIGNED) {
        let data = read(&dir.join(f));
        let stream = adb::decompress(&data, &opts()).unwrap().into_owned();
        // Flip bits in the ADB block and the headers: that is where the structure is.
        let hot = stream.len().min(4096);
        for _ in 0..1500 {
            let mut d = stream.clone();
            for _ in 0..rng.gen_range(1..4) {
                let pos = rng.gen_range(0..hot);
                d[pos] ^= 1 << rng.gen_range(0..8);
            }
            let verified = exercise(&d, &keys);
            assert!(
                !(verified && SIGNED.contains(f) && d != stream),
                "{f}: flipped file verifies"
            );
            tried += 1;
        }
    }
    eprintln!("{tried} bit-flipped streams survived without panics");
}

// ---------------------------------------------------------------------------------------------
// Hand-built files (no corpus needed)

/// An ADB block header for a payload of `len` bytes and the padding after it.
fn block(kind: u32, payload: &[u8]) -> Vec<u8> {
    let raw = 4 + payload.len();
    let mut out = ((kind << 30) | raw as u32).to_le_bytes().to_vec();
    out.extend_from_slice(payload);
    out.resize(raw.div_ceil(8) * 8, 0);
    out
}

fn signing_key() -> SigningKey {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    SigningKey::generate("builder.rsa.pub", 1024, &mut rng).unwrap()
}

/// Appends a SIG block by `key` to an unsigned inner stream.
fn sign(stream: &[u8], key: &SigningKey) -> Vec<u8> {
    let file = AdbFile::parse(stream).unwrap();
    let id = adb::key_id(&key.public_key());
    let mut header = vec![0u8, 4];
    header.extend_from_slice(&id);
    let mut message = file.schema().to_bytes().to_vec();
    message.extend_from_slice(&header);
    message.extend_from_slice(&Sha512::digest(file.adb().payload()));
    let signature = key.sign(SignatureAlgorithm::RsaSha512, &message).unwrap();
    let mut payload = header;
    payload.extend_from_slice(&signature);
    let mut out = stream.to_vec();
    out.extend_from_slice(&block(1, &payload));
    out
}

fn deflate(stream: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(b"ADBd".to_vec(), flate2::Compression::best());
    enc.write_all(stream).unwrap();
    enc.finish().unwrap()
}

#[test]
fn the_spec_example_index_reads_as_described() {
    let data = adb::tests_support::tiny_index();
    assert_eq!(data.len(), 192);
    let file = AdbFile::parse(&data).unwrap();
    assert_eq!(file.schema(), SchemaId::INDEX);
    let index = IndexFile::from_file(&file).unwrap();
    let hello = &index.packages[0];
    assert_eq!(hello.arch, Some("noarch"));
    assert_eq!(hello.installed_size, Some(0));
    assert_eq!(hello.file_size, Some(160));
    assert_eq!(hello.hashes.unwrap()[..4], [0x78, 0xc0, 0xcb, 0x10]);
    let text = String::from_utf8(adb::dump(&file, None).unwrap()).unwrap();
    assert_eq!(
        text,
        "#%SCHEMA: 78646E69\n# ADB block, size: 180, compat: 0, ver: 0\ndescription: demo\n\
         packages: # 1 items\n  - name: hello\n    version: 1.0-r0\n    hashes: \
         78c0cb10c457339b7498708ac7026ebb0bd2622a92e72bea42a3d3b909dcca53\n    arch: noarch\n\
         \x20   installed-size: 0\n    file-size: 160\n    depends: # 1 items\n      - libc\n"
    );
}

#[test]
fn hand_signed_index_verifies_plain_and_deflated() {
    let key = signing_key();
    let mut keys = KeySet::new();
    keys.insert("some-name.pub", key.public_key());
    let signed = sign(&adb::tests_support::tiny_index(), &key);
    assert_eq!(
        adb::verify_bytes(&signed, &keys, &opts()).unwrap().key_name,
        "some-name.pub"
    );
    let deflated = deflate(&signed);
    assert!(adb::verify_bytes(&deflated, &keys, &opts()).is_ok());
    let index = Index::from_adb_bytes(&deflated, Some(&keys), &IndexOptions::default()).unwrap();
    assert_eq!(index.signed_by(), Some("some-name.pub"));

    // ADBc with deflate and with "none".
    let mut adbc = b"ADBc\x01\x06".to_vec();
    adbc.extend_from_slice(&deflated[4..]);
    assert!(adb::verify_bytes(&adbc, &keys, &opts()).is_ok());
    let mut stored = b"ADBc\x00\x00".to_vec();
    stored.extend_from_slice(&signed);
    assert!(adb::verify_bytes(&stored, &keys, &opts()).is_ok());
    let mut unknown = b"ADBc\x07\x00".to_vec();
    unknown.extend_from_slice(&deflated[4..]);
    assert!(matches!(
        adb::verify_bytes(&unknown, &keys, &opts()),
        Err(AdbError::UnknownCompression(7))
    ));

    // A trailing byte after the deflate stream, and a truncated deflate stream.
    let mut trailing = deflated.clone();
    trailing.push(0);
    assert!(matches!(
        adb::verify_bytes(&trailing, &keys, &opts()),
        Err(AdbError::TrailingData(1))
    ));
    for cut in 5..deflated.len() {
        assert!(
            adb::verify_bytes(&deflated[..cut], &keys, &opts()).is_err(),
            "cut {cut}"
        );
    }

    // An untrusted SIG block before the good one is skipped.
    let other =
        SigningKey::generate("other.pub", 1024, &mut rand::rngs::StdRng::seed_from_u64(4)).unwrap();
    let twice = sign(&sign(&adb::tests_support::tiny_index(), &other), &key);
    assert!(adb::verify_bytes(&twice, &keys, &opts()).is_ok());
    // A bad signature by the trusted key is reported as such.
    let mut bad = signed.clone();
    let last = bad.len() - 3;
    bad[last] ^= 1;
    assert!(matches!(
        adb::verify_bytes(&bad, &keys, &opts()),
        Err(AdbError::BadSignature { .. })
    ));
    // A size limit on decompression.
    assert!(matches!(
        adb::decompress(&deflated, &ReadOptions { max_size: 100 }),
        Err(AdbError::TooLarge { limit: 100 })
    ));
}

#[test]
fn extended_block_headers_are_read() {
    let data = adb::tests_support::tiny_index();
    let payload = &data[12..];
    let mut ext = data[..8].to_vec();
    ext.extend_from_slice(&0xC000_0000u32.to_le_bytes());
    ext.extend_from_slice(&0u32.to_le_bytes());
    ext.extend_from_slice(&(16 + payload.len() as u64).to_le_bytes());
    ext.extend_from_slice(payload);
    ext.resize(8 + (16 + payload.len()).div_ceil(8) * 8, 0);
    let file = AdbFile::parse(&ext).unwrap();
    assert!(file.blocks()[0].extended);
    assert_eq!(IndexFile::from_file(&file).unwrap().packages.len(), 1);
    // An extended header of type 3 is invalid.
    let mut bad = ext.clone();
    bad[8] = 3;
    assert!(matches!(
        AdbFile::parse(&bad),
        Err(AdbError::Block {
            kind: BlockErrorKind::BadExtendedType(3),
            ..
        })
    ));
    // Non-zero reserved word.
    let mut bad = ext;
    bad[12] = 1;
    assert!(AdbFile::parse(&bad).is_err());
}

#[test]
fn block_rules_are_enforced() {
    let data = adb::tests_support::tiny_index();
    // Missing final padding.
    let mut unpadded = data[..8].to_vec();
    unpadded.extend_from_slice(&block(0, &data[12..])[..]);
    unpadded.extend_from_slice(&block(2, &[1, 0, 0, 0, 1, 0, 0, 0, 7])[..13]);
    assert!(AdbFile::parse(&unpadded).is_err());
    // DATA in an index.
    let mut with_data = data.clone();
    with_data.extend_from_slice(&block(2, &[1, 0, 0, 0, 1, 0, 0, 0, 7]));
    assert!(matches!(
        AdbFile::parse(&with_data),
        Err(AdbError::Block {
            kind: BlockErrorKind::DataNotPackage,
            ..
        })
    ));
    // Two ADB blocks.
    let mut twice = data.clone();
    twice.extend_from_slice(&data[8..]);
    assert!(matches!(
        AdbFile::parse(&twice),
        Err(AdbError::Block {
            kind: BlockErrorKind::SecondAdb,
            ..
        })
    ));
    // A SIG block first.
    let mut sig_first = data[..8].to_vec();
    sig_first.extend_from_slice(&block(1, &[0; 20]));
    assert!(matches!(
        AdbFile::parse(&sig_first),
        Err(AdbError::Block {
            kind: BlockErrorKind::FirstNotAdb,
            ..
        })
    ));
    // Non-zero padding.
    let mut padded = data.clone();
    padded.extend_from_slice(&block(1, &[0, 4, 1, 2, 3]));
    let last = padded.len() - 1;
    padded[last] = 1;
    assert!(matches!(
        AdbFile::parse(&padded),
        Err(AdbError::Block {
            kind: BlockErrorKind::NonZeroPadding,
            ..
        })
    ));
    // Compat version.
    let mut compat = data.clone();
    compat[12] = 1;
    assert!(matches!(
        AdbFile::parse(&compat),
        Err(AdbError::Block {
            kind: BlockErrorKind::CompatVersion(1),
            ..
        })
    ));
    // Not ADB at all.
    assert!(matches!(
        adb::decompress(b"\x1f\x8b\x08\x00", &opts()),
        Err(AdbError::NotAdb { .. })
    ));
}

/// A payload in which one array references one object `fanout` times, and that object's
/// array references one dependency `fanout` times: `fanout²` items from `8·fanout` bytes.
fn fan_out_index(fanout: u32) -> Vec<u8> {
    let mut p: Vec<u8> = vec![0, 0, 0, 0, 0, 0, 0, 0];
    let word = |t: u32, off: usize| ((t << 28) | off as u32).to_le_bytes();
    // P+8: blob "x".
    p.extend_from_slice(&[1, b'x', 0, 0]);
    // P+12: dependency object n=2, name → "x".
    let dep = p.len();
    p.extend_from_slice(&2u32.to_le_bytes());
    p.extend_from_slice(&word(8, 8));
    // depends array: fanout items → dep.
    let deps = p.len();
    p.extend_from_slice(&(fanout + 1).to_le_bytes());
    for _ in 0..fanout {
        p.extend_from_slice(&word(0xE, dep));
    }
    // pkginfo: n=16, name → "x", depends → deps.
    let info = p.len();
    p.extend_from_slice(&16u32.to_le_bytes());
    p.extend_from_slice(&word(8, 8));
    for slot in 2..16 {
        if slot == 15 {
            p.extend_from_slice(&word(0xE, deps));
        } else {
            p.extend_from_slice(&[0; 4]);
        }
    }
    // packages array: fanout items → info.
    let pkgs = p.len();
    p.extend_from_slice(&(fanout + 1).to_le_bytes());
    for _ in 0..fanout {
        p.extend_from_slice(&word(0xE, info));
    }
    let root = p.len();
    p.extend_from_slice(&3u32.to_le_bytes());
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&word(0xE, pkgs));
    p[4..8].copy_from_slice(&word(0xE, root));
    let mut stream = b"ADB.indx".to_vec();
    stream.extend_from_slice(&block(0, &p));
    stream
}

#[test]
fn shared_values_cannot_blow_up_the_reader() {
    // Small: decodes.
    let small = fan_out_index(10);
    let file = AdbFile::parse(&small).unwrap();
    assert_eq!(IndexFile::from_file(&file).unwrap().packages.len(), 10);
    assert!(adb::dump(&file, None).is_ok());
    // 20,000 × 20,000 = 400 million items from 160 kB: refused, quickly.
    let big = fan_out_index(20_000);
    let file = AdbFile::parse(&big).unwrap();
    assert!(matches!(
        IndexFile::from_file(&file),
        Err(AdbError::Context { .. } | AdbError::TooManyItems { .. })
    ));
    assert!(adb::dump(&file, None).is_err());
    assert!(Index::from_adb_bytes(&big, None, &IndexOptions::default()).is_err());
}

#[test]
fn hostile_payload_words_are_errors() {
    // Root pointing outside, unknown types, vectors running past the end, huge blobs.
    let words: [u32; 10] = [
        0xE000_0000 | 0x0FFF_FFFF,
        0x4000_0000,
        0xF000_0008,
        0xA000_0008,
        0x9000_0008,
        0x3000_0008,
        0xD000_0004,
        0x0000_0003,
        0x8000_0007,
        0x1000_0001,
    ];
    for w in words {
        let mut p = vec![0u8; 8];
        p[4..8].copy_from_slice(&w.to_le_bytes());
        p.extend_from_slice(&[0xFF; 4]);
        let mut stream = b"ADB.pckg".to_vec();
        stream.extend_from_slice(&block(0, &p));
        let file = AdbFile::parse(&stream).unwrap();
        assert!(Package::from_file(&file).is_err(), "{w:#x}");
        assert!(adb::dump(&file, None).is_err(), "{w:#x}");
    }
}

#[test]
fn random_streams_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys = KeySet::new();
    for round in 0..3000 {
        let len = rng.gen_range(0..400);
        let mut p: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        if p.len() >= 8 {
            p[0] = 0;
            // Point the root at an object inside the payload most of the time.
            let off = rng.gen_range(0..p.len() as u32);
            p[4..8].copy_from_slice(&(0xE000_0000 | off).to_le_bytes());
        }
        let schema: &[u8] = [b"pckg", b"indx", b"idb\0"][round % 3];
        let mut stream = b"ADB.".to_vec();
        stream.extend_from_slice(schema);
        stream.extend_from_slice(&block(0, &p));
        if round % 2 == 0 {
            stream.extend_from_slice(&block(2, &[1, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3]));
        }
        exercise(&stream, &keys);
        exercise(&deflate(&stream), &keys);
        // Raw garbage behind each wrapper.
        let garbage: Vec<u8> = (0..rng.gen_range(0..64)).map(|_| rng.r#gen()).collect();
        for magic in [&b"ADBd"[..], b"ADBc\x01\x09", b"ADBc\x02\x03", b"ADB."] {
            let mut f = magic.to_vec();
            f.extend_from_slice(&garbage);
            exercise(&f, &keys);
        }
    }
}

#[test]
fn identity_is_sha256_of_the_payload() {
    let data = adb::tests_support::tiny_index();
    let file = AdbFile::parse(&data).unwrap();
    assert_eq!(
        adb::package_identity(&file.adb()).to_vec(),
        Sha256::digest(&data[12..]).to_vec()
    );
}

#[test]
fn the_tiny_package_checks_out() {
    let stream = adb::tests_support::tiny_package();
    let file = AdbFile::parse(&stream).unwrap();
    let package = Package::from_file(&file).unwrap();
    package.check_data(file.data_blocks()).unwrap();
    let text = String::from_utf8(adb::dump(&file, None).unwrap()).unwrap();
    eprintln!("{text}");
    assert!(
        text.contains("  - acl:\n      mode: 0755\n      user: root\n"),
        "{text}"
    );
    assert!(text.ends_with("        size: 2\n        mtime: 0\n        hash: 8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4\n# data block, size: 10\n"), "{text}");
}
