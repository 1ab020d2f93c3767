//! The derivation (`--why`) on apk-tools' failing scenarios: every scenario whose `@EXPECT`
//! holds `unable to select packages` is run with and without `--why`. With it, the transcript
//! is apk's text unchanged followed by a `why:` block that explains every problem from world
//! down; one scenario's whole output is pinned exactly.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Scenario, parse_scenario, run_scenario_text};

/// The failing-by-design scenarios of `dir`: (name, scenario).
fn failing_scenarios(dir: &Path) -> Vec<(String, Scenario)> {
    let mut tests: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    tests.sort();
    tests
        .iter()
        .filter_map(|t| {
            let text = fs::read_to_string(t).unwrap_or_else(|e| panic!("{}: {e}", t.display()));
            let s = parse_scenario(&text);
            let name = t.file_stem()?.to_string_lossy().into_owned();
            s.expect
                .iter()
                .any(|l| l.contains("unable to select packages"))
                .then_some((name, s))
        })
        .collect()
}

/// The `apk-tests` root, or `None` (with a note) without `APK_CORPUS`.
fn scenarios_root() -> Option<PathBuf> {
    let Some(corpus) = std::env::var_os("APK_CORPUS") else {
        eprintln!("note: APK_CORPUS is not set; skipping the derivation scenarios");
        return None;
    };
    Some(PathBuf::from(corpus).join("..").join("apk-tests"))
}

/// Check the `--why` output of one scenario against its plain output; `Err` says what is
/// wrong.
fn check(dir: &Path, s: &Scenario) -> Result<(), String> {
    let plain = run_scenario_text(dir, s, false)?;
    let why = run_scenario_text(dir, s, true)?;
    let Some(block) = why.strip_prefix(plain.as_str()) else {
        return Err(format!(
            "--why changed apk's text:\n{plain}---- with --why:\n{why}"
        ));
    };
    let problems = plain
        .lines()
        .filter(|l| l.starts_with("  ") && l.ends_with(':') && !l.starts_with("    "))
        .count();
    let headings = block
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .count();
    let steps: Vec<&str> = block.lines().filter(|l| l.starts_with("    ")).collect();
    if !block.starts_with("why:\n") || steps.is_empty() {
        return Err(format!("no derivation after the report:\n{why}"));
    }
    if headings != problems {
        return Err(format!(
            "{problems} problems but {headings} explained:\n{why}"
        ));
    }
    if !steps.iter().any(|l| l.contains("world")) {
        return Err(format!("the derivation never mentions world:\n{block}"));
    }
    Ok(())
}

#[test]
fn derivations_of_failing_scenarios() {
    let Some(root) = scenarios_root() else { return };
    let mut seen = 0;
    let mut bad = Vec::new();
    for suite in ["v3", "v2"] {
        let dir = root.join(suite).join("solver");
        for (name, s) in failing_scenarios(&dir) {
            seen += 1;
            if let Err(e) = check(&dir, &s) {
                bad.push(format!("{suite} {name}: {e}"));
            }
        }
    }
    println!(
        "derivations: {seen} failing scenarios checked, {} bad",
        bad.len()
    );
    // 19 in v3, 14 in v2 at the time of writing: a sudden drop means the filter broke.
    assert!(seen >= 30, "only {seen} failing scenarios found");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// apk-tools' `error3`: `add a !b` over `complicated1.repo`, two problems sharing a chain.
#[test]
fn derivation_of_error3_exactly() {
    let Some(root) = scenarios_root() else { return };
    let dir = root.join("v3").join("solver");
    let text = fs::read_to_string(dir.join("error3.test"))
        .unwrap_or_else(|e| panic!("APK_CORPUS is set but error3 is unreadable: {e}"));
    let got = run_scenario_text(&dir, &parse_scenario(&text), true)
        .unwrap_or_else(|e| panic!("error3: {e}"));
    let want = "\
ERROR: unable to select packages:
  d-2.0:
    breaks: b-1[d<2.0]
    satisfies: a-3[d>1.5] c-1[d>1.0]
  b-1:
    breaks: world[!b]
    satisfies: a-3[b]
why:
  d-2.0:
    world requires a
    a-3 (chosen for a) depends on d>1.5
    a-3 (chosen for a) depends on b
    b-1 (chosen for b) depends on d<2.0
    d-2.0 (chosen for d) does not satisfy b-1[d<2.0]
  b-1:
    world requires a
    a-3 (chosen for a) depends on b
    world conflicts with b
    b-1 (chosen for b) is forbidden by world[!b]
";
    assert_eq!(got, want, "\n---- got:\n{got}---- want:\n{want}");
}
