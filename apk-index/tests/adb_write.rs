//! The v3 (ADB) writer: values and layout, blocks and padding, signatures, the compression
//! wrapper, indexes, and (with `$APK_CORPUS/apk3-made`: skipped with a note when unset, a
//! failure when set but unreadable) apk-tools 3.0.6's own files rebuilt from their parts.

use std::path::PathBuf;

use apk_index::adb::{
    self, Adb, AdbError, AdbFile, AdbStreamWriter, AdbWriter, BlockKind, Compression, IndexFile,
    IndexHash, IndexWriter, ReadOptions, SchemaId, Value, VectorTag,
};
use apk_index::keys::SigningKey;
use apk_index::{Index, IndexOptions, KeySet, PackageInfo};
use proptest::prelude::*;
use rand::SeedableRng;

fn key(seed: u64) -> SigningKey {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    SigningKey::generate(&format!("k{seed}.rsa.pub"), 1024, &mut rng).expect("key")
}

fn trusting(key: &SigningKey) -> KeySet {
    let mut keys = KeySet::new();
    keys.insert(key.key_name(), key.public_key());
    keys
}

#[test]
fn value_forms_and_alignment() {
    let mut w = AdbWriter::new();
    let b8 = w.blob(b"abc").unwrap();
    let i32w = w.int(1_700_000_000).unwrap();
    let b16 = w.blob(&[1u8; 300]).unwrap();
    let b32 = w.blob(&[2u8; 70_011]).unwrap();
    let i64w = w.int(5_000_000_000).unwrap();
    let imm = w.int(319).unwrap();
    assert_eq!(b8, 0x8000_0008);
    // int32 data is aligned to 4: after the 4-byte blob8 at 8, at 12.
    assert_eq!(i32w, 0x2000_000C);
    assert_eq!(b16 >> 28, 0x9);
    assert_eq!((b16 & 0x0FFF_FFFF) % 2, 0);
    assert_eq!(b32 >> 28, 0xA);
    assert_eq!((b32 & 0x0FFF_FFFF) % 4, 0);
    assert_eq!(i64w >> 28, 0x3);
    assert_eq!(imm, 0x1000_013F);
    let root = w.object(&[b8, i32w, b16, b32, i64w, imm, 0, 0]).unwrap();
    let payload = w.finish(root);
    let adb = Adb::new(&payload).unwrap();
    let root = adb.root().unwrap();
    assert_eq!(root.slot_count(), 7); // trailing NULLs cut
    assert_eq!(root.get(1).unwrap(), Value::Blob(b"abc"));
    assert_eq!(root.get(2).unwrap(), Value::Int(1_700_000_000));
    assert_eq!(root.get(3).unwrap(), Value::Blob(&[1u8; 300]));
    assert_eq!(root.get(4).unwrap(), Value::Blob(&[2u8; 70_011][..]));
    assert_eq!(root.get(5).unwrap(), Value::Int(5_000_000_000));
    assert_eq!(root.get(6).unwrap(), Value::Int(319));
}

#[test]
fn identical_values_are_stored_once() {
    let mut w = AdbWriter::new();
    let root_user = w.blob(b"root").unwrap();
    let mode = w.int(0o755).unwrap();
    let acl1 = w.object(&[mode, root_user, root_user]).unwrap();
    let len = w.len();
    let again = w.blob(b"root").unwrap();
    let acl2 = w.object(&[mode, again, root_user]).unwrap();
    assert_eq!(acl1, acl2);
    assert_eq!(w.len(), len);
    // Unique blobs are never shared, and not reused later either.
    let (unique, _) = w.blob_unique(4).unwrap();
    assert_ne!(unique, root_user);
    assert_ne!(w.blob(&[0, 0, 0, 0]).unwrap(), unique);
}

#[test]
fn block_headers_and_padding() {
    assert_eq!(
        adb::block_header(BlockKind::Adb, 180),
        0xB8u32.to_le_bytes().to_vec()
    );
    let ext = adb::block_header(BlockKind::Data, 1_073_741_838);
    assert_eq!(&ext[..8], &[2, 0, 0, 0xC0, 0, 0, 0, 0]);
    assert_eq!(
        u64::from_le_bytes(ext[8..16].try_into().unwrap()),
        1_073_741_854
    );
    assert_eq!(adb::block_header(BlockKind::Data, 0x3FFF_FFFB).len(), 4);
    assert_eq!(adb::block_header(BlockKind::Data, 0x3FFF_FFFC).len(), 16);

    // Every block is padded to 8, the last one too.
    let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::PACKAGE, Compression::None).unwrap();
    let payload = AdbWriter::new().finish(0);
    file.write_adb(&payload).unwrap();
    file.write_data(1, 1, b"1234567").unwrap(); // payload 15, raw 19, 5 padding bytes
    let bytes = file.finish().unwrap();
    assert_eq!(bytes.len(), 8 + 16 + 24);
    assert_eq!(&bytes[24..28], &[19, 0, 0, 0x80]);
    assert_eq!(&bytes[43..], &[0; 5]);
}

#[test]
fn stream_writer_enforces_block_order() {
    let payload = AdbWriter::new().finish(0);
    let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::PACKAGE, Compression::None).unwrap();
    assert!(file.begin_data(1, 1, 1).is_err());
    file.write_adb(&payload).unwrap();
    file.begin_data(1, 1, 3).unwrap();
    assert!(file.write_sig(&[0, 4]).is_err());
    assert!(file.begin_data(1, 2, 1).is_err());
    file.write_contents(b"ab").unwrap();
    assert!(file.write_contents(b"cd").is_err());
    file.write_contents(b"c").unwrap();
    assert!(file.write_sig(&[0, 4]).is_err()); // SIG after DATA
    let mut unfinished =
        AdbStreamWriter::new(Vec::new(), SchemaId::PACKAGE, Compression::None).unwrap();
    unfinished.write_adb(&payload).unwrap();
    unfinished.begin_data(1, 1, 2).unwrap();
    assert!(unfinished.finish().is_err());
}

#[test]
fn signatures_verify_and_tampering_is_refused() {
    let signer = key(1);
    let other = key(2);
    let mut w = AdbWriter::new();
    let d = w.blob(b"signed").unwrap();
    let root = w.object(&[d]).unwrap();
    let payload = w.finish(root);
    for compression in [
        Compression::None,
        Compression::Deflate,
        Compression::DeflateWithLevel { level: 3 },
        Compression::StoredWithHeader { level: 0 },
        Compression::Zstd { level: 1 },
    ] {
        let bytes =
            adb::write_file(SchemaId::INDEX, &payload, &[&other, &signer], compression).unwrap();
        let (found, stream) = adb::decompress_with_info(&bytes, &ReadOptions::default()).unwrap();
        assert_eq!(found, compression);
        let file = AdbFile::parse(&stream).unwrap();
        assert_eq!(file.signatures().len(), 2);
        let verified = file.verify_signature(&trusting(&signer)).unwrap();
        assert_eq!(verified.key_id, adb::key_id(&signer.public_key()));
        assert_eq!(verified.hash_alg, 4);
    }
    // Deterministic, and the signature is exactly what the reader checks.
    let a = adb::write_file(SchemaId::INDEX, &payload, &[&signer], Compression::None).unwrap();
    let b = adb::write_file(SchemaId::INDEX, &payload, &[&signer], Compression::None).unwrap();
    assert_eq!(a, b);
    // Any changed byte of the ADB payload breaks it; so does another schema id.
    for at in [12usize, 16, 20] {
        let mut bad = a.clone();
        bad[at] ^= 0x01;
        let verdict = AdbFile::parse(&bad).map(|f| f.verify_signature(&trusting(&signer)));
        assert!(!matches!(verdict, Ok(Ok(_))), "byte {at}");
    }
    let mut bad = a.clone();
    bad[4..8].copy_from_slice(b"pckg");
    let file = AdbFile::parse(&bad).unwrap();
    assert!(matches!(
        file.verify_signature(&trusting(&signer)),
        Err(AdbError::BadSignature { .. })
    ));
    assert!(matches!(
        AdbFile::parse(&a)
            .unwrap()
            .verify_signature(&trusting(&other)),
        Err(AdbError::UntrustedKey { .. })
    ));
}

/// ECDSA P-256 keys (OpenWrt's kind) sign and verify v3 files like RSA ones; the key id is
/// SHA-512 of the uncompressed point. The key is OpenSSL-made (`openssl ecparam -name
/// prime256v1 -genkey`); its id was computed with OpenSSL too (`openssl pkey -pubin -outform
/// DER | tail -c 65 | openssl dgst -sha512`).
#[test]
fn ecdsa_p256_signatures() {
    let pem = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIATQo6HuIeascO5/VFuuhT73FTi0SoSOsHocLDMYeBMWoAoGCCqGSM49
AwEHoUQDQgAEiKEW/Kd/15f87EjmI5+DIPQplRejflmV0BfO0bP/HYywAmiHRXCW
W8jpUJGveyX8dID2Z1ol+J8Yo/My5VBgew==
-----END EC PRIVATE KEY-----
";
    let ec = SigningKey::from_pem("openwrt.pem", pem.as_bytes()).unwrap();
    let id = adb::key_id(&ec.public_key());
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "228971f1991e54273cefe9f23cdfa167");

    let rsa = key(3);
    let mut w = AdbWriter::new();
    let d = w.blob(b"signed").unwrap();
    let root = w.object(&[d]).unwrap();
    let payload = w.finish(root);
    let bytes = adb::write_file(SchemaId::INDEX, &payload, &[&ec], Compression::Deflate).unwrap();
    let stream = adb::decompress(&bytes, &ReadOptions::default()).unwrap();
    let file = AdbFile::parse(&stream).unwrap();
    let sig = &file.signatures()[0];
    assert_eq!(sig.key_id, Some(id));
    assert_eq!(sig.hash_alg, 4);
    // A DER signature of a P-256 key: `30 len 02 …`, 70 to 72 bytes.
    assert_eq!(sig.signature[0], 0x30);
    assert!(
        (68..=72).contains(&sig.signature.len()),
        "{}",
        sig.signature.len()
    );
    let verified = file.verify_signature(&trusting(&ec)).unwrap();
    assert_eq!(verified.key_name, "openwrt.pem");
    assert!(matches!(
        file.verify_signature(&trusting(&rsa)),
        Err(AdbError::UntrustedKey { .. })
    ));
    // Tampered payload: refused.
    let plain = adb::write_file(SchemaId::INDEX, &payload, &[&ec], Compression::None).unwrap();
    let mut bad = plain.clone();
    bad[16] ^= 1;
    assert!(matches!(
        AdbFile::parse(&bad).map(|f| f.verify_signature(&trusting(&ec))),
        Ok(Err(AdbError::BadSignature { .. }))
    ));
    // Mixed signers: either key alone is enough.
    let both = adb::write_file(SchemaId::INDEX, &payload, &[&rsa, &ec], Compression::None).unwrap();
    let file = AdbFile::parse(&both).unwrap();
    assert_eq!(
        file.verify_signature(&trusting(&ec)).unwrap().key_name,
        "openwrt.pem"
    );
    assert_eq!(
        file.verify_signature(&trusting(&rsa)).unwrap().key_name,
        "k3.rsa.pub"
    );
}

#[test]
fn compression_specs() {
    for (spec, expected) in [
        ("none", Compression::None),
        ("deflate", Compression::Deflate),
        ("deflate:0", Compression::Deflate),
        ("deflate:9", Compression::DeflateWithLevel { level: 9 }),
        ("zstd", Compression::Zstd { level: 0 }),
        ("zstd:22", Compression::Zstd { level: 22 }),
    ] {
        assert_eq!(spec.parse::<Compression>().unwrap(), expected, "{spec}");
    }
    for bad in ["deflate:10", "zstd:23", "gzip", "none:1", "deflate:x", ""] {
        assert!(bad.parse::<Compression>().is_err(), "{bad}");
    }
}

fn info(name: &str, version: &str, seed: u8) -> PackageInfo {
    let mut info = PackageInfo::new(name, version);
    info.identity = Some(apk_index::Checksum::sha1([seed; 20]));
    info.arch = Some("x86_64".into());
    info.size = 1000 + u64::from(seed);
    info.installed_size = 5000;
    info.description = format!("package {name}");
    info.depends = vec!["musl".parse().unwrap(), "so:libc.so.1>=1".parse().unwrap()];
    info.provides = vec![format!("cmd:{name}={version}").parse().unwrap()];
    info.install_if = vec!["base".parse().unwrap(), "!bad~2".parse().unwrap()];
    info.build_time = 1_700_000_000;
    info.commit = Some("0123456789abcdef0123456789abcdef01234567".into());
    info.provider_priority = 7;
    info.tags = vec!["z".into(), "a".into()];
    info
}

#[test]
fn index_writer_round_trip() {
    let signer = key(5);
    let mut writer = IndexWriter::new();
    writer
        .description(Some("round trip".into()))
        .pkgname_spec(Some("${name}-${version}.apk".into()));
    for (name, version, seed) in [
        ("zlib", "1.3-r0", 1),
        ("abc", "1.10-r0", 2),
        ("abc", "1.9-r0", 3),
    ] {
        writer.add_package_info(&info(name, version, seed)).unwrap();
    }
    let bytes = writer
        .clone()
        .write_file(&[&signer], Compression::Deflate)
        .unwrap();
    let index =
        Index::from_adb_bytes(&bytes, Some(&trusting(&signer)), &IndexOptions::default()).unwrap();
    let order: Vec<(&str, &str)> = (0..index.len())
        .map(|i| (index.package(i).name(), index.package(i).version()))
        .collect();
    assert_eq!(
        order,
        [("abc", "1.9-r0"), ("abc", "1.10-r0"), ("zlib", "1.3-r0")]
    );
    let stream = adb::decompress(&bytes, &ReadOptions::default()).unwrap();
    let file = AdbFile::parse(&stream).unwrap();
    let typed = IndexFile::from_file(&file).unwrap();
    assert_eq!(typed.pkgname_spec, Some("${name}-${version}.apk"));
    let zlib = typed.packages[2].to_package_info().unwrap();
    let expected = info("zlib", "1.3-r0", 1);
    assert_eq!(zlib.identity, expected.identity);
    assert_eq!(zlib.size, expected.size);
    assert_eq!(zlib.installed_size, expected.installed_size);
    assert_eq!(zlib.description, expected.description);
    assert_eq!(zlib.commit, expected.commit);
    assert_eq!(zlib.build_time, expected.build_time);
    assert_eq!(zlib.provider_priority, expected.provider_priority);
    assert_eq!(zlib.tags, expected.tags); // tags keep their order
    let deps = |d: &[apk_index::Dependency]| d.iter().map(|d| d.to_string()).collect::<Vec<_>>();
    assert_eq!(deps(&zlib.depends), ["musl", "so:libc.so.1>=1"]);
    assert_eq!(deps(&zlib.provides), ["cmd:zlib=1.3-r0"]);
    assert_eq!(deps(&zlib.install_if), ["!bad~2", "base"]);
    // v2-converted dependency arrays are tagged as arrays.
    let entry = file.adb().root().unwrap().vector(2).unwrap().unwrap();
    let Value::Vector(first) = entry.get(1).unwrap() else {
        panic!("not an object")
    };
    assert_eq!(first.vector(15).unwrap().unwrap().tag(), VectorTag::Array);

    // A tampered index is refused; the untampered one is not.
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xFF;
    assert!(
        Index::from_adb_bytes(&bad, Some(&trusting(&signer)), &IndexOptions::default()).is_err()
    );
}

#[test]
fn index_writer_refuses_bad_input() {
    let mut writer = IndexWriter::new();
    assert!(
        writer
            .add_package_info(&PackageInfo::new("a", "1"))
            .is_err()
    );
    let mut bad = info("a", "1", 1);
    bad.name = ".hidden".into();
    assert!(writer.add_package_info(&bad).is_err());
    let mut bad = info("a", "1", 1);
    bad.commit = Some("xyz".into());
    assert!(writer.add_package_info(&bad).is_err());
    let mut bad = info("a", "1", 1);
    bad.depends = vec!["foo@edge".parse().unwrap()];
    assert!(writer.add_package_info(&bad).is_err());
    for payload in [&[][..], &[0u8; 8][..], &[1u8, 0, 0, 0, 0, 0, 0, 0][..]] {
        assert!(writer.add_v3_package(payload, 1).is_err());
    }
    // An index is not a package.
    let index = adb::tests_support::tiny_index();
    let file = AdbFile::parse(&index).unwrap();
    assert!(writer.add_v3_package(file.adb().payload(), 1).is_err());
    assert!(writer.is_empty());
    // An empty index still has a root object.
    let payload = writer.finish().unwrap();
    assert!(Adb::new(&payload).unwrap().root().is_ok());
}

#[test]
fn index_hash_truncation() {
    let stream = adb::tests_support::tiny_package();
    let file = AdbFile::parse(&stream).unwrap();
    let mut writer = IndexWriter::new();
    writer.hash(IndexHash::Sha256Trunc160);
    let added = writer.add_v3_package(file.adb().payload(), 99).unwrap();
    assert_eq!(added.hashes, adb::package_identity(&file.adb())[..20]);
}

proptest! {
    #[test]
    fn written_values_read_back(
        blobs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..400), 0..12),
        ints in proptest::collection::vec(any::<u64>(), 0..12),
    ) {
        let mut w = AdbWriter::new();
        let mut slots = Vec::new();
        for b in &blobs {
            slots.push(w.blob(b).unwrap());
        }
        for i in &ints {
            slots.push(w.int(*i).unwrap());
        }
        let array = w.array_tagged(&slots, VectorTag::Array).unwrap();
        let root = match w.object(&[array]).unwrap() {
            0 => w.empty_object().unwrap(),
            root => root,
        };
        let payload = w.finish(root);
        let adb = Adb::new(&payload).unwrap();
        let root = adb.root().unwrap();
        let expected: Vec<Value> = blobs
            .iter()
            .filter(|b| !b.is_empty())
            .map(|b| Value::Blob(b))
            .chain(ints.iter().map(|i| Value::Int(*i)))
            .collect();
        match root.vector(1).unwrap() {
            None => prop_assert!(expected.is_empty()),
            Some(items) => {
                let got: Vec<Value> = items.items().collect::<Result<_, _>>().unwrap();
                prop_assert_eq!(got, expected);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// apk-tools 3.0.6's files

fn apk3() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("APK_CORPUS") else {
        eprintln!("note: APK_CORPUS is not set: skipping the ADB writer corpus tests");
        return None;
    };
    let dir = PathBuf::from(dir).join("apk3-made");
    assert!(
        dir.join("README.md").is_file(),
        "APK_CORPUS is set but {} is not readable",
        dir.display()
    );
    Some(dir)
}

/// Every corpus file re-assembled from its parsed blocks with our stream writer gives the
/// same inner stream, and our SIG blocks for the test key are apk's, byte for byte.
#[test]
fn corpus_files_reassemble_byte_for_byte() {
    let Some(apk3) = apk3() else { return };
    let key = SigningKey::from_file(apk3.join("keys/test@example-1.rsa")).unwrap();
    let mut checked = 0;
    for dir in ["x86_64", "variants"] {
        for entry in std::fs::read_dir(apk3.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let (compression, stream) =
                adb::decompress_with_info(&data, &ReadOptions::default()).unwrap();
            let file = AdbFile::parse(&stream).unwrap();
            let mut out =
                AdbStreamWriter::new(Vec::new(), file.schema(), Compression::None).unwrap();
            out.write_adb(file.adb().payload()).unwrap();
            for sig in file.signatures() {
                let ours = adb::sign_payload(file.schema(), file.adb().payload(), &key).unwrap();
                assert_eq!(ours, sig.payload, "{}", path.display());
                out.write_sig(&ours).unwrap();
            }
            for data in file.data_blocks() {
                out.write_data(data.path_index, data.file_index, data.contents)
                    .unwrap();
            }
            assert!(
                out.finish().unwrap() == stream.as_ref(),
                "{}",
                path.display()
            );
            // The head reader finds the same ADB block through any wrapper.
            let head = adb::read_adb_head(&data[..], &ReadOptions::default()).unwrap();
            assert_eq!(head.payload, file.adb().payload());
            assert_eq!(head.compression, compression);
            assert_eq!(head.schema, file.schema());
            // Uncompressed files come out identical, wrapper included.
            if compression == Compression::None {
                let mut again =
                    AdbStreamWriter::new(Vec::new(), file.schema(), compression).unwrap();
                again.write_adb(file.adb().payload()).unwrap();
                for sig in file.signatures() {
                    again.write_sig(sig.payload).unwrap();
                }
                for data in file.data_blocks() {
                    again
                        .write_data(data.path_index, data.file_index, data.contents)
                        .unwrap();
                }
                assert!(again.finish().unwrap() == data, "{}", path.display());
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 9);
}

/// `mkndx` over apk-tools' four packages gives apk-tools' `Packages.adb`, byte for byte.
#[test]
fn corpus_index_rebuilt_byte_for_byte() {
    let Some(apk3) = apk3() else { return };
    let key = SigningKey::from_file(apk3.join("keys/test@example-1.rsa")).unwrap();
    let mut writer = IndexWriter::new();
    writer.description(Some("apk-rs v3 test repository".into()));
    for name in [
        "fooplug-1-r0.apk",
        "hello3-1.0-r0.apk",
        "libgreet-2.1-r0.apk",
        "trig-1-r0.apk",
    ] {
        let path = apk3.join("x86_64").join(name);
        let size = std::fs::metadata(&path).unwrap().len();
        let head = adb::read_adb_head(std::fs::File::open(&path).unwrap(), &ReadOptions::default())
            .unwrap();
        writer.add_v3_package(&head.payload, size).unwrap();
    }
    let ours = writer.write_file(&[&key], Compression::Deflate).unwrap();
    let theirs = std::fs::read(apk3.join("x86_64/Packages.adb")).unwrap();
    assert!(ours == theirs, "Packages.adb differs");
}
