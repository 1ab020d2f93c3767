//! Worlds for the solver benchmarks, shared with the `solve` example and the corpus tests
//! (included with `#[path]`).
//!
//! * `alpine_world`: the 7 names of Alpine 3.17's `rootfs/etc/apk/world` in the corpus.
//! * `first_installable(500)`: the first 500 package names of `main`, sorted bytewise, that
//!   are installable: the record is valid and a greedy solve of that name alone succeeds.
//! * `all_installable`: every name of `main` installable alone, then made installable
//!   *together* by `together`: in sorted order, an entry is dropped when adding it to the
//!   entries kept so far makes the greedy solve fail (found by bisecting chunks).
//! * `adversarial(width, depth)`: a generated universe where apk's greedy choice fails but a
//!   solution exists (no corpus needed).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use apk_index::{Dependency, Index, IndexOptions, InstalledDb, InstalledDbOptions, Rules};
use apk_solver::{Engine, Repository, Solver, SolverOptions, SolverTask};

/// `$APK_CORPUS/Paper-Dragon_docker-sh`, when `APK_CORPUS` is set.
pub fn corpus_dir() -> Option<PathBuf> {
    std::env::var_os("APK_CORPUS").map(|c| PathBuf::from(c).join("Paper-Dragon_docker-sh"))
}

/// The main and community indexes of Alpine 3.17 (signatures not checked).
pub fn alpine_indexes(dir: &Path) -> (Index, Index) {
    let opts = IndexOptions::default();
    let open = |f: &str| {
        Index::open(dir.join(f), None, &opts).unwrap_or_else(|e| panic!("cannot load {f}: {e}"))
    };
    (
        open("main-APKINDEX.tar.gz"),
        open("community-APKINDEX.tar.gz"),
    )
}

/// A solver over `indexes` for x86_64 with nothing installed.
pub fn solver_for(indexes: Vec<Index>) -> Solver {
    let repos: Vec<Repository> = indexes.into_iter().map(Repository::new).collect();
    solver_over(&repos)
}

/// A solver over `repos` for x86_64 with nothing installed.
pub fn solver_over(repos: &[Repository]) -> Solver {
    let empty = InstalledDb::from_bytes(b"", &InstalledDbOptions::default()).expect("empty db");
    let options = SolverOptions {
        arches: vec!["x86_64".into()],
        ..SolverOptions::default()
    };
    Solver::new(repos, &empty, &options)
}

/// The world file of the corpus root.
pub fn alpine_world(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("rootfs/etc/apk/world"))
        .expect("world")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Parse world entries.
pub fn deps(world: &[String]) -> Vec<Dependency> {
    world
        .iter()
        .map(|w| Dependency::parse(w, Rules::V3).expect("world entry"))
        .collect()
}

/// A task for `world` with `engine`.
pub fn task(world: &[String], engine: Engine) -> SolverTask {
    SolverTask {
        world: deps(world),
        engine,
        ..SolverTask::default()
    }
}

/// The valid package names of `main`, sorted bytewise, without duplicates.
pub fn main_names(main: &Index) -> Vec<String> {
    let mut names: Vec<String> = (0..main.len())
        .filter(|&i| main.is_installable(i))
        .map(|i| main.package(i).name().to_owned())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Whether the greedy pass solves `name` alone.
pub fn alone_ok(solver: &Solver, name: &str) -> bool {
    solver
        .solve(&task(&[name.to_owned()], Engine::Greedy))
        .is_ok()
}

/// The first `n` names of `names` that solve alone.
pub fn first_installable(solver: &Solver, names: &[String], n: usize) -> Vec<String> {
    names
        .iter()
        .filter(|x| alone_ok(solver, x))
        .take(n)
        .cloned()
        .collect()
}

/// Keep the entries of `world` that the greedy pass can solve together: entries are added in
/// order, in chunks of 512 that are split in halves whenever adding them fails, and a single
/// entry whose addition fails is dropped. Returns the kept entries and how many were dropped.
pub fn together(solver: &Solver, world: Vec<String>) -> (Vec<String>, usize) {
    fn add(solver: &Solver, kept: &mut Vec<String>, chunk: &[String], dropped: &mut usize) {
        let before = kept.len();
        kept.extend_from_slice(chunk);
        if solver.solve(&task(kept, Engine::Greedy)).is_ok() {
            return;
        }
        kept.truncate(before);
        if chunk.len() == 1 {
            *dropped += 1;
            return;
        }
        let (a, b) = chunk.split_at(chunk.len() / 2);
        add(solver, kept, a, dropped);
        add(solver, kept, b, dropped);
    }
    let mut kept = Vec::new();
    let mut dropped = 0;
    for chunk in world.chunks(512) {
        add(solver, &mut kept, chunk, &mut dropped);
    }
    (kept, dropped)
}

/// Every name of `main` that solves alone, made installable together (see the module docs).
pub fn all_installable(solver: &Solver, names: &[String]) -> (Vec<String>, usize) {
    let alone: Vec<String> = names
        .iter()
        .filter(|x| alone_ok(solver, x))
        .cloned()
        .collect();
    together(solver, alone)
}

/// `width` world names `t{i}`. The newest `t{i}-2` depends on a chain of `depth` packages
/// whose last one needs both `p{i}` and `q{i}`, which both provide `v{i}=1` and so cannot be
/// installed together; `t{i}-1` only needs `ok{i}`. apk's greedy pass takes every `t{i}-2`
/// and fails deep down; the only solution installs every `t{i}-1`.
pub fn adversarial(width: usize, depth: usize) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut world = Vec::new();
    for i in 0..width {
        world.push(format!("t{i}"));
        text += &format!("P:t{i}\nV:2\nS:1\nI:1\nD:c{i}x0\n\n");
        text += &format!("P:t{i}\nV:1\nS:1\nI:1\nD:ok{i}\n\n");
        text += &format!("P:ok{i}\nV:1\nS:1\nI:1\n\n");
        for k in 0..depth {
            let next = if k + 1 == depth {
                format!("p{i} q{i}")
            } else {
                format!("c{i}x{}", k + 1)
            };
            text += &format!("P:c{i}x{k}\nV:1\nS:1\nI:1\nD:{next}\n\n");
        }
        text += &format!("P:p{i}\nV:1\nS:1\nI:1\np:v{i}=1\n\n");
        text += &format!("P:q{i}\nV:1\nS:1\nI:1\np:v{i}=1\n\n");
    }
    (text, world)
}
