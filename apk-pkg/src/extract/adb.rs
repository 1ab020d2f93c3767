//! Extracting apk v3 (ADB) packages, with the same rules as v2 ones.
//!
//! The package streams ([`adb::BlockReader`]): its metadata (the ADB and SIG blocks) is read
//! and the signature checked (with [`Extractor::trusted_keys`]) before anything is written;
//! then each directory and file entry goes through the same staging as a v2 tar entry (paths
//! validated like tar paths, parents opened without following links, everything but
//! directories under a temporary name), each file's DATA block checked as it is written
//! (order, size, hash: [`adb::DataHeader::check_for`], [`adb::ContentCheck`]), and nothing is
//! renamed into place before the whole package is staged and checked. Memory use does not
//! depend on the size of the files.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::io::BufRead;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use apk_index::adb::{
    self, AdbError, AdbFile, BlockReader, Compression, ContentCheck, FileEntry, FileTarget,
    Package, SchemaId,
};
use apk_index::{Checksum, ChecksumForm, KeySet, PackageInfo};

use super::{
    EntrySource, ExtractError, Extractor, HashMap, Placement, RecordedHash, Run, Stage, StagedEntry,
};
use crate::ScriptKind;
use crate::reader::{EntryKind, ReadPackageError, Xattr, validate_path};

/// What [`Extractor::extract_adb`] did.
///
/// ```
/// let summary = apk_pkg::AdbExtractSummary::default();
/// assert_eq!(summary.files, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdbExtractSummary {
    /// The package identity: SHA-256 of its ADB block payload (what indexes record).
    pub identity: [u8; 32],
    /// The trusted key that verified the package, when keys were required.
    pub verified_by: Option<String>,
    /// Regular files written.
    pub files: u64,
    /// Directories created or updated.
    pub directories: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Device nodes and fifos created.
    pub devices: u64,
    /// Bytes of file contents written.
    pub bytes: u64,
    /// Extended attributes that could not be set (and were skipped).
    pub xattrs_failed: u64,
}

/// One v3 entry, ready for staging.
struct AdbEntry<'b, R: BufRead> {
    path: PathBuf,
    kind: EntryKind,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    checksum: Option<Checksum>,
    xattrs: Vec<Xattr>,
    /// The contents of a regular file that has a DATA block, checked as they are read.
    content: Option<Content<'b, R>>,
}

/// A file's DATA block being read.
struct Content<'b, R: BufRead> {
    blocks: &'b mut BlockReader<R>,
    /// `None` once the contents were read to the end and found good.
    check: Option<ContentCheck>,
}

impl<R: BufRead> EntrySource for AdbEntry<'_, R> {
    fn path(&self) -> &Path {
        &self.path
    }
    fn kind(&self) -> &EntryKind {
        &self.kind
    }
    fn mode(&self) -> u32 {
        self.mode
    }
    fn uid(&self) -> u64 {
        self.uid
    }
    fn gid(&self) -> u64 {
        self.gid
    }
    fn mtime(&self) -> u64 {
        self.mtime
    }
    fn xattrs(&self) -> &[Xattr] {
        &self.xattrs
    }
    fn checksum(&self) -> Option<Checksum> {
        self.checksum
    }
    fn read_content(&mut self, buf: &mut [u8]) -> Result<usize, ExtractError> {
        let Some(content) = &mut self.content else {
            return Ok(0);
        };
        let n = content.blocks.read_data(buf)?;
        match (n, content.check.take()) {
            (0, Some(check)) => check.finish()?,
            (_, Some(mut check)) => {
                check.update(buf.get(..n).unwrap_or_default());
                content.check = Some(check);
            }
            (_, None) => {}
        }
        Ok(n)
    }
}

fn malicious(path: &[u8], reason: &'static str) -> ExtractError {
    ExtractError::Read(ReadPackageError::MaliciousPath {
        path: String::from_utf8_lossy(path).into_owned(),
        reason,
    })
}

fn invalid(message: String) -> ExtractError {
    ExtractError::Adb(AdbError::Invalid(message))
}

/// A validated relative path.
fn checked_path(raw: &[u8]) -> Result<PathBuf, ExtractError> {
    match validate_path(raw) {
        Ok((path, false)) => Ok(path),
        Ok((_, true)) => Err(malicious(raw, "trailing slash")),
        Err(reason) => Err(malicious(raw, reason)),
    }
}

/// Owner and group ids for the names in an ACL: `root` (and no name) is 0; other names are
/// looked up in `etc/passwd` and `etc/group` below a root ([`Extractor::owner_names_from`]);
/// unknown names become 65534, as apk-tools does.
struct Owners {
    users: HashMap<String, u64>,
    groups: HashMap<String, u64>,
}

impl Owners {
    fn load(root: &Path) -> Owners {
        fn table(path: &Path) -> HashMap<String, u64> {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            text.lines()
                .filter_map(|line| {
                    let mut fields = line.split(':');
                    let name = fields.next()?;
                    let id = fields.nth(1)?.parse().ok()?;
                    Some((name.to_owned(), id))
                })
                .collect()
        }
        Owners {
            users: table(&root.join("etc/passwd")),
            groups: table(&root.join("etc/group")),
        }
    }

    fn id(table: &HashMap<String, u64>, name: Option<&str>) -> u64 {
        match name {
            Some("root") => 0,
            Some(name) => table.get(name).copied().unwrap_or(65534),
            None => 0,
        }
    }
}

/// Splits `name\0value` xattr items.
fn xattrs(items: &[&[u8]], path: &[u8]) -> Result<Vec<Xattr>, ExtractError> {
    items
        .iter()
        .map(|item| {
            let nul = item
                .iter()
                .position(|&b| b == 0)
                .filter(|&i| i > 0)
                .ok_or_else(|| {
                    invalid(format!(
                        "{}: malformed extended attribute",
                        String::from_utf8_lossy(path)
                    ))
                })?;
            let (name, value) = item.split_at(nul);
            Ok((name.to_vec(), value.get(1..).unwrap_or_default().to_vec()))
        })
        .collect()
}

/// Linux `dev_t` encoding to (major, minor).
fn split_dev(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (
        u32::try_from(major).unwrap_or(u32::MAX),
        u32::try_from(minor).unwrap_or(u32::MAX),
    )
}

/// The checksum the installed database records for a v3 file (`Q1` of the first 20 bytes of
/// its SHA-256), which is also a SHA-1-sized checksum that tells staging the contents were
/// already checked. A hash of another length (SHA-1, SHA-512) gives none: staging computes
/// the SHA-256 itself.
fn recorded_checksum(hash: Option<&[u8]>) -> Option<Checksum> {
    let hash = hash.filter(|h| h.len() == 32)?;
    Checksum::from_digest(hash.get(..20)?, ChecksumForm::Q1)
}

/// A v3 (ADB) package read into memory and parsed, not yet trusted or extracted: its
/// metadata, scripts and identity, for a package manager that must know them before it stages
/// the files ([`Extractor::stage_adb`]). [`AdbPackageReader`] does the same for a package
/// that streams (its data is never held whole).
///
/// Opening decompresses the file once (any wrapper: `ADB.`, `ADBd`, `ADBc` with deflate or
/// zstd) and checks the block structure and the package tree against the schema; the
/// signature ([`verify`](Self::verify)) and the DATA blocks are checked later, before
/// anything is written.
///
/// ```
/// use apk_pkg::{AdbPackage, Extractor, StagedKind};
///
/// let stream = apk_index::adb::tests_support::tiny_package();
/// let package = AdbPackage::new(stream)?;
/// assert_eq!((package.info().name.as_str(), package.info().version.as_str()), ("tiny", "1-r0"));
/// assert!(package.scripts().is_empty());
///
/// let dest = tempfile::tempdir()?;
/// let staged = Extractor::new().preserve_owner(false).stage_adb(&package, dest.path())?;
/// assert_eq!(staged.entries()[0].kind, StagedKind::File);
/// // The `Z:` apk-tools 3 records: SHA-256 of the contents, cut to 20 bytes.
/// assert_eq!(staged.entries()[0].checksum.unwrap().to_string(), "Q1j0NDRmSPa5bfid2pAcUXaxCm2Dk=");
/// staged.commit(|_| apk_pkg::Placement::Install)?;
/// assert_eq!(std::fs::read(dest.path().join("f"))?, b"hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AdbPackage {
    /// The inner stream (decompressed).
    stream: Vec<u8>,
    file_size: u64,
    compression: Compression,
    info: PackageInfo,
    scripts: Vec<(ScriptKind, Vec<u8>)>,
    identity: [u8; 32],
    unique_id: Option<[u8; 20]>,
    key_ids: Vec<[u8; 16]>,
}

impl fmt::Debug for AdbPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdbPackage")
            .field("name", &self.info.name)
            .field("version", &self.info.version)
            .field("file_size", &self.file_size)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl AdbPackage {
    /// Opens a v3 package from the bytes of its file, with the default limit on how much it
    /// may expand ([`adb::ReadOptions::default`]).
    ///
    /// Fails when the file is not an ADB `pckg` file, its blocks are malformed, the package
    /// tree does not follow the schema, or its metadata cannot be carried into the installed
    /// database (see [`apk_index::adb::PkgInfo::to_package_info`]).
    pub fn new(data: Vec<u8>) -> Result<AdbPackage, AdbError> {
        AdbPackage::with_options(data, &adb::ReadOptions::default())
    }

    /// [`new`](Self::new) with explicit read limits.
    ///
    /// ```
    /// use apk_index::adb::{AdbError, ReadOptions};
    /// let stream = apk_index::adb::tests_support::tiny_package();
    /// let tight = ReadOptions { max_size: 10 };
    /// assert!(matches!(apk_pkg::AdbPackage::with_options(stream, &tight), Err(AdbError::TooLarge { .. })));
    /// ```
    pub fn with_options(data: Vec<u8>, options: &adb::ReadOptions) -> Result<AdbPackage, AdbError> {
        let file_size = data.len() as u64;
        let (compression, inflated) = adb::decompress_with_info(&data, options)?;
        let inflated = match inflated {
            Cow::Borrowed(_) => None,
            Cow::Owned(v) => Some(v),
        };
        let stream = inflated.unwrap_or(data);
        AdbPackage::from_stream(stream, file_size, compression)
    }

    /// Parses an inner stream (whole, or only its head: the ADB and SIG blocks).
    fn from_stream(
        stream: Vec<u8>,
        file_size: u64,
        compression: Compression,
    ) -> Result<AdbPackage, AdbError> {
        let file = AdbFile::parse_schema(&stream, SchemaId::PACKAGE)?;
        let package = Package::from_file(&file)?;
        let mut info = package.to_package_info()?;
        let adb = file.adb();
        // The unique id `mkpkg` stores (20 bytes); other values are not one.
        let unique_id: Option<[u8; 20]> = package.info.hashes.and_then(|h| h.try_into().ok());
        info.identity = unique_id.map(Checksum::sha1);
        if info.size == 0 {
            info.size = file_size;
        }
        let scripts = package
            .scripts
            .iter()
            .filter_map(|(name, body)| Some((name.parse::<ScriptKind>().ok()?, body.to_vec())))
            .collect();
        let identity = adb::package_identity(&adb);
        let key_ids = file.signatures().iter().filter_map(|s| s.key_id).collect();
        Ok(AdbPackage {
            file_size,
            compression,
            info,
            scripts,
            identity,
            unique_id,
            key_ids,
            stream,
        })
    }

    /// The package metadata: name, version, arch, description, licence, origin, URL,
    /// maintainer, build time, commit, installed size, dependencies, provides, replaces and
    /// their priority, install-if, tags and the trigger globs (`triggers`). `identity` is the
    /// package's own unique id ([`unique_id`](Self::unique_id)) in the `Q1` form, which is
    /// what apk-tools 3 records for a package installed from a file; `size` is the size of
    /// the file.
    pub fn info(&self) -> &PackageInfo {
        &self.info
    }

    /// The scripts, in schema order (trigger, pre-install, post-install, pre-deinstall,
    /// post-deinstall, pre-upgrade, post-upgrade), as (kind, text).
    pub fn scripts(&self) -> &[(ScriptKind, Vec<u8>)] {
        &self.scripts
    }

    /// The package identity indexes record: SHA-256 of its ADB block payload. apk-tools 3
    /// records its first 20 bytes (`Q1`) as `C:` for a package installed from a repository.
    ///
    /// ```
    /// let package = apk_pkg::AdbPackage::new(apk_index::adb::tests_support::tiny_package())?;
    /// assert_eq!(package.identity().len(), 32);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn identity(&self) -> [u8; 32] {
        self.identity
    }

    /// The 20-byte unique id `mkpkg` stores in the package (`info.hashes`), if it has one.
    pub fn unique_id(&self) -> Option<[u8; 20]> {
        self.unique_id
    }

    /// The package's inner stream: the file without its compression wrapper, itself a
    /// valid uncompressed (`ADB.`) package file, for [`Extractor::extract_adb`].
    ///
    /// ```
    /// let stream = apk_index::adb::tests_support::tiny_package();
    /// let package = apk_pkg::AdbPackage::new(stream.clone())?;
    /// assert_eq!(package.stream(), &stream[..]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream(&self) -> &[u8] {
        &self.stream
    }

    /// The size of the package file, as given (compressed).
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The file's compression wrapper.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The key ids of the package's signatures (version-0 SIG blocks), in file order.
    ///
    /// ```
    /// let package = apk_pkg::AdbPackage::new(apk_index::adb::tests_support::tiny_package())?;
    /// assert!(package.signature_key_ids().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn signature_key_ids(&self) -> &[[u8; 16]] {
        &self.key_ids
    }

    /// Checks the signatures against `keys` (matched by key id, not file name); see
    /// [`AdbFile::verify_signature`]. This covers the metadata; the file contents are
    /// checked against it when the package is staged or with [`check`](Self::check).
    ///
    /// ```
    /// use apk_index::adb::AdbError;
    /// let package = apk_pkg::AdbPackage::new(apk_index::adb::tests_support::tiny_package())?;
    /// assert!(matches!(package.verify(&apk_index::KeySet::new()), Err(AdbError::Unsigned)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self, keys: &KeySet) -> Result<adb::Verified, AdbError> {
        AdbFile::parse_schema(&self.stream, SchemaId::PACKAGE)?.verify_signature(keys)
    }

    /// Checks every DATA block against the file list and hashes (as staging does first),
    /// without writing anything.
    ///
    /// ```
    /// let package = apk_pkg::AdbPackage::new(apk_index::adb::tests_support::tiny_package())?;
    /// package.check()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self) -> Result<(), AdbError> {
        let file = AdbFile::parse_schema(&self.stream, SchemaId::PACKAGE)?;
        Package::from_file(&file)?.check_data(file.data_blocks())
    }
}

/// A v3 (ADB) package read from a stream: its metadata is read and parsed at once
/// ([`package`](Self::package)), its DATA blocks only when it is staged
/// ([`Extractor::stage_adb_reader`]), one file at a time. What installing a package of any
/// size needs: memory holds the metadata, never the contents.
///
/// ```
/// use apk_pkg::{AdbPackageReader, Extractor};
///
/// let file = apk_index::adb::tests_support::tiny_package();
/// let mut reader = AdbPackageReader::new(&file[..])?;
/// assert_eq!(reader.package().info().name, "tiny");
///
/// let dest = tempfile::tempdir()?;
/// let staged = Extractor::new().preserve_owner(false).stage_adb_reader(&mut reader, dest.path())?;
/// staged.commit(|_| apk_pkg::Placement::Install)?;
/// assert_eq!(std::fs::read(dest.path().join("f"))?, b"hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AdbPackageReader<R: BufRead> {
    package: AdbPackage,
    blocks: BlockReader<R>,
}

impl<R: BufRead> fmt::Debug for AdbPackageReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdbPackageReader")
            .field("package", &self.package)
            .field("data_read", &self.blocks.data_started())
            .finish_non_exhaustive()
    }
}

/// The most metadata (ADB and SIG blocks) a streamed v3 package may have.
const MAX_HEAD: u64 = 1 << 28;

impl<R: BufRead> AdbPackageReader<R> {
    /// Reads the metadata of the v3 package `file` (any compression wrapper): the ADB block,
    /// checked against the schema and carried into [`AdbPackage::info`], and the SIG blocks.
    /// The reader is left at the first DATA block.
    ///
    /// ```
    /// use apk_index::adb::AdbError;
    /// let err = apk_pkg::AdbPackageReader::new(&b"ADB.indx"[..]).unwrap_err();
    /// assert!(matches!(err, AdbError::Block { .. }));
    /// ```
    pub fn new(file: R) -> Result<AdbPackageReader<R>, AdbError> {
        let mut blocks = BlockReader::open(file, &adb::ReadOptions { max_size: MAX_HEAD })?;
        let head = blocks.take_head();
        let package = AdbPackage::from_stream(head, 0, blocks.compression())?;
        Ok(AdbPackageReader { package, blocks })
    }

    /// Tells the size of the package file (known to the caller, not to a stream), which
    /// [`AdbPackage::file_size`] reports and [`AdbPackage::info`] takes as its `size` when
    /// the package does not record one.
    ///
    /// ```
    /// let file = apk_index::adb::tests_support::tiny_package();
    /// let reader = apk_pkg::AdbPackageReader::new(&file[..])?.with_file_size(file.len() as u64);
    /// assert_eq!(reader.package().file_size(), file.len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_file_size(mut self, size: u64) -> AdbPackageReader<R> {
        if self.package.info.size == self.package.file_size {
            self.package.info.size = size;
        }
        self.package.file_size = size;
        self
    }

    /// Reads every DATA block and checks it against the file list and hashes (order, size,
    /// SHA-256), writing nothing: what [`AdbPackage::check`] does for a package in memory.
    /// The data is read once: a second call, or staging afterwards, fails.
    ///
    /// ```
    /// let file = apk_index::adb::tests_support::tiny_package();
    /// let mut reader = apk_pkg::AdbPackageReader::new(&file[..])?;
    /// reader.check()?;
    /// assert!(reader.check().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&mut self) -> Result<(), AdbError> {
        if self.data_read() {
            return Err(AdbError::Invalid(
                "the package's data was already read".into(),
            ));
        }
        let file = AdbFile::parse_schema(&self.package.stream, SchemaId::PACKAGE)?;
        Package::from_file(&file)?.check_stream(&mut self.blocks)
    }

    /// Whether the DATA blocks have begun to be read (by staging, extracting or
    /// [`check`](Self::check)), which can happen once. A staging that failed before reading
    /// any (an untrusted signature, a destination that cannot be opened) leaves them unread.
    pub fn data_read(&self) -> bool {
        self.blocks.data_started()
    }

    /// The package as far as it has been read: metadata, scripts, identity and signatures.
    /// Its [`stream`](AdbPackage::stream) holds no DATA blocks, so its
    /// [`check`](AdbPackage::check) and [`Extractor::stage_adb`] find the files' data missing:
    /// stage it with [`Extractor::stage_adb_reader`], which checks each block as it comes.
    pub fn package(&self) -> &AdbPackage {
        &self.package
    }
}

/// A v3 package whose contents have been checked and written under temporary names; returned
/// by [`Extractor::stage_adb`]. The v3 counterpart of [`StagedPackage`](super::StagedPackage):
/// [`commit`](Self::commit) puts each entry where the caller says,
/// [`abort`](Self::abort) (or dropping it uncommitted) removes every temporary file.
pub struct StagedAdbPackage {
    stage: Stage,
    identity: [u8; 32],
    verified_by: Option<String>,
}

impl fmt::Debug for StagedAdbPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StagedAdbPackage")
            .field("dest", &self.stage.dest)
            .field("entries", &self.stage.entries)
            .field("verified_by", &self.verified_by)
            .finish_non_exhaustive()
    }
}

impl StagedAdbPackage {
    /// Every entry, in package order (`paths`, then each directory's `files`), directories
    /// included (not the nameless root). Checksums are apk-tools 3's `sha256-160` values (see
    /// [`StagedEntry::checksum`]); owners are the ids the ACL names map to.
    pub fn entries(&self) -> &[StagedEntry] {
        &self.stage.entries
    }

    /// The package identity: SHA-256 of its ADB block payload.
    pub fn identity(&self) -> [u8; 32] {
        self.identity
    }

    /// The trusted key that verified the package, when [`Extractor::trusted_keys`] required
    /// one.
    pub fn verified_by(&self) -> Option<&str> {
        self.verified_by.as_deref()
    }

    /// The destination directory given to [`Extractor::stage_adb`].
    pub fn dest(&self) -> &Path {
        &self.stage.dest
    }

    /// Puts every entry but directories where `decide` says, then applies the directories'
    /// attributes; the same rules as [`StagedPackage::commit`](super::StagedPackage::commit).
    pub fn commit(
        self,
        mut decide: impl FnMut(&StagedEntry) -> Placement,
    ) -> Result<AdbExtractSummary, ExtractError> {
        let StagedAdbPackage {
            mut stage,
            identity,
            verified_by,
        } = self;
        let c = stage.commit(&mut decide)?;
        Ok(AdbExtractSummary {
            identity,
            verified_by,
            files: c.files,
            directories: c.directories,
            symlinks: c.symlinks,
            hardlinks: c.hardlinks,
            devices: c.devices,
            bytes: c.bytes,
            xattrs_failed: c.xattrs_failed,
        })
    }

    /// Removes every temporary file, leaving the final names untouched, and the directories
    /// staging created (see [`Extractor::remove_created_dirs`]). Dropping an uncommitted
    /// `StagedAdbPackage` does the same.
    pub fn abort(self) {
        let mut this = self;
        this.stage.cleanup();
    }
}

impl Extractor {
    /// Extracts a v3 (ADB) package held in memory (`data`: the file as stored, any
    /// compression) into `dest`, an existing directory; see
    /// [`extract_adb_from`](Self::extract_adb_from), which this is for a file in memory.
    ///
    /// ```
    /// let stream = apk_index::adb::tests_support::tiny_package();
    /// let dest = tempfile::tempdir()?;
    /// let summary = apk_pkg::Extractor::new().preserve_owner(false).extract_adb(&stream, dest.path())?;
    /// assert_eq!((summary.files, summary.bytes), (1, 2));
    /// assert_eq!(std::fs::read(dest.path().join("f"))?, b"hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extract_adb(&self, data: &[u8], dest: &Path) -> Result<AdbExtractSummary, ExtractError> {
        self.extract_adb_from(data, dest)
    }

    /// Extracts a v3 (ADB) package read from `file` (any compression, decompressed as it
    /// streams) into `dest`, an existing directory.
    ///
    /// The metadata is read first and the signature checked with
    /// [`trusted_keys`](Self::trusted_keys) (v3 keys are matched by key id); then the file
    /// tree is written with the same rules as [`extract`](Self::extract): validated paths, no
    /// link followed, temporary names renamed into place only once every DATA block has been
    /// checked against its file (order, size, SHA-256), hard links only to earlier files,
    /// devices only with [`allow_devices`](Self::allow_devices), the entry and size limits.
    /// On any error nothing is left at a final or temporary name, nor the directories it
    /// created (see [`remove_created_dirs`](Self::remove_created_dirs)). The nameless root directory entry creates nothing. Owners are names in
    /// v3: `root` is 0, others are looked up in `/etc/passwd` and `/etc/group` (or below
    /// [`owner_names_from`](Self::owner_names_from); unknown: 65534). Directories get the
    /// current time (v3 stores no directory times). Memory use does not depend on the size of
    /// the package's files.
    ///
    /// ```
    /// let file = apk_index::adb::tests_support::tiny_package();
    /// let dest = tempfile::tempdir()?;
    /// let summary = apk_pkg::Extractor::new()
    ///     .preserve_owner(false)
    ///     .extract_adb_from(std::io::BufReader::new(&file[..]), dest.path())?;
    /// assert_eq!(summary.files, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extract_adb_from(
        &self,
        file: impl BufRead,
        dest: &Path,
    ) -> Result<AdbExtractSummary, ExtractError> {
        self.extract_adb_reader(&mut AdbPackageReader::new(file)?, dest)
    }

    /// [`extract_adb_from`](Self::extract_adb_from) for a package already opened with
    /// [`AdbPackageReader`] (whose metadata the caller looked at first). Its data is read
    /// once: a second call fails.
    ///
    /// ```
    /// let file = apk_index::adb::tests_support::tiny_package();
    /// let mut reader = apk_pkg::AdbPackageReader::new(&file[..])?;
    /// let dest = tempfile::tempdir()?;
    /// let extractor = apk_pkg::Extractor::new().preserve_owner(false).clone();
    /// assert_eq!(extractor.extract_adb_reader(&mut reader, dest.path())?.files, 1);
    /// assert!(extractor.extract_adb_reader(&mut reader, dest.path()).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extract_adb_reader<R: BufRead>(
        &self,
        reader: &mut AdbPackageReader<R>,
        dest: &Path,
    ) -> Result<AdbExtractSummary, ExtractError> {
        self.stage_reader(reader, dest, !self.overwrite)?
            .commit(|_| Placement::Install)
    }

    /// Like [`extract_adb`](Self::extract_adb) for a package opened with [`AdbPackage`], but
    /// stops before anything is renamed into place, as [`stage`](Self::stage) does for v2
    /// packages: the signature (with [`trusted_keys`](Self::trusted_keys)) and every DATA
    /// block are checked, directories are created (their attributes wait for
    /// [`StagedAdbPackage::commit`]) and everything else sits under its temporary name in its
    /// final directory. An existing file or symlink at an entry's final name is reported in
    /// [`StagedEntry::existed`], not refused; an existing directory there is
    /// ([`ExtractError::AlreadyExists`]). On error every temporary file is removed.
    ///
    /// The entries' checksums are what apk-tools 3 records in the installed database for a v3
    /// package (`sha256-160`, with the `f:S` flag; see [`StagedEntry::checksum`]).
    pub fn stage_adb(
        &self,
        package: &AdbPackage,
        dest: &Path,
    ) -> Result<StagedAdbPackage, ExtractError> {
        let mut blocks = BlockReader::open(
            &package.stream[..],
            &adb::ReadOptions {
                max_size: package.stream.len() as u64,
            },
        )?;
        let head = blocks.take_head();
        let (stage, identity, verified_by) = self.stage_blocks(&head, &mut blocks, dest, false)?;
        Ok(StagedAdbPackage {
            stage,
            identity,
            verified_by,
        })
    }

    /// [`stage_adb`](Self::stage_adb) for a package being read from a stream: its DATA
    /// blocks are read (once: a second call fails) and each checked as its file is written.
    pub fn stage_adb_reader<R: BufRead>(
        &self,
        reader: &mut AdbPackageReader<R>,
        dest: &Path,
    ) -> Result<StagedAdbPackage, ExtractError> {
        self.stage_reader(reader, dest, false)
    }

    fn stage_reader<R: BufRead>(
        &self,
        reader: &mut AdbPackageReader<R>,
        dest: &Path,
        refuse_existing: bool,
    ) -> Result<StagedAdbPackage, ExtractError> {
        if reader.data_read() {
            return Err(invalid("the package's data was already read".into()));
        }
        let (stage, identity, verified_by) = self.stage_blocks(
            &reader.package.stream,
            &mut reader.blocks,
            dest,
            refuse_existing,
        )?;
        Ok(StagedAdbPackage {
            stage,
            identity,
            verified_by,
        })
    }

    /// Checks and stages a v3 package: `head` is its inner stream up to the DATA blocks,
    /// which `blocks` hands out. Returns the stage, the identity and the verifying key.
    fn stage_blocks<R: BufRead>(
        &self,
        head: &[u8],
        blocks: &mut BlockReader<R>,
        dest: &Path,
        refuse_existing: bool,
    ) -> Result<(Stage, [u8; 32], Option<String>), ExtractError> {
        let file = AdbFile::parse_schema(head, SchemaId::PACKAGE)?;
        let verified_by = match &self.trusted_keys {
            Some(keys) => Some(file.verify_signature(keys)?.key_name),
            None => None,
        };
        let package = Package::from_file(&file)?;
        let entry_count: u64 = package.paths.iter().map(|d| 1 + d.files.len() as u64).sum();
        if entry_count > self.limits.max_entries {
            return Err(invalid(format!(
                "{entry_count} entries is more than the limit of {}",
                self.limits.max_entries
            )));
        }
        let total = package
            .data_files()
            .fold(0u64, |sum, (_, f)| sum.saturating_add(f.size));
        if total > self.limits.max_data_size {
            return Err(invalid(format!(
                "{total} bytes of contents is more than the limit of {}",
                self.limits.max_data_size
            )));
        }

        // From here on, dropping `run` (on error or panic) removes the temporary files.
        let mut run = Run::new(
            self,
            dest,
            refuse_existing,
            package.info.name.unwrap_or_default().to_owned(),
            RecordedHash::Sha256Of160,
        )?;
        let owners = Owners::load(&self.names_root);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for dir in &package.paths {
            let dir_raw = dir.path().as_bytes();
            let dir_path = if dir_raw.is_empty() {
                PathBuf::new()
            } else {
                let path = checked_path(dir_raw)?;
                let mut entry = AdbEntry::<R> {
                    path,
                    kind: EntryKind::Directory,
                    mode: dir.acl.mode_or(0o755),
                    uid: Owners::id(&owners.users, dir.acl.user),
                    gid: Owners::id(&owners.groups, dir.acl.group),
                    mtime: now,
                    checksum: None,
                    xattrs: xattrs(&dir.acl.xattrs, dir_raw)?,
                    content: None,
                };
                run.stage_entry(&mut entry)?;
                entry.path
            };
            for f in &dir.files {
                let mut entry = file_entry(&dir_path, f, &owners)?;
                if f.needs_data() {
                    let header = blocks.next_data_for(dir, f)?;
                    entry.content = Some(Content {
                        check: Some(ContentCheck::new(dir, f, header.offset)?),
                        blocks: &mut *blocks,
                    });
                }
                run.stage_entry(&mut entry)?;
            }
        }
        blocks.expect_end()?;
        let identity = adb::package_identity(&file.adb());
        Ok((run.stage, identity, verified_by))
    }
}

/// The staging entry of one v3 file entry in directory `dir`.
fn file_entry<'b, R: BufRead>(
    dir: &Path,
    f: &FileEntry<'_>,
    owners: &Owners,
) -> Result<AdbEntry<'b, R>, ExtractError> {
    let name = f.name.as_bytes();
    if name.contains(&b'/') {
        return Err(malicious(name, "'/' in a file name"));
    }
    let mut raw = dir.as_os_str().as_bytes().to_vec();
    if !raw.is_empty() {
        raw.push(b'/');
    }
    raw.extend_from_slice(name);
    let path = checked_path(&raw)?;
    let kind = match f.file_target() {
        None => EntryKind::File,
        Some(FileTarget::Symlink(target)) => {
            if target.is_empty() || target.contains(&0) {
                return Err(malicious(&raw, "invalid symlink target"));
            }
            EntryKind::Symlink {
                target: PathBuf::from(OsStr::from_bytes(target)),
            }
        }
        Some(FileTarget::HardLink(target)) => EntryKind::HardLink {
            target: checked_path(target)?,
        },
        Some(FileTarget::CharDevice(dev)) => {
            let (major, minor) = split_dev(dev);
            EntryKind::CharDevice { major, minor }
        }
        Some(FileTarget::BlockDevice(dev)) => {
            let (major, minor) = split_dev(dev);
            EntryKind::BlockDevice { major, minor }
        }
        Some(FileTarget::Fifo) => EntryKind::Fifo,
        Some(FileTarget::Other { kind, .. }) => {
            return Err(invalid(format!(
                "{}: unsupported file type {kind:#06x}",
                String::from_utf8_lossy(&raw)
            )));
        }
    };
    Ok(AdbEntry {
        path,
        checksum: match kind {
            EntryKind::File => recorded_checksum(f.hash),
            _ => None,
        },
        kind,
        mode: f.acl.mode_or(0o644),
        uid: Owners::id(&owners.users, f.acl.user),
        gid: Owners::id(&owners.groups, f.acl.group),
        mtime: f.mtime.unwrap_or(0),
        xattrs: xattrs(&f.acl.xattrs, &raw)?,
        content: None,
    })
}
