//! `apk-rs verify` on index archives made in the test, and on Alpine's real ones when
//! `APK_CORPUS` is set.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use apk_index::archive::write_index_archive;
use apk_index::keys::{SignatureAlgorithm, SigningKey};
use rand::SeedableRng;

use crate::eqnice;
use crate::util::Dir;

const TRUSTED: &str = "trusted@example.org-00000001.rsa.pub";
const STRANGER: &str = "stranger@example.org-00000002.rsa.pub";
const INDEX: &[u8] = b"P:hello\nV:1.0-r0\nA:x86_64\nS:1\nI:1\nT:hello\nU:\nL:MIT\n\n";

/// The two test keys, generated once per test run.
fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let trusted = SigningKey::generate(TRUSTED, 1024, &mut rng).expect("generate a key");
        let stranger = SigningKey::generate(STRANGER, 1024, &mut rng).expect("generate a key");
        (trusted, stranger)
    })
}

fn trusted() -> &'static SigningKey {
    &keys().0
}

fn stranger() -> &'static SigningKey {
    &keys().1
}

/// Writes the public half of `key` into `dir` under its key name.
fn install_key(dir: &Dir, keys_dir: &str, key: &SigningKey) {
    dir.create(
        Path::new(keys_dir).join(key.key_name()),
        key.public_key().to_pem(),
    );
}

/// An index archive holding `text`, signed by `signers`.
fn index(text: &[u8], signers: &[(&SigningKey, SignatureAlgorithm)]) -> Vec<u8> {
    write_index_archive(text, Some(b"test repository"), signers).expect("write an index archive")
}

/// A directory with `keys/` trusting [`TRUSTED`] and the usual test files.
struct Fixture {
    dir: Dir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = Dir::new();
        install_key(&dir, "keys", trusted());
        // A private key kept next to the public ones must not confuse the loader.
        dir.create("keys/README", "not a key\n");
        dir.create(
            "signed.tar.gz",
            index(INDEX, &[(trusted(), SignatureAlgorithm::RsaSha1)]),
        );
        dir.create("unsigned.tar.gz", index(INDEX, &[]));
        dir.create(
            "stranger.tar.gz",
            index(INDEX, &[(stranger(), SignatureAlgorithm::RsaSha1)]),
        );
        Fixture { dir }
    }

    fn apk(&self, args: &[&str]) -> crate::util::Output {
        self.dir.apk(args)
    }
}

#[test]
fn signed_index_is_ok() {
    let f = Fixture::new();
    f.apk(&["verify", "--keys-dir", "keys", "signed.tar.gz"])
        .assert(0, "signed.tar.gz: OK\n");
}

#[test]
fn every_signature_algorithm_verifies() {
    let f = Fixture::new();
    for alg in SignatureAlgorithm::ALL {
        let name = format!("signed-{alg}.tar.gz");
        f.dir.create(&name, index(INDEX, &[(trusted(), alg)]));
        f.apk(&["verify", "--keys-dir", "keys", &name])
            .assert(0, &format!("{name}: OK\n"));
    }
}

#[test]
fn unsigned_and_untrusted_indexes_fail() {
    let f = Fixture::new();
    f.apk(&[
        "verify",
        "--keys-dir",
        "keys",
        "signed.tar.gz",
        "unsigned.tar.gz",
        "stranger.tar.gz",
    ])
    .assert(
        2,
        "signed.tar.gz: OK\nunsigned.tar.gz: UNTRUSTED\nstranger.tar.gz: UNTRUSTED\n",
    );
}

#[test]
fn the_first_trusted_signature_decides() {
    let f = Fixture::new();
    let both = index(
        INDEX,
        &[
            (stranger(), SignatureAlgorithm::RsaSha256),
            (trusted(), SignatureAlgorithm::RsaSha1),
        ],
    );
    f.dir.create("both.tar.gz", both);
    f.apk(&["verify", "-v", "--keys-dir", "keys", "both.tar.gz"])
        .assert(0, &format!("both.tar.gz: OK (signed by {TRUSTED})\n"));
}

#[test]
fn signature_over_other_contents_is_untrusted() {
    let f = Fixture::new();
    // The signature stream of one index in front of another index.
    let signed = index(INDEX, &[(trusted(), SignatureAlgorithm::RsaSha1)]);
    let sig_len = signed.len() - index(INDEX, &[]).len();
    let mut forged = signed[..sig_len].to_vec();
    forged.extend(index(b"P:evil\nV:6.6.6-r0\n\n", &[]));
    f.dir.create("forged.tar.gz", forged);
    f.apk(&["verify", "--keys-dir", "keys", "forged.tar.gz"])
        .assert(1, "forged.tar.gz: UNTRUSTED\n");
    f.apk(&["verify", "-v", "--keys-dir", "keys", "forged.tar.gz"])
        .assert(
            1,
            &format!("forged.tar.gz: UNTRUSTED (bad index signature by key {TRUSTED})\n"),
        );
}

#[test]
fn verbose_names_the_key_or_the_reason() {
    let f = Fixture::new();
    f.apk(&[
        "verify",
        "-v",
        "--keys-dir",
        "keys",
        "signed.tar.gz",
        "unsigned.tar.gz",
        "stranger.tar.gz",
    ])
    .assert(
        2,
        &format!(
            "signed.tar.gz: OK (signed by {TRUSTED})\n\
             unsigned.tar.gz: UNTRUSTED (index is not signed)\n\
             stranger.tar.gz: UNTRUSTED (index is signed only by untrusted keys: {STRANGER})\n"
        ),
    );
}

#[test]
fn quiet_leaves_out_ok_lines() {
    let f = Fixture::new();
    f.apk(&[
        "verify",
        "-q",
        "--keys-dir",
        "keys",
        "signed.tar.gz",
        "unsigned.tar.gz",
    ])
    .assert(1, "unsigned.tar.gz: UNTRUSTED\n");
}

#[test]
fn broken_and_unsupported_files_fail_with_a_message() {
    let f = Fixture::new();
    let unsigned = std::fs::read(f.dir.join("unsigned.tar.gz")).expect("read the fixture");
    f.dir
        .create("truncated.tar.gz", &unsigned[..unsigned.len() - 20]);
    f.dir.create("text.tar.gz", "hello\n");
    f.dir.create("empty.tar.gz", "");
    f.dir.create("v3.adb", b"ADBd\x01\x02\x03\x04");
    f.dir.create(
        "package.apk",
        gzip(&tar(&[(".PKGINFO", b"pkgname = hello\n")])),
    );
    let out = f.apk(&[
        "verify",
        "--keys-dir",
        "keys",
        "truncated.tar.gz",
        "text.tar.gz",
        "empty.tar.gz",
        "missing.tar.gz",
        "v3.adb",
        "package.apk",
        "signed.tar.gz",
    ]);
    out.assert(
        6,
        "truncated.tar.gz: invalid index archive: gzip stream at byte 0 is truncated\n\
         text.tar.gz: not a signed apk file (neither gzip nor ADB data)\n\
         empty.tar.gz: not a signed apk file (neither gzip nor ADB data)\n\
         missing.tar.gz: failed to read the file: No such file or directory (os error 2)\n\
         v3.adb: invalid ADB file: corrupt deflate stream: unexpected end of the compressed \
         data\n\
         package.apk: invalid package: malformed control stream: end-of-archive marker in the \
         control stream\n\
         signed.tar.gz: OK\n",
    );
}

#[test]
fn corrupted_data_fails_with_a_message() {
    let f = Fixture::new();
    let mut data = std::fs::read(f.dir.join("unsigned.tar.gz")).expect("read the fixture");
    let middle = data.len() / 2;
    data[middle] ^= 0xff;
    f.dir.create("corrupt.tar.gz", data);
    let out = f.apk(&["verify", "--keys-dir", "keys", "corrupt.tar.gz"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .starts_with("corrupt.tar.gz: invalid index archive: "),
        "{out:?}"
    );
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
}

#[test]
fn keys_dir_defaults_to_the_root() {
    let f = Fixture::new();
    install_key(&f.dir, "root/etc/apk/keys", trusted());
    f.apk(&[
        "--root",
        "root",
        "verify",
        "signed.tar.gz",
        "stranger.tar.gz",
    ])
    .assert(1, "signed.tar.gz: OK\nstranger.tar.gz: UNTRUSTED\n");
    f.apk(&["verify", "-p", "root", "signed.tar.gz"])
        .assert(0, "signed.tar.gz: OK\n");
    // An explicit --keys-dir wins over the root's.
    install_key(&f.dir, "stranger-keys", stranger());
    f.apk(&[
        "-p",
        "root",
        "--keys-dir",
        "stranger-keys",
        "verify",
        "signed.tar.gz",
        "stranger.tar.gz",
    ])
    .assert(1, "signed.tar.gz: UNTRUSTED\nstranger.tar.gz: OK\n");
}

#[test]
fn missing_default_keys_dir_trusts_nothing() {
    let f = Fixture::new();
    std::fs::create_dir(f.dir.join("empty-root")).expect("create a directory");
    f.apk(&["--root", "empty-root", "verify", "signed.tar.gz"])
        .assert(1, "signed.tar.gz: UNTRUSTED\n");
}

#[test]
fn missing_explicit_keys_dir_is_an_error() {
    let f = Fixture::new();
    let out = f.apk(&["verify", "--keys-dir", "nokeys", "signed.tar.gz"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    eqnice!(
        "ERROR: failed to load the trusted keys: failed to list keys directory nokeys: \
         No such file or directory (os error 2)\n",
        out.stderr
    );
}

#[test]
fn invalid_key_file_is_an_error() {
    let f = Fixture::new();
    f.dir.create(
        "keys/broken.rsa.pub",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    );
    let out = f.apk(&["verify", "--keys-dir", "keys", "signed.tar.gz"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with(
            "ERROR: failed to load the trusted keys: invalid public key in keys/broken.rsa.pub"
        ),
        "{out:?}"
    );
}

/// Alpine's own main and community indexes, checked against Alpine's public keys.
#[test]
fn real_alpine_indexes_verify() {
    let Some(corpus) = std::env::var_os("APK_CORPUS").filter(|c| !c.is_empty()) else {
        eprintln!("note: APK_CORPUS is not set; skipping the real-index test");
        return;
    };
    let corpus = PathBuf::from(corpus);
    let indexes = corpus.join("Paper-Dragon_docker-sh");
    let keys = corpus.join("csmith_apkutils");
    let files = ["main-APKINDEX.tar.gz", "community-APKINDEX.tar.gz"].map(|f| indexes.join(f));
    for path in files.iter().chain([&keys]) {
        assert!(
            std::fs::metadata(path).is_ok(),
            "APK_CORPUS is set but {} is not readable",
            path.display()
        );
    }
    let dir = Dir::new();
    let mut args = vec!["verify".into(), "--keys-dir".into(), keys.into_os_string()];
    args.extend(files.iter().map(|f| f.clone().into_os_string()));
    let out = dir.apk(&args);
    let expected: String = files
        .iter()
        .map(|f| format!("{}: OK\n", f.display()))
        .collect();
    out.assert(0, &expected);

    // The same files with no trusted keys are untrusted.
    std::fs::create_dir(dir.join("nokeys")).expect("create a directory");
    let mut args = vec!["verify".into(), "--keys-dir".into(), "nokeys".into()];
    args.extend(files.iter().map(|f| f.clone().into_os_string()));
    let out = dir.apk(&args);
    let expected: String = files
        .iter()
        .map(|f| format!("{}: UNTRUSTED\n", f.display()))
        .collect();
    out.assert(2, &expected);
}

// ---------------------------------------------------------------------------------------------
// A tiny tar and gzip writer, for gzip files that are not index archives (apk-index only
// writes index archives). Stored deflate blocks need no compressor.

/// A ustar archive of regular files, with end-of-archive blocks.
fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in entries {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..108].copy_from_slice(b"0000644\0");
        header[108..116].copy_from_slice(b"0000000\0");
        header[116..124].copy_from_slice(b"0000000\0");
        header[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        header[136..148].copy_from_slice(b"00000000000\0");
        header[156] = b'0';
        header[257..265].copy_from_slice(b"ustar\x0000");
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(512), 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// One gzip stream holding `data` in stored (uncompressed) deflate blocks.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = u16::try_from(chunk.len()).expect("chunks are at most 0xffff bytes");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    let size = u32::try_from(data.len() % (1 << 32)).expect("reduced modulo 2^32");
    out.extend_from_slice(&size.to_le_bytes());
    out
}

/// CRC-32 (IEEE), bit by bit: slow, but the test data is tiny.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn the_test_gzip_writer_makes_readable_index_archives() {
    // Cross-check the helpers: a hand-made archive with an APKINDEX verifies as unsigned.
    let f = Fixture::new();
    f.dir
        .create("handmade.tar.gz", gzip(&tar(&[("APKINDEX", INDEX)])));
    f.apk(&["verify", "-v", "--keys-dir", "keys", "handmade.tar.gz"])
        .assert(1, "handmade.tar.gz: UNTRUSTED (index is not signed)\n");
}
