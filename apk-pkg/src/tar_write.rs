//! Writing the tar headers of a v2 package: POSIX ustar headers, preceded by a PAX extended
//! header (typeflag `x`) when an entry needs records, as real Alpine packages have them.
//!
//! Only what the builder needs is here, and every byte is chosen on purpose:
//!
//! * Numeric fields are zero-padded octal ending in NUL (`0000644\0`, `00000000017\0`); the
//!   checksum is six octal digits, NUL, space (`012345\0 `), as GNU tar writes it.
//! * Magic `ustar\0`, version `00`; owner and group *names* are left empty, so a reader falls
//!   back to the numeric ids (the packages verified with both apk-tools releases do the same).
//! * Names that do not fit the 100-byte field get a PAX `path` record (link targets a
//!   `linkpath` record) and a truncated copy in the header; the ustar `prefix` field is never
//!   used, because apk-tools is only documented to honour the PAX records.
//! * The PAX header is named `DIR/PaxHeaders/BASE` (`./PaxHeaders/BASE` at the top), as GNU tar
//!   names it in abuild's packages.

use std::io::{self, Write};

/// The tar block size.
pub(crate) const BLOCK: usize = 512;

/// The largest value an 11-digit octal field holds (sizes and mtimes).
pub(crate) const MAX_OCTAL_11: u64 = 0o77_777_777_777;
/// The largest value a 7-digit octal field holds (uid, gid, device numbers).
pub(crate) const MAX_OCTAL_7: u64 = 0o7_777_777;

/// The length of the ustar name and linkname fields.
const NAME_LEN: usize = 100;

/// Entry types (the `typeflag` byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Regular,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
}

impl Kind {
    fn typeflag(self) -> u8 {
        match self {
            Kind::Regular => b'0',
            Kind::HardLink => b'1',
            Kind::Symlink => b'2',
            Kind::CharDevice => b'3',
            Kind::BlockDevice => b'4',
            Kind::Directory => b'5',
            Kind::Fifo => b'6',
        }
    }
}

/// Everything in one entry's header. `name` is the entry name as stored (directories end in
/// `/`); numeric values must already be checked against the field limits.
#[derive(Debug, Clone)]
pub(crate) struct Header<'a> {
    pub name: &'a str,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: u64,
    /// Symlink or hard-link target.
    pub link: Option<&'a str>,
    /// Device major and minor numbers.
    pub device: (u32, u32),
    /// The SHA-1 of the content, as 40 hex digits, for `APK-TOOLS.checksum.SHA1`.
    pub sha1_hex: Option<&'a str>,
}

/// Writes `header`: a PAX header first when the entry needs records (a checksum, or a name or
/// target too long for its field), then the ustar header. Returns the number of bytes written.
pub(crate) fn write_header(out: &mut impl Write, header: &Header<'_>) -> io::Result<u64> {
    let mut records = Vec::new();
    if header.name.len() > NAME_LEN {
        pax_record(&mut records, "path", header.name.as_bytes());
    }
    if let Some(link) = header.link.filter(|l| l.len() > NAME_LEN) {
        pax_record(&mut records, "linkpath", link.as_bytes());
    }
    if let Some(sha1) = header.sha1_hex {
        pax_record(&mut records, "APK-TOOLS.checksum.SHA1", sha1.as_bytes());
    }
    let mut written = 0;
    if !records.is_empty() {
        let pax_name = pax_header_name(header.name);
        let block = ustar_block(&Header {
            name: &pax_name,
            kind: Kind::Regular,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: records.len() as u64,
            mtime: header.mtime,
            link: None,
            device: (0, 0),
            sha1_hex: None,
        });
        let mut block = block;
        block[156] = b'x';
        set_checksum(&mut block);
        out.write_all(&block)?;
        out.write_all(&records)?;
        written += BLOCK as u64 + records.len() as u64;
        written += write_padding(out, records.len() as u64)?;
    }
    out.write_all(&ustar_block(header))?;
    Ok(written + BLOCK as u64)
}

/// Writes the zeros that fill the last block of `size` bytes of entry data; returns how many.
pub(crate) fn write_padding(out: &mut impl Write, size: u64) -> io::Result<u64> {
    let rem = (size % BLOCK as u64) as usize;
    if rem == 0 {
        return Ok(0);
    }
    let pad = BLOCK - rem;
    out.write_all(&[0u8; BLOCK][..pad])?;
    Ok(pad as u64)
}

/// Appends one PAX record, `"<len> <key>=<value>\n"`, where `len` counts the whole record
/// including its own digits.
pub(crate) fn pax_record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    // Adding the digits can add a digit; two rounds always settle it, loop for clarity.
    while decimal_digits(len) + rest != len {
        len = decimal_digits(len) + rest;
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn decimal_digits(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

/// `dir/PaxHeaders/base` for `dir/base` (a trailing `/` dropped), `./PaxHeaders/base` at the
/// top, cut to fit the name field.
fn pax_header_name(name: &str) -> String {
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    let full = match trimmed.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/PaxHeaders/{base}"),
        None => format!("./PaxHeaders/{trimmed}"),
    };
    truncate(&full, NAME_LEN).to_owned()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// One ustar header block, checksummed.
fn ustar_block(h: &Header<'_>) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    put_str(&mut block[0..100], truncate(h.name, NAME_LEN));
    put_octal(&mut block[100..108], u64::from(h.mode));
    put_octal(&mut block[108..116], u64::from(h.uid));
    put_octal(&mut block[116..124], u64::from(h.gid));
    put_octal(&mut block[124..136], h.size);
    put_octal(&mut block[136..148], h.mtime);
    block[156] = h.kind.typeflag();
    if let Some(link) = h.link {
        put_str(&mut block[157..257], truncate(link, NAME_LEN));
    }
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    put_octal(&mut block[329..337], u64::from(h.device.0));
    put_octal(&mut block[337..345], u64::from(h.device.1));
    set_checksum(&mut block);
    block
}

fn put_str(field: &mut [u8], s: &str) {
    field[..s.len()].copy_from_slice(s.as_bytes());
}

/// Zero-padded octal filling the field but its last byte, which stays NUL. Values too large
/// for the field are the caller's bug: they are checked before a header is made.
fn put_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    debug_assert_eq!(
        text.len(),
        digits,
        "octal value {value} overflows its field"
    );
    let text = &text.as_bytes()[text.len().saturating_sub(digits)..];
    field[..text.len()].copy_from_slice(text);
}

/// Computes the header checksum (the byte sum with the checksum field as spaces) and stores
/// it as six octal digits, NUL, space.
fn set_checksum(block: &mut [u8; BLOCK]) {
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        for (key, value_len) in [("path", 0usize), ("path", 1), ("path", 89), ("path", 90)] {
            let mut out = Vec::new();
            let value = vec![b'a'; value_len];
            pax_record(&mut out, key, &value);
            let text = String::from_utf8(out.clone()).expect("ascii");
            let (len, _) = text.split_once(' ').expect("a length");
            assert_eq!(
                len.parse::<usize>().expect("a number"),
                out.len(),
                "{text:?}"
            );
        }
        let mut out = Vec::new();
        pax_record(
            &mut out,
            "APK-TOOLS.checksum.SHA1",
            b"bdf9356a9516238c8b2468613517749098b17ef6",
        );
        assert_eq!(
            out,
            b"68 APK-TOOLS.checksum.SHA1=bdf9356a9516238c8b2468613517749098b17ef6\n"
        );
    }

    #[test]
    fn pax_header_names() {
        assert_eq!(
            pax_header_name("etc/crontabs/root"),
            "etc/crontabs/PaxHeaders/root"
        );
        assert_eq!(pax_header_name("dev/"), "./PaxHeaders/dev");
        assert_eq!(pax_header_name("motd"), "./PaxHeaders/motd");
        let long = "é".repeat(80);
        assert!(pax_header_name(&long).len() <= NAME_LEN);
    }

    #[test]
    fn header_fields_are_gnu_style_octal() {
        let block = ustar_block(&Header {
            name: "etc/motd",
            kind: Kind::Regular,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 283,
            mtime: 1_662_926_906,
            link: None,
            device: (0, 0),
            sha1_hex: None,
        });
        assert_eq!(&block[100..108], b"0000644\0");
        assert_eq!(&block[124..136], b"00000000433\0");
        assert_eq!(&block[136..148], b"14307440072\0");
        assert_eq!(&block[154..156], b"\0 ");
        let parsed = tar::Header::from_byte_slice(&block);
        assert_eq!(parsed.path_bytes().as_ref(), b"etc/motd");
        assert_eq!(parsed.size().expect("size"), 283);
        assert_eq!(
            parsed.cksum().expect("checksum"),
            block
                .iter()
                .enumerate()
                .map(|(i, &b)| if (148..156).contains(&i) {
                    u32::from(b' ')
                } else {
                    u32::from(b)
                })
                .sum::<u32>()
        );
    }
}
