//! Checking a selection against every rule, and apk's `unable to select packages` report.

use std::fmt;

use crate::derivation::Derivation;
use crate::greedy::Selection;
use crate::model::{Dep, NameIdx, OWN, PkgIdx, Provider, Universe};

/// Problems found with one selected package.
///
/// ```
/// use apk_solver::PackageProblem;
/// let p = PackageProblem { package: "d-2.0".into(), breaks: vec!["b-1[d<2.0]".into()], ..Default::default() };
/// assert!(p.conflicts.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageProblem {
    /// `name-version`.
    pub package: String,
    /// The package cannot be installed at all (invalid record or wrong arch).
    pub uninstallable: bool,
    /// The arch, when that is why it is uninstallable.
    pub arch: Option<String>,
    /// Where it is masked: `@tag`, `--no-network` or `cache`.
    pub masked_in: Vec<String>,
    /// Other selected packages it clashes with, as `pkg-ver` or `pkg-ver[provide]`.
    pub conflicts: Vec<String>,
    /// Requirers it fails, as `world[dep]` or `pkg-ver[dep]`.
    pub breaks: Vec<String>,
    /// Requirers it meets.
    pub satisfies: Vec<String>,
}

/// A required name that got no package.
///
/// ```
/// use apk_solver::NameProblem;
/// let p = NameProblem { name: "x".into(), provided_by: vec![], required_by: vec!["world[x]".into()] };
/// assert!(p.provided_by.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameProblem {
    /// The name.
    pub name: String,
    /// Packages that provide it without a version (empty: no such package).
    pub provided_by: Vec<String>,
    /// Who requires it.
    pub required_by: Vec<String>,
}

/// One entry of the error report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A selected package that breaks rules.
    Package(PackageProblem),
    /// A required name with no package.
    Name(NameProblem),
}

/// apk's `ERROR: unable to select packages:` report.
///
/// ```
/// use apk_solver::{ErrorReport, NameProblem, Problem};
/// let r = ErrorReport::new(vec![Problem::Name(NameProblem {
///     name: "x".into(), provided_by: vec![], required_by: vec!["world[x]".into()],
/// })]);
/// assert_eq!(r.to_string(), "ERROR: unable to select packages:\n  x (no such package):\n    required by: world[x]\n");
/// assert_eq!(r.error_count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    problems: Vec<Problem>,
    derivation: Derivation,
}

impl ErrorReport {
    /// A report listing `problems`, with an empty [`Derivation`] (there is no selection to
    /// derive it from; [`Solver::solve`](crate::Solver::solve) fills it in).
    pub fn new(problems: Vec<Problem>) -> ErrorReport {
        ErrorReport {
            problems,
            derivation: Derivation::default(),
        }
    }

    /// The same report with `derivation` attached.
    pub(crate) fn with_derivation(mut self, derivation: Derivation) -> ErrorReport {
        self.derivation = derivation;
        self
    }

    /// Why each problem arose, step by step from world (see [`Derivation`]). It is not part
    /// of the report's `Display`, which is apk's text exactly.
    pub fn derivation(&self) -> &Derivation {
        &self.derivation
    }

    /// The problems, in apk's order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The number of errors; apk's exit status.
    pub fn error_count(&self) -> usize {
        self.problems.len()
    }
}

/// apk's indented word-wrapping printer: lines wrap before 50 columns, continuation lines
/// are indented to the column after the label.
struct Indented<'a> {
    out: &'a mut String,
    x: usize,
    indent: usize,
}

const WIDTH: usize = 50;

impl<'a> Indented<'a> {
    fn new(out: &'a mut String, label: &str) -> Indented<'a> {
        out.push_str("    ");
        out.push_str(label);
        let x = 4 + label.len();
        Indented {
            out,
            x,
            indent: x + 1,
        }
    }

    fn word(&mut self, w: &str) {
        if self.x < self.indent {
            self.out.push(' ');
            self.out.push_str(w);
            self.x += 1 + w.len();
        } else if self.x + w.len() + 1 >= WIDTH {
            self.out.push('\n');
            self.out.push_str(&" ".repeat(self.indent));
            self.out.push_str(w);
            self.x = self.indent + w.len();
        } else {
            self.out.push(' ');
            self.out.push_str(w);
            self.x += 1 + w.len();
        }
    }

    fn end(self) {
        self.out.push('\n');
    }
}

fn list(out: &mut String, label: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let mut ind = Indented::new(out, label);
    for it in items {
        ind.word(it);
    }
    ind.end();
}

impl fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("ERROR: unable to select packages:\n");
        for p in &self.problems {
            match p {
                Problem::Package(p) => {
                    out.push_str(&format!("  {}:\n", p.package));
                    if p.uninstallable {
                        out.push_str("    error: uninstallable\n");
                    }
                    if let Some(a) = &p.arch {
                        out.push_str(&format!("    arch: {a}\n"));
                    }
                    list(&mut out, "masked in:", &p.masked_in);
                    list(&mut out, "conflicts:", &p.conflicts);
                    list(&mut out, "breaks:", &p.breaks);
                    list(&mut out, "satisfies:", &p.satisfies);
                }
                Problem::Name(n) => {
                    if n.provided_by.is_empty() {
                        out.push_str(&format!("  {} (no such package):\n", n.name));
                    } else {
                        out.push_str(&format!("  {} (virtual):\n", n.name));
                        let note = "please select one of the 'provided by' packages explicitly";
                        let mut ind = Indented::new(&mut out, "note:");
                        for w in note.split(' ') {
                            ind.word(w);
                        }
                        ind.end();
                        list(&mut out, "provided by:", &n.provided_by);
                    }
                    list(&mut out, "required by:", &n.required_by);
                }
            }
        }
        f.write_str(&out)
    }
}

/// Check the selection; `order` is the install order of the selected packages.
pub(crate) fn check(
    u: &Universe,
    sel: &Selection,
    world: &[Dep],
    order: &[PkgIdx],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    // World's dependencies by name, in world order (a world can hold thousands).
    let mut world_by_name: Vec<(NameIdx, usize)> =
        world.iter().enumerate().map(|(i, d)| (d.name, i)).collect();
    world_by_name.sort_unstable();
    let world_deps = |n: NameIdx| world_deps_of(&world_by_name, world, n);
    let selected = |p: PkgIdx| sel.selected[p as usize];
    let sel_providers = |n: NameIdx| -> Vec<Provider> {
        u.providers(n)
            .iter()
            .copied()
            .filter(|p| selected(p.pkg))
            .collect()
    };
    for &p in order {
        // Most packages have no problem: find that out without writing the report's lines.
        if !may_have_problem(u, sel, p, &world_by_name, world) {
            continue;
        }
        let pkg = &u.pkgs[p as usize];
        let mut prob = PackageProblem {
            package: u.pkg_label(p),
            ..PackageProblem::default()
        };
        if !pkg.valid || pkg.bad_arch.is_some() {
            prob.uninstallable = true;
            prob.arch = pkg.bad_arch.clone();
        }
        let allowed = sel.allowed[p as usize] | 1;
        if u.tag_mask(p) & allowed == 0 {
            for (i, r) in u.repos.iter().enumerate() {
                if pkg.repos & (1 << i) != 0 {
                    let t = format!("@{}", u.tags[r.tag as usize]);
                    if !prob.masked_in.contains(&t) {
                        prob.masked_in.push(t);
                    }
                }
            }
        } else if !pkg.installed && !u.available(p) {
            prob.masked_in.push("--no-network".into());
        }
        // Same name, other package.
        for o in u.providers(pkg.name) {
            if o.entry == OWN && o.pkg != p && selected(o.pkg) {
                prob.conflicts.push(u.pkg_label(o.pkg));
            }
        }
        for (i, pv) in u.provides(p).iter().enumerate() {
            let me = Provider {
                pkg: p,
                entry: i as u32,
            };
            for o in sel_providers(pv.name) {
                if o == me || (u.is_virtual(me) && u.is_virtual(o)) {
                    continue;
                }
                prob.conflicts
                    .push(format!("{}[{}]", u.pkg_label(o.pkg), u.provide_text(pv)));
            }
        }
        let names: Vec<(NameIdx, Provider)> =
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
        let mut seen_names = Vec::new();
        for (n, _) in &names {
            if seen_names.contains(n) {
                continue;
            }
            seen_names.push(*n);
            let mine: Vec<Provider> = names.iter().filter(|(x, _)| x == n).map(|x| x.1).collect();
            let judge = |dep: &Dep, who: String, prob: &mut PackageProblem| {
                let matches = mine.iter().any(|&m| u.version_matches(dep, m));
                if dep.conflict {
                    if matches {
                        prob.breaks.push(format!("{who}[{}]", u.dep_text(dep)));
                    }
                } else if matches {
                    prob.satisfies.push(format!("{who}[{}]", u.dep_text(dep)));
                } else if !sel_providers(*n).iter().any(|&o| u.version_matches(dep, o)) {
                    prob.breaks.push(format!("{who}[{}]", u.dep_text(dep)));
                }
            };
            for d in world_deps(*n) {
                judge(d, "world".into(), &mut prob);
            }
            for &r in u.rdepends(*n) {
                if r == p {
                    // A dependency on one of its own names: a conflict there is ignored, but
                    // a requirement nothing selected meets still breaks.
                    for d in u.depends(p).iter().filter(|d| d.name == *n && !d.conflict) {
                        if !sel_providers(*n).iter().any(|&o| u.version_matches(d, o)) {
                            prob.breaks
                                .push(format!("{}[{}]", u.pkg_label(p), u.dep_text(d)));
                        }
                    }
                    continue;
                }
                if !selected(r) {
                    continue;
                }
                for d in u.depends(r).iter().filter(|d| d.name == *n) {
                    judge(d, u.pkg_label(r), &mut prob);
                }
            }
        }
        if prob.uninstallable
            || !prob.masked_in.is_empty()
            || !prob.conflicts.is_empty()
            || !prob.breaks.is_empty()
        {
            problems.push(Problem::Package(prob));
        }
    }
    // Required names that got nothing.
    let mut missing: Vec<(NameIdx, Vec<String>)> = Vec::new();
    let mut note = |n: NameIdx, who: String| {
        if let Some(e) = missing.iter_mut().find(|e| e.0 == n) {
            e.1.push(who);
        } else {
            missing.push((n, vec![who]));
        }
    };
    let none_selected = |n: NameIdx| !u.providers(n).iter().any(|p| selected(p.pkg));
    for d in world {
        if !d.conflict && none_selected(d.name) {
            note(d.name, format!("world[{}]", u.dep_text(d)));
        }
    }
    for &p in order {
        let pkg = &u.pkgs[p as usize];
        if !pkg.valid || pkg.bad_arch.is_some() {
            continue;
        }
        for d in u.depends(p) {
            if !d.conflict && none_selected(d.name) {
                note(d.name, format!("{}[{}]", u.pkg_label(p), u.dep_text(d)));
            }
        }
    }
    for (n, required_by) in missing {
        let mut provided_by: Vec<String> = Vec::new();
        for pr in u.providers(n) {
            let name = u.name(u.pkgs[pr.pkg as usize].name).to_owned();
            if !provided_by.contains(&name) {
                provided_by.push(name);
            }
        }
        let all_virtual = u.providers(n).iter().all(|&pr| u.is_virtual(pr));
        problems.push(Problem::Name(NameProblem {
            name: u.name(n).to_owned(),
            provided_by: if all_virtual { provided_by } else { Vec::new() },
            required_by,
        }));
    }
    problems
}

/// World's dependencies on name `n` (`world_by_name`: world's names and positions, sorted).
fn world_deps_of<'w>(
    world_by_name: &'w [(NameIdx, usize)],
    world: &'w [Dep],
    n: NameIdx,
) -> impl Iterator<Item = &'w Dep> + 'w {
    let start = world_by_name.partition_point(|&(x, _)| x < n);
    world_by_name[start..]
        .iter()
        .take_while(move |&&(x, _)| x == n)
        .filter_map(|&(_, i)| world.get(i))
}

/// Whether [`check`] finds a problem with selected package `p`: the same tests, without
/// writing any line.
fn may_have_problem(
    u: &Universe,
    sel: &Selection,
    p: PkgIdx,
    world_by_name: &[(NameIdx, usize)],
    world: &[Dep],
) -> bool {
    let pkg = &u.pkgs[p as usize];
    let selected = |p: PkgIdx| sel.selected[p as usize];
    if !pkg.valid || pkg.bad_arch.is_some() {
        return true;
    }
    let allowed = sel.allowed[p as usize] | 1;
    if u.tag_mask(p) & allowed == 0 {
        if (0..u.repos.len()).any(|i| pkg.repos & (1 << i) != 0) {
            return true;
        }
    } else if !pkg.installed && !u.available(p) {
        return true;
    }
    if u.providers(pkg.name)
        .iter()
        .any(|o| o.entry == OWN && o.pkg != p && selected(o.pkg))
    {
        return true;
    }
    for (i, pv) in u.provides(p).iter().enumerate() {
        let me = Provider {
            pkg: p,
            entry: i as u32,
        };
        let clash = u
            .providers(pv.name)
            .iter()
            .any(|&o| selected(o.pkg) && o != me && !(u.is_virtual(me) && u.is_virtual(o)));
        if clash {
            return true;
        }
    }
    let names: Vec<(NameIdx, Provider)> =
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
    let any_selected_matches = |n: NameIdx, dep: &Dep| {
        u.providers(n)
            .iter()
            .any(|&o| selected(o.pkg) && u.version_matches(dep, o))
    };
    for (k, &(n, _)) in names.iter().enumerate() {
        if names[..k].iter().any(|&(x, _)| x == n) {
            continue;
        }
        let breaks = |dep: &Dep| {
            let matches = names
                .iter()
                .any(|&(x, m)| x == n && u.version_matches(dep, m));
            if dep.conflict {
                matches
            } else {
                !matches && !any_selected_matches(n, dep)
            }
        };
        if world_deps_of(world_by_name, world, n).any(breaks) {
            return true;
        }
        for &r in u.rdepends(n) {
            if r == p {
                let unmet = u
                    .depends(p)
                    .iter()
                    .filter(|d| d.name == n && !d.conflict)
                    .any(|d| !any_selected_matches(n, d));
                if unmet {
                    return true;
                }
                continue;
            }
            if selected(r) && u.depends(r).iter().filter(|d| d.name == n).any(breaks) {
                return true;
            }
        }
    }
    false
}
