//! The repository index model: APKINDEX text loaded into one compact, read-only structure.
//!
//! Loading an index is the hot path of every apk command (Alpine's main+community pair holds
//! about 18,000 packages), so [`Index`] keeps the decompressed text as one shared buffer and
//! stores every field as a span into it. Names are interned into a [`NameTable`]; dependency lists
//! of all packages share one array. Loading performs a handful of allocations per index, not per
//! field. [`PackageRef`] gives a borrowed view of one package.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use memchr::memchr;

use crate::archive::{
    ArchiveParts, IndexArchive, MAX_DECOMPRESSED_SIZE, ReadArchiveError, VerifyError,
    read_archive_parts, verify_signed,
};
use crate::checksum::Checksum;
use crate::dependency::{DependencyRef, Op, ParseDependencyError};
use crate::keys::KeySet;
use crate::names::{NameId, NameTable};
use crate::package::{DepList, DepListInner, ExtraFields, ExtraInner, IndexedExtra, PackageRef};
use crate::version::{self, Rules};

/// How to read an index.
///
/// ```
/// use apk_index::{IndexOptions, Rules};
/// let opts = IndexOptions { rules: Rules::V2 };
/// assert_eq!(opts.rules, Rules::V2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// Version rules used to validate versions in `V:` and dependencies (default: v3).
    pub rules: Rules,
}

/// Something in an index record that apk-tools would warn about or that makes the package
/// uninstallable. Loading never fails because of these; see [`Index::problems`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexProblem {
    /// Position of the package in the index (`None` for a record that was dropped).
    pub package: Option<usize>,
    /// 1-based line number of the offending line.
    pub line: usize,
    /// What is wrong.
    pub kind: IndexProblemKind,
}

/// What an [`IndexProblem`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexProblemKind {
    /// A record without `P:`; it is dropped (apk-tools rejects it).
    MissingName,
    /// An unknown upper-case key: the package is uninstallable ("apk-tools is too old").
    UnknownRequiredField(char),
    /// An unknown lower-case key: ignored by apk, kept here for writing back.
    UnknownField(char),
    /// The `V:` version is not valid under the rules in use: the package is uninstallable.
    InvalidVersion(String),
    /// A dependency token is invalid under the rules in use: the package is uninstallable.
    InvalidDependency(ParseDependencyError),
    /// A numeric field that is not a number; it reads as 0.
    BadNumber(char),
    /// A `C:` that is not a checksum; the package has no identity.
    BadChecksum,
}

impl std::fmt::Display for IndexProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            IndexProblemKind::MissingName => write!(f, "record without a package name (P:)"),
            IndexProblemKind::UnknownRequiredField(k) => {
                write!(f, "unknown field '{k}:' makes the package uninstallable")
            }
            IndexProblemKind::UnknownField(k) => write!(f, "unknown field '{k}:' ignored"),
            IndexProblemKind::InvalidVersion(v) => write!(f, "invalid version '{v}'"),
            IndexProblemKind::InvalidDependency(e) => write!(f, "{e}"),
            IndexProblemKind::BadNumber(k) => write!(f, "field '{k}:' is not a number"),
            IndexProblemKind::BadChecksum => write!(f, "invalid package identity in 'C:'"),
        }
    }
}

/// Returned by [`Index::open`] and [`Index::from_archive_bytes`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadIndexError {
    /// The file could not be read.
    #[error("cannot read index {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The archive is malformed.
    #[error("cannot read index archive")]
    Archive(#[from] ReadArchiveError),
    /// The signature check failed.
    #[error("index signature check failed")]
    Verify(#[from] VerifyError),
}

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    const NONE: Span = Span {
        start: NONE,
        len: 0,
    };
    fn is_none(self) -> bool {
        self.start == NONE
    }
}

const F_UNINSTALLABLE: u8 = 1;

#[derive(Clone)]
struct Entry {
    identity: Option<Checksum>,
    name: NameId,
    version: Span,
    arch: Span,
    description: Span,
    url: Span,
    license: Span,
    origin: Span,
    maintainer: Span,
    commit: Span,
    size: u64,
    installed_size: u64,
    build_time: u64,
    provider_priority: u32,
    depends: (u32, u32),
    provides: (u32, u32),
    install_if: (u32, u32),
    extra: (u32, u32),
    flags: u8,
}

#[derive(Clone, Copy)]
pub(crate) struct DepEntry {
    name: NameId,
    tag: Span,
    version: Span,
    op: u8,
    conflict: bool,
}

/// The archive's `DESCRIPTION`, as `apk update` shows it.
fn archive_description(archive: &IndexArchive) -> Option<String> {
    description_text(archive.description())
}

/// A `DESCRIPTION` entry's text, as `apk update` shows it.
fn description_text(entry: Option<&[u8]>) -> Option<String> {
    entry.map(|d| String::from_utf8_lossy(d).trim_end().to_owned())
}

/// A run of dependencies inside an [`Index`].
#[derive(Clone, Copy)]
pub(crate) struct DepSlice<'a> {
    deps: &'a [DepEntry],
    index: &'a Index,
}

impl<'a> DepSlice<'a> {
    pub(crate) fn len(&self) -> usize {
        self.deps.len()
    }
    pub(crate) fn name_id(&self, i: usize) -> Option<NameId> {
        self.deps.get(i).map(|d| d.name)
    }
    pub(crate) fn get(&self, i: usize) -> DependencyRef<'a> {
        let d = &self.deps[i];
        let constraint = if d.op == 0 {
            None
        } else {
            Op::from_bits(d.op).map(|op| (op, self.index.span(d.version)))
        };
        DependencyRef::from_parts(
            self.index.names.get(d.name),
            self.index.opt_span(d.tag),
            constraint,
            d.conflict,
        )
    }
}

/// A loaded repository index.
///
/// ```
/// use apk_index::{Index, IndexOptions};
/// let text = "C:Q1FF4YFta38d5wuxH9v4onw2JUKW0=\nP:musl\nV:1.2.3-r4\nA:x86_64\nS:1\nI:2\nT:libc\nU:\nL:MIT\np:so:libc.musl-x86_64.so.1=1\n\n";
/// let index = Index::from_text(text, &IndexOptions::default());
/// assert_eq!(index.len(), 1);
/// let pkg = index.package(0);
/// assert_eq!((pkg.name(), pkg.version()), ("musl", "1.2.3-r4"));
/// let mut out = Vec::new();
/// index.write_text(&mut out)?;
/// assert_eq!(out, text.as_bytes());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Index {
    /// The whole (valid UTF-8) text: spans are read from it without validating them again.
    text: String,
    description: Option<String>,
    names: NameTable,
    entries: TwoParts<Entry>,
    deps: TwoParts<DepEntry>,
    extra: Vec<IndexedExtra>,
    problems: Vec<IndexProblem>,
    rules: Rules,
    signed_by: Option<String>,
    /// For an index loaded from a v3 `Packages.adb`: each package's `hashes` as stored (its
    /// full identity), in package order; empty otherwise.
    adb_hashes: Vec<Box<[u8]>>,
    /// For an index loaded from a v3 `Packages.adb`: its `pkgname-spec`, if it has one.
    pkgname_spec: Option<String>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("packages", &self.entries.len())
            .field("names", &self.names.len())
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Load APKINDEX text. Never fails: records apk-tools would reject are dropped and reported
    /// in [`Index::problems`]. Text that is not UTF-8 is read with replacement characters.
    pub fn from_text(text: impl Into<Bytes>, options: &IndexOptions) -> Index {
        let text: Bytes = text.into();
        // Validated once here; without a copy when the buffer is not shared.
        let text = String::from_utf8(Vec::from(text))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        parse_index(text, options)
    }

    /// Load the `APKINDEX` of an already read archive (its description is kept).
    pub fn from_archive(archive: &IndexArchive, options: &IndexOptions) -> Index {
        let mut index = Index::from_text(archive.apkindex().clone(), options);
        index.description = archive_description(archive);
        index
    }

    /// Read an `APKINDEX.tar.gz` from memory and, if `keys` is given, verify its signature.
    pub fn from_archive_bytes(
        data: &[u8],
        keys: Option<&KeySet>,
        options: &IndexOptions,
    ) -> Result<Index, LoadIndexError> {
        let ArchiveParts {
            signatures,
            description: entry,
            apkindex,
            signed_range,
        } = read_archive_parts(data, MAX_DECOMPRESSED_SIZE)?;
        let description = description_text(entry.as_deref());
        // Giving up the description's share of the buffer leaves the text unshared, so it
        // becomes the index's `String` without a copy into fresh memory.
        drop(entry);
        let signed = data.get(signed_range).unwrap_or(&[]);
        let check = |keys: &KeySet| -> Result<String, LoadIndexError> {
            Ok(verify_signed(&signatures, signed, keys)?
                .key_name()
                .to_owned())
        };
        let concurrent = apkindex.len() >= PARALLEL_THRESHOLD
            && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        let (mut index, signed_by) = match keys {
            None => (Index::from_text(apkindex, options), None),
            // A large text is parsed while the signature is checked on a second thread; the
            // index is given out only if the check passes (the parser is safe on any text).
            Some(keys) if concurrent => std::thread::scope(|s| {
                let checking = std::thread::Builder::new()
                    .spawn_scoped(s, || check(keys))
                    .ok();
                let index = Index::from_text(apkindex, options);
                // Without the thread (it could not start or failed), check here.
                let signed_by = match checking.map(|h| h.join()) {
                    Some(Ok(checked)) => checked?,
                    _ => check(keys)?,
                };
                Ok::<_, LoadIndexError>((index, Some(signed_by)))
            })?,
            Some(keys) => {
                let signed_by = check(keys)?;
                (Index::from_text(apkindex, options), Some(signed_by))
            }
        };
        index.description = description;
        index.signed_by = signed_by;
        Ok(index)
    }

    /// Read an `APKINDEX.tar.gz` file and, if `keys` is given, verify its signature.
    ///
    /// ```no_run
    /// use apk_index::{Index, IndexOptions, KeySet};
    /// let keys = KeySet::from_dir("/etc/apk/keys")?;
    /// let index = Index::open("APKINDEX.tar.gz", Some(&keys), &IndexOptions::default())?;
    /// println!("{} packages", index.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(
        path: impl AsRef<Path>,
        keys: Option<&KeySet>,
        options: &IndexOptions,
    ) -> Result<Index, LoadIndexError> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|source| LoadIndexError::Io {
            path: path.to_owned(),
            source,
        })?;
        Index::from_archive_bytes(&data, keys, options)
    }

    /// Open several index files at once, one thread per file (at most as many threads as the
    /// machine has cores), returning the results in the order of `paths`.
    ///
    /// ```no_run
    /// use apk_index::{Index, IndexOptions, KeySet};
    /// let keys = KeySet::from_dir("/etc/apk/keys")?;
    /// let paths = ["main/x86_64/APKINDEX.tar.gz", "community/x86_64/APKINDEX.tar.gz"];
    /// for loaded in Index::open_many(&paths, Some(&keys), &IndexOptions::default()) {
    ///     println!("{} packages", loaded?.len());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_many<P: AsRef<Path> + Sync>(
        paths: &[P],
        keys: Option<&KeySet>,
        options: &IndexOptions,
    ) -> Vec<Result<Index, LoadIndexError>> {
        let mut results = Vec::with_capacity(paths.len());
        Index::open_each(paths, keys, options, |_, loaded| results.push(loaded));
        results
    }

    /// Open several index files at once like [`Index::open_many`], handing each result to
    /// `each` (with its position in `paths`) on the calling thread, in the order of `paths`,
    /// as soon as it and every one before it are loaded: the caller can put the first indexes
    /// to work while the later ones still load.
    ///
    /// ```no_run
    /// use apk_index::{Index, IndexOptions, KeySet};
    /// let keys = KeySet::from_dir("/etc/apk/keys")?;
    /// let paths = ["main/x86_64/APKINDEX.tar.gz", "community/x86_64/APKINDEX.tar.gz"];
    /// let mut total = 0;
    /// Index::open_each(&paths, Some(&keys), &IndexOptions::default(), |i, loaded| {
    ///     match loaded {
    ///         Ok(index) => total += index.len(),
    ///         Err(err) => eprintln!("{}: {err}", paths[i]),
    ///     }
    /// });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_each<P: AsRef<Path> + Sync>(
        paths: &[P],
        keys: Option<&KeySet>,
        options: &IndexOptions,
        mut each: impl FnMut(usize, Result<Index, LoadIndexError>),
    ) {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(paths.len())
            .max(1);
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            let (sender, results) = std::sync::mpsc::channel();
            let mut started = 0;
            for _ in 0..workers {
                let (sender, next) = (sender.clone(), &next);
                let worker = std::thread::Builder::new().spawn_scoped(s, move || {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = paths.get(i) else { break };
                        if sender.send((i, Index::open(path, keys, options))).is_err() {
                            break;
                        }
                    }
                });
                started += usize::from(worker.is_ok());
            }
            drop(sender);
            if started == 0 {
                // No thread could start: load them here, one after the other.
                for (i, path) in paths.iter().enumerate() {
                    each(i, Index::open(path, keys, options));
                }
                return;
            }
            let mut pending: Vec<Option<Result<Index, LoadIndexError>>> =
                (0..paths.len()).map(|_| None).collect();
            let mut handed = 0;
            // Ends when every worker has finished.
            for (i, loaded) in results {
                if let Some(slot) = pending.get_mut(i) {
                    *slot = Some(loaded);
                }
                while let Some(loaded) = pending.get_mut(handed).and_then(Option::take) {
                    each(handed, loaded);
                    handed += 1;
                }
            }
            // A worker that failed left its file without a result.
            for (i, path) in paths.iter().enumerate().skip(handed) {
                let loaded = pending[i].take().unwrap_or_else(|| {
                    Err(LoadIndexError::Io {
                        path: path.as_ref().to_owned(),
                        source: io::Error::other("index loader thread failed"),
                    })
                });
                each(i, loaded);
            }
        });
    }

    /// Number of packages.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index has no packages.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The repository description (`DESCRIPTION` in the archive), if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The key name that verified the index, when it was loaded with keys.
    pub fn signed_by(&self) -> Option<&str> {
        self.signed_by.as_deref()
    }

    /// Sets the description and verifying key of an index loaded from another format (the
    /// v3 reader in [`crate::adb`]).
    pub(crate) fn set_source_info(
        &mut self,
        description: Option<String>,
        signed_by: Option<String>,
    ) {
        self.description = description;
        self.signed_by = signed_by;
    }

    /// Sets the v3 `pkgname-spec` (see [`Index::pkgname_spec`]).
    pub(crate) fn set_pkgname_spec(&mut self, spec: Option<String>) {
        self.pkgname_spec = spec;
    }

    /// For an index loaded from a v3 `Packages.adb` that has one: its `pkgname-spec`, the
    /// template of its packages' download paths (expand it with
    /// [`adb::PkgnameVars::expand`](crate::adb::PkgnameVars::expand)). `None` otherwise: the
    /// repository's default layout applies.
    ///
    /// ```
    /// use apk_index::{Index, IndexOptions};
    /// let data = apk_index::adb::tests_support::tiny_index();
    /// let index = Index::from_adb_bytes(&data, None, &IndexOptions::default())?;
    /// assert_eq!(index.pkgname_spec(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pkgname_spec(&self) -> Option<&str> {
        self.pkgname_spec.as_deref()
    }

    /// Sets the full v3 `hashes` of every package (see [`Index::adb_hashes`]); ignored when
    /// the count does not match the packages.
    pub(crate) fn set_adb_hashes(&mut self, hashes: Vec<Box<[u8]>>) {
        if hashes.len() == self.entries.len() {
            self.adb_hashes = hashes;
        }
    }

    /// For an index loaded from a v3 `Packages.adb` ([`Index::from_adb_bytes`]): package `i`'s
    /// `hashes` as the index stores it, normally the SHA-256 of the package's ADB payload (32
    /// bytes; 20 for a `sha256-160` index). [`PackageRef::identity`] holds its first 20 bytes
    /// only, as apk-tools identifies packages by those; the whole value is what authenticates
    /// a downloaded package. `None` for v2 indexes, out-of-range `i`, or an empty value.
    ///
    /// ```
    /// use apk_index::{Index, IndexOptions};
    /// let data = apk_index::adb::tests_support::tiny_index();
    /// let index = Index::from_adb_bytes(&data, None, &IndexOptions::default())?;
    /// let full = index.adb_hashes(0).unwrap();
    /// assert_eq!(full.len(), 32);
    /// assert_eq!(index.package(0).identity().unwrap().as_bytes(), &full[..20]);
    /// assert_eq!(Index::from_text("P:a\nV:1\n\n", &IndexOptions::default()).adb_hashes(0), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn adb_hashes(&self, i: usize) -> Option<&[u8]> {
        self.adb_hashes
            .get(i)
            .map(|h| &h[..])
            .filter(|h| !h.is_empty())
    }

    /// The version rules the index was read with.
    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// Every name mentioned in the index: packages, provides and dependencies.
    pub fn names(&self) -> &NameTable {
        &self.names
    }

    /// The interned name of package `i`.
    ///
    /// # Panics
    ///
    /// Panics if `i >= self.len()`.
    pub fn package_name(&self, i: usize) -> NameId {
        self.entries.get(i).name
    }

    /// Whether package `i` can be installed: false when it has an unknown upper-case field, an
    /// invalid version or an invalid dependency under the index's rules.
    ///
    /// # Panics
    ///
    /// Panics if `i >= self.len()`.
    pub fn is_installable(&self, i: usize) -> bool {
        self.entries.get(i).flags & F_UNINSTALLABLE == 0
    }

    /// Problems found while loading, in file order.
    pub fn problems(&self) -> &[IndexProblem] {
        &self.problems
    }

    /// Package `i`.
    ///
    /// # Panics
    ///
    /// Panics if `i >= self.len()`.
    pub fn package(&self, i: usize) -> PackageRef<'_> {
        let e = self.entries.get(i);
        let deps = |(s, l): (u32, u32)| {
            DepList(DepListInner::Indexed(DepSlice {
                deps: self.deps.run(s as usize, l as usize),
                index: self,
            }))
        };
        PackageRef {
            identity: e.identity,
            name: self.names.get(e.name),
            version: self.span(e.version),
            arch: self.opt_span(e.arch),
            size: e.size,
            installed_size: e.installed_size,
            description: self.span(e.description),
            url: self.span(e.url),
            license: self.span(e.license),
            origin: self.opt_span(e.origin),
            maintainer: self.opt_span(e.maintainer),
            build_time: e.build_time,
            commit: self.opt_span(e.commit),
            provider_priority: e.provider_priority,
            depends: deps(e.depends),
            provides: deps(e.provides),
            install_if: deps(e.install_if),
            extra: ExtraFields(ExtraInner::Indexed(
                &self.extra[e.extra.0 as usize..(e.extra.0 + e.extra.1) as usize],
                self.text.as_bytes(),
            )),
        }
    }

    /// All packages in file order.
    pub fn packages(&self) -> impl ExactSizeIterator<Item = PackageRef<'_>> + '_ {
        (0..self.len()).map(|i| self.package(i))
    }

    /// Write the index back as APKINDEX text, in apk's field order, one blank line after each
    /// record. For an index written by apk-tools this gives back the same bytes.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(self.text.len() + 1024);
        for p in self.packages() {
            p.write_index_fields(&mut buf)?;
            buf.push(b'\n');
        }
        out.write_all(&buf)
    }

    fn span(&self, s: Span) -> &str {
        if s.is_none() {
            return "";
        }
        self.text
            .get(s.start as usize..(s.start + s.len) as usize)
            .unwrap_or_default()
    }

    fn opt_span(&self, s: Span) -> Option<&str> {
        (!s.is_none()).then(|| self.span(s))
    }
}

/// The part of an index one parser builds: a range of the text's records.
struct Part {
    names: NameTable,
    entries: Vec<Entry>,
    deps: Vec<DepEntry>,
    extra: Vec<IndexedExtra>,
    problems: Vec<IndexProblem>,
    lines: usize,
}

/// Texts above this size are parsed in two halves on two threads.
const PARALLEL_THRESHOLD: usize = 512 * 1024;

/// An array kept as the two parts the halves of a text were parsed into, read as one: the
/// second part's items follow the first's. Keeping them apart spares copying (and paging in
/// fresh memory for) the second half of a large index.
struct TwoParts<T> {
    first: Vec<T>,
    second: Vec<T>,
}

impl<T> TwoParts<T> {
    /// Everything in one part.
    fn whole(first: Vec<T>) -> TwoParts<T> {
        TwoParts {
            first,
            second: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.first.len() + self.second.len()
    }

    fn is_empty(&self) -> bool {
        self.first.is_empty() && self.second.is_empty()
    }

    /// Item `i`; panics if `i >= self.len()`, like indexing.
    fn get(&self, i: usize) -> &T {
        match i.checked_sub(self.first.len()) {
            None => &self.first[i],
            Some(j) => &self.second[j],
        }
    }

    /// The `len` items from `start`, which lie in one part (a record's items always do).
    fn run(&self, start: usize, len: usize) -> &[T] {
        match start.checked_sub(self.first.len()) {
            None => &self.first[start..start + len],
            Some(j) => &self.second[j..j + len],
        }
    }
}

/// Parse `text` (valid UTF-8) into an index, splitting large texts at a record boundary and
/// parsing the halves concurrently, then merging the second half's names into the first's.
fn parse_index(owned: String, options: &IndexOptions) -> Index {
    let text = owned.as_str();
    let split = if text.len() >= PARALLEL_THRESHOLD
        && std::thread::available_parallelism().map_or(1, |n| n.get()) > 1
    {
        memchr::memmem::find(&text.as_bytes()[text.len() / 2..], b"\n\n")
            .map(|i| text.len() / 2 + i + 2)
    } else {
        None
    };
    parse_split(owned, options, split)
}

/// Parse `owned` whole, or its halves before and after byte `split` (just after a blank line)
/// concurrently.
fn parse_split(owned: String, options: &IndexOptions, split: Option<usize>) -> Index {
    let text = owned.as_str();
    let (names, entries, deps, extra, mut problems) = match split {
        None => whole(Parser::new(text, 0, text.len(), options).run()),
        Some(mid) => {
            let (first, second) = std::thread::scope(|s| {
                let second = std::thread::Builder::new()
                    .spawn_scoped(s, || Parser::new(text, mid, text.len(), options).run())
                    .ok();
                // The second half's names are interned into the first's: room for the whole
                // text's (reserving in an empty table sizes it for that many).
                let mut first = Parser::new(text, 0, mid, options);
                first.names.reserve(Parser::names_guess(text.len()));
                let first = first.run();
                (first, second.map(|h| h.join()))
            });
            match second {
                Some(Ok(second)) => merge(first, second),
                // Without the second thread (it could not start, or the parser, which does not
                // panic on any input, ever did), parse serially.
                _ => whole(Parser::new(text, 0, text.len(), options).run()),
            }
        }
    };
    problems.sort_by_key(|p| p.line);
    Index {
        text: owned,
        description: None,
        names,
        entries,
        deps,
        extra,
        problems,
        rules: options.rules,
        signed_by: None,
        adb_hashes: Vec::new(),
        pkgname_spec: None,
    }
}

/// The parts of the text's two halves as one: `b`'s names are interned into `a`'s table and
/// its records renumbered in place to follow `a`'s, without moving them.
fn merge(mut a: Part, mut b: Part) -> MergedParts {
    let map: Vec<NameId> = b.names.iter().map(|(_, n)| a.names.intern(n)).collect();
    let deps_base = a.deps.len() as u32;
    let extra_base = a.extra.len() as u32;
    let entry_base = a.entries.len();
    for e in &mut b.entries {
        e.name = map[e.name.index()];
        e.depends.0 += deps_base;
        e.provides.0 += deps_base;
        e.install_if.0 += deps_base;
        e.extra.0 += extra_base;
    }
    for d in &mut b.deps {
        d.name = map[d.name.index()];
    }
    a.extra.extend(
        b.extra
            .into_iter()
            .map(|(pkg, k, s, l)| (pkg + entry_base as u32, k, s, l)),
    );
    let lines = a.lines;
    a.problems.extend(b.problems.into_iter().map(|mut p| {
        p.package = p.package.map(|i| i + entry_base);
        p.line += lines;
        p
    }));
    let entries = TwoParts {
        first: a.entries,
        second: b.entries,
    };
    let deps = TwoParts {
        first: a.deps,
        second: b.deps,
    };
    (a.names, entries, deps, a.extra, a.problems)
}

/// The parts of a text parsed whole.
fn whole(part: Part) -> MergedParts {
    (
        part.names,
        TwoParts::whole(part.entries),
        TwoParts::whole(part.deps),
        part.extra,
        part.problems,
    )
}

/// An index's names, records, dependencies, extra fields and problems.
type MergedParts = (
    NameTable,
    TwoParts<Entry>,
    TwoParts<DepEntry>,
    Vec<IndexedExtra>,
    Vec<IndexProblem>,
);

struct Parser<'t, 'o> {
    /// The whole text: spans are offsets into it.
    text: &'t str,
    start: usize,
    end: usize,
    options: &'o IndexOptions,
    names: NameTable,
    entries: Vec<Entry>,
    deps: Vec<DepEntry>,
    extra: Vec<IndexedExtra>,
    problems: Vec<IndexProblem>,
}

fn new_entry(deps: usize, extra: usize) -> Entry {
    let d = (deps as u32, 0);
    Entry {
        identity: None,
        name: NameId::placeholder(),
        version: Span::NONE,
        arch: Span::NONE,
        description: Span::NONE,
        url: Span::NONE,
        license: Span::NONE,
        origin: Span::NONE,
        maintainer: Span::NONE,
        commit: Span::NONE,
        size: 0,
        installed_size: 0,
        build_time: 0,
        provider_priority: 0,
        depends: d,
        provides: d,
        install_if: d,
        extra: (extra as u32, 0),
        flags: 0,
    }
}

fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in v {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

impl<'t, 'o> Parser<'t, 'o> {
    /// A parser of `text[start..end]`.
    fn new(text: &'t str, start: usize, end: usize, options: &'o IndexOptions) -> Self {
        // Alpine's records average ~420 bytes, ~2.5 distinct names and ~10 dependency tokens.
        let guess = (end - start) / 400 + 1;
        Parser {
            names: NameTable::with_capacity(Parser::names_guess(end - start)),
            entries: Vec::with_capacity(guess),
            deps: Vec::with_capacity(guess * 12),
            extra: Vec::new(),
            problems: Vec::new(),
            text,
            start,
            end,
            options,
        }
    }

    /// About how many distinct names `bytes` of index text hold (generously).
    fn names_guess(bytes: usize) -> usize {
        (bytes / 400 + 1) * 3
    }

    fn run(mut self) -> Part {
        let bytes = self.text.as_bytes();
        let mut pos = self.start;
        let mut line_no = 0usize;
        let mut cur: Option<(Entry, bool, usize)> = None; // entry, has name, first line
        while pos < self.end {
            let end = memchr(b'\n', &bytes[pos..self.end]).map_or(self.end, |i| pos + i);
            let line = &bytes[pos..end];
            line_no += 1;
            if line.is_empty() {
                if let Some((entry, named, first)) = cur.take() {
                    self.finish(entry, named, first);
                }
            } else if line.len() >= 3 && line[1] == b':' {
                let (entry, named, _) = cur.get_or_insert_with(|| {
                    (new_entry(self.deps.len(), self.extra.len()), false, line_no)
                });
                let value = Span {
                    start: (pos + 2) as u32,
                    len: (end - pos - 2) as u32,
                };
                self.field(entry, named, line[0], value, line_no);
            }
            pos = end + 1;
        }
        if let Some((entry, named, first)) = cur.take() {
            self.finish(entry, named, first);
        }
        Part {
            names: self.names,
            entries: self.entries,
            deps: self.deps,
            extra: self.extra,
            problems: self.problems,
            lines: line_no,
        }
    }

    fn finish(&mut self, entry: Entry, named: bool, first_line: usize) {
        if !named {
            // Drop the dependencies and extras this record added.
            self.deps.truncate(entry.depends.0 as usize);
            self.extra.truncate(entry.extra.0 as usize);
            self.problems.retain(|p| p.line < first_line);
            self.problems.push(IndexProblem {
                package: None,
                line: first_line,
                kind: IndexProblemKind::MissingName,
            });
            return;
        }
        self.entries.push(entry);
    }

    /// The text of a span. Spans start after a one-byte ASCII key and `:` and end before `\n`,
    /// so they always fall on character boundaries.
    fn str(&self, s: Span) -> &'t str {
        self.text
            .get(s.start as usize..(s.start + s.len) as usize)
            .unwrap_or("")
    }

    fn problem(&mut self, line: usize, kind: IndexProblemKind) {
        let package = Some(self.entries.len());
        self.problems.push(IndexProblem {
            package,
            line,
            kind,
        });
    }

    fn field(&mut self, e: &mut Entry, named: &mut bool, key: u8, v: Span, line: usize) {
        match key {
            b'P' => {
                e.name = self.names.intern(self.str(v));
                *named = true;
            }
            b'V' => {
                e.version = v;
                let text = self.str(v);
                if !version::is_valid(text.as_bytes(), self.options.rules) {
                    e.flags |= F_UNINSTALLABLE;
                    self.problem(line, IndexProblemKind::InvalidVersion(text.to_owned()));
                }
            }
            // apk-tools' decoder ignores stray low bits of base64, so such an identity is
            // the canonical one (and may make two records one package).
            b'C' => match Checksum::parse_lenient(self.str(v).as_bytes()) {
                Ok(c) => e.identity = Some(c),
                Err(_) => self.problem(line, IndexProblemKind::BadChecksum),
            },
            b'A' => e.arch = v,
            b'T' => e.description = v,
            b'U' => e.url = v,
            b'L' => e.license = v,
            b'o' => e.origin = v,
            b'm' => e.maintainer = v,
            b'c' => e.commit = v,
            b'S' | b'I' | b't' | b'k' => {
                let n = match parse_u64(self.str(v).as_bytes()) {
                    Some(n) => n,
                    None => {
                        self.problem(line, IndexProblemKind::BadNumber(char::from(key)));
                        0
                    }
                };
                match key {
                    b'S' => e.size = n,
                    b'I' => e.installed_size = n,
                    b't' => e.build_time = n,
                    _ => e.provider_priority = u32::try_from(n).unwrap_or(u32::MAX),
                }
            }
            b'D' => self.deps_field(e, v, line, |e| &mut e.depends),
            b'p' => self.deps_field(e, v, line, |e| &mut e.provides),
            b'i' => self.deps_field(e, v, line, |e| &mut e.install_if),
            _ => {
                if key.is_ascii_uppercase() {
                    e.flags |= F_UNINSTALLABLE;
                    self.problem(
                        line,
                        IndexProblemKind::UnknownRequiredField(char::from(key)),
                    );
                } else {
                    self.problem(line, IndexProblemKind::UnknownField(char::from(key)));
                }
                let pkg = self.entries.len() as u32;
                self.extra.push((pkg, key, v.start, v.len));
                e.extra.1 += 1;
            }
        }
    }

    /// Parse a dependency list into the shared array. Lists are stored contiguously, so a
    /// list repeated within a record is moved to the end before it grows.
    fn deps_field(
        &mut self,
        e: &mut Entry,
        v: Span,
        line: usize,
        which: impl Fn(&mut Entry) -> &mut (u32, u32),
    ) {
        let text = self.text;
        let start_len = self.deps.len() as u32;
        let (prev_start, prev_len) = *which(e);
        if prev_len > 0 && prev_start + prev_len != start_len {
            let prev: Vec<DepEntry> =
                self.deps[prev_start as usize..(prev_start + prev_len) as usize].to_vec();
            self.deps.extend(prev);
        }
        let value = self.str(v);
        let text_start = text.as_ptr() as usize;
        let offset = |s: &str| -> Span {
            // The parts of a parsed token are slices of `value`, which lies inside `text`.
            let p = s.as_ptr() as usize;
            if p < text_start || p + s.len() > text_start + text.len() {
                return Span::NONE;
            }
            Span {
                start: (p - text_start) as u32,
                len: s.len() as u32,
            }
        };
        // Tokens are separated by ASCII blanks, so every cut falls on a character boundary.
        let bytes = value.as_bytes();
        let mut from = 0;
        while from < bytes.len() {
            let cut = bytes[from..]
                .iter()
                .position(|&b| b == b' ' || b == b'\t')
                .map_or(bytes.len(), |i| from + i);
            let token = value.get(from..cut).unwrap_or_default();
            from = cut + 1;
            if token.is_empty() {
                continue;
            }
            let dep = match DependencyRef::parse_str(token, self.options.rules) {
                Ok(d) => d,
                Err(err) => {
                    e.flags |= F_UNINSTALLABLE;
                    self.problem(line, IndexProblemKind::InvalidDependency(err));
                    // Keep the token so that writing it back is lossless: read it under the
                    // lax rules, or failing that as a bare name.
                    DependencyRef::parse_str(token, Rules::V2)
                        .unwrap_or_else(|_| DependencyRef::from_parts(token, None, None, false))
                }
            };
            let entry = DepEntry {
                name: self.names.intern(dep.name()),
                tag: dep.tag().map_or(Span::NONE, offset),
                version: dep.constraint().map_or(Span::NONE, |(_, v)| offset(v)),
                op: dep.constraint().map_or(0, |(op, _)| op.bits()),
                conflict: dep.conflict(),
            };
            self.deps.push(entry);
        }
        let end_len = self.deps.len() as u32;
        let list = which(e);
        *list = if prev_len > 0 && prev_start + prev_len == start_len {
            (prev_start, end_len - prev_start)
        } else {
            (start_len, end_len - start_len)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PackageInfo;

    /// Records of every kind the parser treats specially: tags, conflicts, provides with and
    /// without versions, install_if, extra fields, unknown upper-case fields, bad versions, a
    /// record without a name and names first met in either half.
    fn varied_text(records: usize) -> String {
        let mut text = String::new();
        for i in 0..records {
            match i % 7 {
                0 => text.push_str("V:1.0-r0\nD:so:libc.musl-x86_64.so.1\n\n"),
                1 => text.push_str(&format!(
                    "C:Q1hdUpqRv5mYgJEqW52UmVsvmeedM=\nP:pkg{i}\nV:{i}.0-r1\nA:x86_64\n\
                     D:so:libc.musl-x86_64.so.1 lib{} !old{i} bar@edge>=2\n\
                     p:cmd:pkg{i}={i}.0-r1 virt{}\nk:{i}\nt:1700000000\n\n",
                    i / 3,
                    i % 5
                )),
                2 => text.push_str(&format!(
                    "P:pkg{i}-doc\nV:{i}\ni:pkg{i}={i} docs\nX:unknown\nF:extra\n\n"
                )),
                3 => text.push_str(&format!("P:lib{i}\nV:not a version\nD:fresh{i}\n\n")),
                4 => text.push_str(&format!("P:dup\nV:{i}\nD:dup<{i} pkg{}\n\n", i + 1)),
                5 => text.push_str(&format!("P:tagged{i}\nV:1\nD:x@main y@edge\nr:z\n\n")),
                _ => text.push_str(&format!("P:plain{i}\nV:2.{i}\nS:{i}\nI:{i}\n\n")),
            }
        }
        text
    }

    fn packages(index: &Index) -> Vec<(PackageInfo, bool, Vec<Option<String>>)> {
        (0..index.len())
            .map(|i| {
                let p = index.package(i);
                let lists = [p.depends(), p.provides(), p.install_if()];
                let ids = lists
                    .iter()
                    .flat_map(|l| (0..l.len()).map(|j| l.name_id(j)))
                    .map(|id| id.map(|id| index.names().get(id).to_owned()))
                    .collect();
                (p.to_owned(), index.is_installable(i), ids)
            })
            .collect()
    }

    #[test]
    fn halves_parse_as_the_whole_text() {
        let text = varied_text(700);
        let options = IndexOptions::default();
        let whole = parse_split(text.clone(), &options, None);
        assert!(whole.len() > 500 && !whole.problems().is_empty());
        let expected = packages(&whole);
        let names: Vec<String> = whole.names().iter().map(|(_, n)| n.to_owned()).collect();
        let mut written = Vec::new();
        whole.write_text(&mut written).unwrap();
        // Split after every 50th blank line.
        let splits: Vec<usize> = memchr::memmem::find_iter(text.as_bytes(), b"\n\n")
            .step_by(50)
            .map(|i| i + 2)
            .collect();
        assert!(splits.len() > 10);
        for mid in splits {
            let split = parse_split(text.clone(), &options, Some(mid));
            assert_eq!(packages(&split), expected, "split at {mid}");
            assert_eq!(split.problems(), whole.problems(), "split at {mid}");
            let split_names: Vec<String> =
                split.names().iter().map(|(_, n)| n.to_owned()).collect();
            assert_eq!(split_names, names, "split at {mid}");
            let mut out = Vec::new();
            split.write_text(&mut out).unwrap();
            assert_eq!(out, written, "split at {mid}");
        }
    }
}
