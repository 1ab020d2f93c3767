//! Version validation and comparison on arbitrary bytes, under both rule sets.
//!
//! The input is split at the first two `\n` into versions `a`, `b` and `c`; its first byte also
//! serves as the operator mask for `matches`. Oracles: `compare` is a total order (reflexive,
//! antisymmetric, transitive), `compare_fuzzy` agrees with `compare` wherever it does not
//! report a fuzzy match, and a `Version` that parses prints back as its input.
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/version.rs` and by
//! `apk-index/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/version/`; depends only on
//! the library crates, `flate2` and `tempfile`, never on libFuzzer.

use std::cmp::Ordering;
use std::hint::black_box;

use apk_index::version::{self, Rules, Version};

/// Check every oracle on `data`.
pub fn run(data: &[u8]) {
    let mut parts = data.splitn(3, |&c| c == b'\n');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();
    let op_bits = data.first().map_or(0, |&x| x & 0x0f);

    for rules in [Rules::V2, Rules::V3] {
        for v in [a, b, c] {
            check_one(v, rules);
        }
        for (x, y) in [(a, b), (b, c), (a, c)] {
            check_pair(x, y, rules);
            black_box(version::matches(x, op_bits, y, rules));
        }
        check_transitive(a, b, c, rules);
    }
}

fn check_one(v: &[u8], rules: Rules) {
    let valid = version::is_valid(v, rules);
    if valid {
        assert!(v.is_ascii(), "valid version is not ASCII: {v:?}");
    }
    assert_eq!(version::compare(v, v, rules), Ordering::Equal);
    assert_eq!(
        version::compare_fuzzy(v, v, rules),
        Ordering::Equal,
        "compare_fuzzy({v:?}, itself, {rules:?})"
    );

    let Ok(text) = std::str::from_utf8(v) else {
        return;
    };
    match Version::parse_with(text, rules) {
        Ok(parsed) => {
            assert!(
                valid,
                "Version::parse_with accepted {text:?} but is_valid did not"
            );
            let shown = parsed.to_string();
            assert_eq!(shown, text);
            assert_eq!(parsed.as_str(), text);
            let again = Version::parse_with(&shown, rules).expect("Display output re-parses");
            assert_eq!(again.as_str(), text);
            assert_eq!(parsed.compare_with(&again, rules), Ordering::Equal);
        }
        Err(e) => {
            assert!(
                !valid,
                "is_valid accepted {text:?} but Version::parse_with did not"
            );
            assert!(e.offset() <= text.len(), "error offset past the end: {e:?}");
            assert_eq!(e.text(), text);
            black_box(e.to_string());
        }
    }
    if rules == Rules::V3 {
        assert_eq!(Version::parse(text).is_ok(), valid);
    }
}

fn check_pair(x: &[u8], y: &[u8], rules: Rules) {
    let xy = version::compare(x, y, rules);
    let yx = version::compare(y, x, rules);
    assert_eq!(
        xy,
        yx.reverse(),
        "compare({x:?}, {y:?}, {rules:?}) is not antisymmetric"
    );

    let fuzzy = version::compare_fuzzy(x, y, rules);
    if xy == Ordering::Equal {
        assert_eq!(
            fuzzy,
            Ordering::Equal,
            "compare_fuzzy({x:?}, {y:?}, {rules:?})"
        );
    }
    if fuzzy != Ordering::Equal {
        assert_eq!(
            fuzzy, xy,
            "compare_fuzzy({x:?}, {y:?}, {rules:?}) disagrees with compare"
        );
    }

    if let (Ok(vx), Ok(vy)) = (
        std::str::from_utf8(x).map(Version::parse),
        std::str::from_utf8(y).map(Version::parse),
    ) && let (Ok(vx), Ok(vy)) = (vx, vy)
    {
        assert_eq!(vx.cmp(&vy), version::compare(x, y, Rules::V3));
        assert_eq!(vx == vy, vx.cmp(&vy) == Ordering::Equal);
    }
}

fn check_transitive(a: &[u8], b: &[u8], c: &[u8], rules: Rules) {
    let ab = version::compare(a, b, rules);
    let bc = version::compare(b, c, rules);
    let ac = version::compare(a, c, rules);
    let expected = match (ab, bc) {
        (Ordering::Equal, o) | (o, Ordering::Equal) => Some(o),
        (x, y) if x == y => Some(x),
        _ => None,
    };
    if let Some(expected) = expected {
        assert_eq!(
            ac, expected,
            "compare is not transitive under {rules:?}: {a:?} {ab:?} {b:?} {bc:?} {c:?} but {ac:?}"
        );
    }
}
