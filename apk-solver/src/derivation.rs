//! The short derivation behind an error report: for each problem, why every constraint
//! involved is there, as chains of dependency edges from world down to the clash.
//!
//! The report says *what* is wrong with the final selection in apk's words; the derivation
//! says *how it came to be required*. Both are read off the same selection: a breadth-first
//! walk from world along the selected packages' dependencies (and `install_if` triggers)
//! gives every selected package the shortest path that pulled it in, and each problem is
//! explained by the paths to the packages it involves followed by the clash itself.

use std::collections::VecDeque;
use std::fmt;

use crate::greedy::Selection;
use crate::model::{Dep, NameIdx, OWN, PkgIdx, Provider, Universe};
use crate::report::Problem;

/// Clash items (broken requirers, conflicting packages, requirers of a missing name) spelled
/// out per problem; the rest are counted in one closing line.
const MAX_ITEMS: usize = 3;

/// Why a solve failed, as steps a person can follow: one [`Explanation`] per problem of the
/// [`ErrorReport`](crate::ErrorReport), in the report's order.
///
/// Each step is one line naming one rule and where it came from: `world requires a`,
/// `a-3 (chosen for a) depends on b`, then the clash, such as
/// `d-2.0 (chosen for d) does not satisfy b-1[d<2.0]`. A package is introduced as
/// `label (chosen for name)`, the name through which the shortest path from world reached it.
/// Steps shared by several chains of one problem are listed once.
///
/// Displayed, it is a `why:` block that can follow apk's report:
///
/// ```
/// use apk_index::{Index, IndexOptions, InstalledDb};
/// use apk_solver::{Repository, Solver, SolverOptions, SolverTask};
///
/// let text = "P:a\nV:1\nD:b<2\n\nP:b\nV:2\n\n";
/// let repo = Repository::new(Index::from_text(text, &IndexOptions::default()));
/// let solver = Solver::new(&[repo], &InstalledDb::default(), &SolverOptions::default());
/// let err = solver
///     .solve(&SolverTask { world: vec!["a".parse()?, "b".parse()?], ..SolverTask::default() })
///     .unwrap_err();
/// assert_eq!(
///     err.derivation().to_string(),
///     "why:\n  b-2:\n    world requires b\n    world requires a\n    \
///      a-1 (chosen for a) depends on b<2\n    \
///      b-2 (chosen for b) does not satisfy a-1[b<2]\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derivation {
    explanations: Vec<Explanation>,
}

/// The steps explaining one problem of the report.
///
/// ```
/// use apk_solver::Explanation;
/// let e = Explanation {
///     problem: "x (no such package)".into(),
///     steps: vec!["world requires x".into(), "no package is named x or provides it".into()],
/// };
/// assert_eq!(e.steps.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explanation {
    /// The problem as the report heads it: `d-2.0`, `x (no such package)`, `x (virtual)`.
    pub problem: String,
    /// One line per step, from world down to the clash.
    pub steps: Vec<String>,
}

impl Derivation {
    /// A derivation made of `explanations`.
    pub fn new(explanations: Vec<Explanation>) -> Derivation {
        Derivation { explanations }
    }

    /// The explanations, one per problem in the report's order.
    pub fn explanations(&self) -> &[Explanation] {
        &self.explanations
    }

    /// Whether there is nothing to explain (a report built without a selection behind it).
    pub fn is_empty(&self) -> bool {
        self.explanations.is_empty()
    }
}

impl fmt::Display for Derivation {
    /// `why:`, then each problem indented by two spaces and its steps by four; nothing for an
    /// empty derivation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.explanations.is_empty() {
            return Ok(());
        }
        writeln!(f, "why:")?;
        for e in &self.explanations {
            writeln!(f, "  {}:", e.problem)?;
            for s in &e.steps {
                writeln!(f, "    {s}")?;
            }
        }
        Ok(())
    }
}

/// How the walk from world first reached a selected package.
#[derive(Debug, Clone, Copy)]
enum Via {
    /// World entry `i`.
    World(usize),
    /// Dependency `j` of package `q`.
    Dep(PkgIdx, usize),
    /// The `install_if` of the package, completed by selecting package `q`.
    InstallIf(PkgIdx),
}

/// Lines in order, each once.
#[derive(Default)]
struct Steps(Vec<String>);

impl Steps {
    fn push(&mut self, line: String) {
        if !self.0.contains(&line) {
            self.0.push(line);
        }
    }
}

struct Walk<'a> {
    u: &'a Universe,
    sel: &'a Selection,
    world: &'a [Dep],
    via: Vec<Option<Via>>,
}

impl<'a> Walk<'a> {
    fn new(u: &'a Universe, sel: &'a Selection, world: &'a [Dep]) -> Walk<'a> {
        let mut w = Walk {
            u,
            sel,
            world,
            via: vec![None; u.pkgs.len()],
        };
        let mut queue = VecDeque::new();
        for (i, d) in world.iter().enumerate() {
            if d.conflict {
                continue;
            }
            for p in w.targets(d) {
                if w.via[p as usize].is_none() {
                    w.via[p as usize] = Some(Via::World(i));
                    queue.push_back(p);
                }
            }
        }
        while let Some(q) = queue.pop_front() {
            let pkg = &u.pkgs[q as usize];
            for (j, d) in u.depends(q).iter().enumerate() {
                if d.conflict {
                    continue;
                }
                for p in w.targets(d) {
                    if p != q && w.via[p as usize].is_none() {
                        w.via[p as usize] = Some(Via::Dep(q, j));
                        queue.push_back(p);
                    }
                }
            }
            let names = std::iter::once(pkg.name).chain(u.provides(q).iter().map(|pv| pv.name));
            for n in names {
                for &r in u.rinstall_if(n) {
                    if w.selected(r) && w.via[r as usize].is_none() && w.install_if_met(r) {
                        w.via[r as usize] = Some(Via::InstallIf(q));
                        queue.push_back(r);
                    }
                }
            }
        }
        w
    }

    fn selected(&self, p: PkgIdx) -> bool {
        self.sel.selected[p as usize]
    }

    fn selected_providers(&self, n: NameIdx) -> impl Iterator<Item = Provider> + '_ {
        self.u
            .providers(n)
            .iter()
            .copied()
            .filter(|p| self.selected(p.pkg))
    }

    /// The selected packages a requirement leads to: those meeting it first, then the rest
    /// selected for its name.
    fn targets(&self, d: &Dep) -> Vec<PkgIdx> {
        let mut out: Vec<PkgIdx> = Vec::new();
        let (meet, rest): (Vec<Provider>, Vec<Provider>) = self
            .selected_providers(d.name)
            .partition(|&p| self.u.version_matches(d, p));
        for p in meet.into_iter().chain(rest) {
            if !out.contains(&p.pkg) {
                out.push(p.pkg);
            }
        }
        out
    }

    fn install_if_met(&self, r: PkgIdx) -> bool {
        self.u.install_if(r).iter().all(|d| {
            let met = self
                .selected_providers(d.name)
                .any(|p| self.u.version_matches(d, p));
            met != d.conflict
        })
    }

    fn name(&self, n: NameIdx) -> &str {
        self.u.name(n)
    }

    fn label(&self, p: PkgIdx) -> String {
        self.u.pkg_label(p)
    }

    /// A package as a step introduces it: `label (chosen for name)`.
    fn desc(&self, p: PkgIdx) -> String {
        let label = self.label(p);
        match self.via[p as usize] {
            Some(Via::World(i)) => {
                format!("{label} (chosen for {})", self.name(self.world[i].name))
            }
            Some(Via::Dep(q, j)) => {
                let d = &self.u.depends(q)[j];
                format!("{label} (chosen for {})", self.name(d.name))
            }
            Some(Via::InstallIf(_)) => format!("{label} (chosen by its install_if)"),
            None => label,
        }
    }

    /// A requirement as a step states it, `who` being `world` or a package's description.
    fn rule(&self, who: &str, d: &Dep) -> String {
        let text = self.u.dep_text(d);
        match text.strip_prefix('!') {
            Some(rest) if d.conflict => format!("{who} conflicts with {rest}"),
            _ if who == "world" => format!("world requires {text}"),
            _ => format!("{who} depends on {text}"),
        }
    }

    /// The steps from world down to `p` (the edge into `p` last).
    fn chain(&self, p: PkgIdx, out: &mut Steps) {
        let mut edges = Vec::new();
        let mut cur = p;
        // The parents form a tree (each package is reached once), so this ends; the bound
        // only guards against a broken invariant.
        for _ in 0..=self.u.pkgs.len() {
            match self.via[cur as usize] {
                Some(Via::World(i)) => {
                    edges.push(self.rule("world", &self.world[i]));
                    break;
                }
                Some(Via::Dep(q, j)) => {
                    edges.push(self.rule(&self.desc(q), &self.u.depends(q)[j]));
                    cur = q;
                }
                Some(Via::InstallIf(q)) => {
                    let conds: Vec<String> = self
                        .u
                        .install_if(cur)
                        .iter()
                        .map(|d| self.u.dep_text(d))
                        .collect();
                    edges.push(format!(
                        "{} completes the install_if ({}) of {}",
                        self.desc(q),
                        conds.join(" "),
                        self.label(cur)
                    ));
                    cur = q;
                }
                None => {
                    let why = if self.u.pkgs[cur as usize].installed {
                        "it is installed and nothing in world leads to it"
                    } else {
                        "nothing in world leads to it"
                    };
                    edges.push(format!("{} is selected: {why}", self.label(cur)));
                    break;
                }
            }
        }
        for e in edges.into_iter().rev() {
            out.push(e);
        }
    }

    /// The steps ending in the requirement `d` of `who` (`None`: world).
    fn requirement(&self, who: Option<PkgIdx>, d: &Dep, out: &mut Steps) {
        match who {
            None => out.push(self.rule("world", d)),
            Some(r) => {
                self.chain(r, out);
                out.push(self.rule(&self.desc(r), d));
            }
        }
    }

    fn who_label(&self, who: Option<PkgIdx>, d: &Dep) -> String {
        match who {
            None => format!("world[{}]", self.u.dep_text(d)),
            Some(r) => format!("{}[{}]", self.label(r), self.u.dep_text(d)),
        }
    }

    fn provide_text(&self, o: Provider) -> String {
        let pkg = &self.u.pkgs[o.pkg as usize];
        match self.u.provides(o.pkg).get(o.entry as usize) {
            Some(pv) if o.entry != OWN => self.u.provide_text(pv),
            _ => self.name(pkg.name).to_owned(),
        }
    }

    /// Explain a selected package the report lists: how it got in, then each of its clashes.
    fn package(&self, p: PkgIdx) -> Vec<String> {
        let u = self.u;
        let pkg = &u.pkgs[p as usize];
        let mut out = Steps::default();
        self.chain(p, &mut out);
        let me = self.desc(p);
        let mut clashes: Vec<(Vec<String>, String)> = Vec::new();
        if !pkg.valid {
            clashes.push((
                Vec::new(),
                format!("{me} cannot be installed: its index record is broken"),
            ));
        }
        if let Some(a) = &pkg.bad_arch {
            clashes.push((
                Vec::new(),
                format!("{me} cannot be installed: its arch {a} is not accepted"),
            ));
        }
        let allowed = self.sel.allowed[p as usize] | 1;
        if u.tag_mask(p) & allowed == 0 {
            let mut tags: Vec<String> = Vec::new();
            for (i, r) in u.repos.iter().enumerate() {
                let t = format!("@{}", u.tags[r.tag as usize]);
                if pkg.repos & (1 << i) != 0 && !tags.contains(&t) {
                    tags.push(t);
                }
            }
            clashes.push((
                Vec::new(),
                format!(
                    "{me} is masked: it is only in {}, and nothing on its path from world is pinned there",
                    tags.join(" ")
                ),
            ));
        } else if !pkg.installed && !u.available(p) {
            clashes.push((
                Vec::new(),
                format!("{me} is masked: its repositories are not available with --no-network"),
            ));
        }
        for o in u.providers(pkg.name) {
            if o.entry == OWN && o.pkg != p && self.selected(o.pkg) {
                let mut pre = Steps::default();
                self.chain(o.pkg, &mut pre);
                clashes.push((
                    pre.0,
                    format!(
                        "{me} and {} are both {}: only one can be installed",
                        self.desc(o.pkg),
                        self.name(pkg.name)
                    ),
                ));
            }
        }
        for (i, pv) in u.provides(p).iter().enumerate() {
            let mine = Provider {
                pkg: p,
                entry: i as u32,
            };
            for o in self.selected_providers(pv.name) {
                if o == mine || (u.is_virtual(mine) && u.is_virtual(o)) {
                    continue;
                }
                let mut pre = Steps::default();
                let other = if o.pkg == p {
                    if o.entry == OWN {
                        "its own name".to_owned()
                    } else {
                        format!("its own {}", self.provide_text(o))
                    }
                } else {
                    self.chain(o.pkg, &mut pre);
                    if o.entry == OWN {
                        self.desc(o.pkg)
                    } else {
                        format!(
                            "{}, which provides {}",
                            self.desc(o.pkg),
                            self.provide_text(o)
                        )
                    }
                };
                clashes.push((
                    pre.0,
                    format!(
                        "{me} provides {}, clashing with {other}",
                        self.u.provide_text(pv)
                    ),
                ));
            }
        }
        for (who, d) in self.broken(p) {
            let mut pre = Steps::default();
            self.requirement(who, d, &mut pre);
            let verdict = if d.conflict {
                "is forbidden by"
            } else {
                "does not satisfy"
            };
            clashes.push((pre.0, format!("{me} {verdict} {}", self.who_label(who, d))));
        }
        let more = clashes.len().saturating_sub(MAX_ITEMS);
        for (pre, line) in clashes.into_iter().take(MAX_ITEMS) {
            for s in pre {
                out.push(s);
            }
            out.push(line);
        }
        if more > 0 {
            out.push(format!("and {more} more (see the report)"));
        }
        out.0
    }

    /// The requirements `p` breaks, as the report's `breaks:` judges them: `!` rules it
    /// meets, and requirements of its names that nothing selected meets.
    fn broken(&self, p: PkgIdx) -> Vec<(Option<PkgIdx>, &'a Dep)> {
        let u = self.u;
        let pkg = &u.pkgs[p as usize];
        let mine: Vec<(NameIdx, Provider)> =
            std::iter::once((pkg.name, Provider { pkg: p, entry: OWN }))
                .chain(u.provides(p).iter().enumerate().map(|(i, pv)| {
                    (
                        pv.name,
                        Provider {
                            pkg: p,
                            entry: i as u32,
                        },
                    )
                }))
                .collect();
        let unmet = |d: &Dep| {
            !self
                .selected_providers(d.name)
                .any(|o| u.version_matches(d, o))
        };
        let breaks = |d: &Dep| {
            let matches = mine
                .iter()
                .any(|&(n, m)| n == d.name && u.version_matches(d, m));
            if d.conflict {
                matches
            } else {
                !matches && unmet(d)
            }
        };
        let mut out = Vec::new();
        let names: Vec<NameIdx> = mine.iter().map(|m| m.0).collect();
        let mut seen = Vec::new();
        for n in names {
            if seen.contains(&n) {
                continue;
            }
            seen.push(n);
            for d in self.world.iter().filter(|d| d.name == n) {
                if breaks(d) {
                    out.push((None, d));
                }
            }
            for &r in u.rdepends(n) {
                let deps = u.depends(r).iter().filter(|d| d.name == n);
                if r == p {
                    for d in deps.filter(|d| !d.conflict && unmet(d)) {
                        out.push((Some(r), d));
                    }
                } else if self.selected(r) {
                    for d in deps.filter(|d| breaks(d)) {
                        out.push((Some(r), d));
                    }
                }
            }
        }
        out
    }

    /// Explain a required name that got no package.
    fn missing(&self, n: NameIdx, order: &[PkgIdx]) -> Vec<String> {
        let u = self.u;
        let mut out = Steps::default();
        let mut requirers: Vec<(Option<PkgIdx>, &Dep)> = Vec::new();
        for d in self.world {
            if d.name == n && !d.conflict {
                requirers.push((None, d));
            }
        }
        for &p in order {
            let pkg = &u.pkgs[p as usize];
            if !pkg.valid || pkg.bad_arch.is_some() {
                continue;
            }
            for d in u.depends(p) {
                if d.name == n && !d.conflict {
                    requirers.push((Some(p), d));
                }
            }
        }
        let more = requirers.len().saturating_sub(MAX_ITEMS);
        for &(who, d) in requirers.iter().take(MAX_ITEMS) {
            self.requirement(who, d, &mut out);
        }
        if more > 0 {
            out.push(format!("and {more} more requirers (see the report)"));
        }
        let providers = u.providers(n);
        let mut by: Vec<&str> = Vec::new();
        for pr in providers {
            let name = self.name(u.pkgs[pr.pkg as usize].name);
            if !by.contains(&name) {
                by.push(name);
            }
        }
        let name = self.name(n);
        out.push(if providers.is_empty() {
            format!("no package is named {name} or provides it")
        } else if providers.iter().all(|&p| u.is_virtual(p)) {
            if providers.iter().all(|p| u.pkgs[p.pkg as usize].priority == 0) {
                format!(
                    "{name} has only unversioned providers ({}), none with a provider_priority: select one explicitly",
                    by.join(" ")
                )
            } else {
                format!(
                    "{name} has only unversioned providers ({}), and none of them could be chosen",
                    by.join(" ")
                )
            }
        } else {
            format!("none of the packages for {name} ({}) could be chosen", by.join(" "))
        });
        out.0
    }
}

/// The derivation of `problems`, the report of `sel` checked against `world` (`order` is the
/// install order the check walked).
pub(crate) fn derive(
    u: &Universe,
    sel: &Selection,
    world: &[Dep],
    order: &[PkgIdx],
    problems: &[Problem],
) -> Derivation {
    let walk = Walk::new(u, sel, world);
    let mut used: Vec<PkgIdx> = Vec::new();
    let mut explanations = Vec::new();
    for problem in problems {
        let e = match problem {
            Problem::Package(pp) => {
                // The report lists packages in `order`; labels can repeat, so take the first
                // not yet explained.
                let found = order
                    .iter()
                    .copied()
                    .find(|&p| !used.contains(&p) && u.pkg_label(p) == pp.package);
                let Some(p) = found else { continue };
                used.push(p);
                Explanation {
                    problem: pp.package.clone(),
                    steps: walk.package(p),
                }
            }
            Problem::Name(np) => {
                let Some(n) = u.name_ids.get(&np.name) else {
                    continue;
                };
                let kind = if np.provided_by.is_empty() {
                    "no such package"
                } else {
                    "virtual"
                };
                Explanation {
                    problem: format!("{} ({kind})", np.name),
                    steps: walk.missing(n, order),
                }
            }
        };
        explanations.push(e);
    }
    Derivation { explanations }
}

#[cfg(test)]
mod tests {
    use apk_index::{Index, IndexOptions, InstalledDb};

    use crate::{Repository, SolveError, Solver, SolverOptions, SolverTask};

    /// Solve `world` over `repos` (`(tag, index text)`, `""` untagged); the failure's apk
    /// report and its derivation's steps per problem.
    fn fail(repos: &[(&str, &str)], installed: &str, world: &str) -> (String, Vec<Vec<String>>) {
        let repos: Vec<Repository> = repos
            .iter()
            .map(|&(tag, text)| {
                let r =
                    Repository::new(Index::from_text(text.to_owned(), &IndexOptions::default()));
                if tag.is_empty() { r } else { r.with_tag(tag) }
            })
            .collect();
        let installed = crate::command::read_installed(installed.as_bytes());
        let solver = Solver::new(&repos, &installed, &SolverOptions::default());
        let task = SolverTask {
            world: world
                .split_whitespace()
                .map(|d| d.parse().expect("test world parses"))
                .collect(),
            ..SolverTask::default()
        };
        let err: SolveError = solver
            .solve(&task)
            .expect_err("the universe is unsatisfiable");
        let d = err.derivation();
        assert_eq!(d.explanations().len(), err.report().problems().len());
        let steps = d.explanations().iter().map(|e| e.steps.clone()).collect();
        (err.report().to_string(), steps)
    }

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn missing_name_down_a_chain() {
        let (report, steps) = fail(&[("", "P:a\nV:1\nD:b\n\nP:b\nV:1\nD:c>1\n\n")], "", "a");
        assert!(report.contains("c (no such package)"), "{report}");
        assert_eq!(
            steps,
            [lines(&[
                "world requires a",
                "a-1 (chosen for a) depends on b",
                "b-1 (chosen for b) depends on c>1",
                "no package is named c or provides it",
            ])]
        );
    }

    #[test]
    fn version_clash_between_two_requirers() {
        let idx = "P:a\nV:1\nD:x<2\n\nP:c\nV:1\nD:x>=2\n\nP:x\nV:1\n\nP:x\nV:2\n\n";
        let (report, steps) = fail(&[("", idx)], "", "a c");
        assert!(report.contains("breaks: c-1[x>=2]"), "{report}");
        assert_eq!(
            steps,
            [lines(&[
                "world requires a",
                "a-1 (chosen for a) depends on x<2",
                "world requires c",
                "c-1 (chosen for c) depends on x>=2",
                "x-1 (chosen for x) does not satisfy c-1[x>=2]",
            ])]
        );
    }

    #[test]
    fn conflict_with_a_world_entry() {
        let idx = "P:a\nV:1\nD:b\n\nP:b\nV:1\nD:so:libz.so.1\n\nP:zlib\nV:1\np:so:libz.so.1=1\n\n";
        let (report, steps) = fail(&[("", idx)], "", "a !zlib");
        assert!(report.contains("breaks: world[!zlib]"), "{report}");
        assert_eq!(
            steps,
            [lines(&[
                "world requires a",
                "a-1 (chosen for a) depends on b",
                "b-1 (chosen for b) depends on so:libz.so.1",
                "world conflicts with zlib",
                "zlib-1 (chosen for so:libz.so.1) is forbidden by world[!zlib]",
            ])]
        );
    }

    #[test]
    fn conflict_declared_by_a_package() {
        let idx = "P:a\nV:1\nD:!b\n\nP:b\nV:1\n\n";
        let (_, steps) = fail(&[("", idx)], "", "a b");
        assert_eq!(
            steps,
            [lines(&[
                "world requires b",
                "world requires a",
                "a-1 (chosen for a) conflicts with b",
                "b-1 (chosen for b) is forbidden by a-1[!b]",
            ])]
        );
    }

    #[test]
    fn virtual_without_provider_priority() {
        let idx = "P:app\nV:1\nD:mta\n\nP:postfix\nV:1\np:mta\n\nP:exim\nV:1\np:mta\n\n";
        let (report, steps) = fail(&[("", idx)], "", "app");
        assert!(report.contains("mta (virtual)"), "{report}");
        assert_eq!(
            steps,
            [lines(&[
                "world requires app",
                "app-1 (chosen for app) depends on mta",
                "mta has only unversioned providers (postfix exim), none with a provider_priority: \
                 select one explicitly",
            ])]
        );
    }

    #[test]
    fn masked_by_pinning() {
        let main = "P:a\nV:1\nD:b>=2\n\nP:b\nV:1\n\n";
        let edge = "P:b\nV:2\n\n";
        let (report, steps) = fail(&[("", main), ("edge", edge)], "", "a");
        assert!(report.contains("masked in: @edge"), "{report}");
        assert_eq!(
            steps,
            [lines(&[
                "world requires a",
                "a-1 (chosen for a) depends on b>=2",
                "b-2 (chosen for b) is masked: it is only in @edge, and nothing on its path from \
                 world is pinned there",
            ])]
        );
    }

    #[test]
    fn two_versions_of_one_name_and_clashing_provides() {
        let idx = "P:app\nV:1\nD:so:foo.so.1\n\nP:app2\nV:1\nD:so:foo.so.2\n\n\
                   P:libfoo\nV:1\np:so:foo.so.1=1\n\nP:libfoo\nV:2\np:so:foo.so.2=2\n\n";
        let (_, steps) = fail(&[("", idx)], "", "app app2");
        assert_eq!(
            steps[0],
            lines(&[
                "world requires app",
                "app-1 (chosen for app) depends on so:foo.so.1",
                "world requires app2",
                "app2-1 (chosen for app2) depends on so:foo.so.2",
                "libfoo-1 (chosen for so:foo.so.1) and libfoo-2 (chosen for so:foo.so.2) are \
                 both libfoo: only one can be installed",
            ])
        );
        let idx = "P:a\nV:1\np:svc=1\n\nP:b\nV:1\np:svc=2\n\n";
        let (_, steps) = fail(&[("", idx)], "", "a b");
        assert_eq!(
            steps[0],
            lines(&[
                "world requires a",
                "world requires b",
                "a-1 (chosen for a) provides svc=1, clashing with b-1 (chosen for b), which \
                 provides svc=2",
            ])
        );
    }

    #[test]
    fn uninstallable_arch() {
        let repo = Repository::new(Index::from_text(
            "P:a\nV:1\nA:s390x\n\n",
            &IndexOptions::default(),
        ));
        let options = SolverOptions {
            arches: vec!["x86_64".into()],
            ..SolverOptions::default()
        };
        let solver = Solver::new(&[repo], &InstalledDb::default(), &options);
        let task = SolverTask {
            world: vec!["a".parse().expect("parses")],
            ..SolverTask::default()
        };
        let err = solver.solve(&task).expect_err("wrong arch");
        assert_eq!(
            err.derivation().to_string(),
            "why:\n  a-1:\n    world requires a\n    \
             a-1 (chosen for a) cannot be installed: its arch s390x is not accepted\n"
        );
    }

    #[test]
    fn pulled_in_by_install_if() {
        // apk's greedy pass takes c for its install_if and fails on d's conflict (the
        // complete search would leave c out, so ask for the greedy pass alone).
        let idx = "P:a\nV:1\n\nP:b\nV:1\n\nP:c\nV:1\ni:a\nD:d\n\nP:d\nV:1\nD:!b\n\n";
        let repo = Repository::new(Index::from_text(idx, &IndexOptions::default()));
        let solver = Solver::new(&[repo], &InstalledDb::default(), &SolverOptions::default());
        let task = SolverTask {
            world: vec!["a".parse().expect("parses"), "b".parse().expect("parses")],
            engine: crate::Engine::Greedy,
            ..SolverTask::default()
        };
        let err = solver.solve(&task).expect_err("greedy fails");
        assert_eq!(
            err.derivation().explanations()[0].steps,
            [
                "world requires b",
                "world requires a",
                "a-1 (chosen for a) completes the install_if (a) of c-1",
                "c-1 (chosen by its install_if) depends on d",
                "d-1 (chosen for d) conflicts with b",
                "b-1 (chosen for b) is forbidden by d-1[!b]",
            ]
        );
    }

    #[test]
    fn report_text_is_unchanged_by_the_derivation() {
        let report = crate::ErrorReport::new(Vec::new());
        assert!(report.derivation().is_empty());
        assert_eq!(report.derivation().to_string(), "");
    }
}
