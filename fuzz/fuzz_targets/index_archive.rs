//! Signed index archives (`APKINDEX.tar.gz`) on arbitrary bytes.
//!
//! The input goes to `IndexArchive::from_bytes` as it is. Mutating gzip data mostly breaks its
//! checksum, so an input that does not start with the gzip magic is also read as uncompressed
//! tar streams separated by `%%GZ%%`, each gzip-compressed into one member: that way the
//! fuzzer mutates tar headers and signature entries directly. An archive that reads is verified
//! against an empty key set (which can never succeed) and loaded as an index under both rule
//! sets.

#![no_main]

use std::hint::black_box;
use std::io::Write as _;

use apk_index::{Index, IndexArchive, IndexOptions, KeySet, Rules, VerifyError};
use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;

/// Separates the uncompressed tar streams of a structured input.
const SEPARATOR: &[u8] = b"%%GZ%%";

fuzz_target!(|data: &[u8]| {
    check(data);
    if !data.starts_with(&[0x1f, 0x8b]) {
        check(&gzip_members(data));
    }
});

/// Compress each `SEPARATOR`-delimited part of `data` into its own gzip member.
fn gzip_members(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut rest = data;
    loop {
        let (part, next) = match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(i) => (&rest[..i], Some(&rest[i + SEPARATOR.len()..])),
            None => (rest, None),
        };
        let mut encoder = GzEncoder::new(&mut out, Compression::fast());
        encoder.write_all(part).expect("writing to a Vec");
        encoder.finish().expect("writing to a Vec");
        match next {
            Some(next) => rest = next,
            None => return out,
        }
    }
}

fn check(data: &[u8]) {
    let archive = match IndexArchive::from_bytes(data) {
        Ok(archive) => archive,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    let range = archive.signed_range();
    assert!(
        range.start <= range.end && range.end <= data.len(),
        "signed range {range:?} outside the {}-byte input",
        data.len()
    );
    for sig in archive.signatures() {
        black_box((sig.algorithm(), sig.key_name(), sig.signature()));
    }
    black_box((
        archive.description(),
        archive.is_signed(),
        format!("{archive:?}"),
    ));

    match archive.verify(&KeySet::new()) {
        Ok(by) => panic!("verified by {:?} with no keys", by.key_name()),
        Err(VerifyError::Unsigned) => assert!(!archive.is_signed()),
        Err(e) => {
            assert!(archive.is_signed(), "unsigned archive gave {e:?}");
            black_box(e.to_string());
        }
    }

    for rules in [Rules::V2, Rules::V3] {
        let index = Index::from_archive(&archive, &IndexOptions { rules });
        black_box((index.len(), index.description(), index.problems().len()));
        let mut out = Vec::new();
        index.write_text(&mut out).expect("writing to a Vec");
        black_box(out);
    }
}
