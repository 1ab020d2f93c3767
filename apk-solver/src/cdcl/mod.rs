//! A complete engine: the solving problem as boolean clauses, searched by a CDCL core
//! ([`sat`]) whose decisions follow apk's preferences.
//!
//! # Encoding
//!
//! One variable per candidate package: every package providing a name reachable from world
//! (world names, then the dependency, install_if and provided names of each candidate, and
//! the install_if packages those names can trigger). Packages never reached stay unselected.
//! The clauses are exactly the rules the error report checks (`report::check`), so a model
//! is a selection that report accepts:
//!
//! * **Installable**: an invalid record, a package of a foreign arch, one that is neither
//!   installed nor available (`--no-network`), and one whose repositories' tags can never be
//!   allowed (no pinned world entry reaches it), are false.
//! * **Pinning**: a package found only in tagged repositories needs a selected carrier: a
//!   pinned world entry matching it (then no clause) or a selected requirer that can carry one
//!   of its tags. Carrier cycles are not excluded here; the final check catches them.
//! * **Requirements**: world entry `d` is the clause "some provider matching `d`"; a
//!   dependency `d` of package `r` is `¬r ∨ providers matching d`. Providers apk would never
//!   pick on its own are left out: a virtual (unversioned) provide of priority 0 counts only
//!   when the provider's own name is required somewhere, so "(virtual)" errors stay errors.
//! * **Conflicts**: `!d` in world forbids every provider matching `d`; in package `r` it is
//!   `¬r ∨ ¬p` for every other provider `p` matching it.
//! * **One package per name**: among the packages that take a name (own name or versioned
//!   provide) at most one is selected (pairwise, or a sequential counter for large groups),
//!   and none of them together with a package providing the name without a version;
//!   unversioned provides coexist.
//! * **install_if** is a preference, not a clause: apk installs a package whose install_if
//!   conditions all hold *when it can*, and the report does not require it. The brancher
//!   decides such a package (see below) once its conditions hold in the current assignment
//!   (a positive condition: a matching provider selected; a `!name` condition: every
//!   matching provider deselected); if selecting it leads to a conflict, learning turns it
//!   off again. Its phase is apk's choice when apk's selection is valid (so the engines agree)
//!   and "selected" otherwise.
//!
//! # Search order
//!
//! Decisions come from a [`Brancher`] that mimics apk: the pending requirement (its requirer
//! selected, none of its providers selected yet) whose name the greedy pass reaches first
//! (`Guide::name_order`) is satisfied by its best provider in apk's preference order
//! (`Guide::ranked`, the greedy engine's own `compare`), preferring the provider whose saved
//! phase is "selected". Phases start as the greedy selection, so when apk's answer satisfies
//! every rule the search meets no conflict and returns the same packages (except that a
//! package nothing requires, if any, is left out). When no requirement is pending, a
//! triggered install_if package is decided by its phase; when none is left either, the
//! remaining variables are decided false. Conflicts are learnt (first UIP), the search jumps
//! back non-chronologically and restarts geometrically; after [`MAX_CONFLICTS`] it gives up.

mod sat;

use crate::greedy::Selection;
use crate::greedy::guide::Guide;
use crate::model::{Dep, NameIdx, OWN, PkgIdx, Provider, Universe, tag_bit};
use crate::task::SolverTask;

use sat::{Brancher, Lit, Outcome, Sat, Var};

/// Conflicts after which a search gives up (the answer is then "no solution found").
pub(crate) const MAX_CONFLICTS: u64 = 200_000;

/// Groups larger than this get a sequential at-most-one encoding instead of pairwise clauses.
const PAIRWISE_LIMIT: usize = 6;

const NO_VAR: Var = Var::MAX;

/// What the engine found.
pub(crate) struct CdclRun {
    /// The greedy pass's selection (apk's answer).
    pub(crate) greedy: Selection,
    /// Whether that selection satisfies every rule.
    pub(crate) greedy_valid: bool,
    /// The selection found by the search, if any.
    pub(crate) found: Option<Selection>,
}

/// Solve with the greedy pass as guide, then the CDCL search. `valid` tells whether a
/// selection satisfies every rule (the report's check).
pub(crate) fn run(
    u: &Universe,
    world: &[Dep],
    task: &SolverTask,
    valid: &dyn Fn(&Selection) -> bool,
) -> CdclRun {
    let guide = Guide::new(u, world, task);
    let greedy_valid = valid(&guide.selection);
    let found = Encoding::build(u, &guide, world, greedy_valid)
        .and_then(|mut enc| enc.search())
        .map(|selected| selection(u, world, task, selected, &guide.selection));
    CdclRun {
        greedy: guide.selection,
        greedy_valid,
        found,
    }
}

/// A pending requirement for the brancher.
#[derive(Debug)]
struct Req {
    /// The requirer's variable (`None` for world).
    guard: Option<Var>,
    /// Variables of the acceptable providers, best first.
    lits: Vec<Var>,
    /// `Guide::name_order` of the required name.
    order: u32,
}

/// An install_if package for the brancher.
#[derive(Debug)]
struct Trigger {
    var: Var,
    /// Per condition: the variables of the matching providers, and whether it is `!name`.
    conds: Vec<(Vec<Var>, bool)>,
}

struct Encoding {
    sat: Sat,
    triggers: Vec<Trigger>,
    /// Per package: its variable, or `NO_VAR` when not a candidate.
    var_of: Vec<Var>,
    /// Per package variable: the package.
    pkg_of: Vec<PkgIdx>,
    reqs: Vec<Req>,
}

/// Names and packages reachable from world, in discovery order.
fn discover(u: &Universe, world: &[Dep]) -> (Vec<NameIdx>, Vec<PkgIdx>) {
    let mut name_seen = vec![false; u.name_count()];
    let mut pkg_seen = vec![false; u.pkgs.len()];
    let mut names = Vec::new();
    let mut pkgs = Vec::new();
    let mut queue: std::collections::VecDeque<NameIdx> = world.iter().map(|d| d.name).collect();
    let add_pkg = |p: PkgIdx,
                   pkg_seen: &mut Vec<bool>,
                   pkgs: &mut Vec<PkgIdx>,
                   queue: &mut std::collections::VecDeque<NameIdx>| {
        if pkg_seen[p as usize] {
            return;
        }
        pkg_seen[p as usize] = true;
        pkgs.push(p);
        let pkg = &u.pkgs[p as usize];
        queue.push_back(pkg.name);
        queue.extend(u.provides(p).iter().map(|pv| pv.name));
        queue.extend(u.depends(p).iter().map(|d| d.name));
        queue.extend(u.install_if(p).iter().map(|d| d.name));
    };
    while let Some(n) = queue.pop_front() {
        if name_seen[n as usize] {
            continue;
        }
        name_seen[n as usize] = true;
        names.push(n);
        for pr in u.providers(n) {
            add_pkg(pr.pkg, &mut pkg_seen, &mut pkgs, &mut queue);
        }
        for &iif in u.rinstall_if(n) {
            add_pkg(iif, &mut pkg_seen, &mut pkgs, &mut queue);
        }
    }
    (names, pkgs)
}

/// Whether any entry of package `p` for name `n` meets `dep`.
fn pkg_matches(u: &Universe, dep: &Dep, p: PkgIdx) -> bool {
    u.providers(dep.name)
        .iter()
        .any(|&pr| pr.pkg == p && u.version_matches(dep, pr))
}

/// Packages with an entry of `dep.name` meeting `dep`, each once, in provider order.
fn matching(u: &Universe, dep: &Dep) -> Vec<PkgIdx> {
    let mut out: Vec<PkgIdx> = Vec::new();
    for &pr in u.providers(dep.name) {
        if out.last() != Some(&pr.pkg) && !out.contains(&pr.pkg) && u.version_matches(dep, pr) {
            out.push(pr.pkg);
        }
    }
    out
}

/// Pinning masks each package could get from world and its possible requirers (an
/// over-approximation: every candidate requirer counts).
fn static_allowed(u: &Universe, world: &[Dep], pkgs: &[PkgIdx], var_of: &[Var]) -> Vec<u64> {
    let mut allowed = vec![1u64; u.pkgs.len()];
    let mut work: Vec<PkgIdx> = pkgs.to_vec();
    for d in world {
        if let (Some(t), false) = (d.tag(), d.conflict) {
            for p in matching(u, d) {
                allowed[p as usize] |= 1 | tag_bit(t);
            }
        }
    }
    let mut queued = vec![false; u.pkgs.len()];
    for &p in &work {
        queued[p as usize] = true;
    }
    while let Some(p) = work.pop() {
        queued[p as usize] = false;
        let mask = allowed[p as usize];
        let pkg = &u.pkgs[p as usize];
        let mut targets: Vec<PkgIdx> = Vec::new();
        for d in u.depends(p).iter().filter(|d| !d.conflict) {
            targets.extend(matching(u, d).into_iter().filter(|&q| q != p));
        }
        // install_if packages take the pins of what triggers them.
        for n in std::iter::once(pkg.name).chain(u.provides(p).iter().map(|pv| pv.name)) {
            for &iif in u.rinstall_if(n) {
                let triggered = u
                    .install_if(iif)
                    .iter()
                    .any(|d| !d.conflict && d.name == n && pkg_matches(u, d, p));
                if triggered {
                    targets.push(iif);
                }
            }
        }
        for q in targets {
            if var_of[q as usize] == NO_VAR {
                continue;
            }
            let before = allowed[q as usize];
            allowed[q as usize] |= mask;
            if allowed[q as usize] != before && !queued[q as usize] {
                queued[q as usize] = true;
                work.push(q);
            }
        }
    }
    allowed
}

impl Encoding {
    /// The clauses for `world`; `None` when a world entry can never be met.
    fn build(
        u: &Universe,
        guide: &Guide<'_>,
        world: &[Dep],
        greedy_valid: bool,
    ) -> Option<Encoding> {
        let (names, pkgs) = discover(u, world);
        let mut enc = Encoding {
            sat: Sat::default(),
            triggers: Vec::new(),
            var_of: vec![NO_VAR; u.pkgs.len()],
            pkg_of: Vec::with_capacity(pkgs.len()),
            reqs: Vec::new(),
        };
        for &p in &pkgs {
            let v = enc.sat.new_var();
            enc.var_of[p as usize] = v;
            enc.pkg_of.push(p);
            let apk_selects = guide.selection.selected.get(p as usize) == Some(&true);
            let trigger = !u.install_if(p).is_empty() && !greedy_valid;
            enc.sat.set_phase(v, apk_selects || trigger);
        }
        let pos = |enc: &Encoding, p: PkgIdx| Lit::pos(enc.var_of[p as usize]);
        let neg = |enc: &Encoding, p: PkgIdx| Lit::neg(enc.var_of[p as usize]);

        // Names required somewhere: their providers may be chosen through a virtual provide.
        let mut required = vec![false; u.name_count()];
        for d in world.iter().filter(|d| !d.conflict) {
            required[d.name as usize] = true;
        }
        for &p in &pkgs {
            for d in u.depends(p).iter().filter(|d| !d.conflict) {
                required[d.name as usize] = true;
            }
        }

        // Installable at all.
        let allowed = static_allowed(u, world, &pkgs, &enc.var_of);
        let mut usable = vec![false; u.pkgs.len()];
        for &p in &pkgs {
            let pkg = &u.pkgs[p as usize];
            let ok = pkg.valid
                && pkg.bad_arch.is_none()
                && (pkg.installed || u.available(p))
                && u.tag_mask(p) & allowed[p as usize] != 0;
            usable[p as usize] = ok;
            if !ok {
                enc.sat.add_clause(&[neg(&enc, p)]);
            }
        }

        // Pinning carriers.
        for &p in &pkgs {
            let mask = u.tag_mask(p);
            if !usable[p as usize] || mask & 1 != 0 || !u.install_if(p).is_empty() {
                continue;
            }
            let pinned_by_world = world.iter().any(|d| {
                !d.conflict
                    && d.tag().is_some_and(|t| tag_bit(t) & mask != 0)
                    && pkg_matches(u, d, p)
            });
            if pinned_by_world {
                continue;
            }
            let mut clause = vec![neg(&enc, p)];
            for &n in std::iter::once(&u.pkgs[p as usize].name)
                .chain(u.provides(p).iter().map(|pv| &pv.name))
            {
                for &r in u.rdepends(n) {
                    if r == p || enc.var_of[r as usize] == NO_VAR || allowed[r as usize] & mask == 0
                    {
                        continue;
                    }
                    let carries = u
                        .depends(r)
                        .iter()
                        .any(|d| !d.conflict && d.name == n && pkg_matches(u, d, p));
                    if carries {
                        clause.push(pos(&enc, r));
                    }
                }
            }
            enc.sat.add_clause(&clause);
        }

        // One package per name.
        for &n in &names {
            let mut taking: Vec<PkgIdx> = Vec::new();
            let mut sharing: Vec<PkgIdx> = Vec::new();
            for &pr in u.providers(n) {
                if !usable[pr.pkg as usize] {
                    continue;
                }
                let nonvirtual = !u.is_virtual(pr);
                if nonvirtual {
                    sharing.retain(|&x| x != pr.pkg);
                    if !taking.contains(&pr.pkg) {
                        taking.push(pr.pkg);
                    }
                } else if !taking.contains(&pr.pkg) && !sharing.contains(&pr.pkg) {
                    sharing.push(pr.pkg);
                }
            }
            let lits: Vec<Lit> = taking.iter().map(|&p| neg(&enc, p)).collect();
            enc.at_most_one(&lits);
            for &t in &taking {
                for &s in &sharing {
                    enc.sat.add_clause(&[neg(&enc, t), neg(&enc, s)]);
                }
            }
        }

        // Requirements and conflicts.
        let eligible = |p: PkgIdx, n: NameIdx| {
            let pkg = &u.pkgs[p as usize];
            let entries = u.providers(n).iter().filter(|pr| pr.pkg == p);
            entries.clone().any(|&pr| !u.is_virtual(pr))
                || pkg.priority > 0
                || required[pkg.name as usize]
        };
        let ranked_matching = |d: &Dep| -> Vec<PkgIdx> {
            let ok = matching(u, d);
            guide
                .ranked(d.name)
                .into_iter()
                .filter(|p| ok.contains(p) && usable[*p as usize] && eligible(*p, d.name))
                .collect()
        };
        for d in world {
            if d.conflict {
                for p in matching(u, d) {
                    if enc.var_of[p as usize] != NO_VAR {
                        enc.sat.add_clause(&[neg(&enc, p)]);
                    }
                }
                continue;
            }
            let cands = ranked_matching(d);
            if cands.is_empty() {
                return None;
            }
            let clause: Vec<Lit> = cands.iter().map(|&p| pos(&enc, p)).collect();
            enc.sat.add_clause(&clause);
            enc.reqs.push(Req {
                guard: None,
                lits: cands.iter().map(|&p| enc.var_of[p as usize]).collect(),
                order: guide.name_order(d.name),
            });
        }
        for &r in &pkgs {
            if !usable[r as usize] {
                continue;
            }
            for d in u.depends(r) {
                if d.conflict {
                    for p in matching(u, d) {
                        if p != r && enc.var_of[p as usize] != NO_VAR {
                            enc.sat.add_clause(&[neg(&enc, r), neg(&enc, p)]);
                        }
                    }
                    continue;
                }
                if pkg_matches(u, d, r) {
                    continue;
                }
                let cands = ranked_matching(d);
                let mut clause = vec![neg(&enc, r)];
                clause.extend(cands.iter().map(|&p| pos(&enc, p)));
                enc.sat.add_clause(&clause);
                if !cands.is_empty() {
                    enc.reqs.push(Req {
                        guard: Some(enc.var_of[r as usize]),
                        lits: cands.iter().map(|&p| enc.var_of[p as usize]).collect(),
                        order: guide.name_order(d.name),
                    });
                }
            }
        }

        // install_if preferences.
        for &p in &pkgs {
            let conds = u.install_if(p);
            if conds.is_empty() || !usable[p as usize] {
                continue;
            }
            let conds: Vec<(Vec<Var>, bool)> = conds
                .iter()
                .map(|c| {
                    let vars = matching(u, c)
                        .into_iter()
                        .map(|q| enc.var_of[q as usize])
                        .filter(|&v| v != NO_VAR)
                        .collect();
                    (vars, c.conflict)
                })
                .collect();
            if conds
                .iter()
                .all(|(vars, conflict)| *conflict || !vars.is_empty())
            {
                enc.triggers.push(Trigger {
                    var: enc.var_of[p as usize],
                    conds,
                });
            }
        }
        // Later names first, as apk's main loop (stable: world order, then requirers).
        enc.reqs.sort_by_key(|r| std::cmp::Reverse(r.order));
        Some(enc)
    }

    /// At most one of the negative literals `neg` may be false (i.e. its package selected).
    fn at_most_one(&mut self, neg: &[Lit]) {
        if neg.len() <= PAIRWISE_LIMIT {
            for i in 0..neg.len() {
                for j in i + 1..neg.len() {
                    self.sat.add_clause(&[neg[i], neg[j]]);
                }
            }
            return;
        }
        // Sequential counter: s_i means "one of the first i+1 is selected".
        let s: Vec<Var> = (0..neg.len() - 1).map(|_| self.sat.new_var()).collect();
        for i in 0..neg.len() {
            if i < s.len() {
                self.sat.add_clause(&[neg[i], Lit::pos(s[i])]);
            }
            if i > 0 {
                if i < s.len() {
                    self.sat.add_clause(&[Lit::neg(s[i - 1]), Lit::pos(s[i])]);
                }
                self.sat.add_clause(&[neg[i], Lit::neg(s[i - 1])]);
            }
        }
    }

    /// Run the search; the selected packages of a model.
    fn search(&mut self) -> Option<Vec<PkgIdx>> {
        let mut brancher = Preference {
            reqs: &self.reqs,
            triggers: &self.triggers,
            pkg_vars: self.pkg_of.len(),
            seen_trail: 0,
            seen_backjumps: 0,
            clean: false,
            free_from: 0,
        };
        match self.sat.solve(&mut brancher, MAX_CONFLICTS) {
            Outcome::Sat => Some(
                self.pkg_of
                    .iter()
                    .enumerate()
                    .filter(|&(v, _)| self.sat.var_value(v as Var) == Some(true))
                    .map(|(_, &p)| p)
                    .collect(),
            ),
            Outcome::Unsat | Outcome::Unknown => None,
        }
    }
}

/// apk's preference order as a brancher (see the module docs).
struct Preference<'r> {
    reqs: &'r [Req],
    triggers: &'r [Trigger],
    pkg_vars: usize,
    /// Trail length at the last decision.
    seen_trail: usize,
    seen_backjumps: u64,
    /// No requirement was pending at the last scan and nothing became selected since.
    clean: bool,
    /// Variables below this are assigned (valid while `clean`).
    free_from: usize,
}

impl Brancher for Preference<'_> {
    fn decide(&mut self, sat: &Sat) -> Option<Lit> {
        let trail = sat.trail();
        if sat.backjumps != self.seen_backjumps || trail.len() < self.seen_trail {
            self.seen_backjumps = sat.backjumps;
            self.clean = false;
            self.free_from = 0;
        } else if trail[self.seen_trail..]
            .iter()
            .any(|l| !l.is_neg() && (l.var() as usize) < self.pkg_vars)
        {
            self.clean = false;
        }
        self.seen_trail = trail.len();
        if !self.clean {
            for req in self.reqs {
                if req.guard.is_some_and(|g| sat.var_value(g) != Some(true)) {
                    continue;
                }
                if req.lits.iter().any(|&v| sat.var_value(v) == Some(true)) {
                    continue;
                }
                let open = || {
                    req.lits
                        .iter()
                        .copied()
                        .filter(|&v| sat.var_value(v).is_none())
                };
                if let Some(v) = open().find(|&v| sat.phase(v)).or_else(|| open().next()) {
                    return Some(Lit::pos(v));
                }
            }
            self.clean = true;
            self.free_from = 0;
        }
        for t in self.triggers {
            if sat.var_value(t.var).is_some() {
                continue;
            }
            let holds = t.conds.iter().all(|(vars, conflict)| {
                if *conflict {
                    vars.iter().all(|&v| sat.var_value(v) == Some(false))
                } else {
                    vars.iter().any(|&v| sat.var_value(v) == Some(true))
                }
            });
            if holds {
                return Some(if sat.phase(t.var) {
                    Lit::pos(t.var)
                } else {
                    Lit::neg(t.var)
                });
            }
        }
        while self.free_from < sat.num_vars() {
            let v = self.free_from as Var;
            if sat.var_value(v).is_none() {
                return Some(Lit::neg(v));
            }
            self.free_from += 1;
        }
        None
    }
}

/// The selection state the changeset and the report need, for the packages `picked`
/// (`greedy` is apk's selection, whose per-name choices are kept where still selected).
fn selection(
    u: &Universe,
    world: &[Dep],
    task: &SolverTask,
    picked: Vec<PkgIdx>,
    greedy: &Selection,
) -> Selection {
    let n = u.pkgs.len();
    let mut selected = vec![false; n];
    for &p in &picked {
        selected[p as usize] = true;
    }
    // Pinning: world's tags flow to what is selected through dependencies and triggers.
    let mut allowed = vec![1u64; n];
    let mut preferred = vec![0u64; n];
    for d in world {
        if let (Some(t), false) = (d.tag(), d.conflict) {
            for p in matching(u, d) {
                allowed[p as usize] |= 1 | tag_bit(t);
                preferred[p as usize] |= tag_bit(t);
            }
        }
    }
    // Flags: global, per name, inherited along selected dependencies.
    let global = task.flags.bits();
    let mut flags = vec![global; n];
    let mut inh = vec![0u8; n];
    for nf in &task.name_flags {
        if let Some(name) = u.name_ids.get(&nf.name) {
            for pr in u.providers(name) {
                flags[pr.pkg as usize] |= nf.flags.bits();
                inh[pr.pkg as usize] |= nf.inheritable.bits();
            }
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for &p in &picked {
            let (mask, carry) = (allowed[p as usize], inh[p as usize]);
            for d in u.depends(p).iter().filter(|d| !d.conflict) {
                for q in matching(u, d) {
                    if q == p || !selected[q as usize] {
                        continue;
                    }
                    let before = (allowed[q as usize], inh[q as usize]);
                    allowed[q as usize] |= mask;
                    inh[q as usize] |= carry;
                    flags[q as usize] |= carry;
                    changed |= before != (allowed[q as usize], inh[q as usize]);
                }
            }
            for d in u.install_if(p).iter().filter(|d| !d.conflict) {
                for q in matching(u, d) {
                    if selected[q as usize] {
                        let before = allowed[p as usize];
                        allowed[p as usize] |= allowed[q as usize];
                        changed |= before != allowed[p as usize];
                    }
                }
            }
        }
    }
    // Where the greedy pass's choice for a name is selected, keep it: the install order walks
    // names through it.
    let chosen = (0..u.name_count())
        .map(|name| {
            if let Some(Some(pr)) = greedy.chosen.get(name)
                && selected[pr.pkg as usize]
            {
                return Some(*pr);
            }
            let sel = u
                .providers(name as NameIdx)
                .iter()
                .copied()
                .filter(|pr| selected[pr.pkg as usize]);
            let mut best: Option<Provider> = None;
            for pr in sel {
                if pr.entry == OWN || best.is_none() {
                    best = Some(pr);
                }
            }
            best
        })
        .collect();
    Selection {
        selected,
        chosen,
        allowed,
        preferred,
        flags,
        errored: vec![false; n],
    }
}
