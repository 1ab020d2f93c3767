//! The streaming v2 package reader: signature, control and data gzip members, one tar stream.
//!
//! # How it streams
//!
//! A v2 package is 2 or 3 gzip members read as one tar stream. The identity and the signature
//! digests are hashes over the *compressed* bytes of particular members, so the reader must
//! know where each member starts and ends in the file. It decodes one member at a time with
//! [`flate2::bufread::GzDecoder`], which stops exactly at the end of its member, over a
//! [`BufRead`] wrapper ([`HashingReader`]) that feeds every byte to the active hashers as the
//! decoder `consume`s it. Between members the hashers are swapped:
//!
//! * the signature member(s): SHA-1 only (in case the first member turns out to be the control
//!   member of an unsigned package), then thrown away;
//! * the control member: SHA-1 (identity, `RSA`), plus SHA-256 / SHA-512 only when a
//!   signature needs them;
//! * the data member(s): SHA-256 for `datahash` when `.PKGINFO` has one; otherwise the control
//!   hashers carry on, because identity and signature then cover the data too.
//!
//! Tar parsing is our own (see `tarhdr.rs`): headers are read block by block from the current
//! member, file contents are handed to the caller through [`DataEntry`]'s `Read` and hashed
//! against the PAX checksum on the way. Memory stays flat: nothing but `.PKGINFO`, the scripts
//! and the signatures (all size-capped) is kept.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use apk_index::keys::{
    KeySet, Rejection, SignatureAlgorithm, check_signatures, parse_sign_entry_name,
};
use apk_index::{
    Checksum, ChecksumForm, PackageInfo, ParsePkgInfoError, ParsePkgInfoErrorKind, Rules,
};
use flate2::bufread::GzDecoder;
use sha1::{Digest, Sha1};
use sha2::{Sha256, Sha512};

use crate::ScriptKind;
use crate::tarhdr::{self, BLOCK, Header, Pax};

/// The largest `.PKGINFO` accepted (1 MiB).
const MAX_PKGINFO: u64 = 1 << 20;
/// The most script bytes a package may carry in total (16 MiB).
const MAX_SCRIPTS: u64 = 16 << 20;
/// The largest signature entry accepted (an RSA-4096 signature is 512 bytes).
const MAX_SIGNATURE: u64 = 64 << 10;
/// The largest PAX extended header or GNU long name accepted.
const MAX_EXTENDED: u64 = 1 << 20;
/// The most decompressed bytes the signature and control streams may hold together (64 MiB).
const MAX_CONTROL: u64 = 64 << 20;
/// The compression ratio limit only applies once the data stream has produced this much.
const RATIO_GRACE: u64 = 1 << 20;
/// The buffer used for skipping and draining.
const SCRATCH: usize = 64 << 10;

/// One of a package's gzip streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamKind {
    /// The optional leading stream of `.SIGN.*` entries.
    Signature,
    /// `.PKGINFO` and the scripts.
    Control,
    /// The file tree.
    Data,
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StreamKind::Signature => "signature",
            StreamKind::Control => "control",
            StreamKind::Data => "data",
        })
    }
}

/// Which limit of [`ReadLimits`] a package exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// [`ReadLimits::max_data_size`]: decompressed bytes of the data stream.
    DataSize,
    /// [`ReadLimits::max_entries`]: entries in the data stream.
    Entries,
    /// [`ReadLimits::max_ratio`]: decompressed / compressed size of the data stream.
    Ratio,
    /// The fixed cap on the decompressed signature and control streams, `.PKGINFO`, scripts,
    /// signatures and extended headers.
    ControlSize,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitKind::DataSize => "total size",
            LimitKind::Entries => "entry count",
            LimitKind::Ratio => "compression ratio",
            LimitKind::ControlSize => "control size",
        })
    }
}

/// Limits that stop gzip and tar bombs while the data stream is read; see
/// [`PackageReader::set_limits`]. The default is no limit (the [`Extractor`](crate::Extractor)
/// sets its own).
///
/// ```
/// use apk_pkg::ReadLimits;
/// let mut limits = ReadLimits::default();
/// limits.max_entries = 100_000;
/// assert_eq!(limits.max_data_size, u64::MAX);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadLimits {
    /// The most decompressed bytes the data stream may produce (headers and padding included).
    pub max_data_size: u64,
    /// The most tar entries the data stream may hold.
    pub max_entries: u64,
    /// The highest decompressed/compressed ratio of the data stream, checked once it has
    /// produced more than 1 MiB.
    pub max_ratio: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_data_size: u64::MAX,
            max_entries: u64::MAX,
            max_ratio: u64::MAX,
        }
    }
}

/// Returned by [`PackageReader`]'s constructors, [`PackageReader::next_entry`],
/// [`PackageReader::finish`] and [`read_package_info`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadPackageError {
    /// The package file could not be opened or inspected.
    #[error("failed to open {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading the package failed.
    #[error("failed to read {}", path.as_deref().map_or_else(|| "the package".to_owned(), |p| p.display().to_string()))]
    Io {
        /// The file, when the reader was opened from a path.
        path: Option<PathBuf>,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The input is not a v2 package at all.
    #[error("not an apk package: {reason}")]
    NotAPackage {
        /// What the input looks like instead.
        reason: &'static str,
    },
    /// The input ends early.
    #[error("package is truncated in the {stream} stream")]
    Truncated {
        /// The stream that is cut short (or missing).
        stream: StreamKind,
    },
    /// A gzip member is corrupt (bad deflate data, header or CRC): the package was tampered
    /// with or damaged.
    #[error("corrupt gzip data in the {stream} stream")]
    Corrupt {
        /// The stream holding the damage.
        stream: StreamKind,
        /// The decoder's report.
        #[source]
        source: io::Error,
    },
    /// The tar structure is invalid or breaks the package layout rules.
    #[error("malformed {stream} stream: {reason}")]
    Malformed {
        /// The stream.
        stream: StreamKind,
        /// What is wrong.
        reason: String,
    },
    /// The control stream has no `.PKGINFO`.
    #[error("package has no .PKGINFO")]
    MissingPkgInfo,
    /// `.PKGINFO` does not parse.
    #[error("invalid .PKGINFO")]
    PkgInfo(#[source] ParsePkgInfoError),
    /// `.PKGINFO`'s `datahash` is not 64 hex digits.
    #[error("invalid datahash '{value}' in .PKGINFO")]
    BadDataHash {
        /// The value given.
        value: String,
    },
    /// A data entry's path (or hard-link target) could escape the destination or is otherwise
    /// not a plain relative path.
    #[error("malicious path '{path}' in package: {reason}")]
    MaliciousPath {
        /// The path as stored (lossily decoded).
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry type that packages must not contain (sparse files, volume labels, …).
    #[error("unsupported tar entry type '{}' for '{path}'", char::from(*type_flag))]
    UnsupportedEntry {
        /// The entry's path.
        path: String,
        /// The tar type flag.
        type_flag: u8,
    },
    /// A file's contents do not match its `APK-TOOLS.checksum.SHA1` record.
    #[error("checksum mismatch for '{}'", path.display())]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
    },
    /// The data stream does not match `.PKGINFO`'s `datahash`.
    #[error("data stream does not match its datahash (expected {expected}, got {actual})")]
    DataHashMismatch {
        /// The `datahash` from `.PKGINFO`.
        expected: String,
        /// The SHA-256 of the data stream as read.
        actual: String,
    },
    /// Bytes follow the data stream's end-of-archive marker.
    #[error("unexpected data after the end of the package at byte {offset}")]
    TrailingGarbage {
        /// The file offset of the first unexpected byte.
        offset: u64,
    },
    /// A [`ReadLimits`] limit (or the fixed control-stream cap) was exceeded.
    #[error("package exceeds the {limit} limit ({value})")]
    LimitExceeded {
        /// Which limit.
        limit: LimitKind,
        /// The limit's value.
        value: u64,
    },
    /// The reader already returned an error; it cannot go on.
    #[error("package reader already failed")]
    Poisoned,
}

/// Returned by [`PackageReader::verify`] and [`PackageSummary::verify`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyPackageError {
    /// The package has no signature of a supported algorithm.
    #[error("package is not signed")]
    Unsigned,
    /// No signature is by a trusted key.
    #[error("package is signed only by untrusted keys: {}", names.join(", "))]
    UntrustedKey {
        /// The key names of all signatures, in package order.
        names: Vec<String>,
    },
    /// The first signature by a trusted key does not match: the package was tampered with.
    #[error("bad package signature by key {key}")]
    BadSignature {
        /// The trusted key whose signature failed.
        key: String,
    },
    /// The package has no `datahash`, so its signature covers the data stream too and can only
    /// be checked after the data was read: verify the [`PackageSummary`] from
    /// [`PackageReader::finish`] instead.
    #[error("package has no datahash: its signature can only be checked after reading the data")]
    NeedsData,
}

/// One `.SIGN.<ALG>.<key name>` entry of a package.
pub type PackageSignature = apk_index::keys::Signature;

pub use apk_index::keys::VerifiedBy;

/// The digests of the signed bytes, one per algorithm the signatures use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SignedDigests {
    sha1: Vec<u8>,
    sha256: Option<Vec<u8>>,
    sha512: Option<Vec<u8>>,
}

impl SignedDigests {
    fn get(&self, alg: SignatureAlgorithm) -> Option<&[u8]> {
        match alg {
            SignatureAlgorithm::RsaSha1 => Some(&self.sha1),
            SignatureAlgorithm::RsaSha256 => self.sha256.as_deref(),
            SignatureAlgorithm::RsaSha512 => self.sha512.as_deref(),
        }
    }
}

fn verify_signatures(
    signatures: &[PackageSignature],
    digests: &SignedDigests,
    keys: &KeySet,
) -> Result<VerifiedBy, VerifyPackageError> {
    check_signatures(signatures, keys, |alg| digests.get(alg)).map_err(|r| match r {
        Rejection::UntrustedKey(names) => VerifyPackageError::UntrustedKey { names },
        Rejection::BadSignature(key) => VerifyPackageError::BadSignature { key },
        _ => VerifyPackageError::Unsigned,
    })
}

/// The kind of a data entry, with what the kind needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file; its contents are read through the [`DataEntry`].
    File,
    /// A directory.
    Directory,
    /// A symbolic link to `target` (stored as is: it may be absolute or contain `..`; it is
    /// never followed by the extractor).
    Symlink {
        /// The link's target.
        target: PathBuf,
    },
    /// A hard link to `target`, an earlier entry of the same package (validated like a path).
    HardLink {
        /// The earlier entry's path.
        target: PathBuf,
    },
    /// A character device.
    CharDevice {
        /// The major number.
        major: u32,
        /// The minor number.
        minor: u32,
    },
    /// A block device.
    BlockDevice {
        /// The major number.
        major: u32,
        /// The minor number.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
}

/// An extended attribute: name (e.g. `security.capability`) and raw value.
pub type Xattr = (Vec<u8>, Vec<u8>);

/// The metadata of one data entry.
#[derive(Debug, Clone)]
struct EntryMeta {
    path: PathBuf,
    kind: EntryKind,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    size: u64,
    xattrs: Vec<Xattr>,
    checksum: Option<Checksum>,
}

/// One entry of the data stream, returned by [`PackageReader::next_entry`].
///
/// For a [`EntryKind::File`] it is also a [`Read`] of the file's contents. The contents are
/// hashed as they are read and checked against the entry's PAX checksum: reading to the end
/// returns an error (wrapping [`ReadPackageError::ChecksumMismatch`]) if they differ. If the
/// caller does not read everything, the next [`PackageReader::next_entry`] call reads (and
/// checks) the rest.
pub struct DataEntry<'a, R: BufRead> {
    reader: &'a mut PackageReader<R>,
    meta: EntryMeta,
}

impl<R: BufRead> DataEntry<'_, R> {
    /// The path, relative, validated: no `..`, `.` or empty components, no control characters,
    /// no trailing slash.
    pub fn path(&self) -> &Path {
        &self.meta.path
    }
    /// What the entry is.
    pub fn kind(&self) -> &EntryKind {
        &self.meta.kind
    }
    /// The permission bits (`0o7777` at most).
    pub fn mode(&self) -> u32 {
        self.meta.mode
    }
    /// The owner's user id.
    pub fn uid(&self) -> u64 {
        self.meta.uid
    }
    /// The owner's group id.
    pub fn gid(&self) -> u64 {
        self.meta.gid
    }
    /// The modification time, in seconds since the epoch.
    pub fn mtime(&self) -> u64 {
        self.meta.mtime
    }
    /// The size of the contents (0 for everything but files).
    pub fn size(&self) -> u64 {
        match self.meta.kind {
            EntryKind::File => self.meta.size,
            _ => 0,
        }
    }
    /// The extended attributes from `SCHILY.xattr.*` PAX records.
    pub fn xattrs(&self) -> &[Xattr] {
        &self.meta.xattrs
    }
    /// The PAX checksum (`APK-TOOLS.checksum.SHA1` as `Q1`, or legacy MD5), if any. For
    /// symlinks apk stores the SHA-1 of the target here.
    pub fn checksum(&self) -> Option<Checksum> {
        self.meta.checksum
    }
    /// Reads contents like [`Read::read`], with the package error instead of an `io::Error`.
    /// Returns `Ok(0)` at the end, after the checksum was checked. Everything but a file has
    /// no contents (as [`size`](Self::size) says), whatever its tar header claims: the bytes
    /// the header announces are skipped by the next [`PackageReader::next_entry`].
    pub fn read_content(&mut self, buf: &mut [u8]) -> Result<usize, ReadPackageError> {
        if self.meta.kind != EntryKind::File {
            return Ok(0);
        }
        self.reader.read_content(buf)
    }
}

impl<R: BufRead> Read for DataEntry<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_content(buf).map_err(|err| {
            let kind = match err {
                ReadPackageError::Io { ref source, .. } => source.kind(),
                ReadPackageError::Truncated { .. } => io::ErrorKind::UnexpectedEof,
                _ => io::ErrorKind::InvalidData,
            };
            io::Error::new(kind, err)
        })
    }
}

impl<R: BufRead> fmt::Debug for DataEntry<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataEntry")
            .field("meta", &self.meta)
            .finish()
    }
}

/// What reading a whole package found; returned by [`PackageReader::finish`].
#[derive(Debug, Clone)]
pub struct PackageSummary {
    identity: Checksum,
    signatures: Vec<PackageSignature>,
    signed: SignedDigests,
    has_datahash: bool,
    file_size: u64,
    control_size: u64,
    data_compressed_size: u64,
    data_size: u64,
    entry_count: u64,
    file_count: u64,
    installed_bytes: u64,
}

impl PackageSummary {
    /// The package identity (the index `C:` value).
    pub fn identity(&self) -> Checksum {
        self.identity
    }
    /// The signatures, in package order.
    pub fn signatures(&self) -> &[PackageSignature] {
        &self.signatures
    }
    /// Whether `.PKGINFO` had a `datahash` (which was then checked).
    pub fn has_datahash(&self) -> bool {
        self.has_datahash
    }
    /// The size of the package file in bytes (all gzip members).
    pub fn file_size(&self) -> u64 {
        self.file_size
    }
    /// The compressed size of the control stream.
    pub fn control_size(&self) -> u64 {
        self.control_size
    }
    /// The compressed size of the data stream.
    pub fn data_compressed_size(&self) -> u64 {
        self.data_compressed_size
    }
    /// The decompressed size of the data stream (tar headers and padding included).
    pub fn data_size(&self) -> u64 {
        self.data_size
    }
    /// The number of data entries (skipped ones included).
    pub fn entry_count(&self) -> u64 {
        self.entry_count
    }
    /// The number of regular files returned.
    pub fn file_count(&self) -> u64 {
        self.file_count
    }
    /// The total size of the regular files returned.
    pub fn installed_bytes(&self) -> u64 {
        self.installed_bytes
    }
    /// Checks the signatures against `keys` as apk does: the first signature whose key name is
    /// in `keys` decides. Works for every package, with or without `datahash`.
    pub fn verify(&self, keys: &KeySet) -> Result<VerifiedBy, VerifyPackageError> {
        verify_signatures(&self.signatures, &self.signed, keys)
    }
}

/// The hashers fed by [`HashingReader`].
#[derive(Default, Clone)]
struct Hashers {
    sha1: Option<Sha1>,
    sha256: Option<Sha256>,
    sha512: Option<Sha512>,
    data: Option<Sha256>,
}

impl Hashers {
    fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.sha1 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.sha256 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.data {
            h.update(bytes);
        }
    }

    /// SHA-1 plus whatever the signatures need.
    fn for_signatures(signatures: &[PackageSignature]) -> Hashers {
        let uses = |alg| signatures.iter().any(|s| s.algorithm() == alg);
        Hashers {
            sha1: Some(Sha1::new()),
            sha256: uses(SignatureAlgorithm::RsaSha256).then(Sha256::new),
            sha512: uses(SignatureAlgorithm::RsaSha512).then(Sha512::new),
            data: None,
        }
    }

    fn signed_digests(&mut self) -> SignedDigests {
        SignedDigests {
            sha1: self
                .sha1
                .take()
                .map(|h| h.finalize().to_vec())
                .unwrap_or_default(),
            sha256: self.sha256.take().map(|h| h.finalize().to_vec()),
            sha512: self.sha512.take().map(|h| h.finalize().to_vec()),
        }
    }
}

/// A [`BufRead`] that hashes bytes as they are consumed and counts them.
struct HashingReader<R> {
    inner: R,
    hashers: Hashers,
    consumed: u64,
}

impl<R: BufRead> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.inner.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for HashingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if amt == 0 {
            return;
        }
        // `consume` follows a `fill_buf` that returned at least `amt` bytes, so this second
        // `fill_buf` returns the same buffered bytes without I/O.
        if let Ok(buf) = self.inner.fill_buf() {
            let n = amt.min(buf.len());
            self.hashers.update(&buf[..n]);
        }
        self.inner.consume(amt);
        self.consumed += amt as u64;
    }
}

/// Where the reader is in the file.
enum Source<R> {
    /// Inside a gzip member.
    Member(Box<GzDecoder<HashingReader<R>>>),
    /// Between members (or at the end).
    Between(Box<HashingReader<R>>),
    /// Only while switching.
    Gone,
}

/// What [`PackageReader::next_raw`] found.
enum Next {
    Entry(Box<RawEntry>),
    MemberEnd,
    EndOfArchive,
}

/// A tar entry with its PAX and long-name overrides applied.
struct RawEntry {
    header: Header,
    pax: Pax,
}

impl RawEntry {
    fn name(&self) -> &[u8] {
        self.pax.path.as_deref().unwrap_or(&self.header.name)
    }
    fn size(&self) -> u64 {
        self.pax.size.unwrap_or(self.header.size)
    }
}

/// The file whose contents are being read.
struct Current {
    path: PathBuf,
    remaining: u64,
    padding: u64,
    hasher: Option<Sha1>,
    expected: Option<[u8; 20]>,
    mismatch: bool,
}

/// A streaming reader of v2 `.apk` packages.
///
/// [`new`](Self::new) reads the signature and control streams (`.PKGINFO`, scripts,
/// signatures); [`next_entry`](Self::next_entry) then walks the data stream one entry at a
/// time, and [`finish`](Self::finish) drains what is left and checks `datahash`.
///
/// ```no_run
/// use apk_pkg::PackageReader;
/// use apk_index::KeySet;
///
/// let keys = KeySet::from_dir("/etc/apk/keys")?;
/// let mut pkg = PackageReader::open("hello-2.12-r0.apk")?;
/// println!("{} {}", pkg.info().name, pkg.info().version);
/// pkg.verify(&keys)?;
/// while let Some(entry) = pkg.next_entry()? {
///     println!("{}", entry.path().display());
/// }
/// let summary = pkg.finish()?;
/// println!("identity {}", summary.identity());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PackageReader<R: BufRead> {
    source: Source<R>,
    path: Option<PathBuf>,
    stream: StreamKind,
    info: PackageInfo,
    scripts: Vec<(ScriptKind, Vec<u8>)>,
    signatures: Vec<PackageSignature>,
    datahash: Option<[u8; 32]>,
    identity: Option<Checksum>,
    signed: Option<SignedDigests>,
    control_size: u64,
    data_start: u64,
    zero_blocks: u8,
    control_bytes: u64,
    data_bytes: u64,
    entries: u64,
    file_count: u64,
    installed_bytes: u64,
    current: Option<Current>,
    data_done: bool,
    failed: bool,
    limits: ReadLimits,
    scratch: Vec<u8>,
}

impl PackageReader<BufReader<File>> {
    /// Opens the package file at `path`.
    ///
    /// ```
    /// use apk_pkg::{PackageReader, ReadPackageError};
    /// let err = PackageReader::open("/nonexistent.apk").unwrap_err();
    /// assert!(matches!(err, ReadPackageError::Open { .. }));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadPackageError> {
        Self::open_inner(path.as_ref())
    }

    fn open_inner(path: &Path) -> Result<Self, ReadPackageError> {
        let file = File::open(path).map_err(|source| ReadPackageError::Open {
            path: path.to_owned(),
            source,
        })?;
        Self::with_path(
            BufReader::with_capacity(SCRATCH, file),
            Some(path.to_owned()),
        )
    }
}

impl<R: BufRead> PackageReader<R> {
    /// Reads the signature and control streams from `reader`, leaving it at the start of the
    /// data stream.
    ///
    /// ```
    /// use apk_pkg::{PackageReader, ReadPackageError};
    /// let err = PackageReader::new(&b"PK\x03\x04 not a package"[..]).unwrap_err();
    /// assert!(matches!(err, ReadPackageError::NotAPackage { .. }));
    /// ```
    pub fn new(reader: R) -> Result<Self, ReadPackageError> {
        Self::with_path(reader, None)
    }

    fn with_path(mut reader: R, path: Option<PathBuf>) -> Result<Self, ReadPackageError> {
        let head = reader.fill_buf().map_err(|source| ReadPackageError::Io {
            path: path.clone(),
            source,
        })?;
        if head.is_empty() {
            return Err(ReadPackageError::NotAPackage {
                reason: "the file is empty",
            });
        }
        if head[0] != 0x1f || head.get(1).is_some_and(|&b| b != 0x8b) {
            return Err(ReadPackageError::NotAPackage {
                reason: "not gzip data",
            });
        }
        let mut this = PackageReader {
            source: Source::Between(Box::new(HashingReader {
                inner: reader,
                hashers: Hashers::default(),
                consumed: 0,
            })),
            path,
            stream: StreamKind::Signature,
            info: PackageInfo::default(),
            scripts: Vec::new(),
            signatures: Vec::new(),
            datahash: None,
            identity: None,
            signed: None,
            control_size: 0,
            data_start: 0,
            zero_blocks: 0,
            control_bytes: 0,
            data_bytes: 0,
            entries: 0,
            file_count: 0,
            installed_bytes: 0,
            current: None,
            data_done: false,
            failed: false,
            limits: ReadLimits::default(),
            scratch: vec![0; SCRATCH],
        };
        this.read_control()?;
        Ok(this)
    }

    /// The package metadata from `.PKGINFO` (with `datahash`, `replaces` and `triggers`).
    /// `identity` is filled in when known (see [`identity`](Self::identity)); `size` is 0.
    pub fn info(&self) -> &PackageInfo {
        &self.info
    }

    /// The scripts in control-stream order.
    pub fn scripts(&self) -> &[(ScriptKind, Vec<u8>)] {
        &self.scripts
    }

    /// The signatures of supported algorithms, in package order (`DSA` entries are left out).
    pub fn signatures(&self) -> &[PackageSignature] {
        &self.signatures
    }

    /// The package identity: the SHA-1 of the compressed control stream as `Q1`. `None` while
    /// the data is still unread for a package without `datahash` (whose identity also covers
    /// the data); [`PackageSummary::identity`] always has it.
    pub fn identity(&self) -> Option<Checksum> {
        self.identity
    }

    /// Replaces the limits applied from now on to the data stream.
    pub fn set_limits(&mut self, limits: ReadLimits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> ReadLimits {
        self.limits
    }

    /// Checks the signatures against `keys`: the first signature whose key name is in `keys`
    /// decides, as in apk-tools. For a package without `datahash` this is only possible once
    /// the data was read ([`VerifyPackageError::NeedsData`] before that); then use
    /// [`PackageSummary::verify`].
    pub fn verify(&self, keys: &KeySet) -> Result<VerifiedBy, VerifyPackageError> {
        match &self.signed {
            Some(digests) => verify_signatures(&self.signatures, digests, keys),
            None if self.signatures.is_empty() => Err(VerifyPackageError::Unsigned),
            None => Err(VerifyPackageError::NeedsData),
        }
    }

    /// The next entry of the data stream, or `None` at its end (after which `datahash` has
    /// been checked). Entries whose path starts with `.` and files named `.keep_*` are skipped,
    /// as apk skips them; their contents are still read and checked.
    pub fn next_entry(&mut self) -> Result<Option<DataEntry<'_, R>>, ReadPackageError> {
        if self.failed {
            return Err(ReadPackageError::Poisoned);
        }
        match self.next_entry_inner() {
            Ok(Some(meta)) => Ok(Some(DataEntry { reader: self, meta })),
            Ok(None) => Ok(None),
            Err(err) => {
                self.failed = true;
                Err(err)
            }
        }
    }

    /// Reads whatever is left of the data stream, checks `datahash` and that nothing follows
    /// the package, and returns what was found.
    pub fn finish(mut self) -> Result<PackageSummary, ReadPackageError> {
        self.finish_in_place()
    }

    pub(crate) fn finish_in_place(&mut self) -> Result<PackageSummary, ReadPackageError> {
        while self.next_entry()?.is_some() {}
        let (Some(identity), Some(signed)) = (self.identity, self.signed.clone()) else {
            // Unreachable once the data stream ended; be defensive anyway.
            return Err(ReadPackageError::Truncated {
                stream: StreamKind::Data,
            });
        };
        Ok(PackageSummary {
            identity,
            signatures: self.signatures.clone(),
            signed,
            has_datahash: self.datahash.is_some(),
            file_size: self.consumed(),
            control_size: self.control_size,
            data_compressed_size: self.consumed().saturating_sub(self.data_start),
            data_size: self.data_bytes,
            entry_count: self.entries,
            file_count: self.file_count,
            installed_bytes: self.installed_bytes,
        })
    }

    // ----- plumbing: members and blocks -----

    fn consumed(&self) -> u64 {
        match &self.source {
            Source::Member(gz) => gz.get_ref().consumed,
            Source::Between(hr) => hr.consumed,
            Source::Gone => 0,
        }
    }

    fn io_error(&self, source: io::Error) -> ReadPackageError {
        ReadPackageError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn malformed(&self, reason: impl Into<String>) -> ReadPackageError {
        ReadPackageError::Malformed {
            stream: self.stream,
            reason: reason.into(),
        }
    }

    /// Whether the raw input is exhausted (only between members).
    fn input_at_end(&mut self) -> Result<bool, ReadPackageError> {
        match &mut self.source {
            Source::Between(hr) => match hr.fill_buf() {
                Ok(buf) => Ok(buf.is_empty()),
                Err(source) => Err(ReadPackageError::Io {
                    path: self.path.clone(),
                    source,
                }),
            },
            _ => Ok(false),
        }
    }

    fn start_member(&mut self, hashers: Hashers) {
        self.source = match std::mem::replace(&mut self.source, Source::Gone) {
            Source::Between(mut hr) => {
                hr.hashers = hashers;
                Source::Member(Box::new(GzDecoder::new(*hr)))
            }
            other => other,
        };
    }

    /// Leaves the current member (which has reached its end) and returns its hashers.
    fn end_member(&mut self) -> Hashers {
        match std::mem::replace(&mut self.source, Source::Gone) {
            Source::Member(gz) => {
                let mut hr = gz.into_inner();
                let hashers = std::mem::take(&mut hr.hashers);
                self.source = Source::Between(Box::new(hr));
                hashers
            }
            other => {
                self.source = other;
                Hashers::default()
            }
        }
    }

    /// Reads decompressed bytes of the current member; 0 at its end.
    fn gz_read(&mut self, buf: &mut [u8]) -> Result<usize, ReadPackageError> {
        let Source::Member(gz) = &mut self.source else {
            return Ok(0);
        };
        let n = loop {
            match gz.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(match e.kind() {
                        io::ErrorKind::UnexpectedEof => ReadPackageError::Truncated {
                            stream: self.stream,
                        },
                        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                            ReadPackageError::Corrupt {
                                stream: self.stream,
                                source: e,
                            }
                        }
                        _ => self.io_error(e),
                    });
                }
            }
        };
        let n64 = n as u64;
        if self.stream == StreamKind::Data {
            self.data_bytes += n64;
            if self.data_bytes > self.limits.max_data_size {
                return Err(ReadPackageError::LimitExceeded {
                    limit: LimitKind::DataSize,
                    value: self.limits.max_data_size,
                });
            }
            if self.data_bytes > RATIO_GRACE {
                let compressed = self.consumed().saturating_sub(self.data_start).max(1);
                if self.data_bytes > self.limits.max_ratio.saturating_mul(compressed) {
                    return Err(ReadPackageError::LimitExceeded {
                        limit: LimitKind::Ratio,
                        value: self.limits.max_ratio,
                    });
                }
            }
        } else {
            self.control_bytes += n64;
            if self.control_bytes > MAX_CONTROL {
                return Err(ReadPackageError::LimitExceeded {
                    limit: LimitKind::ControlSize,
                    value: MAX_CONTROL,
                });
            }
        }
        Ok(n)
    }

    /// The error for a complete gzip member that ended in the middle of a tar block or entry
    /// (input cut inside a member is reported by the decoder as truncation instead).
    fn early_member_end(&mut self) -> ReadPackageError {
        self.malformed("tar data ends inside a block or entry at the end of its gzip stream")
    }

    /// Fills `buf` completely from the current member. `Ok(false)` when the member ended
    /// before the first byte.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<bool, ReadPackageError> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self.gz_read(&mut buf[filled..])?;
            if n == 0 {
                if filled == 0 {
                    return Ok(false);
                }
                return Err(self.early_member_end());
            }
            filled += n;
        }
        Ok(true)
    }

    /// Reads and discards `len` bytes (feeding them to `hasher` if given).
    fn skip_bytes(
        &mut self,
        mut len: u64,
        mut hasher: Option<&mut Sha1>,
    ) -> Result<(), ReadPackageError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = (|| {
            while len > 0 {
                let want = usize::try_from(len)
                    .unwrap_or(usize::MAX)
                    .min(scratch.len());
                let n = self.gz_read(&mut scratch[..want])?;
                if n == 0 {
                    return Err(self.early_member_end());
                }
                if let Some(h) = hasher.as_deref_mut() {
                    h.update(&scratch[..n]);
                }
                len -= n as u64;
            }
            Ok(())
        })();
        self.scratch = scratch;
        result
    }

    /// Reads an entry's whole contents (at most `max` bytes) and its padding.
    fn read_small(&mut self, size: u64, max: u64) -> Result<Vec<u8>, ReadPackageError> {
        if size > max {
            return Err(ReadPackageError::LimitExceeded {
                limit: LimitKind::ControlSize,
                value: max,
            });
        }
        let len = usize::try_from(size).map_err(|_| self.malformed("entry too large"))?;
        let mut data = vec![0; len];
        if len > 0 && !self.read_full(&mut data)? {
            return Err(self.early_member_end());
        }
        self.skip_bytes(padding(size), None)?;
        Ok(data)
    }

    /// The next tar entry of the current member, with PAX and GNU long-name headers folded in.
    fn next_raw(&mut self) -> Result<Next, ReadPackageError> {
        let mut pax = Pax::default();
        let mut extended = false;
        loop {
            let mut block = [0u8; BLOCK];
            if !self.read_full(&mut block)? {
                if extended {
                    return Err(self.malformed("extended header without an entry"));
                }
                return Ok(Next::MemberEnd);
            }
            if tarhdr::is_zero_block(&block) {
                // One zero block is tolerated once; the counter is never reset.
                self.zero_blocks = self.zero_blocks.saturating_add(1);
                if self.zero_blocks >= 2 {
                    if extended {
                        return Err(self.malformed("extended header without an entry"));
                    }
                    return Ok(Next::EndOfArchive);
                }
                continue;
            }
            let header = tarhdr::parse_header(&block).map_err(|e| self.malformed(e.describe()))?;
            match header.type_flag {
                b'x' => {
                    let data = self.read_small(header.size, MAX_EXTENDED)?;
                    tarhdr::parse_pax(&data, &mut pax).map_err(|e| self.malformed(e))?;
                    extended = true;
                }
                b'L' => {
                    let mut data = self.read_small(header.size, MAX_EXTENDED)?;
                    while data.last() == Some(&0) {
                        data.pop();
                    }
                    // A PAX path (if any) still wins over a GNU long name.
                    if pax.path.is_none() {
                        pax.path = Some(data);
                    }
                    extended = true;
                }
                b'g' | b'K' => {
                    // Global headers and GNU long link names are ignored, as apk does.
                    let size = header.size;
                    self.skip_bytes(size + padding(size), None)?;
                }
                _ => return Ok(Next::Entry(Box::new(RawEntry { header, pax }))),
            }
        }
    }

    // ----- signature and control streams -----

    fn read_control(&mut self) -> Result<(), ReadPackageError> {
        let mut first_member = true;
        let mut pkginfo: Option<Vec<u8>> = None;
        let mut script_bytes = 0u64;
        let mut member_start;
        loop {
            if self.input_at_end()? {
                return Err(ReadPackageError::Truncated {
                    stream: StreamKind::Control,
                });
            }
            member_start = self.consumed();
            self.start_member(Hashers::for_signatures(&self.signatures));
            let first = match self.next_raw() {
                Ok(Next::Entry(e)) => e,
                Ok(Next::MemberEnd) => return Err(self.malformed("empty gzip stream")),
                Ok(Next::EndOfArchive) | Err(ReadPackageError::Malformed { .. })
                    if first_member =>
                {
                    return Err(ReadPackageError::NotAPackage {
                        reason: "not a tar archive",
                    });
                }
                Ok(Next::EndOfArchive) => {
                    return Err(self.malformed("end-of-archive marker in the control stream"));
                }
                Err(e) => return Err(e),
            };
            first_member = false;
            if first.name().starts_with(b".SIGN.") {
                self.stream = StreamKind::Signature;
                let mut entry = first;
                loop {
                    if !entry.name().starts_with(b".SIGN.") {
                        return Err(
                            self.malformed("signature and control entries share a gzip stream")
                        );
                    }
                    self.read_signature(entry)?;
                    match self.next_raw()? {
                        Next::Entry(e) => entry = e,
                        Next::MemberEnd => break,
                        Next::EndOfArchive => {
                            return Err(
                                self.malformed("end-of-archive marker in the signature stream")
                            );
                        }
                    }
                }
                let _ = self.end_member();
                self.stream = StreamKind::Control;
                continue;
            }
            self.stream = StreamKind::Control;
            let mut entry = first;
            loop {
                self.read_control_entry(entry, &mut pkginfo, &mut script_bytes)?;
                match self.next_raw()? {
                    Next::Entry(e) => entry = e,
                    Next::MemberEnd => break,
                    Next::EndOfArchive => {
                        return Err(self.malformed("end-of-archive marker in the control stream"));
                    }
                }
            }
            break;
        }
        let mut hashers = self.end_member();
        self.control_size = self.consumed().saturating_sub(member_start);
        let text = pkginfo.ok_or(ReadPackageError::MissingPkgInfo)?;
        self.info = parse_pkginfo_lenient(&text)?;
        if let Some(value) = &self.info.datahash {
            let mut hash = [0u8; 32];
            if !tarhdr::decode_hex(value.trim().as_bytes(), &mut hash) {
                return Err(ReadPackageError::BadDataHash {
                    value: value.clone(),
                });
            }
            self.datahash = Some(hash);
        }
        let data_hashers = if self.datahash.is_some() {
            let digests = hashers.signed_digests();
            let identity = sha1_checksum(&digests.sha1);
            self.identity = identity;
            self.info.identity = identity;
            self.signed = Some(digests);
            Hashers {
                data: Some(Sha256::new()),
                ..Hashers::default()
            }
        } else {
            hashers
        };
        self.stream = StreamKind::Data;
        if self.input_at_end()? {
            return Err(ReadPackageError::Truncated {
                stream: StreamKind::Data,
            });
        }
        self.data_start = self.consumed();
        self.start_member(data_hashers);
        Ok(())
    }

    fn read_signature(&mut self, entry: Box<RawEntry>) -> Result<(), ReadPackageError> {
        let size = entry.size();
        let data = self.read_small(size, MAX_SIGNATURE)?;
        let name = String::from_utf8_lossy(entry.name()).into_owned();
        if let Some((algorithm, key_name)) = parse_sign_entry_name(&name) {
            self.signatures
                .push(PackageSignature::new(algorithm, key_name, data));
        }
        Ok(())
    }

    fn read_control_entry(
        &mut self,
        entry: Box<RawEntry>,
        pkginfo: &mut Option<Vec<u8>>,
        script_bytes: &mut u64,
    ) -> Result<(), ReadPackageError> {
        let name = entry.name().to_vec();
        let size = entry.size();
        if !name.starts_with(b".") || name.contains(&b'/') {
            return Err(self.malformed(format!(
                "data entry '{}' inside the control stream",
                String::from_utf8_lossy(&name)
            )));
        }
        let is_file = matches!(entry.header.type_flag, b'0' | 0 | b'7');
        if is_file && name == b".PKGINFO" {
            if pkginfo.is_some() {
                return Err(self.malformed("more than one .PKGINFO"));
            }
            *pkginfo = Some(self.read_small(size, MAX_PKGINFO)?);
            return Ok(());
        }
        let kind = std::str::from_utf8(&name)
            .ok()
            .and_then(ScriptKind::from_entry_name);
        match kind {
            Some(kind) if is_file => {
                *script_bytes = script_bytes.saturating_add(size);
                let data =
                    self.read_small(size, MAX_SCRIPTS.saturating_sub(*script_bytes - size))?;
                self.scripts.push((kind, data));
            }
            _ => self.skip_bytes(size + padding(size), None)?,
        }
        Ok(())
    }

    // ----- data stream -----

    fn next_entry_inner(&mut self) -> Result<Option<EntryMeta>, ReadPackageError> {
        self.finish_current()?;
        if self.data_done {
            return Ok(None);
        }
        loop {
            match self.next_raw()? {
                Next::MemberEnd => {
                    let hashers = self.end_member();
                    if self.input_at_end()? {
                        self.source_hashers_restore(hashers);
                        self.complete_data()?;
                        return Ok(None);
                    }
                    // The data stream continues in another gzip member.
                    self.start_member(hashers);
                }
                Next::EndOfArchive => {
                    self.drain_after_end()?;
                    self.complete_data()?;
                    return Ok(None);
                }
                Next::Entry(raw) => {
                    self.entries += 1;
                    if self.entries > self.limits.max_entries {
                        return Err(ReadPackageError::LimitExceeded {
                            limit: LimitKind::Entries,
                            value: self.limits.max_entries,
                        });
                    }
                    let (meta, skip) = self.data_entry(raw)?;
                    if skip {
                        self.finish_current()?;
                        continue;
                    }
                    if meta.kind == EntryKind::File {
                        self.file_count += 1;
                        self.installed_bytes = self.installed_bytes.saturating_add(meta.size);
                    }
                    return Ok(Some(meta));
                }
            }
        }
    }

    /// Builds the entry's metadata and sets up [`Current`] for its contents.
    fn data_entry(&mut self, raw: Box<RawEntry>) -> Result<(EntryMeta, bool), ReadPackageError> {
        let name = raw.name().to_vec();
        let size = raw.size();
        let h = &raw.header;
        let lossy = || String::from_utf8_lossy(&name).into_owned();
        let (path, trailing_slash) =
            validate_path(&name).map_err(|reason| ReadPackageError::MaliciousPath {
                path: lossy(),
                reason,
            })?;
        let link = raw.pax.linkpath.clone().unwrap_or_else(|| h.link.clone());
        let kind = match h.type_flag {
            b'0' | 0 | b'7' if trailing_slash => EntryKind::Directory,
            b'0' | 0 | b'7' => EntryKind::File,
            b'5' => EntryKind::Directory,
            b'2' => {
                if link.is_empty() {
                    return Err(self.malformed(format!("symlink '{}' without a target", lossy())));
                }
                EntryKind::Symlink {
                    target: PathBuf::from(std::ffi::OsStr::from_bytes(&link)),
                }
            }
            b'1' => {
                let (target, _) =
                    validate_path(&link).map_err(|reason| ReadPackageError::MaliciousPath {
                        path: String::from_utf8_lossy(&link).into_owned(),
                        reason,
                    })?;
                EntryKind::HardLink { target }
            }
            b'3' => EntryKind::CharDevice {
                major: h.dev_major,
                minor: h.dev_minor,
            },
            b'4' => EntryKind::BlockDevice {
                major: h.dev_major,
                minor: h.dev_minor,
            },
            b'6' => EntryKind::Fifo,
            other => {
                return Err(ReadPackageError::UnsupportedEntry {
                    path: lossy(),
                    type_flag: other,
                });
            }
        };
        let mut expected = None;
        let checksum = if let Some(hex) = &raw.pax.sha1 {
            let mut digest = [0u8; 20];
            if !tarhdr::decode_hex(hex, &mut digest) {
                return Err(self.malformed(format!("invalid SHA-1 checksum for '{}'", lossy())));
            }
            expected = Some(digest);
            Some(Checksum::sha1(digest))
        } else if let Some(hex) = &raw.pax.md5 {
            let mut digest = [0u8; 16];
            if !tarhdr::decode_hex(hex, &mut digest) {
                return Err(self.malformed(format!("invalid MD5 checksum for '{}'", lossy())));
            }
            Checksum::from_digest(&digest, ChecksumForm::Md5Hex)
        } else {
            None
        };
        // Only regular files' contents are checked: for symlinks apk stores the target's hash.
        let check = kind == EntryKind::File;
        let skip = name.first() == Some(&b'.')
            || (kind == EntryKind::File
                && path
                    .file_name()
                    .is_some_and(|n| n.as_bytes().starts_with(b".keep_")));
        self.current = Some(Current {
            path: path.clone(),
            remaining: size,
            padding: padding(size),
            hasher: (check && expected.is_some()).then(Sha1::new),
            expected: if check { expected } else { None },
            mismatch: false,
        });
        let meta = EntryMeta {
            path,
            kind,
            mode: h.mode,
            uid: raw.pax.uid.unwrap_or(h.uid),
            gid: raw.pax.gid.unwrap_or(h.gid),
            mtime: raw.pax.mtime.unwrap_or(h.mtime),
            size,
            xattrs: raw.pax.xattrs,
            checksum,
        };
        Ok((meta, skip))
    }

    fn read_content(&mut self, buf: &mut [u8]) -> Result<usize, ReadPackageError> {
        if self.failed {
            return Err(ReadPackageError::Poisoned);
        }
        let result = self.read_content_inner(buf);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn read_content_inner(&mut self, buf: &mut [u8]) -> Result<usize, ReadPackageError> {
        let Some(cur) = &self.current else {
            return Ok(0);
        };
        if cur.remaining == 0 {
            self.check_current()?;
            return Ok(0);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(cur.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.gz_read(&mut buf[..want])?;
        if n == 0 {
            return Err(self.early_member_end());
        }
        if let Some(cur) = &mut self.current {
            cur.remaining -= n as u64;
            if let Some(h) = &mut cur.hasher {
                h.update(&buf[..n]);
            }
        }
        Ok(n)
    }

    /// Checks the finished contents of the current entry against its checksum.
    fn check_current(&mut self) -> Result<(), ReadPackageError> {
        let Some(cur) = &mut self.current else {
            return Ok(());
        };
        if let (Some(hasher), Some(expected)) = (cur.hasher.take(), cur.expected) {
            if hasher.finalize().as_slice() != expected {
                cur.mismatch = true;
            }
        }
        if cur.mismatch {
            return Err(ReadPackageError::ChecksumMismatch {
                path: cur.path.clone(),
            });
        }
        Ok(())
    }

    /// Reads the rest of the current entry (checking its checksum) and its padding.
    fn finish_current(&mut self) -> Result<(), ReadPackageError> {
        let Some(mut cur) = self.current.take() else {
            return Ok(());
        };
        let remaining = cur.remaining;
        cur.remaining = 0;
        let result = self.skip_bytes(remaining, cur.hasher.as_mut());
        let padding = cur.padding;
        self.current = Some(cur);
        result?;
        self.check_current()?;
        self.current = None;
        self.skip_bytes(padding, None)
    }

    /// After the end-of-archive marker: the rest of the member must be zeros, and nothing may
    /// follow the member.
    fn drain_after_end(&mut self) -> Result<(), ReadPackageError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = (|| loop {
            let n = self.gz_read(&mut scratch)?;
            if n == 0 {
                return Ok(());
            }
            if scratch[..n].iter().any(|&b| b != 0) {
                return Err(self.malformed("data after the end-of-archive marker"));
            }
        })();
        self.scratch = scratch;
        result?;
        let hashers = self.end_member();
        if !self.input_at_end()? {
            return Err(ReadPackageError::TrailingGarbage {
                offset: self.consumed(),
            });
        }
        self.source_hashers_restore(hashers);
        Ok(())
    }

    /// Puts finished hashers back so [`complete_data`](Self::complete_data) can read them.
    fn source_hashers_restore(&mut self, hashers: Hashers) {
        if let Source::Between(hr) = &mut self.source {
            hr.hashers = hashers;
        }
    }

    /// The data stream ended: check `datahash`, or finish identity and signature digests.
    fn complete_data(&mut self) -> Result<(), ReadPackageError> {
        let mut hashers = match &mut self.source {
            Source::Between(hr) => std::mem::take(&mut hr.hashers),
            _ => Hashers::default(),
        };
        if let Some(expected) = self.datahash {
            let actual = hashers
                .data
                .take()
                .map(|h| h.finalize().to_vec())
                .unwrap_or_default();
            if actual != expected {
                return Err(ReadPackageError::DataHashMismatch {
                    expected: tarhdr::hex(&expected),
                    actual: tarhdr::hex(&actual),
                });
            }
        } else {
            let digests = hashers.signed_digests();
            let identity = sha1_checksum(&digests.sha1);
            self.identity = identity;
            self.info.identity = identity;
            self.signed = Some(digests);
        }
        self.data_done = true;
        Ok(())
    }
}

impl<R: BufRead> fmt::Debug for PackageReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageReader")
            .field("name", &self.info.name)
            .field("version", &self.info.version)
            .field("stream", &self.stream)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

fn sha1_checksum(digest: &[u8]) -> Option<Checksum> {
    Checksum::from_digest(digest, ChecksumForm::Q1)
}

/// The zero padding after `size` bytes of contents.
fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// `.PKGINFO` under v3 dependency rules, falling back to v2 rules (real Alpine packages may
/// hold versions only v2 accepts).
fn parse_pkginfo_lenient(text: &[u8]) -> Result<PackageInfo, ReadPackageError> {
    match apk_index::parse_pkginfo(text, Rules::V3) {
        Ok(info) => Ok(info),
        Err(e) if matches!(e.kind(), ParsePkgInfoErrorKind::BadDependency(_)) => {
            apk_index::parse_pkginfo(text, Rules::V2).map_err(ReadPackageError::PkgInfo)
        }
        Err(e) => Err(ReadPackageError::PkgInfo(e)),
    }
}

/// Checks an archive path: relative, no `.`, `..` or empty components, no control characters,
/// no component using the `.apk.` prefix reserved for temporary files.
/// Returns the path without trailing slashes and whether there was one.
pub(crate) fn validate_path(raw: &[u8]) -> Result<(PathBuf, bool), &'static str> {
    if raw.is_empty() {
        return Err("empty path");
    }
    if raw[0] == b'/' {
        return Err("absolute path");
    }
    if raw.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err("control character in path");
    }
    let mut end = raw.len();
    while end > 0 && raw[end - 1] == b'/' {
        end -= 1;
    }
    let trimmed = &raw[..end];
    for component in trimmed.split(|&b| b == b'/') {
        match component {
            b"" => return Err("empty path component"),
            b"." => return Err("'.' path component"),
            b".." => return Err("'..' path component"),
            // Extraction writes files to `.apk.<hex>` names beside their targets before
            // renaming them into place; an entry with such a name could collide with another
            // entry's temporary file, so the prefix is reserved.
            c if c.starts_with(b".apk.") => return Err("reserved '.apk.' name"),
            _ => {}
        }
    }
    Ok((
        PathBuf::from(std::ffi::OsStr::from_bytes(trimmed)),
        end != raw.len(),
    ))
}

/// Reads the package at `path` whole (streaming, in constant memory) and returns its metadata
/// as `apk index` records it: `identity` and `size` (the file size) filled in, plus the
/// identity again. The data stream is read to compute identity when `.PKGINFO` has no
/// `datahash`, and to check `datahash` and the file checksums when it has one.
///
/// ```
/// use apk_pkg::{read_package_info, ReadPackageError};
/// assert!(matches!(read_package_info("/nonexistent.apk"), Err(ReadPackageError::Open { .. })));
/// ```
pub fn read_package_info(
    path: impl AsRef<Path>,
) -> Result<(PackageInfo, Checksum), ReadPackageError> {
    let path = path.as_ref();
    let reader = PackageReader::open(path)?;
    let mut info = reader.info().clone();
    let summary = reader.finish()?;
    let size = std::fs::metadata(path)
        .map_err(|source| ReadPackageError::Open {
            path: path.to_owned(),
            source,
        })?
        .len();
    info.identity = Some(summary.identity());
    info.size = size;
    Ok((info, summary.identity()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            validate_path(b"usr/bin/"),
            Ok((PathBuf::from("usr/bin"), true))
        );
        assert_eq!(validate_path(b"a"), Ok((PathBuf::from("a"), false)));
        for (bad, why) in [
            (&b"/etc/passwd"[..], "absolute path"),
            (b"../x", "'..' path component"),
            (b"a/../../x", "'..' path component"),
            (b"./a", "'.' path component"),
            (b"a//b", "empty path component"),
            (b"a\nb", "control character in path"),
            (b"d/.apk.0123abcd", "reserved '.apk.' name"),
            (b"", "empty path"),
            (b"/", "absolute path"),
        ] {
            assert_eq!(validate_path(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn paddings() {
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
    }

    #[test]
    fn not_packages() {
        for input in [&b""[..], b"\x1f", b"hello", b"\x1f\x8b\x08\x00garbage"] {
            assert!(PackageReader::new(input).is_err(), "{input:?}");
        }
    }
}
