//! The repository view: every package the solver may consider, deduplicated across
//! repositories and the installed database, with names interned and dependencies resolved to
//! name ids.

use std::collections::HashMap;
use std::sync::Arc;

use apk_index::{DependencyRef, Index, InstalledDb, Op, PackageRef, Rules, version};

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
    pub version: String,
    pub conflict: bool,
    pub tag: Option<u16>,
    /// The token as written, for reports.
    pub text: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Provide {
    pub name: NameIdx,
    pub version: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Pkg {
    pub name: NameIdx,
    pub version: String,
    pub identity: Option<String>,
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
    /// By identity bytes (the normal case).
    Identity(Vec<u8>),
    /// No identity: by name and version.
    NameVersion(NameIdx, String),
}

impl PkgKey {
    fn new(name: NameIdx, version: &str, identity: Option<apk_index::Checksum>) -> PkgKey {
        match identity {
            Some(c) => PkgKey::Identity(c.as_bytes().to_vec()),
            None => PkgKey::NameVersion(name, version.to_owned()),
        }
    }
}

/// Everything the engines read: immutable once built.
#[derive(Debug, Clone)]
pub(crate) struct Universe {
    pub names: Vec<Name>,
    pub name_ids: HashMap<String, NameIdx>,
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
        let mut u = Universe {
            names: Vec::new(),
            name_ids: HashMap::new(),
            pkgs: Vec::new(),
            repos: Vec::new(),
            tags: vec![String::new()],
            rules: options.rules,
            broken_indexes: false,
            installed_order: Vec::new(),
        };
        // apk-tools identifies a package by its identity alone: a later record with the
        // identity of an earlier one is the same package, whatever its name says.
        let mut by_key: HashMap<PkgKey, PkgIdx> = HashMap::new();
        for (ri, repo) in repositories.iter().enumerate().take(63) {
            let tag = repo.tag.as_deref().map_or(0, |t| u.tag_id(t));
            let available = match repo.kind {
                RepositoryKind::Remote => !options.no_network,
                RepositoryKind::Local | RepositoryKind::Cache => true,
            };
            u.repos.push(RepoInfo { tag, available });
            for i in 0..repo.index.len() {
                let p = repo.index.package(i);
                let mut valid = repo.index.is_installable(i);
                let key = PkgKey::new(u.intern(p.name()), p.version(), p.identity());
                // A record whose identity did not parse is its own package: two such records
                // cannot be told apart from different ones.
                if matches!(key, PkgKey::Identity(_))
                    && let Some(&existing) = by_key.get(&key)
                {
                    u.pkgs[existing as usize].repos |= 1 << ri;
                    continue;
                }
                let pkg = u.convert(&p, &mut valid, options);
                if !valid {
                    u.broken_indexes = true;
                }
                let idx = u.push_pkg(Pkg {
                    repos: 1 << ri,
                    valid,
                    first_repo: ri as u32,
                    ..pkg
                });
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
            let mut valid = true;
            let pkg = u.convert(&info.as_ref(), &mut valid, &SolverOptions::default());
            let idx = u.push_pkg(Pkg {
                installed: true,
                installed_tag: tag,
                valid: true,
                ..pkg
            });
            u.installed_order.push(idx);
            by_key.insert(key, idx);
        }
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
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len() as NameIdx;
        self.names.push(Name {
            text: name.to_owned(),
            ..Name::default()
        });
        self.name_ids.insert(name.to_owned(), id);
        id
    }

    pub(crate) fn dep(&mut self, d: &DependencyRef<'_>) -> Dep {
        let (op, version) = match d.constraint() {
            Some((op, v)) => (op.bits(), v.to_owned()),
            None => (0, String::new()),
        };
        Dep {
            name: self.intern(d.name()),
            op,
            version,
            conflict: d.conflict(),
            tag: d.tag().map(|t| self.tag_id(t)),
            text: d.to_string(),
        }
    }

    fn convert(&mut self, p: &PackageRef<'_>, valid: &mut bool, options: &SolverOptions) -> Pkg {
        let deps = |list: apk_index::DepList<'_>, valid: &mut bool, u: &mut Universe| {
            list.iter()
                .map(|d| {
                    if d.tag().is_some() {
                        // Package dependencies cannot be pinned; apk refuses such a record.
                        *valid = false;
                    }
                    u.dep(&d)
                })
                .collect::<Vec<_>>()
        };
        let depends = deps(p.depends(), valid, self);
        let install_if = deps(p.install_if(), valid, self);
        let provides = p
            .provides()
            .iter()
            .map(|d| {
                if d.tag().is_some() || d.conflict() {
                    *valid = false;
                }
                Provide {
                    name: self.intern(d.name()),
                    version: d.constraint().map(|(_, v)| v.to_owned()),
                    text: d.to_string(),
                }
            })
            .collect();
        let bad_arch = match p.arch() {
            Some(a) if a != "noarch" && !options.arches.is_empty() => {
                (!options.arches.iter().any(|x| x == a)).then(|| a.to_owned())
            }
            _ => None,
        };
        Pkg {
            name: self.intern(p.name()),
            version: p.version().to_owned(),
            identity: p.identity().map(|c| c.to_string()),
            repos: 0,
            installed: false,
            installed_tag: 0,
            depends,
            provides,
            install_if,
            priority: p.provider_priority(),
            installed_size: p.installed_size(),
            valid: true,
            bad_arch,
            first_repo: u32::MAX,
        }
    }

    fn push_pkg(&mut self, pkg: Pkg) -> PkgIdx {
        let idx = self.pkgs.len() as PkgIdx;
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
        self.pkgs.push(pkg);
        idx
    }

    /// The version a provider entry offers for its name (`None` for a virtual provide).
    pub(crate) fn provided_version(&self, p: Provider) -> Option<&str> {
        let pkg = &self.pkgs[p.pkg as usize];
        if p.entry == OWN {
            Some(&pkg.version)
        } else {
            pkg.provides
                .get(p.entry as usize)
                .and_then(|pv| pv.version.as_deref())
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
            return p.entry == OWN
                && self.pkgs[p.pkg as usize].identity.as_deref() == Some(dep.version.as_str());
        }
        match self.provided_version(p) {
            None => false,
            Some(v) => version::matches(v.as_bytes(), dep.op, dep.version.as_bytes(), self.rules),
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
