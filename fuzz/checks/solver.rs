//! The solver on small universes and worlds decoded from the bytes.
//!
//! Decoding (every byte read through `Bytes::next`, which yields 0 past the end): up to 6
//! names `a`..`f`; up to 10 repository packages, each with a name, a version `1`..`3` (one
//! record per name and version), an arch (`x86_64` or, rarely, `aarch64`), up to 3
//! dependencies (`[!]name[=|<|>=version]`), up to 2 provides of other names (versioned or
//! not), sometimes an install_if of 1–2 conditions and a provider priority; up to 3 installed
//! packages (copies of generated ones with version `N.9`, so every name and version is one
//! record); a world of 1–4 dependencies. Then, if the next byte is odd, pinning: each
//! repository package goes, by one byte each, to a second repository tagged `edge`, and
//! each world dependency that is not a conflict may be pinned (`name@edge…`).
//!
//! Oracles, for each engine (greedy, CDCL, the default):
//! * no panic;
//! * a returned changeset, applied to the installed packages, gives a set that satisfies
//!   every rule: installable arch, one package per name, versioned provides clash with other
//!   providers, world and every dependency met, no conflict hit;
//! * the default engine returns the greedy changeset whenever greedy succeeds, and a
//!   CDCL success whenever greedy fails but CDCL succeeds;
//! * pinning: a package that only the `edge` repository has is installed only if it already
//!   was, or if its name can be reached from a pinned world dependency (through dependencies,
//!   provides and install_if; a generous bound on the names that `@edge` allows);
//! * when there are no unversioned provides (the one case the complete search leaves to the
//!   user) and no pinning, CDCL fails only if brute force over every subset of packages finds
//!   no valid set.
//!
//! Shared, via `#[path]`, by `fuzz/fuzz_targets/solver.rs` and
//! `apk-solver/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/solver/`.

use std::collections::BTreeMap;
use std::hint::black_box;

use apk_index::{Dependency, Index, IndexOptions, InstalledDb, InstalledDbOptions, Rules};
use apk_solver::{ChangeKind, Changeset, Engine, Repository, Solver, SolverOptions, SolverTask};

const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
}

/// One package as the checker sees it.
#[derive(Debug, Clone)]
struct Rec {
    name: String,
    version: String,
    arch_ok: bool,
    deps: Vec<String>,
    provides: Vec<(String, Option<String>)>,
    install_if: Vec<String>,
    priority: u8,
    /// In the `edge` repository (repository packages only).
    tagged: bool,
}

impl Rec {
    fn text(&self) -> String {
        let mut t = format!(
            "P:{}\nV:{}\nA:{}\nS:1\nI:1\n",
            self.name,
            self.version,
            if self.arch_ok { "x86_64" } else { "aarch64" }
        );
        if !self.deps.is_empty() {
            t += &format!("D:{}\n", self.deps.join(" "));
        }
        if !self.provides.is_empty() {
            let p: Vec<String> = self
                .provides
                .iter()
                .map(|(n, v)| match v {
                    Some(v) => format!("{n}={v}"),
                    None => n.clone(),
                })
                .collect();
            t += &format!("p:{}\n", p.join(" "));
        }
        if !self.install_if.is_empty() {
            t += &format!("i:{}\n", self.install_if.join(" "));
        }
        if self.priority > 0 {
            t += &format!("k:{}\n", self.priority);
        }
        t + "\n"
    }

    /// The versions this package offers for `name` (`None`: an unversioned provide).
    fn entries(&self, name: &str) -> Vec<Option<&str>> {
        let mut out = Vec::new();
        if self.name == name {
            out.push(Some(self.version.as_str()));
        }
        for (n, v) in &self.provides {
            if n == name {
                out.push(v.as_deref());
            }
        }
        out
    }

    fn meets(&self, dep: &Dependency) -> bool {
        self.entries(dep.name())
            .into_iter()
            .any(|v| dep.as_ref().version_matches(v, Rules::V3))
    }
}

fn dep_token(b: &mut Bytes<'_>, names: usize, conflicts: bool) -> String {
    let x = b.next();
    let name = NAMES[usize::from(x) % names];
    let bang = if conflicts && x & 0x80 != 0 { "!" } else { "" };
    let version = 1 + (x >> 3) % 3;
    let op = match (x >> 5) & 3 {
        0 => String::new(),
        1 => format!("={version}"),
        2 => format!("<{version}"),
        _ => format!(">={version}"),
    };
    format!("{bang}{name}{op}")
}

/// Decode the universe: repository records, installed records, world.
fn decode(data: &[u8]) -> (Vec<Rec>, Vec<Rec>, Vec<String>) {
    let mut b = Bytes(data);
    let names = 2 + usize::from(b.next()) % 5;
    let count = 1 + usize::from(b.next()) % 10;
    let mut repo: Vec<Rec> = Vec::new();
    for _ in 0..count {
        let x = b.next();
        let name = NAMES[usize::from(x) % names].to_owned();
        let version = (1 + (x >> 3) % 3).to_string();
        let y = b.next();
        let deps = (0..y % 4).map(|_| dep_token(&mut b, names, true)).collect();
        let mut provides: Vec<(String, Option<String>)> = Vec::new();
        for _ in 0..(y >> 2) % 3 {
            let z = b.next();
            let n = NAMES[usize::from(z) % names];
            if n == name || provides.iter().any(|(p, _)| p == n) {
                continue;
            }
            let v = (z & 0x40 != 0).then(|| (1 + (z >> 3) % 3).to_string());
            provides.push((n.to_owned(), v));
        }
        let install_if = if y & 0x10 != 0 {
            (0..1 + (y >> 5) % 2)
                .map(|_| dep_token(&mut b, names, true))
                .collect()
        } else {
            Vec::new()
        };
        let rec = Rec {
            name,
            version,
            arch_ok: y & 0xc0 != 0xc0,
            deps,
            provides,
            install_if,
            priority: if x & 0x80 != 0 { b.next() % 3 } else { 0 },
            tagged: false,
        };
        if !repo
            .iter()
            .any(|r| r.name == rec.name && r.version == rec.version)
        {
            repo.push(rec);
        }
    }
    let mut installed: Vec<Rec> = Vec::new();
    for _ in 0..b.next() % 4 {
        let i = usize::from(b.next()) % repo.len();
        let mut rec = repo[i].clone();
        rec.version += ".9";
        rec.install_if.clear();
        // apk keeps what is installed whatever its arch.
        rec.arch_ok = true;
        if !installed.iter().any(|r| r.name == rec.name) {
            installed.push(rec);
        }
    }
    let mut world: Vec<String> = (0..1 + b.next() % 4)
        .map(|_| dep_token(&mut b, names, true))
        .collect();
    if b.next() & 1 == 1 {
        for r in &mut repo {
            r.tagged = b.next() & 1 == 1;
        }
        for w in &mut world {
            if !w.starts_with('!') && b.next() & 1 == 1 {
                let end = w.find(['=', '<', '>']).unwrap_or(w.len());
                w.insert_str(end, "@edge");
            }
        }
    }
    (repo, installed, world)
}

/// The names a pinned world dependency can allow `edge` packages for: its own, and every
/// name reachable from it through the dependencies, provides and install_if conditions of
/// any package (more than apk allows, never less).
fn pinned_reach(all: &[Rec], world: &[Dependency]) -> Vec<String> {
    let mut reach: Vec<String> = world
        .iter()
        .filter(|d| d.tag().is_some())
        .map(|d| d.name().to_owned())
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for r in all {
            let takes = |n: &str| r.name == n || r.provides.iter().any(|(p, _)| p == n);
            let reached = reach.iter().any(|n| takes(n))
                || r.install_if.iter().any(|c| {
                    Dependency::parse(c, Rules::V3)
                        .is_ok_and(|d| reach.iter().any(|n| n == d.name()))
                });
            if !reached {
                continue;
            }
            let mut new: Vec<String> = vec![r.name.clone()];
            new.extend(r.provides.iter().map(|(p, _)| p.clone()));
            new.extend(
                r.deps
                    .iter()
                    .filter_map(|d| Dependency::parse(d, Rules::V3).ok())
                    .map(|d| d.name().to_owned()),
            );
            for n in new {
                if !reach.contains(&n) {
                    reach.push(n);
                    changed = true;
                }
            }
        }
    }
    reach
}

/// Whether the set `set` (indexes into `all`) satisfies every rule for `world`.
fn violation(all: &[Rec], set: &[usize], world: &[Dependency]) -> Option<String> {
    for (k, &i) in set.iter().enumerate() {
        let r = &all[i];
        if !r.arch_ok {
            return Some(format!("{}-{} has a foreign arch", r.name, r.version));
        }
        for &j in &set[k + 1..] {
            let s = &all[j];
            if r.name == s.name {
                return Some(format!("two packages named {}", r.name));
            }
        }
        for (n, v) in &r.provides {
            for &j in set {
                if j == i {
                    continue;
                }
                let clash = all[j]
                    .entries(n)
                    .into_iter()
                    .any(|w| v.is_some() || w.is_some());
                if clash {
                    return Some(format!("{} and {} both take {n}", r.name, all[j].name));
                }
            }
        }
    }
    let check = |who: &str, own: Option<usize>, dep: &Dependency| -> Option<String> {
        let hit = set.iter().any(|&j| Some(j) != own && all[j].meets(dep));
        if dep.conflict() {
            hit.then(|| format!("{who}[{dep}] is hit"))
        } else {
            let own_meets = own.is_some_and(|o| all[o].meets(dep));
            (!hit && !own_meets).then(|| format!("{who}[{dep}] is not met"))
        }
    };
    for d in world {
        if let Some(v) = check("world", None, d) {
            return Some(v);
        }
    }
    for &i in set {
        for d in &all[i].deps {
            let Ok(dep) = Dependency::parse(d, Rules::V3) else {
                continue;
            };
            if let Some(v) = check(&all[i].name, Some(i), &dep) {
                return Some(v);
            }
        }
    }
    None
}

/// An `edge`-only package in `set` that no pinned world dependency can allow.
fn pinning_violation(all: &[Rec], set: &[usize], world: &[Dependency]) -> Option<String> {
    let reach = pinned_reach(all, world);
    set.iter().map(|&i| &all[i]).find_map(|r| {
        (r.tagged && !reach.contains(&r.name)).then(|| {
            format!(
                "{}-{} is only in @edge, which nothing pins",
                r.name, r.version
            )
        })
    })
}

/// The installed set after `cs`, as indexes into `all` (`None`: a change names a package
/// the checker does not know).
fn after(all: &[Rec], installed: &[Rec], cs: &Changeset) -> Result<Vec<usize>, String> {
    let mut state: BTreeMap<String, String> = installed
        .iter()
        .map(|r| (r.name.clone(), r.version.clone()))
        .collect();
    for c in cs.changes() {
        match (c.kind, &c.new) {
            (ChangeKind::Purge, _) => {
                state.remove(&c.name);
            }
            (_, Some(v)) => {
                state.insert(c.name.clone(), v.version.clone());
            }
            (_, None) => return Err(format!("change without a new version: {c}")),
        }
    }
    state
        .iter()
        .map(|(n, v)| {
            all.iter()
                .position(|r| &r.name == n && &r.version == v)
                .ok_or_else(|| format!("unknown package {n}-{v} after the changes"))
        })
        .collect()
}

/// Check every oracle on `data`.
pub fn run(data: &[u8]) {
    let (repo, installed, world_text) = decode(data);
    let text_of = |tagged: bool| -> String {
        repo.iter()
            .filter(|r| r.tagged == tagged)
            .map(Rec::text)
            .collect()
    };
    let (untagged_text, edge_text) = (text_of(false), text_of(true));
    let text = format!("{untagged_text}@edge:\n{edge_text}");
    let db_text: String = installed.iter().map(Rec::text).collect();
    let opts = IndexOptions::default();
    let repositories = [
        Repository::new(Index::from_text(untagged_text, &opts)),
        Repository::new(Index::from_text(edge_text, &opts)).with_tag("edge"),
    ];
    let Ok(db) = InstalledDb::from_bytes(db_text.as_bytes(), &InstalledDbOptions::default()) else {
        panic!("generated installed database does not parse:\n{db_text}");
    };
    let options = SolverOptions {
        arches: vec!["x86_64".into()],
        ..SolverOptions::default()
    };
    let solver = Solver::new(&repositories, &db, &options);
    let world: Vec<Dependency> = world_text
        .iter()
        .filter_map(|w| Dependency::parse(w, Rules::V3).ok())
        .collect();
    let all: Vec<Rec> = repo.iter().chain(&installed).cloned().collect();
    let solve = |engine| {
        solver.solve(&SolverTask {
            world: world.clone(),
            engine,
            ..SolverTask::default()
        })
    };
    let greedy = solve(Engine::Greedy);
    let cdcl = solve(Engine::Cdcl);
    let auto = solve(Engine::Auto);
    for (label, result) in [("greedy", &greedy), ("cdcl", &cdcl), ("auto", &auto)] {
        match result {
            Ok(cs) => {
                black_box(cs.transcript());
                let set = after(&all, &installed, cs)
                    .unwrap_or_else(|e| panic!("{label}: {e}\n{text}\nworld: {world_text:?}"));
                if let Some(v) =
                    violation(&all, &set, &world).or_else(|| pinning_violation(&all, &set, &world))
                {
                    panic!(
                        "{label}: the changeset breaks a rule: {v}\n{}\nindex:\n{text}\
                         installed:\n{db_text}world: {world_text:?}",
                        cs.transcript()
                    );
                }
            }
            Err(e) => {
                black_box(e.report().to_string());
            }
        }
    }
    match (&greedy, &cdcl, &auto) {
        (Ok(g), _, Ok(a)) => assert_eq!(g, a, "auto differs from a successful greedy solve"),
        (Ok(_), _, Err(_)) => panic!("auto fails where greedy succeeds"),
        (Err(_), Ok(c), Ok(a)) => assert_eq!(c.transcript(), a.transcript()),
        (Err(_), Ok(_), Err(_)) => panic!("auto fails where cdcl succeeds\n{text}{world_text:?}"),
        (Err(_), Err(_), a) => assert!(a.is_err(), "auto succeeds where both engines fail"),
    }
    if cdcl.is_ok()
        || all.iter().any(|r| r.tagged)
        || all
            .iter()
            .any(|r| r.provides.iter().any(|(_, v)| v.is_none()))
    {
        return;
    }
    // Completeness: no subset of packages may satisfy every rule.
    for mask in 0u32..1 << all.len() {
        let set: Vec<usize> = (0..all.len()).filter(|&i| mask & (1 << i) != 0).collect();
        if violation(&all, &set, &world).is_none() {
            let names: Vec<String> = set
                .iter()
                .map(|&i| format!("{}-{}", all[i].name, all[i].version))
                .collect();
            panic!(
                "cdcl found nothing, but {names:?} satisfies every rule\nindex:\n{text}\
                 installed:\n{db_text}world: {world_text:?}\n{}",
                cdcl.err()
                    .map(|e| e.report().to_string())
                    .unwrap_or_default()
            );
        }
    }
}
