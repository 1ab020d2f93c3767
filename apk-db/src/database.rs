//! [`Database`]: a root's installed packages, world, repositories, keys and cache.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use apk_index::{
    Dependency, Index, IndexOptions, InstalledDb, InstalledDbOptions, KeySet, PackageInfo,
};

use crate::fetch::{Cache, FetchError, Fetcher};
use crate::lock::{DbLock, LockError};
use crate::protected::ProtectedPaths;
use crate::repositories::{Repository, RepositoryList};
use crate::scripts::ScriptsDb;
use crate::transaction::file_path;
use crate::triggers::TriggerDb;
use crate::world::{parse_world, write_world};

/// Paths inside a root, as apk-tools lays them out.
pub mod layout {
    /// The installed database.
    pub const INSTALLED: &str = "lib/apk/db/installed";
    /// The scripts of installed packages (apk-tools 2 and databases that already have it).
    pub const SCRIPTS_TAR: &str = "lib/apk/db/scripts.tar";
    /// The scripts of installed packages, compressed (new apk-tools 3 databases).
    pub const SCRIPTS_TAR_GZ: &str = "lib/apk/db/scripts.tar.gz";
    /// Trigger globs of installed packages.
    pub const TRIGGERS: &str = "lib/apk/db/triggers";
    /// The lock file.
    pub const LOCK: &str = "lib/apk/db/lock";
    /// apk-rs' crash journal (not an apk-tools file).
    pub const JOURNAL: &str = "lib/apk/db/apk-rs.journal";
    /// World.
    pub const WORLD: &str = "etc/apk/world";
    /// The architectures, primary first.
    pub const ARCH: &str = "etc/apk/arch";
    /// Trusted keys.
    pub const KEYS: &str = "etc/apk/keys";
    /// The repositories file.
    pub const REPOSITORIES: &str = "etc/apk/repositories";
    /// The package cache, when it exists (usually a symlink).
    pub const CACHE_LINK: &str = "etc/apk/cache";
    /// The static index cache.
    pub const STATIC_CACHE: &str = "var/cache/apk";
    /// Where scripts are written before they run.
    pub const EXEC: &str = "lib/apk/exec";
    /// The log apk-tools 3 keeps.
    pub const LOG: &str = "var/log/apk.log";
}

/// How to open a [`Database`].
///
/// ```
/// use apk_db::OpenOptions;
/// let opts = OpenOptions::new("/tmp/root").initdb(true).arch("x86_64");
/// assert!(opts.initdb);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// The root (`--root`).
    pub root: PathBuf,
    /// `--initdb`: create the layout first.
    pub initdb: bool,
    /// `--arch`: the primary architecture (written to `etc/apk/arch` with `initdb`).
    pub arch: Option<String>,
    /// `--keys-dir`, instead of `ROOT/etc/apk/keys`.
    pub keys_dir: Option<PathBuf>,
    /// `--repository`/`-X` URLs, after those of the repositories files.
    pub extra_repositories: Vec<String>,
    /// `--repositories-file`, instead of `ROOT/etc/apk/repositories`.
    pub repositories_file: Option<PathBuf>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--allow-untrusted`.
    pub allow_untrusted: bool,
    /// Take the lock (any command that may write); `None` opens read-only.
    pub lock: Option<LockWait>,
    /// `--no-network`.
    pub no_network: bool,
    /// `-U`/`--update-cache`: refresh remote indexes whatever their age.
    pub update_cache: bool,
    /// `--cache-max-age`: how old a cached remote index may be (default 4 hours).
    pub cache_max_age: Duration,
    /// Create the static index cache (`var/cache/apk`) when there is no `etc/apk/cache`, as
    /// apk-tools does for every command without `--no-cache`. Always done when the lock is
    /// taken; set this for read-only commands that should behave the same.
    pub prepare_cache: bool,
}

/// How long to wait for the lock (`--wait`).
///
/// ```
/// use apk_db::LockWait;
/// let w = LockWait::Seconds(5);
/// assert_ne!(w, LockWait::NoWait);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Fail at once when another process holds it.
    NoWait,
    /// Wait up to this many seconds.
    Seconds(u64),
}

impl OpenOptions {
    /// Defaults for `root`: no initdb, the lock without waiting, the cache on.
    pub fn new(root: impl Into<PathBuf>) -> OpenOptions {
        OpenOptions {
            root: root.into(),
            initdb: false,
            arch: None,
            keys_dir: None,
            extra_repositories: Vec::new(),
            repositories_file: None,
            no_cache: false,
            allow_untrusted: false,
            lock: Some(LockWait::NoWait),
            no_network: false,
            update_cache: false,
            cache_max_age: Duration::from_secs(4 * 3600),
            prepare_cache: false,
        }
    }

    /// Set [`initdb`](Self::initdb).
    pub fn initdb(mut self, yes: bool) -> Self {
        self.initdb = yes;
        self
    }

    /// Set [`arch`](Self::arch).
    pub fn arch(mut self, arch: impl Into<String>) -> Self {
        self.arch = Some(arch.into());
        self
    }

    /// Set [`lock`](Self::lock).
    pub fn lock(mut self, wait: Option<LockWait>) -> Self {
        self.lock = wait;
        self
    }

    /// Add a `-X` repository.
    pub fn repository(mut self, url: impl Into<String>) -> Self {
        self.extra_repositories.push(url.into());
        self
    }

    /// Set [`allow_untrusted`](Self::allow_untrusted).
    pub fn allow_untrusted(mut self, yes: bool) -> Self {
        self.allow_untrusted = yes;
        self
    }

    /// Set [`no_cache`](Self::no_cache).
    pub fn no_cache(mut self, yes: bool) -> Self {
        self.no_cache = yes;
        self
    }

    /// Set [`keys_dir`](Self::keys_dir).
    pub fn keys_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.keys_dir = Some(dir.into());
        self
    }
}

/// Returned by [`Database::open`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The root has no database and `--initdb` was not given.
    #[error(
        "{root}: no installed database ({}); use --initdb to create one",
        layout::INSTALLED
    )]
    NoDatabase {
        /// The root.
        root: PathBuf,
    },
    /// Another process holds the lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A database file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A database file is malformed.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The keys directory could not be read.
    #[error("{path}: {message}")]
    Keys {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// One repository of the database with its index, once loaded.
#[derive(Debug, Clone)]
pub struct LoadedRepository {
    /// The repository line.
    pub repository: Repository,
    /// Where its index is.
    pub index_url: String,
    /// The index, when it loaded.
    pub index: Option<Arc<Index>>,
    /// Why it did not load (naming the index or file that failed).
    pub error: Option<String>,
    /// Whether this is the cache's index of installed non-repository packages
    /// (`CACHE/installed`), which the solver treats as apk does (`masked in: cache`).
    pub is_cache: bool,
}

/// A root's package database: installed packages, world, triggers, scripts, repositories,
/// keys, architectures, protected paths, and the lock while it is open for writing.
///
/// ```no_run
/// use apk_db::{Database, OpenOptions};
/// let db = Database::open(&OpenOptions::new("/").lock(None))?;
/// for p in &db.installed().packages {
///     println!("{}-{}", p.name, p.version);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Database {
    pub(crate) root: PathBuf,
    pub(crate) options: OpenOptions,
    pub(crate) installed: InstalledDb,
    pub(crate) world: Vec<Dependency>,
    pub(crate) triggers: TriggerDb,
    pub(crate) scripts: ScriptsDb,
    pub(crate) scripts_gz: bool,
    pub(crate) repositories: RepositoryList,
    pub(crate) loaded: Vec<LoadedRepository>,
    pub(crate) arches: Vec<String>,
    pub(crate) keys: KeySet,
    pub(crate) protected: ProtectedPaths,
    pub(crate) fetcher: Fetcher,
    pub(crate) cache: Option<Cache>,
    pub(crate) recovered: Vec<String>,
    _lock: Option<DbLock>,
}

pub use apk_solver::command::default_arch;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, OpenError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(OpenError::Io {
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// Write `data` to `path` atomically: `path.new`, fsync, rename, fsync of the directory.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl Database {
    /// Open the database of `options.root`: create the layout with `initdb`, take the lock,
    /// recover from an interrupted transaction, and read installed, world, triggers,
    /// scripts, repositories, keys, arch and protected paths. Indexes are loaded separately
    /// ([`load_indexes`](Self::load_indexes)).
    pub fn open(options: &OpenOptions) -> Result<Database, OpenError> {
        let root = options.root.clone();
        if options.initdb {
            init_layout(&root, options.arch.as_deref())?;
        }
        let installed_path = root.join(layout::INSTALLED);
        if !installed_path.exists() {
            return Err(OpenError::NoDatabase { root });
        }
        let lock = match options.lock {
            Some(LockWait::NoWait) => Some(DbLock::acquire(&root, None)?),
            Some(LockWait::Seconds(s)) => {
                Some(DbLock::acquire(&root, Some(Duration::from_secs(s)))?)
            }
            None => None,
        };
        let installed_bytes = fs::read(&installed_path).map_err(io_err(&installed_path))?;
        // Strict first; a database apk-tools would still read (say, an identity that is not
        // canonical base64) is read the tolerant way apk-tools reads it.
        let installed =
            match InstalledDb::from_bytes(&installed_bytes, &InstalledDbOptions::default()) {
                Ok(db) => db,
                Err(_) => apk_solver::command::read_installed(&installed_bytes),
            };
        let world_path = root.join(layout::WORLD);
        let world = match read_optional(&world_path)? {
            Some(b) => {
                let text = String::from_utf8_lossy(&b);
                parse_world(&text).map_err(|e| OpenError::Corrupt {
                    path: world_path.clone(),
                    message: e.to_string(),
                })?
            }
            None => Vec::new(),
        };
        let triggers_path = root.join(layout::TRIGGERS);
        let triggers = match read_optional(&triggers_path)? {
            Some(b) => {
                let text = String::from_utf8_lossy(&b);
                TriggerDb::parse(&text).map_err(|e| OpenError::Corrupt {
                    path: triggers_path.clone(),
                    message: e.to_string(),
                })?
            }
            None => TriggerDb::default(),
        };
        let (scripts, scripts_gz) = {
            let plain = root.join(layout::SCRIPTS_TAR);
            let gz = root.join(layout::SCRIPTS_TAR_GZ);
            match (read_optional(&plain)?, read_optional(&gz)?) {
                (Some(b), _) => (
                    ScriptsDb::from_bytes(&b).map_err(|e| OpenError::Corrupt {
                        path: plain.clone(),
                        message: e.to_string(),
                    })?,
                    false,
                ),
                (None, Some(b)) => (
                    ScriptsDb::from_bytes(&b).map_err(|e| OpenError::Corrupt {
                        path: gz.clone(),
                        message: e.to_string(),
                    })?,
                    true,
                ),
                (None, None) => (ScriptsDb::default(), false),
            }
        };
        let arch_path = root.join(layout::ARCH);
        let mut arches: Vec<String> = match read_optional(&arch_path)? {
            Some(b) => String::from_utf8_lossy(&b)
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            None => Vec::new(),
        };
        if let Some(a) = &options.arch {
            arches.retain(|x| x != a);
            arches.insert(0, a.clone());
        }
        if arches.is_empty() {
            arches.push(default_arch().to_owned());
        }
        let keys_dir = options
            .keys_dir
            .clone()
            .unwrap_or_else(|| root.join(layout::KEYS));
        let mut keys = KeySet::new();
        for dir in [keys_dir.clone(), root.join("lib/apk/keys")] {
            if dir.is_dir() {
                let more = KeySet::from_dir(&dir).map_err(|e| OpenError::Keys {
                    path: dir.clone(),
                    message: e.to_string(),
                })?;
                for name in more.names().map(str::to_owned).collect::<Vec<_>>() {
                    if let Some(k) = more.get(&name) {
                        if !keys.contains(&name) {
                            keys.insert(name, k.clone());
                        }
                    }
                }
            } else if options.keys_dir.as_ref() == Some(&dir) {
                return Err(OpenError::Keys {
                    path: dir,
                    message: "not a directory".into(),
                });
            }
        }
        let primary = arches[0].clone();
        let mut repositories = match &options.repositories_file {
            Some(file) => {
                let text = fs::read_to_string(file).map_err(io_err(file))?;
                RepositoryList::parse(&text, &primary).map_err(|e| OpenError::Corrupt {
                    path: file.clone(),
                    message: e.to_string(),
                })?
            }
            None => RepositoryList::load(&root, &primary).map_err(|e| OpenError::Corrupt {
                path: root.join(layout::REPOSITORIES),
                message: e.to_string(),
            })?,
        };
        for url in &options.extra_repositories {
            repositories.push_url(url).map_err(|e| OpenError::Corrupt {
                path: PathBuf::from(url),
                message: e.to_string(),
            })?;
        }
        let protected = ProtectedPaths::load(&root).map_err(|e| OpenError::Corrupt {
            path: root.join("etc/apk/protected_paths.d"),
            message: e.to_string(),
        })?;
        let cache = if options.no_cache {
            None
        } else {
            let link = root.join(layout::CACHE_LINK);
            if link.is_dir() {
                Some(Cache::new(link))
            } else {
                let dir = root.join(layout::STATIC_CACHE);
                if options.lock.is_some() || options.prepare_cache {
                    let _ = fs::create_dir_all(&dir);
                }
                None
            }
        };
        let fetcher = Fetcher::new().with_no_network(options.no_network);
        let mut db = Database {
            root,
            options: options.clone(),
            installed,
            world,
            triggers,
            scripts,
            scripts_gz,
            repositories,
            loaded: Vec::new(),
            arches,
            keys,
            protected,
            fetcher,
            cache,
            recovered: Vec::new(),
            _lock: lock,
        };
        if db._lock.is_some() {
            db.recover()?;
        }
        Ok(db)
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The installed packages.
    pub fn installed(&self) -> &InstalledDb {
        &self.installed
    }

    /// World.
    pub fn world(&self) -> &[Dependency] {
        &self.world
    }

    /// The trigger database.
    pub fn triggers(&self) -> &TriggerDb {
        &self.triggers
    }

    /// The scripts of installed packages.
    pub fn scripts(&self) -> &ScriptsDb {
        &self.scripts
    }

    /// The architectures, primary first.
    pub fn arches(&self) -> &[String] {
        &self.arches
    }

    /// The trusted keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The protected-path rules.
    pub fn protected_paths(&self) -> &ProtectedPaths {
        &self.protected
    }

    /// The repositories, in order.
    pub fn repositories(&self) -> &RepositoryList {
        &self.repositories
    }

    /// The repositories with their indexes, after [`load_indexes`](Self::load_indexes).
    pub fn loaded_repositories(&self) -> &[LoadedRepository] {
        &self.loaded
    }

    /// The package cache, when enabled (`etc/apk/cache` exists and no `--no-cache`).
    pub fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }

    /// What opening repaired after an interrupted transaction (empty when nothing was).
    pub fn recovered(&self) -> &[String] {
        &self.recovered
    }

    /// The fetcher used for repositories.
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// The installed package named `name`.
    pub fn installed_package(&self, name: &str) -> Option<&PackageInfo> {
        self.installed.packages.iter().find(|p| p.name == name)
    }

    /// Replace world (written at the next [`commit`](crate::Transaction::commit) or
    /// [`write`](Self::write)).
    pub fn set_world(&mut self, world: Vec<Dependency>) {
        self.world = world;
    }

    /// Load every repository's index: local ones directly, remote ones through the cache
    /// (refreshed when older than the maximum age, or always with `update`). Each index is
    /// verified against the trusted keys unless `--allow-untrusted`. A repository that
    /// fails is kept with its error (apk goes on without it).
    ///
    /// Indexes are `APKINDEX.tar.gz` (v2, keys matched by file name) or, recognised by their
    /// `ADB` magic, v3 `Packages.adb` files (the `v3 URL` and `ndx URL` repository lines and
    /// URLs ending in `.adb`; keys matched by key id, their file names do not matter).
    pub fn load_indexes(&mut self, update: bool) {
        let arch = self.arches[0].clone();
        // Each repository is fetched and parsed on a thread of its own (a handful at most;
        // Alpine's main and community take about as long as the larger one alone).
        let this = &*self;
        let mut loaded: Vec<LoadedRepository> = std::thread::scope(|s| {
            let loading: Vec<_> = this
                .repositories
                .repositories()
                .iter()
                .map(|repo| {
                    let index_url = repo.index_url(&arch);
                    let handle = std::thread::Builder::new()
                        .spawn_scoped(s, {
                            let url = index_url.clone();
                            move || this.load_index(repo, &url, update)
                        })
                        .ok();
                    (repo.clone(), index_url, handle)
                })
                .collect();
            loading
                .into_iter()
                .map(|(repository, index_url, handle)| {
                    let result = match handle {
                        Some(handle) => handle
                            .join()
                            .unwrap_or_else(|_| Err(format!("{index_url}: index loader failed"))),
                        // No thread could start for it: load it here.
                        None => this.load_index(&repository, &index_url, update),
                    };
                    let (index, error) = match result {
                        Ok(i) => (Some(Arc::new(i)), None),
                        Err(e) => (None, Some(e)),
                    };
                    LoadedRepository {
                        repository,
                        index_url,
                        index,
                        error,
                        is_cache: false,
                    }
                })
                .collect()
        });
        if let Some(cache) = &self.cache {
            let path = cache.dir().join("installed");
            if let Ok(text) = fs::read(&path) {
                let index = Index::from_text(text, &IndexOptions::default());
                let url = path.display().to_string();
                loaded.push(LoadedRepository {
                    repository: Repository::new(&url, crate::repositories::RepositoryFormat::V2),
                    index_url: url,
                    index: Some(Arc::new(index)),
                    error: None,
                    is_cache: true,
                });
            }
        }
        self.loaded = loaded;
    }

    /// Where a remote repository's index is cached: `APKINDEX.<8 hex>.tar.gz`, named (as in
    /// every apk-written cache of the corpus) from the repository URL as written.
    fn index_cache_path(&self, repo: &Repository, url: &str) -> Option<PathBuf> {
        if self.options.no_cache || is_local(url) {
            return None;
        }
        let dir = match &self.cache {
            Some(c) => c.dir().to_owned(),
            None => self.root.join(layout::STATIC_CACHE),
        };
        Some(dir.join(repo.cache_index_name()))
    }

    fn load_index(&self, repo: &Repository, url: &str, update: bool) -> Result<Index, String> {
        let keys = if self.options.allow_untrusted {
            None
        } else {
            Some(&self.keys)
        };
        let opts = IndexOptions::default();
        let bytes = match self.index_cache_path(repo, url) {
            Some(path) => {
                let fresh = path.exists()
                    && (self.options.no_network
                        || (!update
                            && !self.options.update_cache
                            && Cache::is_fresh(&path, self.options.cache_max_age)));
                if !fresh {
                    if let Some(dir) = path.parent() {
                        let _ = fs::create_dir_all(dir);
                    }
                    let fetched = self.fetcher.fetch_to_file(url, &path, &mut |_, _| {});
                    if let Err(e) = fetched {
                        if !path.exists() {
                            return Err(e.to_string());
                        }
                    }
                }
                fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => self
                .fetcher
                .fetch_bytes(url)
                .map_err(|e: FetchError| e.to_string())?,
        };
        fn describe(url: &str, e: &dyn std::error::Error) -> String {
            format!("{url}: {}", crate::transaction::chain(e))
        }
        // A v3 index (`Packages.adb`, any compression) is known by its magic, whatever the
        // repository line says; its signature is matched by key id.
        if bytes.starts_with(b"ADB") {
            return Index::from_adb_bytes(&bytes, keys, &opts).map_err(|e| describe(url, &e));
        }
        Index::from_archive_bytes(&bytes, keys, &opts).map_err(|e| describe(url, &e))
    }

    /// The loaded indexes as the solver's repositories, in order, with their tags.
    ///
    /// With `--no-network` a remote repository is unavailable, but the cache is still used:
    /// its packages whose files are in the package cache follow as a cache repository (with
    /// the same tag), so that they stay installable.
    pub fn solver_repositories(&self) -> Vec<apk_solver::Repository> {
        let mut repos: Vec<apk_solver::Repository> = self
            .loaded
            .iter()
            .filter_map(|l| {
                let index = l.index.clone()?;
                let mut r = apk_solver::Repository::new(index);
                if let Some(t) = &l.repository.tag {
                    r = r.with_tag(t.clone());
                }
                if l.is_cache {
                    r = r.with_kind(apk_solver::RepositoryKind::Cache);
                } else if is_local(&l.index_url) {
                    r = r.with_kind(apk_solver::RepositoryKind::Local);
                }
                Some(r)
            })
            .collect();
        if let (true, Some(cache)) = (self.options.no_network, &self.cache) {
            for l in &self.loaded {
                let Some(index) = l
                    .index
                    .as_ref()
                    .filter(|_| !l.is_cache && !is_local(&l.index_url))
                else {
                    continue;
                };
                let mut text = Vec::new();
                for p in index.packages() {
                    let cached = p
                        .identity()
                        .is_some_and(|id| cache.package_path(p.name(), p.version(), &id).is_file());
                    if cached && p.write_index_fields(&mut text).is_ok() {
                        text.push(b'\n');
                    }
                }
                if text.is_empty() {
                    continue;
                }
                let index = Index::from_text(text, &IndexOptions::default());
                let mut r =
                    apk_solver::Repository::new(index).with_kind(apk_solver::RepositoryKind::Cache);
                if let Some(t) = &l.repository.tag {
                    r = r.with_tag(t.clone());
                }
                repos.push(r);
            }
        }
        repos
    }

    /// The number of distinct package names available from the loaded indexes.
    pub fn available_names(&self) -> usize {
        let mut names: Vec<&str> = Vec::new();
        for l in &self.loaded {
            if let Some(i) = &l.index {
                for p in i.packages() {
                    names.push(p.name());
                }
            }
        }
        names.sort_unstable();
        names.dedup();
        names.len()
    }

    /// Write the installed database, world, triggers and scripts atomically (each file as
    /// `*.new`, fsync, rename).
    pub fn write(&mut self) -> io::Result<()> {
        self.write_files(true)
    }

    /// [`write`](Self::write), optionally leaving `etc/apk/world` as it is on disk (after a
    /// failed commit, which records the packages it handled but not its new world).
    pub(crate) fn write_files(&mut self, with_world: bool) -> io::Result<()> {
        let mut packages = std::mem::take(&mut self.installed.packages);
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        self.installed.packages = packages;
        let mut text = Vec::new();
        self.installed.write_to(&mut text)?;
        write_atomic(&self.root.join(layout::INSTALLED), &text)?;
        let scripts = self.scripts.to_tar_bytes()?;
        if self.scripts_gz {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&scripts)?;
            write_atomic(&self.root.join(layout::SCRIPTS_TAR_GZ), &enc.finish()?)?;
        } else {
            write_atomic(&self.root.join(layout::SCRIPTS_TAR), &scripts)?;
        }
        write_atomic(
            &self.root.join(layout::TRIGGERS),
            self.triggers.write().as_bytes(),
        )?;
        if with_world {
            write_atomic(
                &self.root.join(layout::WORLD),
                write_world(&self.world).as_bytes(),
            )?;
        }
        Ok(())
    }

    /// Append a line to `var/log/apk.log` (best effort, as apk-tools 3 keeps one).
    pub(crate) fn log(&self, line: &str) {
        let path = self.root.join(layout::LOG);
        if let Some(dir) = path.parent() {
            let _ = fs::create_dir_all(dir);
        }
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(&path) {
            let _ = writeln!(f, "{line}");
        }
    }
}

impl Database {
    /// Replay a journal left by an interrupted transaction (see [`crate::journal`]).
    fn recover(&mut self) -> Result<(), OpenError> {
        use crate::journal::{self, Step};
        let path = self.root.join(layout::JOURNAL);
        let Some(data) = read_optional(&path)? else {
            return Ok(());
        };
        let root = self.root.clone();
        let mut notes = Vec::new();
        let mut staged = Vec::new();
        for step in journal::parse(&data) {
            match step {
                Step::Staging(name) => staged.push(name),
                Step::Install {
                    record,
                    renames,
                    scripts,
                    triggers,
                    placed,
                    done,
                } => {
                    let record = *record;
                    if !placed {
                        for (dir, tmp, final_name) in &renames {
                            let d = root.join(dir);
                            let t = d.join(tmp);
                            if fs::symlink_metadata(&t).is_err() {
                                continue;
                            }
                            let r = match final_name {
                                Some(f) => fs::rename(&t, d.join(f)),
                                None => fs::remove_file(&t),
                            };
                            r.map_err(io_err(&t))?;
                        }
                        for d in &record.dirs {
                            if d.path.is_empty() {
                                continue;
                            }
                            let mode = d.acl.as_ref().map_or(0o755, |a| a.mode);
                            use std::os::unix::fs::PermissionsExt;
                            let _ = fs::set_permissions(
                                root.join(&d.path),
                                fs::Permissions::from_mode(mode),
                            );
                        }
                    }
                    let old = self
                        .installed
                        .packages
                        .iter()
                        .find(|p| p.name == record.name)
                        .cloned();
                    let keep: std::collections::HashSet<String> = record
                        .dirs
                        .iter()
                        .flat_map(|d| d.files.iter().map(move |f| file_path(&d.path, &f.name)))
                        .collect();
                    if !done {
                        if let Some(old) = &old {
                            let dirs = record.dirs.iter().map(|d| d.path.clone()).collect();
                            self.purge_files(old, &keep, &dirs);
                        }
                        notes.push(format!(
                            "{}-{}: interrupted while installing; completed (its scripts did not run)",
                            record.name, record.version
                        ));
                    }
                    if let Some(old) = &old {
                        self.scripts.remove_package(&old.name, &old.version);
                        if let Some(id) = &old.identity {
                            let id = id.to_string();
                            self.triggers.entries.retain(|t| t.identity != id);
                        }
                    }
                    if let Some(id) = &record.identity {
                        let id = id.to_string();
                        for (kind, body) in scripts {
                            self.scripts
                                .insert(&record.name, &record.version, &id, kind, body);
                        }
                        if !triggers.is_empty() {
                            self.triggers.entries.retain(|t| t.identity != id);
                            self.triggers.entries.push(crate::triggers::TriggerEntry {
                                identity: id,
                                globs: triggers,
                            });
                        }
                    }
                    // The files it took over from other packages (allowed by `replaces` or
                    // --force-overwrite; the transaction took them out of their records in
                    // memory only) are its own now.
                    for p in &mut self.installed.packages {
                        if p.name != record.name {
                            for d in &mut p.dirs {
                                let dir = d.path.as_str();
                                d.files.retain(|f| !keep.contains(&file_path(dir, &f.name)));
                            }
                        }
                    }
                    match self
                        .installed
                        .packages
                        .iter()
                        .position(|p| p.name == record.name)
                    {
                        Some(i) => self.installed.packages[i] = record,
                        None => self.installed.packages.push(record),
                    }
                }
                Step::Remove { name, done } => {
                    let Some(old) = self
                        .installed
                        .packages
                        .iter()
                        .find(|p| p.name == name)
                        .cloned()
                    else {
                        continue;
                    };
                    if !done {
                        self.purge_files(&old, &Default::default(), &Default::default());
                        notes.push(format!(
                            "{}-{}: interrupted while removing; completed",
                            old.name, old.version
                        ));
                    }
                    self.scripts.remove_package(&old.name, &old.version);
                    if let Some(id) = &old.identity {
                        let id = id.to_string();
                        self.triggers.entries.retain(|t| t.identity != id);
                    }
                    self.installed.packages.retain(|p| p.name != name);
                }
            }
        }
        // Temporaries last: those of the steps rolled forward above are in place by now, the
        // others belong to extractions that never reached `begin` (one package may be staged
        // ahead while the one before it is placed).
        if !staged.is_empty() {
            let n = journal::sweep_temporaries(&root);
            notes.push(format!(
                "{}: interrupted while extracting; removed {n} temporary files, not installed",
                staged.join(", ")
            ));
        }
        // The database files are written one after another: a transaction (or an earlier
        // recovery) killed between them leaves the scripts and triggers of packages the
        // installed database no longer has.
        let stale: Vec<(String, String)> = self
            .scripts
            .entries()
            .iter()
            .map(|e| (e.key.name.clone(), e.key.version.clone()))
            .filter(|(n, v)| {
                !self
                    .installed
                    .packages
                    .iter()
                    .any(|p| p.name == *n && p.version == *v)
            })
            .collect();
        for (name, version) in stale {
            self.scripts.remove_package(&name, &version);
        }
        let identities: std::collections::HashSet<String> = self
            .installed
            .packages
            .iter()
            .filter_map(|p| p.identity.as_ref().map(ToString::to_string))
            .collect();
        self.triggers
            .entries
            .retain(|t| identities.contains(&t.identity));
        if notes.is_empty() {
            notes.push("an interrupted transaction left a journal; the database was brought up to date with the files".into());
        }
        self.write()
            .map_err(io_err(&root.join(layout::INSTALLED)))?;
        fs::remove_file(&path).map_err(io_err(&path))?;
        self.recovered = notes;
        Ok(())
    }

    /// Remove the files of `pkg` not in `keep` and not owned by another installed package
    /// (a changed protected file stays), then its directories that are left empty, unowned
    /// and not in `keep_dirs` (those of the new version).
    fn purge_files(
        &self,
        pkg: &PackageInfo,
        keep: &std::collections::HashSet<String>,
        keep_dirs: &std::collections::HashSet<String>,
    ) {
        use crate::protected::Protection;
        let mut others: std::collections::HashSet<String> = Default::default();
        let mut other_dirs: std::collections::HashSet<&str> = Default::default();
        for p in &self.installed.packages {
            if p.name == pkg.name {
                continue;
            }
            for d in &p.dirs {
                other_dirs.insert(&d.path);
                for f in &d.files {
                    others.insert(file_path(&d.path, &f.name));
                }
            }
        }
        for d in &pkg.dirs {
            for f in &d.files {
                let p = file_path(&d.path, &f.name);
                if keep.contains(&p) || others.contains(&p) {
                    continue;
                }
                let full = self.root.join(&p);
                let protected = matches!(
                    self.protected.classify(&p),
                    Protection::Protected | Protection::Always
                );
                if protected {
                    let disk = crate::transaction::disk_checksum(
                        &full,
                        crate::transaction::truncated_sha256(pkg),
                    );
                    if disk.is_some() && disk.as_ref() != f.checksum.as_ref() {
                        continue;
                    }
                }
                let _ = fs::remove_file(&full);
            }
        }
        let mut dirs: Vec<&str> = pkg.dirs.iter().map(|d| d.path.as_str()).collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
        for d in dirs {
            if !d.is_empty() && !other_dirs.contains(d) && !keep_dirs.contains(d) {
                let _ = fs::remove_dir(self.root.join(d));
            }
        }
    }
}

/// Whether `url` names a local repository (a path or a `file:` URL).
pub(crate) fn is_local(url: &str) -> bool {
    url.starts_with('/') || url.starts_with("file:")
}

/// Create the layout of a new root (`--initdb`), keeping what already exists.
fn init_layout(root: &Path, arch: Option<&str>) -> Result<(), OpenError> {
    let mkdir = |p: &str| -> Result<(), OpenError> {
        let path = root.join(p);
        fs::create_dir_all(&path).map_err(io_err(&path))
    };
    for d in [
        "",
        "tmp",
        "dev",
        "proc",
        "etc/apk",
        "lib/apk/db",
        "lib/apk/exec",
        "var/log",
    ] {
        mkdir(d)?;
    }
    let create_if_missing = |p: &str, content: &[u8]| -> Result<(), OpenError> {
        let path = root.join(p);
        if !path.exists() {
            write_atomic(&path, content).map_err(io_err(&path))?;
        }
        Ok(())
    };
    // The device nodes scripts expect, as apk-tools creates them (only root may).
    if rustix::process::geteuid().is_root() {
        let dev = root.join("dev");
        for (name, major, minor, mode) in [
            ("null", 1, 3, 0o666),
            ("zero", 1, 5, 0o666),
            ("random", 1, 8, 0o666),
            ("urandom", 1, 9, 0o666),
            ("console", 5, 1, 0o600),
        ] {
            let path = dev.join(name);
            if fs::symlink_metadata(&path).is_err() {
                let _ = rustix::fs::mknodat(
                    rustix::fs::CWD,
                    &path,
                    rustix::fs::FileType::CharacterDevice,
                    rustix::fs::Mode::from_raw_mode(mode),
                    rustix::fs::makedev(major, minor),
                );
                // Not narrowed by the umask.
                use std::os::unix::fs::PermissionsExt;
                let _ = fs::set_permissions(&path, fs::Permissions::from_mode(mode));
            }
        }
    }
    create_if_missing(layout::INSTALLED, b"")?;
    create_if_missing(layout::WORLD, b"\n")?;
    create_if_missing(layout::TRIGGERS, b"")?;
    let arch_path = root.join(layout::ARCH);
    match arch {
        Some(a) => {
            write_atomic(&arch_path, format!("{a}\n").as_bytes()).map_err(io_err(&arch_path))?
        }
        None => create_if_missing(layout::ARCH, format!("{}\n", default_arch()).as_bytes())?,
    }
    Ok(())
}
