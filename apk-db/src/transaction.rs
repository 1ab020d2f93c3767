//! [`Transaction`]: apply a solver [`Changeset`] to a root.
//!
//! For each change, in the changeset's order:
//!
//! * **install / upgrade / downgrade / replace / reinstall**: get the package (a local file is
//!   read in place, a remote one through the cache, or streamed without one), check its
//!   control part's identity against the signed index (or its signature) before anything of
//!   it runs, run `pre-install`/`pre-upgrade`, extract every entry to a temporary name beside
//!   its target ([`apk_pkg::Extractor::stage`]), check the whole package's identity (and
//!   `datahash`), decide each file's fate (conflicts with
//!   other packages, protected files kept with the new copy as `*.apk-new`), rename into
//!   place, purge the files of the old version that the new one no longer has, run
//!   `post-install`/`post-upgrade`;
//! * **purge**: `pre-deinstall`, remove the files (a changed protected file stays unless
//!   `--purge`), remove directories no package owns any more, `post-deinstall`.
//!
//! A v3 (ADB) package, known by its `ADB` magic, takes the same path through
//! [`apk_pkg::AdbPackageReader`] and [`apk_pkg::Extractor::stage_adb_reader`]: it streams
//! (its metadata in memory, each file's data checked as it is written), its identity is
//! checked against the full SHA-256 of its index entry before anything is written (a match
//! authenticates it without a package signature, as in apk-tools 3; a 20-byte or missing
//! index hash, or a file given on the command line, needs the package's own signature), and
//! recorded as apk-tools 3 records it: `C:` the first 20 bytes of the identity (for a file
//! given on the command line, its own unique id), `f:S`, and `sha256-160` `Z:` values.
//!
//! A package that fails leaves nothing behind: its temporary files go at once, and the
//! directories its staging created (kept while the next package may be staging into the same
//! root) are removed at the end of the commit when empty and listed by no package.
//!
//! Then the triggers run, once each, with the directories they match, and the database is
//! written once, atomically. A [journal](crate::journal) written as the work goes lets the
//! next open repair a root after a crash at any point.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use apk_index::{Acl, Checksum, Dependency, InstalledDir, InstalledFile, PackageInfo};
use apk_pkg::{
    AdbPackage, AdbPackageReader, Extractor, PackageReader, Placement, ScriptKind,
    StagedAdbPackage, StagedEntry, StagedKind, StagedPackage,
};
use apk_solver::{Change, ChangeKind, Changeset};
use sha1::{Digest, Sha1};

use crate::database::{Database, is_local, layout};
use crate::journal::Journal;
use crate::protected::Protection;
use crate::script::{ScriptOutcome, run_script};
use crate::triggers::{TriggerEntry, glob_matches};

/// Options of a commit (apk's `--no-scripts`, `--purge`, `--force-overwrite`, …).
///
/// ```
/// let mut opts = apk_db::CommitOptions::default();
/// opts.purge = true;
/// assert!(!opts.no_scripts);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CommitOptions {
    /// `--no-scripts`.
    pub no_scripts: bool,
    /// `--purge`: remove changed protected files too.
    pub purge: bool,
    /// `--force-overwrite`: a file owned by another package is overwritten (with a warning).
    pub force_overwrite: bool,
    /// `--clean-protected`: never write `*.apk-new`.
    pub clean_protected: bool,
    /// `--simulate`: print what would happen, touch nothing.
    pub simulate: bool,
    /// `--no-commit-hooks`: do not run `etc/apk/commit_hooks.d/*` and
    /// `lib/apk/commit_hooks.d/*`.
    pub no_commit_hooks: bool,
}

/// What a commit reports as it goes; the command line prints these as apk-tools does.
///
/// ```
/// use apk_db::Event;
/// let e = Event::Script { package: "hello-1.0-r0".into(), script: "post-install" };
/// assert!(matches!(e, Event::Script { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A change starts: `(i/n) Installing hello (1.0-r0)`.
    Change {
        /// 1-based position.
        position: usize,
        /// The number of changes.
        total: usize,
        /// The change.
        change: Change,
    },
    /// A package script runs.
    Script {
        /// `name-version`.
        package: String,
        /// The script type (`post-install`, …).
        script: &'static str,
    },
    /// A line a script printed.
    ScriptOutput(String),
    /// A trigger runs.
    Trigger {
        /// `name-version`.
        package: String,
    },
    /// A changed protected file was kept and the new one written beside it.
    NewConfig {
        /// The path of the new file, relative to the root.
        path: String,
    },
    /// Bytes of package files installed so far, out of the total of the changeset (sent
    /// after each package).
    Progress {
        /// Done.
        done: u64,
        /// Total.
        total: u64,
    },
    /// A warning.
    Warning(String),
    /// An error that does not stop the commit (the package is marked in the database).
    Error(String),
}

/// How a commit ended.
///
/// ```
/// let s = apk_db::CommitSummary { errors: 0, installed_size: 55, packages: 2 };
/// assert_eq!(s.to_string(), "OK: 55 B in 2 packages");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitSummary {
    /// Errors that did not stop the commit (failed scripts, file conflicts).
    pub errors: usize,
    /// The installed size of all installed packages.
    pub installed_size: u64,
    /// The number of installed packages.
    pub packages: usize,
}

impl std::fmt::Display for CommitSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = apk_solver::human_size(self.installed_size);
        match self.errors {
            0 => write!(f, "OK: {size} in {} packages", self.packages),
            1 => write!(f, "1 error; {size} in {} packages", self.packages),
            n => write!(f, "{n} errors; {size} in {} packages", self.packages),
        }
    }
}

/// Returned by [`Transaction::commit`] when the commit cannot go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// A package the changeset needs is in no loaded repository.
    #[error("{name}-{version}: package not found in any repository")]
    NotFound {
        /// The name.
        name: String,
        /// The version.
        version: String,
    },
    /// Fetching a package failed.
    #[error("{package}: {source}")]
    Fetch {
        /// `name-version`.
        package: String,
        /// What failed.
        source: crate::fetch::FetchError,
    },
    /// Reading, checking or extracting a package failed.
    #[error("{package}: {message}")]
    Package {
        /// `name-version`.
        package: String,
        /// What failed.
        message: String,
    },
    /// The package is not the one the signed index describes.
    #[error(
        "{package}: BAD signature: the package's identity {found} is not the index's {expected}"
    )]
    IdentityMismatch {
        /// `name-version`.
        package: String,
        /// From the index.
        expected: String,
        /// From the file.
        found: String,
    },
    /// A `pre-commit` hook failed: nothing was changed.
    #[error("{hook}: pre-commit hook failed: {message}")]
    PreCommitHook {
        /// The hook, as a path inside the root.
        hook: String,
        /// How it failed.
        message: String,
    },
    /// A file system operation failed.
    #[error("{path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
}

pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// A changeset ready to be applied to a [`Database`].
///
/// ```no_run
/// use apk_db::{CommitOptions, Database, OpenOptions, Transaction};
/// use apk_solver::{Solver, SolverOptions, SolverTask};
///
/// let mut db = Database::open(&OpenOptions::new("/tmp/root"))?;
/// db.load_indexes(false);
/// let solver = Solver::new(&db.solver_repositories(), db.installed(), &SolverOptions::default());
/// let world = vec!["hello".parse()?];
/// let cs = solver.solve(&SolverTask { world: world.clone(), ..SolverTask::default() })?;
/// let summary = Transaction::new(&mut db, cs, world)
///     .commit(&CommitOptions::default(), &mut |e| println!("{e:?}"))?;
/// println!("{summary}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Transaction<'db> {
    db: &'db mut Database,
    changeset: Changeset,
    world: Vec<Dependency>,
    extra: Vec<(PackageInfo, Option<PathBuf>)>,
}

/// A package to install: its record, where it comes from, and, from a v3 index, the full
/// `hashes` of its entry (the SHA-256 of the package's ADB payload, which authenticates it).
type Located = (PackageInfo, Source, Option<Arc<[u8]>>);

/// Where a package comes from.
#[derive(Debug, Clone)]
enum Source {
    /// A file of a local repository (trusted through the signed index).
    Local(PathBuf),
    /// A package file given on the command line: trusted only through its own signature.
    File(PathBuf),
    /// A URL, fetched (through the cache when there is one).
    Remote(String),
    /// A made-up package without files (`add -t`).
    Virtual,
}

impl<'db> Transaction<'db> {
    /// A transaction that applies `changeset` and sets world to `world`.
    pub fn new(db: &'db mut Database, changeset: Changeset, world: Vec<Dependency>) -> Self {
        Transaction {
            db,
            changeset,
            world,
            extra: Vec::new(),
        }
    }

    /// A package that is in no repository: a virtual package (`file` is `None`) or a local
    /// `.apk` file given on the command line.
    pub fn with_package(mut self, info: PackageInfo, file: Option<PathBuf>) -> Self {
        self.extra.push((info, file));
        self
    }

    fn locate(&self, change: &Change) -> Result<Located, CommitError> {
        let Some(new) = &change.new else {
            return Err(CommitError::NotFound {
                name: change.name.clone(),
                version: String::new(),
            });
        };
        let same_identity = |p: &PackageInfo| match (&new.identity, &p.identity) {
            (Some(want), Some(have)) => *want == have.to_string(),
            _ => true,
        };
        for (info, file) in &self.extra {
            if info.name == change.name && info.version == new.version && same_identity(info) {
                let src = match file {
                    Some(f) => Source::File(f.clone()),
                    None => Source::Virtual,
                };
                return Ok((info.clone(), src, None));
            }
        }
        let primary = self.db.arches[0].clone();
        for l in &self.db.loaded {
            let Some(index) = &l.index else { continue };
            for (i, p) in index.packages().enumerate() {
                if p.name() != change.name || p.version() != new.version {
                    continue;
                }
                let mut info = p.to_owned();
                if !same_identity(&info) {
                    continue;
                }
                info.repository_tag = l.repository.tag.clone();
                // The download path names the package's own architecture (`A:`), as apk's
                // does, or follows the index's `pkgname-spec`.
                let vars = apk_index::adb::PkgnameVars {
                    name: &info.name,
                    version: &info.version,
                    arch: info.arch.as_deref().unwrap_or(&primary),
                    hash: index
                        .adb_hashes(i)
                        .or(info.identity.as_ref().map(|c| c.as_bytes())),
                };
                let url = l
                    .repository
                    .package_url_in(index.pkgname_spec(), &vars)
                    .map_err(|e| CommitError::Package {
                        package: format!("{}-{}", info.name, info.version),
                        message: e.to_string(),
                    })?;
                let src = if is_local(&url) {
                    Source::Local(PathBuf::from(url.strip_prefix("file://").map_or_else(
                        || url.strip_prefix("file:").unwrap_or(&url).to_owned(),
                        str::to_owned,
                    )))
                } else {
                    Source::Remote(url)
                };
                return Ok((info, src, index.adb_hashes(i).map(Arc::from)));
            }
        }
        // An installed package being reinstalled from nowhere keeps its record.
        Err(CommitError::NotFound {
            name: change.name.clone(),
            version: new.version.clone(),
        })
    }

    /// Apply the changeset: see the [module documentation](self). Events are reported
    /// through `report` as they happen. With `simulate`, only the change events are reported.
    pub fn commit(
        self,
        opts: &CommitOptions,
        report: &mut dyn FnMut(Event),
    ) -> Result<CommitSummary, CommitError> {
        let total = self.changeset.changes().len();
        if opts.simulate {
            for (i, c) in self.changeset.changes().iter().enumerate() {
                report(Event::Change {
                    position: i + 1,
                    total,
                    change: c.clone(),
                });
            }
            return Ok(CommitSummary {
                errors: 0,
                installed_size: self.changeset.installed_size(),
                packages: self.changeset.package_count(),
            });
        }
        // Resolve every package before touching anything.
        let mut plan = Vec::new();
        for c in self.changeset.changes() {
            if matches!(c.kind, ChangeKind::Purge | ChangeKind::UpdatePinning) {
                plan.push((c.clone(), None));
            } else {
                plan.push((c.clone(), Some(self.locate(c)?)));
            }
        }
        let world = self.world;
        let db = self.db;
        let mut run = Run::new(db, opts, report);
        if !opts.no_commit_hooks {
            run.commit_hooks("pre-commit")?;
        }
        run.journal_begin()?;
        // Two cores: while one package is placed, checked against the database and recorded,
        // the next one of a run of fresh installs is read, verified and extracted to
        // temporary names on another thread (unless a `pre-install` script must run first).
        let installed_before: HashSet<String> = run
            .db
            .installed
            .packages
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let fresh = |c: &Change, pkg: &Option<Located>| {
            c.kind == ChangeKind::Install
                && !installed_before.contains(&c.name)
                && matches!(
                    pkg,
                    Some((_, Source::Local(_) | Source::File(_) | Source::Remote(_), _))
                )
        };
        // Progress: bytes of package files processed, out of all the changeset fetches.
        let progress_total: u64 = plan
            .iter()
            .filter_map(|(_, p)| p.as_ref().map(|(info, _, _)| info.size))
            .sum();
        let mut progress_done = 0u64;
        let ctx = Ctx::new(run.db, &run.abandoned_dirs);
        // How many packages are prepared ahead at once: one per core.
        let window = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let applied = std::thread::scope(|scope| -> Result<(), CommitError> {
            type Ahead<'s> = std::thread::ScopedJoinHandle<'s, Result<Prepared, CommitError>>;
            let mut ahead: std::collections::VecDeque<(usize, Ahead<'_>)> = Default::default();
            let mut next_spawn = 0;
            let mut spawning = true;
            for i in 0..plan.len() {
                let (change, pkg) = &plan[i];
                (run.report)(Event::Change {
                    position: i + 1,
                    total,
                    change: change.clone(),
                });
                let prepared = match ahead.front() {
                    Some((j, _)) if *j == i => ahead.pop_front().map(|(_, h)| {
                        h.join().unwrap_or_else(|_| {
                            Err(CommitError::Package {
                                package: change.name.clone(),
                                message: "preparing the package failed".into(),
                            })
                        })
                    }),
                    _ => None,
                };
                // Keep up to `window` packages of this run of fresh installs in preparation.
                if spawning && fresh(change, pkg) {
                    next_spawn = next_spawn.max(i + 1);
                    while next_spawn <= i + window {
                        let Some((next_change, next_pkg)) = plan.get(next_spawn) else {
                            break;
                        };
                        let Some(next) = next_pkg else {
                            break;
                        };
                        if !fresh(next_change, next_pkg) {
                            break;
                        }
                        run.journal(|j| j.staging(&next.0.name))?;
                        let next = next.clone();
                        let ctx = &ctx;
                        let started = std::thread::Builder::new()
                            .spawn_scoped(scope, move || ctx.prepare_ahead(next));
                        let Ok(handle) = started else {
                            // No thread to prepare it on: from here on, each package is
                            // prepared in its turn.
                            spawning = false;
                            break;
                        };
                        ahead.push_back((next_spawn, handle));
                        next_spawn += 1;
                    }
                }
                match (change.kind, pkg) {
                    (ChangeKind::Purge, _) => run.remove(&change.name)?,
                    (ChangeKind::UpdatePinning, _) => {
                        let tag = change.new.as_ref().and_then(|v| v.tag.clone());
                        if let Some(p) = run
                            .db
                            .installed
                            .packages
                            .iter_mut()
                            .find(|p| p.name == change.name)
                        {
                            p.repository_tag = tag;
                        }
                    }
                    (_, Some(located)) => {
                        run.install(located.clone(), prepared)?;
                        progress_done += located.0.size;
                        (run.report)(Event::Progress {
                            done: progress_done,
                            total: progress_total,
                        });
                    }
                    (_, None) => {}
                }
            }
            Ok(())
        });
        // Every staging is over (the threads that staged ahead are joined).
        run.remove_abandoned_dirs();
        if let Err(e) = applied {
            // The commit stops here. What was done so far is recorded (world stays as it
            // was), so the files on disk and the database agree without waiting for a
            // recovery; the package that failed left nothing behind.
            if run.db.write_files(false).is_ok() {
                run.journal_end();
            }
            return Err(e);
        }
        run.run_triggers();
        run.db.world = world;
        run.db.write().map_err(|source| CommitError::Io {
            path: run.db.root.join(layout::INSTALLED),
            source,
        })?;
        run.journal_end();
        if !opts.no_commit_hooks {
            // A failing post-commit hook is reported; the commit is done.
            let _ = run.commit_hooks("post-commit");
        }
        let installed_size = run
            .db
            .installed
            .packages
            .iter()
            .map(|p| p.installed_size)
            .sum();
        let summary = CommitSummary {
            errors: run.errors,
            installed_size,
            packages: run.db.installed.packages.len(),
        };
        run.db.log(&format!("{summary}"));
        Ok(summary)
    }
}

/// What preparing a package (fetching, reading, staging) needs from the database: owned, so
/// that the next package can be prepared on another thread while this one is committed.
#[derive(Clone)]
struct Ctx {
    root: PathBuf,
    fetcher: crate::fetch::Fetcher,
    cache: Option<crate::fetch::Cache>,
    keys: apk_index::KeySet,
    allow_untrusted: bool,
    /// The directories that abandoned stagings created (see [`Run::abandoned_dirs`]).
    abandoned_dirs: apk_pkg::CreatedDirs,
}

type PackageStream = Box<dyn BufRead + Send>;

/// A package whose control part has been read (and possibly its data staged).
struct Prepared {
    info: PackageInfo,
    body: Body,
    scripts: Vec<(ScriptKind, Vec<u8>)>,
    triggers: Vec<String>,
    staged: Option<Staged>,
    /// Whether the package's own signature must be checked (no signed index vouches for it).
    check_signature: bool,
}

/// A package file, v2 or v3 (ADB), read as it streams.
enum Body {
    V2(Box<PackageReader<PackageStream>>),
    V3(Box<AdbPackageReader<PackageStream>>),
}

/// A package extracted to temporary names.
enum Staged {
    V2(StagedPackage),
    V3(StagedAdbPackage),
}

impl Staged {
    fn entries(&self) -> &[StagedEntry] {
        match self {
            Staged::V2(s) => s.entries(),
            Staged::V3(s) => s.entries(),
        }
    }

    fn abort(self) {
        match self {
            Staged::V2(s) => s.abort(),
            Staged::V3(s) => s.abort(),
        }
    }

    fn commit(
        self,
        decide: impl FnMut(&StagedEntry) -> Placement,
    ) -> Result<(), apk_pkg::ExtractError> {
        match self {
            Staged::V2(s) => s.commit(decide).map(drop),
            Staged::V3(s) => s.commit(decide).map(drop),
        }
    }
}

impl Ctx {
    fn new(db: &Database, abandoned_dirs: &apk_pkg::CreatedDirs) -> Ctx {
        Ctx {
            abandoned_dirs: abandoned_dirs.clone(),
            root: db.root.clone(),
            fetcher: db.fetcher.clone(),
            cache: db.cache.clone(),
            keys: db.keys.clone(),
            allow_untrusted: db.options.allow_untrusted,
        }
    }

    fn open_source(&self, info: &PackageInfo, src: &Source) -> Result<PackageStream, CommitError> {
        let package = format!("{}-{}", info.name, info.version);
        match src {
            Source::Local(path) | Source::File(path) => {
                let f = fs::File::open(path).map_err(|source| CommitError::Io {
                    path: path.clone(),
                    source,
                })?;
                Ok(Box::new(BufReader::with_capacity(128 << 10, f)))
            }
            Source::Remote(url) => {
                if let (Some(cache), Some(id)) = (&self.cache, &info.identity) {
                    let path = cache.package_path(&info.name, &info.version, id);
                    if !path.exists() {
                        self.fetcher
                            .fetch_to_file(url, &path, &mut |_, _| {})
                            .map_err(|source| CommitError::Fetch {
                                package: package.clone(),
                                source,
                            })?;
                    }
                    let f = fs::File::open(&path).map_err(|source| CommitError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    return Ok(Box::new(BufReader::with_capacity(128 << 10, f)));
                }
                // No cache: the package streams from the repository into staging.
                let body = self
                    .fetcher
                    .open_reader(url)
                    .map_err(|source| CommitError::Fetch { package, source })?;
                Ok(Box::new(BufReader::with_capacity(128 << 10, body)))
            }
            Source::Virtual => Ok(Box::new(io::Cursor::new(Vec::new()))),
        }
    }

    /// Open the package and read its control part (for a v3 package, recognised by its `ADB`
    /// magic, its metadata blocks).
    fn open(&self, located: Located) -> Result<Prepared, CommitError> {
        let (mut info, src, index_hash) = located;
        let package = format!("{}-{}", info.name, info.version);
        let pkg_err = |e: &dyn std::error::Error| CommitError::Package {
            package: package.clone(),
            message: chain(e),
        };
        let mut stream = self.open_source(&info, &src)?;
        let is_adb = stream
            .fill_buf()
            .map_err(|e| pkg_err(&e))?
            .starts_with(b"ADB");
        let from_file = matches!(src, Source::File(_));
        let (body, scripts, triggers, check_signature) = if is_adb {
            let reader = AdbPackageReader::new(stream).map_err(|e| pkg_err(&e))?;
            let meta = reader.package().info();
            let scripts = reader.package().scripts().to_vec();
            let triggers = meta.triggers.clone();
            info.replaces = meta.replaces.clone();
            info.replaces_priority = meta.replaces_priority;
            // A full SHA-256 in a (verified) index authenticates the package by itself
            // (apk-tools 3 needs no package signature then); a 20-byte one does not.
            let vouched = index_hash.as_ref().is_some_and(|h| h.len() == 32);
            let check_signature = from_file || !vouched;
            (
                Body::V3(Box::new(reader)),
                scripts,
                triggers,
                check_signature,
            )
        } else {
            let reader = PackageReader::new(stream).map_err(|e| pkg_err(&e))?;
            let scripts: Vec<(ScriptKind, Vec<u8>)> = reader.scripts().to_vec();
            let triggers = reader.info().triggers.clone();
            // Like triggers, replaces and its priority come only from `.PKGINFO`: an index
            // never carries them, and file takeovers and the `r:`/`q:` record depend on them.
            info.replaces = reader.info().replaces.clone();
            info.replaces_priority = reader.info().replaces_priority;
            let check_signature = info.identity.is_none() || from_file;
            (
                Body::V2(Box::new(reader)),
                scripts,
                triggers,
                check_signature,
            )
        };
        self.authenticate_control(
            &package,
            &info,
            &body,
            check_signature,
            index_hash.as_deref(),
            from_file,
        )?;
        Ok(Prepared {
            info,
            body,
            scripts,
            triggers,
            staged: None,
            check_signature,
        })
    }

    /// Checks what can be checked of a package before its data is read, and before any of its
    /// scripts can run: its identity against the index (v2: the SHA-1 of the control part,
    /// `C:`; v3: see [`check_adb_identity`]), and its signature when no signed index vouches
    /// for it. What needs the data (a v2 package without `datahash`, whose identity and
    /// signature cover the data too, and the data itself) is checked when it is staged.
    fn authenticate_control(
        &self,
        package: &str,
        info: &PackageInfo,
        body: &Body,
        check_signature: bool,
        index_hash: Option<&[u8]>,
        from_file: bool,
    ) -> Result<(), CommitError> {
        let pkg_err = |e: &dyn std::error::Error| CommitError::Package {
            package: package.to_owned(),
            message: chain(e),
        };
        let verify = check_signature && !self.allow_untrusted;
        match body {
            Body::V2(reader) => {
                if let (Some(expected), Some(found)) = (&info.identity, reader.identity()) {
                    if *expected != found {
                        return Err(CommitError::IdentityMismatch {
                            package: package.to_owned(),
                            expected: expected.to_string(),
                            found: found.to_string(),
                        });
                    }
                }
                // Reported as staging would report them.
                if verify {
                    match reader.verify(&self.keys) {
                        Ok(_) | Err(apk_pkg::VerifyPackageError::NeedsData) => {}
                        Err(e) => return Err(pkg_err(&apk_pkg::ExtractError::Untrusted(e))),
                    }
                }
            }
            Body::V3(reader) => {
                check_adb_identity(package, info, index_hash, from_file, reader.package())?;
                if verify {
                    reader
                        .package()
                        .verify(&self.keys)
                        .map_err(|e| pkg_err(&apk_pkg::ExtractError::Adb(e)))?;
                }
            }
        }
        Ok(())
    }

    /// Extract the data part of `p` to temporary names (nothing is placed yet). A v3 package
    /// is first checked against the identity its index or command line gave.
    fn stage(&self, p: &mut Prepared) -> Result<(), CommitError> {
        let package = format!("{}-{}", p.info.name, p.info.version);
        let mut extractor = Extractor::new();
        // The next package is staged while this one is placed, into the same root: a failed
        // staging must not remove a directory the other just found there. The commit removes
        // them at its end instead, when nothing else writes.
        extractor
            .allow_devices(rustix::process::geteuid().is_root())
            .owner_names_from(&self.root)
            .remove_created_dirs(false)
            .report_created_dirs(Some(self.abandoned_dirs.clone()));
        if p.check_signature && !self.allow_untrusted {
            extractor.trusted_keys(Some(self.keys.clone()));
        }
        let pkg_err = |e: &dyn std::error::Error| CommitError::Package {
            package: package.clone(),
            message: chain(e),
        };
        let staged = match &mut p.body {
            Body::V2(reader) => Staged::V2(
                extractor
                    .stage(reader, &self.root)
                    .map_err(|e| pkg_err(&e))?,
            ),
            Body::V3(reader) => {
                // Its identity was checked when it was opened.
                Staged::V3(
                    extractor
                        .stage_adb_reader(reader, &self.root)
                        .map_err(|e| pkg_err(&e))?,
                )
            }
        };
        p.staged = Some(staged);
        Ok(())
    }

    /// Open and, when nothing has to run first (no `pre-install` script), stage a package
    /// ahead of its turn.
    fn prepare_ahead(&self, located: Located) -> Result<Prepared, CommitError> {
        let mut p = self.open(located)?;
        if !p.scripts.iter().any(|(k, _)| *k == ScriptKind::PreInstall) {
            self.stage(&mut p)?;
        }
        Ok(p)
    }
}

/// Checks a v3 package against what its index entry (or, for a file given on the command
/// line, its own metadata) says it is, as apk-tools 3 does before extracting: the whole
/// SHA-256 of the index entry when there is one (a mismatch is apk's "ADB integrity error",
/// whatever signatures the package has), otherwise the 20-byte identity (`C:`).
fn check_adb_identity(
    package: &str,
    info: &PackageInfo,
    index_hash: Option<&[u8]>,
    from_file: bool,
    adb: &AdbPackage,
) -> Result<(), CommitError> {
    let identity = adb.identity();
    let mismatch = |expected: String, found: String| CommitError::IdentityMismatch {
        package: package.to_owned(),
        expected,
        found,
    };
    let q1 = |bytes: &[u8]| {
        Checksum::from_digest(
            bytes.get(..20).unwrap_or(bytes),
            apk_index::ChecksumForm::Q1,
        )
        .map_or_else(String::new, |c| c.to_string())
    };
    if let Some(full) = index_hash.filter(|h| h.len() == 32) {
        if full != identity {
            return Err(mismatch(hex(full), hex(&identity)));
        }
        return Ok(());
    }
    let Some(expected) = &info.identity else {
        return Ok(());
    };
    // A file given on the command line is known by its own unique id.
    let found: Vec<u8> = match (from_file, adb.unique_id()) {
        (true, Some(id)) => id.to_vec(),
        _ => identity[..20].to_vec(),
    };
    if expected.as_bytes().get(..20) != Some(&found[..]) {
        return Err(mismatch(expected.to_string(), q1(&found)));
    }
    Ok(())
}

/// The error when staged v2 package `staged` is not the one with identity `expected`.
fn identity_mismatch(
    package: &str,
    expected: &Checksum,
    staged: &StagedPackage,
) -> Option<CommitError> {
    let found = staged.summary().identity();
    (*expected != found).then(|| CommitError::IdentityMismatch {
        package: package.to_owned(),
        expected: expected.to_string(),
        found: found.to_string(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One commit in progress.
struct Run<'a, 'r> {
    db: &'a mut Database,
    opts: &'a CommitOptions,
    report: &'r mut dyn FnMut(Event),
    /// Every file path (`dir/name`) → the name of the installed package that owns it.
    owners: HashMap<String, String>,
    /// Every directory path → how many installed packages list it.
    dir_refs: HashMap<String, usize>,
    /// Directories where something was created or removed.
    modified_dirs: BTreeSet<String>,
    /// Packages (re)installed in this commit, for triggers.
    installed_now: Vec<String>,
    errors: usize,
    journal: Option<Journal>,
    /// Directories created by stagings that were then abandoned (a package that failed, or
    /// was not placed): removed when empty and no package lists them, once the packages are
    /// done and nothing else writes to the root.
    abandoned_dirs: apk_pkg::CreatedDirs,
}

pub(crate) fn file_path(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn parent_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// Whether the `Q1` checksums of installed package `p` are SHA-256 cut to 20 bytes (its
/// `f:S` flag, set for packages installed from v3 files) rather than SHA-1.
pub(crate) fn truncated_sha256(p: &PackageInfo) -> bool {
    p.flags.as_deref().is_some_and(|f| f.contains('S'))
}

/// A SHA-1 or SHA-256 hasher.
enum DiskHasher {
    Sha1(Sha1),
    Sha256(sha2::Sha256),
}

impl DiskHasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            DiskHasher::Sha1(h) => h.update(data),
            DiskHasher::Sha256(h) => h.update(data),
        }
    }
}

/// The checksum of what is at `path` now, as the installed database records it: a file's
/// contents, a symlink's target; SHA-1, or with `sha256_160` SHA-256 cut to 20 bytes.
pub(crate) fn disk_checksum(path: &Path, sha256_160: bool) -> Option<Checksum> {
    let meta = fs::symlink_metadata(path).ok()?;
    let mut h = if sha256_160 {
        DiskHasher::Sha256(sha2::Sha256::new())
    } else {
        DiskHasher::Sha1(Sha1::new())
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path).ok()?;
        use std::os::unix::ffi::OsStrExt;
        h.update(target.as_os_str().as_bytes());
    } else if meta.is_file() {
        let mut f = fs::File::open(path).ok()?;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = f.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    } else {
        return None;
    }
    let digest = match h {
        DiskHasher::Sha1(h) => h.finalize().to_vec(),
        DiskHasher::Sha256(h) => h.finalize().to_vec(),
    };
    Checksum::from_digest(&digest[..20], apk_index::ChecksumForm::Q1)
}

fn acl_of(e: &StagedEntry, mode: u32, default: Acl, xattr_hashes: bool) -> Option<Acl> {
    let acl = Acl {
        uid: u32::try_from(e.uid).unwrap_or(0),
        gid: u32::try_from(e.gid).unwrap_or(0),
        mode: mode & 0o7777,
        xattr_checksum: if xattr_hashes {
            xattr_checksum(&e.xattrs)
        } else {
            None
        },
    };
    if acl == default { None } else { Some(acl) }
}

/// The hash apk-tools 3 records as the 4th field of `M:`/`a:` for an entry with extended
/// attributes: SHA-1 over the attributes sorted by name, each as a big-endian u32 name length,
/// the name, a big-endian u32 value length and the value. `None` without attributes.
fn xattr_checksum(xattrs: &[apk_pkg::Xattr]) -> Option<Checksum> {
    if xattrs.is_empty() {
        return None;
    }
    let mut sorted: Vec<&apk_pkg::Xattr> = xattrs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha1::new();
    for (name, value) in sorted {
        h.update((name.len() as u32).to_be_bytes());
        h.update(name);
        h.update((value.len() as u32).to_be_bytes());
        h.update(value);
    }
    Some(Checksum::sha1(h.finalize().into()))
}

/// Build the `F:`/`R:` records of a package from its staged entries: every directory in
/// order of first appearance, parents first. With `v3` (a package installed from a v3 file)
/// the ACLs carry the hash of the entry's extended attributes, as apk-tools 3 records them.
fn record_files(entries: &[StagedEntry], placed: &[bool], v3: bool) -> Vec<InstalledDir> {
    let mut dirs: Vec<InstalledDir> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    fn ensure(
        dirs: &mut Vec<InstalledDir>,
        index: &mut HashMap<String, usize>,
        path: &str,
    ) -> usize {
        if let Some(&i) = index.get(path) {
            return i;
        }
        let parent = parent_of(path);
        if !parent.is_empty() {
            ensure(dirs, index, parent);
        }
        dirs.push(InstalledDir {
            path: path.to_owned(),
            acl: None,
            files: Vec::new(),
        });
        index.insert(path.to_owned(), dirs.len() - 1);
        dirs.len() - 1
    }
    for (e, &keep) in entries.iter().zip(placed) {
        let Some(path) = e.path.to_str() else {
            continue;
        };
        let path = path.trim_end_matches('/');
        if matches!(e.kind, StagedKind::Directory) {
            let i = ensure(&mut dirs, &mut index, path);
            dirs[i].acl = acl_of(e, e.mode, Acl::DEFAULT_DIR, v3);
            continue;
        }
        if !keep {
            continue;
        }
        let parent = parent_of(path);
        let name = path.rsplit('/').next().unwrap_or(path);
        let i = if parent.is_empty() {
            // Files at the top of the root live in the "" directory, which apk never lists.
            ensure(&mut dirs, &mut index, "")
        } else {
            ensure(&mut dirs, &mut index, parent)
        };
        let default_file = Acl {
            uid: 0,
            gid: 0,
            mode: 0o644,
            xattr_checksum: None,
        };
        let mode = if matches!(e.kind, StagedKind::Symlink { .. }) {
            0o777
        } else {
            e.mode
        };
        dirs[i].files.push(InstalledFile {
            name: name.to_owned(),
            acl: acl_of(e, mode, default_file, v3),
            checksum: e.checksum,
        });
    }
    dirs
}

impl<'a, 'r> Run<'a, 'r> {
    fn new(
        db: &'a mut Database,
        opts: &'a CommitOptions,
        report: &'r mut dyn FnMut(Event),
    ) -> Self {
        let mut owners = HashMap::new();
        let mut dir_refs = HashMap::new();
        for p in &db.installed.packages {
            for d in &p.dirs {
                *dir_refs.entry(d.path.clone()).or_insert(0) += 1;
                for f in &d.files {
                    owners.insert(file_path(&d.path, &f.name), p.name.clone());
                }
            }
        }
        Run {
            db,
            opts,
            report,
            owners,
            dir_refs,
            modified_dirs: BTreeSet::new(),
            installed_now: Vec::new(),
            errors: 0,
            journal: None,
            abandoned_dirs: apk_pkg::CreatedDirs::default(),
        }
    }

    fn root(&self) -> PathBuf {
        self.db.root.clone()
    }

    fn error(&mut self, msg: String) {
        self.errors += 1;
        (self.report)(Event::Error(msg));
    }

    /// Run the executables of `etc/apk/commit_hooks.d/` and `lib/apk/commit_hooks.d/` (by
    /// name) with `stage` (`pre-commit` or `post-commit`), inside the root.
    fn commit_hooks(&mut self, stage: &str) -> Result<(), CommitError> {
        use std::os::unix::fs::PermissionsExt;
        let root = self.root();
        let mut hooks: Vec<(String, String)> = Vec::new();
        for dir in ["etc/apk/commit_hooks.d", "lib/apk/commit_hooks.d"] {
            let Ok(rd) = fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let executable = fs::metadata(e.path())
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
                if executable && !name.starts_with('.') {
                    hooks.push((name.clone(), format!("/{dir}/{name}")));
                }
            }
        }
        hooks.sort();
        for (name, inside) in hooks {
            let outcome = crate::script::run_in_root(
                &root,
                Path::new(&inside),
                &name,
                &[stage.to_owned()],
                &[],
            );
            match outcome {
                ScriptOutcome::Ok { output } => {
                    for l in output {
                        (self.report)(Event::ScriptOutput(l));
                    }
                }
                ScriptOutcome::Failed { output, message } => {
                    for l in output {
                        (self.report)(Event::ScriptOutput(l));
                    }
                    if stage == "pre-commit" {
                        return Err(CommitError::PreCommitHook {
                            hook: inside,
                            message,
                        });
                    }
                    self.error(format!("{inside}: {stage} hook failed: {message}"));
                }
            }
        }
        Ok(())
    }

    fn journal_begin(&mut self) -> Result<(), CommitError> {
        let root = self.root();
        let j = Journal::begin(&root).map_err(|source| CommitError::Io {
            path: root.join(layout::JOURNAL),
            source,
        })?;
        self.journal = Some(j);
        Ok(())
    }

    fn journal_end(&mut self) {
        if let Some(j) = self.journal.take() {
            j.finish();
        }
    }

    fn journal(
        &mut self,
        f: impl FnOnce(&mut Journal) -> io::Result<()>,
    ) -> Result<(), CommitError> {
        let root = self.root();
        if let Some(j) = &mut self.journal {
            f(j).map_err(|source| CommitError::Io {
                path: root.join(layout::JOURNAL),
                source,
            })?;
        }
        Ok(())
    }

    fn script(
        &mut self,
        name: &str,
        version: &str,
        kind: ScriptKind,
        body: &[u8],
        args: &[String],
        indent: bool,
    ) -> bool {
        if self.opts.no_scripts {
            return true;
        }
        let package = format!("{name}-{version}");
        if indent {
            (self.report)(Event::Script {
                package: package.clone(),
                script: kind.name(),
            });
        } else {
            (self.report)(Event::Trigger {
                package: package.clone(),
            });
        }
        let root = self.root();
        let outcome = run_script(&root, name, version, kind, body, args);
        match outcome {
            ScriptOutcome::Ok { output } => {
                for l in output {
                    (self.report)(Event::ScriptOutput(l));
                }
                true
            }
            ScriptOutcome::Failed { output, message } => {
                for l in output {
                    (self.report)(Event::ScriptOutput(l));
                }
                self.error(format!("{package}.{}: {message}", kind.name()));
                false
            }
        }
    }

    fn install(
        &mut self,
        located: Located,
        ahead: Option<Result<Prepared, CommitError>>,
    ) -> Result<(), CommitError> {
        let info = &located.0;
        let package = format!("{}-{}", info.name, info.version);
        let old_pos = self
            .db
            .installed
            .packages
            .iter()
            .position(|p| p.name == info.name);
        let old = old_pos.map(|i| self.db.installed.packages[i].clone());
        if matches!(located.1, Source::Virtual) {
            let mut info = located.0;
            info.dirs.clear();
            self.finish_install(info, old, Vec::new(), Vec::new())?;
            return Ok(());
        }
        let pkg_err = |e: &dyn std::error::Error| CommitError::Package {
            package: package.clone(),
            message: chain(e),
        };
        let ctx = Ctx::new(self.db, &self.abandoned_dirs);
        let mut prepared = match ahead {
            Some(p) => p?,
            None => ctx.open(located)?,
        };
        let scripts = prepared.scripts.clone();
        let triggers = prepared.triggers.clone();
        let mut info = prepared.info.clone();
        let expected = info.identity;
        // pre-install / pre-upgrade, once the control part checked out.
        let (pre, post) = if old.is_some() {
            (ScriptKind::PreUpgrade, ScriptKind::PostUpgrade)
        } else {
            (ScriptKind::PreInstall, ScriptKind::PostInstall)
        };
        let mut args = vec![info.version.clone()];
        if let Some(o) = &old {
            args.push(o.version.clone());
        }
        let mut script_failed = false;
        if prepared.staged.is_none() {
            // A v2 package without `datahash` is authenticated only by its whole stream (its
            // identity and signature cover the data): it is staged, and so checked, before any
            // of its scripts runs. Other packages were checked when they were opened.
            let unauthenticated = matches!(&prepared.body, Body::V2(r) if r.identity().is_none());
            if unauthenticated {
                self.journal(|j| j.staging(&info.name))?;
                ctx.stage(&mut prepared)?;
                if let (Some(Staged::V2(v2)), Some(expected)) = (&prepared.staged, &expected) {
                    if let Some(e) = identity_mismatch(&package, expected, v2) {
                        if let Some(staged) = prepared.staged.take() {
                            staged.abort();
                        }
                        return Err(e);
                    }
                }
            }
            if let Some((_, body)) = scripts.iter().find(|(k, _)| *k == pre) {
                if !self.script(&info.name, &info.version, pre, body, &args, true) {
                    script_failed = true;
                }
            }
            if prepared.staged.is_none() {
                self.journal(|j| j.staging(&info.name))?;
                ctx.stage(&mut prepared)?;
            }
        }
        let Some(staged) = prepared.staged.take() else {
            return Err(pkg_err(&io::Error::other("the package was not extracted")));
        };
        match &staged {
            Staged::V2(v2) => match &expected {
                Some(expected) => {
                    if let Some(e) = identity_mismatch(&package, expected, v2) {
                        staged.abort();
                        return Err(e);
                    }
                }
                None => info.identity = Some(v2.summary().identity()),
            },
            Staged::V3(v3) => {
                // Checked against the index before staging; apk-tools 3 records the first
                // 20 bytes of the identity (`C:`), and flags the package's `Q1` values as
                // SHA-256 cut to 160 bits (`f:S`), unless it is a meta package.
                if info.identity.is_none() {
                    info.identity =
                        Checksum::from_digest(&v3.identity()[..20], apk_index::ChecksumForm::Q1);
                }
                if info.installed_size != 0 {
                    add_flag(&mut info, 'S');
                }
            }
        }
        let sha256_160 = matches!(staged, Staged::V3(_));
        let (decisions, yielded) = self.decide(&info, old.as_ref(), staged.entries());
        let placed: Vec<bool> = decisions.iter().map(|d| d.is_some()).collect();
        let entries: Vec<StagedEntry> = staged.entries().to_vec();
        let record =
            |entries: &[StagedEntry], placed: &[bool]| record_files(entries, placed, sha256_160);
        // Journal: the plan, durable before the first rename.
        let renames: Vec<(String, String, Option<String>)> = entries
            .iter()
            .zip(&decisions)
            .filter(|(e, _)| !matches!(e.kind, StagedKind::Directory))
            .filter_map(|(e, d)| {
                let p = e.path.to_str()?;
                let dir = parent_of(p).to_owned();
                let name = p.rsplit('/').next().unwrap_or(p).to_owned();
                let tmp = crate::journal::temp_name(&info.name, p);
                let fin = match d {
                    Some(Placement::Install) => Some(name),
                    Some(Placement::InstallAs(n)) => Some(n.to_string_lossy().into_owned()),
                    _ => None,
                };
                Some((dir, tmp, fin))
            })
            .collect();
        let mut planned = info.clone();
        planned.dirs = record(&entries, &placed);
        if script_failed {
            add_flag(&mut planned, 's');
        }
        planned.triggers.clear();
        self.journal(|j| j.planned(&planned, &renames, &scripts, &triggers))?;
        let mut by_path: HashMap<PathBuf, Option<Placement>> = entries
            .iter()
            .zip(decisions)
            .map(|(e, d)| (e.path.clone(), d))
            .collect();
        let mut conflicts_seen = Vec::new();
        staged
            .commit(|e| match by_path.remove(&e.path).flatten() {
                Some(p) => p,
                None => {
                    if !yielded.contains(&e.path) {
                        conflicts_seen.push(e.path.clone());
                    }
                    Placement::Discard
                }
            })
            .map_err(|e| pkg_err(&e))?;
        self.journal(|j| j.placed(&info.name))?;
        info.dirs = record(&entries, &placed);
        if !triggers.is_empty() {
            info.triggers = triggers;
        }
        if script_failed {
            add_flag(&mut info, 's');
        }
        if !conflicts_seen.is_empty() && !self.opts.force_overwrite {
            add_flag(&mut info, 'f');
        }
        // Modified directories: where entries were placed.
        for (e, &p) in entries.iter().zip(&placed) {
            if p && !matches!(e.kind, StagedKind::Directory) {
                if let Some(s) = e.path.to_str() {
                    self.modified_dirs.insert(parent_of(s).to_owned());
                }
            } else if matches!(e.kind, StagedKind::Directory)
                && !self
                    .dir_refs
                    .contains_key(e.path.to_str().unwrap_or("").trim_end_matches('/'))
            {
                if let Some(s) = e.path.to_str() {
                    let s = s.trim_end_matches('/');
                    self.modified_dirs.insert(s.to_owned());
                    self.modified_dirs.insert(parent_of(s).to_owned());
                }
            }
        }
        self.finish_install(info.clone(), old, scripts.clone(), entries)?;
        if let Some((_, body)) = scripts.iter().find(|(k, _)| *k == post) {
            if !self.script(&info.name, &info.version, post, body, &args, true) {
                if let Some(p) = self
                    .db
                    .installed
                    .packages
                    .iter_mut()
                    .find(|p| p.name == info.name)
                {
                    add_flag(p, 's');
                }
            }
        }
        Ok(())
    }

    /// What happens to each staged entry (`None`: not placed), and which of the entries not
    /// placed are files their owner keeps because it replaces this package (not conflicts).
    fn decide(
        &mut self,
        info: &PackageInfo,
        old: Option<&PackageInfo>,
        entries: &[StagedEntry],
    ) -> (Vec<Option<Placement>>, HashSet<PathBuf>) {
        let root = self.root();
        let mut out = Vec::new();
        let mut yielded = HashSet::new();
        // The recorded checksum of each file, and whether it is a cut SHA-256 (`f:S`).
        let mut recorded: HashMap<String, (Option<Checksum>, bool)> = HashMap::new();
        if let Some(o) = old {
            let cut = truncated_sha256(o);
            for d in &o.dirs {
                for f in &d.files {
                    recorded.insert(file_path(&d.path, &f.name), (f.checksum, cut));
                }
            }
        }
        let new_cut = truncated_sha256(info);
        for e in entries {
            if matches!(e.kind, StagedKind::Directory) {
                out.push(Some(Placement::Install));
                continue;
            }
            let Some(path) = e.path.to_str().map(str::to_owned) else {
                out.push(Some(Placement::Install));
                continue;
            };
            // Conflicts with other installed packages.
            if let Some(owner) = self.owners.get(&path).cloned() {
                if owner != info.name {
                    let owner_pkg = self
                        .db
                        .installed
                        .packages
                        .iter()
                        .find(|p| p.name == owner)
                        .cloned();
                    let allowed = owner_pkg.as_ref().is_some_and(|op| may_overwrite(info, op));
                    if !allowed && owner_pkg.as_ref().is_some_and(|op| replaces(op, info)) {
                        // The owner replaces the newcomer (with the higher priority when
                        // both replace each other): its file stays, and that is no conflict.
                        yielded.insert(e.path.clone());
                        out.push(None);
                        continue;
                    }
                    if !allowed {
                        let owner_desc = owner_pkg
                            .as_ref()
                            .map_or(owner.clone(), |p| format!("{}-{}", p.name, p.version));
                        if self.opts.force_overwrite {
                            (self.report)(Event::Warning(format!(
                                "{}-{}: overwriting {path} owned by {owner_desc}.",
                                info.name, info.version
                            )));
                        } else {
                            self.error(format!(
                                "{}-{}: trying to overwrite {path} owned by {owner_desc}.",
                                info.name, info.version
                            ));
                            out.push(None);
                            continue;
                        }
                    }
                    // The file changes hands: the owner's record loses it.
                    if let Some(op) = owner_pkg {
                        recorded
                            .insert(path.clone(), (find_file(&op, &path), truncated_sha256(&op)));
                    }
                    self.disown(&owner, &path);
                }
            }
            let protection = self.db.protected.classify(&path);
            let protected = match protection {
                Protection::Protected | Protection::Always => true,
                Protection::SymlinksOnly => matches!(e.kind, StagedKind::Symlink { .. }),
                _ => false,
            };
            if protected && e.existed && !self.opts.clean_protected {
                let full = root.join(&path);
                let disk = disk_checksum(&full, new_cut);
                if disk.is_some() && disk == e.checksum {
                    out.push(Some(Placement::Discard));
                    continue;
                }
                let modified = match recorded.get(&path) {
                    Some((Some(rec), cut)) => {
                        let disk = if *cut == new_cut {
                            disk
                        } else {
                            disk_checksum(&full, *cut)
                        };
                        disk.as_ref() != Some(rec)
                    }
                    _ => true,
                };
                if modified {
                    let name = e
                        .path
                        .file_name()
                        .map(|n| {
                            let mut n = n.to_owned();
                            n.push(".apk-new");
                            n
                        })
                        .unwrap_or_else(|| OsString::from(".apk-new"));
                    (self.report)(Event::NewConfig {
                        path: format!("{path}.apk-new"),
                    });
                    out.push(Some(Placement::InstallAs(name)));
                    continue;
                }
            }
            out.push(Some(Placement::Install));
        }
        (out, yielded)
    }

    /// Remove `path` from the record of installed package `owner`.
    fn disown(&mut self, owner: &str, path: &str) {
        let dir = parent_of(path);
        let name = path.rsplit('/').next().unwrap_or(path);
        if let Some(p) = self
            .db
            .installed
            .packages
            .iter_mut()
            .find(|p| p.name == owner)
        {
            for d in &mut p.dirs {
                if d.path == dir {
                    d.files.retain(|f| f.name != name);
                }
            }
        }
        self.owners.remove(path);
    }

    /// Record the newly installed package, purge what the old version had that the new one
    /// has not, update scripts and triggers.
    fn finish_install(
        &mut self,
        info: PackageInfo,
        old: Option<PackageInfo>,
        scripts: Vec<(ScriptKind, Vec<u8>)>,
        _entries: Vec<StagedEntry>,
    ) -> Result<(), CommitError> {
        let new_files: BTreeSet<String> = info
            .dirs
            .iter()
            .flat_map(|d| d.files.iter().map(move |f| file_path(&d.path, &f.name)))
            .collect();
        if let Some(o) = &old {
            // Files of the old version the new one does not have.
            for d in &o.dirs {
                for f in &d.files {
                    let p = file_path(&d.path, &f.name);
                    if new_files.contains(&p) {
                        continue;
                    }
                    if self.owners.get(&p).is_some_and(|ow| ow != &o.name) {
                        continue;
                    }
                    self.remove_file(&p, f.checksum.as_ref(), truncated_sha256(o));
                    self.owners.remove(&p);
                }
            }
            for d in &o.dirs {
                if let Some(n) = self.dir_refs.get_mut(&d.path) {
                    *n = n.saturating_sub(1);
                }
            }
            self.db.scripts.remove_package(&o.name, &o.version);
            self.db.triggers.entries.retain(|t| {
                o.identity
                    .as_ref()
                    .is_none_or(|id| t.identity != id.to_string())
            });
        }
        for d in &info.dirs {
            *self.dir_refs.entry(d.path.clone()).or_insert(0) += 1;
        }
        if let Some(o) = &old {
            self.remove_unowned_dirs(&o.dirs.iter().map(|d| d.path.clone()).collect::<Vec<_>>());
        }
        for p in &new_files {
            self.owners.insert(p.clone(), info.name.clone());
        }
        let identity = info.identity;
        if let Some(id) = &identity {
            for (kind, body) in &scripts {
                self.db.scripts.insert(
                    &info.name,
                    &info.version,
                    &id.to_string(),
                    *kind,
                    body.clone(),
                );
            }
            if !info.triggers.is_empty() {
                self.db.triggers.entries.push(TriggerEntry {
                    identity: id.to_string(),
                    globs: info.triggers.clone(),
                });
            }
        }
        self.installed_now.push(info.name.clone());
        let record = {
            let mut r = info;
            r.triggers.clear();
            r
        };
        match self
            .db
            .installed
            .packages
            .iter()
            .position(|p| p.name == record.name)
        {
            Some(i) => self.db.installed.packages[i] = record.clone(),
            None => self.db.installed.packages.push(record.clone()),
        }
        self.journal(|j| j.package_done(&record))?;
        Ok(())
    }

    /// Remove a file a package owned (a changed protected file stays unless `--purge`).
    fn remove_file(&mut self, path: &str, recorded: Option<&Checksum>, sha256_160: bool) {
        let root = self.root();
        let full = root.join(path);
        let protection = self.db.protected.classify(path);
        let protected = match protection {
            Protection::Protected | Protection::Always => true,
            Protection::SymlinksOnly => {
                fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_symlink())
            }
            _ => false,
        };
        if protected && !self.opts.purge {
            let disk = disk_checksum(&full, sha256_160);
            let changed = match (disk.as_ref(), recorded) {
                (Some(d), Some(r)) => d != r,
                (None, _) => false,
                (Some(_), None) => true,
            };
            if changed {
                let mut apk_new = full.as_os_str().to_owned();
                apk_new.push(".apk-new");
                let _ = fs::remove_file(PathBuf::from(apk_new));
                return;
            }
        }
        if fs::remove_file(&full).is_ok() {
            self.modified_dirs.insert(parent_of(path).to_owned());
        }
        if protected {
            let mut apk_new = full.as_os_str().to_owned();
            apk_new.push(".apk-new");
            let _ = fs::remove_file(PathBuf::from(apk_new));
        }
    }

    /// Remove what abandoned stagings created (see [`Run::abandoned_dirs`]).
    fn remove_abandoned_dirs(&mut self) {
        let dirs: Vec<String> = match self.abandoned_dirs.lock() {
            Ok(mut list) => list
                .drain(..)
                .filter_map(|p| p.to_str().map(str::to_owned))
                .collect(),
            Err(_) => return,
        };
        self.remove_unowned_dirs(&dirs);
    }

    /// Remove the directories among `dirs` that no installed package lists any more and that
    /// are empty, deepest first.
    fn remove_unowned_dirs(&mut self, dirs: &[String]) {
        let root = self.root();
        let mut dirs: Vec<&String> = dirs.iter().collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
        for d in dirs {
            if d.is_empty() {
                continue;
            }
            if self.dir_refs.get(d).copied().unwrap_or(0) > 0 {
                continue;
            }
            self.dir_refs.remove(d);
            if fs::remove_dir(root.join(d)).is_ok() {
                self.modified_dirs.insert(parent_of(d).to_owned());
                self.modified_dirs.insert(d.clone());
            }
        }
    }

    fn remove(&mut self, name: &str) -> Result<(), CommitError> {
        let Some(pos) = self
            .db
            .installed
            .packages
            .iter()
            .position(|p| p.name == name)
        else {
            return Ok(());
        };
        let old = self.db.installed.packages[pos].clone();
        let id = old
            .identity
            .as_ref()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let args = vec![old.version.clone()];
        let pre = self
            .db
            .scripts
            .get(&old.name, &old.version, &id, ScriptKind::PreDeinstall)
            .map(<[u8]>::to_vec);
        let post = self
            .db
            .scripts
            .get(&old.name, &old.version, &id, ScriptKind::PostDeinstall)
            .map(<[u8]>::to_vec);
        if let Some(body) = pre {
            self.script(
                &old.name,
                &old.version,
                ScriptKind::PreDeinstall,
                &body,
                &args,
                true,
            );
        }
        self.journal(|j| j.removing(name))?;
        for d in &old.dirs {
            for f in &d.files {
                let p = file_path(&d.path, &f.name);
                if self.owners.get(&p).is_some_and(|o| o != &old.name) {
                    continue;
                }
                self.remove_file(&p, f.checksum.as_ref(), truncated_sha256(&old));
                self.owners.remove(&p);
            }
        }
        for d in &old.dirs {
            if let Some(n) = self.dir_refs.get_mut(&d.path) {
                *n = n.saturating_sub(1);
            }
        }
        self.remove_unowned_dirs(&old.dirs.iter().map(|d| d.path.clone()).collect::<Vec<_>>());
        if let Some(body) = post {
            self.script(
                &old.name,
                &old.version,
                ScriptKind::PostDeinstall,
                &body,
                &args,
                true,
            );
        }
        self.db.scripts.remove_package(&old.name, &old.version);
        self.db.triggers.entries.retain(|t| t.identity != id);
        self.db.installed.packages.retain(|p| p.name != name);
        self.journal(|j| j.package_removed(name))?;
        Ok(())
    }

    /// Run each trigger once with the directories it matches.
    fn run_triggers(&mut self) {
        let all_dirs: BTreeSet<String> = self
            .db
            .installed
            .packages
            .iter()
            .flat_map(|p| p.dirs.iter().map(|d| d.path.clone()))
            .filter(|d| !d.is_empty())
            .collect();
        let entries = self.db.triggers.entries.clone();
        // Changeset order first, then the others in database order.
        let mut order: Vec<&TriggerEntry> = Vec::new();
        for name in &self.installed_now {
            if let Some(p) = self.db.installed.packages.iter().find(|p| &p.name == name) {
                if let Some(id) = &p.identity {
                    let id = id.to_string();
                    if let Some(e) = entries.iter().find(|e| e.identity == id) {
                        order.push(e);
                    }
                }
            }
        }
        for e in &entries {
            if !order.iter().any(|o| o.identity == e.identity) {
                order.push(e);
            }
        }
        for entry in order {
            let Some(pkg) = self
                .db
                .installed
                .packages
                .iter()
                .find(|p| {
                    p.identity
                        .as_ref()
                        .is_some_and(|i| i.to_string() == entry.identity)
                })
                .cloned()
            else {
                continue;
            };
            let fresh = self.installed_now.contains(&pkg.name);
            let mut matched: Vec<String> = Vec::new();
            for glob in &entry.globs {
                let (only_modified, pattern) = match glob.strip_prefix('+') {
                    Some(p) => (true, p),
                    None => (false, glob.as_str()),
                };
                let candidates: Vec<&String> = if fresh && !only_modified {
                    all_dirs.iter().collect()
                } else {
                    self.modified_dirs
                        .iter()
                        .filter(|d| !d.is_empty() && all_dirs.contains(*d))
                        .collect()
                };
                for d in candidates {
                    let abs = format!("/{d}");
                    if glob_matches(pattern, &abs) && !matched.contains(&abs) {
                        matched.push(abs);
                    }
                }
            }
            if matched.is_empty() {
                continue;
            }
            let body = self
                .db
                .scripts
                .get(
                    &pkg.name,
                    &pkg.version,
                    &entry.identity,
                    ScriptKind::Trigger,
                )
                .map(<[u8]>::to_vec);
            if let Some(body) = body {
                if !self.script(
                    &pkg.name,
                    &pkg.version,
                    ScriptKind::Trigger,
                    &body,
                    &matched,
                    false,
                ) {
                    if let Some(p) = self
                        .db
                        .installed
                        .packages
                        .iter_mut()
                        .find(|p| p.name == pkg.name)
                    {
                        add_flag(p, 's');
                    }
                }
            }
        }
    }
}

fn find_file(p: &PackageInfo, path: &str) -> Option<Checksum> {
    let dir = parent_of(path);
    let name = path.rsplit('/').next().unwrap_or(path);
    p.dirs
        .iter()
        .filter(|d| d.path == dir)
        .flat_map(|d| d.files.iter())
        .find(|f| f.name == name)
        .and_then(|f| f.checksum)
}

fn add_flag(p: &mut PackageInfo, flag: char) {
    let mut flags = p.flags.clone().unwrap_or_default();
    if !flags.contains(flag) {
        flags.push(flag);
    }
    p.flags = Some(flags);
}

/// Whether `a` lists `b` (its exact name and version) in its `replaces`.
fn replaces(a: &PackageInfo, b: &PackageInfo) -> bool {
    a.replaces.iter().any(|d| {
        d.name() == b.name
            && d.as_ref()
                .version_matches(Some(&b.version), apk_index::Rules::V3)
    })
}

/// Whether `new` may take over files of installed package `owner`: same origin, or `new`
/// replaces `owner` (and `owner` does not replace `new` with a higher priority).
fn may_overwrite(new: &PackageInfo, owner: &PackageInfo) -> bool {
    if new.name == owner.name {
        return true;
    }
    if let (Some(a), Some(b)) = (&new.origin, &owner.origin) {
        if a == b {
            return true;
        }
    }
    if replaces(new, owner) {
        if replaces(owner, new) {
            return new.replaces_priority >= owner.replaces_priority;
        }
        return true;
    }
    false
}
