//! The complete (CDCL) engine and the default greedy-then-CDCL fallback, on generated
//! universes where apk's greedy choice fails although a solution exists.

use apk_index::{Index, IndexOptions, InstalledDb, InstalledDbOptions};
use apk_solver::{Engine, Repository, Solver, SolverOptions, SolverTask};

#[path = "../benches/worlds/mod.rs"]
mod worlds;

use worlds::adversarial;

fn solver(text: &str) -> Solver {
    let repo = Repository::new(Index::from_text(text.to_owned(), &IndexOptions::default()));
    let installed = InstalledDb::from_bytes(b"", &InstalledDbOptions::default()).unwrap();
    Solver::new(&[repo], &installed, &SolverOptions::default())
}

fn task(world: &[String], engine: Engine) -> SolverTask {
    SolverTask {
        world: world.iter().map(|w| w.parse().unwrap()).collect(),
        engine,
        ..SolverTask::default()
    }
}

#[test]
fn greedy_fails_on_the_adversarial_universe() {
    let (text, world) = adversarial(1, 3);
    let err = solver(&text)
        .solve(&task(&world, Engine::Greedy))
        .unwrap_err();
    let report = err.report().to_string();
    assert!(
        report.contains("q0-1") || report.contains("p0-1"),
        "{report}"
    );
}

#[test]
fn cdcl_finds_the_older_version() {
    for (width, depth) in [(1, 1), (1, 3), (4, 10), (30, 40)] {
        let (text, world) = adversarial(width, depth);
        let s = solver(&text);
        for engine in [Engine::Cdcl, Engine::Auto] {
            let cs = s.solve(&task(&world, engine)).unwrap();
            assert!(cs.differs_from_apk());
            assert_eq!(cs.package_count(), 2 * width, "{engine:?}");
            for c in cs.changes() {
                let v = &c.new.as_ref().unwrap().version;
                assert_eq!(v, "1", "{c}");
            }
        }
    }
}

#[test]
fn fallback_transcript_carries_the_note() {
    let (text, world) = adversarial(1, 2);
    let cs = solver(&text).solve(&task(&world, Engine::Auto)).unwrap();
    assert_eq!(
        cs.transcript(),
        "NOTE: apk-tools would fail with 'unable to select packages' here; this selection \
         was found by apk-rs's complete (CDCL) solver\n\
         (1/2) Installing ok0 (1)\n(2/2) Installing t0 (1)\nOK: 2 B in 2 packages\n"
    );
    assert_eq!(cs.note(), Some(cs.transcript().lines().next().unwrap()));
}

#[test]
fn cdcl_agrees_with_greedy_when_greedy_succeeds() {
    let text = "P:a\nV:2\nI:1\nD:b>=2 c\n\nP:a\nV:1\nI:1\n\n\
                P:b\nV:1\nI:1\n\nP:b\nV:2\nI:1\nD:so:x\n\nP:b\nV:3\nI:1\nD:!c\n\n\
                P:c\nV:1\nI:1\n\nP:x1\nV:1\nI:1\np:so:x=1\n\nP:x2\nV:1\nI:1\np:so:x=2\n\n\
                P:d\nV:1\nI:1\ni:a c\n\n";
    let s = solver(text);
    let mut agreed = 0;
    let worlds: [&[&str]; 8] = [
        &["a"],
        &["a", "c"],
        &["b"],
        &["b", "c"],
        &["d", "x1"],
        &["a", "b<3"],
        &["b<3", "x1"],
        &["c", "d"],
    ];
    for world in worlds {
        let world: Vec<String> = world.iter().map(|w| (*w).to_owned()).collect();
        let cdcl = s.solve(&task(&world, Engine::Cdcl)).unwrap();
        let auto = s.solve(&task(&world, Engine::Auto)).unwrap();
        match s.solve(&task(&world, Engine::Greedy)) {
            Ok(greedy) => {
                assert!(!cdcl.differs_from_apk(), "{world:?}");
                assert_eq!(greedy.transcript(), cdcl.transcript(), "{world:?}");
                assert_eq!(greedy, auto);
                agreed += 1;
            }
            // a-2 with the newest b-3 breaks on c: the complete search takes b-2 instead.
            Err(_) => {
                assert!(
                    cdcl.differs_from_apk() && auto.differs_from_apk(),
                    "{world:?}"
                );
                assert_eq!(cdcl.transcript(), auto.transcript());
                assert!(
                    cdcl.transcript().contains("Installing b (2)"),
                    "{}",
                    cdcl.transcript()
                );
            }
        }
    }
    assert!(agreed >= 5, "{agreed}");
}

#[test]
fn truly_unsatisfiable_keeps_apks_report() {
    // Both versions of a need p and q, which take the same name.
    let text = "P:a\nV:2\nI:1\nD:p q\n\nP:a\nV:1\nI:1\nD:p q\n\n\
                P:p\nV:1\nI:1\np:v=1\n\nP:q\nV:1\nI:1\np:v=1\n\n";
    let s = solver(text);
    let world = vec!["a".to_owned()];
    let greedy = s.solve(&task(&world, Engine::Greedy)).unwrap_err();
    for engine in [Engine::Auto, Engine::Cdcl] {
        let err = s.solve(&task(&world, engine)).unwrap_err();
        assert_eq!(err.report(), greedy.report(), "{engine:?}");
    }
}

#[test]
fn missing_name_and_conflicts_stay_errors() {
    let text = "P:a\nV:1\nI:1\nD:nope\n\nP:b\nV:1\nI:1\n\n";
    let s = solver(text);
    assert!(s.solve(&task(&["a".into()], Engine::Cdcl)).is_err());
    assert!(
        s.solve(&task(&["b".into(), "!b".into()], Engine::Auto))
            .is_err()
    );
}

/// On real data the complete search makes apk's choices: Alpine 3.17's 7-name world and the
/// 500-name world solve to the same transcript with both engines.
#[test]
fn cdcl_matches_greedy_on_alpine() {
    let Some(dir) = worlds::corpus_dir() else {
        eprintln!("note: APK_CORPUS is not set; skipping");
        return;
    };
    let (main, community) = worlds::alpine_indexes(&dir);
    let names = worlds::main_names(&main);
    let s = worlds::solver_for(vec![main, community]);
    let w7 = worlds::alpine_world(&dir);
    let w500 = worlds::together(&s, worlds::first_installable(&s, &names, 500)).0;
    for world in [w7, w500] {
        let greedy = s.solve(&worlds::task(&world, Engine::Greedy)).unwrap();
        let cdcl = s.solve(&worlds::task(&world, Engine::Cdcl)).unwrap();
        assert!(!cdcl.differs_from_apk(), "{} names", world.len());
        assert_eq!(
            greedy.transcript(),
            cdcl.transcript(),
            "{} names",
            world.len()
        );
    }
}
