//! The repository view: every package the solver may consider, deduplicated across
//! repositories and the installed database, with names interned and dependencies resolved to
//! name ids.

use std::collections::HashMap;
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

#[derive(Debug, Clone)]
pub(crate) struct Dep {
    pub name: NameIdx,
    pub op: u8,
    pub conflict: bool,
    pub tag: Option<u16>,
    /// Where the version (or identity) starts in `text`; the text's length without one.
    version_at: u32,
    /// The token as written, for reports.
    pub text: Text,
}

impl Dep {
    /// `d`, whose name is `name` and whose tag is `tag` here.
    pub(crate) fn new(name: NameIdx, d: &DependencyRef<'_>, tag: Option<u16>) -> Dep {
        let text = Text::of_dep(d);
        let version_len = d.constraint().map_or(0, |(_, v)| v.len());
        Dep {
            name,
            op: d.constraint().map_or(0, |(op, _)| op.bits()),
            conflict: d.conflict(),
            tag,
            version_at: u32::try_from(text.len() - version_len).unwrap_or(u32::MAX),
            text,
        }
    }

    /// The version (or identity, for `><`) after the operator; empty without one.
    pub(crate) fn version(&self) -> &[u8] {
        self.text
            .as_bytes()
            .get(self.version_at as usize..)
            .unwrap_or_default()
    }
}

/// Inline room of a [`Text`]: nearly every dependency token of real indexes fits.
const TEXT_INLINE: usize = 30;

/// A dependency token as written: kept inline when short (no allocation for the ~75,000
/// tokens of an index pair), on the heap otherwise. Reads as a `str`.
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

    /// `d` as written (`!name@tag>=1.2`), built without the formatting machinery.
    fn of_dep(d: &DependencyRef<'_>) -> Text {
        let conflict: &str = if d.conflict() { "!" } else { "" };
        let tag = d.tag().map_or(["", ""], |t| ["@", t]);
        let constraint = d.constraint().map_or(["", ""], |(op, v)| [op.as_str(), v]);
        let parts = [
            conflict,
            d.name(),
            tag[0],
            tag[1],
            constraint[0],
            constraint[1],
        ];
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len <= TEXT_INLINE {
            let mut buf = [0u8; TEXT_INLINE];
            let mut at = 0;
            for p in parts {
                if let Some(dst) = buf.get_mut(at..at + p.len()) {
                    dst.copy_from_slice(p.as_bytes());
                }
                at += p.len();
            }
            Text(TextRepr::Inline(len as u8, buf))
        } else {
            Text(TextRepr::Heap(parts.concat().into_boxed_str()))
        }
    }

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

#[derive(Debug, Clone)]
pub(crate) struct Provide {
    pub name: NameIdx,
    /// Where the version starts in `text`, for a versioned provide.
    version_at: Option<u32>,
    pub text: String,
}

impl Provide {
    /// The provided version (`None` for a virtual provide).
    pub(crate) fn version(&self) -> Option<&str> {
        self.version_at.and_then(|at| self.text.get(at as usize..))
    }
}

/// Name lookup: one arena and one hash table for every name (no allocation per name).
#[derive(Debug, Clone, Default)]
pub(crate) struct NameIds {
    table: apk_index::NameTable,
    /// `ids[i] == i`: what `get` hands out a reference to.
    ids: Vec<NameIdx>,
}

impl NameIds {
    fn with_capacity(names: usize) -> NameIds {
        NameIds {
            table: apk_index::NameTable::with_capacity(names),
            ids: Vec::with_capacity(names),
        }
    }

    /// The id of `name`, if it is known.
    pub(crate) fn get(&self, name: &str) -> Option<&NameIdx> {
        self.table
            .lookup(name)
            .and_then(|id| self.ids.get(id.index()))
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
    pub depends: Vec<Dep>,
    pub provides: Vec<Provide>,
    pub install_if: Vec<Dep>,
    pub priority: u32,
    pub installed_size: u64,
    /// Valid under the index rules (no unknown upper-case field, valid version and deps).
    pub valid: bool,
    /// The arch, when it is not accepted.
    pub bad_arch: Option<String>,
    /// Lowest repository index holding it (`u32::MAX` for installed-only packages).
    pub first_repo: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Provider {
    pub pkg: PkgIdx,
    pub entry: u32,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Name {
    pub text: String,
    pub providers: Vec<Provider>,
    pub rdepends: Vec<PkgIdx>,
    pub rinstall_if: Vec<PkgIdx>,
}

#[derive(Debug, Clone)]
pub(crate) struct RepoInfo {
    pub tag: u16,
    pub available: bool,
}

/// How packages are told apart while building the view.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PkgKey {
    /// By identity bytes (the normal case): length and bytes, without allocating.
    Identity(u8, [u8; 32]),
    /// No identity: by name and version.
    NameVersion(NameIdx, String),
}

impl PkgKey {
    fn new(name: NameIdx, version: &str, identity: Option<apk_index::Checksum>) -> PkgKey {
        if let Some(c) = identity {
            let bytes = c.as_bytes();
            let mut key = [0u8; 32];
            if let (Some(dst), Ok(len)) = (key.get_mut(..bytes.len()), u8::try_from(bytes.len())) {
                dst.copy_from_slice(bytes);
                return PkgKey::Identity(len, key);
            }
        }
        PkgKey::NameVersion(name, version.to_owned())
    }
}

/// Packages below this many are converted on the calling thread alone.
const PARALLEL_MIN: usize = 4096;

/// Records converted by [`draft`], in order, in one or two runs.
type Drafts = Vec<Vec<(Pkg, bool)>>;

/// The first step of building the view, per repository: every record converted, with the
/// names still the index's own ids (`NameId::index`) and dependency tags not yet resolved; the
/// flag says whether the record has tagged dependencies. Large sets are split in two halves
/// converted on two threads; the rest of the build (names, tags, identities) is sequential.
fn draft_all(repositories: &[Repository], options: &SolverOptions) -> Vec<Drafts> {
    let total: usize = repositories.iter().map(|r| r.index.len()).sum();
    let halves = |first: bool| -> Vec<Vec<(Pkg, bool)>> {
        repositories
            .iter()
            .map(|r| {
                let (len, mid) = (r.index.len(), r.index.len() / 2);
                draft(&r.index, if first { 0..mid } else { mid..len }, options)
            })
            .collect()
    };
    let parallel =
        total >= PARALLEL_MIN && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if !parallel {
        return repositories
            .iter()
            .map(|r| vec![draft(&r.index, 0..r.index.len(), options)])
            .collect();
    }
    let (first, second) = std::thread::scope(|s| {
        let second = std::thread::Builder::new().spawn_scoped(s, || halves(false));
        let first = halves(true);
        let second = second.ok().and_then(|h| h.join().ok());
        (first, second)
    });
    // Without a second thread (or if it failed), the calling thread does its half too.
    let second = second.unwrap_or_else(|| halves(false));
    first
        .into_iter()
        .zip(second)
        .map(|(a, b)| vec![a, b])
        .collect()
}

/// Records `range` of `index`, converted; see [`draft_all`].
fn draft(
    index: &Index,
    range: std::ops::Range<usize>,
    options: &SolverOptions,
) -> Vec<(Pkg, bool)> {
    let local = |id: Option<apk_index::NameId>| id.map_or(UNMAPPED, |id| id.index() as NameIdx);
    range
        .map(|i| {
            let p = index.package(i);
            let mut valid = index.is_installable(i);
            let mut tagged = false;
            let mut deps = |list: apk_index::DepList<'_>| {
                list.iter()
                    .enumerate()
                    .map(|(j, d)| {
                        if d.tag().is_some() {
                            // Package dependencies cannot be pinned; apk refuses such a record.
                            valid = false;
                            tagged = true;
                        }
                        Dep::new(local(list.name_id(j)), &d, None)
                    })
                    .collect::<Vec<_>>()
            };
            let depends = deps(p.depends());
            let install_if = deps(p.install_if());
            let provides = provides(p.provides(), &mut valid, |j| local(p.provides().name_id(j)));
            let pkg = Pkg {
                name: index.package_name(i).index() as NameIdx,
                version: Text::new(p.version()),
                identity: p.identity(),
                repos: 0,
                installed: false,
                installed_tag: 0,
                depends,
                provides,
                install_if,
                priority: p.provider_priority(),
                installed_size: p.installed_size(),
                valid,
                bad_arch: bad_arch(p.arch(), options),
                first_repo: u32::MAX,
            };
            (pkg, tagged)
        })
        .collect()
}

/// A record's provides (`name` gives the name id of provide `j`); a tagged or `!` provide
/// makes the record invalid.
fn provides(
    list: apk_index::DepList<'_>,
    valid: &mut bool,
    mut name: impl FnMut(usize) -> NameIdx,
) -> Vec<Provide> {
    list.iter()
        .enumerate()
        .map(|(j, d)| {
            if d.tag().is_some() || d.conflict() {
                *valid = false;
            }
            let text = dep_text(&d);
            let version_at = d
                .constraint()
                .and_then(|(_, v)| u32::try_from(text.len() - v.len()).ok());
            Provide {
                name: name(j),
                version_at,
                text,
            }
        })
        .collect()
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

/// `d` as written (`!name@tag>=1.2`), built without the formatting machinery.
fn dep_text(d: &DependencyRef<'_>) -> String {
    let (name, tag, constraint) = (d.name(), d.tag(), d.constraint());
    let len = usize::from(d.conflict())
        + name.len()
        + tag.map_or(0, |t| 1 + t.len())
        + constraint.map_or(0, |(op, v)| op.as_str().len() + v.len());
    let mut text = String::with_capacity(len);
    if d.conflict() {
        text.push('!');
    }
    text.push_str(name);
    if let Some(t) = tag {
        text.push('@');
        text.push_str(t);
    }
    if let Some((op, v)) = constraint {
        text.push_str(op.as_str());
        text.push_str(v);
    }
    text
}

/// Everything the engines read: immutable once built.
#[derive(Debug, Clone)]
pub(crate) struct Universe {
    pub names: Vec<Name>,
    pub name_ids: NameIds,
    pub pkgs: Vec<Pkg>,
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
        let mut u = Universe {
            names: Vec::with_capacity(names),
            name_ids: NameIds::with_capacity(names),
            pkgs: Vec::with_capacity(packages),
            repos: Vec::new(),
            tags: vec![String::new()],
            rules: options.rules,
            broken_indexes: false,
            installed_order: Vec::new(),
        };
        // apk-tools identifies a package by its identity alone: a later record with the
        // identity of an earlier one is the same package, whatever its name says.
        let mut by_key: HashMap<PkgKey, PkgIdx, FastHash> =
            HashMap::with_capacity_and_hasher(packages, FastHash::default());
        let repositories = repositories.get(..63).unwrap_or(repositories);
        let drafts = draft_all(repositories, options);
        for (ri, (repo, drafts)) in repositories.iter().zip(drafts).enumerate() {
            let tag = repo.tag.as_deref().map_or(0, |t| u.tag_id(t));
            let available = match repo.kind {
                RepositoryKind::Remote => !options.no_network,
                RepositoryKind::Local | RepositoryKind::Cache => true,
            };
            u.repos.push(RepoInfo { tag, available });
            // The index's names, mapped to ours as they are first met (so that ids are handed
            // out in the same order as by interning every mention).
            let index = &repo.index;
            let texts: Vec<&str> = index.names().iter().map(|(_, n)| n).collect();
            let mut map = vec![UNMAPPED; texts.len()];
            let mut local = |u: &mut Universe, id: NameIdx, text: &dyn Fn() -> String| match (
                map.get_mut(id as usize),
                texts.get(id as usize),
            ) {
                (Some(slot), Some(name)) => {
                    if *slot == UNMAPPED {
                        *slot = u.intern(name);
                    }
                    *slot
                }
                _ => u.intern(&text()),
            };
            for (i, (mut pkg, tagged)) in drafts.into_iter().flatten().enumerate() {
                let p = || index.package(i);
                let own = local(&mut u, pkg.name, &|| p().name().to_owned());
                let key = PkgKey::new(own, pkg.version.as_str(), pkg.identity);
                // A record whose identity did not parse is its own package: two such records
                // cannot be told apart from different ones.
                if matches!(key, PkgKey::Identity(..))
                    && let Some(&existing) = by_key.get(&key)
                {
                    u.pkgs[existing as usize].repos |= 1 << ri;
                    continue;
                }
                pkg.name = own;
                // Names in record order (dependencies, install_if, provides), as apk meets them;
                // dependencies and install_if also carry their pinning tags.
                let mut remap =
                    |u: &mut Universe,
                     deps: &mut [Dep],
                     list: for<'a> fn(&PackageRef<'a>) -> DepList<'a>| {
                        for (j, d) in deps.iter_mut().enumerate() {
                            let dep = || list(&p()).get(j);
                            d.name = local(u, d.name, &|| {
                                dep().map_or_else(String::new, |d| d.name().to_owned())
                            });
                            if tagged {
                                d.tag = dep().and_then(|d| d.tag()).map(|t| u.tag_id(t));
                            }
                        }
                    };
                remap(&mut u, &mut pkg.depends, |r| r.depends());
                remap(&mut u, &mut pkg.install_if, |r| r.install_if());
                for (j, pv) in pkg.provides.iter_mut().enumerate() {
                    let dep = || p().provides().get(j);
                    pv.name = local(&mut u, pv.name, &|| {
                        dep().map_or_else(String::new, |d| d.name().to_owned())
                    });
                }
                if !pkg.valid {
                    u.broken_indexes = true;
                }
                pkg.repos = 1 << ri;
                pkg.first_repo = ri as u32;
                let idx = u.push_pkg(pkg);
                by_key.entry(key).or_insert(idx);
            }
        }
        for info in &installed.packages {
            let name = u.intern(&info.name);
            let key = PkgKey::new(name, &info.version, info.identity);
            let tag = info.repository_tag.as_deref().map_or(0, |t| u.tag_id(t));
            if let Some(&existing) = by_key.get(&key) {
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
            by_key.insert(key, idx);
        }
        u.link_names();
        u
    }

    pub(crate) fn tag_id(&mut self, tag: &str) -> u16 {
        if let Some(i) = self.tags.iter().position(|t| t == tag) {
            return i as u16;
        }
        self.tags.push(tag.to_owned());
        (self.tags.len() - 1) as u16
    }

    pub(crate) fn intern(&mut self, name: &str) -> NameIdx {
        let ids = &mut self.name_ids;
        let id = ids.table.intern(name).index() as NameIdx;
        if id as usize == self.names.len() {
            ids.ids.push(id);
            self.names.push(Name {
                text: name.to_owned(),
                ..Name::default()
            });
        }
        id
    }

    fn dep(&mut self, d: &DependencyRef<'_>, name: NameIdx) -> Dep {
        let tag = d.tag().map(|t| self.tag_id(t));
        Dep::new(name, d, tag)
    }

    /// An installed package that no repository has (its names interned as met).
    fn convert_installed(&mut self, p: &PackageRef<'_>, own: NameIdx) -> Pkg {
        let mut deps = |list: apk_index::DepList<'_>| {
            list.iter()
                .map(|d| {
                    let name = self.intern(d.name());
                    self.dep(&d, name)
                })
                .collect::<Vec<_>>()
        };
        let depends = deps(p.depends());
        let install_if = deps(p.install_if());
        let list = p.provides();
        let provides = provides(list, &mut true, |j| {
            list.get(j).map_or(UNMAPPED, |d| self.intern(d.name()))
        });
        Pkg {
            name: own,
            version: Text::new(p.version()),
            identity: p.identity(),
            repos: 0,
            installed: true,
            installed_tag: 0,
            depends,
            provides,
            install_if,
            priority: p.provider_priority(),
            installed_size: p.installed_size(),
            valid: true,
            bad_arch: None,
            first_repo: u32::MAX,
        }
    }

    fn push_pkg(&mut self, pkg: Pkg) -> PkgIdx {
        let idx = self.pkgs.len() as PkgIdx;
        self.pkgs.push(pkg);
        idx
    }

    /// Fill every name's providers, reverse dependencies and reverse install_if, in package
    /// order; each list is allocated once, at its final size.
    fn link_names(&mut self) {
        let mut sizes = vec![[0u32; 3]; self.names.len()];
        for p in &self.pkgs {
            sizes[p.name as usize][0] += 1;
            for pv in &p.provides {
                sizes[pv.name as usize][0] += 1;
            }
            for d in &p.depends {
                sizes[d.name as usize][1] += 1;
            }
            for d in &p.install_if {
                sizes[d.name as usize][2] += 1;
            }
        }
        for (n, [providers, rdepends, rinstall_if]) in self.names.iter_mut().zip(sizes) {
            n.providers.reserve_exact(providers as usize);
            n.rdepends.reserve_exact(rdepends as usize);
            n.rinstall_if.reserve_exact(rinstall_if as usize);
        }
        for (idx, pkg) in self.pkgs.iter().enumerate() {
            let idx = idx as PkgIdx;
            self.names[pkg.name as usize].providers.push(Provider {
                pkg: idx,
                entry: OWN,
            });
            for (i, pv) in pkg.provides.iter().enumerate() {
                self.names[pv.name as usize].providers.push(Provider {
                    pkg: idx,
                    entry: i as u32,
                });
            }
            for d in &pkg.depends {
                let rd = &mut self.names[d.name as usize].rdepends;
                if rd.last() != Some(&idx) {
                    rd.push(idx);
                }
            }
            for d in &pkg.install_if {
                let ri = &mut self.names[d.name as usize].rinstall_if;
                if ri.last() != Some(&idx) {
                    ri.push(idx);
                }
            }
        }
    }

    /// The version a provider entry offers for its name (`None` for a virtual provide).
    pub(crate) fn provided_version(&self, p: Provider) -> Option<&str> {
        let pkg = &self.pkgs[p.pkg as usize];
        if p.entry == OWN {
            Some(pkg.version.as_str())
        } else {
            pkg.provides
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
            Some(v) => version::matches(v.as_bytes(), dep.op, dep.version(), self.rules),
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

    pub(crate) fn compare_versions(&self, a: &str, b: &str) -> std::cmp::Ordering {
        version::compare(a.as_bytes(), b.as_bytes(), self.rules)
    }

    pub(crate) fn pkg_label(&self, pkg: PkgIdx) -> String {
        let p = &self.pkgs[pkg as usize];
        format!("{}-{}", self.names[p.name as usize].text, p.version)
    }
}
