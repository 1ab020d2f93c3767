//! Package-record text on arbitrary bytes: APKINDEX text, the installed database and
//! `.PKGINFO`.
//!
//! Oracles: writing a loaded index and loading the result writes the same bytes again and
//! gives the same packages; the borrowed and owned record writers agree; an installed database
//! that reads writes text that reads back to the same database; a `.PKGINFO` that parses
//! writes text that parses back to the same package.
//!
//! Shared, via `#[path]`, by the fuzz target `fuzz/fuzz_targets/record.rs` and by
//! `apk-index/tests/fuzz_artifacts.rs`, which replays `fuzz/artifacts/record/`; depends only on the
//! library crates, `flate2` and `tempfile`, never on libFuzzer.

use std::hint::black_box;

use apk_index::{
    Index, IndexOptions, InstalledDb, InstalledDbOptions, PackageInfo, Rules, parse_pkginfo,
    write_pkginfo,
};

/// Check every oracle on `data`.
pub fn run(data: &[u8]) {
    for rules in [Rules::V2, Rules::V3] {
        check_index(data, rules);
        check_pkginfo(data, rules);
    }
    for allow_unknown_fields in [false, true] {
        check_installed(data, allow_unknown_fields);
    }
}

fn write_index(index: &Index) -> Vec<u8> {
    let mut out = Vec::new();
    index.write_text(&mut out).expect("writing to a Vec");
    out
}

fn check_index(data: &[u8], rules: Rules) {
    let options = IndexOptions { rules };
    let index = Index::from_text(data.to_vec(), &options);
    black_box((index.len(), index.description(), index.problems()));
    for (i, p) in index.packages().enumerate() {
        black_box((index.is_installable(i), index.package_name(i), p.identity()));
        let mut borrowed = Vec::new();
        p.write_index_fields(&mut borrowed)
            .expect("writing to a Vec");
        let mut owned = Vec::new();
        p.to_owned()
            .write_index_record(&mut owned)
            .expect("writing to a Vec");
        assert!(
            borrowed == owned,
            "package {i}: PackageRef and PackageInfo write different records:\n{}\n{}",
            String::from_utf8_lossy(&borrowed),
            String::from_utf8_lossy(&owned),
        );
    }

    let first = write_index(&index);
    let reloaded = Index::from_text(first.clone(), &options);
    let second = write_index(&reloaded);
    assert!(
        first == second,
        "writing the re-loaded index gives different text:\n{}\n{}",
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second),
    );
    let before: Vec<PackageInfo> = index.packages().map(|p| p.to_owned()).collect();
    let after: Vec<PackageInfo> = reloaded.packages().map(|p| p.to_owned()).collect();
    assert_eq!(before, after, "the re-loaded index has different packages");
}

fn check_installed(data: &[u8], allow_unknown_fields: bool) {
    let options = InstalledDbOptions {
        allow_unknown_fields,
    };
    let db = match InstalledDb::from_bytes(data, &options) {
        Ok(db) => db,
        Err(e) => {
            black_box((e.line(), e.kind(), e.to_string()));
            return;
        }
    };
    let mut written = Vec::new();
    db.write_to(&mut written).expect("writing to a Vec");
    let again = InstalledDb::from_bytes(&written, &options).unwrap_or_else(|e| {
        panic!(
            "written installed db does not re-read: {e}\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(again, db, "written installed db reads back differently");
}

fn check_pkginfo(data: &[u8], rules: Rules) {
    let pkg = match parse_pkginfo(data, rules) {
        Ok(pkg) => pkg,
        Err(e) => {
            black_box((e.line(), e.kind(), e.to_string()));
            return;
        }
    };
    let mut written = Vec::new();
    write_pkginfo(&pkg, &mut written).expect("writing to a Vec");
    let again = parse_pkginfo(&written, rules).unwrap_or_else(|e| {
        panic!(
            "written .PKGINFO does not re-parse: {e}\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(again, pkg, "written .PKGINFO parses back differently");
}
