//! Replays the minimized inputs committed under `fuzz/artifacts/solver/` through the checks
//! of the `solver` fuzz target (`fuzz/checks/solver.rs`, included, not copied), plus a
//! deterministic sweep of generated inputs, so the oracles run without a fuzzer.

#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[path = "../../fuzz/checks/solver.rs"]
mod solver;

#[test]
fn fuzz_artifacts_do_not_fail() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), &[("solver", solver::run)]);
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
