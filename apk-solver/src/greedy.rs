//! apk-tools' greedy solver (spec section 9): discovery from world, constraint application
//! with disqualification, reconsideration of dirty names (dependency checks, install_if,
//! common-dependency merge), then a main loop that decides one name at a time.
//!
//! There is no backtracking: a name that can only be given a bad package still gets it, and
//! the problem shows up when the selection is checked afterwards (see `report`).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet, VecDeque};

use crate::model::{Dep, FastHash, NameIdx, OWN, PkgIdx, Provider, Universe};
use crate::task::{F_AVAILABLE, F_INSTALLED, F_LATEST, F_UPGRADE, SolverTask};

pub(crate) mod guide;

/// The outcome of one engine run: what is selected, and the state the changeset and the
/// error report need.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    pub selected: Vec<bool>,
    /// Per name: the provider it was locked to.
    pub chosen: Vec<Option<Provider>>,
    /// Per package: allowed pinning mask.
    pub allowed: Vec<u64>,
    /// Per package: preferred pinning mask (0 = default, untagged).
    pub preferred: Vec<u64>,
    /// Per package: solver flags in effect.
    pub flags: Vec<u8>,
    /// Per package: chosen although disqualified.
    pub errored: Vec<bool>,
}

/// An engine: turns a task into a selection. The greedy pass is the only one so far.
pub(crate) trait SolveEngine {
    fn run(&self, u: &Universe, world: &[Dep], task: &SolverTask) -> Selection;
}

pub(crate) struct Greedy;

impl SolveEngine for Greedy {
    fn run(&self, u: &Universe, world: &[Dep], task: &SolverTask) -> Selection {
        let mut s = State::new(u, task);
        s.solve(world, task);
        s.into_selection()
    }
}

#[derive(Debug, Clone, Default)]
struct NameSt {
    locked: bool,
    requirers: u32,
    order_id: u32,
    flags_set: bool,
    in_unresolved: bool,
}

#[derive(Debug, Clone, Default)]
struct PkgSt {
    disqualified: bool,
    conflicts: u32,
    deps_applied: bool,
    iif_triggered: bool,
    iif_failed: bool,
    inh: u8,
}

struct State<'u> {
    u: &'u Universe,
    ns: Vec<NameSt>,
    /// Per name: [`TOUCHED`], [`DIRTY`] and [`SEEN`], apart from the rest of its state because
    /// they are read far more often (every reverse dependency of a disqualified package is
    /// marked).
    marks: Vec<u8>,
    ps: Vec<PkgSt>,
    /// What the pass decides (which packages, each name's provider) and the per-package
    /// state the changeset reads (pins, flags), kept in the shape it is handed over in.
    sel: Selection,
    /// Per package: reached by discovery (apart from the rest of its state, which most of
    /// the packages discovery walks over never need).
    pseen: Vec<bool>,
    dirty: VecDeque<NameIdx>,
    unresolved: Vec<NameIdx>,
    merged: HashSet<(NameIdx, NameIdx), FastHash>,
    next_order: u32,
    /// The names discovery reached, in id order.
    discovered: Vec<NameIdx>,
    /// Per name: how many of its reverse dependencies are known to be decided (a prefix of
    /// `rdepends`; deciding is never undone, so the count only grows).
    rdeps_done: Vec<u32>,
    /// Scratch buffers of `reconsider`.
    group_buf: Vec<Provider>,
    candidate_buf: Vec<Provider>,
    /// Per name: its position in `unresolved` (which only grows).
    upos: Vec<u32>,
    /// Positions in `unresolved` not yet known to be locked, ascending (compacted now and
    /// then): what the fallback of `pick` scans.
    live: Vec<u32>,
    /// Positions in `unresolved` of names whose reverse dependencies are all decided: the
    /// only names the first rule of `pick` can take.
    ready: BTreeSet<u32>,
    /// Unresolved names whose reverse dependencies were not all decided, each waiting for the
    /// name of the first undecided one to be locked: per name, the first waiter and, per
    /// waiter, the next (`NO_NAME` ends a list).
    wait_head: Vec<NameIdx>,
    wait_next: Vec<NameIdx>,
    /// Names to put into `ready` or onto a wait list before the next pick.
    recheck: Vec<NameIdx>,
}

const NO_NAME: NameIdx = NameIdx::MAX;

/// A name's mark: discovered, or some provider of it is. Reconsidering a name that is neither
/// does nothing, so such a name is never queued.
const TOUCHED: u8 = 1;
/// A name's mark: queued to be reconsidered.
const DIRTY: u8 = 2;
/// A name's mark: reached by discovery.
const SEEN: u8 = 4;

impl<'u> State<'u> {
    fn new(u: &'u Universe, task: &SolverTask) -> State<'u> {
        let packages = u.pkgs.len();
        State {
            u,
            ns: vec![NameSt::default(); u.name_count()],
            marks: vec![0; u.name_count()],
            ps: vec![PkgSt::default(); packages],
            sel: Selection {
                selected: vec![false; packages],
                chosen: vec![None; u.name_count()],
                allowed: vec![1; packages],
                preferred: vec![0; packages],
                flags: vec![task.flags.bits(); packages],
                errored: vec![false; packages],
            },
            pseen: vec![false; u.pkgs.len()],
            dirty: VecDeque::new(),
            unresolved: Vec::new(),
            merged: HashSet::default(),
            next_order: 0,
            discovered: Vec::new(),
            rdeps_done: vec![0; u.name_count()],
            group_buf: Vec::new(),
            candidate_buf: Vec::new(),
            upos: vec![0; u.name_count()],
            live: Vec::new(),
            ready: BTreeSet::new(),
            wait_head: vec![NO_NAME; u.name_count()],
            wait_next: vec![NO_NAME; u.name_count()],
            recheck: Vec::new(),
        }
    }

    fn into_selection(self) -> Selection {
        self.sel
    }

    // -----------------------------------------------------------------------------------------
    // Discovery

    /// Names reached from a package: its dependencies, install_if names and provided names,
    /// plus the own names of install_if packages that its names can trigger.
    fn package_children(&mut self, pkg: PkgIdx, out: &mut Vec<NameIdx>) {
        let u = self.u;
        out.extend_from_slice(u.dep_and_iif_names(pkg));
        out.extend_from_slice(u.provided_names(pkg));
        self.touch_names(pkg);
        for &n in u.pkg_names(pkg) {
            for &iif in u.rinstall_if(n) {
                if !self.pseen[iif as usize] {
                    self.pseen[iif as usize] = true;
                    self.touch_names(iif);
                    out.extend_from_slice(u.dep_and_iif_names(iif));
                    out.push(u.pkgs[iif as usize].name);
                }
            }
        }
    }

    /// Package `pkg` was seen: its names now have a seen provider.
    fn touch_names(&mut self, pkg: PkgIdx) {
        for &n in self.u.pkg_names(pkg) {
            self.marks[n as usize] |= TOUCHED;
        }
    }

    fn name_children(&mut self, n: NameIdx, out: &mut Vec<NameIdx>) {
        self.marks[n as usize] |= TOUCHED;
        let u = self.u;
        for pr in u.providers(n) {
            let pkg = pr.pkg;
            if self.pseen[pkg as usize] {
                continue;
            }
            self.pseen[pkg as usize] = true;
            self.init_package(pkg);
            self.package_children(pkg, out);
        }
    }

    fn init_package(&mut self, pkg: PkgIdx) {
        if self.u.unselectable(pkg) {
            self.ps[pkg as usize].disqualified = true;
        }
    }

    /// Post-order discovery numbering, iteratively (real worlds are deep).
    fn discover(&mut self, root: NameIdx) {
        if self.marks[root as usize] & SEEN != 0 {
            return;
        }
        self.marks[root as usize] |= SEEN;
        // Every frame's children live in one buffer: frame (name, start, next, end) owns
        // `children[start..end]`, above which deeper frames append theirs.
        let mut children = Vec::new();
        self.name_children(root, &mut children);
        let mut stack: Vec<(NameIdx, usize, usize, usize)> = vec![(root, 0, 0, children.len())];
        while let Some(top) = stack.last_mut() {
            let (n, start, next, end) = *top;
            if next < end {
                top.2 += 1;
                let c = children[next];
                if self.marks[c as usize] & SEEN == 0 {
                    self.marks[c as usize] |= SEEN;
                    let start = children.len();
                    self.name_children(c, &mut children);
                    stack.push((c, start, start, children.len()));
                }
            } else {
                stack.pop();
                children.truncate(start);
                self.next_order += 1;
                self.ns[n as usize].order_id = self.next_order;
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Helpers

    fn mark_dirty(&mut self, n: NameIdx) {
        let m = &mut self.marks[n as usize];
        if *m & (TOUCHED | DIRTY) == TOUCHED {
            *m |= DIRTY;
            self.dirty.push_back(n);
        }
    }

    fn add_unresolved(&mut self, n: NameIdx) {
        if !self.ns[n as usize].in_unresolved {
            self.ns[n as usize].in_unresolved = true;
            let pos = self.unresolved.len() as u32;
            self.upos[n as usize] = pos;
            self.unresolved.push(n);
            self.live.push(pos);
            self.recheck.push(n);
        }
    }

    fn disqualify(&mut self, pkg: PkgIdx) {
        if self.ps[pkg as usize].disqualified {
            return;
        }
        self.ps[pkg as usize].disqualified = true;
        let u = self.u;
        for &n in u.pkg_names(pkg) {
            self.mark_dirty(n);
            for &r in u.rdepends(n) {
                for &x in u.pkg_names(r) {
                    self.mark_dirty(x);
                }
            }
        }
    }

    /// Whether the package cannot be chosen because its own name is decided for another one.
    fn name_taken(&self, pkg: PkgIdx) -> bool {
        let n = self.u.pkgs[pkg as usize].name as usize;
        self.ns[n].locked && self.sel.chosen[n].is_none_or(|c| c.pkg != pkg)
    }

    /// Provider entries grouped per package, in provider order, keeping the best entry (own
    /// name before a provide) of each package.
    fn grouped(&self, n: NameIdx) -> Vec<Provider> {
        let mut out: Vec<Provider> = Vec::new();
        self.each_grouped(n, |p| out.push(p));
        out
    }

    /// [`State::grouped`] without collecting: `f` gets each entry in order.
    fn each_grouped(&self, n: NameIdx, mut f: impl FnMut(Provider)) {
        let mut last: Option<Provider> = None;
        for &p in self.u.providers(n) {
            match last.as_mut() {
                Some(l) if l.pkg == p.pkg => {
                    if self.u.is_virtual(*l) && !self.u.is_virtual(p) {
                        *l = p;
                    }
                }
                _ => {
                    if let Some(l) = last {
                        f(l);
                    }
                    last = Some(p);
                }
            }
        }
        if let Some(l) = last {
            f(l);
        }
    }

    fn selected_providers(&self, n: NameIdx) -> impl Iterator<Item = Provider> + '_ {
        self.u
            .providers(n)
            .iter()
            .copied()
            .filter(|p| self.sel.selected[p.pkg as usize])
    }

    fn auto_selectable(&self, p: Provider) -> bool {
        if !self.u.is_virtual(p) {
            return true;
        }
        let pkg = &self.u.pkgs[p.pkg as usize];
        pkg.priority > 0 || self.ns[pkg.name as usize].requirers > 0
    }

    fn iif_blocked(&self, pkg: PkgIdx) -> bool {
        let p = &self.u.pkgs[pkg as usize];
        self.u.has_install_if(pkg)
            && !self.ps[pkg as usize].iif_triggered
            && self.ns[p.name as usize].requirers == 0
    }

    // -----------------------------------------------------------------------------------------
    // Constraints

    fn apply_constraint(
        &mut self,
        requirer: Option<PkgIdx>,
        dep: &Dep,
        allowed: u64,
        preferred: u64,
        inh: u8,
    ) {
        let n = dep.name;
        if !dep.conflict {
            self.ns[n as usize].requirers += 1;
            self.add_unresolved(n);
        }
        let u = self.u;
        let providers = u.providers(n);
        let mut i = 0;
        while i < providers.len() {
            let pkg = providers[i].pkg;
            let mut j = i;
            let mut any_match = false;
            while j < providers.len() && providers[j].pkg == pkg {
                any_match |= self.u.version_matches(dep, providers[j]);
                j += 1;
            }
            i = j;
            if requirer == Some(pkg) {
                continue;
            }
            if any_match == dep.conflict {
                self.ps[pkg as usize].conflicts += 1;
                self.disqualify(pkg);
            } else if !dep.conflict {
                let i = pkg as usize;
                self.ps[i].inh |= inh;
                self.sel.flags[i] |= inh;
                self.sel.allowed[i] |= allowed;
                self.sel.preferred[i] |= preferred;
            }
        }
        self.mark_dirty(n);
    }

    fn apply_package_deps(&mut self, pkg: PkgIdx) {
        if self.ps[pkg as usize].deps_applied {
            return;
        }
        self.ps[pkg as usize].deps_applied = true;
        let p = &self.u.pkgs[pkg as usize];
        if !p.valid || p.bad_arch.is_some() {
            return;
        }
        let (allowed, inh) = (self.sel.allowed[pkg as usize], self.ps[pkg as usize].inh);
        let deps = self.u.depends(pkg);
        for d in deps {
            self.apply_constraint(Some(pkg), d, allowed, 0, inh);
        }
    }

    /// Whether `dep` of `pkg` can still be met.
    fn dependency_possible(&self, pkg: PkgIdx, dep: &Dep) -> bool {
        let n = dep.name as usize;
        if dep.conflict {
            return !self
                .selected_providers(dep.name)
                .any(|p| p.pkg != pkg && self.u.version_matches(dep, p));
        }
        if self.ns[n].locked {
            return self
                .selected_providers(dep.name)
                .any(|p| self.u.version_matches(dep, p));
        }
        self.u.providers(dep.name).iter().any(|&p| {
            (self.sel.selected[p.pkg as usize]
                || (!self.ps[p.pkg as usize].disqualified && !self.name_taken(p.pkg)))
                && self.u.version_matches(dep, p)
        })
    }

    fn evaluate_iif(&mut self, pkg: PkgIdx) {
        let st = &self.ps[pkg as usize];
        if st.iif_triggered || st.iif_failed || !self.u.has_install_if(pkg) {
            return;
        }
        let mut decided = true;
        let mut pins = 0u64;
        for dep in self.u.install_if(pkg) {
            if !self.ns[dep.name as usize].locked {
                decided = false;
                continue;
            }
            let sel: Vec<Provider> = self.selected_providers(dep.name).collect();
            let ok = if dep.conflict {
                !sel.iter().any(|&p| self.u.version_matches(dep, p))
            } else {
                sel.iter().any(|&p| self.u.version_matches(dep, p))
            };
            if !ok {
                self.ps[pkg as usize].iif_failed = true;
                return;
            }
            for p in sel {
                pins |= self.sel.allowed[p.pkg as usize];
            }
        }
        if decided {
            self.ps[pkg as usize].iif_triggered = true;
            self.sel.allowed[pkg as usize] |= pins;
            let n = self.u.pkgs[pkg as usize].name;
            self.add_unresolved(n);
            self.mark_dirty(n);
        }
    }

    fn reconsider(&mut self, n: NameIdx) {
        // Reconsidering never nests: two buffers serve every call.
        let mut group = std::mem::take(&mut self.group_buf);
        let mut candidates = std::mem::take(&mut self.candidate_buf);
        group.clear();
        candidates.clear();
        self.each_grouped(n, |p| group.push(p));
        self.reconsider_group(n, &group, &mut candidates);
        self.group_buf = group;
        self.candidate_buf = candidates;
    }

    fn reconsider_group(&mut self, n: NameIdx, group: &[Provider], candidates: &mut Vec<Provider>) {
        self.marks[n as usize] &= !DIRTY;
        for &p in group {
            let pkg = p.pkg;
            if !self.pseen[pkg as usize] || self.sel.selected[pkg as usize] {
                continue;
            }
            if !self.ps[pkg as usize].disqualified && !self.name_taken(pkg) {
                let bad = self
                    .u
                    .depends(pkg)
                    .iter()
                    .any(|d| !self.dependency_possible(pkg, d));
                if bad {
                    self.disqualify(pkg);
                    continue;
                }
            }
            if !self.ps[pkg as usize].disqualified {
                self.evaluate_iif(pkg);
            }
        }
        let st = &self.ns[n as usize];
        if st.locked {
            return;
        }
        let wanted = st.requirers > 0;
        // A required name no package can ever be chosen for automatically (only virtual
        // providers without priority, or install_if packages not triggered) is decided empty
        // at once: apk's "(virtual)" and "(no such package)" errors.
        if wanted
            && !group.iter().any(|p| {
                self.pseen[p.pkg as usize]
                    && !self.sel.selected[p.pkg as usize]
                    && self.auto_selectable(*p)
                    && !self.iif_blocked(p.pkg)
            })
        {
            self.lock_none(n);
            return;
        }
        candidates.extend(group.iter().copied().filter(|p| {
            let st = &self.ps[p.pkg as usize];
            self.pseen[p.pkg as usize]
                && !st.disqualified
                && !self.name_taken(p.pkg)
                && !self.iif_blocked(p.pkg)
                && self.auto_selectable(*p)
        }));
        if !wanted
            && !candidates
                .iter()
                .any(|p| self.ps[p.pkg as usize].iif_triggered)
        {
            return;
        }
        match candidates.as_slice() {
            [] => {}
            [only] => self.apply_package_deps(only.pkg),
            [first, rest @ ..] => {
                let common: Vec<NameIdx> = self
                    .u
                    .depends(first.pkg)
                    .iter()
                    .filter(|d| !d.conflict)
                    .map(|d| d.name)
                    .filter(|&x| {
                        rest.iter().all(|p| {
                            self.u
                                .depends(p.pkg)
                                .iter()
                                .any(|d| !d.conflict && d.name == x)
                        })
                    })
                    .collect();
                for x in common {
                    if self.merged.insert((n, x)) {
                        self.ns[x as usize].requirers += 1;
                        self.add_unresolved(x);
                        self.mark_dirty(x);
                    }
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Choosing

    fn compare(&self, a: Provider, b: Provider) -> Ordering {
        let u = self.u;
        let (sa, sb) = (&self.ps[a.pkg as usize], &self.ps[b.pkg as usize]);
        let (pa, pb) = (&u.pkgs[a.pkg as usize], &u.pkgs[b.pkg as usize]);
        let flags = self.sel.flags[a.pkg as usize] | self.sel.flags[b.pkg as usize];
        let tag_ok = |pkg: PkgIdx| u.tag_mask(pkg) & self.sel.allowed[pkg as usize] != 0;
        let tag_pref = |pkg: PkgIdx| {
            let pref = match self.sel.preferred[pkg as usize] {
                0 => 1,
                p => p,
            };
            u.tag_mask(pkg) & pref != 0
        };
        let mut ord = (!sa.disqualified)
            .cmp(&!sb.disqualified)
            .then(sb.conflicts.cmp(&sa.conflicts));
        if flags & F_INSTALLED != 0 {
            ord = ord.then(pa.installed.cmp(&pb.installed));
        }
        let untagged = |pkg: PkgIdx| u.tag_mask(pkg) & !1 == 0;
        if flags & F_LATEST != 0 && untagged(a.pkg) && untagged(b.pkg) {
            ord = ord
                .then(tag_ok(a.pkg).cmp(&tag_ok(b.pkg)))
                .then(u.available(a.pkg).cmp(&u.available(b.pkg)));
        } else {
            ord = ord.then(tag_ok(a.pkg).cmp(&tag_ok(b.pkg)));
            if flags & F_AVAILABLE != 0 {
                ord = ord.then(u.available(a.pkg).cmp(&u.available(b.pkg)));
            }
            ord = ord
                .then(tag_pref(a.pkg).cmp(&tag_pref(b.pkg)))
                .then(pa.priority.cmp(&pb.priority));
            // v3: through a provided name the installed package is preferred only over
            // other versions of itself (`so:libX11.so.6=6.3.0` keeps the installed libx11;
            // `wine=1` provided by an installed `wine-staging` does not beat `wine`).
            let same_package = pa.name == pb.name && !u.is_virtual(a) && !u.is_virtual(b);
            if flags & F_UPGRADE == 0 && ((a.entry == OWN && b.entry == OWN) || same_package) {
                ord = ord.then(pa.installed.cmp(&pb.installed));
            }
        }
        ord.then_with(|| match (u.provided_version(a), u.provided_version(b)) {
            (Some(x), Some(y)) => u.compare_versions(x, y),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| {
            if pa.name == pb.name {
                u.compare_versions(pa.version.as_bytes(), pb.version.as_bytes())
            } else {
                Ordering::Equal
            }
        })
        .then(pa.installed.cmp(&pb.installed))
        .then(pa.priority.cmp(&pb.priority))
        .then((u.available(a.pkg) || pa.installed).cmp(&(u.available(b.pkg) || pb.installed)))
        .then(pb.first_repo.cmp(&pa.first_repo))
    }

    fn select_name(&mut self, n: NameIdx) {
        let mut best: Option<Provider> = None;
        self.each_grouped(n, |p| {
            if !self.pseen[p.pkg as usize]
                || self.sel.selected[p.pkg as usize]
                || self.iif_blocked(p.pkg)
                || !self.auto_selectable(p)
            {
                return;
            }
            if best.is_none_or(|b| self.compare(p, b) == Ordering::Greater) {
                best = Some(p);
            }
        });
        match best {
            Some(p) => {
                if self.ps[p.pkg as usize].disqualified {
                    self.sel.errored[p.pkg as usize] = true;
                }
                self.assign(p, n);
            }
            None => self.lock_none(n),
        }
    }

    fn lock_none(&mut self, n: NameIdx) {
        self.ns[n as usize].locked = true;
        self.sel.chosen[n as usize] = None;
        // Nothing may provide a name decided empty.
        let providers: Vec<PkgIdx> = self
            .u
            .providers(n)
            .iter()
            .map(|p| p.pkg)
            .filter(|&p| !self.sel.selected[p as usize])
            .collect();
        for p in providers {
            self.disqualify(p);
        }
        self.after_lock(n);
    }

    fn after_lock(&mut self, n: NameIdx) {
        // Names waiting for this one to be decided may now have all reverse dependencies
        // decided.
        let mut w = std::mem::replace(&mut self.wait_head[n as usize], NO_NAME);
        while w != NO_NAME {
            self.recheck.push(w);
            w = std::mem::replace(&mut self.wait_next[w as usize], NO_NAME);
        }
        for &iif in self.u.rinstall_if(n) {
            let name = self.u.pkgs[iif as usize].name;
            if self.marks[name as usize] & DIRTY == 0 {
                self.marks[name as usize] |= DIRTY;
                self.dirty.push_back(name);
            }
        }
        self.mark_dirty(n);
    }

    fn lock(&mut self, n: NameIdx, p: Provider) {
        let st = &mut self.ns[n as usize];
        if st.locked {
            return;
        }
        st.locked = true;
        self.sel.chosen[n as usize] = Some(p);
        self.after_lock(n);
    }

    fn assign(&mut self, p: Provider, via: NameIdx) {
        let pkg = p.pkg;
        self.sel.selected[pkg as usize] = true;
        let own = self.u.pkgs[pkg as usize].name;
        self.lock(own, Provider { pkg, entry: OWN });
        if via != own && self.u.is_virtual(p) {
            self.lock(via, p);
        }
        // Every other provider of the names it takes is out, except that unversioned
        // provides coexist.
        let mut entries = vec![Provider { pkg, entry: OWN }];
        entries.extend((0..self.u.provides(pkg).len()).map(|i| Provider {
            pkg,
            entry: i as u32,
        }));
        for e in entries {
            let name = if e.entry == OWN {
                own
            } else {
                self.u.provides(pkg)[e.entry as usize].name
            };
            self.lock(name, e);
            let mine_virtual = self.u.is_virtual(e);
            let u = self.u;
            for &o in u.providers(name) {
                if o.pkg == pkg || (mine_virtual && self.u.is_virtual(o)) {
                    continue;
                }
                self.disqualify(o.pkg);
            }
        }
        self.apply_package_deps(pkg);
    }

    fn reverse_deps_done(&mut self, n: NameIdx) -> bool {
        let u = self.u;
        let rdepends = u.rdepends(n);
        let mut i = self.rdeps_done[n as usize] as usize;
        while let Some(&r) = rdepends.get(i) {
            if self.pseen[r as usize] && !self.ns[u.pkgs[r as usize].name as usize].locked {
                break;
            }
            i += 1;
        }
        self.rdeps_done[n as usize] = i as u32;
        i == rdepends.len()
    }

    fn has_options(&self, n: NameIdx) -> (bool, usize) {
        let mut any = false;
        let mut count = 0;
        self.each_grouped(n, |p| {
            let st = &self.ps[p.pkg as usize];
            if self.pseen[p.pkg as usize]
                && !st.disqualified
                && !self.name_taken(p.pkg)
                && !self.iif_blocked(p.pkg)
            {
                any = true;
                if self.auto_selectable(p) {
                    count += 1;
                }
            }
        });
        (any, count)
    }

    fn wanted(&self, n: NameIdx) -> bool {
        let st = &self.ns[n as usize];
        !st.locked
            && (st.requirers > 0
                || self
                    .u
                    .providers(n)
                    .iter()
                    .any(|p| p.entry == OWN && self.ps[p.pkg as usize].iif_triggered))
    }

    /// Move the names to recheck into `ready` or onto the wait list of the name they wait for.
    fn settle_ready(&mut self) {
        while let Some(n) = self.recheck.pop() {
            if self.ns[n as usize].locked {
                continue;
            }
            if self.reverse_deps_done(n) {
                self.ready.insert(self.upos[n as usize]);
                continue;
            }
            // `reverse_deps_done` stopped at the first undecided reverse dependency.
            let u = self.u;
            let blocker = u
                .rdepends(n)
                .get(self.rdeps_done[n as usize] as usize)
                .map(|&r| u.pkgs[r as usize].name);
            if let Some(b) = blocker {
                self.wait_next[n as usize] = self.wait_head[b as usize];
                self.wait_head[b as usize] = n;
            }
        }
    }

    fn pick(&mut self) -> Option<NameIdx> {
        // The first required name (in the order names became unresolved) with exactly one
        // automatic option whose reverse dependencies are all decided: only `ready` names
        // have those decided, so only they are looked at...
        self.settle_ready();
        let mut found = None;
        let mut gone = Vec::new();
        for &pos in &self.ready {
            let n = self.unresolved[pos as usize];
            let st = &self.ns[n as usize];
            if st.locked {
                gone.push(pos);
                continue;
            }
            if st.requirers > 0 {
                let (has_auto, options) = self.has_options(n);
                if has_auto && options == 1 {
                    found = Some(n);
                    break;
                }
            }
        }
        for pos in gone {
            self.ready.remove(&pos);
        }
        if found.is_some() {
            return found;
        }
        // ...else the best wanted one: one with an automatic option, flags set, discovered last
        // (the first such in list order on a tie).
        let mut best: Option<(NameIdx, bool)> = None;
        let mut locked = 0;
        for &pos in &self.live {
            let n = self.unresolved[pos as usize];
            let ns = &self.ns[n as usize];
            if ns.locked {
                locked += 1;
                continue;
            }
            if !self.wanted(n) {
                continue;
            }
            if let Some((b, true)) = best {
                // Only a name with an automatic option and a larger (flags, order) can win.
                let bs = &self.ns[b as usize];
                if (ns.flags_set, ns.order_id) <= (bs.flags_set, bs.order_id) {
                    continue;
                }
            }
            let (has_auto, _) = self.has_options(n);
            let better = match best {
                None => true,
                Some((b, b_auto)) => {
                    let bs = &self.ns[b as usize];
                    (has_auto, ns.flags_set, ns.order_id) > (b_auto, bs.flags_set, bs.order_id)
                }
            };
            if better {
                best = Some((n, has_auto));
            }
        }
        // A locked name is never wanted again: drop such names once they dominate the list.
        if locked * 2 > self.live.len() {
            let (ns, unresolved) = (&self.ns, &self.unresolved);
            self.live
                .retain(|&pos| !ns[unresolved[pos as usize] as usize].locked);
        }
        best.map(|(n, _)| n)
    }

    fn solve(&mut self, world: &[Dep], task: &SolverTask) {
        let u = self.u;
        for d in world {
            self.discover(d.name);
        }
        // Discovery is over: the seen sets are final.
        self.discovered = (0..u.name_count() as NameIdx)
            .filter(|&n| self.marks[n as usize] & SEEN != 0)
            .collect();
        for nf in &task.name_flags {
            if let Some(n) = u.name_ids.get(&nf.name) {
                self.ns[n as usize].flags_set = true;
                for p in u.providers(n) {
                    self.sel.flags[p.pkg as usize] |= nf.flags.bits();
                    self.ps[p.pkg as usize].inh |= nf.inheritable.bits();
                }
            }
        }
        for d in world {
            let tag_bit = d.tag().map_or(0, crate::model::tag_bit);
            let (allowed, preferred) = if d.tag().is_some() {
                (1 | tag_bit, tag_bit)
            } else {
                (1, 0)
            };
            self.apply_constraint(None, d, allowed, preferred, 0);
        }
        let mut guard = 0usize;
        let limit = 4 * (u.name_count() + u.pkgs.len()) + 16;
        loop {
            while let Some(n) = self.dirty.pop_front() {
                self.reconsider(n);
            }
            if let Some(n) = self.pick() {
                self.select_name(n);
            } else {
                // Nothing wanted is left: decide the names nobody requires as empty, which can
                // settle `!name` install_if conditions.
                let mut progressed = false;
                for i in 0..self.discovered.len() {
                    let n = self.discovered[i];
                    let st = &self.ns[n as usize];
                    if st.locked || st.requirers > 0 {
                        continue;
                    }
                    let pending = self.u.providers(n).iter().any(|p| {
                        let ps = &self.ps[p.pkg as usize];
                        p.entry == OWN
                            && self.pseen[p.pkg as usize]
                            && u.has_install_if(p.pkg)
                            && !ps.iif_failed
                            && !ps.disqualified
                    });
                    if pending {
                        continue;
                    }
                    self.lock_none(n);
                    progressed = true;
                }
                if !progressed {
                    break;
                }
            }
            guard += 1;
            if guard > limit {
                break;
            }
        }
    }
}
