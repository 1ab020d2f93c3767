//! Compatibility harness: every solver scenario of apk-tools' own test suites
//! (`$APK_CORPUS/../apk-tests/{v3,v2}/solver/*.test`) runs through
//! [`apk_solver::command::run`] and its transcript is compared with the scenario's `@EXPECT`
//! block. Each failing scenario prints one line (name and first differing line); each suite
//! ends with `N passed, M failed`. The test fails when a suite passes fewer scenarios than its
//! recorded floor, so regressions show while the solver is still incomplete.
//!
//! Without `APK_CORPUS` the test is skipped with a note; with `APK_CORPUS` set but the
//! scenarios unreadable, it fails.

mod derivation;
mod props;
mod real;
mod shell_split;

use std::fs;
use std::path::{Path, PathBuf};

use apk_index::{Dependency, Index, IndexOptions, InstalledDb, InstalledDbOptions, Rules};
use apk_solver::command::{Invocation, read_installed, run};
use apk_solver::{Repository, RepositoryKind};
use shell_split::shell_split;

/// Scenarios of `v3/solver` known to pass; raise it when more pass.
const V3_FLOOR: usize = 95;
/// Scenarios of `v2/solver` known to pass; raise it when more pass.
const V2_FLOOR: usize = 68;

/// `v2/solver` scenarios whose expected output only apk-tools 2.14 prints: we print
/// apk-tools 3.0's text (or cannot reproduce 2.14's test binary), so they are reported apart.
const V2_ONLY: &[(&str, &str)] = &[
    (
        "basic8",
        "2.14's test binary stamps `add -t` virtual packages with a fixed clock",
    ),
    (
        "pinning14",
        "2.14 says 'child dependency' where 3.0 says 'package dependency'",
    ),
    (
        "selfupgrade1",
        "2.14 says 'Upgrading critical system libraries and apk-tools:', 3.0 'Preupgrading:'",
    ),
    (
        "selfupgrade2",
        "2.14 says 'Upgrading critical system libraries and apk-tools:', 3.0 'Preupgrading:'",
    ),
];

struct Scenario {
    args: Vec<String>,
    repos: Vec<(Option<String>, String)>,
    installed: Option<String>,
    world: Vec<String>,
    cache: Option<String>,
    expect: Vec<String>,
}

fn parse_scenario(text: &str) -> Scenario {
    let mut s = Scenario {
        args: Vec::new(),
        repos: Vec::new(),
        installed: None,
        world: Vec::new(),
        cache: None,
        expect: Vec::new(),
    };
    let mut lines = text.lines();
    let mut in_args = false;
    for line in lines.by_ref() {
        if line == "@EXPECT" {
            break;
        }
        if let Some(rest) = line.strip_prefix("@ARGS") {
            s.args.extend(shell_split(rest));
            in_args = true;
        } else if let Some(rest) = line.strip_prefix("@REPO") {
            let parts = shell_split(rest);
            match parts.as_slice() {
                [tag, file] if tag.starts_with('@') => {
                    s.repos.push((Some(tag[1..].to_owned()), file.clone()));
                }
                [file] => s.repos.push((None, file.clone())),
                _ => {}
            }
            in_args = false;
        } else if let Some(rest) = line.strip_prefix("@INSTALLED") {
            s.installed = Some(rest.trim().to_owned());
            in_args = false;
        } else if let Some(rest) = line.strip_prefix("@WORLD") {
            s.world.extend(shell_split(rest));
            in_args = false;
        } else if let Some(rest) = line.strip_prefix("@CACHE") {
            s.cache = Some(rest.trim().to_owned());
            in_args = false;
        } else if in_args {
            s.args.extend(shell_split(line));
        }
    }
    s.expect = lines.map(str::to_owned).collect();
    while s.expect.last().is_some_and(|l| l.is_empty()) {
        s.expect.pop();
    }
    s
}

fn load_index(path: &Path) -> Result<Index, String> {
    let text = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Index::from_text(text, &IndexOptions::default()))
}

fn load_installed(path: &Path) -> Result<InstalledDb, String> {
    let text = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(read_installed(&text))
}

fn parse_world(deps: &[String]) -> Vec<Dependency> {
    deps.iter()
        .filter_map(|d| {
            Dependency::parse(d, Rules::V3)
                .or_else(|_| Dependency::parse(d, Rules::V2))
                .ok()
        })
        .collect()
}

/// Run one scenario; `Ok(lines)` is the transcript.
fn run_scenario(dir: &Path, s: &Scenario) -> Result<Vec<String>, String> {
    let text = run_scenario_text(dir, s, false)?;
    Ok(text.lines().map(str::to_owned).collect())
}

/// Run one scenario, with `--why` when `why`; `Ok(text)` is the whole transcript.
fn run_scenario_text(dir: &Path, s: &Scenario, why: bool) -> Result<String, String> {
    let mut inv = match Invocation::parse(&s.args) {
        Ok(inv) => inv,
        Err(e) => return Ok(format!("ERROR: {e}\n")),
    };
    inv.why |= why;
    let mut repos = Vec::new();
    for (tag, file) in &s.repos {
        let mut r = Repository::new(load_index(&dir.join(file))?);
        r.tag = tag.clone();
        repos.push(r);
    }
    for tr in &inv.test_repos {
        let mut r = Repository::new(load_index(&dir.join(&tr.path))?);
        r.tag = tr.tag.clone();
        if tr.cache {
            r.kind = RepositoryKind::Cache;
        }
        repos.push(r);
    }
    if let Some(c) = &s.cache {
        repos.push(Repository::new(load_index(&dir.join(c))?).with_kind(RepositoryKind::Cache));
    }
    let installed_file = s.installed.as_ref().or(inv.test_instdb.as_ref());
    let installed = match installed_file {
        Some(f) => load_installed(&dir.join(f))?,
        None => InstalledDb::from_bytes(b"", &InstalledDbOptions::default())
            .map_err(|e| format!("{e:?}"))?,
    };
    let mut world_text = s.world.clone();
    if let Some(w) = &inv.test_world {
        world_text.extend(shell_split(w));
    }
    let out = run(&inv, repos, &installed, parse_world(&world_text));
    Ok(out.transcript)
}

/// apk-tools 2.14 prints `OK: 0 MiB in N packages`; compare the package count only.
fn normalise_v2(line: &str) -> String {
    if let Some(rest) = line.strip_prefix("OK: ")
        && let Some((_, tail)) = rest.split_once(" in ")
    {
        return format!("OK: <size> in {tail}");
    }
    line.to_owned()
}

fn first_difference(expected: &[String], actual: &[String]) -> Option<String> {
    let n = expected.len().max(actual.len());
    (0..n).find_map(|i| {
        let e = expected.get(i).map_or("<end>", String::as_str);
        let a = actual.get(i).map_or("<end>", String::as_str);
        (e != a).then(|| format!("line {}: expected `{e}`, got `{a}`", i + 1))
    })
}

fn run_suite(label: &str, dir: &Path, v2: bool) -> Result<(usize, usize), String> {
    let mut tests: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    tests.sort();
    if tests.is_empty() {
        return Err(format!("{}: no scenarios", dir.display()));
    }
    let (mut passed, mut failed, mut only_v2) = (0, 0, 0);
    for t in &tests {
        let name = t
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let text = fs::read_to_string(t).map_err(|e| format!("{}: {e}", t.display()))?;
        let scenario = parse_scenario(&text);
        let result = run_scenario(dir, &scenario);
        let verdict = match result {
            Err(e) => Some(format!("setup failed: {e}")),
            Ok(actual) => {
                let (exp, act): (Vec<String>, Vec<String>) = if v2 {
                    (
                        scenario.expect.iter().map(|l| normalise_v2(l)).collect(),
                        actual.iter().map(|l| normalise_v2(l)).collect(),
                    )
                } else {
                    (scenario.expect.clone(), actual)
                };
                first_difference(&exp, &act)
            }
        };
        match verdict {
            None => passed += 1,
            Some(why) => {
                failed += 1;
                match V2_ONLY.iter().find(|(n, _)| v2 && *n == name) {
                    Some((_, reason)) => {
                        only_v2 += 1;
                        println!("{label} 2.14-only {name}: {reason} ({why})");
                    }
                    None => println!("{label} FAIL {name}: {why}"),
                }
            }
        }
    }
    println!("{label}: {passed} passed, {failed} failed");
    if only_v2 > 0 {
        println!("{label}: {only_v2} of the failures are 2.14-only output (see above)");
    }
    Ok((passed, failed))
}

#[test]
fn apk_tools_solver_scenarios() {
    let Some(corpus) = std::env::var_os("APK_CORPUS") else {
        eprintln!("note: APK_CORPUS is not set; skipping the apk-tools solver scenarios");
        return;
    };
    let root = PathBuf::from(corpus).join("..").join("apk-tests");
    let (v3, _) = run_suite("v3", &root.join("v3").join("solver"), false)
        .unwrap_or_else(|e| panic!("cannot run v3 scenarios: {e}"));
    let (v2, _) = run_suite("v2", &root.join("v2").join("solver"), true)
        .unwrap_or_else(|e| panic!("cannot run v2 scenarios: {e}"));
    assert!(
        v3 >= V3_FLOOR,
        "v3 scenarios: {v3} passed, floor is {V3_FLOOR}"
    );
    assert!(
        v2 >= V2_FLOOR,
        "v2 scenarios: {v2} passed, floor is {V2_FLOOR}"
    );
}
