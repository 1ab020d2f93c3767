//! The repository view: every package the solver may consider, deduplicated across
//! repositories and the installed database, with names interned and dependencies resolved to
//! name ids.

use std::sync::Arc;

/// The hasher of the solver's maps: names are hashed once per mention while the view is built,
/// so a fast (still randomly seeded) hash matters there.
pub(crate) type FastHash = hashbrown::DefaultHashBuilder;

use apk_index::{DepList, DependencyRef, Index, InstalledDb, Op, PackageRef, Rules, version};

/// Where a repository's packages come from; this decides when they count as available.
///
/// ```
/// use apk_solver::RepositoryKind;
/// assert_ne!(RepositoryKind::Remote, RepositoryKind::Cache);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RepositoryKind {
    /// A network repository (apk-tools' `test:` repositories count as remote): unavailable
    /// under `--no-network`.
    #[default]
    Remote,
    /// A local directory or file repository: always available.
    Local,
    /// The cache's `installed` index of non-repository packages: always available.
    Cache,
}

/// One loaded repository, in the order of the repositories file.
///
/// ```
/// use apk_index::{Index, IndexOptions};
/// use apk_solver::{Repository, RepositoryKind};
/// let index = Index::from_text("P:a\nV:1\n\n", &IndexOptions::default());
/// let repo = Repository::new(index).with_tag("edge");
/// assert_eq!(repo.tag.as_deref(), Some("edge"));
/// assert_eq!(repo.kind, RepositoryKind::Remote);
/// ```
#[derive(Debug)]
pub struct Repository {
    /// The loaded index (shared: a solver only reads it while it is built).
    pub index: Arc<Index>,
    /// The pinning tag (`@tag` in the repositories file); `None` for an untagged repository.
    pub tag: Option<String>,
    /// What kind of repository this is.
    pub kind: RepositoryKind,
}

impl Repository {
    /// An untagged remote repository over `index` (an [`Index`] or an `Arc<Index>` shared
    /// with other users).
    pub fn new(index: impl Into<Arc<Index>>) -> Repository {
        Repository {
            index: index.into(),
            tag: None,
            kind: RepositoryKind::Remote,
        }
    }

    /// The same repository with pinning tag `tag`.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Repository {
        self.tag = Some(tag.into());
        self
    }

    /// The same repository with kind `kind`.
    pub fn with_kind(mut self, kind: RepositoryKind) -> Repository {
        self.kind = kind;
        self
    }
}

/// Options describing the environment the repositories are used in.
///
/// ```
/// use apk_solver::SolverOptions;
/// let opts = SolverOptions { no_network: true, ..SolverOptions::default() };
/// assert!(opts.arches.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct SolverOptions {
    /// Version rules (default: apk-tools 3.0's).
    pub rules: Rules,
    /// Accepted architectures (`etc/apk/arch`); packages of another arch (other than `noarch`)
    /// are uninstallable. Empty accepts every arch.
    pub arches: Vec<String>,
    /// `--no-network`: remote repositories are not available.
    pub no_network: bool,
}

/// The pinning mask bit of tag `t` (0 beyond the 64 tags a mask can hold).
pub(crate) fn tag_bit(t: u16) -> u64 {
    1u64.checked_shl(u32::from(t)).unwrap_or(0)
}

pub(crate) type NameIdx = u32;
pub(crate) type PkgIdx = u32;
/// Provider entry: `OWN` for the package's own name, else an index into its provides.
pub(crate) const OWN: u32 = u32::MAX;

/// A dependency (or install_if condition) with its name interned: 24 bytes, with the version
/// kept inline when short. Its text as written is rebuilt for reports
/// ([`Universe::dep_text`]).
#[derive(Debug, Clone)]
pub(crate) struct Dep {
    /// The version (or identity, for `><`) after the operator; the whole token instead when
    /// it cannot be rebuilt from the parts (a world entry pinned to a tag no repository has).
    ver: Ver,
    pub name: NameIdx,
    /// The repository tag it is pinned to ([`Dep::tag`]), or [`NO_TAG`].
    tag: u16,
    pub op: u8,
    pub conflict: bool,
}

/// A [`Dep`] pinned to no tag.
const NO_TAG: u16 = u16::MAX;

// Universes hold ~100,000 of them: keep them at 24 bytes.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Dep>() == 24);

impl Dep {
    /// `d`, whose name is `name` and whose tag is `tag` here.
    pub(crate) fn new(name: NameIdx, d: &DependencyRef<'_>, tag: Option<u16>) -> Dep {
        let version = d.constraint().map_or("", |(_, v)| v);
        let ver = if d.tag().is_some() && tag.is_none() {
            Ver::whole(token_text(d), version.len())
        } else {
            Ver::new(version)
        };
        Dep {
            ver,
            name,
            tag: tag.unwrap_or(NO_TAG),
            op: d.constraint().map_or(0, |(op, _)| op.bits()),
            conflict: d.conflict(),
        }
    }

    /// The repository tag it is pinned to (`name@tag`).
    pub(crate) fn tag(&self) -> Option<u16> {
        (self.tag != NO_TAG).then_some(self.tag)
    }

    /// Pins it to `tag`, or to none.
    pub(crate) fn set_tag(&mut self, tag: Option<u16>) {
        self.tag = tag.unwrap_or(NO_TAG);
    }

    /// The version (or identity, for `><`) after the operator; empty without one.
    pub(crate) fn version(&self) -> &[u8] {
        self.ver.version()
    }
}

/// `d` as written (`!name@tag>=1.2`).
fn token_text(d: &DependencyRef<'_>) -> String {
    let mut text = String::new();
    push_token(
        &mut text,
        d.conflict(),
        d.name(),
        d.tag(),
        d.constraint().map(|(op, v)| (op.bits(), v.as_bytes())),
    );
    text
}

/// Append a token as apk writes it: `[!]name[@tag][op version]`.
fn push_token(
    out: &mut String,
    conflict: bool,
    name: &str,
    tag: Option<&str>,
    constraint: Option<(u8, &[u8])>,
) {
    if conflict {
        out.push('!');
    }
    out.push_str(name);
    if let Some(t) = tag {
        out.push('@');
        out.push_str(t);
    }
    if let Some((op, v)) = constraint {
        out.push_str(Op::from_bits(op).map_or("", Op::as_str));
        out.push_str(&String::from_utf8_lossy(v));
    }
}

/// Inline room of a [`Ver`]: 99.6% of the versions in Alpine's dependencies fit.
const VER_INLINE: usize = 14;

/// The version part of a token (16 bytes): inline when short, else on the heap; or, for a
/// token that cannot be rebuilt from its parts, the whole token.
#[derive(Debug, Clone)]
enum Ver {
    Inline(u8, [u8; VER_INLINE]),
    Long(Box<LongVer>),
}

#[derive(Debug, Clone)]
struct LongVer {
    text: Box<str>,
    /// Where the version starts in `text`.
    version_at: usize,
    /// `text` is the whole token.
    whole: bool,
}

impl Ver {
    fn new(version: &str) -> Ver {
        match version.len() {
            len @ 0..=VER_INLINE => {
                let mut buf = [0u8; VER_INLINE];
                if let Some(dst) = buf.get_mut(..len) {
                    dst.copy_from_slice(version.as_bytes());
                }
                Ver::Inline(len as u8, buf)
            }
            _ => Ver::Long(Box::new(LongVer {
                text: version.into(),
                version_at: 0,
                whole: false,
            })),
        }
    }

    /// The whole token `text`, whose last `version_len` bytes are the version.
    fn whole(text: String, version_len: usize) -> Ver {
        Ver::Long(Box::new(LongVer {
            version_at: text.len().saturating_sub(version_len),
            text: text.into_boxed_str(),
            whole: true,
        }))
    }

    fn version(&self) -> &[u8] {
        match self {
            Ver::Inline(len, buf) => buf.get(..usize::from(*len)).unwrap_or_default(),
            Ver::Long(l) => l.text.as_bytes().get(l.version_at..).unwrap_or_default(),
        }
    }

    /// The whole token, when that is what is kept.
    fn whole_text(&self) -> Option<&str> {
        match self {
            Ver::Long(l) if l.whole => Some(&l.text),
            _ => None,
        }
    }
}

/// Inline room of a [`Text`]: nearly every package version of real indexes fits.
const TEXT_INLINE: usize = 30;

/// A package's version: kept inline when short (no allocation for the ~18,000 packages of an
/// index pair), on the heap otherwise. Reads as a `str` (validated: hot paths compare
/// [`Text::as_bytes`]).
#[derive(Clone)]
pub(crate) struct Text(TextRepr);

#[derive(Clone)]
enum TextRepr {
    Inline(u8, [u8; TEXT_INLINE]),
    Heap(Box<str>),
}

impl Text {
    /// `s`.
    pub(crate) fn new(s: &str) -> Text {
        match s.len() {
            len @ 0..=TEXT_INLINE => {
                let mut buf = [0u8; TEXT_INLINE];
                if let Some(dst) = buf.get_mut(..len) {
                    dst.copy_from_slice(s.as_bytes());
                }
                Text(TextRepr::Inline(len as u8, buf))
            }
            _ => Text(TextRepr::Heap(s.into())),
        }
    }

    /// The bytes: what the hot paths compare (reading an inline text as `str` validates it).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            TextRepr::Inline(len, buf) => buf.get(..usize::from(*len)).unwrap_or_default(),
            TextRepr::Heap(s) => s.as_bytes(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match &self.0 {
            // Always whole `str`s copied in, so always UTF-8.
            TextRepr::Inline(..) => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            TextRepr::Heap(s) => s,
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A provided name (24 bytes); its text is rebuilt for reports ([`Universe::provide_text`]).
#[derive(Debug, Clone)]
pub(crate) struct Provide {
    /// The provided version; the whole token instead for a tagged or `!` provide (which makes
    /// the record uninstallable).
    ver: Ver,
    pub name: NameIdx,
    /// The operator's bits; 0 for a virtual (unversioned) provide.
    op: u8,
}

impl Provide {
    /// Provide `d`, whose name is `name` here.
    fn new(name: NameIdx, d: &DependencyRef<'_>) -> Provide {
        let version = d.constraint().map_or("", |(_, v)| v);
        let ver = if d.tag().is_some() || d.conflict() {
            Ver::whole(token_text(d), version.len())
        } else {
            Ver::new(version)
        };
        Provide {
            ver,
            name,
            op: d.constraint().map_or(0, |(op, _)| op.bits()),
        }
    }

    /// The provided version (`None` for a virtual provide).
    pub(crate) fn version(&self) -> Option<&[u8]> {
        (self.op != 0).then(|| self.ver.version())
    }
}

/// Name lookup: one arena and one hash table for every name (no allocation per name).
#[derive(Debug, Clone, Default)]
pub(crate) struct NameIds {
    table: apk_index::NameTable,
}

impl NameIds {
    /// The id of `name`, if it is known.
    pub(crate) fn get(&self, name: &str) -> Option<NameIdx> {
        self.table.lookup(name).map(|id| id.index() as NameIdx)
    }

    /// Whether `name` is known.
    pub(crate) fn contains_key(&self, name: &str) -> bool {
        self.table.lookup(name).is_some()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Pkg {
    pub name: NameIdx,
    pub version: Text,
    pub identity: Option<apk_index::Checksum>,
    /// Bit i: present in repository i.
    pub repos: u64,
    pub installed: bool,
    pub installed_tag: u16,
    /// Valid under the index rules (no unknown upper-case field, valid version and deps).
    pub valid: bool,
    pub priority: u32,
    pub installed_size: u64,
    /// The arch, when it is not accepted.
    pub bad_arch: Option<String>,
    /// Lowest repository index holding it (`u32::MAX` for installed-only packages).
    pub first_repo: u32,
    /// Its dependencies are `Universe::deps[deps[0]..deps[1]]`, its install_if conditions
    /// `[deps[1]..deps[2]]`.
    deps: [u32; 3],
    /// Its provides are `Universe::provides[provides[0]..provides[1]]`.
    provides: [u32; 2],
}

impl Pkg {
    /// The package of an index record `p` of repository `ri`, whose dependencies, install_if
    /// conditions and provides were pushed at `deps` and `provides`.
    #[allow(clippy::too_many_arguments)]
    fn from_index(
        p: &PackageRef<'_>,
        name: NameIdx,
        identity: Option<apk_index::Checksum>,
        ri: usize,
        valid: bool,
        options: &SolverOptions,
        deps: [u32; 3],
        provides: [u32; 2],
    ) -> Pkg {
        Pkg {
            name,
            version: Text::new(p.version()),
            identity,
            repos: 1 << ri,
            installed: false,
            installed_tag: 0,
            valid,
            priority: p.provider_priority(),
            installed_size: p.installed_size(),
            bad_arch: bad_arch(p.arch(), options),
            first_repo: ri as u32,
            deps,
            provides,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Provider {
    pub pkg: PkgIdx,
    pub entry: u32,
}

/// Per-name lists, all in one array: row `n` is `items[start[n]..start[n + 1]]`. A name
/// beyond the last row (interned after the view was built) has empty lists.
#[derive(Debug, Clone, Default)]
struct Rows<T> {
    start: Vec<u32>,
    items: Vec<T>,
}

impl<T> Rows<T> {
    fn row(&self, n: NameIdx) -> &[T] {
        let n = n as usize;
        match (self.start.get(n), self.start.get(n + 1)) {
            (Some(&a), Some(&b)) => self.items.get(a as usize..b as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// Rows of the given sizes, to be filled by [`Rows::fill`] in row order; returns the
    /// fill cursors (each row's start).
    fn with_sizes(sizes: impl Iterator<Item = u32>, total: usize) -> (Rows<T>, Vec<u32>) {
        let mut start = Vec::with_capacity(sizes.size_hint().0 + 1);
        let mut at = 0u32;
        start.push(0);
        for s in sizes {
            at += s;
            start.push(at);
        }
        let cursor = start[..start.len() - 1].to_vec();
        (
            Rows {
                start,
                items: Vec::with_capacity(total),
            },
            cursor,
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RepoInfo {
    pub tag: u16,
    pub available: bool,
}

/// The arch, when it is not one of `options.arches` (nor `noarch`).
fn bad_arch(arch: Option<&str>, options: &SolverOptions) -> Option<String> {
    match arch {
        Some(a) if a != "noarch" && !options.arches.is_empty() => {
            (!options.arches.iter().any(|x| x == a)).then(|| a.to_owned())
        }
        _ => None,
    }
}

/// A name id not mapped yet.
const UNMAPPED: NameIdx = NameIdx::MAX;

/// How packages are told apart while building the view: by identity bytes (the normal case),
/// or without one by name and version.
#[derive(Clone, Copy)]
enum PkgKey<'a> {
    Identity(&'a [u8]),
    NameVersion(NameIdx, &'a [u8]),
}

impl<'a> PkgKey<'a> {
    fn of(name: NameIdx, version: &'a [u8], identity: Option<&'a apk_index::Checksum>) -> Self {
        match identity {
            Some(c) => PkgKey::Identity(c.as_bytes()),
            None => PkgKey::NameVersion(name, version),
        }
    }

    fn of_pkg(p: &'a Pkg) -> Self {
        PkgKey::of(p.name, p.version.as_bytes(), p.identity.as_ref())
    }

    fn hash(self, hasher: &FastHash) -> u64 {
        match self {
            PkgKey::Identity(b) => std::hash::BuildHasher::hash_one(hasher, (0u8, b)),
            PkgKey::NameVersion(n, v) => std::hash::BuildHasher::hash_one(hasher, (1u8, n, v)),
        }
    }

    fn same(self, other: PkgKey<'_>) -> bool {
        match (self, other) {
            (PkgKey::Identity(a), PkgKey::Identity(b)) => a == b,
            (PkgKey::NameVersion(n, v), PkgKey::NameVersion(m, w)) => n == m && v == w,
            _ => false,
        }
    }
}

/// Packages by [`PkgKey`]: the first package of each key.
#[derive(Debug)]
struct ByKey {
    table: hashbrown::HashTable<PkgIdx>,
    hasher: FastHash,
}

impl ByKey {
    fn get(&self, pkgs: &[Pkg], key: PkgKey<'_>) -> Option<PkgIdx> {
        let hash = key.hash(&self.hasher);
        self.table
            .find(hash, |&i| PkgKey::of_pkg(&pkgs[i as usize]).same(key))
            .copied()
    }

    /// Makes room for `additional` more packages.
    fn reserve(&mut self, pkgs: &[Pkg], additional: usize) {
        let hasher = &self.hasher;
        self.table.reserve(additional, |&i| {
            PkgKey::of_pkg(&pkgs[i as usize]).hash(hasher)
        });
    }

    /// For the package about to be pushed as `idx`, with `key`: the package already recorded
    /// under `key` when `key` is an identity (then it is that package); else `None`, after
    /// recording `idx` for `key` if it is the first of its key. One lookup instead of a `get`
    /// and an `insert`.
    fn claim(&mut self, pkgs: &[Pkg], key: PkgKey<'_>, idx: PkgIdx) -> Option<PkgIdx> {
        let hash = key.hash(&self.hasher);
        let hasher = &self.hasher;
        match self.table.entry(
            hash,
            |&i| PkgKey::of_pkg(&pkgs[i as usize]).same(key),
            |&i| PkgKey::of_pkg(&pkgs[i as usize]).hash(hasher),
        ) {
            hashbrown::hash_table::Entry::Occupied(e) => {
                matches!(key, PkgKey::Identity(_)).then(|| *e.get())
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(idx);
                None
            }
        }
    }

    /// Records package `idx` (the last of `pkgs`) unless its key is taken.
    fn insert(&mut self, pkgs: &[Pkg], idx: PkgIdx) {
        let key = PkgKey::of_pkg(&pkgs[idx as usize]);
        let hash = key.hash(&self.hasher);
        let hasher = &self.hasher;
        if let hashbrown::hash_table::Entry::Vacant(v) = self.table.entry(
            hash,
            |&i| PkgKey::of_pkg(&pkgs[i as usize]).same(key),
            |&i| PkgKey::of_pkg(&pkgs[i as usize]).hash(hasher),
        ) {
            v.insert(idx);
        }
    }
}

/// Indexes of at least this many records are drafted on a second thread while they are added
/// (below, the thread is not worth starting).
const PARALLEL_MIN: usize = 4096;

/// A package bit: it can never be chosen (see [`Universe::unselectable`]).
const UNSELECTABLE: u8 = 1;
/// A package bit: it has install_if conditions.
const HAS_INSTALL_IF: u8 = 2;

/// Records per draft when a second thread drafts an index's records.
const DRAFT_CHUNK: usize = 512;

/// How many drafts the drafting thread may be ahead.
const DRAFTS_AHEAD: usize = 4;

/// One index's names mapped to the universe's, each interned when first met.
struct NameMap<'i> {
    texts: &'i apk_index::NameTable,
    map: Vec<NameIdx>,
}

impl NameMap<'_> {
    /// The universe's id of the index's name number `id`; `text` gives the name when there
    /// is no such number.
    fn get<S: AsRef<str>>(
        &mut self,
        u: &mut Universe,
        id: Option<usize>,
        text: impl FnOnce() -> S,
    ) -> NameIdx {
        match id.and_then(|id| Some((self.map.get_mut(id)?, self.texts.get_index(id)?))) {
            Some((slot, name)) => {
                if *slot == UNMAPPED {
                    *slot = u.intern(name);
                }
                *slot
            }
            None => u.intern(text().as_ref()),
        }
    }
}

/// Records converted apart from the universe: names are the index's own name numbers
/// (`UNMAPPED` when a list has none), dependencies carry no tag, and ranges point into the
/// draft's own arrays. The flag says whether the record has tagged dependencies.
struct Draft {
    pkgs: Vec<(Pkg, bool)>,
    deps: Vec<Dep>,
    provides: Vec<Provide>,
}

impl Draft {
    fn convert(
        index: &Index,
        range: std::ops::Range<usize>,
        ri: usize,
        options: &SolverOptions,
    ) -> Draft {
        let n = range.len();
        let mut draft = Draft {
            pkgs: Vec::with_capacity(n),
            deps: Vec::with_capacity(n * 5),
            provides: Vec::with_capacity(n * 2),
        };
        let id = |n: Option<apk_index::NameId>| n.map_or(UNMAPPED, |n| n.index() as NameIdx);
        for i in range {
            let p = index.package(i);
            let mut valid = index.is_installable(i);
            let mut tagged = false;
            let start = draft.deps.len() as u32;
            let mut deps = |out: &mut Vec<Dep>, list: DepList<'_>| {
                for (j, d) in list.iter().enumerate() {
                    if d.tag().is_some() {
                        valid = false;
                        tagged = true;
                    }
                    out.push(Dep::new(id(list.name_id(j)), &d, None));
                }
                out.len() as u32
            };
            let mid = deps(&mut draft.deps, p.depends());
            let end = deps(&mut draft.deps, p.install_if());
            let pstart = draft.provides.len() as u32;
            let list = p.provides();
            for (j, d) in list.iter().enumerate() {
                if d.tag().is_some() || d.conflict() {
                    valid = false;
                }
                draft.provides.push(Provide::new(id(list.name_id(j)), &d));
            }
            let pkg = Pkg::from_index(
                &p,
                index.package_name(i).index() as NameIdx,
                p.identity(),
                ri,
                valid,
                options,
                [start, mid, end],
                [pstart, draft.provides.len() as u32],
            );
            draft.pkgs.push((pkg, tagged));
        }
        draft
    }
}

/// Everything the engines read: immutable once built.
#[derive(Debug, Clone)]
pub(crate) struct Universe {
    pub name_ids: NameIds,
    pub pkgs: Vec<Pkg>,
    /// Every package's dependencies and install_if conditions (see [`Pkg`]).
    deps: Vec<Dep>,
    /// Every package's provides.
    provides: Vec<Provide>,
    /// Per name: the provider entries, in package order (own name, then provides).
    providers: Rows<Provider>,
    /// Per name: the packages depending on it, in package order.
    rdepends: Rows<PkgIdx>,
    /// Per name: the packages with an install_if condition on it, in package order.
    rinstall_if: Rows<PkgIdx>,
    /// Per package: the names it takes (its own, then its provided ones), packed together for
    /// the engines' walks over many packages.
    names_of: Rows<NameIdx>,
    /// Per package: the names of its dependencies, then of its install_if conditions, packed
    /// like `names_of`.
    dep_names: Rows<NameIdx>,
    /// Per package: [`UNSELECTABLE`] and [`HAS_INSTALL_IF`], for the walks over many
    /// packages that need only these.
    pkg_bits: Vec<u8>,
    pub repos: Vec<RepoInfo>,
    /// Tag 0 is the untagged default.
    pub tags: Vec<String>,
    pub rules: Rules,
    pub broken_indexes: bool,
    /// Installed packages in installed-database order.
    pub installed_order: Vec<PkgIdx>,
}

impl Universe {
    pub(crate) fn build(
        repositories: &[Repository],
        installed: &InstalledDb,
        options: &SolverOptions,
    ) -> Universe {
        let packages: usize =
            repositories.iter().map(|r| r.index.len()).sum::<usize>() + installed.packages.len();
        // At most every index's names (untouched room costs no memory).
        let names: usize = repositories.iter().map(|r| r.index.names().len()).sum();
        let mut b = Builder::with_capacity(options, packages, names);
        for repo in repositories {
            b.add(repo);
        }
        b.finish(installed)
    }
}

/// Builds a [`Universe`] one repository at a time.
#[derive(Debug)]
pub(crate) struct Builder {
    u: Universe,
    by_key: ByKey,
    options: SolverOptions,
}

impl Builder {
    /// A builder with room for about `packages` packages and `names` names.
    pub(crate) fn with_capacity(options: &SolverOptions, packages: usize, names: usize) -> Builder {
        let u = Universe {
            name_ids: NameIds {
                table: apk_index::NameTable::with_capacity(names),
            },
            pkgs: Vec::with_capacity(packages),
            // Alpine's records average under 5 dependency tokens and 1.5 provides.
            deps: Vec::with_capacity(packages * 5),
            provides: Vec::with_capacity(packages * 2),
            providers: Rows::default(),
            rdepends: Rows::default(),
            rinstall_if: Rows::default(),
            names_of: Rows::default(),
            dep_names: Rows::default(),
            pkg_bits: Vec::new(),
            repos: Vec::new(),
            tags: vec![String::new()],
            rules: options.rules,
            broken_indexes: false,
            installed_order: Vec::new(),
        };
        // apk-tools identifies a package by its identity alone: a later record with the
        // identity of an earlier one is the same package, whatever its name says.
        let by_key = ByKey {
            table: hashbrown::HashTable::with_capacity(packages),
            hasher: FastHash::default(),
        };
        Builder {
            u,
            by_key,
            options: options.clone(),
        }
    }

    /// Add the next repository (in repositories-file order); beyond the 63rd, repositories
    /// are ignored.
    pub(crate) fn add(&mut self, repo: &Repository) {
        let Builder { u, by_key, options } = self;
        let ri = u.repos.len();
        if ri >= 63 {
            return;
        }
        let index = &repo.index;
        // Room for every record and, with the first repository, for a few more repositories
        // like it (systems list two to four; untouched room costs no memory), so that adding
        // the next ones does not move or rehash what is there.
        let scale = if ri == 0 { 4 } else { 1 };
        let records = index.len() * scale;
        u.pkgs.reserve(records);
        u.deps.reserve(records * 5);
        u.provides.reserve(records * 2);
        u.name_ids.table.reserve(index.names().len() * scale);
        by_key.reserve(&u.pkgs, records);
        let tag = repo.tag.as_deref().map_or(0, |t| u.tag_id(t));
        let available = match repo.kind {
            RepositoryKind::Remote => !options.no_network,
            RepositoryKind::Local | RepositoryKind::Cache => true,
        };
        u.repos.push(RepoInfo { tag, available });
        u.add_index(index, ri, by_key, options);
    }

    /// Add the installed packages and link every name to its packages.
    pub(crate) fn finish(self, installed: &InstalledDb) -> Universe {
        let Builder {
            mut u, mut by_key, ..
        } = self;
        for info in &installed.packages {
            let name = u.intern(&info.name);
            let key = PkgKey::of(name, info.version.as_bytes(), info.identity.as_ref());
            let tag = info.repository_tag.as_deref().map_or(0, |t| u.tag_id(t));
            if let Some(existing) = by_key.get(&u.pkgs, key) {
                let p = &mut u.pkgs[existing as usize];
                p.installed = true;
                p.installed_tag = tag;
                u.installed_order.push(existing);
                continue;
            }
            let pkg = u.convert_installed(&info.as_ref(), name);
            let idx = u.push_pkg(Pkg {
                installed_tag: tag,
                ..pkg
            });
            u.installed_order.push(idx);
            by_key.insert(&u.pkgs, idx);
        }
        u.link_names();
        u
    }
}

impl Universe {
    /// Add the records of repository `ri`, names interned in the order the records mention
    /// them (own name, dependencies, install_if, provides), as apk meets them. A large index
    /// has its records after the first chunk drafted on a second thread meanwhile (with the
    /// index's own name ids), chunk by chunk; each draft is then mapped and added in order.
    fn add_index(&mut self, index: &Index, ri: usize, by_key: &mut ByKey, options: &SolverOptions) {
        let len = index.len();
        let parallel =
            len >= PARALLEL_MIN && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        let mut names = NameMap {
            texts: index.names(),
            map: vec![UNMAPPED; index.names().len()],
        };
        // This thread converts the first chunk itself while a second one drafts the rest,
        // chunk by chunk and a few chunks ahead; each draft is then added in order.
        let first = if parallel { DRAFT_CHUNK.min(len) } else { len };
        let mut next = first;
        std::thread::scope(|s| {
            let (drafts, drafted) = std::sync::mpsc::sync_channel(DRAFTS_AHEAD);
            if first < len {
                // If the thread cannot start, `drafts` is dropped with it and nothing arrives.
                let _ = std::thread::Builder::new().spawn_scoped(s, move || {
                    let mut start = first;
                    while start < len {
                        let end = (start + DRAFT_CHUNK).min(len);
                        if drafts
                            .send(Draft::convert(index, start..end, ri, options))
                            .is_err()
                        {
                            break;
                        }
                        start = end;
                    }
                });
            } else {
                drop(drafts);
            }
            for i in 0..first {
                self.add_record(index, i, ri, by_key, &mut names, options);
            }
            for draft in drafted {
                let count = draft.pkgs.len();
                self.add_draft(index, draft, next, ri, by_key, &mut names);
                next += count;
            }
        });
        // Whatever the second thread did not draft (it failed to start or stopped), here.
        for i in next..len {
            self.add_record(index, i, ri, by_key, &mut names, options);
        }
    }

    /// Add record `i` of repository `ri`'s index.
    fn add_record(
        &mut self,
        index: &Index,
        i: usize,
        ri: usize,
        by_key: &mut ByKey,
        names: &mut NameMap<'_>,
        options: &SolverOptions,
    ) {
        let p = index.package(i);
        let own = names.get(self, Some(index.package_name(i).index()), || p.name());
        let identity = p.identity();
        let key = PkgKey::of(own, p.version().as_bytes(), identity.as_ref());
        // A record whose identity did not parse is its own package: two such records
        // cannot be told apart from different ones.
        let idx = self.pkgs.len() as PkgIdx;
        if let Some(existing) = by_key.claim(&self.pkgs, key, idx) {
            self.pkgs[existing as usize].repos |= 1 << ri;
            return;
        }
        let mut valid = index.is_installable(i);
        let start = self.deps.len() as u32;
        let mut deps = |u: &mut Universe, list: DepList<'_>| {
            for (j, d) in list.iter().enumerate() {
                let name = names.get(u, list.name_id(j).map(|n| n.index()), || d.name());
                // Package dependencies cannot be pinned; apk refuses such a record.
                let tag = d.tag().map(|t| {
                    valid = false;
                    u.tag_id(t)
                });
                u.deps.push(Dep::new(name, &d, tag));
            }
            u.deps.len() as u32
        };
        let mid = deps(self, p.depends());
        let end = deps(self, p.install_if());
        let pstart = self.provides.len() as u32;
        let list = p.provides();
        for (j, d) in list.iter().enumerate() {
            // A tagged or `!` provide makes the record invalid.
            if d.tag().is_some() || d.conflict() {
                valid = false;
            }
            let name = names.get(self, list.name_id(j).map(|n| n.index()), || d.name());
            self.provides.push(Provide::new(name, &d));
        }
        if !valid {
            self.broken_indexes = true;
        }
        let provides = [pstart, self.provides.len() as u32];
        self.push_pkg(Pkg::from_index(
            &p,
            own,
            identity,
            ri,
            valid,
            options,
            [start, mid, end],
            provides,
        ));
    }

    /// Add the records `first..` of repository `ri`'s index that `draft` converted: what
    /// [`Universe::add_record`] does, with the conversion already done.
    fn add_draft(
        &mut self,
        index: &Index,
        draft: Draft,
        first: usize,
        ri: usize,
        by_key: &mut ByKey,
        names: &mut NameMap<'_>,
    ) {
        let Draft {
            pkgs,
            mut deps,
            mut provides,
        } = draft;
        // The draft's arrays are appended whole once their names are mapped (a duplicate's
        // entries stay behind, unused).
        let (dbase, pbase) = (self.deps.len() as u32, self.provides.len() as u32);
        for (k, (mut pkg, tagged)) in pkgs.into_iter().enumerate() {
            let i = first + k;
            let own = names.get(self, Some(pkg.name as usize), || {
                index.package(i).name().to_owned()
            });
            let key = PkgKey::of(own, pkg.version.as_bytes(), pkg.identity.as_ref());
            if let Some(existing) = by_key.claim(&self.pkgs, key, self.pkgs.len() as PkgIdx) {
                self.pkgs[existing as usize].repos |= 1 << ri;
                continue;
            }
            pkg.name = own;
            let [a, b, c] = pkg.deps.map(|x| x as usize);
            for (j, d) in deps
                .get_mut(a..c)
                .unwrap_or_default()
                .iter_mut()
                .enumerate()
            {
                // The list and position this entry came from, to read what the draft left
                // out (a tag, a name without an id).
                let from_index = || {
                    let p = index.package(i);
                    if a + j < b {
                        p.depends().get(j)
                    } else {
                        p.install_if().get(a + j - b)
                    }
                };
                d.name = names.get(self, Some(d.name as usize), || {
                    from_index().map_or_else(String::new, |d| d.name().to_owned())
                });
                if tagged {
                    let tag = from_index()
                        .and_then(|d| d.tag().map(str::to_owned))
                        .map(|t| self.tag_id(&t));
                    d.set_tag(tag);
                }
            }
            pkg.deps = pkg.deps.map(|x| x + dbase);
            let [pa, pb] = pkg.provides.map(|x| x as usize);
            for (j, pv) in provides
                .get_mut(pa..pb)
                .unwrap_or_default()
                .iter_mut()
                .enumerate()
            {
                pv.name = names.get(self, Some(pv.name as usize), || {
                    index
                        .package(i)
                        .provides()
                        .get(j)
                        .map_or_else(String::new, |d| d.name().to_owned())
                });
            }
            pkg.provides = pkg.provides.map(|x| x + pbase);
            if !pkg.valid {
                self.broken_indexes = true;
            }
            self.push_pkg(pkg);
        }
        self.deps.append(&mut deps);
        self.provides.append(&mut provides);
    }

    pub(crate) fn tag_id(&mut self, tag: &str) -> u16 {
        if let Some(i) = self.tags.iter().position(|t| t == tag) {
            return i as u16;
        }
        self.tags.push(tag.to_owned());
        (self.tags.len() - 1) as u16
    }

    /// The id of `name`, adding it if it is new (a name added after the view was built has
    /// no providers nor reverse dependencies).
    pub(crate) fn intern(&mut self, name: &str) -> NameIdx {
        self.name_ids.table.intern(name).index() as NameIdx
    }

    /// How many names there are: name ids are below this.
    pub(crate) fn name_count(&self) -> usize {
        self.name_ids.table.len()
    }

    /// The text of name `n`.
    pub(crate) fn name(&self, n: NameIdx) -> &str {
        self.name_ids
            .table
            .get_index(n as usize)
            .unwrap_or_default()
    }

    /// Dependency `d` as written (`!name@tag>=1.2`).
    pub(crate) fn dep_text(&self, d: &Dep) -> String {
        if let Some(whole) = d.ver.whole_text() {
            return whole.to_owned();
        }
        let mut out = String::new();
        let tag = d.tag().and_then(|t| self.tags.get(usize::from(t)));
        push_token(
            &mut out,
            d.conflict,
            self.name(d.name),
            tag.map(String::as_str),
            (d.op != 0).then(|| (d.op, d.version())),
        );
        out
    }

    /// Provide `pv` as written (`so:libc.so=1`).
    pub(crate) fn provide_text(&self, pv: &Provide) -> String {
        if let Some(whole) = pv.ver.whole_text() {
            return whole.to_owned();
        }
        let mut out = String::new();
        push_token(
            &mut out,
            false,
            self.name(pv.name),
            None,
            pv.version().map(|v| (pv.op, v)),
        );
        out
    }

    /// Name `n`'s provider entries, in package order.
    pub(crate) fn providers(&self, n: NameIdx) -> &[Provider] {
        self.providers.row(n)
    }

    /// The packages depending on name `n`, each once, in package order.
    pub(crate) fn rdepends(&self, n: NameIdx) -> &[PkgIdx] {
        self.rdepends.row(n)
    }

    /// The packages with an install_if condition on name `n`, each once, in package order.
    pub(crate) fn rinstall_if(&self, n: NameIdx) -> &[PkgIdx] {
        self.rinstall_if.row(n)
    }

    /// Package `p`'s dependencies.
    pub(crate) fn depends(&self, p: PkgIdx) -> &[Dep] {
        let [a, b, _] = self.pkgs[p as usize].deps;
        self.deps.get(a as usize..b as usize).unwrap_or_default()
    }

    /// Package `p`'s install_if conditions.
    pub(crate) fn install_if(&self, p: PkgIdx) -> &[Dep] {
        let [_, b, c] = self.pkgs[p as usize].deps;
        self.deps.get(b as usize..c as usize).unwrap_or_default()
    }

    /// Package `p`'s provides.
    pub(crate) fn provides(&self, p: PkgIdx) -> &[Provide] {
        let [a, b] = self.pkgs[p as usize].provides;
        self.provides
            .get(a as usize..b as usize)
            .unwrap_or_default()
    }

    /// The names package `p` takes: its own, then its provided ones.
    pub(crate) fn pkg_names(&self, p: PkgIdx) -> &[NameIdx] {
        self.names_of.row(p)
    }

    /// Whether package `p` can never be chosen: it is in no available repository and not
    /// installed, it is invalid, or its arch is not accepted.
    pub(crate) fn unselectable(&self, p: PkgIdx) -> bool {
        self.pkg_bits
            .get(p as usize)
            .is_none_or(|&b| b & UNSELECTABLE != 0)
    }

    /// Whether package `p` has install_if conditions (read without touching the package).
    pub(crate) fn has_install_if(&self, p: PkgIdx) -> bool {
        self.pkg_bits
            .get(p as usize)
            .is_some_and(|&b| b & HAS_INSTALL_IF != 0)
    }

    /// The names package `p` provides.
    pub(crate) fn provided_names(&self, p: PkgIdx) -> &[NameIdx] {
        self.names_of.row(p).get(1..).unwrap_or_default()
    }

    /// The names of package `p`'s dependencies, then of its install_if conditions.
    pub(crate) fn dep_and_iif_names(&self, p: PkgIdx) -> &[NameIdx] {
        self.dep_names.row(p)
    }

    fn dep(&mut self, d: &DependencyRef<'_>, name: NameIdx) -> Dep {
        let tag = d.tag().map(|t| self.tag_id(t));
        Dep::new(name, d, tag)
    }

    /// An installed package that no repository has (its names interned as met).
    fn convert_installed(&mut self, p: &PackageRef<'_>, own: NameIdx) -> Pkg {
        let start = self.deps.len() as u32;
        let deps = |u: &mut Universe, list: DepList<'_>| {
            for d in list.iter() {
                let name = u.intern(d.name());
                let dep = u.dep(&d, name);
                u.deps.push(dep);
            }
            u.deps.len() as u32
        };
        let mid = deps(self, p.depends());
        let end = deps(self, p.install_if());
        let pstart = self.provides.len() as u32;
        for d in p.provides().iter() {
            let name = self.intern(d.name());
            self.provides.push(Provide::new(name, &d));
        }
        Pkg {
            name: own,
            version: Text::new(p.version()),
            identity: p.identity(),
            repos: 0,
            installed: true,
            installed_tag: 0,
            valid: true,
            priority: p.provider_priority(),
            installed_size: p.installed_size(),
            bad_arch: None,
            first_repo: u32::MAX,
            deps: [start, mid, end],
            provides: [pstart, self.provides.len() as u32],
        }
    }

    fn push_pkg(&mut self, pkg: Pkg) -> PkgIdx {
        let idx = self.pkgs.len() as PkgIdx;
        self.pkgs.push(pkg);
        idx
    }

    /// Fill every name's providers, reverse dependencies and reverse install_if, in package
    /// order, each kind in one array allocated at its final size (the providers and reverse
    /// install_if on a second thread meanwhile, when there are many packages), and the packed
    /// per-package name lists.
    fn link_names(&mut self) {
        let u: &Universe = self;
        let parallel = u.pkgs.len() >= PARALLEL_MIN
            && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        let (providers, rdepends, rinstall_if, names) = std::thread::scope(|s| {
            let other = || (u.provider_rows(), u.reverse_rows(|p| u.install_if(p)));
            let helper = parallel
                .then(|| std::thread::Builder::new().spawn_scoped(s, other).ok())
                .flatten();
            let rdepends = u.reverse_rows(|p| u.depends(p));
            let names_of = u.names_of_rows();
            let dep_names = u.dep_name_rows();
            let pkg_bits = (0..u.pkgs.len() as PkgIdx)
                .map(|i| {
                    let p = &u.pkgs[i as usize];
                    let unselectable =
                        !(u.available(i) || p.installed) || !p.valid || p.bad_arch.is_some();
                    let [_, b, c] = p.deps;
                    u8::from(unselectable) * UNSELECTABLE + u8::from(b < c) * HAS_INSTALL_IF
                })
                .collect();
            let (providers, rinstall_if) = match helper.map(|h| h.join()) {
                Some(Ok(rows)) => rows,
                _ => other(),
            };
            let names = (names_of, dep_names, pkg_bits);
            (providers, rdepends, rinstall_if, names)
        });
        self.providers = providers;
        self.rdepends = rdepends;
        self.rinstall_if = rinstall_if;
        (self.names_of, self.dep_names, self.pkg_bits) = names;
    }

    /// Per package, the names of its dependencies and install_if conditions.
    fn dep_name_rows(&self) -> Rows<NameIdx> {
        let mut rows = Rows {
            start: Vec::with_capacity(self.pkgs.len() + 1),
            items: Vec::with_capacity(self.deps.len()),
        };
        rows.start.push(0);
        for p in &self.pkgs {
            let [a, _, c] = p.deps;
            let deps = self.deps.get(a as usize..c as usize).unwrap_or_default();
            rows.items.extend(deps.iter().map(|d| d.name));
            rows.start.push(rows.items.len() as u32);
        }
        rows
    }

    /// Per package, the names it takes.
    fn names_of_rows(&self) -> Rows<NameIdx> {
        let total = self.pkgs.len() + self.provides.len();
        let mut rows = Rows {
            start: Vec::with_capacity(self.pkgs.len() + 1),
            items: Vec::with_capacity(total),
        };
        rows.start.push(0);
        for p in 0..self.pkgs.len() as PkgIdx {
            rows.items.push(self.pkgs[p as usize].name);
            rows.items.extend(self.provides(p).iter().map(|pv| pv.name));
            rows.start.push(rows.items.len() as u32);
        }
        rows
    }

    /// Every name's provider entries, in package order (own name, then provides).
    fn provider_rows(&self) -> Rows<Provider> {
        let entries = |p: PkgIdx| {
            std::iter::once((self.pkgs[p as usize].name, OWN)).chain(
                self.provides(p)
                    .iter()
                    .enumerate()
                    .map(|(i, pv)| (pv.name, i as u32)),
            )
        };
        let mut sizes = vec![0u32; self.name_count()];
        let mut total = 0;
        for p in 0..self.pkgs.len() as PkgIdx {
            for (n, _) in entries(p) {
                sizes[n as usize] += 1;
                total += 1;
            }
        }
        let (mut rows, mut cursor) = Rows::with_sizes(sizes.into_iter(), total);
        rows.items.resize(total, Provider::default());
        for p in 0..self.pkgs.len() as PkgIdx {
            for (n, entry) in entries(p) {
                let at = &mut cursor[n as usize];
                rows.items[*at as usize] = Provider { pkg: p, entry };
                *at += 1;
            }
        }
        rows
    }

    /// Per name, the packages whose `list` names it, each once, in package order.
    fn reverse_rows<'s>(&'s self, list: impl Fn(PkgIdx) -> &'s [Dep]) -> Rows<PkgIdx> {
        let names = self.name_count();
        // Per name: how many packages name it, and the last one counted.
        let mut sizes = vec![0u32; names];
        let mut last = vec![PkgIdx::MAX; names];
        let mut total = 0;
        for p in 0..self.pkgs.len() as PkgIdx {
            for d in list(p) {
                let n = d.name as usize;
                if last[n] != p {
                    last[n] = p;
                    sizes[n] += 1;
                    total += 1;
                }
            }
        }
        drop(last);
        let (mut rows, mut cursor) = Rows::with_sizes(sizes.into_iter(), total);
        rows.items.resize(total, 0);
        for p in 0..self.pkgs.len() as PkgIdx {
            for d in list(p) {
                let n = d.name as usize;
                let at = &mut cursor[n];
                // Once per package: the row's last entry is this package when it already
                // named `n`.
                if *at > rows.start[n] && rows.items[*at as usize - 1] == p {
                    continue;
                }
                rows.items[*at as usize] = p;
                *at += 1;
            }
        }
        rows
    }

    /// The version a provider entry offers for its name (`None` for a virtual provide).
    pub(crate) fn provided_version(&self, p: Provider) -> Option<&[u8]> {
        let pkg = &self.pkgs[p.pkg as usize];
        if p.entry == OWN {
            Some(pkg.version.as_bytes())
        } else {
            self.provides(p.pkg)
                .get(p.entry as usize)
                .and_then(Provide::version)
        }
    }

    pub(crate) fn is_virtual(&self, p: Provider) -> bool {
        self.provided_version(p).is_none()
    }

    /// Whether provider `p` meets the version part of `dep`, ignoring `!`.
    pub(crate) fn version_matches(&self, dep: &Dep, p: Provider) -> bool {
        if dep.op == 0 {
            return true;
        }
        if dep.op == Op::CHECKSUM.bits() {
            // `><` is rare: comparing the identity's text form is fine.
            return p.entry == OWN
                && self.pkgs[p.pkg as usize]
                    .identity
                    .is_some_and(|c| c.to_string().as_bytes() == dep.version());
        }
        match self.provided_version(p) {
            None => false,
            Some(v) => version::matches(v, dep.op, dep.version(), self.rules),
        }
    }

    pub(crate) fn tag_mask(&self, pkg: PkgIdx) -> u64 {
        let p = &self.pkgs[pkg as usize];
        let mut mask = 0u64;
        for (i, r) in self.repos.iter().enumerate() {
            if p.repos & (1 << i) != 0 {
                mask |= tag_bit(r.tag);
            }
        }
        if p.installed {
            mask |= tag_bit(p.installed_tag);
        }
        mask
    }

    pub(crate) fn available(&self, pkg: PkgIdx) -> bool {
        let p = &self.pkgs[pkg as usize];
        self.repos
            .iter()
            .enumerate()
            .any(|(i, r)| r.available && p.repos & (1 << i) != 0)
    }

    pub(crate) fn compare_versions(&self, a: &[u8], b: &[u8]) -> std::cmp::Ordering {
        version::compare(a, b, self.rules)
    }

    pub(crate) fn pkg_label(&self, pkg: PkgIdx) -> String {
        let p = &self.pkgs[pkg as usize];
        format!("{}-{}", self.name(p.name), p.version)
    }
}
