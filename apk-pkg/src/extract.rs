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
//!
//! # Staging
//!
//! [`Extractor::stage`] does all of the above but stops before anything is renamed into place:
//! the [`StagedPackage`] it returns lists every entry ([`StagedEntry`]: kind, mode, owner,
//! mtime, size, the checksum the installed database records, whether something was already
//! at the final name) and lets the caller decide, per entry, whether the new copy is
//! installed, installed under another name (`.apk-new` beside a user-modified configuration
//! file) or dropped ([`Placement`]). [`Extractor::extract`] is staging followed by installing
//! everything.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use apk_index::{Checksum, ChecksumKind, KeySet};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps, XattrFlags};
use rustix::io::Errno;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::reader::{
    DataEntry, EntryKind, PackageReader, PackageSummary, ReadLimits, ReadPackageError,
    VerifyPackageError, Xattr,
};

mod adb;
pub use adb::{AdbExtractSummary, AdbPackage, AdbPackageReader, StagedAdbPackage};

/// The copy buffer size.
const COPY_BUFFER: usize = 128 << 10;

/// Returned by [`Extractor::extract`], [`Extractor::stage`] and [`StagedPackage::commit`].
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
    /// A v3 (ADB) package is malformed, not trusted, or its contents do not match its hashes
    /// ([`Extractor::extract_adb`]).
    #[error("invalid or untrusted v3 package")]
    Adb(#[from] apk_index::adb::AdbError),
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
    /// [`Placement::InstallAs`] gave something that is not a plain file name: empty, `.`,
    /// `..`, or holding a `/` or a NUL byte.
    #[error("invalid name {name:?} to install '{}' as", path.display())]
    InvalidPlacement {
        /// The entry, relative to the destination.
        path: PathBuf,
        /// The name given.
        name: OsString,
    },
}

/// What an extraction did; returned by [`Extractor::extract`] and [`StagedPackage::commit`].
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
    /// Where v3 owner and group names are looked up (`etc/passwd`, `etc/group` below it).
    names_root: PathBuf,
    /// Whether an abandoned staging removes the directories it created.
    remove_created_dirs: bool,
    /// Where an abandoned staging that keeps them lists the directories it created.
    created_dirs_sink: Option<CreatedDirs>,
}

/// A list shared with [`Extractor::report_created_dirs`]: the directories (relative to the
/// destination) that abandoned stagings created and kept.
pub type CreatedDirs = std::sync::Arc<std::sync::Mutex<Vec<PathBuf>>>;

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
            names_root: PathBuf::from("/"),
            remove_created_dirs: true,
            created_dirs_sink: None,
        }
    }

    /// Where the owner and group names of v3 packages ([`extract_adb`](Self::extract_adb),
    /// [`stage_adb`](Self::stage_adb)) are looked up: `<root>/etc/passwd` and
    /// `<root>/etc/group` (default `/`, the host's; a package manager installing into
    /// `--root` passes that root). `root` is always 0 and unknown names become 65534.
    ///
    /// ```
    /// let mut extractor = apk_pkg::Extractor::new();
    /// extractor.owner_names_from("/srv/chroot");
    /// ```
    pub fn owner_names_from(&mut self, root: impl Into<PathBuf>) -> &mut Self {
        self.names_root = root.into();
        self
    }

    /// Whether a failed or aborted extraction removes the directories it created (when they
    /// are empty), so that it leaves nothing behind (default: yes). Turn it off when other
    /// extractions write into the same tree at the same time (a package manager staging the
    /// next package while it places this one): one could remove a directory the other has
    /// just found there.
    ///
    /// ```
    /// let mut extractor = apk_pkg::Extractor::new();
    /// extractor.remove_created_dirs(false);
    /// ```
    pub fn remove_created_dirs(&mut self, yes: bool) -> &mut Self {
        self.remove_created_dirs = yes;
        self
    }

    /// With [`remove_created_dirs(false)`](Self::remove_created_dirs): an abandoned staging
    /// adds the directories it created (relative to its destination, in creation order) to
    /// `sink`, so that the caller can remove them once nothing else writes to the tree.
    ///
    /// ```
    /// let sink = apk_pkg::CreatedDirs::default();
    /// let mut extractor = apk_pkg::Extractor::new();
    /// extractor.remove_created_dirs(false).report_created_dirs(Some(sink.clone()));
    /// ```
    pub fn report_created_dirs(&mut self, sink: Option<CreatedDirs>) -> &mut Self {
        self.created_dirs_sink = sink;
        self
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

    /// Whether [`extract`](Self::extract) may replace existing files (not directories) at an
    /// entry's path (default: no, [`ExtractError::AlreadyExists`]). [`stage`](Self::stage)
    /// never refuses them: it reports them in [`StagedEntry::existed`] and the caller decides.
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
    ///
    /// This is [`stage`](Self::stage) followed by [`StagedPackage::commit`] installing every
    /// entry at its own name, except that without [`overwrite`](Self::overwrite) an existing
    /// file at an entry's name is an error ([`ExtractError::AlreadyExists`]) as soon as the
    /// entry is reached.
    pub fn extract<R: BufRead>(
        &self,
        reader: &mut PackageReader<R>,
        dest: &Path,
    ) -> Result<ExtractSummary, ExtractError> {
        self.stage_inner(reader, dest, !self.overwrite)?
            .commit(|_| Placement::Install)
    }

    /// Like [`extract`](Self::extract), but stops before anything is renamed into place.
    ///
    /// The whole data stream is read and checked (file checksums, `datahash`, the signature
    /// with [`trusted_keys`](Self::trusted_keys)), directories are created (their attributes
    /// wait for [`StagedPackage::commit`]) and everything else sits under its temporary name
    /// (`.apk.<48 hex>`) in its final directory. Unlike `extract`, an existing file or symlink
    /// at an entry's final name is not an error whatever [`overwrite`](Self::overwrite) says
    /// (it is reported in [`StagedEntry::existed`]); an existing directory there still is
    /// ([`ExtractError::AlreadyExists`]). On error every temporary file is removed.
    ///
    /// ```no_run
    /// use apk_pkg::{Extractor, PackageReader, Placement};
    ///
    /// let mut pkg = PackageReader::open("hello-2.12-r0.apk")?;
    /// let staged = Extractor::new().stage(&mut pkg, std::path::Path::new("/tmp/out"))?;
    /// for entry in staged.entries() {
    ///     println!("{} {:?}", entry.path.display(), entry.checksum);
    /// }
    /// let summary = staged.commit(|entry| {
    ///     if entry.existed && entry.path.starts_with("etc") {
    ///         let mut name = entry.path.file_name().unwrap_or_default().to_owned();
    ///         name.push(".apk-new");
    ///         Placement::InstallAs(name)
    ///     } else {
    ///         Placement::Install
    ///     }
    /// })?;
    /// println!("{} files", summary.files);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stage<R: BufRead>(
        &self,
        reader: &mut PackageReader<R>,
        dest: &Path,
    ) -> Result<StagedPackage, ExtractError> {
        self.stage_inner(reader, dest, false)
    }

    /// Stages the package; with `refuse_existing`, an existing file at an entry's final name
    /// is an error.
    fn stage_inner<R: BufRead>(
        &self,
        reader: &mut PackageReader<R>,
        dest: &Path,
        refuse_existing: bool,
    ) -> Result<StagedPackage, ExtractError> {
        let mut deferred_verify = false;
        if let Some(keys) = &self.trusted_keys {
            match reader.verify(keys) {
                Ok(_) => {}
                Err(VerifyPackageError::NeedsData) => deferred_verify = true,
                Err(e) => return Err(ExtractError::Untrusted(e)),
            }
        }
        reader.set_limits(self.limits);
        // From here on, dropping `run` (on error or panic) removes the temporary files.
        let mut run = Run::new(
            self,
            dest,
            refuse_existing,
            reader.info().name.clone(),
            RecordedHash::Sha1,
        )?;
        while let Some(mut entry) = reader.next_entry()? {
            run.stage_entry(&mut entry)?;
        }
        let summary = reader.finish_in_place()?;
        if deferred_verify {
            if let Some(keys) = &self.trusted_keys {
                summary.verify(keys).map_err(ExtractError::Untrusted)?;
            }
        }
        Ok(StagedPackage {
            stage: run.stage,
            summary,
        })
    }
}

/// What [`StagedPackage::commit`] does with one staged entry (directories excepted).
///
/// ```
/// use apk_pkg::Placement;
///
/// let keep_users_copy = Placement::InstallAs("hello.conf.apk-new".into());
/// assert_ne!(keep_users_copy, Placement::Install);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// Rename the temporary file to the entry's name, atomically replacing a file or symlink
    /// already there.
    Install,
    /// Rename the temporary file to this other name in the same directory (e.g.
    /// `hello.conf.apk-new`), atomically replacing a file or symlink of that name. The name
    /// must be a plain file name: not empty, `.` or `..`, without `/` or NUL
    /// ([`ExtractError::InvalidPlacement`]).
    InstallAs(OsString),
    /// Remove the temporary file; the entry's name is left untouched.
    Discard,
}

/// What a [`StagedEntry`] is.
///
/// ```
/// use apk_pkg::StagedKind;
///
/// let kind = StagedKind::Symlink { target: "hello".into() };
/// assert!(matches!(kind, StagedKind::Symlink { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StagedKind {
    /// A regular file.
    File,
    /// A directory (created at staging time; its attributes are applied at commit).
    Directory,
    /// A symbolic link.
    Symlink {
        /// The link's target, as stored in the package.
        target: PathBuf,
    },
    /// A hard link to an earlier regular file of the package.
    HardLink {
        /// The earlier entry's path (relative, as in the archive).
        target: PathBuf,
    },
    /// A character device, block device or fifo.
    Device,
}

/// One data entry of a [`StagedPackage`], with what the installed database records about it.
///
/// ```no_run
/// use apk_pkg::{Extractor, PackageReader, StagedKind};
///
/// let mut pkg = PackageReader::open("hello-2.12-r0.apk")?;
/// let staged = Extractor::new().stage(&mut pkg, std::path::Path::new("/tmp/out"))?;
/// for entry in staged.entries() {
///     if entry.kind == StagedKind::File {
///         let z = entry.checksum.map(|c| c.to_string()).unwrap_or_default();
///         println!("R:{}\nZ:{z}", entry.path.display());
///     }
/// }
/// staged.abort();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StagedEntry {
    /// The path, relative, as in the archive.
    pub path: PathBuf,
    /// What the entry is.
    pub kind: StagedKind,
    /// The permission bits from the archive (`0o7777` at most).
    pub mode: u32,
    /// The owner's user id from the archive.
    pub uid: u64,
    /// The owner's group id from the archive.
    pub gid: u64,
    /// The modification time from the archive, in seconds since the epoch.
    pub mtime: u64,
    /// The size of the contents: for regular files and hard links the file's size, 0 for
    /// everything else.
    pub size: u64,
    /// What apk-tools records as the file's `Z:` in `lib/apk/db/installed`: for regular files
    /// and hard links the SHA-1 of the contents (the package's verified
    /// `APK-TOOLS.checksum.SHA1`, or computed while copying when the package has none), for
    /// symlinks the SHA-1 of the target; `None` for directories and devices. For a v3 package
    /// ([`Extractor::stage_adb`]) the digest is SHA-256 cut to 20 bytes instead (apk-tools 3's
    /// `sha256-160`, flagged `f:S` in the installed database): the first 20 bytes of the
    /// file's verified SHA-256, or of the SHA-256 of a symlink's target.
    pub checksum: Option<Checksum>,
    /// The extended attributes from `SCHILY.xattr.*` records (name, value).
    pub xattrs: Vec<Xattr>,
    /// Whether something other than a directory was already at the entry's final name when it
    /// was staged (always `false` for directories).
    pub existed: bool,
}

/// A package whose data stream has been read, checked and written under temporary names;
/// returned by [`Extractor::stage`].
///
/// It owns the destination's directory descriptor, the temporary files and the directory
/// attributes still to apply. [`commit`](Self::commit) puts each entry where the caller
/// says; [`abort`](Self::abort), or dropping it uncommitted, removes every temporary file and
/// the directories staging created (see [`Extractor::remove_created_dirs`]), and leaves the
/// final names untouched.
///
/// ```
/// use apk_index::PackageInfo;
/// use apk_pkg::{Extractor, PackageBuilder, PackageReader, Placement};
///
/// let mut builder = PackageBuilder::new(PackageInfo::new("hello", "1.0-r0"));
/// builder
///     .add_file("etc/hello.conf", 0o644, "greeting=hello\n")?
///     .add_file("usr/bin/hello", 0o755, "#!/bin/sh\n")?;
/// let mut apk = Vec::new();
/// builder.write(&mut apk)?;
///
/// let dest = tempfile::tempdir()?;
/// std::fs::create_dir(dest.path().join("etc"))?;
/// std::fs::write(dest.path().join("etc/hello.conf"), "greeting=hi\n")?;
///
/// let staged = Extractor::new().stage(&mut PackageReader::new(&apk[..])?, dest.path())?;
/// let summary = staged.commit(|entry| match entry.existed {
///     true => Placement::InstallAs("hello.conf.apk-new".into()),
///     false => Placement::Install,
/// })?;
/// assert_eq!(summary.files, 2);
/// assert_eq!(std::fs::read(dest.path().join("etc/hello.conf"))?, b"greeting=hi\n");
/// assert_eq!(std::fs::read(dest.path().join("etc/hello.conf.apk-new"))?, b"greeting=hello\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StagedPackage {
    stage: Stage,
    summary: PackageSummary,
}

impl fmt::Debug for StagedPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StagedPackage")
            .field("dest", &self.stage.dest)
            .field("entries", &self.stage.entries)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl StagedPackage {
    /// Every data entry, in archive order, directories included.
    ///
    /// ```no_run
    /// # use apk_pkg::{Extractor, PackageReader};
    /// # let mut pkg = PackageReader::open("hello-2.12-r0.apk")?;
    /// let staged = Extractor::new().stage(&mut pkg, std::path::Path::new("/tmp/out"))?;
    /// let replaced = staged.entries().iter().filter(|e| e.existed).count();
    /// println!("{replaced} existing files would be replaced");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entries(&self) -> &[StagedEntry] {
        &self.stage.entries
    }

    /// What reading the package found: identity, sizes, counts. The reader has finished:
    /// `datahash` and (with [`Extractor::trusted_keys`]) the signature have been checked.
    ///
    /// ```no_run
    /// # use apk_pkg::{Extractor, PackageReader};
    /// # let mut pkg = PackageReader::open("hello-2.12-r0.apk")?;
    /// let staged = Extractor::new().stage(&mut pkg, std::path::Path::new("/tmp/out"))?;
    /// println!("C:{}", staged.summary().identity());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn summary(&self) -> &PackageSummary {
        &self.summary
    }

    /// The destination directory given to [`Extractor::stage`].
    ///
    /// ```no_run
    /// # use apk_pkg::{Extractor, PackageReader};
    /// # let mut pkg = PackageReader::open("hello-2.12-r0.apk")?;
    /// let staged = Extractor::new().stage(&mut pkg, std::path::Path::new("/tmp/out"))?;
    /// assert_eq!(staged.dest(), std::path::Path::new("/tmp/out"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dest(&self) -> &Path {
        &self.stage.dest
    }

    /// Puts every entry but directories where `decide` says, then applies the directories'
    /// owners, extended attributes, modes and mtimes (deepest first), and returns what
    /// [`Extractor::extract`] returns.
    ///
    /// `decide` is called once per non-directory entry, in archive order, before anything is
    /// renamed, so it sees the destination as it was before the commit. A hard link's
    /// temporary name is a link to its source's temporary inode, so it gets the right
    /// contents whatever happens to the source. The counts of the summary cover the entries
    /// installed (under either name), not the discarded ones.
    ///
    /// On error (an invalid [`Placement::InstallAs`] name, which is found before anything is
    /// renamed, or a failing rename or unlink) the temporary files not yet placed are removed
    /// before the error is returned.
    ///
    /// ```no_run
    /// use apk_pkg::{Extractor, PackageReader, Placement};
    ///
    /// let mut pkg = PackageReader::open("hello-2.12-r0.apk")?;
    /// let staged = Extractor::new().stage(&mut pkg, std::path::Path::new("/tmp/out"))?;
    /// // Keep whatever was there; install only what is new.
    /// staged.commit(|e| if e.existed { Placement::Discard } else { Placement::Install })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit(
        self,
        mut decide: impl FnMut(&StagedEntry) -> Placement,
    ) -> Result<ExtractSummary, ExtractError> {
        let StagedPackage { mut stage, summary } = self;
        // On error `stage` is dropped here, which removes what is left.
        let c = stage.commit(&mut decide)?;
        Ok(ExtractSummary {
            package: summary,
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
    /// `StagedPackage` does the same.
    ///
    /// ```no_run
    /// # use apk_pkg::{Extractor, PackageReader};
    /// # let mut pkg = PackageReader::open("hello-2.12-r0.apk")?;
    /// let staged = Extractor::new().stage(&mut pkg, std::path::Path::new("/tmp/out"))?;
    /// if staged.entries().iter().any(|e| e.existed) {
    ///     staged.abort();
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abort(self) {
        let mut this = self;
        this.stage.cleanup();
    }
}

/// Whether `name` is a plain file name, to rename something to within its directory.
fn is_plain_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && b != b"." && b != b".." && !b.contains(&b'/') && !b.contains(&0)
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
    /// A regular file (or a hard link to one) at a temporary name.
    File {
        tmp: OsString,
        checksum: Option<Checksum>,
        size: u64,
    },
    /// A symlink at a temporary name.
    Symlink,
    /// Anything else at a temporary name.
    Other,
}

/// A temporary name to be renamed into place (one per non-directory entry, in order).
struct Pending {
    /// The entry's index in [`Stage::entries`].
    index: usize,
    parent: PathBuf,
    tmp: OsString,
    name: OsString,
    /// Renamed into place or removed.
    done: bool,
    /// Bytes of contents written (regular files).
    bytes: u64,
    /// Extended attributes that could not be set.
    xattrs_failed: u64,
}

/// A directory whose attributes are applied at the end.
struct DirAttrs {
    path: PathBuf,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    xattrs: Vec<Xattr>,
}

/// Opens directories below the destination one component at a time, never following links.
struct Walker {
    root: OwnedFd,
    cache: Option<(PathBuf, OwnedFd)>,
    /// Directories this staging created, in order: removed again (when empty) if it is
    /// abandoned before anything is placed.
    created: Vec<PathBuf>,
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
                            Ok(()) => self.created.push(done.clone()),
                            Err(Errno::EXIST) => {}
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

/// Staged entries and their temporary files, from [`Extractor::stage`] until they are placed
/// or removed. Dropping it removes the temporary files not yet placed.
struct Stage {
    dest: PathBuf,
    preserve_owner: bool,
    /// [`Extractor::remove_created_dirs`].
    remove_created_dirs: bool,
    /// [`Extractor::report_created_dirs`].
    created_dirs_sink: Option<CreatedDirs>,
    walker: Walker,
    entries: Vec<StagedEntry>,
    pending: Vec<Pending>,
    dirs: Vec<DirAttrs>,
    /// Distinct directories created or updated.
    directories: u64,
}

impl Drop for Stage {
    fn drop(&mut self) {
        self.cleanup();
    }
}

impl Stage {
    /// Places every pending entry as `decide` says, then applies directory attributes.
    fn commit(
        &mut self,
        decide: &mut dyn FnMut(&StagedEntry) -> Placement,
    ) -> Result<Counts, ExtractError> {
        // Every decision first (and every name checked) before anything is renamed.
        let mut placements = Vec::with_capacity(self.pending.len());
        for p in &self.pending {
            let Some(entry) = self.entries.get(p.index) else {
                placements.push(Placement::Discard);
                continue;
            };
            let placement = decide(entry);
            if let Placement::InstallAs(name) = &placement {
                if !is_plain_name(name) {
                    return Err(ExtractError::InvalidPlacement {
                        path: entry.path.clone(),
                        name: name.clone(),
                    });
                }
            }
            placements.push(placement);
        }
        let mut counts = Counts {
            directories: self.directories,
            ..Counts::default()
        };
        let empty = HashMap::new();
        // From the first rename on, the directories are the package's to keep.
        self.walker.created.clear();
        for (i, placement) in placements.into_iter().enumerate() {
            let Some(p) = self.pending.get(i) else {
                break;
            };
            let fd = self.walker.dir(&p.parent, &empty, &self.dest, false)?;
            let target = match &placement {
                Placement::Install => Some(p.name.as_os_str()),
                Placement::InstallAs(name) => Some(name.as_os_str()),
                Placement::Discard => None,
            };
            match target {
                Some(target) => {
                    rustix::fs::renameat(fd, p.tmp.as_os_str(), fd, target)
                        .map_err(|e| io_err(&self.dest, &p.parent.join(target), e))?;
                    counts.xattrs_failed += p.xattrs_failed;
                    match self.entries.get(p.index).map(|e| &e.kind) {
                        Some(StagedKind::File) => {
                            counts.files += 1;
                            counts.bytes += p.bytes;
                        }
                        Some(StagedKind::Symlink { .. }) => counts.symlinks += 1,
                        Some(StagedKind::HardLink { .. }) => counts.hardlinks += 1,
                        Some(StagedKind::Device) => counts.devices += 1,
                        Some(StagedKind::Directory) | None => {}
                    }
                }
                None => match rustix::fs::unlinkat(fd, p.tmp.as_os_str(), AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => return Err(io_err(&self.dest, &p.parent.join(&p.tmp), e)),
                },
            }
            if let Some(p) = self.pending.get_mut(i) {
                p.done = true;
            }
        }
        self.apply_dirs(&mut counts)?;
        Ok(counts)
    }

    /// Removes temporary files not yet placed, then (with
    /// [`Extractor::remove_created_dirs`]) the directories staging created if nothing was
    /// placed (best effort: a directory that is not empty stays).
    fn cleanup(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let empty = HashMap::new();
        for p in pending.iter().filter(|p| !p.done) {
            if let Ok(fd) = self.walker.dir(&p.parent, &empty, &self.dest, false) {
                let _ = rustix::fs::unlinkat(fd, p.tmp.as_os_str(), AtFlags::empty());
            }
        }
        let created = std::mem::take(&mut self.walker.created);
        if !self.remove_created_dirs {
            if let Some(sink) = &self.created_dirs_sink {
                if let Ok(mut list) = sink.lock() {
                    list.extend(created);
                }
            }
            return;
        }
        for path in created.iter().rev() {
            let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
                continue;
            };
            if let Ok(fd) = self.walker.dir(parent, &empty, &self.dest, false) {
                let _ = rustix::fs::unlinkat(fd, name, AtFlags::REMOVEDIR);
            }
        }
        self.walker.cache = None;
    }

    /// Directory owners, modes, xattrs and mtimes, deepest first.
    fn apply_dirs(&mut self, counts: &mut Counts) -> Result<(), ExtractError> {
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.path.components().count()));
        let dest = self.dest.as_path();
        let empty = HashMap::new();
        for d in &dirs {
            let parent = d.path.parent().unwrap_or(Path::new(""));
            let name = d.path.file_name().unwrap_or_default();
            let parent_fd = self.walker.dir(parent, &empty, dest, false)?;
            let fd = open_dir_at(parent_fd, name, &d.path, dest)?;
            if self.preserve_owner {
                let (uid, gid) = owner(d.uid, d.gid);
                rustix::fs::fchown(&fd, uid, gid).map_err(|e| io_err(dest, &d.path, e))?;
            }
            for (xname, value) in &d.xattrs {
                if rustix::fs::fsetxattr(&fd, OsStr::from_bytes(xname), value, XattrFlags::empty())
                    .is_err()
                {
                    counts.xattrs_failed += 1;
                }
            }
            rustix::fs::fchmod(&fd, mode(d.mode)).map_err(|e| io_err(dest, &d.path, e))?;
            rustix::fs::futimens(&fd, &timestamps(d.mtime))
                .map_err(|e| io_err(dest, &d.path, e))?;
        }
        Ok(())
    }
}

/// One staging in progress.
struct Run<'a> {
    opts: &'a Extractor,
    /// Whether an existing file at an entry's final name is an error.
    refuse_existing: bool,
    stage: Stage,
    pkgname: String,
    seen: HashMap<PathBuf, Seen>,
    buf: Vec<u8>,
    /// The digest behind the checksums recorded for the installed database.
    hashes: RecordedHash,
}

/// The digest of the `Z:` checksums that staging records ([`StagedEntry::checksum`]): SHA-1
/// for v2 packages; SHA-256 cut to 20 bytes (`sha256-160`, what apk-tools 3 records with the
/// `f:S` package flag) for v3 ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordedHash {
    Sha1,
    Sha256Of160,
}

impl RecordedHash {
    fn hasher(self) -> ContentHasher {
        match self {
            RecordedHash::Sha1 => ContentHasher::Sha1(Sha1::new()),
            RecordedHash::Sha256Of160 => ContentHasher::Sha256(Sha256::new()),
        }
    }

    fn of(self, data: &[u8]) -> Checksum {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

/// A running [`RecordedHash`].
enum ContentHasher {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl ContentHasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            ContentHasher::Sha1(h) => h.update(data),
            ContentHasher::Sha256(h) => h.update(data),
        }
    }

    /// The digest as a 20-byte `Q1` checksum.
    fn finish(self) -> Checksum {
        match self {
            ContentHasher::Sha1(h) => Checksum::sha1(h.finalize().into()),
            ContentHasher::Sha256(h) => {
                let digest = h.finalize();
                let mut cut = [0u8; 20];
                cut.copy_from_slice(&digest[..20]);
                Checksum::sha1(cut)
            }
        }
    }
}

/// What staging needs from an entry, whatever the package format it comes from: a v2 tar
/// entry ([`DataEntry`]) or a v3 file entry with its DATA block.
trait EntrySource {
    fn path(&self) -> &Path;
    fn kind(&self) -> &EntryKind;
    fn mode(&self) -> u32;
    fn uid(&self) -> u64;
    fn gid(&self) -> u64;
    fn mtime(&self) -> u64;
    fn xattrs(&self) -> &[Xattr];
    /// A SHA-1-sized checksum the contents were already checked against (then staging does
    /// not hash them again), or anything else.
    fn checksum(&self) -> Option<Checksum>;
    fn read_content(&mut self, buf: &mut [u8]) -> Result<usize, ExtractError>;
}

impl<R: BufRead> EntrySource for DataEntry<'_, R> {
    fn path(&self) -> &Path {
        DataEntry::path(self)
    }
    fn kind(&self) -> &EntryKind {
        DataEntry::kind(self)
    }
    fn mode(&self) -> u32 {
        DataEntry::mode(self)
    }
    fn uid(&self) -> u64 {
        DataEntry::uid(self)
    }
    fn gid(&self) -> u64 {
        DataEntry::gid(self)
    }
    fn mtime(&self) -> u64 {
        DataEntry::mtime(self)
    }
    fn xattrs(&self) -> &[Xattr] {
        DataEntry::xattrs(self)
    }
    fn checksum(&self) -> Option<Checksum> {
        DataEntry::checksum(self)
    }
    fn read_content(&mut self, buf: &mut [u8]) -> Result<usize, ExtractError> {
        Ok(DataEntry::read_content(self, buf)?)
    }
}

impl<'a> Run<'a> {
    /// Starts staging package `pkgname` into `dest` (an existing directory).
    fn new(
        opts: &'a Extractor,
        dest: &Path,
        refuse_existing: bool,
        pkgname: String,
        hashes: RecordedHash,
    ) -> Result<Run<'a>, ExtractError> {
        let root = rustix::fs::open(
            dest,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ExtractError::Destination {
            path: dest.to_owned(),
            source: e.into(),
        })?;
        Ok(Run {
            opts,
            refuse_existing,
            stage: Stage {
                dest: dest.to_owned(),
                preserve_owner: opts.preserve_owner,
                remove_created_dirs: opts.remove_created_dirs,
                created_dirs_sink: opts.created_dirs_sink.clone(),
                walker: Walker {
                    root,
                    cache: None,
                    created: Vec::new(),
                },
                entries: Vec::new(),
                pending: Vec::new(),
                dirs: Vec::new(),
                directories: 0,
            },
            pkgname,
            seen: HashMap::new(),
            buf: vec![0; COPY_BUFFER],
            hashes,
        })
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

    fn stage_entry(&mut self, entry: &mut impl EntrySource) -> Result<(), ExtractError> {
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
                Some(Seen::File {
                    tmp,
                    checksum,
                    size,
                }) => Some((target.clone(), tmp.clone(), *checksum, *size)),
                _ => {
                    return Err(ExtractError::HardLinkTarget {
                        path,
                        target: target.clone(),
                    });
                }
            },
            _ => None,
        };
        let tmp = self.temp_name(&path);
        let Run {
            opts,
            refuse_existing,
            stage,
            seen,
            buf,
            hashes,
            ..
        } = self;
        let Stage {
            dest,
            walker,
            entries,
            pending,
            ..
        } = stage;
        let dest = dest.as_path();
        let source_dir = match &hardlink_source {
            Some((target, ..)) => {
                Some(walker.dir_owned(target.parent().unwrap_or(Path::new("")), seen, dest)?)
            }
            None => None,
        };
        let dirfd = walker.dir(&parent, seen, dest, true)?;
        // The final name: a directory there is never replaced; anything else is reported,
        // or refused when asked to.
        let existed = match rustix::fs::statat(dirfd, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory || *refuse_existing {
                    return Err(ExtractError::AlreadyExists { path });
                }
                true
            }
            Err(Errno::NOENT) => false,
            Err(e) => return Err(io_err(dest, &path, e)),
        };
        // A leftover temporary file of an earlier, interrupted run is ours to remove. Regular
        // files find out when their exclusive create fails (below), saving a system call per
        // file in the usual case; other kinds are cleared here.
        if !matches!(kind, EntryKind::File) {
            match rustix::fs::unlinkat(dirfd, tmp.as_os_str(), AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(io_err(dest, &parent.join(&tmp), e)),
            }
        }
        let index = entries.len();
        pending.push(Pending {
            index,
            parent: parent.clone(),
            tmp: tmp.clone(),
            name,
            done: false,
            bytes: 0,
            xattrs_failed: 0,
        });
        let tmp_rel = parent.join(&tmp);
        let (uid, gid) = owner(entry.uid(), entry.gid());
        let times = timestamps(entry.mtime());
        let mut bytes = 0u64;
        let mut xattrs_failed = 0u64;
        let (staged_kind, checksum, size, seen_as) = match &kind {
            EntryKind::File => {
                let create = || {
                    rustix::fs::openat(
                        dirfd,
                        tmp.as_os_str(),
                        OFlags::WRONLY
                            | OFlags::CREATE
                            | OFlags::EXCL
                            | OFlags::NOFOLLOW
                            | OFlags::CLOEXEC,
                        Mode::from_raw_mode(0o600),
                    )
                };
                let fd = match create() {
                    Err(Errno::EXIST) => {
                        rustix::fs::unlinkat(dirfd, tmp.as_os_str(), AtFlags::empty())
                            .map_err(|e| io_err(dest, &tmp_rel, e))?;
                        create()
                    }
                    other => other,
                }
                .map_err(|e| io_err(dest, &tmp_rel, e))?;
                let mut file = File::from(fd);
                // The reader checks a SHA-1 record against the contents once they are read to
                // the end; without one (or with only MD5), hash them here.
                let recorded = entry.checksum().filter(|c| c.kind() == ChecksumKind::Sha1);
                let mut hasher = recorded.is_none().then(|| hashes.hasher());
                loop {
                    let n = entry.read_content(buf)?;
                    if n == 0 {
                        break;
                    }
                    let chunk = buf.get(..n).unwrap_or_default();
                    file.write_all(chunk).map_err(|e| io_err(dest, &path, e))?;
                    if let Some(h) = &mut hasher {
                        h.update(chunk);
                    }
                    bytes += n as u64;
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
                        xattrs_failed += 1;
                    }
                }
                rustix::fs::futimens(&file, &times).map_err(|e| io_err(dest, &path, e))?;
                let checksum = match hasher {
                    Some(h) => Some(h.finish()),
                    None => recorded,
                };
                let seen_as = Seen::File {
                    tmp: tmp.clone(),
                    checksum,
                    size: bytes,
                };
                (StagedKind::File, checksum, bytes, seen_as)
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
                let checksum = Some(hashes.of(target.as_os_str().as_bytes()));
                let staged_kind = StagedKind::Symlink {
                    target: target.clone(),
                };
                (staged_kind, checksum, 0, Seen::Symlink)
            }
            EntryKind::HardLink { target } => {
                let (checksum, size) = match (&hardlink_source, &source_dir) {
                    (Some((_, source_tmp, checksum, size)), Some(source_dir)) => {
                        rustix::fs::linkat(
                            source_dir,
                            source_tmp.as_os_str(),
                            dirfd,
                            tmp.as_os_str(),
                            AtFlags::empty(),
                        )
                        .map_err(|e| io_err(dest, &path, e))?;
                        (*checksum, *size)
                    }
                    _ => {
                        return Err(ExtractError::HardLinkTarget {
                            path,
                            target: target.clone(),
                        });
                    }
                };
                let seen_as = Seen::File {
                    tmp: tmp.clone(),
                    checksum,
                    size,
                };
                let staged_kind = StagedKind::HardLink {
                    target: target.clone(),
                };
                (staged_kind, checksum, size, seen_as)
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
                    rustix::fs::makedev(*major, *minor),
                )
                .map_err(|e| io_err(dest, &path, e))?;
                let special = Special {
                    uid,
                    gid,
                    bits: entry.mode(),
                    times: &times,
                    preserve_owner: opts.preserve_owner,
                };
                special.finish(dirfd, &tmp, dest, &path)?;
                (StagedKind::Device, None, 0, Seen::Other)
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
                let special = Special {
                    uid,
                    gid,
                    bits: entry.mode(),
                    times: &times,
                    preserve_owner: opts.preserve_owner,
                };
                special.finish(dirfd, &tmp, dest, &path)?;
                (StagedKind::Device, None, 0, Seen::Other)
            }
            // Directories were handled above.
            EntryKind::Directory => return Err(ExtractError::DuplicateEntry { path }),
        };
        if let Some(p) = pending.last_mut() {
            p.bytes = bytes;
            p.xattrs_failed = xattrs_failed;
        }
        entries.push(StagedEntry {
            path: path.clone(),
            kind: staged_kind,
            mode: entry.mode(),
            uid: entry.uid(),
            gid: entry.gid(),
            mtime: entry.mtime(),
            size,
            checksum,
            xattrs: entry.xattrs().to_vec(),
            existed,
        });
        seen.insert(path, seen_as);
        Ok(())
    }

    fn make_dir(
        &mut self,
        entry: &impl EntrySource,
        path: &Path,
        parent: &Path,
        name: &OsStr,
    ) -> Result<(), ExtractError> {
        let stage = &mut self.stage;
        let dest = stage.dest.as_path();
        let dirfd = stage.walker.dir(parent, &self.seen, dest, true)?;
        match rustix::fs::mkdirat(dirfd, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => stage.walker.created.push(path.to_owned()),
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
            stage.directories += 1;
        }
        self.seen.insert(path.to_owned(), Seen::Dir);
        stage.dirs.push(DirAttrs {
            path: path.to_owned(),
            mode: entry.mode(),
            uid: entry.uid(),
            gid: entry.gid(),
            mtime: entry.mtime(),
            xattrs: entry.xattrs().to_vec(),
        });
        stage.entries.push(StagedEntry {
            path: path.to_owned(),
            kind: StagedKind::Directory,
            mode: entry.mode(),
            uid: entry.uid(),
            gid: entry.gid(),
            mtime: entry.mtime(),
            size: 0,
            checksum: None,
            xattrs: entry.xattrs().to_vec(),
            existed: false,
        });
        Ok(())
    }
}

/// Owner, mode and times for a device node or fifo at its temporary name.
struct Special<'a> {
    uid: Option<rustix::fs::Uid>,
    gid: Option<rustix::fs::Gid>,
    bits: u32,
    times: &'a Timestamps,
    preserve_owner: bool,
}

impl Special<'_> {
    fn finish(
        &self,
        dirfd: &OwnedFd,
        tmp: &OsStr,
        dest: &Path,
        path: &Path,
    ) -> Result<(), ExtractError> {
        if self.preserve_owner {
            rustix::fs::chownat(dirfd, tmp, self.uid, self.gid, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| io_err(dest, path, e))?;
        }
        rustix::fs::chmodat(dirfd, tmp, mode(self.bits), AtFlags::empty())
            .map_err(|e| io_err(dest, path, e))?;
        rustix::fs::utimensat(dirfd, tmp, self.times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| io_err(dest, path, e))?;
        Ok(())
    }
}
