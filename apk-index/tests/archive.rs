//! `APKINDEX.tar.gz` reading, writing and signature checking: archives written and signed
//! here with generated keys, hostile archives, and (when `APK_CORPUS` names the corpus folder)
//! every real index in the corpus.
//!
//! Corpus tests are skipped with a note when `APK_CORPUS` is unset and fail when it is set but
//! unreadable.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use apk_index::archive::{IndexArchive, ReadArchiveError, VerifyError, write_index_archive};
use apk_index::keys::{KeySet, SignatureAlgorithm, SigningKey};
use proptest::prelude::*;
use rand::SeedableRng;

const TEXT: &[u8] =
    b"C:Q1k7/hzGQ3zNSMqA1sn+u0g1BBnsE=\nP:hello\nV:1.0-r0\nA:x86_64\nS:1234\nI:4096\n\
T:says hello\nU:https://example.org\nL:MIT\nD:so:libc.musl-x86_64.so.1\n\n\
C:Q1Rz0I9A1Fm3h2ww5mJyRlRj0W7yE=\nP:world\nV:2.0-r1\nA:x86_64\nS:99\nI:0\nT:meta\nU:\nL:\n\n";

/// Three 1024-bit test keys, generated once per test binary.
fn keys() -> &'static [SigningKey; 3] {
    static KEYS: OnceLock<[SigningKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let make = |seed: u64, name: &str| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            SigningKey::generate(name, 1024, &mut rng).expect("generate test key")
        };
        [
            make(101, "alice@example.org-1.rsa.pub"),
            make(102, "bob@example.org-2.rsa.pub"),
            make(103, "carol@example.org-3.rsa.pub"),
        ]
    })
}

fn key_set(signers: &[&SigningKey]) -> KeySet {
    let mut set = KeySet::new();
    for key in signers {
        set.insert(key.key_name(), key.public_key());
    }
    set
}

/// An index signed by alice (RSA, SHA-1) then bob (RSA256).
fn signed_archive() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let [alice, bob, _] = keys();
        write_index_archive(
            TEXT,
            Some(b"v3.99.0-1-gabcdef"),
            &[
                (alice, SignatureAlgorithm::RsaSha1),
                (bob, SignatureAlgorithm::RsaSha256),
            ],
        )
        .expect("write signed index")
    })
}

fn count_p_lines(text: &[u8]) -> usize {
    text.split(|&c| c == b'\n')
        .filter(|l| l.starts_with(b"P:"))
        .count()
}

#[test]
fn signed_round_trip() {
    let [alice, bob, _] = keys();
    let file = signed_archive();
    let archive = IndexArchive::from_bytes(file).expect("read");
    assert_eq!(&archive.apkindex()[..], TEXT);
    assert_eq!(archive.description(), Some(&b"v3.99.0-1-gabcdef"[..]));
    let sigs: Vec<_> = archive
        .signatures()
        .iter()
        .map(|s| (s.algorithm(), s.key_name(), s.signature().len()))
        .collect();
    assert_eq!(
        sigs,
        [
            (SignatureAlgorithm::RsaSha1, alice.key_name(), 128),
            (SignatureAlgorithm::RsaSha256, bob.key_name(), 128),
        ]
    );
    assert!(archive.is_signed());

    // The signature covers exactly the unsigned archive, which is itself a valid archive.
    let unsigned = &file[archive.signed_range()];
    assert_eq!(archive.signed_range().end, file.len());
    assert_eq!(
        unsigned,
        write_index_archive(TEXT, Some(b"v3.99.0-1-gabcdef"), &[]).expect("write")
    );
    let sig = &archive.signatures()[0];
    assert!(
        alice
            .public_key()
            .verify(sig.algorithm(), unsigned, sig.signature())
    );

    // The text is a zero-copy slice, and survives the archive.
    let text = archive.clone().into_apkindex();
    assert_eq!(text, archive.apkindex());
    assert_eq!(count_p_lines(&text), 2);
}

#[test]
fn writing_is_deterministic() {
    let [alice, _, _] = keys();
    let signers = [(alice, SignatureAlgorithm::RsaSha512)];
    let a = write_index_archive(TEXT, None, &signers).expect("write");
    let b = write_index_archive(TEXT, None, &signers).expect("write");
    assert_eq!(a, b);
    let archive = IndexArchive::from_bytes(&a).expect("read");
    assert_eq!(archive.description(), None);
    assert_eq!(
        archive
            .verify(&key_set(&[alice]))
            .expect("verify")
            .algorithm(),
        SignatureAlgorithm::RsaSha512
    );
}

#[test]
fn verify_outcomes() {
    let [alice, bob, carol] = keys();
    let archive = IndexArchive::from_bytes(signed_archive()).expect("read");

    let by = archive.verify(&key_set(&[alice, bob])).expect("verify");
    assert_eq!(
        (by.key_name(), by.algorithm()),
        (alice.key_name(), SignatureAlgorithm::RsaSha1)
    );
    let by = archive.verify(&key_set(&[bob])).expect("verify");
    assert_eq!(
        (by.key_name(), by.algorithm()),
        (bob.key_name(), SignatureAlgorithm::RsaSha256)
    );
    let by = archive.verify(&key_set(&[carol, bob])).expect("verify");
    assert_eq!(by.key_name(), bob.key_name());

    assert_eq!(
        archive.verify(&key_set(&[carol])),
        Err(VerifyError::UntrustedKey {
            key_names: vec![alice.key_name().to_owned(), bob.key_name().to_owned()]
        })
    );
    assert!(matches!(
        archive.verify(&KeySet::new()),
        Err(VerifyError::UntrustedKey { .. })
    ));

    // The first signature with a trusted key decides, even when a later one would pass.
    let mut impostor = key_set(&[bob]);
    impostor.insert(alice.key_name(), carol.public_key());
    assert_eq!(
        archive.verify(&impostor),
        Err(VerifyError::BadSignature {
            key_name: alice.key_name().to_owned()
        })
    );

    let unsigned = write_index_archive(TEXT, None, &[]).expect("write");
    let archive = IndexArchive::from_bytes(&unsigned).expect("read");
    assert!(!archive.is_signed());
    assert_eq!(archive.signed_range(), 0..unsigned.len());
    assert_eq!(
        archive.verify(&key_set(&[alice, bob, carol])),
        Err(VerifyError::Unsigned)
    );
}

#[test]
fn flipping_any_signed_byte_never_verifies() {
    let [alice, bob, _] = keys();
    let trusted = [key_set(&[alice]), key_set(&[bob])];
    let file = signed_archive();
    let start = IndexArchive::from_bytes(file)
        .expect("read")
        .signed_range()
        .start;
    let mut bad_signatures = 0;
    for pos in start..file.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut copy = file.to_vec();
            copy[pos] ^= flip;
            let archive = match IndexArchive::from_bytes(&copy) {
                Ok(archive) => archive,
                Err(err) => {
                    // Gzip header bytes that do not affect decoding: mtime, XFL and OS.
                    assert!(
                        !(start + 4..start + 10).contains(&pos),
                        "flip {flip:#x} at {pos}: {err}"
                    );
                    continue;
                }
            };
            for keys in &trusted {
                match archive.verify(keys) {
                    Err(VerifyError::BadSignature { .. }) => bad_signatures += 1,
                    other => panic!("flip {flip:#x} at {pos} verified as {other:?}"),
                }
            }
        }
    }
    assert!(bad_signatures >= 2 * 6 * 3, "{bad_signatures}");
}

#[test]
fn flipping_signature_stream_bytes_never_panics() {
    let [alice, bob, _] = keys();
    let trusted = key_set(&[alice, bob]);
    let file = signed_archive();
    let original = IndexArchive::from_bytes(file).expect("read");
    let end = original.signed_range().start;
    for pos in 0..end {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut copy = file.to_vec();
            copy[pos] ^= flip;
            let Ok(archive) = IndexArchive::from_bytes(&copy) else {
                continue;
            };
            if archive.verify(&trusted).is_ok() {
                // Only bytes the signature does not cover changed (e.g. the gzip mtime).
                assert_eq!(archive.signatures(), original.signatures(), "flip at {pos}");
                assert_eq!(archive.apkindex(), original.apkindex());
            }
        }
    }
}

#[test]
fn truncated_archives_are_errors() {
    let file = signed_archive();
    for len in 0..file.len() {
        let err = IndexArchive::from_bytes(&file[..len]).expect_err("truncated archive");
        // Every error has a message.
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn hostile_inputs_are_errors() {
    for garbage in [
        &b""[..],
        b"\x1f",
        b"\x1f\x8b",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
        b"PK\x03\x04",
        &[0u8; 1024],
    ] {
        assert!(IndexArchive::from_bytes(garbage).is_err(), "{garbage:?}");
    }
    // A valid gzip stream that holds no tar.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &[b'x'; 2000]).expect("gzip");
    let not_tar = enc.finish().expect("gzip");
    assert!(matches!(
        IndexArchive::from_bytes(&not_tar),
        Err(ReadArchiveError::Tar { offset: 0, .. })
    ));
    // A valid gzip stream holding an empty tar.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &[0; 1024]).expect("gzip");
    let empty_tar = enc.finish().expect("gzip");
    assert!(matches!(
        IndexArchive::from_bytes(&empty_tar),
        Err(ReadArchiveError::MissingApkindex)
    ));
}

#[test]
fn long_key_names_use_gnu_long_names() {
    let [alice, _, _] = keys();
    let name = format!("{}.rsa.pub", "k".repeat(200));
    let long = SigningKey::from_rsa(&name, alice.as_rsa().expect("rsa").clone()).expect("key");
    let file =
        write_index_archive(TEXT, None, &[(&long, SignatureAlgorithm::RsaSha256)]).expect("write");
    let archive = IndexArchive::from_bytes(&file).expect("read");
    assert_eq!(archive.signatures()[0].key_name(), name);
    assert_eq!(
        archive
            .verify(&key_set(&[&long]))
            .expect("verify")
            .key_name(),
        name
    );
}

#[test]
fn rsa_2048() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2048);
    let key = SigningKey::generate("big@example.org-1.rsa.pub", 2048, &mut rng).expect("key");
    // Through PEM files, as abuild keeps them.
    let dir = tempfile::tempdir().expect("tempdir");
    let private = dir.path().join("big@example.org-1.rsa");
    std::fs::write(&private, key.private_key_pem()).expect("write");
    let keys_dir = dir.path().join("keys");
    std::fs::create_dir(&keys_dir).expect("mkdir");
    std::fs::write(
        keys_dir.join("big@example.org-1.rsa.pub"),
        key.public_key().to_pem(),
    )
    .expect("write");
    let key = SigningKey::from_file(&private).expect("load private key");
    assert_eq!(key.key_name(), "big@example.org-1.rsa.pub");

    let file = write_index_archive(
        TEXT,
        Some(b"desc"),
        &[
            (&key, SignatureAlgorithm::RsaSha512),
            (&key, SignatureAlgorithm::RsaSha1),
        ],
    )
    .expect("write");
    let path = dir.path().join("APKINDEX.tar.gz");
    std::fs::write(&path, &file).expect("write");
    let archive = IndexArchive::open(&path).expect("open");
    assert_eq!(archive.signatures()[0].signature().len(), 256);
    let keys = KeySet::from_dir(&keys_dir).expect("keys");
    let by = archive.verify(&keys).expect("verify");
    assert_eq!(by.algorithm(), SignatureAlgorithm::RsaSha512);

    let from_reader = IndexArchive::from_reader(&file[..]).expect("read");
    assert_eq!(from_reader.apkindex(), archive.apkindex());

    let err = IndexArchive::open(dir.path().join("missing.tar.gz")).expect_err("missing");
    assert!(matches!(err, ReadArchiveError::Io { .. }));
    assert!(err.to_string().contains("missing.tar.gz"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any set of byte replacements: reading never panics, and a change inside the signed part
    /// never verifies.
    #[test]
    fn mutated_archives_never_panic(edits in prop::collection::vec((any::<usize>(), 1u8..), 1..6)) {
        let [alice, bob, _] = keys();
        let file = signed_archive();
        let signed_start = IndexArchive::from_bytes(file).expect("read").signed_range().start;
        let mut copy = file.to_vec();
        let mut touched_signed = false;
        for (pos, flip) in &edits {
            let pos = pos % copy.len();
            copy[pos] ^= flip;
            touched_signed |= pos >= signed_start && copy[pos] != file[pos];
        }
        if let Ok(archive) = IndexArchive::from_bytes(&copy) {
            let verified = archive.verify(&key_set(&[alice, bob]));
            prop_assert!(!(touched_signed && verified.is_ok()), "{edits:?}");
        }
    }

    /// Arbitrary bytes, with or without a gzip magic in front, never panic.
    #[test]
    fn random_bytes_never_panic(gzip_magic in any::<bool>(), bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut data = if gzip_magic { vec![0x1f, 0x8b, 0x08, 0x00] } else { Vec::new() };
        data.extend_from_slice(&bytes);
        let _ = IndexArchive::from_bytes(&data);
    }
}

// ---------------------------------------------------------------------------------------------
// The real corpus.

fn corpus() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("APK_CORPUS") else {
        eprintln!("APK_CORPUS not set: skipping corpus archive test");
        return None;
    };
    let mut dir = PathBuf::from(dir);
    if dir.is_relative() && !dir.exists() {
        // CI may give it relative to the workspace root; tests run in the package folder.
        dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    }
    assert!(
        dir.join("SOURCES.md").is_file(),
        "APK_CORPUS={} is set but is not a readable corpus",
        dir.display()
    );
    Some(dir)
}

fn find_indexes(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            find_indexes(&path, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("APKINDEX.tar.gz"))
        {
            out.push(path);
        }
    }
}

#[test]
fn corpus_indexes_read_and_verify() {
    let Some(corpus) = corpus() else { return };
    let alpine_keys = KeySet::from_dir(corpus.join("csmith_apkutils")).expect("alpine keys");
    assert_eq!(alpine_keys.len(), 18);
    let mut indexes = Vec::new();
    find_indexes(&corpus, &mut indexes);
    assert!(indexes.len() >= 17, "found only {indexes:?}");

    let mut alpine_verified = 0;
    for path in &indexes {
        let archive =
            IndexArchive::open(path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let packages = count_p_lines(archive.apkindex());
        assert!(packages > 0, "{}: no packages", path.display());
        let alpine_signed = archive
            .signatures()
            .first()
            .is_some_and(|s| s.key_name().starts_with("alpine-devel@"));
        if alpine_signed {
            let by = archive
                .verify(&alpine_keys)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(by.key_name(), archive.signatures()[0].key_name());
            assert_eq!(by.algorithm(), SignatureAlgorithm::RsaSha1);
            alpine_verified += 1;
        }
    }
    assert!(alpine_verified >= 12, "{alpine_verified}");
}

#[test]
fn corpus_paper_dragon_pair() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("Paper-Dragon_docker-sh");
    let mut total = 0;
    for name in ["main-APKINDEX.tar.gz", "community-APKINDEX.tar.gz"] {
        let data = std::fs::read(dir.join(name)).expect("read");
        let started = std::time::Instant::now();
        let archive = IndexArchive::from_bytes(&data).expect("index");
        eprintln!(
            "{name}: {} -> {} bytes in {:?}",
            data.len(),
            archive.apkindex().len(),
            started.elapsed()
        );
        assert!(
            archive
                .description()
                .is_some_and(|d| d.starts_with(b"v3.17"))
        );
        total += count_p_lines(archive.apkindex());
    }
    assert_eq!(total, 17_818);
}

#[test]
fn corpus_flipped_byte_fails() {
    let Some(corpus) = corpus() else { return };
    let keys = KeySet::from_dir(corpus.join("csmith_apkutils")).expect("alpine keys");
    let data =
        std::fs::read(corpus.join("Paper-Dragon_docker-sh/main-APKINDEX.tar.gz")).expect("read");
    let start = IndexArchive::from_bytes(&data)
        .expect("read")
        .signed_range()
        .start;
    assert_eq!(start, 664);
    let len = data.len();
    for pos in [
        start + 4,
        start + 9,
        start + 10,
        start + 1000,
        len / 2,
        len - 5,
        len - 1,
    ] {
        let mut copy = data.clone();
        copy[pos] ^= 0x01;
        match IndexArchive::from_bytes(&copy) {
            Err(_) => {}
            Ok(archive) => assert!(
                matches!(archive.verify(&keys), Err(VerifyError::BadSignature { .. })),
                "flip at {pos} verified"
            ),
        }
    }
}

#[test]
fn corpus_other_signers() {
    let Some(corpus) = corpus() else { return };
    let apko = corpus.join("chainguard-dev_apko");

    let rsa256 = IndexArchive::open(apko.join("rsa256-signed/APKINDEX.tar.gz")).expect("read");
    let mut keys = KeySet::new();
    let pem = std::fs::read(apko.join("rsa256-signed/test-rsa256.rsa.pub")).expect("key");
    keys.add_pem("test-rsa256.rsa.pub", &pem)
        .expect("parse key");
    let by = rsa256.verify(&keys).expect("verify rsa256-signed");
    assert_eq!(by.algorithm(), SignatureAlgorithm::RsaSha256);

    let signing = IndexArchive::open(apko.join("signing/APKINDEX.tar.gz")).expect("read");
    assert_eq!(signing.signatures().len(), 3);
    let keys = KeySet::from_dir(apko.join("signing/keys")).expect("keys");
    assert_eq!(keys.len(), 3);
    let by = signing.verify(&keys).expect("verify signing");
    assert_eq!(by.key_name(), signing.signatures()[0].key_name());
    // Each of the three signatures is good on its own.
    for sig in signing.signatures() {
        let mut one = KeySet::new();
        one.insert(
            sig.key_name(),
            keys.get(sig.key_name()).expect("key").clone(),
        );
        assert_eq!(
            signing.verify(&one).expect("verify").key_name(),
            sig.key_name()
        );
    }

    // One gzip stream with APKINDEX, DESCRIPTION and a `.SIGN` entry at the end: unsigned.
    let unsigned = IndexArchive::open(apko.join("APKINDEX.tar.gz")).expect("read");
    assert!(!unsigned.is_signed());
    assert_eq!(unsigned.verify(&keys), Err(VerifyError::Unsigned));
    assert_eq!(count_p_lines(unsigned.apkindex()), 2);
}

#[test]
fn corpus_apk3_repositories() {
    let Some(corpus) = corpus() else { return };
    let base = corpus.join("apk3-transactions");
    // The keys folder also holds the private key, which KeySet::from_dir skips.
    let keys = KeySet::from_dir(base.join("keys")).expect("keys");
    assert_eq!(keys.names().collect::<Vec<_>>(), ["test@example-1.rsa.pub"]);
    let signer = SigningKey::from_file(base.join("keys/test@example-1.rsa")).expect("private key");
    assert_eq!(signer.key_name(), "test@example-1.rsa.pub");
    assert_eq!(
        Some(&signer.public_key()),
        keys.get("test@example-1.rsa.pub")
    );

    for repo in ["repo-a", "repo-b"] {
        let path = base.join(repo).join("x86_64/APKINDEX.tar.gz");
        let data = std::fs::read(&path).expect("read");
        let archive = IndexArchive::from_bytes(&data).expect("index");
        let by = archive.verify(&keys).expect("verify");
        assert_eq!(by.key_name(), "test@example-1.rsa.pub");

        // PKCS#1 v1.5 is deterministic: signing the same bytes with the same key gives the
        // signature apk-tools' signer made.
        let ours = signer
            .sign(SignatureAlgorithm::RsaSha1, &data[archive.signed_range()])
            .expect("sign");
        assert_eq!(ours, archive.signatures()[0].signature());

        // Rewritten by us, it reads back the same and verifies with the same keys.
        let rewritten = write_index_archive(
            archive.apkindex(),
            archive.description(),
            &[(&signer, SignatureAlgorithm::RsaSha1)],
        )
        .expect("write");
        let again = IndexArchive::from_bytes(&rewritten).expect("read rewritten");
        assert_eq!(again.apkindex(), archive.apkindex());
        assert_eq!(again.description(), archive.description());
        again.verify(&keys).expect("verify rewritten");
    }
}

/// An index text above 512 KiB is parsed while its signature is checked on a second thread:
/// it is given out only when the check passes, with the same outcomes as a small index.
#[test]
fn large_index_loads_only_when_verified() {
    use apk_index::{Index, IndexOptions, LoadIndexError};
    let [alice, bob, carol] = keys();
    let mut text = Vec::new();
    for i in 0..8000 {
        text.extend_from_slice(
            format!("P:pkg{i}\nV:1.{i}-r0\nA:x86_64\nT:package number {i} of a large index\nD:so:libc.musl-x86_64.so.1 pkg{}\n\n", i / 2)
                .as_bytes(),
        );
    }
    assert!(text.len() > 512 * 1024);
    let options = IndexOptions::default();
    let file = write_index_archive(&text, Some(b"big"), &[(alice, SignatureAlgorithm::RsaSha1)])
        .expect("write");
    let load = |file: &[u8], keys: &KeySet| Index::from_archive_bytes(file, Some(keys), &options);

    let index = load(&file, &key_set(&[alice, bob])).expect("load");
    assert_eq!(index.len(), 8000);
    assert_eq!(index.signed_by(), Some(alice.key_name()));
    assert_eq!(index.description(), Some("big"));

    assert!(matches!(
        load(&file, &key_set(&[bob, carol])),
        Err(LoadIndexError::Verify(VerifyError::UntrustedKey { .. }))
    ));
    let mut impostor = KeySet::new();
    impostor.insert(alice.key_name(), carol.public_key());
    assert!(matches!(
        load(&file, &impostor),
        Err(LoadIndexError::Verify(VerifyError::BadSignature { .. }))
    ));
    // A changed byte of the signed stream that does not change what it inflates to (its
    // gzip header's modification time) still fails the check.
    let start = IndexArchive::from_bytes(&file)
        .expect("read")
        .signed_range()
        .start;
    let mut tampered = file.clone();
    tampered[start + 5] ^= 0x01;
    let parsed = Index::from_archive_bytes(&tampered, None, &options).expect("unverified load");
    assert_eq!(parsed.len(), 8000);
    assert!(matches!(
        load(&tampered, &key_set(&[alice])),
        Err(LoadIndexError::Verify(VerifyError::BadSignature { .. }))
    ));
    let unsigned = write_index_archive(&text, None, &[]).expect("write");
    assert!(matches!(
        load(&unsigned, &key_set(&[alice])),
        Err(LoadIndexError::Verify(VerifyError::Unsigned))
    ));
}

/// `open_each` hands every file's result over in the order of the paths, whatever order they
/// finish in, with errors in their place; `open_many` collects the same.
#[test]
fn open_each_keeps_path_order() {
    use apk_index::{Index, IndexOptions, LoadIndexError};
    let [alice, bob, _] = keys();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (i, packages) in [3000usize, 1, 40, 2].into_iter().enumerate() {
        let text: String = (0..packages)
            .map(|p| format!("P:r{i}p{p}\nV:1.{p}-r0\nD:so:libc.musl-x86_64.so.1\n\n"))
            .collect();
        let file = write_index_archive(
            text.as_bytes(),
            None,
            &[(alice, SignatureAlgorithm::RsaSha1)],
        )
        .expect("write");
        let path = dir.path().join(format!("{i}.tar.gz"));
        std::fs::write(&path, file).expect("write file");
        paths.push(path);
    }
    paths.insert(2, dir.path().join("missing.tar.gz"));
    let keys = key_set(&[alice]);
    let options = IndexOptions::default();
    let mut seen = Vec::new();
    Index::open_each(&paths, Some(&keys), &options, |i, loaded| {
        let summary = match loaded {
            Ok(index) => Ok((index.len(), index.package(0).name().to_owned())),
            Err(LoadIndexError::Io { path, .. }) => Err(path),
            Err(other) => panic!("{other}"),
        };
        seen.push((i, summary));
    });
    assert_eq!(
        seen,
        [
            (0, Ok((3000, "r0p0".to_owned()))),
            (1, Ok((1, "r1p0".to_owned()))),
            (2, Err(paths[2].clone())),
            (3, Ok((40, "r2p0".to_owned()))),
            (4, Ok((2, "r3p0".to_owned()))),
        ]
    );
    let many = Index::open_many(&paths, Some(&key_set(&[bob])), &options);
    assert_eq!(many.len(), 5);
    assert!(matches!(many[2], Err(LoadIndexError::Io { .. })));
    assert!(
        many.iter()
            .enumerate()
            .all(|(i, r)| i == 2 || matches!(r, Err(LoadIndexError::Verify(_))))
    );
    let opened = Index::open_many(&paths, None, &options);
    let lens: Vec<_> = opened
        .iter()
        .map(|r| r.as_ref().map(Index::len).ok())
        .collect();
    assert_eq!(lens, [Some(3000), Some(1), None, Some(40), Some(2)]);
}
