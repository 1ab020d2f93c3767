//! Signed index archives (`APKINDEX.tar.gz`) on arbitrary bytes.
//!
//! The input goes to `IndexArchive::from_bytes` as it is. Mutating gzip data mostly breaks its
//! checksum, so an input that does not start with the gzip magic is also read as uncompressed
//! tar streams separated by `%%GZ%%`, each gzip-compressed into one member: that way the
//! fuzzer mutates tar headers and signature entries directly. An archive that reads is verified
//! against an empty key set (which can never succeed) and loaded as an index under both rule
//! sets.
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/index_archive.rs` and by
//! `apk-index/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/index_archive/`; depends only
//! on the library crates, `flate2` and `tempfile`, never on libFuzzer. The includer also declares
//! `mod gzip_streams` (`gzip_streams.rs`) at its crate root.

use std::hint::black_box;

use apk_index::{Index, IndexArchive, IndexOptions, KeySet, Rules, VerifyError};

use crate::gzip_streams;

/// Check `data` as it is and as `%%GZ%%`-separated tar streams.
pub fn run(data: &[u8]) {
    gzip_streams::check_both(data, check);
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
        black_box(&out);

        // The loader's own path (the signature checked while the text is parsed) reads the
        // same index, and refuses it without a trusted key.
        let options = IndexOptions { rules };
        let direct = Index::from_archive_bytes(data, None, &options).expect("read as an archive");
        let mut again = Vec::new();
        direct.write_text(&mut again).expect("writing to a Vec");
        assert_eq!(again, out, "loader and archive disagree");
        assert_eq!(direct.description(), index.description());
        assert_eq!(direct.problems(), index.problems());
        assert!(Index::from_archive_bytes(data, Some(&KeySet::new()), &options).is_err());
    }
}
