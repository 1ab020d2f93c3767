//! Building signed v2 packages: [`PackageBuilder`].
//!
//! A v2 package is three gzip members, in this order: the signature (`.SIGN.RSA.<key>`), the
//! control tar (`.PKGINFO` and the scripts) and the data tar (the file tree). Two of them depend
//! on a later one: `.PKGINFO` carries `datahash`, the SHA-256 of the *compressed data member*,
//! and the signature covers the compressed control member. So [`PackageBuilder::write`]:
//!
//! 1. writes the data tar, gzipped, into an anonymous temporary file, hashing the compressed
//!    bytes as they are produced (file contents are streamed, never held in memory);
//! 2. renders `.PKGINFO` with `size` (installed size) and `datahash`, builds the control tar
//!    without its end-of-archive blocks and gzips it; its SHA-1 is the package identity;
//! 3. signs the compressed control member with every key given, in a tar without end-of-archive
//!    blocks, gzipped;
//! 4. writes signature, control, then copies the data member from the temporary file.
//!
//! # The data tar
//!
//! Entries are written in a fixed order whatever the order they were added in: sorted by path
//! component by component (bytewise), each directory before its contents. Missing parent
//! directories are added (`0755`, root). Each regular file is preceded by a PAX header with
//! `APK-TOOLS.checksum.SHA1=<hex>`; symlinks carry the SHA-1 of their target and hard links the
//! SHA-1 of their file's content, as abuild and apk-tools 3 do. Owners default to root and
//! every mtime to [`BuildOptions::mtime`], so the same inputs give the same bytes.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use apk_index::keys::{SignError, SignatureAlgorithm, SigningKey};
use apk_index::version::{ParseVersionError, Rules, Version};
use apk_index::{Checksum, PackageInfo, write_pkginfo};
use flate2::{Compression, GzBuilder};
use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::script::ScriptKind;
use crate::tar_write::{self, BLOCK, Header, Kind, MAX_OCTAL_7, MAX_OCTAL_11};

mod v3;
pub use v3::BuiltPackageV3;

/// Knobs of [`PackageBuilder`] that have defaults.
///
/// The defaults make builds reproducible: every entry gets mtime 0 and owner root, whatever the
/// files on disk say.
///
/// ```
/// use apk_pkg::BuildOptions;
///
/// let mut options = BuildOptions::default();
/// options.mtime = 1_700_000_000; // e.g. SOURCE_DATE_EPOCH
/// options.compression_level = 9;
/// assert!(!options.allow_special_files);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuildOptions {
    /// The mtime (unix seconds) of every tar entry, unless [`keep_tree_mtimes`] applies or
    /// [`PackageBuilder::set_mtime`] overrides it. Default 0.
    ///
    /// [`keep_tree_mtimes`]: BuildOptions::keep_tree_mtimes
    pub mtime: u64,
    /// Entries read by [`PackageBuilder::add_tree`] keep their mtime from disk (times before
    /// 1970 become 0). Default `false`.
    pub keep_tree_mtimes: bool,
    /// Entries read by [`PackageBuilder::add_tree`] keep their numeric owner and group from
    /// disk instead of root (0:0), for builds run as root. Default `false`.
    pub keep_tree_owners: bool,
    /// [`PackageBuilder::add_tree`] accepts character and block devices and fifos instead of
    /// refusing them. Default `false`.
    pub allow_special_files: bool,
    /// The gzip level of the three members, 0 to 9. Default 6 (abuild uses 9).
    pub compression_level: u32,
    /// Where the compressed data member is kept while the control member is made. Default
    /// `None`: the system's temporary directory. The file is unlinked from the start.
    pub temp_dir: Option<PathBuf>,
    /// The compression wrapper of v3 packages ([`PackageBuilder::write_v3`]). Default
    /// [`Compression::Deflate`](apk_index::adb::Compression::Deflate) (`ADBd`, level 9), what
    /// apk-tools 3 writes by default.
    pub adb_compression: apk_index::adb::Compression,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            mtime: 0,
            keep_tree_mtimes: false,
            keep_tree_owners: false,
            allow_special_files: false,
            compression_level: 6,
            temp_dir: None,
            adb_compression: apk_index::adb::Compression::Deflate,
        }
    }
}

/// What [`PackageBuilder::write`] made.
///
/// ```
/// use apk_index::PackageInfo;
/// use apk_pkg::PackageBuilder;
///
/// let mut builder = PackageBuilder::new(PackageInfo::new("hello", "1.0-r0"));
/// builder.add_file("usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n")?;
/// let mut apk = Vec::new();
/// let built = builder.write(&mut apk)?;
/// assert_eq!(built.installed_size, 21);
/// assert_eq!(built.size, apk.len() as u64);
/// assert_eq!(built.info.identity, Some(built.identity));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuiltPackage {
    /// The package identity, the index `C:` value: SHA-1 of the compressed control member.
    pub identity: Checksum,
    /// `datahash`: hex SHA-256 of the compressed data member.
    pub datahash: String,
    /// The installed size written to `.PKGINFO` as `size` (see [`PackageBuilder::write`]).
    pub installed_size: u64,
    /// The size of the whole package file in bytes (the index `S:` value).
    pub size: u64,
    /// The metadata as written to `.PKGINFO`, plus `identity` and `size`: what an index entry
    /// for this package holds.
    pub info: PackageInfo,
}

/// Builds a signed v2 `.apk` package from metadata, a file tree and scripts.
///
/// Add entries with [`add_tree`](Self::add_tree) (a directory on disk) or one by one
/// ([`add_file`](Self::add_file), [`add_dir`](Self::add_dir), …), scripts with
/// [`script`](Self::script), trigger globs with [`triggers`](Self::triggers), keys with
/// [`sign_with`](Self::sign_with); then [`write`](Self::write), as often as needed. File
/// contents from disk are read only while writing.
///
/// ```
/// use apk_index::keys::{SignatureAlgorithm, SigningKey};
/// use apk_index::PackageInfo;
/// use apk_pkg::{PackageBuilder, ScriptKind};
/// use rand::SeedableRng;
///
/// let key = SigningKey::generate("me@example.org-1.rsa.pub", 1024,
///     &mut rand::rngs::StdRng::seed_from_u64(1))?;
/// let mut info = PackageInfo::new("hello", "1.0-r0");
/// info.arch = Some("x86_64".into());
/// info.depends.push("musl".parse()?);
///
/// let mut builder = PackageBuilder::new(info);
/// builder
///     .add_file("usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n")?
///     .add_symlink("usr/bin/hi", "hello")?;
/// builder
///     .script(ScriptKind::PostInstall, "#!/bin/sh\necho installed\n")
///     .sign_with(&key, SignatureAlgorithm::RsaSha1);
/// let mut apk = Vec::new();
/// let built = builder.write(&mut apk)?;
/// assert!(built.identity.to_string().starts_with("Q1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PackageBuilder {
    info: PackageInfo,
    options: BuildOptions,
    entries: BTreeMap<PathKey, Entry>,
    scripts: BTreeMap<ScriptKind, Vec<u8>>,
    triggers: Vec<String>,
    signers: Vec<(SigningKey, SignatureAlgorithm)>,
    /// The package root directory (v3 packages record it): mode and owner, and whether a
    /// tree was added (an empty tree still gives a root entry).
    root: RootDir,
}

/// The root directory of the package tree, as v3 packages record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RootDir {
    mode: u32,
    uid: u32,
    gid: u32,
    from_tree: bool,
}

impl Default for RootDir {
    fn default() -> Self {
        RootDir {
            mode: 0o755,
            uid: 0,
            gid: 0,
            from_tree: false,
        }
    }
}

/// A package path ordered component by component, so that sorting gives each directory
/// directly followed by its contents (`a`, `a/b`, `a-b`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathKey(String);

impl Ord for PathKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.split('/').cmp(other.0.split('/'))
    }
}

impl PartialOrd for PathKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone)]
struct Entry {
    kind: EntryKind,
    mode: u32,
    uid: u32,
    gid: u32,
    /// `None`: [`BuildOptions::mtime`].
    mtime: Option<u64>,
}

#[derive(Debug, Clone)]
enum EntryKind {
    Dir,
    File {
        source: Source,
        /// Device and inode of a file from disk with more than one link.
        inode: Option<(u64, u64)>,
    },
    Symlink(String),
    HardLink(String),
    Special {
        kind: Kind,
        device: (u32, u32),
    },
}

#[derive(Debug, Clone)]
enum Source {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

/// Returned by [`PackageBuilder::add_file`] and the other methods that add or change one entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddEntryError {
    /// The path is not a clean relative package path.
    #[error("invalid package path {path:?}: {reason}")]
    InvalidPath {
        /// The path given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A non-directory entry with this path was already added (directories may be added again).
    #[error("{path:?} is already in the package")]
    Duplicate {
        /// The path.
        path: String,
    },
    /// A parent of the path is already in the package as something other than a directory.
    #[error("parent {parent:?} of {path:?} is not a directory")]
    ParentNotDirectory {
        /// The path being added.
        path: String,
        /// The parent that is not a directory.
        parent: String,
    },
    /// The mode has bits beyond the permission bits (`0o7777`).
    #[error("invalid mode {mode:#o} for {path:?}")]
    InvalidMode {
        /// The path.
        path: String,
        /// The mode given.
        mode: u32,
    },
    /// A symlink or hard-link target that is empty or holds a NUL byte.
    #[error("invalid link target {target:?} for {path:?}")]
    InvalidTarget {
        /// The link's path.
        path: String,
        /// The target given.
        target: String,
    },
    /// A number too large for its tar header field.
    #[error("{field} {value} of {path:?} does not fit in a tar header")]
    TooLarge {
        /// The path.
        path: String,
        /// Which value (`uid`, `gid`, `mtime`, `device number`).
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// [`PackageBuilder::set_owner`] or [`PackageBuilder::set_mtime`] on a path not added.
    #[error("{path:?} is not in the package")]
    NotFound {
        /// The path.
        path: String,
    },
}

/// Returned by [`PackageBuilder::add_tree`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddTreeError {
    /// Reading the tree failed.
    #[error("failed to read {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The root of the tree is not a directory.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A file name or symlink target that is not UTF-8.
    #[error("{} has a name or link target that is not utf-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A device or fifo, and [`BuildOptions::allow_special_files`] is off.
    #[error("{} is a {kind}; special files need allow_special_files", path.display())]
    SpecialFile {
        /// The file.
        path: PathBuf,
        /// `character device`, `block device` or `fifo`.
        kind: &'static str,
    },
    /// A socket or another type a tar archive cannot hold.
    #[error("{} is a socket or another unsupported file type", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
    },
    /// An entry of the tree could not be added.
    #[error("cannot add {}", path.display())]
    Entry {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: AddEntryError,
    },
}

/// Returned by [`PackageBuilder::write`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildPackageError {
    /// The package name is empty or uses characters apk does not allow.
    #[error(
        "invalid package name {name:?}: it must start with a letter or digit and use only A-Z a-z 0-9 . _ + -"
    )]
    InvalidName {
        /// The name.
        name: String,
    },
    /// The version is valid under neither apk-tools 3 nor apk-tools 2 rules.
    #[error("invalid package version")]
    InvalidVersion(#[source] ParseVersionError),
    /// A metadata field that would break `.PKGINFO` (a line break, or for `arch` blanks or `/`).
    #[error("invalid {field} {value:?}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// A trigger glob that does not start with `/` or holds blanks.
    #[error("invalid trigger {glob:?}: triggers are absolute directory globs without blanks")]
    InvalidTrigger {
        /// The glob.
        glob: String,
    },
    /// Trigger globs without a [`ScriptKind::Trigger`] script to run.
    #[error("the package has triggers but no trigger script")]
    TriggersWithoutScript,
    /// [`BuildOptions::compression_level`] is above 9.
    #[error("invalid compression level {0} (0 to 9)")]
    InvalidCompressionLevel(u32),
    /// A number too large for its tar header field.
    #[error("{field} {value} of {path:?} does not fit in a tar header")]
    TooLarge {
        /// The entry.
        path: String,
        /// Which value (`size`, `mtime`).
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// A hard link whose target is not a regular file written before it.
    #[error("hard link {path:?} points to {target:?}, which is not an earlier regular file")]
    HardLinkTarget {
        /// The link.
        path: String,
        /// Its target.
        target: String,
    },
    /// Reading a file's content failed.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file changed between the pass that hashed it and the pass that stored it.
    #[error("{} changed while the package was being built", path.display())]
    FileChanged {
        /// The file.
        path: PathBuf,
    },
    /// Creating, writing or reading back the temporary data file failed.
    #[error("failed to use a temporary file in {}", dir.display())]
    TempFile {
        /// The directory of the temporary file.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The v3 package metadata could not be encoded (an invalid field, or more than the
    /// 256 MiB an ADB block can address).
    #[error("failed to encode the v3 package metadata")]
    Adb(#[source] apk_index::adb::AdbWriteError),
    /// Signing the control member failed.
    #[error("failed to sign with {key_name}")]
    Sign {
        /// The key's name.
        key_name: String,
        /// The cause.
        #[source]
        source: SignError,
    },
    /// Writing the package to the output failed.
    #[error("failed to write the package")]
    Write(#[source] io::Error),
}

impl PackageBuilder {
    /// A builder for the package `info` describes, with default [`BuildOptions`].
    ///
    /// `info` gives the metadata; `installed_size`, `datahash`, `identity` and `size` are
    /// computed by [`write`](Self::write) and whatever `info` holds for them is ignored. Its
    /// `triggers` are kept (followed by those given to [`triggers`](Self::triggers)).
    pub fn new(info: PackageInfo) -> Self {
        Self::with_options(info, BuildOptions::default())
    }

    /// A builder with `options`. Options that affect [`add_tree`](Self::add_tree) apply to the
    /// trees added afterwards.
    ///
    /// ```
    /// use apk_index::PackageInfo;
    /// use apk_pkg::{BuildOptions, PackageBuilder};
    ///
    /// let mut options = BuildOptions::default();
    /// options.mtime = 1_700_000_000;
    /// let builder = PackageBuilder::with_options(PackageInfo::new("a", "1-r0"), options);
    /// assert_eq!(builder.options().mtime, 1_700_000_000);
    /// ```
    pub fn with_options(info: PackageInfo, options: BuildOptions) -> Self {
        PackageBuilder {
            info,
            options,
            entries: BTreeMap::new(),
            scripts: BTreeMap::new(),
            triggers: Vec::new(),
            signers: Vec::new(),
            root: RootDir::default(),
        }
    }

    /// The package metadata.
    pub fn info(&self) -> &PackageInfo {
        &self.info
    }

    /// The package metadata, to edit.
    pub fn info_mut(&mut self) -> &mut PackageInfo {
        &mut self.info
    }

    /// The options.
    pub fn options(&self) -> &BuildOptions {
        &self.options
    }

    /// The options, to edit.
    pub fn options_mut(&mut self) -> &mut BuildOptions {
        &mut self.options
    }

    /// The package paths added so far, in the order they will be written (including the
    /// parent directories added implicitly).
    ///
    /// ```
    /// use apk_index::PackageInfo;
    /// use apk_pkg::PackageBuilder;
    ///
    /// let mut builder = PackageBuilder::new(PackageInfo::new("a", "1-r0"));
    /// builder.add_file("usr/bin/a", 0o755, "")?.add_file("etc/a.conf", 0o644, "")?;
    /// let paths: Vec<_> = builder.paths().collect();
    /// assert_eq!(paths, ["etc", "etc/a.conf", "usr", "usr/bin", "usr/bin/a"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn paths(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.keys().map(|k| k.0.as_str())
    }

    /// Adds a regular file with `content` held in memory.
    ///
    /// `path` is relative (`usr/bin/hello`): no leading `/`, no empty, `.` or `..` components,
    /// no control characters, and no top-level name starting with `.` (apk takes those for
    /// control entries). Missing parent directories are added. `mode` holds permission bits
    /// only (`0o7777` at most). Owner root, mtime from the options.
    pub fn add_file(
        &mut self,
        path: &str,
        mode: u32,
        content: impl Into<Vec<u8>>,
    ) -> Result<&mut Self, AddEntryError> {
        let kind = EntryKind::File {
            source: Source::Bytes(content.into()),
            inode: None,
        };
        self.insert(path, Entry::new(kind, mode))?;
        Ok(self)
    }

    /// Adds a regular file whose content is read from `source` when the package is written
    /// (streamed, never held in memory). Path and mode rules as for
    /// [`add_file`](Self::add_file).
    ///
    /// ```no_run
    /// use apk_index::PackageInfo;
    /// use apk_pkg::PackageBuilder;
    ///
    /// let mut builder = PackageBuilder::new(PackageInfo::new("big", "1-r0"));
    /// builder.add_file_from("usr/share/big/data.bin", 0o644, "build/data.bin")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_file_from(
        &mut self,
        path: &str,
        mode: u32,
        source: impl Into<PathBuf>,
    ) -> Result<&mut Self, AddEntryError> {
        let kind = EntryKind::File {
            source: Source::Path(source.into()),
            inode: None,
        };
        self.insert(path, Entry::new(kind, mode))?;
        Ok(self)
    }

    /// Adds a directory (adding one again replaces its mode). Path rules as for
    /// [`add_file`](Self::add_file).
    pub fn add_dir(&mut self, path: &str, mode: u32) -> Result<&mut Self, AddEntryError> {
        self.insert(path, Entry::new(EntryKind::Dir, mode))?;
        Ok(self)
    }

    /// Adds a symlink (mode `0777`) to `target`, stored as given: it may be absolute or
    /// relative and need not exist.
    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<&mut Self, AddEntryError> {
        check_target(path, target)?;
        self.insert(
            path,
            Entry::new(EntryKind::Symlink(target.to_owned()), 0o777),
        )?;
        Ok(self)
    }

    /// Adds a hard link to `target`, the package path of a regular file that must come
    /// before it in the written order (checked by [`write`](Self::write)).
    ///
    /// ```
    /// use apk_index::PackageInfo;
    /// use apk_pkg::PackageBuilder;
    ///
    /// let mut builder = PackageBuilder::new(PackageInfo::new("a", "1-r0"));
    /// builder.add_file("bin/a", 0o755, "x")?.add_hard_link("bin/b", "bin/a")?;
    /// assert_eq!(builder.write(std::io::sink())?.installed_size, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_hard_link(&mut self, path: &str, target: &str) -> Result<&mut Self, AddEntryError> {
        check_target(path, target)?;
        check_path(target).map_err(|reason| AddEntryError::InvalidTarget {
            path: path.to_owned(),
            target: format!("{target} ({reason})"),
        })?;
        self.insert(
            path,
            Entry::new(EntryKind::HardLink(target.to_owned()), 0o644),
        )?;
        Ok(self)
    }

    /// Sets the numeric owner and group of an entry already added.
    pub fn set_owner(
        &mut self,
        path: &str,
        uid: u32,
        gid: u32,
    ) -> Result<&mut Self, AddEntryError> {
        check_id(path, "uid", uid)?;
        check_id(path, "gid", gid)?;
        let entry = self.entry_mut(path)?;
        entry.uid = uid;
        entry.gid = gid;
        Ok(self)
    }

    /// Sets the mtime of an entry already added.
    pub fn set_mtime(&mut self, path: &str, mtime: u64) -> Result<&mut Self, AddEntryError> {
        check_mtime(path, mtime)?;
        self.entry_mut(path)?.mtime = Some(mtime);
        Ok(self)
    }

    /// Adds everything under the directory `dir` (not `dir` itself) at the package root.
    ///
    /// The walk is deterministic: names sorted bytewise, each directory before its contents.
    /// Regular files are recorded by path and read when the package is written. Symlinks are
    /// stored, never followed. Files with several links in the tree become one regular file
    /// (the first in written order) and hard links to it. Devices and fifos are refused unless
    /// [`BuildOptions::allow_special_files`]; sockets always. Modes are taken from disk; owners
    /// and mtimes only when [`BuildOptions::keep_tree_owners`] /
    /// [`keep_tree_mtimes`](BuildOptions::keep_tree_mtimes) say so.
    ///
    /// ```
    /// use apk_index::PackageInfo;
    /// use apk_pkg::PackageBuilder;
    ///
    /// let root = tempfile::tempdir()?;
    /// std::fs::create_dir_all(root.path().join("usr/bin"))?;
    /// std::fs::write(root.path().join("usr/bin/hello"), "#!/bin/sh\n")?;
    /// let mut builder = PackageBuilder::new(PackageInfo::new("hello", "1.0-r0"));
    /// builder.add_tree(root.path())?;
    /// assert_eq!(builder.paths().collect::<Vec<_>>(), ["usr", "usr/bin", "usr/bin/hello"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_tree(&mut self, dir: impl AsRef<Path>) -> Result<&mut Self, AddTreeError> {
        self.add_tree_inner(dir.as_ref())?;
        Ok(self)
    }

    /// Adds the script of `kind` (replacing an earlier one of that kind). Scripts are stored
    /// with mode `0755` in the control tar.
    pub fn script(&mut self, kind: ScriptKind, content: impl Into<Vec<u8>>) -> &mut Self {
        self.scripts.insert(kind, content.into());
        self
    }

    /// Adds trigger globs (`/usr/share/foo/*`): the directories whose changes run the
    /// [`ScriptKind::Trigger`] script. They go after the info's own `triggers`.
    pub fn triggers<I, S>(&mut self, globs: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.triggers.extend(globs.into_iter().map(Into::into));
        self
    }

    /// Signs the package with `key` using `alg`, in an entry `.SIGN.<alg>.<key name>`.
    /// abuild signs with [`SignatureAlgorithm::RsaSha1`], the one every apk-tools release
    /// checks. May be called for several keys; apk uses the first one it trusts.
    pub fn sign_with(&mut self, key: &SigningKey, alg: SignatureAlgorithm) -> &mut Self {
        self.signers.push((key.clone(), alg));
        self
    }

    /// Writes the package to `out` and says what was written.
    ///
    /// The metadata is checked first: the name (`[A-Za-z0-9][A-Za-z0-9._+-]*`), the version
    /// (valid under apk-tools 3 or apk-tools 2 rules), text fields without line breaks, trigger
    /// globs starting with `/` (and a trigger script when there are triggers).
    ///
    /// The installed size (`size` in `.PKGINFO`) is the sum of the regular files' sizes, each
    /// hard-linked file counted once. apk-tools treats a package of installed size 0 as a meta
    /// package and neither extracts it nor runs its scripts, so a package that has entries or
    /// scripts but no bytes of content gets size 1.
    ///
    /// `out` receives the signature and control members, then the data member copied from a
    /// temporary file; nothing is written to `out` before the data has been compressed.
    pub fn write(&self, out: impl Write) -> Result<BuiltPackage, BuildPackageError> {
        self.write_inner(&mut BufWriter::with_capacity(64 * 1024, out))
    }

    // -- adding ---------------------------------------------------------------------------

    fn entry_mut(&mut self, path: &str) -> Result<&mut Entry, AddEntryError> {
        self.entries
            .get_mut(&PathKey(path.to_owned()))
            .ok_or_else(|| AddEntryError::NotFound {
                path: path.to_owned(),
            })
    }

    fn insert(&mut self, path: &str, entry: Entry) -> Result<(), AddEntryError> {
        check_path(path).map_err(|reason| AddEntryError::InvalidPath {
            path: path.to_owned(),
            reason,
        })?;
        if entry.mode > 0o7777 {
            return Err(AddEntryError::InvalidMode {
                path: path.to_owned(),
                mode: entry.mode,
            });
        }
        if let Some(mtime) = entry.mtime {
            check_mtime(path, mtime)?;
        }
        check_id(path, "uid", entry.uid)?;
        check_id(path, "gid", entry.gid)?;
        // Parents first: each must be a directory or absent (then made up).
        for (i, _) in path.match_indices('/') {
            let parent = &path[..i];
            match self.entries.get(&PathKey(parent.to_owned())) {
                Some(e) if matches!(e.kind, EntryKind::Dir) => {}
                Some(_) => {
                    return Err(AddEntryError::ParentNotDirectory {
                        path: path.to_owned(),
                        parent: parent.to_owned(),
                    });
                }
                None => {
                    self.entries.insert(
                        PathKey(parent.to_owned()),
                        Entry::new(EntryKind::Dir, 0o755),
                    );
                }
            }
        }
        let key = PathKey(path.to_owned());
        match self.entries.get(&key) {
            None => {}
            Some(old)
                if matches!(old.kind, EntryKind::Dir) && matches!(entry.kind, EntryKind::Dir) => {}
            Some(_) => {
                return Err(AddEntryError::Duplicate {
                    path: path.to_owned(),
                });
            }
        }
        self.entries.insert(key, entry);
        Ok(())
    }

    fn add_tree_inner(&mut self, root: &Path) -> Result<(), AddTreeError> {
        let meta = fs::metadata(root).map_err(|source| AddTreeError::Io {
            path: root.to_owned(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(AddTreeError::NotADirectory {
                path: root.to_owned(),
            });
        }
        self.root.mode = meta.mode() & 0o7777;
        if self.options.keep_tree_owners {
            self.root.uid = meta.uid();
            self.root.gid = meta.gid();
        }
        self.root.from_tree = true;
        self.walk(root, "")
    }

    fn walk(&mut self, dir: &Path, prefix: &str) -> Result<(), AddTreeError> {
        use std::os::unix::ffi::OsStrExt;

        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| AddTreeError::Io { path, source }
        };
        let mut names = Vec::new();
        for item in fs::read_dir(dir).map_err(io_err(dir))? {
            names.push(item.map_err(io_err(dir))?.file_name());
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let fs_path = dir.join(&name);
            let Some(name) = name.to_str() else {
                return Err(AddTreeError::NotUtf8 { path: fs_path });
            };
            let pkg_path = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            let meta = fs::symlink_metadata(&fs_path).map_err(io_err(&fs_path))?;
            let file_type = meta.file_type();
            let kind = if file_type.is_dir() {
                EntryKind::Dir
            } else if file_type.is_file() {
                EntryKind::File {
                    source: Source::Path(fs_path.clone()),
                    inode: (meta.nlink() > 1).then(|| (meta.dev(), meta.ino())),
                }
            } else if file_type.is_symlink() {
                let target = fs::read_link(&fs_path).map_err(io_err(&fs_path))?;
                let Some(target) = target.to_str() else {
                    return Err(AddTreeError::NotUtf8 { path: fs_path });
                };
                EntryKind::Symlink(target.to_owned())
            } else {
                let (kind, label) = if file_type.is_char_device() {
                    (Kind::CharDevice, "character device")
                } else if file_type.is_block_device() {
                    (Kind::BlockDevice, "block device")
                } else if file_type.is_fifo() {
                    (Kind::Fifo, "fifo")
                } else {
                    return Err(AddTreeError::Unsupported { path: fs_path });
                };
                if !self.options.allow_special_files {
                    return Err(AddTreeError::SpecialFile {
                        path: fs_path,
                        kind: label,
                    });
                }
                let device = if kind == Kind::Fifo {
                    (0, 0)
                } else {
                    device_numbers(meta.rdev())
                };
                EntryKind::Special { kind, device }
            };
            let is_dir = matches!(kind, EntryKind::Dir);
            let mut entry = Entry::new(kind, meta.mode() & 0o7777);
            if matches!(entry.kind, EntryKind::Symlink(_)) {
                entry.mode = 0o777;
            }
            if self.options.keep_tree_owners {
                entry.uid = meta.uid();
                entry.gid = meta.gid();
            }
            if self.options.keep_tree_mtimes {
                entry.mtime = Some(u64::try_from(meta.mtime()).unwrap_or(0));
            }
            if let EntryKind::Special { device, .. } = &entry.kind {
                for n in [device.0, device.1] {
                    if u64::from(n) > MAX_OCTAL_7 {
                        return Err(AddTreeError::Entry {
                            path: fs_path,
                            source: AddEntryError::TooLarge {
                                path: pkg_path,
                                field: "device number",
                                value: u64::from(n),
                            },
                        });
                    }
                }
            }
            self.insert(&pkg_path, entry)
                .map_err(|source| AddTreeError::Entry {
                    path: fs_path.clone(),
                    source,
                })?;
            if is_dir {
                self.walk(&fs_path, &pkg_path)?;
            }
        }
        Ok(())
    }

    // -- writing --------------------------------------------------------------------------

    fn validate(&self) -> Result<Vec<String>, BuildPackageError> {
        let info = &self.info;
        if !is_valid_name(&info.name) {
            return Err(BuildPackageError::InvalidName {
                name: info.name.clone(),
            });
        }
        if let Err(v3) = Version::parse_with(&info.version, Rules::V3) {
            if Version::parse_with(&info.version, Rules::V2).is_err() {
                return Err(BuildPackageError::InvalidVersion(v3));
            }
        }
        let texts: [(&'static str, Option<&str>); 7] = [
            ("description", Some(&info.description)),
            ("url", Some(&info.url)),
            ("license", Some(&info.license)),
            ("origin", info.origin.as_deref()),
            ("maintainer", info.maintainer.as_deref()),
            ("commit", info.commit.as_deref()),
            ("arch", info.arch.as_deref()),
        ];
        for (field, value) in texts {
            let Some(value) = value else { continue };
            let bad = value.contains(['\n', '\r', '\0'])
                || (field == "arch"
                    && (value.is_empty()
                        || value.contains(|c: char| c.is_whitespace() || c == '/')));
            if bad {
                return Err(BuildPackageError::InvalidField {
                    field,
                    value: value.to_owned(),
                });
            }
        }
        let triggers: Vec<String> = info
            .triggers
            .iter()
            .chain(&self.triggers)
            .cloned()
            .collect();
        for glob in &triggers {
            if !glob.starts_with('/') || glob.contains(|c: char| c.is_whitespace() || c == '\0') {
                return Err(BuildPackageError::InvalidTrigger { glob: glob.clone() });
            }
        }
        if !triggers.is_empty() && !self.scripts.contains_key(&ScriptKind::Trigger) {
            return Err(BuildPackageError::TriggersWithoutScript);
        }
        if self.options.compression_level > 9 {
            return Err(BuildPackageError::InvalidCompressionLevel(
                self.options.compression_level,
            ));
        }
        if self.options.mtime > MAX_OCTAL_11 {
            return Err(BuildPackageError::TooLarge {
                path: "(BuildOptions::mtime)".to_owned(),
                field: "mtime",
                value: self.options.mtime,
            });
        }
        Ok(triggers)
    }

    fn gzip_builder(&self) -> (GzBuilder, Compression) {
        // Unix (3) as the OS byte, as gzip and abuild write it; mtime 0.
        (
            GzBuilder::new().operating_system(3),
            Compression::new(self.options.compression_level),
        )
    }

    fn write_inner(&self, out: &mut impl Write) -> Result<BuiltPackage, BuildPackageError> {
        let triggers = self.validate()?;

        let temp_dir = self
            .options
            .temp_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let temp_err = |source| BuildPackageError::TempFile {
            dir: temp_dir.clone(),
            source,
        };
        let temp = match &self.options.temp_dir {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        }
        .map_err(temp_err)?;

        // 1. The data member, into the temporary file.
        let (gz, level) = self.gzip_builder();
        let mut data = DataTar {
            out: gz.write(
                HashingWriter::new(BufWriter::with_capacity(64 * 1024, temp)),
                level,
            ),
            buf: vec![0u8; 64 * 1024],
            temp_dir: &temp_dir,
        };
        let content_size = self.write_data(&mut data)?;
        data.out.write_all(&[0u8; 2 * BLOCK]).map_err(temp_err)?;
        let hashing = data.out.finish().map_err(temp_err)?;
        let (temp, data_len, data_sha256) = hashing.finish();
        let mut temp = temp.into_inner().map_err(|e| temp_err(e.into_error()))?;
        let datahash = hex(&data_sha256);

        // 2. `.PKGINFO` and the control member.
        let mut info = self.info.clone();
        info.identity = None;
        info.size = 0;
        info.installed_size =
            if content_size == 0 && (!self.entries.is_empty() || !self.scripts.is_empty()) {
                1
            } else {
                content_size
            };
        info.datahash = Some(datahash.clone());
        info.triggers = triggers;
        let mut pkginfo =
            format!("# Generated by apk-rs {}\n", env!("CARGO_PKG_VERSION")).into_bytes();
        write_pkginfo(&info, &mut pkginfo).map_err(BuildPackageError::Write)?;

        let mut control_tar = Vec::new();
        self.append_control_entry(&mut control_tar, ".PKGINFO", 0o644, &pkginfo)?;
        for (kind, script) in &self.scripts {
            self.append_control_entry(&mut control_tar, kind.entry_name(), 0o755, script)?;
        }
        let control = self.gzip(&control_tar)?;
        let identity = Checksum::sha1(Sha1::digest(&control).into());

        // 3. The signature member.
        let mut sign_tar = Vec::new();
        let mut digests: Vec<(SignatureAlgorithm, Vec<u8>)> = Vec::new();
        for (key, alg) in &self.signers {
            let digest = match digests.iter().find(|(a, _)| a == alg) {
                Some((_, d)) => d.clone(),
                None => {
                    let d = alg.digest(&control);
                    digests.push((*alg, d.clone()));
                    d
                }
            };
            let signature =
                key.sign_digest(*alg, &digest)
                    .map_err(|source| BuildPackageError::Sign {
                        key_name: key.key_name().to_owned(),
                        source,
                    })?;
            let name = format!(".SIGN.{}.{}", alg.sign_name(), key.key_name());
            self.append_control_entry(&mut sign_tar, &name, 0o644, &signature)?;
        }
        let signature = if sign_tar.is_empty() {
            Vec::new()
        } else {
            self.gzip(&sign_tar)?
        };

        // 4. Out it goes.
        out.write_all(&signature)
            .map_err(BuildPackageError::Write)?;
        out.write_all(&control).map_err(BuildPackageError::Write)?;
        temp.rewind().map_err(temp_err)?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut copied = 0u64;
        loop {
            let n = match temp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(temp_err(e)),
            };
            out.write_all(&buf[..n]).map_err(BuildPackageError::Write)?;
            copied += n as u64;
        }
        if copied != data_len {
            return Err(temp_err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the temporary data file is shorter than what was written",
            )));
        }
        out.flush().map_err(BuildPackageError::Write)?;

        let size = (signature.len() + control.len()) as u64 + data_len;
        let installed_size = info.installed_size;
        info.identity = Some(identity);
        info.size = size;
        Ok(BuiltPackage {
            identity,
            datahash,
            installed_size,
            size,
            info,
        })
    }

    fn gzip(&self, data: &[u8]) -> Result<Vec<u8>, BuildPackageError> {
        let (gz, level) = self.gzip_builder();
        let mut encoder = gz.write(Vec::with_capacity(data.len() / 2 + 64), level);
        encoder.write_all(data).map_err(BuildPackageError::Write)?;
        encoder.finish().map_err(BuildPackageError::Write)
    }

    /// Appends a regular-file entry to an in-memory control or signature tar.
    fn append_control_entry(
        &self,
        tar: &mut Vec<u8>,
        name: &str,
        mode: u32,
        data: &[u8],
    ) -> Result<(), BuildPackageError> {
        let header = Header {
            name,
            kind: Kind::Regular,
            mode,
            uid: 0,
            gid: 0,
            size: data.len() as u64,
            mtime: self.options.mtime,
            link: None,
            device: (0, 0),
            sha1_hex: None,
        };
        tar_write::write_header(tar, &header).map_err(BuildPackageError::Write)?;
        tar.extend_from_slice(data);
        tar_write::write_padding(tar, data.len() as u64).map_err(BuildPackageError::Write)?;
        Ok(())
    }

    /// Writes every entry of the data tar; returns the installed size of the contents.
    fn write_data<W: Write>(&self, data: &mut DataTar<'_, W>) -> Result<u64, BuildPackageError> {
        // Content SHA-1 of each regular file written, for hard links to it.
        let mut file_sha1: HashMap<&str, String> = HashMap::new();
        // The first path of each multiply-linked inode from disk.
        let mut first_of_inode: HashMap<(u64, u64), &str> = HashMap::new();
        let mut installed = 0u64;

        for (key, entry) in &self.entries {
            let path = key.0.as_str();
            let mtime = entry.mtime.unwrap_or(self.options.mtime);
            let mut header = Header {
                name: path,
                kind: Kind::Regular,
                mode: entry.mode,
                uid: entry.uid,
                gid: entry.gid,
                size: 0,
                mtime,
                link: None,
                device: (0, 0),
                sha1_hex: None,
            };
            match &entry.kind {
                EntryKind::Dir => {
                    let name = format!("{path}/");
                    header.name = &name;
                    header.kind = Kind::Directory;
                    data.header(&header)?;
                }
                EntryKind::Symlink(target) => {
                    let sha1 = hex(&Sha1::digest(target.as_bytes()));
                    header.kind = Kind::Symlink;
                    header.link = Some(target);
                    header.sha1_hex = Some(&sha1);
                    data.header(&header)?;
                }
                EntryKind::HardLink(target) => {
                    let Some(sha1) = file_sha1.get(target.as_str()) else {
                        return Err(BuildPackageError::HardLinkTarget {
                            path: path.to_owned(),
                            target: target.clone(),
                        });
                    };
                    header.kind = Kind::HardLink;
                    header.link = Some(target);
                    header.sha1_hex = Some(sha1);
                    data.header(&header)?;
                }
                EntryKind::Special { kind, device } => {
                    header.kind = *kind;
                    header.device = *device;
                    data.header(&header)?;
                }
                EntryKind::File { source, inode } => {
                    if let Some(inode) = inode {
                        if let Some(first) = first_of_inode.get(inode) {
                            let sha1 = file_sha1.get(first).cloned().unwrap_or_default();
                            header.kind = Kind::HardLink;
                            header.link = Some(*first);
                            header.sha1_hex = Some(&sha1);
                            data.header(&header)?;
                            continue;
                        }
                        first_of_inode.insert(*inode, path);
                    }
                    let (sha1, size) = match source {
                        Source::Bytes(bytes) => {
                            let sha1 = hex(&Sha1::digest(bytes));
                            let size = bytes.len() as u64;
                            header.size = size;
                            header.sha1_hex = Some(&sha1);
                            data.header(&header)?;
                            data.write(bytes)?;
                            data.pad(size)?;
                            (sha1, size)
                        }
                        Source::Path(fs_path) => {
                            let (digest, size) = data.hash_file(fs_path)?;
                            let sha1 = hex(&digest);
                            header.size = size;
                            header.sha1_hex = Some(&sha1);
                            data.header(&header)?;
                            data.copy_file(fs_path, size, &digest)?;
                            data.pad(size)?;
                            (sha1, size)
                        }
                    };
                    installed = installed.saturating_add(size);
                    file_sha1.insert(path, sha1);
                }
            }
        }
        Ok(installed)
    }
}

impl Entry {
    fn new(kind: EntryKind, mode: u32) -> Self {
        Entry {
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime: None,
        }
    }
}

/// The data tar being written: the gzip encoder over the temporary file, and a read buffer.
struct DataTar<'a, W: Write> {
    out: flate2::write::GzEncoder<HashingWriter<W>>,
    buf: Vec<u8>,
    temp_dir: &'a Path,
}

impl<W: Write> DataTar<'_, W> {
    fn temp_err(&self, source: io::Error) -> BuildPackageError {
        BuildPackageError::TempFile {
            dir: self.temp_dir.to_owned(),
            source,
        }
    }

    fn header(&mut self, header: &Header<'_>) -> Result<(), BuildPackageError> {
        for (field, value) in [("size", header.size), ("mtime", header.mtime)] {
            if value > MAX_OCTAL_11 {
                return Err(BuildPackageError::TooLarge {
                    path: header.name.to_owned(),
                    field,
                    value,
                });
            }
        }
        tar_write::write_header(&mut self.out, header).map_err(|e| self.temp_err(e))?;
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), BuildPackageError> {
        self.out.write_all(bytes).map_err(|e| self.temp_err(e))
    }

    fn pad(&mut self, size: u64) -> Result<(), BuildPackageError> {
        tar_write::write_padding(&mut self.out, size).map_err(|e| self.temp_err(e))?;
        Ok(())
    }

    /// First pass over a file from disk: its SHA-1 and length.
    fn hash_file(&mut self, path: &Path) -> Result<([u8; 20], u64), BuildPackageError> {
        let read_err = |source| BuildPackageError::Read {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(read_err)?;
        let mut sha1 = Sha1::new();
        let mut len = 0u64;
        loop {
            let n = match file.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            sha1.update(&self.buf[..n]);
            len += n as u64;
        }
        Ok((sha1.finalize().into(), len))
    }

    /// Second pass: copies exactly `len` bytes into the tar, checking they still hash to
    /// `digest` and that the file has not grown.
    fn copy_file(
        &mut self,
        path: &Path,
        len: u64,
        digest: &[u8; 20],
    ) -> Result<(), BuildPackageError> {
        let read_err = |source| BuildPackageError::Read {
            path: path.to_owned(),
            source,
        };
        let changed = || BuildPackageError::FileChanged {
            path: path.to_owned(),
        };
        let mut file = File::open(path).map_err(read_err)?;
        let mut sha1 = Sha1::new();
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            let n = match file.read(&mut self.buf[..want]) {
                Ok(0) => return Err(changed()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            sha1.update(&self.buf[..n]);
            if let Err(e) = self.out.write_all(&self.buf[..n]) {
                return Err(self.temp_err(e));
            }
            left -= n as u64;
        }
        let mut probe = [0u8; 1];
        let grew = loop {
            match file.read(&mut probe) {
                Ok(n) => break n > 0,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            }
        };
        let same: [u8; 20] = sha1.finalize().into();
        if grew || &same != digest {
            return Err(changed());
        }
        Ok(())
    }
}

/// A writer that hashes (SHA-256) and counts what passes through it.
struct HashingWriter<W> {
    inner: W,
    sha256: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            sha256: Sha256::new(),
            len: 0,
        }
    }

    fn finish(self) -> (W, u64, [u8; 32]) {
        (self.inner, self.len, self.sha256.finalize().into())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Checks a package path; returns why it is refused.
fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty");
    }
    if path.starts_with('/') {
        return Err("absolute (package paths are relative, without a leading '/')");
    }
    if path.chars().any(|c| c.is_control()) {
        return Err("control character");
    }
    if path.starts_with('.') {
        return Err("top-level names starting with '.' are control entries to apk");
    }
    for component in path.split('/') {
        match component {
            "" => return Err("empty component (a '//' or a trailing '/')"),
            "." | ".." => return Err("'.' or '..' component"),
            _ => {}
        }
    }
    Ok(())
}

fn check_target(path: &str, target: &str) -> Result<(), AddEntryError> {
    if target.is_empty() || target.contains('\0') {
        return Err(AddEntryError::InvalidTarget {
            path: path.to_owned(),
            target: target.to_owned(),
        });
    }
    Ok(())
}

fn check_id(path: &str, field: &'static str, id: u32) -> Result<(), AddEntryError> {
    if u64::from(id) > MAX_OCTAL_7 {
        return Err(AddEntryError::TooLarge {
            path: path.to_owned(),
            field,
            value: u64::from(id),
        });
    }
    Ok(())
}

fn check_mtime(path: &str, mtime: u64) -> Result<(), AddEntryError> {
    if mtime > MAX_OCTAL_11 {
        return Err(AddEntryError::TooLarge {
            path: path.to_owned(),
            field: "mtime",
            value: mtime,
        });
    }
    Ok(())
}

/// A package name as apk-tools 3 checks it when writing: an ASCII letter or digit, then
/// letters, digits and `. _ + -`.
fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

/// Linux's encoding of a `dev_t` into major and minor numbers.
fn device_numbers(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (
        u32::try_from(major).unwrap_or(u32::MAX),
        u32::try_from(minor).unwrap_or(u32::MAX),
    )
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_order_is_depth_first() {
        let mut keys: Vec<PathKey> = ["a-b", "a/b", "a", "a/b/c", "a.b", "b", "a/a"]
            .into_iter()
            .map(|s| PathKey(s.to_owned()))
            .collect();
        keys.sort();
        let sorted: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(sorted, ["a", "a/a", "a/b", "a/b/c", "a-b", "a.b", "b"]);
    }

    #[test]
    fn paths_are_checked() {
        for bad in [
            "",
            "/usr",
            "usr//bin",
            "usr/",
            "usr/./bin",
            "../x",
            "a/..",
            ".hidden",
            "a\nb",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
        for good in ["usr", "usr/bin/x", "etc/.keep", "a..b", "é/ü"] {
            assert_eq!(check_path(good), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(is_valid_name("py3-foo_bar+1.2"));
        for bad in ["", "-x", ".x", "a b", "a/b", "a:b"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn device_numbers_decode() {
        // makedev(8, 1) and makedev(259, 70000) in glibc's encoding.
        assert_eq!(device_numbers(0x801), (8, 1));
        let rdev: u64 = ((259 & 0xfff) << 8) | (70000 & 0xff) | ((70000 & !0xff) << 12);
        assert_eq!(device_numbers(rdev), (259, 70000));
    }
}
