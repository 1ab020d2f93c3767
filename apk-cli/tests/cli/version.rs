//! `apk-rs version -t` and `version -c`.

use crate::util::Dir;

/// `(a, expected, b)` that hold under both rule sets.
const BOTH: &[(&str, &str, &str)] = &[
    ("1.0", "<", "1.0.1"),
    ("1.0.1", ">", "1.0"),
    ("1.0", "=", "1.0"),
    ("1.0-r1", "=", "1.0-r01"),
    ("1.0_rc1", "<", "1.0"),
    ("2.0_p1", ">", "2.0-r1"),
    ("1.0-r1", "<", "1.0.1"),
    ("1.0", "<", "1.0a"),
    ("1.0a", ">", "1.0_alpha"),
    ("1.0", "<", "1.0_p1"),
    ("1.0_git1", ">", "1.0"),
    ("1.0-r0", ">", "1.0"),
    ("1.0_rc1_p2", ">", "1.0_rc1"),
    ("1.2", "<", "1.10"),
    ("1.2.3", "<", "1.2.3.0"),
];

/// `(a, v3 result, v2 result, b)` where the rule sets disagree.
const DIFFER: &[(&str, &str, &str, &str)] = &[
    ("8.2.0", "<", ">", "8.2.001"),
    // Invalid under v3: apk-tools 3.0 answers `=`; 2.14 still orders them.
    ("1.0bc", "=", ">", "1.0"),
];

fn test(dir: &Dir, rules: Option<&str>, a: &str, b: &str) -> String {
    let mut args = vec!["version"];
    if let Some(rules) = rules {
        args.extend(["--version-rules", rules]);
    }
    args.extend(["-t", a, b]);
    let out = dir.apk(&args);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    out.stdout
}

#[test]
fn test_compares_versions() {
    let dir = Dir::new();
    let mut failures = Vec::new();
    for &(a, want, b) in BOTH {
        for rules in [None, Some("v3"), Some("v2")] {
            let got = test(&dir, rules, a, b);
            if got != format!("{want}\n") {
                failures.push(format!("{rules:?}: {a} {want} {b}, got {got:?}"));
            }
        }
    }
    for &(a, v3, v2, b) in DIFFER {
        for (rules, want) in [(None, v3), (Some("v3"), v3), (Some("v2"), v2)] {
            let got = test(&dir, rules, a, b);
            if got != format!("{want}\n") {
                failures.push(format!("{rules:?}: {a} {want} {b}, got {got:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "wrong results:\n{}",
        failures.join("\n")
    );
}

#[test]
fn test_needs_exactly_two_versions() {
    let dir = Dir::new();
    for args in [
        vec!["version", "-t", "1"],
        vec!["version", "-t", "1", "2", "3"],
    ] {
        let out = dir.apk(&args);
        assert_eq!(out.code, 1, "{out:?}");
        crate::eqnice!("ERROR: version -t takes exactly two versions\n", out.stderr);
    }
}

#[test]
fn check_prints_the_invalid_versions() {
    let dir = Dir::new();
    let versions = [
        "1.2",
        "0.1bc",
        "a",
        "1.0-r1",
        "0.1_foobar",
        "2.0_rc1~abc123-r2",
    ];
    let mut args = vec!["version", "-c"];
    args.extend(versions);
    dir.apk(&args).assert(3, "0.1bc\na\n0.1_foobar\n");

    // v2 is lax: it accepts `a`, but not `0.1bc`, an unknown suffix, nor v3's `~hash`.
    let mut args = vec!["version", "--version-rules", "v2", "-c"];
    args.extend(versions);
    dir.apk(&args)
        .assert(3, "0.1bc\n0.1_foobar\n2.0_rc1~abc123-r2\n");
}

#[test]
fn check_v2_is_lax() {
    let dir = Dir::new();
    let lax = ["a", ".1", "_pre1", "1.0_", "0.1a1"];
    let mut args = vec!["version", "--version-rules", "v2", "-c"];
    args.extend(lax);
    dir.apk(&args).assert(0, "");
    let mut args = vec!["version", "-c"];
    args.extend(lax);
    dir.apk(&args).assert(5, "a\n.1\n_pre1\n1.0_\n0.1a1\n");
}

#[test]
fn check_accepts_valid_versions_and_nothing() {
    let dir = Dir::new();
    dir.apk(["version", "-c", "1.2", "1.0_rc1-r3", "5.4.0_p20240101"])
        .assert(0, "");
    dir.apk(["version", "-c"]).assert(0, "");
}

#[test]
fn check_exit_code_is_capped_at_255() {
    let mut args = vec!["version".to_owned(), "-c".to_owned()];
    args.extend((0..300).map(|i| format!("x{i}")));
    let out = Dir::new().apk(&args);
    assert_eq!(out.code, 255, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 300);
}

#[test]
fn without_test_or_check_listing_needs_an_installed_database() {
    // Listing installed packages against the repositories (tested in tests/query.rs) reads
    // the root's database; an empty root has none.
    let dir = Dir::new();
    let out = dir.apk(["--root", ".", "version"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with("ERROR: ") && out.stderr.contains("no installed database"),
        "{out:?}"
    );
}

#[test]
fn test_and_check_conflict() {
    let out = Dir::new().apk(["version", "-t", "-c", "1", "2"]);
    assert_eq!(out.code, 2, "{out:?}");
}
