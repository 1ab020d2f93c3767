//! Extracting apk v3 (ADB) packages, with the same rules as v2 ones.
//!
//! The package is read whole from memory and checked before anything is written: the block
//! structure, the signature (with [`Extractor::trusted_keys`]), and every DATA block against
//! its file's size and SHA-256 ([`Package::check_data`]). Then each directory and file entry
//! goes through the same staging as a v2 tar entry: paths validated like tar paths, parents
//! opened without following links, everything but directories under a temporary name,
//! renamed into place only when the whole package is staged.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use apk_index::adb::{
    self, AdbError, AdbFile, Compression, FileEntry, FileTarget, Package, SchemaId,
};
use apk_index::{Checksum, ChecksumForm, KeySet, PackageInfo};

use super::{
    COPY_BUFFER, EntrySource, ExtractError, Extractor, HashMap, Mode, OFlags, Placement,
    RecordedHash, Run, Stage, StagedEntry, Walker,
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
struct AdbEntry<'d> {
    path: PathBuf,
    kind: EntryKind,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    checksum: Option<Checksum>,
    xattrs: Vec<Xattr>,
    /// What is left of the contents (regular files).
    content: &'d [u8],
}

impl EntrySource for AdbEntry<'_> {
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
    fn read_content(&mut self, buf: &mut [u8]) -> Result<usize, ReadPackageError> {
        let n = buf.len().min(self.content.len());
        let (now, rest) = self.content.split_at(n);
        if let Some(dst) = buf.get_mut(..n) {
            dst.copy_from_slice(now);
        }
        self.content = rest;
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
/// the files ([`Extractor::stage_adb`]).
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

    /// Removes every temporary file, leaving the final names untouched (directories created
    /// while staging stay). Dropping an uncommitted `StagedAdbPackage` does the same.
    pub fn abort(self) {
        let mut this = self;
        this.stage.cleanup();
    }
}

impl Extractor {
    /// Extracts a v3 (ADB) package held in memory (`data`: the file as stored, any
    /// compression) into `dest`, an existing directory.
    ///
    /// Everything is checked before anything is written: the block structure, the signature
    /// with [`trusted_keys`](Self::trusted_keys) (v3 keys are matched by key id), and every
    /// DATA block against its file (order, size, SHA-256). The file tree is then written with
    /// the same rules as [`extract`](Self::extract): validated paths, no link followed,
    /// temporary names renamed into place at the end, hard links only to earlier files,
    /// devices only with [`allow_devices`](Self::allow_devices), the entry and size limits.
    /// The nameless root directory entry creates nothing. Owners are names in v3: `root` is
    /// 0, others are looked up in `/etc/passwd` and `/etc/group` (or below
    /// [`owner_names_from`](Self::owner_names_from); unknown: 65534). Directories get the
    /// current time (v3 stores no directory times).
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
        let stream = adb::decompress(data, &self.adb_read_options())?;
        let (stage, identity, verified_by) = self.stage_stream(&stream, dest, !self.overwrite)?;
        StagedAdbPackage {
            stage,
            identity,
            verified_by,
        }
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
        let (stage, identity, verified_by) = self.stage_stream(&package.stream, dest, false)?;
        Ok(StagedAdbPackage {
            stage,
            identity,
            verified_by,
        })
    }

    /// How much a v3 package may expand: the data limit plus room for the metadata.
    fn adb_read_options(&self) -> adb::ReadOptions {
        adb::ReadOptions {
            max_size: self.limits.max_data_size.saturating_add(1 << 28),
        }
    }

    /// Checks and stages the inner stream of a v3 package: returns the stage, the identity
    /// and the verifying key.
    fn stage_stream(
        &self,
        stream: &[u8],
        dest: &Path,
        refuse_existing: bool,
    ) -> Result<(Stage, [u8; 32], Option<String>), ExtractError> {
        let file = AdbFile::parse_schema(stream, SchemaId::PACKAGE)?;
        let verified_by = match &self.trusted_keys {
            Some(keys) => Some(file.verify_signature(keys)?.key_name),
            None => None,
        };
        let package = Package::from_file(&file)?;
        package.check_data(file.data_blocks())?;
        let entry_count: u64 = package.paths.iter().map(|d| 1 + d.files.len() as u64).sum();
        if entry_count > self.limits.max_entries {
            return Err(invalid(format!(
                "{entry_count} entries is more than the limit of {}",
                self.limits.max_entries
            )));
        }
        let total: u64 = file
            .data_blocks()
            .iter()
            .map(|b| b.contents.len() as u64)
            .sum();
        if total > self.limits.max_data_size {
            return Err(invalid(format!(
                "{total} bytes of contents is more than the limit of {}",
                self.limits.max_data_size
            )));
        }

        let root = rustix::fs::open(
            dest,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ExtractError::Destination {
            path: dest.to_owned(),
            source: e.into(),
        })?;
        // From here on, dropping `run` (on error or panic) removes the temporary files.
        let mut run = Run {
            opts: self,
            refuse_existing,
            stage: Stage {
                dest: dest.to_owned(),
                preserve_owner: self.preserve_owner,
                walker: Walker { root, cache: None },
                entries: Vec::new(),
                pending: Vec::new(),
                dirs: Vec::new(),
                directories: 0,
            },
            pkgname: package.info.name.unwrap_or_default().to_owned(),
            seen: HashMap::new(),
            buf: vec![0; COPY_BUFFER],
            hashes: RecordedHash::Sha256Of160,
        };
        let owners = Owners::load(&self.names_root);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // DATA blocks in order: `check_data` proved they are the files that need data, in
        // order, so they pair up with those files one to one.
        let mut data_blocks = file.data_blocks().iter();
        for dir in &package.paths {
            let dir_raw = dir.path().as_bytes();
            let dir_path = if dir_raw.is_empty() {
                PathBuf::new()
            } else {
                let path = checked_path(dir_raw)?;
                let mut entry = AdbEntry {
                    path,
                    kind: EntryKind::Directory,
                    mode: dir.acl.mode_or(0o755),
                    uid: Owners::id(&owners.users, dir.acl.user),
                    gid: Owners::id(&owners.groups, dir.acl.group),
                    mtime: now,
                    checksum: None,
                    xattrs: xattrs(&dir.acl.xattrs, dir_raw)?,
                    content: &[],
                };
                run.stage_entry(&mut entry)?;
                entry.path
            };
            for f in &dir.files {
                let content = if f.needs_data() {
                    data_blocks.next().map_or(&[][..], |b| b.contents)
                } else {
                    &[]
                };
                let mut entry = file_entry(&dir_path, f, content, &owners)?;
                run.stage_entry(&mut entry)?;
            }
        }
        let identity = adb::package_identity(&file.adb());
        Ok((run.stage, identity, verified_by))
    }
}

/// The staging entry of one v3 file entry in directory `dir`.
fn file_entry<'d>(
    dir: &Path,
    f: &FileEntry<'_>,
    content: &'d [u8],
    owners: &Owners,
) -> Result<AdbEntry<'d>, ExtractError> {
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
        content,
    })
}
