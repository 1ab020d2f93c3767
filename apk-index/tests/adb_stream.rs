//! `BlockReader` (an ADB file read as it streams) against `decompress` + `AdbFile::parse`
//! (the file read whole): on good files, cut files and damaged files, in every compression
//! wrapper, both must accept the same files and give the same head and DATA blocks.

use std::io::Write;
use std::path::PathBuf;

use apk_index::adb::{self, AdbFile, BlockReader, ReadOptions};

/// What a reader made of a file: the inner stream up to the DATA blocks, and each DATA
/// block as (path index, file index, contents).
type Parsed = (Vec<u8>, Vec<(u32, u32, Vec<u8>)>);

fn whole(file: &[u8]) -> Option<Parsed> {
    let stream = adb::decompress(file, &ReadOptions::default()).ok()?;
    let parsed = AdbFile::parse(&stream).ok()?;
    let head_end = parsed
        .data_blocks()
        .first()
        .map_or(stream.len(), |b| b.offset as usize);
    let data = parsed
        .data_blocks()
        .iter()
        .map(|b| (b.path_index, b.file_index, b.contents.to_vec()))
        .collect();
    Some((stream[..head_end].to_vec(), data))
}

fn streamed(file: &[u8], chunk: usize) -> Option<Parsed> {
    let mut reader = BlockReader::open(file, &ReadOptions::default()).ok()?;
    AdbFile::parse(reader.head()).ok()?;
    let mut data = Vec::new();
    let mut buf = vec![0u8; chunk];
    while let Some(h) = reader.next_data().ok()? {
        let mut contents = Vec::new();
        loop {
            let n = reader.read_data(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            contents.extend_from_slice(&buf[..n]);
        }
        assert_eq!(contents.len() as u64, h.size);
        data.push((h.path_index, h.file_index, contents));
    }
    Some((reader.take_head(), data))
}

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
    let stream = package_stream();
    let expected = whole(&stream).expect("the test package parses");
    assert_eq!(expected.1.len(), 3);
    for (name, file) in wrappers(&stream) {
        for chunk in [1, 3, 8, 4096] {
            assert_eq!(
                streamed(&file, chunk).as_ref(),
                Some(&expected),
                "{name}, {chunk}"
            );
        }
    }
    // An index: no DATA blocks, the head is the whole stream.
    let index = adb::tests_support::tiny_index();
    assert_eq!(streamed(&index, 7), Some((index.clone(), Vec::new())));
}

#[test]
fn cut_and_damaged_files_are_refused_exactly_when_read_whole_refuses_them() {
    let stream = package_stream();
    for (name, file) in wrappers(&stream) {
        for cut in 0..file.len() {
            let part = &file[..cut];
            assert_eq!(streamed(part, 5), whole(part), "{name} cut at {cut}");
        }
        let mut longer = file.clone();
        longer.push(0);
        assert_eq!(
            streamed(&longer, 5),
            whole(&longer),
            "{name} with a byte more"
        );
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
            assert_eq!(streamed(&d, 5), whole(&d), "{name}, damage round {round}");
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
            let expected = whole(&file);
            assert!(expected.is_some(), "{} does not parse", path.display());
            assert_eq!(streamed(&file, 1000), expected, "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 9, "only {seen} v3 files in {}", dir.display());
}
