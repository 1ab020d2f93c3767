//! Changesets in apk's order and their transcript.

use std::fmt::{self, Write as _};

use crate::greedy::Selection;
use crate::model::{NameIdx, OWN, PkgIdx, Universe, tag_bit};
use crate::task::F_REINSTALL;

/// What happens to one package.
///
/// ```
/// use apk_solver::ChangeKind;
/// assert_eq!(ChangeKind::Upgrade.verb(), "Upgrading");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A package that was not installed.
    Install,
    /// A newer version replaces the installed one.
    Upgrade,
    /// An older version replaces the installed one.
    Downgrade,
    /// The same version with a different identity replaces the installed one.
    Replace,
    /// The installed package is installed again.
    Reinstall,
    /// The installed package is removed.
    Purge,
    /// The package stays but now comes from a repository with another tag.
    UpdatePinning,
}

impl ChangeKind {
    /// The verb apk prints.
    pub fn verb(self) -> &'static str {
        match self {
            ChangeKind::Install => "Installing",
            ChangeKind::Upgrade => "Upgrading",
            ChangeKind::Downgrade => "Downgrading",
            ChangeKind::Replace => "Replacing",
            ChangeKind::Reinstall => "Reinstalling",
            ChangeKind::Purge => "Purging",
            ChangeKind::UpdatePinning => "Updating pinning",
        }
    }
}

/// A package version as it appears in a change.
///
/// ```
/// use apk_solver::PackageVersion;
/// let v = PackageVersion { version: "1.0-r0".into(), tag: Some("edge".into()), identity: None };
/// assert_eq!(v.version, "1.0-r0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageVersion {
    /// The version.
    pub version: String,
    /// The repository tag it is (or was) pinned to, if any.
    pub tag: Option<String>,
    /// The identity (`C:`), when known.
    pub identity: Option<String>,
}

/// One line of the changeset.
///
/// ```
/// use apk_solver::{Change, ChangeKind, PackageVersion};
/// let c = Change {
///     kind: ChangeKind::Install,
///     name: "b".into(),
///     old: None,
///     new: Some(PackageVersion { version: "2".into(), tag: None, identity: None }),
/// };
/// assert_eq!(c.to_string(), "Installing b (2)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What happens.
    pub kind: ChangeKind,
    /// The package name.
    pub name: String,
    /// The installed package, if any.
    pub old: Option<PackageVersion>,
    /// The package that will be installed, if any.
    pub new: Option<PackageVersion>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.new.as_ref().or(self.old.as_ref());
        write!(f, "{} {}", self.kind.verb(), self.name)?;
        if let Some(tag) = shown.and_then(|v| v.tag.as_deref()) {
            write!(f, "@{tag}")?;
        }
        match (self.kind, &self.old, &self.new) {
            (
                ChangeKind::Upgrade | ChangeKind::Downgrade | ChangeKind::Replace,
                Some(o),
                Some(n),
            ) => write!(f, " ({} -> {})", o.version, n.version),
            (_, _, _) => match shown {
                Some(v) => write!(f, " ({})", v.version),
                None => Ok(()),
            },
        }
    }
}

/// The result of a successful solve: the changes in apk's order, and the installed set after.
///
/// ```
/// use apk_index::{Index, IndexOptions, InstalledDb, InstalledDbOptions};
/// use apk_solver::{Repository, Solver, SolverOptions, SolverTask};
///
/// let repo = Index::from_text("P:a\nV:1\nS:1\nI:1\nD:b\n\nP:b\nV:2\nS:1\nI:1\n\n", &IndexOptions::default());
/// let installed = InstalledDb::from_bytes(b"", &InstalledDbOptions::default())?;
/// let solver = Solver::new(&[Repository::new(repo)], &installed, &SolverOptions::default());
/// let task = SolverTask { world: vec!["a".parse()?], ..SolverTask::default() };
/// let cs = solver.solve(&task)?;
/// assert_eq!(cs.transcript(), "(1/2) Installing b (2)\n(2/2) Installing a (1)\nOK: 2 B in 2 packages\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changeset {
    changes: Vec<Change>,
    /// The selected packages, in install order (crate-internal ids).
    pub(crate) selected: Vec<PkgIdx>,
    installed_size: u64,
    package_count: usize,
    differs: Option<Difference>,
}

/// Why a changeset is not the one apk-tools would print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Difference {
    /// apk-tools' greedy pass finds no valid selection; the complete search did.
    ApkFails,
    /// The complete search chose other packages than apk-tools' (valid) choice.
    OtherChoice,
}

/// The note for [`Difference::ApkFails`], first line of the transcript.
pub(crate) const NOTE_APK_FAILS: &str = "NOTE: apk-tools would fail with 'unable to select packages' here; this selection was found by apk-rs's complete (CDCL) solver";
/// The note for [`Difference::OtherChoice`].
pub(crate) const NOTE_OTHER_CHOICE: &str =
    "NOTE: apk-rs's complete (CDCL) solver chose other packages than apk-tools would";

impl Changeset {
    /// Whether this changeset is not what apk-tools would print: apk-tools cannot solve the
    /// world (the default [`Engine::Auto`](crate::Engine::Auto) fell back to the complete
    /// search), or [`Engine::Cdcl`](crate::Engine::Cdcl) chose other packages than apk's
    /// greedy pass. [`Changeset::note`] says which; [`Changeset::transcript`] starts with it.
    pub fn differs_from_apk(&self) -> bool {
        self.differs.is_some()
    }

    /// The `NOTE: …` line (without newline) explaining why the changeset differs from
    /// apk-tools', if it does.
    ///
    /// * `NOTE: apk-tools would fail with 'unable to select packages' here; this selection
    ///   was found by apk-rs's complete (CDCL) solver`
    /// * `NOTE: apk-rs's complete (CDCL) solver chose other packages than apk-tools would`
    pub fn note(&self) -> Option<&'static str> {
        self.differs.map(|d| match d {
            Difference::ApkFails => NOTE_APK_FAILS,
            Difference::OtherChoice => NOTE_OTHER_CHOICE,
        })
    }

    pub(crate) fn with_difference(mut self, d: Option<Difference>) -> Changeset {
        self.differs = d;
        self
    }

    /// The changes, in the order apk applies them.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Total installed size of the packages installed after the changes.
    pub fn installed_size(&self) -> u64 {
        self.installed_size
    }

    /// Number of packages installed after the changes.
    pub fn package_count(&self) -> usize {
        self.package_count
    }

    /// The `(i/n) …` lines, without the summary.
    pub fn change_lines(&self) -> String {
        let total = self.changes.len();
        let width = total.to_string().len();
        let mut out = String::new();
        for (i, c) in self.changes.iter().enumerate() {
            let _ = writeln!(out, "({:>width$}/{total}) {c}", i + 1);
        }
        out
    }

    /// The summary line apk-tools 3.0 prints, e.g. `OK: 2 B in 2 packages`.
    pub fn summary(&self) -> String {
        format!(
            "OK: {} in {} packages",
            human_size(self.installed_size),
            self.package_count
        )
    }

    /// The whole transcript apk-tools 3.0 prints for a simulated commit, preceded by the
    /// [`note`](Changeset::note) line when the changeset differs from apk-tools'.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        if let Some(note) = self.note() {
            out.push_str(note);
            out.push('\n');
        }
        out.push_str(&self.change_lines());
        out.push_str(&self.summary());
        out.push('\n');
        out
    }
}

/// A size as apk-tools 3.0 prints it: bytes and KiB as integers, MiB and up with one decimal;
/// a unit is used while the number stays below 10240.
///
/// ```
/// use apk_solver::human_size;
/// assert_eq!(human_size(2), "2 B");
/// assert_eq!(human_size(1560 * 1024), "1560 KiB");
/// assert_eq!(human_size(12_478_054), "11.9 MiB");
/// ```
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 10240.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit < 2 {
        format!("{} {}", value as u64, UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The order in which the selection is installed: packages' dependencies first, depth-first
/// from world; install_if packages right after their last trigger.
pub(crate) fn install_order(u: &Universe, sel: &Selection, world: &[NameIdx]) -> Vec<PkgIdx> {
    let mut walk = Walk {
        u,
        sel,
        visited: vec![false; u.pkgs.len()],
        placed: vec![false; u.pkgs.len()],
        order: Vec::new(),
    };
    for &n in world {
        if let Some(p) = selected_for(u, sel, n) {
            walk.visit(p);
        }
    }
    for p in 0..u.pkgs.len() as PkgIdx {
        if sel.selected[p as usize] {
            walk.visit(p);
        }
    }
    walk.order
}

/// The state of [`install_order`]'s walk.
struct Walk<'a> {
    u: &'a Universe,
    sel: &'a Selection,
    /// Per package: reached by the walk.
    visited: Vec<bool>,
    /// Per package: in `order` already.
    placed: Vec<bool>,
    order: Vec<PkgIdx>,
}

/// The selected package that stands for name `n`: the one chosen for it, or else any selected
/// provider of it.
fn selected_for(u: &Universe, sel: &Selection, n: NameIdx) -> Option<PkgIdx> {
    sel.chosen[n as usize]
        .map(|p| p.pkg)
        .filter(|&p| sel.selected[p as usize])
        .or_else(|| {
            u.providers(n)
                .iter()
                .find(|p| sel.selected[p.pkg as usize])
                .map(|p| p.pkg)
        })
}

impl Walk<'_> {
    /// Place `p` after its dependencies (an iterative depth-first walk).
    fn visit(&mut self, p: PkgIdx) {
        let (u, sel) = (self.u, self.sel);
        if self.visited[p as usize] {
            return;
        }
        self.visited[p as usize] = true;
        // (package, next dependency index)
        let mut stack: Vec<(PkgIdx, usize)> = vec![(p, 0)];
        while let Some(top) = stack.last_mut() {
            let (pkg, i) = *top;
            let deps = u.depends(pkg);
            if i < deps.len() {
                top.1 += 1;
                let d = &deps[i];
                if d.conflict {
                    continue;
                }
                if let Some(t) = selected_for(u, sel, d.name)
                    && !self.visited[t as usize]
                {
                    self.visited[t as usize] = true;
                    stack.push((t, 0));
                }
                continue;
            }
            stack.pop();
            self.order.push(pkg);
            self.placed[pkg as usize] = true;
            // install_if packages whose triggers are now all in place follow right away.
            for &n in u.pkg_names(pkg) {
                for &iif in u.rinstall_if(n) {
                    if self.visited[iif as usize] || !sel.selected[iif as usize] {
                        continue;
                    }
                    let ready = u.install_if(iif).iter().filter(|d| !d.conflict).all(|d| {
                        u.providers(d.name)
                            .iter()
                            .any(|p| sel.selected[p.pkg as usize] && self.placed[p.pkg as usize])
                    });
                    if ready {
                        self.visited[iif as usize] = true;
                        stack.push((iif, 0));
                    }
                }
            }
        }
    }
}

/// The pinning tag a selected package is installed with.
pub(crate) fn new_tag(u: &Universe, sel: &Selection, p: PkgIdx) -> u16 {
    let pkg = &u.pkgs[p as usize];
    let allowed = sel.allowed[p as usize] | 1;
    if pkg.installed && allowed & tag_bit(pkg.installed_tag) != 0 {
        return pkg.installed_tag;
    }
    let mut mask = 0u64;
    for (i, r) in u.repos.iter().enumerate() {
        if pkg.repos & (1 << i) != 0 {
            mask |= tag_bit(r.tag);
        }
    }
    let usable = mask & allowed;
    let pref = sel.preferred[p as usize];
    let pick = if usable & 1 != 0 {
        1
    } else if usable & pref != 0 {
        usable & pref
    } else if usable != 0 {
        usable
    } else {
        mask
    };
    if pick == 0 {
        0
    } else {
        pick.trailing_zeros() as u16
    }
}

fn version_of(u: &Universe, p: PkgIdx, tag: u16) -> PackageVersion {
    let pkg = &u.pkgs[p as usize];
    PackageVersion {
        version: pkg.version.to_string(),
        tag: (tag != 0).then(|| u.tags[tag as usize].clone()),
        identity: pkg.identity.map(|c| c.to_string()),
    }
}

/// Build the changeset: purges first (reverse dependencies before what they depend on), then
/// the installation order.
pub(crate) fn build(
    u: &Universe,
    sel: &Selection,
    order: &[PkgIdx],
    installed: &[PkgIdx],
) -> Changeset {
    let mut changes = Vec::new();
    // Purges: installed packages not selected, whose name gets no selected package.
    let name_selected = |n: NameIdx| {
        u.providers(n)
            .iter()
            .any(|p| p.entry == OWN && sel.selected[p.pkg as usize])
    };
    let removed: Vec<bool> = (0..u.pkgs.len())
        .map(|p| {
            let pkg = &u.pkgs[p];
            pkg.installed && !sel.selected[p] && !name_selected(pkg.name)
        })
        .collect();
    let mut done = vec![false; u.pkgs.len()];
    for &p in installed {
        purge(u, p, &removed, &mut done, &mut changes);
    }
    for &p in order {
        let pkg = &u.pkgs[p as usize];
        let tag = new_tag(u, sel, p);
        let new = version_of(u, p, tag);
        let old = installed
            .iter()
            .copied()
            .find(|&o| u.pkgs[o as usize].name == pkg.name && !sel.selected[o as usize])
            .or_else(|| pkg.installed.then_some(p));
        let name = u.name(pkg.name).to_owned();
        let Some(o) = old else {
            changes.push(Change {
                kind: ChangeKind::Install,
                name,
                old: None,
                new: Some(new),
            });
            continue;
        };
        let opkg = &u.pkgs[o as usize];
        let oldv = version_of(u, o, opkg.installed_tag);
        let kind = if o == p {
            if sel.flags[p as usize] & F_REINSTALL != 0 {
                Some(ChangeKind::Reinstall)
            } else if tag != opkg.installed_tag {
                Some(ChangeKind::UpdatePinning)
            } else {
                None
            }
        } else {
            Some(
                match u.compare_versions(pkg.version.as_bytes(), opkg.version.as_bytes()) {
                    std::cmp::Ordering::Greater => ChangeKind::Upgrade,
                    std::cmp::Ordering::Less => ChangeKind::Downgrade,
                    std::cmp::Ordering::Equal => ChangeKind::Replace,
                },
            )
        };
        if let Some(kind) = kind {
            changes.push(Change {
                kind,
                name,
                old: Some(oldv),
                new: Some(new),
            });
        }
    }
    let installed_size = (0..u.pkgs.len())
        .filter(|&p| sel.selected[p])
        .map(|p| u.pkgs[p].installed_size)
        .sum();
    let package_count = sel.selected.iter().filter(|&&s| s).count();
    Changeset {
        changes,
        selected: order.to_vec(),
        installed_size,
        package_count,
        differs: None,
    }
}

fn purge(u: &Universe, p: PkgIdx, removed: &[bool], done: &mut [bool], changes: &mut Vec<Change>) {
    if !removed[p as usize] || done[p as usize] {
        return;
    }
    let mut stack: Vec<(PkgIdx, Vec<PkgIdx>, usize)> = Vec::new();
    done[p as usize] = true;
    stack.push((p, rdeps(u, p), 0));
    while let Some(top) = stack.last_mut() {
        if top.2 < top.1.len() {
            let r = top.1[top.2];
            top.2 += 1;
            if removed[r as usize] && !done[r as usize] {
                done[r as usize] = true;
                let rd = rdeps(u, r);
                stack.push((r, rd, 0));
            }
            continue;
        }
        let pkg = top.0;
        stack.pop();
        changes.push(Change {
            kind: ChangeKind::Purge,
            name: u.name(u.pkgs[pkg as usize].name).to_owned(),
            old: Some(version_of(u, pkg, 0)),
            new: None,
        });
    }
}

fn rdeps(u: &Universe, p: PkgIdx) -> Vec<PkgIdx> {
    let pkg = &u.pkgs[p as usize];
    std::iter::once(pkg.name)
        .chain(u.provides(p).iter().map(|pv| pv.name))
        .flat_map(|n| u.rdepends(n).iter().copied())
        .filter(|&r| r != p && u.pkgs[r as usize].installed)
        .collect()
}
