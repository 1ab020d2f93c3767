//! Extracting apk v3 (ADB) packages, with the same rules as v2 ones.
//!
//! The package is read whole from memory and checked before anything is written: the block
//! structure, the signature (with [`Extractor::trusted_keys`]), and every DATA block against
//! its file's size and SHA-256 ([`Package::check_data`]). Then each directory and file entry
//! goes through the same staging as a v2 tar entry: paths validated like tar paths, parents
//! opened without following links, everything but directories under a temporary name,
//! renamed into place only when the whole package is staged.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use apk_index::adb::{self, AdbError, AdbFile, FileEntry, FileTarget, Package, SchemaId};
use apk_index::{Checksum, ChecksumForm};

use super::{
    COPY_BUFFER, EntrySource, ExtractError, Extractor, HashMap, Mode, OFlags, Placement, Run,
    Stage, Walker,
};
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

/// Owner and group ids for the names in an ACL: `root` is 0; other names are looked up in
/// the host's `/etc/passwd` and `/etc/group`; unknown names (and no name) become 65534, as
/// apk-tools does.
struct Owners {
    users: HashMap<String, u64>,
    groups: HashMap<String, u64>,
}

impl Owners {
    fn load() -> Owners {
        fn table(path: &str) -> HashMap<String, u64> {
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
            users: table("/etc/passwd"),
            groups: table("/etc/group"),
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
/// already checked.
fn recorded_checksum(hash: Option<&[u8]>) -> Option<Checksum> {
    let hash = hash?;
    Checksum::from_digest(hash.get(..20)?, ChecksumForm::Q1)
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
    /// 0, others are looked up in the host's `/etc/passwd` and `/etc/group` (unknown: 65534).
    /// Directories get the current time (v3 stores no directory times).
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
        let options = adb::ReadOptions {
            max_size: self.limits.max_data_size.saturating_add(1 << 28),
        };
        let stream = adb::decompress(data, &options)?;
        let file = AdbFile::parse_schema(&stream, SchemaId::PACKAGE)?;
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
            refuse_existing: !self.overwrite,
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
        };
        let owners = Owners::load();
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
        let c = run.stage.commit(&mut |_| Placement::Install)?;
        Ok(AdbExtractSummary {
            identity: adb::package_identity(&file.adb()),
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
