//! Pure parsing of tar header blocks and PAX extended-header records.
//!
//! No I/O here: the streaming reader in `reader.rs` reads blocks and hands them to these
//! functions. Only what apk packages use is understood: ustar and GNU headers, PAX `x` records,
//! GNU `L` long names; everything else is classified so the reader can skip or refuse it.

/// The size of a tar block.
pub(crate) const BLOCK: usize = 512;

/// A parsed header block (before PAX and long-name overrides are applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The name, with the POSIX `prefix` joined in front when there is one.
    pub name: Vec<u8>,
    /// The link name (symlink or hard-link target).
    pub link: Vec<u8>,
    pub type_flag: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
}

/// Why a header block was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// The magic does not start with `ustar`.
    NotTar,
    /// A numeric field is neither octal nor base-256, or does not fit.
    BadNumber(&'static str),
}

impl HeaderError {
    pub(crate) fn describe(self) -> String {
        match self {
            HeaderError::NotTar => "not a ustar header".to_owned(),
            HeaderError::BadNumber(field) => format!("invalid {field} field in tar header"),
        }
    }
}

/// Whether `block` is all zero bytes (half of an end-of-archive marker).
pub(crate) fn is_zero_block(block: &[u8; BLOCK]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// The bytes of a NUL-terminated field.
fn cstr(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(end) => &field[..end],
        None => field,
    }
}

/// A numeric field: octal digits (leading spaces or NULs allowed, ended by space or NUL), or
/// GNU base-256 when the high bit of the first byte is set. An empty field is 0.
fn number(field: &[u8], name: &'static str) -> Result<u64, HeaderError> {
    let bad = HeaderError::BadNumber(name);
    match field.first() {
        Some(&first) if first & 0x80 != 0 => {
            if first & 0x40 != 0 {
                // Negative base-256 numbers make no sense for any field we read.
                return Err(bad);
            }
            let mut value: u64 = u64::from(first & 0x3f);
            for &b in &field[1..] {
                value = value
                    .checked_mul(256)
                    .and_then(|v| v.checked_add(u64::from(b)))
                    .ok_or(bad)?;
            }
            Ok(value)
        }
        _ => {
            let digits = field
                .iter()
                .skip_while(|&&b| b == b' ' || b == 0)
                .take_while(|&&b| b != b' ' && b != 0);
            let mut value: u64 = 0;
            for &b in digits {
                if !(b'0'..=b'7').contains(&b) {
                    return Err(bad);
                }
                value = value
                    .checked_mul(8)
                    .and_then(|v| v.checked_add(u64::from(b - b'0')))
                    .ok_or(bad)?;
            }
            Ok(value)
        }
    }
}

/// Parses one (non-zero) header block. The header checksum is not verified, as apk-tools does
/// not verify it; gzip's CRC already protects the bytes.
pub(crate) fn parse_header(block: &[u8; BLOCK]) -> Result<Header, HeaderError> {
    let magic = &block[257..265];
    if &magic[..5] != b"ustar" {
        return Err(HeaderError::NotTar);
    }
    // POSIX ustar ("ustar\0" "00") has a 155-byte name prefix; GNU ("ustar  \0") uses that
    // space for other fields.
    let posix = magic[5] == 0;
    let base = cstr(&block[0..100]);
    let mut name = Vec::with_capacity(base.len());
    if posix {
        let prefix = cstr(&block[345..500]);
        if !prefix.is_empty() {
            name.extend_from_slice(prefix);
            name.push(b'/');
        }
    }
    name.extend_from_slice(base);
    let to_u32 =
        |v: u64, field: &'static str| u32::try_from(v).map_err(|_| HeaderError::BadNumber(field));
    Ok(Header {
        name,
        link: cstr(&block[157..257]).to_vec(),
        type_flag: block[156],
        mode: to_u32(number(&block[100..108], "mode")?, "mode")? & 0o7777,
        uid: number(&block[108..116], "uid")?,
        gid: number(&block[116..124], "gid")?,
        size: number(&block[124..136], "size")?,
        mtime: number(&block[136..148], "mtime")?,
        dev_major: to_u32(number(&block[329..337], "devmajor")?, "devmajor")?,
        dev_minor: to_u32(number(&block[337..345], "devminor")?, "devminor")?,
    })
}

/// The PAX records apk cares about, collected from one `x` header.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Pax {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<u64>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub mtime: Option<u64>,
    pub sha1: Option<Vec<u8>>,
    pub md5: Option<Vec<u8>>,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Parses the records of a PAX extended header (`"<len> <key>=<value>\n"` each) into `pax`.
/// Unknown keys are ignored. Returns a description of the problem for a malformed record.
pub(crate) fn parse_pax(mut data: &[u8], pax: &mut Pax) -> Result<(), String> {
    // Some writers pad the content with NULs.
    while let Some(&first) = data.first() {
        if first == 0 {
            break;
        }
        let space = data
            .iter()
            .position(|&b| b == b' ')
            .ok_or("pax record without a length")?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("pax record with a bad length")?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err("pax record length does not match its contents".to_owned());
        }
        let record = &data[space + 1..len - 1];
        data = &data[len..];
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or("pax record without '='")?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        let decimal = |v: &[u8]| -> Result<u64, String> {
            // mtime may carry a fraction; only the whole seconds matter.
            let whole = v.split(|&b| b == b'.').next().unwrap_or_default();
            std::str::from_utf8(whole)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    format!(
                        "pax record {} is not a number",
                        String::from_utf8_lossy(key)
                    )
                })
        };
        match key {
            b"path" => pax.path = Some(value.to_vec()),
            b"linkpath" => pax.linkpath = Some(value.to_vec()),
            b"size" => pax.size = Some(decimal(value)?),
            b"uid" => pax.uid = Some(decimal(value)?),
            b"gid" => pax.gid = Some(decimal(value)?),
            b"mtime" => {
                // A negative mtime (before 1970) is clamped to 0.
                pax.mtime = Some(if value.starts_with(b"-") {
                    0
                } else {
                    decimal(value)?
                })
            }
            b"APK-TOOLS.checksum.SHA1" => pax.sha1 = Some(value.to_vec()),
            b"APK-TOOLS.checksum.MD5" => pax.md5 = Some(value.to_vec()),
            _ => {
                if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                    pax.xattrs.push((name.to_vec(), value.to_vec()));
                }
            }
        }
    }
    Ok(())
}

/// Decodes lowercase or uppercase hex into `out`; false when the length or a digit is wrong.
pub(crate) fn decode_hex(text: &[u8], out: &mut [u8]) -> bool {
    if text.len() != out.len() * 2 {
        return false;
    }
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    for (i, pair) in text.chunks_exact(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => out[i] = (h << 4) | l,
            _ => return false,
        }
    }
    true
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(name: &[u8], magic: &[u8; 8], size: &[u8]) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        b[..name.len()].copy_from_slice(name);
        b[124..124 + size.len()].copy_from_slice(size);
        b[156] = b'0';
        b[257..265].copy_from_slice(magic);
        b
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"0000644\0", "m"), Ok(0o644));
        assert_eq!(number(b"  755 \0\0", "m"), Ok(0o755));
        assert_eq!(number(b"\0\0\0\0", "m"), Ok(0));
        assert_eq!(number(&[0x80, 0, 0, 1, 0], "m"), Ok(256));
        assert!(number(b"0009", "m").is_err());
        assert!(number(&[0xff, 0xff], "m").is_err());
        assert!(
            number(
                &[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                "m"
            )
            .is_err()
        );
    }

    #[test]
    fn posix_prefix_and_gnu_magic() {
        let mut b = block(b"name", b"ustar\x0000", b"00000000012");
        b[345..348].copy_from_slice(b"pre");
        let h = parse_header(&b).unwrap();
        assert_eq!(h.name, b"pre/name");
        assert_eq!(h.size, 10);
        let mut b = block(b"name", b"ustar  \0", b"12");
        b[345..348].copy_from_slice(b"xyz");
        assert_eq!(parse_header(&b).unwrap().name, b"name");
        assert_eq!(
            parse_header(&block(b"n", b"garbage!", b"1")),
            Err(HeaderError::NotTar)
        );
    }

    #[test]
    fn pax_records() {
        let mut pax = Pax::default();
        let data = b"30 mtime=1700000000.123456789\n20 path=a/long/name\n\
                     68 APK-TOOLS.checksum.SHA1=0123456789012345678901234567890123456789\n\
                     25 SCHILY.xattr.user.a=b\n";
        parse_pax(data, &mut pax).unwrap();
        assert_eq!(pax.mtime, Some(1_700_000_000));
        assert_eq!(pax.path.as_deref(), Some(&b"a/long/name"[..]));
        assert_eq!(pax.sha1.as_ref().map(Vec::len), Some(40));
        assert_eq!(pax.xattrs, vec![(b"user.a".to_vec(), b"b".to_vec())]);
        for bad in [&b"5 a=b\n"[..], b"x a=b\n", b"99 a=b\n", b"7 ab\n\n"] {
            assert!(parse_pax(bad, &mut Pax::default()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hex_round_trip() {
        let mut out = [0u8; 2];
        assert!(decode_hex(b"0aFf", &mut out));
        assert_eq!(out, [0x0a, 0xff]);
        assert_eq!(hex(&out), "0aff");
        assert!(!decode_hex(b"0g00", &mut out));
        assert!(!decode_hex(b"0", &mut out));
    }
}
