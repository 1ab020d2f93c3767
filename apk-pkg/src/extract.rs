//! Extracting a package's data stream into a directory, with no way out of it.
//!
//! # How it stays inside the destination
//!
//! The ideas follow tar-rs's `unpack_in` (build the target one component at a time, refuse
//! `..`, apply directory modes last and deepest first), made race-free with `*at` system calls
//! (through `rustix`):
//!
//! * The reader already refuses absolute paths, `.`/`..`/empty components and control
//!   characters ([`ReadPackageError::MaliciousPath`]).
//! * Every parent directory is opened one component at a time from a descriptor of the
//!   destination with `O_DIRECTORY | O_NOFOLLOW`: an existing symlink (planted by an earlier
//!   entry or already there) is never followed, whatever it points to; the entry fails with
//!   [`ExtractError::SymlinkInPath`].
//! * Everything but directories is first created under a temporary name in its final
//!   directory (`.apk.<48 hex>`, as apk-tools names them: the first 24 bytes of SHA-256 over
//!   the package name, a NUL and the path) with `O_EXCL | O_NOFOLLOW`. Only when the whole
//!   data stream has been read and checked (per-file checksums, `datahash`, the signature when
//!   asked for) are the temporary names renamed into place. On any error the temporary files
//!   are removed: a failed extraction never leaves a partial or unverified file at a final
//!   name, and nothing outside the destination is touched.
//! * Hard links may only point to regular files extracted earlier from the same package.
//!   Device nodes and fifos need [`Extractor::allow_devices`].
//! * Contents are copied through one fixed buffer: memory stays flat whatever the file sizes.
//!
//! Metadata is restored as apk-tools restores it: file modes after the contents, owners only
//! with [`Extractor::preserve_owner`] (default: when running as root), mtimes (symlinks
//! included), extended attributes from `SCHILY.xattr.*` (failures, e.g. a `security.*` name
//! without privileges or a filesystem without xattrs, are counted in
//! [`ExtractSummary::xattrs_failed`], not fatal), directory modes and mtimes last.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use apk_index::KeySet;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps, XattrFlags};
use rustix::io::Errno;
use sha2::{Digest, Sha256};

use crate::reader::{
    DataEntry, EntryKind, PackageReader, PackageSummary, ReadLimits, ReadPackageError,
    VerifyPackageError,
};

/// The copy buffer size.
const COPY_BUFFER: usize = 128 << 10;

/// Returned by [`Extractor::extract`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// Reading the package failed: malformed, truncated, tampered with (checksums, datahash,
    /// gzip CRC), a malicious path, or a limit was exceeded.
    #[error("failed to read the package")]
    Read(#[from] ReadPackageError),
    /// The package's signature is not trusted (with [`Extractor::trusted_keys`]).
    #[error("package is not trusted")]
    Untrusted(#[source] VerifyPackageError),
    /// The destination cannot be opened.
    #[error("cannot open destination {}", path.display())]
    Destination {
        /// The destination.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Creating or writing something in the destination failed.
    #[error("failed to write {}", path.display())]
    Io {
        /// The file (inside the destination).
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path component is a symlink; it is never followed.
    #[error("refusing to write through symlink '{}'", path.display())]
    SymlinkInPath {
        /// The symlink, relative to the destination.
        path: PathBuf,
    },
    /// A path component exists but is not a directory.
    #[error("'{}' is not a directory", path.display())]
    NotADirectory {
        /// The component, relative to the destination.
        path: PathBuf,
    },
    /// The entry's path exists already (and overwriting is off, or it is a directory).
    #[error("'{}' already exists", path.display())]
    AlreadyExists {
        /// The path, relative to the destination.
        path: PathBuf,
    },
    /// The package holds the same (non-directory) path twice.
    #[error("duplicate entry '{}' in package", path.display())]
    DuplicateEntry {
        /// The path.
        path: PathBuf,
    },
    /// A hard link whose target is not a regular file extracted earlier from this package.
    #[error("hard link '{}' points to '{}', which is not an earlier file of this package", path.display(), target.display())]
    HardLinkTarget {
        /// The link.
        path: PathBuf,
        /// Its target.
        target: PathBuf,
    },
    /// A device node or fifo, without [`Extractor::allow_devices`].
    #[error("device node or fifo '{}' not allowed", path.display())]
    DeviceNotAllowed {
        /// The entry.
        path: PathBuf,
    },
}

/// What an extraction did; returned by [`Extractor::extract`].
#[derive(Debug, Clone)]
pub struct ExtractSummary {
    /// What reading the package found (identity, sizes, counts).
    pub package: PackageSummary,
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

/// Safe extraction of a package's data stream into a directory. Configure with the builder
/// methods, then call [`extract`](Self::extract) as often as needed.
///
/// The rules (tar-rs's `unpack_in` ideas, made race-free with `*at` system calls):
///
/// * absolute paths, `.`/`..`/empty components and control characters are refused by the
///   reader ([`ReadPackageError::MaliciousPath`]);
/// * every parent is opened one component at a time from the destination with
///   `O_DIRECTORY | O_NOFOLLOW`: a symlink (from an earlier entry or already there) is never
///   followed ([`ExtractError::SymlinkInPath`]);
/// * everything but directories is written under a temporary name (`.apk.<48 hex>`, as
///   apk-tools names them) in its final directory, and renamed into place only after the whole
///   package checked out (file checksums, `datahash`, the signature with
///   [`trusted_keys`](Self::trusted_keys)); on error the temporary files are removed, so no
///   partial or unverified file ever sits at a final name and nothing outside the destination
///   is touched;
/// * hard links only to regular files extracted earlier from the same package; device nodes
///   and fifos only with [`allow_devices`](Self::allow_devices); limits against gzip and tar
///   bombs;
/// * file modes after the contents, owners only with
///   [`preserve_owner`](Self::preserve_owner), mtimes (symlinks too), `SCHILY.xattr.*`
///   attributes (failures counted in [`ExtractSummary::xattrs_failed`], not fatal), directory
///   modes and mtimes last, deepest first;
/// * contents go through one fixed buffer: memory stays flat whatever the file sizes.
///
/// ```no_run
/// use apk_pkg::{Extractor, PackageReader};
///
/// let mut pkg = PackageReader::open("hello-2.12-r0.apk")?;
/// let summary = Extractor::new()
///     .max_total_size(1 << 30)
///     .extract(&mut pkg, std::path::Path::new("/tmp/out"))?;
/// println!("{} files", summary.files);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Extractor {
    allow_devices: bool,
    preserve_owner: bool,
    overwrite: bool,
    limits: ReadLimits,
    trusted_keys: Option<KeySet>,
}

impl Default for Extractor {
    fn default() -> Self {
        Extractor::new()
    }
}

impl Extractor {
    /// Defaults: no devices, owners preserved only when running as root, no overwriting,
    /// limits of 16 GiB decompressed data, 1,000,000 entries and a compression ratio of 1000,
    /// no signature check.
    ///
    /// ```
    /// let mut extractor = apk_pkg::Extractor::new();
    /// extractor.allow_devices(true).overwrite(true).max_entries(10_000);
    /// ```
    pub fn new() -> Extractor {
        let limits = ReadLimits {
            max_data_size: 16 << 30,
            max_entries: 1_000_000,
            max_ratio: 1000,
        };
        Extractor {
            allow_devices: false,
            preserve_owner: rustix::process::geteuid().is_root(),
            overwrite: false,
            limits,
            trusted_keys: None,
        }
    }

    /// Whether device nodes and fifos may be created (default: no, they are an error).
    pub fn allow_devices(&mut self, yes: bool) -> &mut Self {
        self.allow_devices = yes;
        self
    }

    /// Whether to restore owners (default: only when running as root).
    pub fn preserve_owner(&mut self, yes: bool) -> &mut Self {
        self.preserve_owner = yes;
        self
    }

    /// Whether existing files (not directories) at an entry's path may be replaced (default:
    /// no, [`ExtractError::AlreadyExists`]).
    pub fn overwrite(&mut self, yes: bool) -> &mut Self {
        self.overwrite = yes;
        self
    }

    /// The most decompressed bytes the data stream may produce.
    pub fn max_total_size(&mut self, bytes: u64) -> &mut Self {
        self.limits.max_data_size = bytes;
        self
    }

    /// The most entries the data stream may hold.
    pub fn max_entries(&mut self, entries: u64) -> &mut Self {
        self.limits.max_entries = entries;
        self
    }

    /// The highest decompressed/compressed ratio of the data stream (checked past 1 MiB).
    pub fn max_ratio(&mut self, ratio: u64) -> &mut Self {
        self.limits.max_ratio = ratio;
        self
    }

    /// Require a signature by one of `keys` (checked before anything is written when the
    /// package has a `datahash`, otherwise before anything is renamed into place).
    pub fn trusted_keys(&mut self, keys: Option<KeySet>) -> &mut Self {
        self.trusted_keys = keys;
        self
    }

    /// Extracts the rest of `reader`'s data stream into `dest` (an existing directory) and
    /// finishes the reader (checking `datahash`).
    pub fn extract<R: BufRead>(
        &self,
        reader: &mut PackageReader<R>,
        dest: &Path,
    ) -> Result<ExtractSummary, ExtractError> {
        let mut deferred_verify = false;
        if let Some(keys) = &self.trusted_keys {
            match reader.verify(keys) {
                Ok(_) => {}
                Err(VerifyPackageError::NeedsData) => deferred_verify = true,
                Err(e) => return Err(ExtractError::Untrusted(e)),
            }
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
        reader.set_limits(self.limits);
        let mut run = Run {
            opts: self,
            dest,
            walker: Walker { root, cache: None },
            pkgname: reader.info().name.clone(),
            seen: HashMap::new(),
            pending: Vec::new(),
            dirs: Vec::new(),
            buf: vec![0; COPY_BUFFER],
            counts: Counts::default(),
        };
        let result = run.extract_all(reader, deferred_verify);
        match result {
            Ok(package) => {
                let c = run.counts;
                Ok(ExtractSummary {
                    package,
                    files: c.files,
                    directories: c.directories,
                    symlinks: c.symlinks,
                    hardlinks: c.hardlinks,
                    devices: c.devices,
                    bytes: c.bytes,
                    xattrs_failed: c.xattrs_failed,
                })
            }
            Err(e) => {
                run.cleanup();
                Err(e)
            }
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    files: u64,
    directories: u64,
    symlinks: u64,
    hardlinks: u64,
    devices: u64,
    bytes: u64,
    xattrs_failed: u64,
}

/// What an extracted path is, for duplicates, hard links and parent checks.
enum Seen {
    Dir,
    /// A regular file at a temporary name.
    File {
        tmp: OsString,
    },
    /// A symlink at a temporary name.
    Symlink,
    /// Anything else at a temporary name.
    Other,
}

/// A temporary name to be renamed into place.
struct Pending {
    parent: PathBuf,
    tmp: OsString,
    name: OsString,
    done: bool,
}

/// A directory whose attributes are applied at the end.
struct DirAttrs {
    path: PathBuf,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    xattrs: Vec<crate::reader::Xattr>,
}

/// Opens directories below the destination one component at a time, never following links.
struct Walker {
    root: OwnedFd,
    cache: Option<(PathBuf, OwnedFd)>,
}

impl Walker {
    /// Opens the directory `rel` (relative to the destination), creating missing components
    /// (mode 0755) when `create`. Cached, since entries come grouped by directory.
    fn dir(
        &mut self,
        rel: &Path,
        seen: &HashMap<PathBuf, Seen>,
        dest: &Path,
        create: bool,
    ) -> Result<&OwnedFd, ExtractError> {
        let hit = matches!(&self.cache, Some((p, _)) if p == rel);
        if !hit {
            let (mut fd, mut done) = match self.cache.take() {
                Some((p, fd)) if rel.starts_with(&p) => (fd, p),
                _ => (
                    open_dir_at(&self.root, OsStr::new("."), Path::new(""), dest)?,
                    PathBuf::new(),
                ),
            };
            let rest: Vec<OsString> = rel
                .strip_prefix(&done)
                .unwrap_or(rel)
                .components()
                .map(|c| c.as_os_str().to_owned())
                .collect();
            for name in rest {
                done.push(&name);
                match seen.get(&done) {
                    Some(Seen::Dir) | None => {}
                    Some(Seen::Symlink) => {
                        return Err(ExtractError::SymlinkInPath { path: done });
                    }
                    Some(Seen::File { .. }) | Some(Seen::Other) => {
                        return Err(ExtractError::NotADirectory { path: done });
                    }
                }
                fd = match open_dir_at(&fd, &name, &done, dest) {
                    Err(ExtractError::Io { source, .. })
                        if create && source.kind() == io::ErrorKind::NotFound =>
                    {
                        match rustix::fs::mkdirat(&fd, name.as_os_str(), Mode::from_raw_mode(0o755))
                        {
                            Ok(()) | Err(Errno::EXIST) => {}
                            Err(e) => return Err(io_err(dest, &done, e)),
                        }
                        open_dir_at(&fd, &name, &done, dest)?
                    }
                    other => other?,
                };
            }
            self.cache = Some((rel.to_owned(), fd));
        }
        match &self.cache {
            Some((_, fd)) => Ok(fd),
            None => Err(ExtractError::NotADirectory {
                path: rel.to_owned(),
            }),
        }
    }

    /// Like [`dir`](Self::dir) but returning an independent descriptor (for hard links, which
    /// need two directories at once).
    fn dir_owned(
        &mut self,
        rel: &Path,
        seen: &HashMap<PathBuf, Seen>,
        dest: &Path,
    ) -> Result<OwnedFd, ExtractError> {
        let fd = self.dir(rel, seen, dest, false)?;
        open_dir_at(fd, OsStr::new("."), rel, dest)
    }
}

/// `openat(dir, name, O_DIRECTORY | O_NOFOLLOW)` with the errors named.
fn open_dir_at(
    dir: &OwnedFd,
    name: &OsStr,
    rel: &Path,
    dest: &Path,
) -> Result<OwnedFd, ExtractError> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::LOOP => ExtractError::SymlinkInPath {
            path: rel.to_owned(),
        },
        // Linux reports a symlink opened with O_DIRECTORY | O_NOFOLLOW as ENOTDIR.
        Errno::NOTDIR => match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                ExtractError::SymlinkInPath {
                    path: rel.to_owned(),
                }
            }
            _ => ExtractError::NotADirectory {
                path: rel.to_owned(),
            },
        },
        e => io_err(dest, rel, e),
    })
}

fn io_err(dest: &Path, rel: &Path, e: impl Into<io::Error>) -> ExtractError {
    ExtractError::Io {
        path: dest.join(rel),
        source: e.into(),
    }
}

fn timestamps(mtime: u64) -> Timestamps {
    let t = Timespec {
        tv_sec: i64::try_from(mtime).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// A uid/gid that may be passed to `chown` (not `-1`, which means "unchanged").
fn owner(uid: u64, gid: u64) -> (Option<rustix::fs::Uid>, Option<rustix::fs::Gid>) {
    let uid = u32::try_from(uid)
        .ok()
        .filter(|&u| u != u32::MAX)
        .map(rustix::fs::Uid::from_raw);
    let gid = u32::try_from(gid)
        .ok()
        .filter(|&g| g != u32::MAX)
        .map(rustix::fs::Gid::from_raw);
    (uid, gid)
}

fn mode(bits: u32) -> Mode {
    Mode::from_raw_mode(bits & 0o7777)
}

/// One extraction in progress.
struct Run<'a> {
    opts: &'a Extractor,
    dest: &'a Path,
    walker: Walker,
    pkgname: String,
    seen: HashMap<PathBuf, Seen>,
    pending: Vec<Pending>,
    dirs: Vec<DirAttrs>,
    buf: Vec<u8>,
    counts: Counts,
}

impl Run<'_> {
    fn extract_all<R: BufRead>(
        &mut self,
        reader: &mut PackageReader<R>,
        deferred_verify: bool,
    ) -> Result<PackageSummary, ExtractError> {
        while let Some(mut entry) = reader.next_entry()? {
            self.extract_entry(&mut entry)?;
        }
        let summary = reader.finish_in_place()?;
        if deferred_verify {
            if let Some(keys) = &self.opts.trusted_keys {
                summary.verify(keys).map_err(ExtractError::Untrusted)?;
            }
        }
        // Everything checked out: rename into place, then directory attributes.
        for i in 0..self.pending.len() {
            let p = &self.pending[i];
            let (parent, tmp, name) = (p.parent.clone(), p.tmp.clone(), p.name.clone());
            let fd = self
                .walker
                .dir(&parent, &HashMap::new(), self.dest, false)?;
            rustix::fs::renameat(fd, tmp.as_os_str(), fd, name.as_os_str())
                .map_err(|e| io_err(self.dest, &parent.join(&name), e))?;
            self.pending[i].done = true;
        }
        self.apply_dirs()?;
        Ok(summary)
    }

    /// Removes temporary files not yet renamed into place (best effort).
    fn cleanup(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for p in pending.iter().filter(|p| !p.done) {
            if let Ok(fd) = self
                .walker
                .dir(&p.parent, &HashMap::new(), self.dest, false)
            {
                let _ = rustix::fs::unlinkat(fd, p.tmp.as_os_str(), AtFlags::empty());
            }
        }
    }

    fn temp_name(&self, path: &Path) -> OsString {
        let mut h = Sha256::new();
        h.update(self.pkgname.as_bytes());
        h.update([0]);
        h.update(path.as_os_str().as_bytes());
        let digest = h.finalize();
        let mut name = String::from(".apk.");
        for b in &digest[..24] {
            name.push_str(&format!("{b:02x}"));
        }
        OsString::from(name)
    }

    fn extract_entry<R: BufRead>(
        &mut self,
        entry: &mut DataEntry<'_, R>,
    ) -> Result<(), ExtractError> {
        let path = entry.path().to_owned();
        let kind = entry.kind().clone();
        let is_dir = kind == EntryKind::Directory;
        match self.seen.get(&path) {
            Some(Seen::Dir) if is_dir => {}
            Some(_) => return Err(ExtractError::DuplicateEntry { path }),
            None => {}
        }
        let parent = path.parent().unwrap_or(Path::new("")).to_owned();
        let Some(name) = path.file_name().map(OsStr::to_owned) else {
            return Err(ExtractError::Read(ReadPackageError::MaliciousPath {
                path: path.display().to_string(),
                reason: "no file name",
            }));
        };
        if is_dir {
            return self.make_dir(entry, &path, &parent, &name);
        }
        if let EntryKind::CharDevice { .. } | EntryKind::BlockDevice { .. } | EntryKind::Fifo = kind
        {
            if !self.opts.allow_devices {
                return Err(ExtractError::DeviceNotAllowed { path });
            }
        }
        let hardlink_source = match &kind {
            EntryKind::HardLink { target } => match self.seen.get(target) {
                Some(Seen::File { tmp }) => Some((target.clone(), tmp.clone())),
                _ => {
                    return Err(ExtractError::HardLinkTarget {
                        path,
                        target: target.clone(),
                    });
                }
            },
            _ => None,
        };
        let source_dir = match &hardlink_source {
            Some((target, _)) => Some(self.walker.dir_owned(
                target.parent().unwrap_or(Path::new("")),
                &self.seen,
                self.dest,
            )?),
            None => None,
        };
        let tmp = self.temp_name(&path);
        let dest = self.dest;
        let opts = self.opts;
        let dirfd = self.walker.dir(&parent, &self.seen, dest, true)?;
        // The final name: a directory there is never replaced; anything else only with
        // `overwrite`.
        match rustix::fs::statat(dirfd, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory || !opts.overwrite {
                    return Err(ExtractError::AlreadyExists { path });
                }
            }
            Err(Errno::NOENT) => {}
            Err(e) => return Err(io_err(dest, &path, e)),
        }
        // A leftover temporary file of an earlier, interrupted run is ours to remove.
        match rustix::fs::unlinkat(dirfd, tmp.as_os_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(io_err(dest, &parent.join(&tmp), e)),
        }
        self.pending.push(Pending {
            parent: parent.clone(),
            tmp: tmp.clone(),
            name,
            done: false,
        });
        let tmp_rel = parent.join(&tmp);
        let (uid, gid) = owner(entry.uid(), entry.gid());
        let times = timestamps(entry.mtime());
        let mut seen = Seen::Other;
        match kind {
            EntryKind::File => {
                let fd = rustix::fs::openat(
                    dirfd,
                    tmp.as_os_str(),
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(|e| io_err(dest, &tmp_rel, e))?;
                let mut file = File::from(fd);
                loop {
                    let n = entry.read_content(&mut self.buf)?;
                    if n == 0 {
                        break;
                    }
                    file.write_all(&self.buf[..n])
                        .map_err(|e| io_err(dest, &path, e))?;
                    self.counts.bytes += n as u64;
                }
                if opts.preserve_owner {
                    rustix::fs::fchown(&file, uid, gid).map_err(|e| io_err(dest, &path, e))?;
                }
                rustix::fs::fchmod(&file, mode(entry.mode()))
                    .map_err(|e| io_err(dest, &path, e))?;
                for (xname, value) in entry.xattrs() {
                    if rustix::fs::fsetxattr(
                        &file,
                        OsStr::from_bytes(xname),
                        value,
                        XattrFlags::empty(),
                    )
                    .is_err()
                    {
                        self.counts.xattrs_failed += 1;
                    }
                }
                rustix::fs::futimens(&file, &times).map_err(|e| io_err(dest, &path, e))?;
                self.counts.files += 1;
                seen = Seen::File { tmp };
            }
            EntryKind::Symlink { target } => {
                rustix::fs::symlinkat(target.as_os_str(), dirfd, tmp.as_os_str())
                    .map_err(|e| io_err(dest, &path, e))?;
                if opts.preserve_owner {
                    rustix::fs::chownat(
                        dirfd,
                        tmp.as_os_str(),
                        uid,
                        gid,
                        AtFlags::SYMLINK_NOFOLLOW,
                    )
                    .map_err(|e| io_err(dest, &path, e))?;
                }
                rustix::fs::utimensat(dirfd, tmp.as_os_str(), &times, AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| io_err(dest, &path, e))?;
                self.counts.symlinks += 1;
                seen = Seen::Symlink;
            }
            EntryKind::HardLink { .. } => {
                if let (Some((_, source_tmp)), Some(source_dir)) = (&hardlink_source, &source_dir) {
                    rustix::fs::linkat(
                        source_dir,
                        source_tmp.as_os_str(),
                        dirfd,
                        tmp.as_os_str(),
                        AtFlags::empty(),
                    )
                    .map_err(|e| io_err(dest, &path, e))?;
                }
                self.counts.hardlinks += 1;
                seen = Seen::File { tmp };
            }
            EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => {
                let ft = if matches!(kind, EntryKind::CharDevice { .. }) {
                    FileType::CharacterDevice
                } else {
                    FileType::BlockDevice
                };
                rustix::fs::mknodat(
                    dirfd,
                    tmp.as_os_str(),
                    ft,
                    mode(entry.mode()),
                    rustix::fs::makedev(major, minor),
                )
                .map_err(|e| io_err(dest, &path, e))?;
                self.finish_special(&tmp, &path, uid, gid, entry.mode(), &times)?;
            }
            EntryKind::Fifo => {
                rustix::fs::mknodat(
                    dirfd,
                    tmp.as_os_str(),
                    FileType::Fifo,
                    mode(entry.mode()),
                    0,
                )
                .map_err(|e| io_err(dest, &path, e))?;
                self.finish_special(&tmp, &path, uid, gid, entry.mode(), &times)?;
            }
            EntryKind::Directory => {}
        }
        self.seen.insert(path, seen);
        Ok(())
    }

    /// Owner, mode and times of a device node or fifo at its temporary name.
    fn finish_special(
        &mut self,
        tmp: &OsStr,
        path: &Path,
        uid: Option<rustix::fs::Uid>,
        gid: Option<rustix::fs::Gid>,
        bits: u32,
        times: &Timestamps,
    ) -> Result<(), ExtractError> {
        let parent = path.parent().unwrap_or(Path::new(""));
        let dest = self.dest;
        let preserve = self.opts.preserve_owner;
        let dirfd = self.walker.dir(parent, &self.seen, dest, false)?;
        if preserve {
            rustix::fs::chownat(dirfd, tmp, uid, gid, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| io_err(dest, path, e))?;
        }
        rustix::fs::chmodat(dirfd, tmp, mode(bits), AtFlags::empty())
            .map_err(|e| io_err(dest, path, e))?;
        rustix::fs::utimensat(dirfd, tmp, times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| io_err(dest, path, e))?;
        self.counts.devices += 1;
        Ok(())
    }

    fn make_dir<R: BufRead>(
        &mut self,
        entry: &DataEntry<'_, R>,
        path: &Path,
        parent: &Path,
        name: &OsStr,
    ) -> Result<(), ExtractError> {
        let dest = self.dest;
        let dirfd = self.walker.dir(parent, &self.seen, dest, true)?;
        match rustix::fs::mkdirat(dirfd, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => {}
            Err(Errno::EXIST) => match rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                    FileType::Directory => {}
                    FileType::Symlink => {
                        return Err(ExtractError::SymlinkInPath {
                            path: path.to_owned(),
                        });
                    }
                    _ => {
                        return Err(ExtractError::NotADirectory {
                            path: path.to_owned(),
                        });
                    }
                },
                Err(e) => return Err(io_err(dest, path, e)),
            },
            Err(e) => return Err(io_err(dest, path, e)),
        }
        if !self.seen.contains_key(path) {
            self.counts.directories += 1;
        }
        self.seen.insert(path.to_owned(), Seen::Dir);
        self.dirs.push(DirAttrs {
            path: path.to_owned(),
            mode: entry.mode(),
            uid: entry.uid(),
            gid: entry.gid(),
            mtime: entry.mtime(),
            xattrs: entry.xattrs().to_vec(),
        });
        Ok(())
    }

    /// Directory owners, modes, xattrs and mtimes, deepest first.
    fn apply_dirs(&mut self) -> Result<(), ExtractError> {
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.path.components().count()));
        let dest = self.dest;
        let empty = HashMap::new();
        for d in &dirs {
            let parent = d.path.parent().unwrap_or(Path::new(""));
            let name = d.path.file_name().unwrap_or_default();
            let parent_fd = self.walker.dir(parent, &empty, dest, false)?;
            let fd = open_dir_at(parent_fd, name, &d.path, dest)?;
            if self.opts.preserve_owner {
                let (uid, gid) = owner(d.uid, d.gid);
                rustix::fs::fchown(&fd, uid, gid).map_err(|e| io_err(dest, &d.path, e))?;
            }
            for (xname, value) in &d.xattrs {
                if rustix::fs::fsetxattr(&fd, OsStr::from_bytes(xname), value, XattrFlags::empty())
                    .is_err()
                {
                    self.counts.xattrs_failed += 1;
                }
            }
            rustix::fs::fchmod(&fd, mode(d.mode)).map_err(|e| io_err(dest, &d.path, e))?;
            rustix::fs::futimens(&fd, &timestamps(d.mtime))
                .map_err(|e| io_err(dest, &d.path, e))?;
        }
        Ok(())
    }
}
