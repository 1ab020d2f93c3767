//! Replays the minimized inputs committed under `fuzz/artifacts/solver/` through the checks
//! of the `solver` fuzz target (`fuzz/checks/solver.rs`, included, not copied), plus a
//! deterministic sweep of generated inputs, so the oracles run without a fuzzer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

#[path = "../../fuzz/checks/solver.rs"]
mod solver;

#[test]
fn fuzz_artifacts_do_not_fail() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/artifacts/solver");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    for path in paths {
        let data = std::fs::read(&path).expect("reading an artifact");
        if catch_unwind(AssertUnwindSafe(|| solver::run(&data))).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz artifacts that still fail:\n  {}",
        failures.join("\n  ")
    );
}

/// A few thousand pseudo-random inputs through the same checks.
#[test]
fn generated_inputs_pass_the_checks() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        let data: Vec<u8> = (0..64)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect();
        solver::run(&data);
    }
}
