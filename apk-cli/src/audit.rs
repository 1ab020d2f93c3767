//! `apk-rs audit`: compare the file system with the installed database.
//!
//! One line per finding, `LETTER path` (a directory path ends with `/`):
//!
//! | letter | meaning |
//! |---|---|
//! | `U` | a package's file whose contents differ from its `Z:` checksum (for a symlink, the checksum of its target) |
//! | `M` | a package's file whose owner or mode differs from its `a:` (only with `--check-permissions`) |
//! | `m` | the same for a package's directory (`M:`) |
//! | `X` | a package's file that is missing |
//! | `A` | a file no package owns |
//! | `D` | a directory no package owns; what is inside is not listed (unless `-r`) |
//! | `e` | a file or directory that could not be read |
//!
//! # What is audited
//!
//! The root is walked from the top, each directory's files first (by name), then its
//! subdirectories (by name), descending only into directories the database knows. Which
//! paths count depends on the protected-path rules (`+etc`, `@etc/init.d`, `!etc/apk` and
//! `etc/apk/protected_paths.d/*.list`):
//!
//! * default: configuration only, the protected paths (under `+`/`!` rules; under `@` rules
//!   only symlinks), reporting changed, missing and added files and added directories;
//! * `--backup`: the same, and under `!` rules everything is listed in full: every file (a
//!   package's unchanged file as `U`, which is what a backup needs) and the contents of added
//!   directories;
//! * `--system`: everything outside the protected paths, reporting only changed and missing
//!   files of packages (`U`, `M`, `X`);
//! * `--full`: both, with added files and directories everywhere.
//!
//! `-r` descends into added directories and lists what they hold. `--packages` prints,
//! instead of the lines, the names of the packages with changed or missing files, once each.
//! `-q` prints the paths without the letter. Files ending in `.apk-new` (new configuration
//! that apk set aside) and apk's temporary files are never reported, nor is anything inside
//! `proc`, `sys` or `dev`. Directory arguments restrict the walk to those directories.
//!
//! The exit status is 0 whatever is found.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::Metadata;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use apk_db::Database;
use apk_db::protected::Protection;
use apk_index::{Acl, ChecksumKind, InstalledFile, PackageInfo};
use sha1::Digest as _;

use crate::Global;
use crate::manifest::truncated_sha256;
use crate::query::{self, join_path, line};

/// Options of `apk-rs audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Audit configuration files, listing paths under `!` rules in full.
    #[arg(long = "backup", conflicts_with_all = ["system", "full"])]
    backup: bool,
    /// Audit system files (outside the protected paths) only.
    #[arg(long = "system", conflicts_with = "full")]
    system: bool,
    /// Audit everything, configuration and system files.
    #[arg(long = "full")]
    full: bool,
    /// Check owners and modes too.
    #[arg(long = "check-permissions")]
    check_permissions: bool,
    /// Print only the names of packages with changed files.
    #[arg(long = "packages")]
    packages: bool,
    /// Descend into directories no package owns.
    #[arg(short = 'r', long = "recursive")]
    recursive: bool,
    /// Directories to audit (default: the whole root).
    #[arg(value_name = "DIR")]
    dirs: Vec<String>,
}

/// Which paths are audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Configuration files.
    Config,
    /// Configuration files, `!` paths in full.
    Backup,
    /// System files.
    System,
    /// Everything.
    Full,
}

/// What the database knows about the file system.
struct Known<'a> {
    /// Path → owning package and file record (a later package wins).
    files: HashMap<String, (&'a PackageInfo, &'a InstalledFile)>,
    /// Directory path → its ACL, for every `F:` of every package.
    dirs: HashMap<&'a str, Option<&'a Acl>>,
    /// Directory path → names of the files the database lists in it.
    dir_files: HashMap<&'a str, BTreeSet<&'a str>>,
    /// Directory path → names of its subdirectories the database lists.
    subdirs: HashMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> Known<'a> {
    fn new(db: &'a Database) -> Known<'a> {
        let mut k = Known {
            files: HashMap::new(),
            dirs: HashMap::new(),
            dir_files: HashMap::new(),
            subdirs: HashMap::new(),
        };
        k.dirs.insert("", None);
        for pkg in &db.installed().packages {
            for d in &pkg.dirs {
                let acl = d.acl.as_ref();
                match k.dirs.get(d.path.as_str()) {
                    Some(Some(_)) => {}
                    _ => {
                        k.dirs.insert(&d.path, acl);
                    }
                }
                if !d.path.is_empty() {
                    let (parent, name) = d.path.rsplit_once('/').unwrap_or(("", &d.path));
                    k.subdirs.entry(parent).or_default().insert(name);
                }
                let names = k.dir_files.entry(&d.path).or_default();
                for f in &d.files {
                    names.insert(&f.name);
                    k.files.insert(join_path(&d.path, &f.name), (pkg, f));
                }
            }
        }
        k
    }
}

/// The walk and its output.
struct Auditor<'a, W: Write> {
    root: &'a Path,
    db: &'a Database,
    known: Known<'a>,
    mode: Mode,
    check_permissions: bool,
    recursive: bool,
    packages: bool,
    quiet: bool,
    /// Packages already printed with `--packages`.
    printed: HashSet<&'a str>,
    out: &'a mut W,
}

/// A directory entry's kind on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A real directory (not a symlink to one).
    Dir,
    /// Anything else.
    Other,
}

/// Whether `name` is a file apk set aside or is still writing.
fn ignored_name(name: &str) -> bool {
    name.ends_with(".apk-new") || name.starts_with(".apk.")
}

/// Whether `rule` lies strictly inside directory `dir`.
fn under(rule: &str, dir: &str) -> bool {
    dir.is_empty()
        || rule
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The hash a file checksum was made with.
#[derive(Debug, Clone, Copy)]
enum Hash {
    Sha1,
    Sha256,
}

/// The digest of what is at `path`: a symlink's target, a regular file's contents.
/// `None` for other file types.
fn digest(path: &Path, meta: &Metadata, hash: Hash) -> io::Result<Option<Vec<u8>>> {
    enum Hasher {
        Sha1(sha1::Sha1),
        Sha256(sha2::Sha256),
    }
    impl Hasher {
        fn update(&mut self, data: &[u8]) {
            match self {
                Hasher::Sha1(h) => h.update(data),
                Hasher::Sha256(h) => h.update(data),
            }
        }
        fn finish(self) -> Vec<u8> {
            match self {
                Hasher::Sha1(h) => h.finalize().to_vec(),
                Hasher::Sha256(h) => h.finalize().to_vec(),
            }
        }
    }
    let mut h = match hash {
        Hash::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
        Hash::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
    };
    if meta.file_type().is_symlink() {
        h.update(std::fs::read_link(path)?.as_os_str().as_bytes());
    } else if meta.is_file() {
        let mut f = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(buf.get(..n).unwrap_or(&[]));
        }
    } else {
        return Ok(None);
    }
    Ok(Some(h.finish()))
}

/// Whether the contents of `path` differ from the file record's checksum. A record without a
/// checksum (or with an MD5 one, which is not checked) never differs.
fn content_differs(
    path: &Path,
    meta: &Metadata,
    pkg: &PackageInfo,
    file: &InstalledFile,
) -> io::Result<bool> {
    let Some(expected) = &file.checksum else {
        return Ok(false);
    };
    let hash = match expected.kind() {
        ChecksumKind::Md5 => return Ok(false),
        ChecksumKind::Sha256 => Hash::Sha256,
        ChecksumKind::Sha1 if truncated_sha256(pkg) => Hash::Sha256,
        ChecksumKind::Sha1 => Hash::Sha1,
    };
    let want = expected.as_bytes();
    Ok(match digest(path, meta, hash)? {
        Some(got) => got.get(..want.len()) != Some(want),
        // A device, fifo or socket where the package had a file or symlink.
        None => true,
    })
}

/// Whether owner or mode differ from `acl` (`default_mode` when the record has none, owned
/// by root). Symlinks have no mode of their own.
fn metadata_differs(meta: &Metadata, acl: Option<&Acl>, default_mode: u32) -> bool {
    if meta.file_type().is_symlink() {
        return false;
    }
    let (uid, gid, mode) = acl.map_or((0, 0, default_mode), |a| (a.uid, a.gid, a.mode));
    meta.uid() != uid || meta.gid() != gid || meta.mode() & 0o7777 != mode & 0o7777
}

impl<'a, W: Write> Auditor<'a, W> {
    fn protection(&self, path: &str) -> Protection {
        self.db.protected_paths().classify(path)
    }

    /// Whether a file (or symlink) at `path` is audited.
    fn file_in_scope(&self, path: &str, symlink: bool) -> bool {
        let config = match self.protection(path) {
            Protection::Protected | Protection::Always => true,
            Protection::SymlinksOnly => symlink,
            Protection::None => false,
        };
        match self.mode {
            Mode::Config | Mode::Backup => config,
            Mode::System => !config,
            Mode::Full => true,
        }
    }

    /// Whether directory `path` itself is audited (for `D` and `m`).
    fn dir_in_scope(&self, path: &str) -> bool {
        let config = self.protection(path) != Protection::None;
        match self.mode {
            Mode::Config | Mode::Backup => config,
            Mode::System => !config,
            Mode::Full => true,
        }
    }

    /// Whether anything inside directory `path` may be audited.
    fn worth_descending(&self, path: &str) -> bool {
        if matches!(path, "proc" | "sys" | "dev") {
            return false;
        }
        if self.dir_in_scope(path) || self.mode == Mode::Full {
            return true;
        }
        let mode = self.mode;
        self.db.protected_paths().rules().any(|(rule, p)| {
            under(rule, path)
                && match mode {
                    Mode::Config | Mode::Backup => p != Protection::None,
                    Mode::System => matches!(p, Protection::None | Protection::SymlinksOnly),
                    Mode::Full => true,
                }
        })
    }

    /// Whether added files and directories are reported.
    fn reports_added(&self) -> bool {
        self.mode != Mode::System
    }

    /// Whether `path` is listed in full (`--backup` under a `!` rule).
    fn listed_in_full(&self, path: &str) -> bool {
        self.mode == Mode::Backup && self.protection(path) == Protection::Always
    }

    /// Prints one finding.
    fn report(
        &mut self,
        letter: char,
        path: &str,
        dir: bool,
        owner: Option<&'a PackageInfo>,
    ) -> anyhow::Result<()> {
        let slash = if dir { "/" } else { "" };
        if self.packages {
            if let Some(p) = owner {
                if self.printed.insert(&p.name) {
                    line(self.out, &p.name)?;
                }
            }
            return Ok(());
        }
        if self.quiet {
            line(self.out, format!("{path}{slash}"))
        } else {
            line(self.out, format!("{letter} {path}{slash}"))
        }
    }

    /// Audits directory `dir` (a database path, `""` for the root).
    fn walk(&mut self, dir: &str) -> anyhow::Result<()> {
        let full: PathBuf = self.root.join(dir);
        let mut on_disk: HashMap<String, (Kind, Metadata)> = HashMap::new();
        match std::fs::read_dir(&full) {
            Ok(entries) => {
                for entry in entries {
                    let Ok(entry) = entry else {
                        return self.report('e', dir, true, None);
                    };
                    let name = entry.file_name().to_string_lossy().into_owned();
                    match std::fs::symlink_metadata(entry.path()) {
                        Ok(meta) => {
                            let kind = if meta.is_dir() {
                                Kind::Dir
                            } else {
                                Kind::Other
                            };
                            on_disk.insert(name, (kind, meta));
                        }
                        Err(_) => self.report('e', &join_path(dir, &name), false, None)?,
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return self.walk_missing(dir),
            Err(_) => return self.report('e', dir, true, None),
        }
        let known = self.known.dirs.contains_key(dir);

        // Files first: those on disk and those the database lists here.
        let mut files: BTreeSet<String> = on_disk
            .iter()
            .filter(|(_, (k, _))| *k == Kind::Other)
            .map(|(n, _)| n.clone())
            .collect();
        if known {
            if let Some(names) = self.known.dir_files.get(dir) {
                files.extend(names.iter().map(|s| (*s).to_owned()));
            }
        }
        for name in &files {
            if ignored_name(name) {
                continue;
            }
            let path = join_path(dir, name);
            let disk = on_disk
                .get(name)
                .filter(|(k, _)| *k == Kind::Other)
                .map(|(_, m)| m);
            self.file(&path, disk)?;
        }

        // Then the directories.
        let mut dirs: BTreeSet<String> = on_disk
            .iter()
            .filter(|(_, (k, _))| *k == Kind::Dir)
            .map(|(n, _)| n.clone())
            .collect();
        if let Some(names) = self.known.subdirs.get(dir) {
            dirs.extend(names.iter().map(|s| (*s).to_owned()));
        }
        for name in &dirs {
            let path = join_path(dir, name);
            let disk = on_disk
                .get(name)
                .filter(|(k, _)| *k == Kind::Dir)
                .map(|(_, m)| m);
            let known_dir = self.known.dirs.get(path.as_str()).copied();
            match (known_dir, disk) {
                (Some(_), None) => {
                    if self.worth_descending(&path) {
                        self.walk_missing(&path)?;
                    }
                }
                (Some(acl), Some(meta)) => {
                    if self.check_permissions
                        && self.dir_in_scope(&path)
                        && metadata_differs(meta, acl, 0o755)
                    {
                        let owner = self.dir_owner(&path);
                        self.report('m', &path, true, owner)?;
                    }
                    if self.worth_descending(&path) {
                        self.walk(&path)?;
                    }
                }
                (None, Some(_)) => {
                    if self.reports_added() && self.dir_in_scope(&path) {
                        self.report('D', &path, true, None)?;
                        let pseudo = matches!(path.as_str(), "proc" | "sys" | "dev");
                        if !pseudo && (self.recursive || self.listed_in_full(&path)) {
                            self.walk(&path)?;
                        }
                    } else if self.worth_descending(&path) {
                        self.walk(&path)?;
                    }
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// The package owning directory `path` (the first that lists it).
    fn dir_owner(&self, path: &str) -> Option<&'a PackageInfo> {
        self.db
            .installed()
            .packages
            .iter()
            .find(|p| p.dirs.iter().any(|d| d.path == path))
    }

    /// Audits one file path: `disk` is its metadata when something other than a directory
    /// is there.
    fn file(&mut self, path: &str, disk: Option<&Metadata>) -> anyhow::Result<()> {
        let owner = self.known.files.get(path).copied();
        match (owner, disk) {
            (Some((pkg, _)), None) => {
                if self.file_in_scope(path, false) {
                    self.report('X', path, false, Some(pkg))?;
                }
            }
            (Some((pkg, file)), Some(meta)) => {
                if !self.file_in_scope(path, meta.file_type().is_symlink()) {
                    return Ok(());
                }
                let changed = if self.listed_in_full(path) {
                    Ok(true)
                } else {
                    content_differs(&self.root.join(path), meta, pkg, file)
                };
                match changed {
                    Ok(true) => self.report('U', path, false, Some(pkg))?,
                    Ok(false) => {
                        if self.check_permissions
                            && metadata_differs(meta, file.acl.as_ref(), 0o644)
                        {
                            self.report('M', path, false, Some(pkg))?;
                        }
                    }
                    Err(_) => self.report('e', path, false, Some(pkg))?,
                }
            }
            (None, Some(meta)) => {
                if self.reports_added() && self.file_in_scope(path, meta.file_type().is_symlink()) {
                    self.report('A', path, false, None)?;
                }
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// Reports every file the database lists in (and below) missing directory `dir`.
    fn walk_missing(&mut self, dir: &str) -> anyhow::Result<()> {
        let files: Vec<String> = self
            .known
            .dir_files
            .get(dir)
            .map(|names| names.iter().map(|n| join_path(dir, n)).collect())
            .unwrap_or_default();
        for path in files {
            self.file(&path, None)?;
        }
        let subdirs: Vec<String> = self
            .known
            .subdirs
            .get(dir)
            .map(|names| names.iter().map(|n| join_path(dir, n)).collect())
            .unwrap_or_default();
        for path in subdirs {
            self.walk_missing(&path)?;
        }
        Ok(())
    }
}

/// A directory argument as a database path (`/`-separated, relative to the root).
fn db_path(arg: &str) -> String {
    arg.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Runs `audit`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let db = query::open(global, false)?;
    let mode = if args.full {
        Mode::Full
    } else if args.system {
        Mode::System
    } else if args.backup {
        Mode::Backup
    } else {
        Mode::Config
    };
    let mut auditor = Auditor {
        root: db.root(),
        db: &db,
        known: Known::new(&db),
        mode,
        check_permissions: args.check_permissions,
        recursive: args.recursive,
        packages: args.packages,
        quiet: global.verbosity < 0,
        printed: HashSet::new(),
        out,
    };
    if args.dirs.is_empty() {
        auditor.walk("")?;
    } else {
        for dir in &args.dirs {
            auditor.walk(&db_path(dir))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_under_directories() {
        assert!(under("etc/apk", "etc"));
        assert!(under("etc", ""));
        assert!(!under("etcx/apk", "etc"));
        assert!(!under("etc", "etc"));
    }

    #[test]
    fn directory_arguments() {
        assert_eq!(db_path("/etc/./apk/"), "etc/apk");
        assert_eq!(db_path("/"), "");
    }
}
