//! apk v3 (ADB) files on arbitrary bytes, through the reader in `apk_index::adb`.
//!
//! The input is read as a file as it is (any wrapper: `ADB.`, `ADBd`, `ADBc`), and, so that the
//! fuzzer reaches the blocks and values without having to find the magic first, as the body of
//! an uncompressed package (`ADB.pckg` + input) and of an uncompressed index (`ADB.indx` +
//! input). Oracles:
//!
//! * nothing panics, and the expansion limit holds (the inner stream is never larger than it);
//! * verifying against an empty key set never succeeds, neither for the parsed file
//!   (`AdbFile::verify_signature`) nor for the bytes (`verify_bytes`, `Index::from_adb_bytes`
//!   with keys); every SIG block's status with no keys is "untrusted" or "unsupported";
//! * `dump` (with no keys and with the empty key set) gives the same text both times;
//! * a package that reads gives the files that need DATA blocks in `paths` order, and a
//!   successful `check_data` means every such file had its block;
//! * an index that loads into the index model without keys has one package per index entry,
//!   each known by the first 20 bytes of its `hashes` (`Index::adb_hashes` keeps them whole);
//! * `BlockReader` (the file read as it streams, through a small buffer) accepts exactly the
//!   files that `decompress` + `AdbFile::parse` accept (save those only the whole-file size
//!   limit refuses), with the same head and the same DATA blocks;
//! * such a file streamed block by block into a new one (what `adbsign` does), plain and
//!   deflated, reads back as the same blocks.
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/adb.rs` and by
//! `apk-index/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/adb/`; depends only on
//! the library crates, never on libFuzzer.

use std::hint::black_box;

use apk_index::adb::{
    self, AdbError, AdbFile, AdbStreamWriter, BlockReader, Compression, IndexFile, Package,
    ReadOptions, SchemaId, SignatureStatus,
};
use apk_index::{Index, IndexOptions, KeySet};

/// The most an input may expand to.
const MAX_SIZE: u64 = 16 << 20;

/// Check `data` as a file and as the body of an uncompressed package and index.
pub fn run(data: &[u8]) {
    check(data);
    for schema in [&b"ADB.pckg"[..], b"ADB.indx"] {
        let mut stream = schema.to_vec();
        stream.extend_from_slice(data);
        check(&stream);
    }
}

/// The head and DATA blocks of a file, read whole or as it streams: the inner stream up to
/// the DATA blocks, and each DATA block as (path index, file index, contents).
pub type Blocks = (Vec<u8>, Vec<(u32, u32, Vec<u8>)>);

/// The file read whole (`decompress` + `AdbFile::parse`).
pub fn read_whole(data: &[u8], options: &ReadOptions) -> Result<Blocks, AdbError> {
    let stream = adb::decompress(data, options)?;
    let file = AdbFile::parse(&stream)?;
    let head_end = file
        .data_blocks()
        .first()
        .map_or(stream.len(), |b| b.offset as usize);
    let blocks = file
        .data_blocks()
        .iter()
        .map(|b| (b.path_index, b.file_index, b.contents.to_vec()))
        .collect();
    Ok((stream[..head_end].to_vec(), blocks))
}

/// The file read as it streams (`BlockReader`), through a buffer of `buffer` bytes.
pub fn read_streamed(
    data: &[u8],
    options: &ReadOptions,
    buffer: usize,
) -> Result<Blocks, AdbError> {
    let source = std::io::BufReader::with_capacity(buffer, data);
    let mut reader = BlockReader::open(source, options)?;
    AdbFile::parse(reader.head())?;
    let mut blocks = Vec::new();
    let mut buf = [0u8; 13];
    while let Some(h) = reader.next_data()? {
        let mut contents = Vec::new();
        loop {
            let n = reader.read_data(&mut buf)?;
            if n == 0 {
                break;
            }
            contents.extend_from_slice(&buf[..n]);
        }
        assert_eq!(contents.len() as u64, h.size, "DATA block length");
        blocks.push((h.path_index, h.file_index, contents));
    }
    Ok((reader.take_head(), blocks))
}

/// Both readers accept the same files (save what only the whole read's size limit refuses)
/// and read the same blocks from them.
pub fn check_streaming(data: &[u8], options: &ReadOptions) {
    let whole = read_whole(data, options);
    let streamed = read_streamed(data, options, 7);
    match (&whole, &streamed) {
        (Ok(w), Ok(s)) => {
            assert!(w == s, "streamed and whole reads differ");
            check_rewrite(data, w, options);
        }
        (Err(AdbError::TooLarge { .. }), _) => {}
        (Ok(_), Err(e)) => panic!("streamed read refused what the whole read accepts: {e}"),
        (Err(e), Ok(_)) => panic!("streamed read accepted what the whole read refuses: {e}"),
        (Err(_), Err(_)) => {}
    }
}

/// What `adbsign` does without keys: the file streamed into a new one block by block (ADB,
/// SIG and DATA blocks as they are), plain and deflated, reads back as the same blocks.
fn check_rewrite(data: &[u8], blocks: &Blocks, options: &ReadOptions) {
    let Ok(file) = AdbFile::parse(&blocks.0) else {
        return;
    };
    for compression in [Compression::None, Compression::Deflate] {
        let mut w = AdbStreamWriter::new(Vec::new(), file.schema(), compression)
            .expect("writing to memory");
        w.write_adb(file.adb().payload()).expect("the ADB block");
        for sig in file.signatures() {
            w.write_sig(sig.payload).expect("a SIG block");
        }
        for (path_index, file_index, contents) in &blocks.1 {
            w.begin_data(*path_index, *file_index, contents.len() as u64)
                .expect("a DATA block");
            w.write_contents(contents).expect("DATA contents");
        }
        let rewritten = w.finish().expect("finishing the file");
        let again = read_whole(&rewritten, options).map_err(|e| e.to_string());
        assert!(
            again.as_ref() == Ok(blocks),
            "{} bytes rewritten with {compression:?} read back differently: {:?}",
            data.len(),
            again.err()
        );
    }
}

fn check(data: &[u8]) {
    let options = ReadOptions { max_size: MAX_SIZE };
    check_streaming(data, &options);
    let empty = KeySet::new();
    assert!(
        adb::verify_bytes(data, &empty, &options).is_err(),
        "verified against an empty key set"
    );
    assert!(
        Index::from_adb_bytes_with(data, Some(&empty), &IndexOptions::default(), &options).is_err(),
        "an index verified against an empty key set"
    );
    let stream = match adb::decompress(data, &options) {
        Ok(stream) => stream,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    assert!(stream.len() as u64 <= MAX_SIZE, "expanded past the limit");
    let file = match AdbFile::parse(&stream) {
        Ok(file) => file,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    assert!(file.verify_signature(&empty).is_err());
    for status in file.signature_status(None) {
        assert!(
            matches!(
                status,
                SignatureStatus::UntrustedKey | SignatureStatus::Unsupported
            ),
            "{status:?} without keys"
        );
    }
    let dumped = adb::dump(&file, None).map_err(|e| e.to_string());
    assert_eq!(
        dumped,
        adb::dump(&file, Some(&empty)).map_err(|e| e.to_string()),
        "dump differs with an empty key set"
    );
    let _ = black_box(dumped);
    black_box(adb::package_identity(&file.adb()));
    let _ = black_box(adb::unique_id(&file.adb()).map_err(|e| e.to_string()));

    if file.schema() == SchemaId::PACKAGE {
        check_package(&file);
    } else if file.schema() == SchemaId::INDEX {
        check_index(data, &file, &options);
    }
}

fn check_package(file: &AdbFile<'_>) {
    let package = match Package::from_file(file) {
        Ok(package) => package,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    let mut last = (0, 0);
    let mut needing_data = 0;
    for (dir, f) in package.data_files() {
        assert!(f.needs_data());
        assert!((dir.slot, f.slot) > last, "data files out of order");
        last = (dir.slot, f.slot);
        needing_data += 1;
        black_box(dir.file_path(f));
    }
    match package.check_data(file.data_blocks()) {
        Ok(()) => assert_eq!(
            needing_data,
            file.data_blocks().len(),
            "check_data passed with a block missing or extra"
        ),
        Err(e) => {
            black_box(e.to_string());
        }
    }
    let _ = black_box(
        package
            .check_unique_id(&file.adb())
            .map_err(|e| e.to_string()),
    );
    let _ = black_box(package.to_package_info().map_err(|e| e.to_string()));
}

fn check_index(data: &[u8], file: &AdbFile<'_>, options: &ReadOptions) {
    let index_file = match IndexFile::from_file(file) {
        Ok(index_file) => index_file,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    let _ = black_box(index_file.to_apkindex_text().map_err(|e| e.to_string()));
    let index = match Index::from_adb_bytes_with(data, None, &IndexOptions::default(), options) {
        Ok(index) => index,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    assert_eq!(
        index.len(),
        index_file.packages.len(),
        "one package per entry"
    );
    for (i, (p, entry)) in index.packages().zip(&index_file.packages).enumerate() {
        assert_eq!(Some(p.name()), entry.name, "package {i}: name");
        let hashes = entry.hashes.unwrap_or_default();
        match p.identity() {
            Some(id) => {
                assert_eq!(id.as_bytes(), &hashes[..20], "package {i}: identity");
                assert_eq!(index.adb_hashes(i), Some(hashes), "package {i}: hashes");
            }
            None => assert!(hashes.len() < 20, "package {i}: identity lost"),
        }
    }
}
