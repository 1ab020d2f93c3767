//! Compiles `tests/c/test_v3.c` against `include/apk.h`, links it with the static library and
//! runs it on apk v3 (ADB) files made here: a small package (one 2-byte file), signed (a SIG
//! block added to `apk_index::adb::tests_support::tiny_package`) and unsigned, a tampered copy
//! of the signed one (one byte of its DATA block flipped), and the index of spec section 8,
//! signed and unsigned. The key (ECDSA P-256) sits in the key directory under a name of its
//! own: v3 keys are matched by key id. The program opens, verifies, checks and extracts the packages and loads
//! the indexes through the same calls as v2 files; this side checks what it extracted. Runs
//! natively, under valgrind when installed, and with sanitizers when the compiler has them.

use std::path::{Path, PathBuf};

use apk_index::adb;
use apk_index::keys::SigningKey;
use apk_index::{Checksum, ChecksumForm};
use rand::SeedableRng;
use sha2::{Digest, Sha256, Sha512};

use crate::c_program::{assert_passed, run_c_program};

/// The file name of the trusted key: any name does for v3.
const KEY_FILE: &str = "any-name-will-do.pub";

/// Inserts a SIG block by `key` after the ADB block of the uncompressed ADB file `stream`.
fn sign(stream: &[u8], key: &SigningKey) -> Vec<u8> {
    let word = u32::from_le_bytes(stream[8..12].try_into().expect("a block header"));
    let raw = (word & 0x3fff_ffff) as usize;
    let payload = &stream[12..8 + raw];
    let end = 8 + raw.div_ceil(8) * 8;
    let mut sig = vec![0u8, 4];
    sig.extend_from_slice(&adb::key_id(&key.public_key()));
    let mut message = stream[4..8].to_vec();
    message.extend_from_slice(&sig);
    message.extend_from_slice(&Sha512::digest(payload));
    sig.extend(key.sign_adb(&message).expect("sign the ADB block"));
    let mut block = ((1u32 << 30) | (4 + sig.len()) as u32)
        .to_le_bytes()
        .to_vec();
    block.extend_from_slice(&sig);
    block.resize((4 + sig.len()).div_ceil(8) * 8, 0);
    let mut out = stream[..end].to_vec();
    out.extend_from_slice(&block);
    out.extend_from_slice(&stream[end..]);
    out
}

/// The `Q1` identity of an ADB file: the first 20 bytes of SHA-256 of its ADB payload.
fn identity(stream: &[u8]) -> String {
    let file = adb::AdbFile::parse(stream).expect("a valid ADB file");
    let digest = Sha256::digest(file.adb().payload());
    Checksum::from_digest(&digest[..20], ChecksumForm::Q1)
        .expect("20 bytes")
        .to_string()
}

struct Fixture {
    dir: tempfile::TempDir,
    files: [PathBuf; 5],
    keys: PathBuf,
    other_keys: PathBuf,
    key_id: String,
    package_identity: String,
    index_identity: String,
}

fn make_fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let root = dir.path();
    // An ECDSA P-256 key (as OpenWrt signs with); the untrusted one is RSA.
    let key =
        SigningKey::generate_ecdsa_p256("signer.pem", &mut rand::rngs::StdRng::seed_from_u64(31))
            .expect("generate the signing key");
    let other = SigningKey::generate(
        "signer.rsa.pub",
        1024,
        &mut rand::rngs::StdRng::seed_from_u64(32),
    )
    .expect("generate the other key");
    let keys = root.join("keys");
    let other_keys = root.join("other-keys");
    for (dir, key) in [(&keys, &key), (&other_keys, &other)] {
        std::fs::create_dir(dir).expect("create a key directory");
        std::fs::write(dir.join(KEY_FILE), key.public_key().to_pem()).expect("write a key");
    }

    let package = adb::tests_support::tiny_package();
    let signed = sign(&package, &key);
    let mut tampered = signed.clone();
    let last = tampered.len() - 1 - tampered.iter().rev().position(|&b| b == b'i').expect("hi");
    tampered[last] = b'I';
    let index = adb::tests_support::tiny_index();
    let signed_index = sign(&index, &key);
    // The signed files verify here before C sees them.
    let mut trusted = apk_index::KeySet::new();
    trusted.insert(KEY_FILE, key.public_key());
    for file in [&signed, &signed_index] {
        adb::verify_bytes(file, &trusted, &adb::ReadOptions::default()).expect("verifies");
    }

    let names = [
        "tiny-1-r0.apk",
        "tiny-unsigned.apk",
        "tiny-tampered.apk",
        "Packages.adb",
        "Packages-unsigned.adb",
    ];
    let contents = [&signed, &package, &tampered, &signed_index, &index];
    let files = names.map(|n| root.join(n));
    for (path, data) in files.iter().zip(contents) {
        std::fs::write(path, data).expect("write a fixture file");
    }
    Fixture {
        files,
        keys,
        other_keys,
        key_id: adb::key_id(&key.public_key())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        package_identity: identity(&signed),
        index_identity: {
            let entry = adb::IndexFile::from_file(&adb::AdbFile::parse(&index).expect("parses"))
                .expect("an index");
            Checksum::from_digest(
                &entry.packages[0].hashes.expect("hashes")[..20],
                ChecksumForm::Q1,
            )
            .expect("20 bytes")
            .to_string()
        },
        dir,
    }
}

impl Fixture {
    fn args(&self, dest: &Path) -> Vec<PathBuf> {
        let mut args: Vec<PathBuf> = self.files.to_vec();
        args.push(self.keys.clone());
        args.push(self.other_keys.clone());
        args.push(KEY_FILE.into());
        args.push(dest.to_owned());
        args
    }

    fn expected_lines(&self) -> Vec<String> {
        vec![
            "v3 package tiny 1-r0".to_owned(),
            format!("  signed by key id: {}", self.key_id),
            format!("  identity: {}", self.package_identity),
            "extracted tiny: 1 files, 0 directories, 0 symlinks, 0 hardlinks, 2 bytes".to_owned(),
            "v3 index: 1 packages: demo".to_owned(),
            format!("v3 index package hello 1.0-r0: {}", self.index_identity),
        ]
    }
}

#[test]
fn v3_program_passes() {
    let fixture = make_fixture();
    let expected = fixture.expected_lines();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    run_c_program("test_v3", fixture.dir.path(), |run| {
        let dest = fixture.dir.path().join(format!("dest-{}", run.what));
        for sub in ["tampered", "unsigned"] {
            std::fs::create_dir_all(dest.join(sub)).expect("create a destination directory");
        }
        assert_passed(&run.what, &run.output(&fixture.args(&dest)), &expected);
        assert_eq!(
            std::fs::read(dest.join("f")).ok().as_deref(),
            Some(&b"hi"[..]),
            "{}",
            run.what
        );
        // The tampered and unsigned packages wrote nothing.
        for sub in ["tampered", "unsigned"] {
            let entries = std::fs::read_dir(dest.join(sub)).map_or(0, |d| d.count());
            assert_eq!(entries, 0, "{}: {sub}", run.what);
        }
    });
}
