//! Solving: the greedy pass, the complete (CDCL) search, and the default greedy-then-CDCL.
//!
//! Always runs on a generated adversarial universe (apk's greedy choice fails, a solution
//! exists). With `APK_CORPUS` set, also on Alpine 3.17's main+community pair (17,818
//! packages) with three worlds (see `worlds/mod.rs`): the 7-name world of the corpus root,
//! the first 500 installable names of main, and every name of main installable together. The
//! last two take minutes to build and are cached as text in `target/solver-bench-worlds/`
//! (delete it to rebuild). Run with `cargo bench -p apk-solver`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use apk_index::{Index, IndexOptions};
use apk_solver::{Engine, Repository, Solver};
use criterion::{Criterion, criterion_group, criterion_main};

mod worlds;

fn adversarial(c: &mut Criterion) {
    let (text, world) = worlds::adversarial(30, 40);
    let solver = worlds::solver_for(vec![Index::from_text(text, &IndexOptions::default())]);
    let mut g = c.benchmark_group("adversarial 30 names x depth 40");
    for (label, engine) in [
        ("greedy (fails)", Engine::Greedy),
        ("cdcl", Engine::Cdcl),
        ("auto: greedy then cdcl", Engine::Auto),
    ] {
        let task = worlds::task(&world, engine);
        g.bench_function(label, |b| {
            b.iter(|| black_box(solver.solve(black_box(&task))))
        });
    }
    g.finish();
}

/// A world from the cache, or built by `build` and cached.
fn cached(name: &str, build: impl FnOnce() -> (Vec<String>, usize)) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/solver-bench-worlds");
    let path = dir.join(format!("{name}.txt"));
    if let Ok(text) = std::fs::read_to_string(&path) {
        return text.split_whitespace().map(str::to_owned).collect();
    }
    let (world, dropped) = build();
    eprintln!("{name}: {} names ({dropped} dropped)", world.len());
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(&path, world.join("\n"));
    world
}

fn alpine(c: &mut Criterion) {
    let Some(dir) = worlds::corpus_dir() else {
        eprintln!("note: APK_CORPUS is not set; only the generated benchmarks run");
        return;
    };
    let (main, community) = worlds::alpine_indexes(&dir);
    let names = worlds::main_names(&main);
    let repos = vec![Repository::new(main), Repository::new(community)];
    let solver: Solver = worlds::solver_over(&repos);
    let w7 = worlds::alpine_world(&dir);
    let w500 = cached("main500", || {
        worlds::together(&solver, worlds::first_installable(&solver, &names, 500))
    });
    let wall = cached("mainall", || worlds::all_installable(&solver, &names));

    let mut g = c.benchmark_group("alpine 3.17 main+community");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("build solver (universe from loaded indexes)", |b| {
        b.iter(|| black_box(worlds::solver_over(black_box(&repos))))
    });
    for (label, world) in [
        ("world of 7 names", &w7),
        ("world of 500 names", &w500),
        ("every installable name of main", &wall),
    ] {
        for (engine_label, engine) in [("auto", Engine::Auto), ("cdcl", Engine::Cdcl)] {
            let task = worlds::task(world, engine);
            assert!(solver.solve(&task).is_ok(), "{label} must solve");
            g.bench_function(
                format!("{label} ({} names), {engine_label}", world.len()),
                |b| b.iter(|| black_box(solver.solve(black_box(&task)))),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, adversarial, alpine);
criterion_main!(benches);
