//! `APKINDEX.tar.gz`: reading, signature checking and writing repository index archives.
//!
//! # The format
//!
//! An **unsigned** index is one gzip stream holding a tar archive with an optional
//! `DESCRIPTION` entry (the repository description) and the `APKINDEX` entry (the index text),
//! ended by the usual end-of-archive blocks. A **signed** index has a second, separate gzip
//! stream *prepended*: a tar holding one or more `.SIGN.<ALG>.<key file name>` entries and no
//! end-of-archive blocks. Each signature is RSA PKCS#1 v1.5 over the digest of the **compressed
//! bytes of the unsigned index**, from the first byte of its gzip stream to the end of the file.
//!
//! The gzip streams decompress to one continuous tar stream. This reader takes the leading
//! gzip streams whose first tar entry is a `.SIGN.*` entry as the signature part; everything
//! after them is the signed index. Tar headers are accepted when their magic starts with `ustar`
//! (GNU and POSIX); header checksums are not verified, as apk-tools does not verify them either.
//! GNU long names (`L`) and PAX `path`/`size` records are understood; other entries are skipped.
//!
//! # Performance
//!
//! Reading the index is a hot path (Alpine's main and community indexes are 2.6 MB compressed,
//! 7.4 MB of text). [`IndexArchive::from_bytes`] inflates all gzip streams into one buffer sized
//! from the gzip trailer, finds the entries by walking the tar headers, and hands out the
//! `APKINDEX` text as a [`Bytes`] slice of that buffer, without copying it. The signed bytes
//! are hashed while reading, once per digest algorithm the signatures use, and only when the
//! archive is signed; [`IndexArchive::verify`] then costs one RSA check.
//!
//! # Example
//!
//! ```
//! use apk_index::archive::{IndexArchive, VerifyError, write_index_archive};
//! use apk_index::keys::{KeySet, SignatureAlgorithm, SigningKey};
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(1);
//! let key = SigningKey::generate("me@example.org-1.rsa.pub", 1024, &mut rng)?;
//! let text = b"P:hello\nV:1.0-r0\n\n";
//! let file = write_index_archive(text, Some(b"v1"), &[(&key, SignatureAlgorithm::RsaSha1)])?;
//!
//! let archive = IndexArchive::from_bytes(&file)?;
//! assert_eq!(&archive.apkindex()[..], text);
//! assert_eq!(archive.description(), Some(&b"v1"[..]));
//!
//! let mut keys = KeySet::new();
//! assert!(matches!(archive.verify(&keys), Err(VerifyError::UntrustedKey { .. })));
//! keys.insert(key.key_name(), key.public_key());
//! let by = archive.verify(&keys)?;
//! assert_eq!(by.key_name(), "me@example.org-1.rsa.pub");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use flate2::{Decompress, FlushDecompress, Status};

use crate::keys::{
    KeySet, Rejection, SignError, Signature, SignatureAlgorithm, SigningKey, check_signatures,
    parse_sign_entry_name,
};

/// The most bytes an index archive may decompress to (1 GiB); more is reported as
/// [`ReadArchiveError::TooLarge`] (a gzip bomb).
pub const MAX_DECOMPRESSED_SIZE: usize = 1 << 30;

const BLOCK: usize = 512;
const APKINDEX: &[u8] = b"APKINDEX";
const DESCRIPTION: &[u8] = b"DESCRIPTION";
const SIGN_PREFIX: &[u8] = b".SIGN.";

/// One `.SIGN.<ALG>.<key name>` entry of a signed index.
pub type IndexSignature = Signature;

pub use crate::keys::VerifiedBy;

/// A read `APKINDEX.tar.gz`: its signatures, its description and its index text.
///
/// Reading checks the gzip and tar structure but not the signatures; call
/// [`verify`](Self::verify) with the trusted keys for that.
#[derive(Clone)]
pub struct IndexArchive {
    signatures: Vec<IndexSignature>,
    description: Option<Bytes>,
    apkindex: Bytes,
    signed_range: Range<usize>,
    /// The digests of the signed bytes, one per algorithm that some signature uses.
    digests: Vec<(SignatureAlgorithm, Vec<u8>)>,
}

impl fmt::Debug for IndexArchive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexArchive")
            .field("signatures", &self.signatures)
            .field(
                "description",
                &self
                    .description
                    .as_ref()
                    .map(|d| String::from_utf8_lossy(d)),
            )
            .field("apkindex_len", &self.apkindex.len())
            .field("signed_range", &self.signed_range)
            .finish()
    }
}

impl IndexArchive {
    /// Reads an index archive from its bytes.
    pub fn from_bytes(data: &[u8]) -> Result<IndexArchive, ReadArchiveError> {
        read_archive(data, MAX_DECOMPRESSED_SIZE)
    }

    /// Reads an index archive from `reader`, which is read to its end.
    pub fn from_reader(mut reader: impl Read) -> Result<IndexArchive, ReadArchiveError> {
        let mut data = Vec::new();
        reader
            .read_to_end(&mut data)
            .map_err(|source| ReadArchiveError::Read { source })?;
        IndexArchive::from_bytes(&data)
    }

    /// Reads the index archive file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<IndexArchive, ReadArchiveError> {
        Self::open_inner(path.as_ref())
    }

    fn open_inner(path: &Path) -> Result<IndexArchive, ReadArchiveError> {
        let data = std::fs::read(path).map_err(|source| ReadArchiveError::Io {
            path: path.to_owned(),
            source,
        })?;
        IndexArchive::from_bytes(&data)
    }

    /// The signatures, in archive order. Empty for an unsigned index.
    ///
    /// Entries with an unsupported algorithm (`DSA`) are not listed.
    pub fn signatures(&self) -> &[IndexSignature] {
        &self.signatures
    }

    /// Whether the archive carries at least one supported signature.
    pub fn is_signed(&self) -> bool {
        !self.signatures.is_empty()
    }

    /// The `DESCRIPTION` entry (e.g. `v3.17.3-92-g0b5a4e5c4b`), if present.
    pub fn description(&self) -> Option<&[u8]> {
        self.description.as_deref()
    }

    /// The `APKINDEX` text. Cloning the `Bytes` shares the buffer instead of copying it.
    pub fn apkindex(&self) -> &Bytes {
        &self.apkindex
    }

    /// Consumes the archive, keeping only the `APKINDEX` text.
    pub fn into_apkindex(self) -> Bytes {
        self.apkindex
    }

    /// The byte range of the input that the signatures cover: the unsigned index, from the
    /// start of its first gzip stream to the end of the input. For an unsigned archive it is
    /// the whole input.
    pub fn signed_range(&self) -> Range<usize> {
        self.signed_range.clone()
    }

    /// Checks the signatures against the trusted `keys`, the way apk does: signatures whose key
    /// is not in `keys` are skipped, and the **first** one whose key is known decides.
    ///
    /// # Errors
    ///
    /// [`VerifyError::Unsigned`] when there is no signature, [`VerifyError::UntrustedKey`] when
    /// no signature's key is trusted and [`VerifyError::BadSignature`] when the deciding
    /// signature does not match the index.
    pub fn verify(&self, keys: &KeySet) -> Result<VerifiedBy, VerifyError> {
        check_digests(&self.signatures, keys, &self.digests)
    }
}

/// Returned by [`IndexArchive::verify`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The archive has no (supported) signature.
    #[error("index is not signed")]
    Unsigned,
    /// None of the signing keys is trusted.
    #[error("index is signed only by untrusted keys: {}", key_names.join(", "))]
    UntrustedKey {
        /// The key names of all signatures, in archive order.
        key_names: Vec<String>,
    },
    /// The first signature by a trusted key does not match the index.
    #[error("bad index signature by key {key_name}")]
    BadSignature {
        /// The trusted key whose signature failed.
        key_name: String,
    },
}

impl From<Rejection> for VerifyError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Unsigned => VerifyError::Unsigned,
            Rejection::UntrustedKey(key_names) => VerifyError::UntrustedKey { key_names },
            Rejection::BadSignature(key_name) => VerifyError::BadSignature { key_name },
        }
    }
}

/// What is wrong with a tar header or entry; see [`ReadArchiveError::Tar`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TarErrorKind {
    /// The header's magic does not start with `ustar`.
    #[error("not a ustar header")]
    NotTar,
    /// The size field is not octal or base-256, or too large.
    #[error("invalid size field")]
    BadSize,
    /// The header or the entry's data runs past the end of the data.
    #[error("entry is truncated")]
    Truncated,
    /// A PAX extended header has a malformed record.
    #[error("malformed pax extended header")]
    BadPax,
}

/// Returned by [`IndexArchive::from_bytes`], [`IndexArchive::from_reader`] and
/// [`IndexArchive::open`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadArchiveError {
    /// The file could not be read.
    #[error("failed to read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The reader failed.
    #[error("failed to read index archive")]
    Read {
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The input is empty.
    #[error("index archive is empty")]
    Empty,
    /// The bytes at `offset` are not the start of a gzip stream.
    #[error("no gzip stream at byte {offset}")]
    NotGzip {
        /// Offset of the bytes in the input.
        offset: u64,
    },
    /// The gzip stream starting at `offset` is corrupt (bad header, deflate data, CRC or
    /// length).
    #[error("corrupt gzip stream at byte {offset}")]
    Corrupt {
        /// Offset of the stream in the input.
        offset: u64,
        /// The cause.
        #[source]
        source: flate2::DecompressError,
    },
    /// The gzip stream starting at `offset` ends early.
    #[error("gzip stream at byte {offset} is truncated")]
    Truncated {
        /// Offset of the stream in the input.
        offset: u64,
    },
    /// The archive decompresses to more than `limit` bytes.
    #[error("index archive decompresses to more than {limit} bytes")]
    TooLarge {
        /// The limit, [`MAX_DECOMPRESSED_SIZE`].
        limit: usize,
    },
    /// The decompressed tar stream is malformed.
    #[error("malformed tar stream at offset {offset}: {kind}")]
    Tar {
        /// Offset of the header in the decompressed stream.
        offset: u64,
        /// What is wrong.
        kind: TarErrorKind,
    },
    /// A signature stream holds an entry that is not a `.SIGN.*` entry.
    #[error("signature stream holds a non-signature entry at offset {offset}")]
    UnexpectedSignatureEntry {
        /// Offset of the entry's header in the decompressed stream.
        offset: u64,
    },
    /// A `.SIGN.*` entry's name is not UTF-8.
    #[error("signature entry name at offset {offset} is not utf-8")]
    NonUtf8SignatureName {
        /// Offset of the entry's header in the decompressed stream.
        offset: u64,
    },
    /// The archive has two entries of the same name, `APKINDEX` or `DESCRIPTION`.
    #[error("index archive has more than one {name} entry")]
    DuplicateEntry {
        /// The entry name.
        name: &'static str,
    },
    /// The archive has no `APKINDEX` entry.
    #[error("index archive has no APKINDEX entry")]
    MissingApkindex,
}

/// Returned by [`write_index_archive`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteArchiveError {
    /// Signing with a key failed.
    #[error("failed to sign index with key {key_name}")]
    Sign {
        /// The signing key's name.
        key_name: String,
        /// The cause.
        #[source]
        source: SignError,
    },
}

/// Writes an `APKINDEX.tar.gz` holding `apkindex` and, if given, `description`, signed by each
/// of `signers` in order.
///
/// The unsigned index is one gzip stream holding a tar with `DESCRIPTION` (when given) and
/// then `APKINDEX`, GNU headers, mode 0644, owner root, mtime 0, and end-of-archive blocks, so
/// the same input always gives the same bytes. With signers, a gzip stream holding a
/// `.SIGN.<ALG>.<key name>` entry per signer (no end-of-archive blocks) is prepended; each
/// signature covers the compressed unsigned index. Key names longer than a tar header holds
/// get a GNU long-name entry.
///
/// ```
/// use apk_index::archive::{IndexArchive, write_index_archive};
///
/// let file = write_index_archive(b"P:a\nV:1-r0\n\n", None, &[])?;
/// let archive = IndexArchive::from_bytes(&file)?;
/// assert!(!archive.is_signed());
/// assert_eq!(archive.description(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_index_archive(
    apkindex: &[u8],
    description: Option<&[u8]>,
    signers: &[(&SigningKey, SignatureAlgorithm)],
) -> Result<Vec<u8>, WriteArchiveError> {
    let mut tar = Vec::with_capacity(apkindex.len() + 4 * BLOCK);
    if let Some(description) = description {
        append_tar_entry(&mut tar, DESCRIPTION, description);
    }
    append_tar_entry(&mut tar, APKINDEX, apkindex);
    tar.resize(tar.len() + 2 * BLOCK, 0);
    let unsigned = gzip(&tar, apkindex.len() / 3);
    if signers.is_empty() {
        return Ok(unsigned);
    }

    let mut digests: Vec<(SignatureAlgorithm, Vec<u8>)> = Vec::new();
    let mut sig_tar = Vec::new();
    for (key, alg) in signers {
        let digest = match digests.iter().find(|(a, _)| a == alg) {
            Some((_, digest)) => digest,
            None => {
                digests.push((*alg, alg.digest(&unsigned)));
                &digests[digests.len() - 1].1
            }
        };
        let signature =
            key.sign_digest(*alg, digest)
                .map_err(|source| WriteArchiveError::Sign {
                    key_name: key.key_name().to_owned(),
                    source,
                })?;
        let name = format!(".SIGN.{}.{}", alg.sign_name(), key.key_name());
        append_tar_entry(&mut sig_tar, name.as_bytes(), &signature);
    }
    let mut out = gzip(&sig_tar, 1024);
    out.extend_from_slice(&unsigned);
    Ok(out)
}

fn gzip(data: &[u8], capacity: usize) -> Vec<u8> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(capacity), flate2::Compression::default());
    encoder
        .write_all(data)
        .expect("compressing into a Vec cannot fail");
    encoder
        .finish()
        .expect("compressing into a Vec cannot fail")
}

/// Appends a regular-file entry (preceded by a GNU long-name entry when `name` does not fit
/// in the header) with its data padded to a whole block.
fn append_tar_entry(tar: &mut Vec<u8>, name: &[u8], data: &[u8]) {
    let field_len = tar::Header::new_gnu().as_old().name.len();
    if name.len() > field_len {
        let mut long_name = Vec::with_capacity(name.len() + 1);
        long_name.extend_from_slice(name);
        long_name.push(0);
        append_tar_header(
            tar,
            b"././@LongLink",
            long_name.len(),
            tar::EntryType::GNULongName,
        );
        append_padded(tar, &long_name);
    }
    append_tar_header(
        tar,
        &name[..name.len().min(field_len)],
        data.len(),
        tar::EntryType::Regular,
    );
    append_padded(tar, data);
}

fn append_tar_header(tar: &mut Vec<u8>, name: &[u8], size: usize, kind: tar::EntryType) {
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_size(size as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(kind);
    if let Some(gnu) = header.as_gnu_mut() {
        gnu.uname[..4].copy_from_slice(b"root");
        gnu.gname[..4].copy_from_slice(b"root");
    }
    header.set_cksum();
    tar.extend_from_slice(header.as_bytes());
}

fn append_padded(tar: &mut Vec<u8>, data: &[u8]) {
    tar.extend_from_slice(data);
    let rem = data.len() % BLOCK;
    if rem != 0 {
        tar.resize(tar.len() + BLOCK - rem, 0);
    }
}

/// One gzip stream of the input and where its output landed.
struct Member {
    in_start: usize,
    out_range: Range<usize>,
}

/// Reads an archive, refusing to decompress more than `limit` bytes.
pub(crate) fn read_archive(data: &[u8], limit: usize) -> Result<IndexArchive, ReadArchiveError> {
    let parts = read_archive_parts(data, limit)?;
    let digests = parts.digests(data);
    Ok(IndexArchive {
        signatures: parts.signatures,
        description: parts.description,
        apkindex: parts.apkindex,
        signed_range: parts.signed_range,
        digests,
    })
}

/// A read archive whose signatures are still to be checked against the input it came from:
/// loading an index checks them while it parses the text.
pub(crate) struct ArchiveParts {
    pub signatures: Vec<IndexSignature>,
    pub description: Option<Bytes>,
    pub apkindex: Bytes,
    /// The range of the input the signatures cover (see [`IndexArchive::signed_range`]).
    pub signed_range: Range<usize>,
}

impl ArchiveParts {
    /// The digests of the signed part of `data` (the input these parts were read from), one
    /// per algorithm some signature uses.
    fn digests(&self, data: &[u8]) -> Vec<(SignatureAlgorithm, Vec<u8>)> {
        signed_digests(
            &self.signatures,
            data.get(self.signed_range.clone()).unwrap_or(&[]),
        )
    }
}

/// The digests of `signed`, one per algorithm some signature uses.
fn signed_digests(
    signatures: &[IndexSignature],
    signed: &[u8],
) -> Vec<(SignatureAlgorithm, Vec<u8>)> {
    SignatureAlgorithm::ALL
        .into_iter()
        .filter(|&alg| signatures.iter().any(|s| s.algorithm() == alg))
        .map(|alg| (alg, alg.digest(signed)))
        .collect()
}

/// Checks `signatures` the way [`IndexArchive::verify`] does, `signed` being the bytes they
/// cover (`data[signed_range]`).
pub(crate) fn verify_signed(
    signatures: &[IndexSignature],
    signed: &[u8],
    keys: &KeySet,
) -> Result<VerifiedBy, VerifyError> {
    check_digests(signatures, keys, &signed_digests(signatures, signed))
}

/// Checks `signatures` (apk's rule, [`check_signatures`]) against the `digests` of what they
/// cover.
fn check_digests(
    signatures: &[IndexSignature],
    keys: &KeySet,
    digests: &[(SignatureAlgorithm, Vec<u8>)],
) -> Result<VerifiedBy, VerifyError> {
    check_signatures(signatures, keys, |alg| {
        digests
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, d)| d.as_slice())
    })
    .map_err(VerifyError::from)
}

/// Reads an archive's structure, signatures and entries, refusing to decompress more than
/// `limit` bytes; the signatures are not checked.
pub(crate) fn read_archive_parts(
    data: &[u8],
    limit: usize,
) -> Result<ArchiveParts, ReadArchiveError> {
    let (out, members) = inflate_members(data, limit)?;

    // The leading streams whose first entry is a signature form the signature part.
    let sig_count = members
        .iter()
        .take_while(|m| {
            matches!(
                TarWalker::new(&out[m.out_range.clone()]).next(),
                Some(Ok(entry)) if entry.name.starts_with(SIGN_PREFIX)
            )
        })
        .count();

    let mut signatures = Vec::new();
    for member in &members[..sig_count] {
        read_signatures(&out, member.out_range.clone(), &mut signatures)?;
    }

    let Some(first_data) = members.get(sig_count) else {
        return Err(ReadArchiveError::MissingApkindex);
    };
    let data_start = first_data.out_range.start;
    let signed_range = if sig_count == 0 {
        0..data.len()
    } else {
        first_data.in_start..data.len()
    };

    let mut apkindex = None;
    let mut description = None;
    for entry in TarWalker::new(&out[data_start..]) {
        let entry = entry.map_err(|err| err.at(data_start))?;
        if !entry.is_regular() {
            continue;
        }
        let (slot, name) = match &*entry.name {
            APKINDEX => (&mut apkindex, "APKINDEX"),
            DESCRIPTION => (&mut description, "DESCRIPTION"),
            _ => continue,
        };
        if slot.is_some() {
            return Err(ReadArchiveError::DuplicateEntry { name });
        }
        *slot = Some(data_start + entry.data.start..data_start + entry.data.end);
    }
    let apkindex = apkindex.ok_or(ReadArchiveError::MissingApkindex)?;

    let buffer = Bytes::from(out);
    Ok(ArchiveParts {
        signatures,
        description: description.map(|range| buffer.slice(range)),
        apkindex: buffer.slice(apkindex),
        signed_range,
    })
}

/// Collects the signatures of one signature stream, `out[range]`.
fn read_signatures(
    out: &[u8],
    range: Range<usize>,
    signatures: &mut Vec<IndexSignature>,
) -> Result<(), ReadArchiveError> {
    let base = range.start;
    let member = &out[range];
    for entry in TarWalker::new(member) {
        let entry = entry.map_err(|err| err.at(base))?;
        let offset = (base + entry.header_offset) as u64;
        if !entry.name.starts_with(SIGN_PREFIX) {
            return Err(ReadArchiveError::UnexpectedSignatureEntry { offset });
        }
        if !entry.is_regular() {
            continue;
        }
        let name = std::str::from_utf8(&entry.name)
            .map_err(|_| ReadArchiveError::NonUtf8SignatureName { offset })?;
        if let Some((algorithm, key_name)) = parse_sign_entry_name(name) {
            signatures.push(Signature::new(
                algorithm,
                key_name,
                member[entry.data].to_vec(),
            ));
        }
    }
    Ok(())
}

/// Inflates every gzip stream of `data` into one buffer, recording where each one went.
fn inflate_members(data: &[u8], limit: usize) -> Result<(Vec<u8>, Vec<Member>), ReadArchiveError> {
    if data.is_empty() {
        return Err(ReadArchiveError::Empty);
    }
    let mut out = Vec::with_capacity(initial_capacity(data, limit));
    let mut members = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let rest = &data[pos..];
        let offset = pos as u64;
        match rest {
            [0x1f, 0x8b, ..] => {}
            [0x1f] => return Err(ReadArchiveError::Truncated { offset }),
            _ => return Err(ReadArchiveError::NotGzip { offset }),
        }
        let out_start = out.len();
        let consumed = inflate_one(rest, &mut out, limit, offset)?;
        members.push(Member {
            in_start: pos,
            out_range: out_start..out.len(),
        });
        pos += consumed;
    }
    Ok((out, members))
}

/// The buffer size to start with: the last stream's ISIZE (its length mod 2^32), which is
/// the whole index for a normal archive, clamped to a sane ratio of the input, plus room for
/// the small signature stream.
fn initial_capacity(data: &[u8], limit: usize) -> usize {
    let isize = match data.len().checked_sub(4).map(|at| &data[at..]) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => 0,
    };
    let sane = data.len().saturating_mul(64).saturating_add(1 << 20);
    isize.min(sane).min(limit).saturating_add(64 << 10)
}

/// Inflates the gzip stream at the start of `input` onto `out` and returns how many input
/// bytes it took (header and trailer included).
fn inflate_one(
    input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    offset: u64,
) -> Result<usize, ReadArchiveError> {
    let mut inflater = Decompress::new_gzip(15);
    let mut consumed = 0;
    loop {
        if out.len() > limit {
            return Err(ReadArchiveError::TooLarge { limit });
        }
        if out.len() == out.capacity() {
            // Grow geometrically, but never past limit + 1: one byte more shows the excess.
            let extra = out
                .len()
                .max(64 << 10)
                .min(limit.saturating_add(1) - out.len());
            out.reserve_exact(extra);
        }
        let out_before = out.len();
        let status = inflater
            .decompress_vec(&input[consumed..], out, FlushDecompress::None)
            .map_err(|source| ReadArchiveError::Corrupt { offset, source })?;
        let used = usize::try_from(inflater.total_in())
            .unwrap_or(usize::MAX)
            .min(input.len());
        let progressed = used != consumed || out.len() != out_before;
        consumed = used;
        if out.len() > limit {
            return Err(ReadArchiveError::TooLarge { limit });
        }
        match status {
            Status::StreamEnd => return Ok(consumed),
            Status::Ok | Status::BufError => {
                if !progressed && out.len() < out.capacity() {
                    return Err(ReadArchiveError::Truncated { offset });
                }
            }
        }
    }
}

/// A tar entry as the walker yields it: long names resolved, offsets relative to the walked
/// buffer.
struct TarEntry<'a> {
    name: Cow<'a, [u8]>,
    typeflag: u8,
    header_offset: usize,
    data: Range<usize>,
}

impl TarEntry<'_> {
    fn is_regular(&self) -> bool {
        matches!(self.typeflag, b'0' | 0 | b'7')
    }
}

/// A tar error at an offset of the walked buffer.
struct TarError {
    offset: usize,
    kind: TarErrorKind,
}

impl TarError {
    /// The error, with the offset moved from the walked buffer to the decompressed stream.
    fn at(self, base: usize) -> ReadArchiveError {
        ReadArchiveError::Tar {
            offset: (base + self.offset) as u64,
            kind: self.kind,
        }
    }
}

/// Walks tar entries of a buffer, stopping at the first zero block or at the end of the
/// buffer, and after the first error.
struct TarWalker<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> TarWalker<'a> {
    fn new(buf: &'a [u8]) -> Self {
        TarWalker {
            buf,
            pos: 0,
            done: false,
        }
    }

    fn fail(
        &mut self,
        offset: usize,
        kind: TarErrorKind,
    ) -> Option<Result<TarEntry<'a>, TarError>> {
        self.done = true;
        Some(Err(TarError { offset, kind }))
    }
}

impl<'a> Iterator for TarWalker<'a> {
    type Item = Result<TarEntry<'a>, TarError>;

    fn next(&mut self) -> Option<Self::Item> {
        let buf = self.buf;
        let mut long_name: Option<&'a [u8]> = None;
        let mut pax_size: Option<u64> = None;
        while !self.done {
            let start = self.pos;
            if start >= buf.len() {
                break;
            }
            let Some(header) = buf.get(start..start + BLOCK) else {
                return self.fail(start, TarErrorKind::Truncated);
            };
            if header.iter().all(|&b| b == 0) {
                break;
            }
            if &header[257..262] != b"ustar" {
                return self.fail(start, TarErrorKind::NotTar);
            }
            let Some(size) = parse_size(&header[124..136]) else {
                return self.fail(start, TarErrorKind::BadSize);
            };
            let size = pax_size.take().unwrap_or(size);
            let data_start = start + BLOCK;
            let Some(data_end) = usize::try_from(size)
                .ok()
                .and_then(|size| data_start.checked_add(size))
                .filter(|&end| end <= buf.len())
            else {
                return self.fail(start, TarErrorKind::Truncated);
            };
            // Entry data is padded to a whole block; the end of the buffer may cut the padding.
            self.pos = data_end.saturating_add((BLOCK - data_end % BLOCK) % BLOCK);
            let data = &buf[data_start..data_end];
            match header[156] {
                b'L' => long_name = Some(until_nul(data)),
                b'x' => match parse_pax(data) {
                    Some(pax) => {
                        if pax.path.is_some() {
                            long_name = pax.path;
                        }
                        if pax.size.is_some() {
                            pax_size = pax.size;
                        }
                    }
                    None => return self.fail(start, TarErrorKind::BadPax),
                },
                b'g' | b'K' => {}
                typeflag => {
                    let name = match long_name {
                        Some(name) => Cow::Borrowed(name),
                        None => header_name(header),
                    };
                    return Some(Ok(TarEntry {
                        name,
                        typeflag,
                        header_offset: start,
                        data: data_start..data_end,
                    }));
                }
            }
        }
        self.done = true;
        None
    }
}

/// The name of a header: the name field, with the POSIX prefix field in front of it when the
/// header is POSIX ustar (in GNU headers those bytes hold other fields).
fn header_name(header: &[u8]) -> Cow<'_, [u8]> {
    let name = until_nul(&header[..100]);
    if &header[257..263] == b"ustar\0" {
        let prefix = until_nul(&header[345..500]);
        if !prefix.is_empty() {
            let mut full = Vec::with_capacity(prefix.len() + 1 + name.len());
            full.extend_from_slice(prefix);
            full.push(b'/');
            full.extend_from_slice(name);
            return Cow::Owned(full);
        }
    }
    Cow::Borrowed(name)
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    match memchr::memchr(0, bytes) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

/// Parses a tar size field: octal digits (leading spaces allowed, ended by a space or NUL),
/// or GNU base-256 when the high bit of the first byte is set.
fn parse_size(field: &[u8]) -> Option<u64> {
    let (&first, rest) = field.split_first()?;
    if first & 0x80 != 0 {
        // 0x80 marks a positive big-endian number in the remaining bytes; 0xff a negative one.
        if first != 0x80 {
            return None;
        }
        return rest.iter().try_fold(0u64, |value, &b| {
            value.checked_mul(256)?.checked_add(u64::from(b))
        });
    }
    let mut value = 0u64;
    for &b in field.iter().skip_while(|&&b| b == b' ') {
        match b {
            b'0'..=b'7' => value = value.checked_mul(8)?.checked_add(u64::from(b - b'0'))?,
            b' ' | 0 => break,
            _ => return None,
        }
    }
    Some(value)
}

/// The PAX records this reader uses.
#[derive(Default)]
struct PaxFields<'a> {
    path: Option<&'a [u8]>,
    size: Option<u64>,
}

/// Parses PAX extended header records, `"<len> <key>=<value>\n"`, where `len` counts the
/// whole record. Returns `None` when a record is malformed.
fn parse_pax(mut data: &[u8]) -> Option<PaxFields<'_>> {
    let mut fields = PaxFields::default();
    while let Some(&first) = data.first() {
        if first == 0 {
            break;
        }
        let space = memchr::memchr(b' ', data)?;
        let len = usize::try_from(parse_decimal(&data[..space])?).ok()?;
        if len <= space + 1 || len > data.len() {
            return None;
        }
        let record = data[space + 1..len].strip_suffix(b"\n")?;
        let eq = memchr::memchr(b'=', record)?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        match key {
            b"path" => fields.path = Some(value),
            b"size" => fields.size = Some(parse_decimal(value)?),
            _ => {}
        }
        data = &data[len..];
    }
    Some(fields)
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        value.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        gzip(data, 0)
    }

    fn tar_of(entries: &[(&[u8], &[u8])], end: bool) -> Vec<u8> {
        let mut tar = Vec::new();
        for (name, data) in entries {
            append_tar_entry(&mut tar, name, data);
        }
        if end {
            tar.resize(tar.len() + 2 * BLOCK, 0);
        }
        tar
    }

    #[test]
    fn size_fields() {
        assert_eq!(parse_size(b"00000001750\0"), Some(0o1750));
        assert_eq!(parse_size(b"  1750 \0\0\0\0\0"), Some(0o1750));
        assert_eq!(parse_size(b"\0\0\0\0\0\0\0\0\0\0\0\0"), Some(0));
        assert_eq!(parse_size(b"0000000017a0"), None);
        assert_eq!(parse_size(b"\x80\0\0\0\0\0\0\0\0\0\x01\x00"), Some(256));
        assert_eq!(
            parse_size(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            None
        );
        assert_eq!(
            parse_size(b"\x80\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            None
        );
        assert_eq!(parse_size(b"77777777777777777777777"), None);
    }

    #[test]
    fn pax_records() {
        let pax = parse_pax(b"17 path=APKINDEX\n11 size=42\n9 mtime=\n").expect("valid pax");
        assert_eq!(pax.path, Some(&b"APKINDEX"[..]));
        assert_eq!(pax.size, Some(42));
        assert!(parse_pax(b"99 path=x\n").is_none());
        assert!(parse_pax(b"x path=x\n").is_none());
        assert!(parse_pax(b"9 path=x\0").is_none());
        assert!(parse_pax(b"2 path=x\n").is_none());
        assert!(parse_pax(b"99999999999999999999999 a=b\n").is_none());
    }

    #[test]
    fn walker_resolves_long_names_and_pax() {
        let long = vec![b'n'; 150];
        let mut tar = tar_of(&[(&long, b"one")], false);
        // A PAX header naming the next entry.
        let mut pax_header = tar::Header::new_ustar();
        pax_header.set_size(17);
        pax_header.set_entry_type(tar::EntryType::XHeader);
        pax_header.set_cksum();
        tar.extend_from_slice(pax_header.as_bytes());
        append_padded(&mut tar, b"17 path=APKINDEX\n");
        append_tar_header(&mut tar, b"ignored", 3, tar::EntryType::Regular);
        append_padded(&mut tar, b"two");
        let entries: Vec<_> = TarWalker::new(&tar)
            .map(|e| e.ok().expect("valid entries"))
            .map(|e| (e.name.into_owned(), tar[e.data].to_vec()))
            .collect();
        assert_eq!(
            entries,
            [
                (long, b"one".to_vec()),
                (b"APKINDEX".to_vec(), b"two".to_vec())
            ]
        );
    }

    #[test]
    fn posix_prefix_is_joined() {
        let mut header = tar::Header::new_ustar();
        header.as_ustar_mut().expect("ustar").prefix[..3].copy_from_slice(b"dir");
        header.as_old_mut().name[..4].copy_from_slice(b"file");
        assert_eq!(&*header_name(header.as_bytes()), b"dir/file");
        let mut gnu = tar::Header::new_gnu();
        gnu.as_old_mut().name[..4].copy_from_slice(b"file");
        gnu.as_gnu_mut().expect("gnu").atime[..3].copy_from_slice(b"123");
        assert_eq!(&*header_name(gnu.as_bytes()), b"file");
    }

    #[test]
    fn bomb_is_refused() {
        let file = gz(&tar_of(&[(b"APKINDEX", &vec![b'P'; 1 << 20])], true));
        assert!(read_archive(&file, 2 << 20).is_ok());
        assert!(matches!(
            read_archive(&file, 1 << 20),
            Err(ReadArchiveError::TooLarge { limit }) if limit == 1 << 20
        ));
        assert!(matches!(
            read_archive(&file, 100),
            Err(ReadArchiveError::TooLarge { limit: 100 })
        ));
    }

    #[test]
    fn lying_isize_is_clamped() {
        let mut file = gz(&tar_of(&[(b"APKINDEX", b"P:a\n\n")], true));
        let n = file.len();
        file[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(initial_capacity(&file, MAX_DECOMPRESSED_SIZE) < (2 << 20));
        // The length check in the gzip trailer now fails.
        assert!(matches!(
            IndexArchive::from_bytes(&file),
            Err(ReadArchiveError::Corrupt { offset: 0, .. })
        ));
    }

    #[test]
    fn tar_errors() {
        let mut tar = tar_of(&[(b"APKINDEX", b"P:a\n\n")], true);
        tar[124..136].copy_from_slice(b"77777777777\0");
        assert!(matches!(
            IndexArchive::from_bytes(&gz(&tar)),
            Err(ReadArchiveError::Tar {
                offset: 0,
                kind: TarErrorKind::Truncated
            })
        ));
        tar[124..136].copy_from_slice(b"7777777x777\0");
        assert!(matches!(
            IndexArchive::from_bytes(&gz(&tar)),
            Err(ReadArchiveError::Tar {
                offset: 0,
                kind: TarErrorKind::BadSize
            })
        ));
        tar[257] = b'x';
        assert!(matches!(
            IndexArchive::from_bytes(&gz(&tar)),
            Err(ReadArchiveError::Tar {
                offset: 0,
                kind: TarErrorKind::NotTar
            })
        ));
        let tar = tar_of(&[(b"DESCRIPTION", b"d"), (b"APKINDEX", b"P:a\n\n")], false);
        // Cut in the middle of the second header.
        assert!(matches!(
            IndexArchive::from_bytes(&gz(&tar[..1100])),
            Err(ReadArchiveError::Tar {
                offset: 1024,
                kind: TarErrorKind::Truncated
            })
        ));
        // Cut in the middle of the second entry's data.
        assert!(matches!(
            IndexArchive::from_bytes(&gz(&tar[..1538])),
            Err(ReadArchiveError::Tar {
                offset: 1024,
                kind: TarErrorKind::Truncated
            })
        ));
        // No end-of-archive blocks is fine.
        assert!(IndexArchive::from_bytes(&gz(&tar)).is_ok());
    }

    #[test]
    fn entry_order_and_duplicates() {
        let tar = tar_of(
            &[
                (b"APKINDEX", b"P:a\n\n"),
                (b"DESCRIPTION", b"d"),
                (b"other", b"x"),
            ],
            true,
        );
        let archive = IndexArchive::from_bytes(&gz(&tar)).expect("valid");
        assert_eq!(archive.description(), Some(&b"d"[..]));
        assert_eq!(&archive.apkindex()[..], b"P:a\n\n");
        let tar = tar_of(&[(b"APKINDEX", b"a"), (b"APKINDEX", b"b")], true);
        assert!(matches!(
            IndexArchive::from_bytes(&gz(&tar)),
            Err(ReadArchiveError::DuplicateEntry { name: "APKINDEX" })
        ));
        let tar = tar_of(&[(b"DESCRIPTION", b"a")], true);
        assert!(matches!(
            IndexArchive::from_bytes(&gz(&tar)),
            Err(ReadArchiveError::MissingApkindex)
        ));
    }

    #[test]
    fn index_split_over_several_streams() {
        let tar = tar_of(
            &[(b"DESCRIPTION", b"desc"), (b"APKINDEX", &vec![b'x'; 3000])],
            true,
        );
        let mut file = Vec::new();
        for chunk in [&tar[..100], &tar[100..1500], &tar[1500..]] {
            file.extend_from_slice(&gz(chunk));
        }
        let archive = IndexArchive::from_bytes(&file).expect("valid");
        assert_eq!(archive.apkindex().len(), 3000);
        assert_eq!(archive.signed_range(), 0..file.len());
    }

    #[test]
    fn signature_stream_rules() {
        let data = gz(&tar_of(&[(b"APKINDEX", b"P:a\n\n")], true));
        // A signature stream with an unrelated entry.
        let mut file = gz(&tar_of(
            &[(b".SIGN.RSA.k", b"sig"), (b"APKINDEX", b"x")],
            false,
        ));
        file.extend_from_slice(&data);
        assert!(matches!(
            IndexArchive::from_bytes(&file),
            Err(ReadArchiveError::UnexpectedSignatureEntry { offset: 1024 })
        ));
        // Non-UTF-8 key name.
        let mut file = gz(&tar_of(&[(b".SIGN.RSA.\xff", b"sig")], false));
        file.extend_from_slice(&data);
        assert!(matches!(
            IndexArchive::from_bytes(&file),
            Err(ReadArchiveError::NonUtf8SignatureName { offset: 0 })
        ));
        // DSA entries are skipped; two signature streams are both signature streams.
        let sig1 = gz(&tar_of(&[(b".SIGN.DSA.k", b"sig")], false));
        let sig2 = gz(&tar_of(&[(b".SIGN.RSA256.k2", b"sig2")], false));
        let file = [&sig1[..], &sig2, &data].concat();
        let archive = IndexArchive::from_bytes(&file).expect("valid");
        assert_eq!(archive.signatures().len(), 1);
        assert_eq!(archive.signatures()[0].key_name(), "k2");
        assert_eq!(archive.signatures()[0].signature(), b"sig2");
        assert_eq!(archive.signed_range(), sig1.len() + sig2.len()..file.len());
        assert_eq!(archive.digests.len(), 1);
        // Only signatures: no index.
        assert!(matches!(
            IndexArchive::from_bytes(&sig2),
            Err(ReadArchiveError::MissingApkindex)
        ));
    }

    #[test]
    fn gzip_framing_errors() {
        assert!(matches!(
            IndexArchive::from_bytes(b""),
            Err(ReadArchiveError::Empty)
        ));
        assert!(matches!(
            IndexArchive::from_bytes(b"hello"),
            Err(ReadArchiveError::NotGzip { offset: 0 })
        ));
        let file = gz(&tar_of(&[(b"APKINDEX", b"P:a\n\n")], true));
        let with_junk = [&file[..], b"junk"].concat();
        assert!(matches!(
            IndexArchive::from_bytes(&with_junk),
            Err(ReadArchiveError::NotGzip { offset }) if offset == file.len() as u64
        ));
        let with_byte = [&file[..], &[0x1f]].concat();
        assert!(matches!(
            IndexArchive::from_bytes(&with_byte),
            Err(ReadArchiveError::Truncated { .. })
        ));
        for cut in [1, 2, 10, 11, file.len() / 2, file.len() - 8, file.len() - 1] {
            let err = IndexArchive::from_bytes(&file[..cut]).expect_err("truncated");
            assert!(
                matches!(err, ReadArchiveError::Truncated { offset: 0 }),
                "cut at {cut}: {err:?}"
            );
        }
    }
}
