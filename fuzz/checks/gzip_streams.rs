//! The `%%GZ%%` structured-input mode shared by the targets that read gzip-compressed tar
//! streams (`index_archive`, `package`, `extract`).
//!
//! Mutating gzip data mostly breaks its checksum, so an input that does not start with the gzip
//! magic is also read as uncompressed tar streams separated by `%%GZ%%`, each compressed on the
//! fly into its own gzip member: that way the fuzzer mutates tar headers, PAX records and
//! signature entries directly.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Separates the uncompressed tar streams of a structured input.
const SEPARATOR: &[u8] = b"%%GZ%%";

/// Run `check` on `data` as it is and, when `data` does not start with the gzip magic, on
/// `data` read as `%%GZ%%`-separated tar streams gzipped on the fly.
pub fn check_both(data: &[u8], check: fn(&[u8])) {
    check(data);
    if !data.starts_with(&[0x1f, 0x8b]) {
        check(&gzip_members(data));
    }
}

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
