//! Runs apk-tools' own `version.data` assertions (v2 and v3) against `apk_index::version`.
//!
//! The data lives outside this repository. It is found through `APK_TESTS` (the apk-tests
//! folder itself) or `APK_CORPUS` (then `$APK_CORPUS/../apk-tests`); without either variable
//! the tests are skipped with a note.

use std::path::PathBuf;

use apk_index::version::{Rules, is_valid, matches};

/// The apk-tests folder, or `None` when no variable points at it.
fn apk_tests_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("APK_TESTS") {
        return Some(PathBuf::from(dir));
    }
    if let Some(corpus) = std::env::var_os("APK_CORPUS") {
        return Some(PathBuf::from(corpus).join("..").join("apk-tests"));
    }
    None
}

/// Operator text to apk's mask: `<` LESS=2, `>` GREATER=4, `=` EQUAL=1, `~` FUZZY|EQUAL=9.
fn op_bits(op: &str) -> Option<u8> {
    let mut bits = 0u8;
    for c in op.chars() {
        bits |= match c {
            '=' => 1,
            '<' => 2,
            '>' => 4,
            '~' => 9,
            _ => return None,
        };
    }
    (bits != 0).then_some(bits)
}

/// Check one assertion line; `Ok(false)` for a blank or comment-only line.
fn check_line(line: &str, rules: Rules) -> Result<bool, String> {
    let line = line.split('#').next().unwrap_or_default().trim();
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.as_slice() {
        [] => Ok(false),
        [ver] => {
            let (want_valid, ver) = match ver.strip_prefix('!') {
                Some(rest) => (false, rest),
                None => (true, *ver),
            };
            if is_valid(ver.as_bytes(), rules) == want_valid {
                Ok(true)
            } else {
                Err(format!("validity is {}", !want_valid))
            }
        }
        [a, op, b] => {
            let (negate, op) = match op.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, *op),
            };
            let bits = op_bits(op).ok_or_else(|| format!("unknown operator {op:?}"))?;
            let held = matches(a.as_bytes(), bits, b.as_bytes(), rules);
            if held != negate {
                Ok(true)
            } else {
                Err(format!("got {}", if held { "match" } else { "no match" }))
            }
        }
        _ => Err("malformed line".into()),
    }
}

/// Run a `version.data` file and assert every assertion in it holds; skip when unconfigured.
fn run(sub: &str, rules: Rules, expected_count: usize) {
    let Some(dir) = apk_tests_dir() else {
        eprintln!("note: APK_TESTS / APK_CORPUS not set; skipping {sub}/version.data");
        return;
    };
    let path = dir.join(sub).join("version.data");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) => panic!("cannot read {}: {err}", path.display()),
    };
    let mut passed = 0usize;
    let mut total = 0usize;
    let mut failures = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match check_line(line, rules) {
            Ok(false) => {}
            Ok(true) => {
                total += 1;
                passed += 1;
            }
            Err(why) => {
                total += 1;
                failures.push(format!("  line {}: {line:?}: {why}", n + 1));
            }
        }
    }
    println!("{sub} version.data: {passed}/{total} passed");
    assert!(
        failures.is_empty(),
        "{sub} version.data: {} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        total, expected_count,
        "{sub} version.data: unexpected assertion count"
    );
}

#[test]
fn v3_version_data() {
    run("v3", Rules::V3, 785);
}

#[test]
fn v2_version_data() {
    run("v2", Rules::V2, 733);
}
