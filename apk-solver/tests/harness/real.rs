//! Real data: Alpine 3.17's index pair and the world of a real root must solve to exactly the
//! packages of that root's installed database (name, version and identity).

use std::path::PathBuf;

use apk_index::{Dependency, Index, IndexOptions, Rules};
use apk_solver::command::read_installed;
use apk_solver::{ChangeKind, Repository, Solver, SolverOptions, SolverTask};

#[test]
fn alpine_3_17_world_solves_to_installed_set() {
    let Some(corpus) = std::env::var_os("APK_CORPUS") else {
        eprintln!("note: APK_CORPUS is not set; skipping the Alpine 3.17 solve");
        return;
    };
    let dir = PathBuf::from(corpus).join("Paper-Dragon_docker-sh");
    let opts = IndexOptions::default();
    let repos: Vec<Repository> = ["main-APKINDEX.tar.gz", "community-APKINDEX.tar.gz"]
        .iter()
        .map(|f| {
            let index = Index::open(dir.join(f), None, &opts)
                .unwrap_or_else(|e| panic!("cannot load {f}: {e}"));
            Repository::new(index)
        })
        .collect();
    let root = dir.join("rootfs");
    let world_text = std::fs::read_to_string(root.join("etc/apk/world")).expect("world");
    let world: Vec<Dependency> = world_text
        .split_whitespace()
        .map(|d| Dependency::parse(d, Rules::V3).expect("world entry"))
        .collect();
    let installed_text = std::fs::read(root.join("lib/apk/db/installed")).expect("installed db");
    let expected = read_installed(&installed_text);
    assert_eq!(expected.packages.len(), 30);

    let empty = read_installed(b"");
    let options = SolverOptions {
        arches: vec!["x86_64".into()],
        ..SolverOptions::default()
    };
    let solver = Solver::new(&repos, &empty, &options);
    let task = SolverTask {
        world,
        ..SolverTask::default()
    };
    let cs = solver
        .solve(&task)
        .unwrap_or_else(|e| panic!("solve failed:\n{}", e.report()));
    let mut got: Vec<(String, String, Option<String>)> = cs
        .changes()
        .iter()
        .filter(|c| c.kind == ChangeKind::Install)
        .filter_map(|c| {
            c.new
                .as_ref()
                .map(|v| (c.name.clone(), v.version.clone(), v.identity.clone()))
        })
        .collect();
    let mut want: Vec<(String, String, Option<String>)> = expected
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
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(cs.package_count(), 30);
    // Alpine 3.17 has dependencies such as `owfs=3.2p4-r0`, not a valid v3 version.
    assert!(solver.has_broken_packages());
    eprintln!("{}", cs.summary());
}
