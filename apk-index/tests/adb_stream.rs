//! `BlockReader` (an ADB file read as it streams) against `decompress` + `AdbFile::parse`
//! (the file read whole): on good files, cut files and damaged files, in every compression
//! wrapper, both must accept the same files and give the same head and DATA blocks.

use std::io::Write;
use std::path::PathBuf;

use apk_index::adb::{self, BlockReader, ReadOptions};

// The fuzz target `adb` holds the two readers and the oracle that compares them.
#[allow(dead_code)]
#[path = "../../fuzz/checks/adb.rs"]
mod adb_check;

use adb_check::{Blocks, check_streaming, read_streamed, read_whole};

/// A package inner stream with three DATA blocks of awkward sizes (padding 0, 1 and 7).
fn package_stream() -> Vec<u8> {
    let mut stream = adb::tests_support::tiny_package();
    // The tiny package's single DATA block is its last block; add two more after it (the
    // reader checks the order of blocks, not whether the metadata wants them).
    for (p, f, len) in [(1u32, 2u32, 8usize), (2, 1, 15)] {
        let payload_len = 8 + len;
        let raw = 4 + payload_len;
        stream.extend_from_slice(&((2u32 << 30) | raw as u32).to_le_bytes());
        stream.extend_from_slice(&p.to_le_bytes());
        stream.extend_from_slice(&f.to_le_bytes());
        stream.extend((0..len).map(|i| i as u8 ^ 0x5a));
        stream.resize(stream.len() + (8 - raw % 8) % 8, 0);
    }
    stream
}

fn deflated(stream: &[u8], magic: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(magic.to_vec(), flate2::Compression::best());
    e.write_all(stream).unwrap();
    e.finish().unwrap()
}

fn zstd(stream: &[u8]) -> Vec<u8> {
    let mut out = b"ADBc\x02\x01".to_vec();
    out.extend(ruzstd::encoding::compress_to_vec(
        stream,
        ruzstd::encoding::CompressionLevel::Fastest,
    ));
    out
}

fn wrappers(stream: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut stored = b"ADBc\x00\x00".to_vec();
    stored.extend_from_slice(stream);
    vec![
        ("none", stream.to_vec()),
        ("stored", stored),
        ("deflate", deflated(stream, b"ADBd")),
        ("deflate with level", deflated(stream, b"ADBc\x01\x09")),
        ("zstd", zstd(stream)),
    ]
}

#[test]
fn good_files_read_the_same_streamed_and_whole() {
    let options = ReadOptions::default();
    let stream = package_stream();
    let expected = read_whole(&stream, &options).expect("the test package parses");
    assert_eq!(expected.1.len(), 3);
    for (name, file) in wrappers(&stream) {
        for buffer in [1, 3, 8, 4096] {
            let got = read_streamed(&file, &options, buffer).map_err(|e| e.to_string());
            assert_eq!(got.as_ref(), Ok(&expected), "{name}, {buffer}");
        }
    }
    // An index: no DATA blocks, the head is the whole stream.
    let index = adb::tests_support::tiny_index();
    let blocks: Blocks = (index.clone(), Vec::new());
    assert_eq!(read_streamed(&index, &options, 5).ok(), Some(blocks));
}

#[test]
fn cut_and_damaged_files_are_refused_exactly_when_read_whole_refuses_them() {
    let options = ReadOptions::default();
    let stream = package_stream();
    for (name, file) in wrappers(&stream) {
        for cut in 0..file.len() {
            check_streaming(&file[..cut], &options);
        }
        let mut longer = file.clone();
        longer.push(0);
        assert!(
            read_whole(&longer, &options).is_err(),
            "{name} with a byte more"
        );
        check_streaming(&longer, &options);
        let mut state = 0x2545_f491u32;
        for round in 0..1500 {
            let mut d = file.clone();
            for _ in 0..1 + round % 3 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let pos = state as usize % d.len();
                d[pos] ^= 1 << (state % 8);
            }
            check_streaming(&d, &options);
        }
    }
}

#[test]
fn a_sig_block_after_data_is_refused() {
    let mut stream = package_stream();
    // A (too short, but well-framed) SIG block after the DATA blocks.
    stream.extend_from_slice(&((1u32 << 30) | 6).to_le_bytes());
    stream.extend_from_slice(&[0, 0, 0, 0]);
    let mut reader = BlockReader::open(&stream[..], &ReadOptions::default()).unwrap();
    let mut outcome = Ok(None);
    for _ in 0..4 {
        outcome = reader.next_data();
        if !matches!(outcome, Ok(Some(_))) {
            break;
        }
    }
    let err = outcome.expect_err("a SIG block after DATA");
    assert!(
        err.to_string()
            .contains("signature block after a data block"),
        "{err}"
    );
}

/// The v3 files apk-tools 3 made (`$APK_CORPUS/apk3-made`): each compression apk writes.
#[test]
fn apk_tools_files_read_the_same_streamed_and_whole() {
    let Some(root) = std::env::var_os("APK_CORPUS").map(PathBuf::from) else {
        return;
    };
    let dir = root.join("apk3-made");
    let mut seen = 0;
    for sub in ["x86_64", "variants"] {
        let entries = std::fs::read_dir(dir.join(sub))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(sub).display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if !matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("apk" | "adb")
            ) {
                continue;
            }
            let file = std::fs::read(&path).unwrap();
            let options = ReadOptions::default();
            let expected = read_whole(&file, &options)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            let got = read_streamed(&file, &options, 1000).map_err(|e| e.to_string());
            assert_eq!(got, Ok(expected), "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 9, "only {seen} v3 files in {}", dir.display());
}
