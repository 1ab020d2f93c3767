//! Dependency tokens and lists on arbitrary bytes, under both rule sets.
//!
//! The whole input goes to `DependencyRef::parse` (as one token), to `parse_dependency_list`
//! and to `Checksum::parse`. Oracles: an accepted token prints back to text that parses to the
//! same token and prints the same again; the owned and borrowed parsers and `Dependency::new`
//! agree; a list written with `write_dependency_list` reads back token for token; a checksum
//! prints back exactly as read.
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/dependency.rs` and by
//! `apk-index/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/dependency/`; depends only on
//! the library crates, `flate2` and `tempfile`, never on libFuzzer.

use std::hint::black_box;

use apk_index::{
    Checksum, Dependency, DependencyRef, Op, Rules, parse_dependency_list, write_dependency_list,
};

/// Check every oracle on `data`.
pub fn run(data: &[u8]) {
    for rules in [Rules::V2, Rules::V3] {
        match DependencyRef::parse(data, rules) {
            Ok(dep) => check_token(dep, rules),
            Err(e) => {
                black_box((e.token(), e.kind(), e.to_string()));
            }
        }

        let mut accepted = Vec::new();
        for item in parse_dependency_list(data, rules) {
            match item {
                Ok(dep) => {
                    check_token(dep, rules);
                    accepted.push(dep);
                }
                Err(e) => {
                    black_box(e.to_string());
                }
            }
        }
        let written = write_dependency_list(accepted.iter().copied());
        let reread: Vec<String> = parse_dependency_list(written.as_bytes(), rules)
            .map(|d| d.expect("a written list re-parses").to_string())
            .collect();
        let expected: Vec<String> = accepted.iter().map(ToString::to_string).collect();
        assert_eq!(reread, expected, "written list: {written:?}");
    }

    if let Ok(sum) = Checksum::parse(data) {
        assert_eq!(
            sum.to_string().as_bytes(),
            data,
            "checksum does not print as read"
        );
        assert_eq!(sum.to_string().parse::<Checksum>().ok(), Some(sum));
        black_box((sum.kind(), sum.form(), sum.short_hex(), sum.as_bytes()));
    }
}

fn check_token(dep: DependencyRef<'_>, rules: Rules) {
    let shown = dep.to_string();
    let again = DependencyRef::parse(shown.as_bytes(), rules)
        .unwrap_or_else(|e| panic!("{shown:?} (printed from {dep:?}) does not re-parse: {e}"));
    assert_eq!(again, dep, "{shown:?} re-parses differently");
    assert_eq!(again.to_string(), shown);

    let owned = Dependency::parse(&shown, rules).expect("owned parser accepts it too");
    assert_eq!(owned, dep.to_owned());
    assert_eq!(owned.as_ref(), dep);
    assert_eq!(owned.to_string(), shown);

    let built = Dependency::new(dep.name(), dep.tag(), dep.constraint(), dep.conflict())
        .unwrap_or_else(|e| panic!("Dependency::new refuses the parts of {shown:?}: {e}"));
    assert_eq!(built, owned);

    match dep.constraint() {
        None => assert!(dep.version_matches(None, rules)),
        Some((op, version)) => {
            assert!(!dep.version_matches(None, rules));
            let own = dep.version_matches(Some(version), rules);
            if op == Op::CHECKSUM {
                assert!(!own);
            } else {
                assert_eq!(
                    own,
                    op.bits() & Op::EQUAL_BIT != 0,
                    "{shown:?} against its own version"
                );
            }
        }
    }
}
