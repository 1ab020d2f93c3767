//! Real data from `$APK_CORPUS`:
//!
//! * Alpine 3.17 (x86_64) and Alpine 3.14 (armv7): the index pair and the world of a real root
//!   must solve to exactly the packages of that root's installed database (name, version and
//!   identity).
//! * Alpine 3.10 (armv7, an X11 desktop of 163 packages): `upgrade` from its installed
//!   database. The corpus notes that four installed versions are older than the index
//!   (apk-tools, libx11, libxml2, libcurl): apk first preupgrades apk-tools alone, and the full
//!   upgrade changes exactly those four (plus whatever their new versions newly require).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use apk_index::{Dependency, Index, IndexOptions, InstalledDb, Rules};
use apk_solver::command::{Invocation, read_installed, run};
use apk_solver::{
    ChangeKind, Changeset, Engine, Repository, Solver, SolverBuilder, SolverFlags, SolverOptions,
    SolverTask,
};

/// `$APK_CORPUS/<set>`, or `None` (with a note) without `APK_CORPUS`; panics when set but the
/// data set is missing.
fn corpus_set(set: &str) -> Option<PathBuf> {
    let Some(corpus) = std::env::var_os("APK_CORPUS").filter(|c| !c.is_empty()) else {
        eprintln!("note: APK_CORPUS is not set; skipping the real-data solve of {set}");
        return None;
    };
    let dir = PathBuf::from(corpus).join(set);
    assert!(
        dir.join("rootfs").is_dir(),
        "APK_CORPUS is set but {} is not readable",
        dir.display()
    );
    Some(dir)
}

/// The main and community indexes of a data set, in that order.
fn load_repos(dir: &Path) -> Vec<Repository> {
    let opts = IndexOptions::default();
    ["main-APKINDEX.tar.gz", "community-APKINDEX.tar.gz"]
        .iter()
        .map(|f| {
            let index = Index::open(dir.join(f), None, &opts)
                .unwrap_or_else(|e| panic!("cannot load {f}: {e}"));
            Repository::new(index)
        })
        .collect()
}

fn load_world(dir: &Path) -> Vec<Dependency> {
    let text = std::fs::read_to_string(dir.join("rootfs/etc/apk/world")).expect("world");
    text.split_whitespace()
        .map(|d| Dependency::parse(d, Rules::V3).expect("world entry"))
        .collect()
}

fn load_installed(dir: &Path) -> InstalledDb {
    let bytes = std::fs::read(dir.join("rootfs/lib/apk/db/installed")).expect("installed db");
    read_installed(&bytes)
}

type Key = (String, String, Option<String>);

/// Solve `dir`'s world from nothing and compare with its installed database.
fn world_solves_to_installed_set(dir: &Path, arch: &str, count: usize) -> (Solver, Changeset) {
    let repos = load_repos(dir);
    let expected = load_installed(dir);
    assert_eq!(expected.packages.len(), count);
    let options = SolverOptions {
        arches: vec![arch.into()],
        ..SolverOptions::default()
    };
    let solver = Solver::new(&repos, &read_installed(b""), &options);
    let task = SolverTask {
        world: load_world(dir),
        engine: Engine::Greedy,
        ..SolverTask::default()
    };
    let cs = solver
        .solve(&task)
        .unwrap_or_else(|e| panic!("solve failed:\n{}", e.report()));
    let got: BTreeSet<Key> = cs
        .changes()
        .iter()
        .filter(|c| c.kind == ChangeKind::Install)
        .filter_map(|c| {
            c.new
                .as_ref()
                .map(|v| (c.name.clone(), v.version.clone(), v.identity.clone()))
        })
        .collect();
    let want: BTreeSet<Key> = expected
        .packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.identity.as_ref().map(|c| c.to_string()),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(cs.package_count(), count);
    eprintln!("{}", cs.summary());
    // Taking the repositories in one at a time (as while they load) builds the same solver.
    let mut builder = SolverBuilder::new(&options);
    for repo in &repos {
        builder.add_repository(repo);
    }
    let incremental = builder.finish(&read_installed(b""));
    let again = incremental
        .solve(&task)
        .unwrap_or_else(|e| panic!("solve failed:\n{}", e.report()));
    assert_eq!(again.transcript(), cs.transcript());
    assert_eq!(
        incremental.has_broken_packages(),
        solver.has_broken_packages()
    );
    (solver, cs)
}

#[test]
fn alpine_3_17_world_solves_to_installed_set() {
    let Some(dir) = corpus_set("Paper-Dragon_docker-sh") else {
        return;
    };
    let (solver, _) = world_solves_to_installed_set(&dir, "x86_64", 30);
    // Alpine 3.17 has dependencies such as `owfs=3.2p4-r0`, not a valid v3 version.
    assert!(solver.has_broken_packages());
}

#[test]
fn alpine_3_14_armv7_world_solves_to_installed_set() {
    let Some(dir) = corpus_set("hizlbuzz_alpine-minirootfs-v3.14") else {
        return;
    };
    world_solves_to_installed_set(&dir, "armv7", 26);
}

/// The four packages the corpus says are older than Alpine 3.10's index.
const OUTDATED_3_10: [&str; 4] = ["apk-tools", "libcurl", "libx11", "libxml2"];

#[test]
fn alpine_3_10_armv7_upgrade() {
    let Some(dir) = corpus_set("Kobo-InkBox_xorg-base-rootfs") else {
        return;
    };
    let installed = load_installed(&dir);
    assert_eq!(installed.packages.len(), 163);
    let world = load_world(&dir);

    // The full upgrade, without the preupgrade step.
    let options = SolverOptions {
        arches: vec!["armv7".into()],
        ..SolverOptions::default()
    };
    let solver = Solver::new(&load_repos(&dir), &installed, &options);
    let task = SolverTask {
        world: world.clone(),
        flags: SolverFlags {
            upgrade: true,
            ..SolverFlags::NONE
        },
        engine: Engine::Greedy,
        ..SolverTask::default()
    };
    let cs = solver
        .solve(&task)
        .unwrap_or_else(|e| panic!("upgrade failed:\n{}", e.report()));
    let upgraded: BTreeSet<&str> = cs
        .changes()
        .iter()
        .filter(|c| c.kind == ChangeKind::Upgrade)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        upgraded,
        BTreeSet::from(OUTDATED_3_10),
        "changes:\n{}",
        cs.change_lines()
    );
    // Anything else may only be a new package the upgraded versions require.
    for c in cs.changes() {
        assert!(
            c.kind == ChangeKind::Upgrade || c.kind == ChangeKind::Install,
            "unexpected change {c}\n{}",
            cs.change_lines()
        );
    }
    assert!(
        !cs.changes().iter().any(|c| c.kind == ChangeKind::Install),
        "the new versions need nothing new in Alpine 3.10:\n{}",
        cs.change_lines()
    );
    eprintln!("{}", cs.transcript());

    // apk's `upgrade` on a root: apk-tools is preupgraded first, alone (its new version needs
    // nothing the old one did not have); the main upgrade is solved after that commit.
    let mut inv = Invocation::parse(["--arch", "armv7", "upgrade"]).expect("command line");
    inv.commit = true;
    let out = run(&inv, load_repos(&dir), &installed, world.clone());
    assert_eq!(out.exit_status, 0, "{}", out.transcript);
    assert!(out.preupgrade);
    // Alpine 3.10 has entries that are broken under v3 rules: the warning comes first.
    let lines: Vec<&str> = out
        .transcript
        .lines()
        .filter(|l| !l.starts_with("WARNING: "))
        .collect();
    assert_eq!(
        lines.first().copied(),
        Some("Preupgrading:"),
        "{}",
        out.transcript
    );
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with("(1/1) Upgrading apk-tools (2.10.6-r0 -> ")),
        "{}",
        out.transcript
    );
    assert_eq!(lines.len(), 3, "{}", out.transcript);

    // Simulated (`--simulate`, the test mode): a warning, then the whole upgrade at once.
    let inv = Invocation::parse(["--arch", "armv7", "upgrade"]).expect("command line");
    let out = run(&inv, load_repos(&dir), &installed, world);
    assert_eq!(out.exit_status, 0, "{}", out.transcript);
    assert!(!out.preupgrade);
    assert!(
        out.transcript.contains(
            "WARNING: This simulation is not reliable as apk-tools upgrade is available.\n"
        ),
        "{}",
        out.transcript
    );
    let upgraded = out
        .transcript
        .lines()
        .filter(|l| l.contains(" Upgrading "))
        .count();
    assert_eq!(upgraded, OUTDATED_3_10.len(), "{}", out.transcript);
}
