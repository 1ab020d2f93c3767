//! Shared plumbing of the applets that read a root's database: `info`, `list`, `search`,
//! `policy`, `dot`, `manifest`, `stats`, `audit`, `cache`, `fetch` and `version`.
//!
//! * [`open`] opens the database of `--root` **read-only** (no lock, nothing written) and,
//!   when asked, loads the repository indexes, warning about the ones that fail as apk does
//!   (`WARNING: Ignoring URL: cause`) and going on without them.
//! * [`Universe`] merges the installed packages and every loaded index into one list of
//!   distinct packages ([`Pkg`]): a package that is installed *and* in two repositories (same
//!   name, version and identity) is one entry that knows both. Lookups by name, by provided
//!   name and by dependency, and "the best candidate" (highest version, then provider
//!   priority, then repository order) are the queries every applet needs.
//! * [`glob_match`] is `fnmatch(3)` without flags, for the name patterns of `list`,
//!   `search`, `version` and friends.
//! * [`pkg_line`] prints a package at apk's verbosity levels: `name`, `name-ver` or
//!   `name-ver - description`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::Write;

use anyhow::Context as _;
use apk_db::{Database, LockWait};
use apk_index::{DependencyRef, Op, PackageInfo, PackageRef, Rules, version};

use crate::Global;

/// Opens the database of `--root` read-only; with `indexes`, loads the repository indexes
/// too. A repository that fails to load is reported on stderr and left out.
pub fn open(global: &Global, indexes: bool) -> anyhow::Result<Database> {
    open_with_lock(global, indexes, None)
}

/// Opens the database like [`open`], holding the lock (`lock` = how long to wait) when
/// `lock` is given. Only applets that write (to the cache) take it.
pub fn open_with_lock(
    global: &Global,
    indexes: bool,
    lock: Option<LockWait>,
) -> anyhow::Result<Database> {
    let options = global.open_options(lock);
    let mut db = Database::open(&options)?;
    for note in db.recovered() {
        eprintln!("WARNING: {note}");
    }
    if indexes {
        load_indexes(&mut db);
    }
    Ok(db)
}

/// Loads the repository indexes of `db`, printing `WARNING: Ignoring URL: cause` for every
/// repository whose index did not load.
pub fn load_indexes(db: &mut Database) {
    db.load_indexes(false);
    for repo in db.loaded_repositories() {
        if let Some(error) = &repo.error {
            let url = &repo.index_url;
            // Fetch errors usually start with the URL already.
            let cause = error
                .strip_prefix(url.as_str())
                .and_then(|rest| rest.strip_prefix(": "))
                .unwrap_or(error);
            eprintln!("WARNING: Ignoring {url}: {cause}");
        }
    }
}

/// Writes one line, with the context every applet uses for output errors.
pub fn line(out: &mut impl Write, text: impl std::fmt::Display) -> anyhow::Result<()> {
    writeln!(out, "{text}").context("failed to write the output")
}

/// A package as apk names it in listings: `name-version`.
pub fn name_ver(pkg: &PackageRef<'_>) -> String {
    format!("{}-{}", pkg.name(), pkg.version())
}

/// A package at apk's verbosity levels: quiet → `name`, normal → `name-version`,
/// verbose → `name-version - description`.
pub fn pkg_line(pkg: &PackageRef<'_>, verbosity: i16) -> String {
    match verbosity {
        i16::MIN..=-1 => pkg.name().to_owned(),
        0 => name_ver(pkg),
        _ => format!("{} - {}", name_ver(pkg), pkg.description()),
    }
}

/// `dir/name`, or `name` for the root directory.
pub fn join_path(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// One distinct package of the [`Universe`].
#[derive(Debug, Clone)]
pub struct Pkg<'a> {
    /// Its index fields (from the installed database when installed, else from the first
    /// index that has it).
    pub info: PackageRef<'a>,
    /// Positions in [`Database::loaded_repositories`] of the repositories that have it, in
    /// repository order.
    pub repos: Vec<usize>,
    /// The installed record, when this package is the installed one.
    pub installed: Option<&'a PackageInfo>,
}

impl Pkg<'_> {
    /// Whether some repository has this package.
    pub fn available(&self) -> bool {
        !self.repos.is_empty()
    }
}

/// The installed packages and all loaded indexes merged into distinct packages; see the
/// [module documentation](self).
#[derive(Debug)]
pub struct Universe<'a> {
    /// The database the packages come from.
    pub db: &'a Database,
    /// The packages: installed ones first (database order), then the rest in repository
    /// order.
    pub pkgs: Vec<Pkg<'a>>,
    /// Own name → packages.
    by_name: HashMap<&'a str, Vec<usize>>,
    /// Provided name → (package, provided version).
    provided: HashMap<&'a str, Vec<(usize, Option<&'a str>)>>,
    /// The version rules.
    pub rules: Rules,
}

/// Whether two records describe the same package: same name and version, and the same
/// identity when both have one.
fn same_package(a: &PackageRef<'_>, b: &PackageRef<'_>) -> bool {
    a.name() == b.name()
        && a.version() == b.version()
        && match (a.identity(), b.identity()) {
            (Some(x), Some(y)) => x.as_bytes() == y.as_bytes(),
            _ => true,
        }
}

impl<'a> Universe<'a> {
    /// Merges the installed packages of `db` with its loaded indexes.
    pub fn new(db: &'a Database) -> Universe<'a> {
        let mut u = Universe {
            db,
            pkgs: Vec::new(),
            by_name: HashMap::new(),
            provided: HashMap::new(),
            rules: Rules::default(),
        };
        let mut by_name_ver: HashMap<(&'a str, &'a str), Vec<usize>> = HashMap::new();
        for info in &db.installed().packages {
            let pkg = info.as_ref();
            by_name_ver
                .entry((pkg.name(), pkg.version()))
                .or_default()
                .push(u.pkgs.len());
            u.pkgs.push(Pkg {
                info: pkg,
                repos: Vec::new(),
                installed: Some(info),
            });
        }
        for (r, repo) in db.loaded_repositories().iter().enumerate() {
            let Some(index) = &repo.index else { continue };
            for pkg in index.packages() {
                let same = by_name_ver.entry((pkg.name(), pkg.version())).or_default();
                match same
                    .iter()
                    .copied()
                    .find(|&i| same_package(&u.pkgs[i].info, &pkg))
                {
                    Some(i) => {
                        let repos = &mut u.pkgs[i].repos;
                        if !repos.contains(&r) {
                            repos.push(r);
                        }
                    }
                    None => {
                        same.push(u.pkgs.len());
                        u.pkgs.push(Pkg {
                            info: pkg,
                            repos: vec![r],
                            installed: None,
                        });
                    }
                }
            }
        }
        for (i, p) in u.pkgs.iter().enumerate() {
            u.by_name.entry(p.info.name()).or_default().push(i);
            for prov in p.info.provides().iter() {
                u.provided
                    .entry(prov.name())
                    .or_default()
                    .push((i, prov.constraint().map(|(_, v)| v)));
            }
        }
        u
    }

    /// The packages whose own name is `name`.
    pub fn by_name(&self, name: &str) -> &[usize] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The distinct own names of all packages, sorted.
    pub fn names(&self) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = self.by_name.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// The installed package named `name`.
    pub fn installed(&self, name: &str) -> Option<usize> {
        self.by_name(name)
            .iter()
            .copied()
            .find(|&i| self.pkgs[i].installed.is_some())
    }

    /// Whether package `i` satisfies `dep` (ignoring `!`): by its own name and version, or by
    /// one of its provides. A `><` dependency compares identities.
    pub fn satisfies(&self, i: usize, dep: &DependencyRef<'_>) -> bool {
        let pkg = &self.pkgs[i].info;
        if let Some((op, want)) = dep.constraint() {
            if op == Op::CHECKSUM {
                return pkg.name() == dep.name()
                    && pkg.identity().is_some_and(|id| id.to_string() == want);
            }
        }
        if pkg.name() == dep.name() && dep.version_matches(Some(pkg.version()), self.rules) {
            return true;
        }
        pkg.provides().iter().any(|p| {
            p.name() == dep.name()
                && dep.version_matches(p.constraint().map(|(_, v)| v), self.rules)
        })
    }

    /// Every package satisfying `dep` (ignoring `!`): packages of that name first, then the
    /// other providers, each group in universe order.
    pub fn providers(&self, dep: &DependencyRef<'_>) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .by_name(dep.name())
            .iter()
            .copied()
            .filter(|&i| self.satisfies(i, dep))
            .collect();
        if let Some(provs) = self.provided.get(dep.name()) {
            for &(i, _) in provs {
                if !out.contains(&i) && self.satisfies(i, dep) {
                    out.push(i);
                }
            }
        }
        out
    }

    /// Compares two versions under the universe's rules.
    pub fn compare_versions(&self, a: &str, b: &str) -> Ordering {
        version::compare(a.as_bytes(), b.as_bytes(), self.rules)
    }

    /// Orders candidates best first: the higher version, then the higher provider
    /// priority, then the one in the earlier repository (an installed-only package last).
    pub fn better(&self, a: usize, b: usize) -> Ordering {
        let (pa, pb) = (&self.pkgs[a], &self.pkgs[b]);
        let first_repo = |p: &Pkg<'_>| p.repos.first().copied().unwrap_or(usize::MAX);
        self.compare_versions(pb.info.version(), pa.info.version())
            .then_with(|| {
                pb.info
                    .provider_priority()
                    .cmp(&pa.info.provider_priority())
            })
            .then_with(|| first_repo(pa).cmp(&first_repo(pb)))
    }

    /// The best of `candidates` by [`better`](Self::better).
    pub fn best(&self, candidates: impl IntoIterator<Item = usize>) -> Option<usize> {
        candidates.into_iter().min_by(|&a, &b| self.better(a, b))
    }

    /// The installed packages that depend on package `i` (one of their dependencies is
    /// satisfied by it), sorted by name.
    pub fn required_by(&self, i: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .pkgs
            .iter()
            .enumerate()
            .filter(|(j, p)| {
                *j != i
                    && p.installed.is_some()
                    && p.info
                        .depends()
                        .iter()
                        .any(|d| !d.conflict() && self.satisfies(i, &d))
            })
            .map(|(j, _)| j)
            .collect();
        out.sort_by(|&a, &b| self.pkgs[a].info.name().cmp(self.pkgs[b].info.name()));
        out
    }
}

/// `fnmatch(3)` without flags: `*` and `?` match any characters (including `/`), `[…]` a
/// set (`!` or `^` negates, `a-z` ranges), `\` escapes the next character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index it matched to).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some(b'*') => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some(b'?') => Some(pi + 1),
            Some(b'[') => match match_set(p, pi, t[ti]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                // An unclosed `[` is an ordinary character.
                None => (t[ti] == b'[').then_some(pi + 1),
            },
            Some(b'\\') if pi + 1 < p.len() => (p[pi + 1] == t[ti]).then_some(pi + 2),
            Some(&c) => (c == t[ti]).then_some(pi + 1),
            None => None,
        };
        match step {
            Some(next) => {
                pi = next;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the set starting at `p[start] == b'['`: `Some((matched, index after
/// the set))`, or `None` when the set is not closed.
fn match_set(p: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *p.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&hi| hi != b']') {
            let hi = p[i + 2];
            matched |= lo <= c && c <= hi;
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
}

/// Whether `name` matches any of `patterns` (all names match when there are none).
pub fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| glob_match(p, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("busy*", "busybox"));
        assert!(glob_match("*box", "busybox"));
        assert!(glob_match("*sy*o*", "busybox"));
        assert!(glob_match("b?sybox", "busybox"));
        assert!(!glob_match("b?sybox", "bsybox"));
        assert!(glob_match("lib[a-c]*", "libcurl"));
        assert!(!glob_match("lib[!a-c]*", "libcurl"));
        assert!(glob_match("so:*", "so:libc.musl-x86_64.so.1"));
        assert!(glob_match("a\\*", "a*"));
        assert!(!glob_match("a\\*", "ab"));
        assert!(glob_match("[", "["));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("*.conf", "etc/x.conf"));
    }
}
