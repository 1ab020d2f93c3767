//! Replays the minimized crash inputs committed under `fuzz/artifacts/<target>/` through the
//! entry points and oracles of the matching fuzz target (`fuzz/fuzz_targets/<target>.rs`), so a
//! fixed crash stays fixed without a fuzzer.
//!
//! The checks here mirror the fuzz targets; change both together. A missing `fuzz/artifacts`
//! directory means there is nothing to replay. The `package` and `extract` targets feed
//! apk-pkg, which depends on this crate: their artifacts are replayed by
//! `apk-pkg/tests/fuzz_artifacts.rs`.

use std::cmp::Ordering;
use std::hint::black_box;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use apk_index::version::{self, Rules, Version};
use apk_index::{
    Checksum, Dependency, DependencyRef, Index, IndexArchive, IndexOptions, InstalledDb,
    InstalledDbOptions, KeySet, Op, PackageInfo, VerifyError, parse_dependency_list, parse_pkginfo,
    write_dependency_list, write_pkginfo,
};

/// Every artifact file, as (target name, path), in a stable order.
fn fuzz_artifact_paths() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/artifacts");
    let Ok(targets) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for target in targets {
        let target = target.expect("reading fuzz/artifacts");
        if !target.file_type().expect("file type").is_dir() {
            continue;
        }
        let name = target.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(target.path()).expect("reading an artifact directory") {
            let file = file.expect("reading an artifact directory");
            let hidden = file.file_name().to_string_lossy().starts_with('.');
            if !hidden && file.file_type().expect("file type").is_file() {
                paths.push((name.clone(), file.path()));
            }
        }
    }
    paths.sort();
    paths
}

#[test]
fn fuzz_artifacts_do_not_panic() {
    let mut failures = Vec::new();
    for (target, path) in fuzz_artifact_paths() {
        let data = std::fs::read(&path).expect("reading an artifact");
        let replay: fn(&[u8]) = match target.as_str() {
            "version" => version_target,
            "dependency" => dependency_target,
            "record" => record_target,
            "index_archive" => index_archive_target,
            // Replayed by apk-pkg's own `tests/fuzz_artifacts.rs` (apk-index cannot depend on
            // apk-pkg).
            "package" | "extract" => continue,
            other => panic!(
                "{}: no replay for fuzz target {other:?}; add it to this test",
                path.display()
            ),
        };
        if catch_unwind(AssertUnwindSafe(|| replay(&data))).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz artifacts that still fail:\n  {}",
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// fuzz/fuzz_targets/version.rs

fn version_target(data: &[u8]) {
    let mut parts = data.splitn(3, |&c| c == b'\n');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();
    let op_bits = data.first().map_or(0, |&x| x & 0x0f);

    for rules in [Rules::V2, Rules::V3] {
        for v in [a, b, c] {
            version_one(v, rules);
        }
        for (x, y) in [(a, b), (b, c), (a, c)] {
            version_pair(x, y, rules);
            black_box(version::matches(x, op_bits, y, rules));
        }
        version_transitive(a, b, c, rules);
    }
}

fn version_one(v: &[u8], rules: Rules) {
    let valid = version::is_valid(v, rules);
    if valid {
        assert!(v.is_ascii(), "valid version is not ASCII: {v:?}");
    }
    assert_eq!(version::compare(v, v, rules), Ordering::Equal);
    assert_eq!(version::compare_fuzzy(v, v, rules), Ordering::Equal);

    let Ok(text) = std::str::from_utf8(v) else {
        return;
    };
    match Version::parse_with(text, rules) {
        Ok(parsed) => {
            assert!(valid);
            let shown = parsed.to_string();
            assert_eq!(shown, text);
            assert_eq!(parsed.as_str(), text);
            let again = Version::parse_with(&shown, rules).expect("Display output re-parses");
            assert_eq!(again.as_str(), text);
            assert_eq!(parsed.compare_with(&again, rules), Ordering::Equal);
        }
        Err(e) => {
            assert!(!valid);
            assert!(e.offset() <= text.len());
            assert_eq!(e.text(), text);
            black_box(e.to_string());
        }
    }
    if rules == Rules::V3 {
        assert_eq!(Version::parse(text).is_ok(), valid);
    }
}

fn version_pair(x: &[u8], y: &[u8], rules: Rules) {
    let xy = version::compare(x, y, rules);
    assert_eq!(xy, version::compare(y, x, rules).reverse());
    let fuzzy = version::compare_fuzzy(x, y, rules);
    if xy == Ordering::Equal {
        assert_eq!(fuzzy, Ordering::Equal);
    }
    if fuzzy != Ordering::Equal {
        assert_eq!(fuzzy, xy);
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

fn version_transitive(a: &[u8], b: &[u8], c: &[u8], rules: Rules) {
    let ab = version::compare(a, b, rules);
    let bc = version::compare(b, c, rules);
    let ac = version::compare(a, c, rules);
    let expected = match (ab, bc) {
        (Ordering::Equal, o) | (o, Ordering::Equal) => Some(o),
        (x, y) if x == y => Some(x),
        _ => None,
    };
    if let Some(expected) = expected {
        assert_eq!(ac, expected);
    }
}

// ---------------------------------------------------------------------------------------------
// fuzz/fuzz_targets/dependency.rs

fn dependency_target(data: &[u8]) {
    for rules in [Rules::V2, Rules::V3] {
        match DependencyRef::parse(data, rules) {
            Ok(dep) => dependency_token(dep, rules),
            Err(e) => {
                black_box((e.token(), e.kind(), e.to_string()));
            }
        }
        let mut accepted = Vec::new();
        for item in parse_dependency_list(data, rules) {
            match item {
                Ok(dep) => {
                    dependency_token(dep, rules);
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
        assert_eq!(reread, expected);
    }
    if let Ok(sum) = Checksum::parse(data) {
        assert_eq!(sum.to_string().as_bytes(), data);
        assert_eq!(sum.to_string().parse::<Checksum>().ok(), Some(sum));
        black_box((sum.kind(), sum.form(), sum.short_hex(), sum.as_bytes()));
    }
}

fn dependency_token(dep: DependencyRef<'_>, rules: Rules) {
    let shown = dep.to_string();
    let again = DependencyRef::parse(shown.as_bytes(), rules).expect("Display output re-parses");
    assert_eq!(again, dep);
    assert_eq!(again.to_string(), shown);

    let owned = Dependency::parse(&shown, rules).expect("owned parser accepts it too");
    assert_eq!(owned, dep.to_owned());
    assert_eq!(owned.as_ref(), dep);
    assert_eq!(owned.to_string(), shown);

    let built = Dependency::new(dep.name(), dep.tag(), dep.constraint(), dep.conflict())
        .expect("Dependency::new accepts the parts of a parsed token");
    assert_eq!(built, owned);

    match dep.constraint() {
        None => assert!(dep.version_matches(None, rules)),
        Some((op, version)) => {
            assert!(!dep.version_matches(None, rules));
            let own = dep.version_matches(Some(version), rules);
            if op == Op::CHECKSUM {
                assert!(!own);
            } else {
                assert_eq!(own, op.bits() & Op::EQUAL_BIT != 0);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fuzz/fuzz_targets/record.rs

fn record_target(data: &[u8]) {
    for rules in [Rules::V2, Rules::V3] {
        record_index(data, rules);
        record_pkginfo(data, rules);
    }
    for allow_unknown_fields in [false, true] {
        record_installed(data, allow_unknown_fields);
    }
}

fn write_index(index: &Index) -> Vec<u8> {
    let mut out = Vec::new();
    index.write_text(&mut out).expect("writing to a Vec");
    out
}

fn record_index(data: &[u8], rules: Rules) {
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
        assert_eq!(borrowed, owned);
    }
    let first = write_index(&index);
    let reloaded = Index::from_text(first.clone(), &options);
    assert_eq!(first, write_index(&reloaded));
    let before: Vec<PackageInfo> = index.packages().map(|p| p.to_owned()).collect();
    let after: Vec<PackageInfo> = reloaded.packages().map(|p| p.to_owned()).collect();
    assert_eq!(before, after);
}

fn record_installed(data: &[u8], allow_unknown_fields: bool) {
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
    let again = InstalledDb::from_bytes(&written, &options).expect("written db re-reads");
    assert_eq!(again, db);
}

fn record_pkginfo(data: &[u8], rules: Rules) {
    let pkg = match parse_pkginfo(data, rules) {
        Ok(pkg) => pkg,
        Err(e) => {
            black_box((e.line(), e.kind(), e.to_string()));
            return;
        }
    };
    let mut written = Vec::new();
    write_pkginfo(&pkg, &mut written).expect("writing to a Vec");
    let again = parse_pkginfo(&written, rules).expect("written .PKGINFO re-parses");
    assert_eq!(again, pkg);
}

// ---------------------------------------------------------------------------------------------
// fuzz/fuzz_targets/index_archive.rs

const SEPARATOR: &[u8] = b"%%GZ%%";

fn index_archive_target(data: &[u8]) {
    index_archive_check(data);
    if !data.starts_with(&[0x1f, 0x8b]) {
        index_archive_check(&gzip_members(data));
    }
}

fn gzip_members(data: &[u8]) -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::GzEncoder;

    let mut out = Vec::with_capacity(data.len() + 64);
    let mut rest = data;
    loop {
        let (part, next) = match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(i) => (&rest[..i], Some(&rest[i + SEPARATOR.len()..])),
            None => (rest, None),
        };
        let mut encoder = GzEncoder::new(&mut out, Compression::fast());
        encoder.write_all(part).expect("writing to a Vec");
        encoder.finish().expect("writing to a Vec");
        match next {
            Some(next) => rest = next,
            None => return out,
        }
    }
}

fn index_archive_check(data: &[u8]) {
    let archive = match IndexArchive::from_bytes(data) {
        Ok(archive) => archive,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    let range = archive.signed_range();
    assert!(range.start <= range.end && range.end <= data.len());
    for sig in archive.signatures() {
        black_box((sig.algorithm(), sig.key_name(), sig.signature()));
    }
    black_box((
        archive.description(),
        archive.is_signed(),
        format!("{archive:?}"),
    ));
    match archive.verify(&KeySet::new()) {
        Ok(by) => panic!("verified by {:?} with no keys", by.key_name()),
        Err(VerifyError::Unsigned) => assert!(!archive.is_signed()),
        Err(e) => {
            assert!(archive.is_signed());
            black_box(e.to_string());
        }
    }
    for rules in [Rules::V2, Rules::V3] {
        let index = Index::from_archive(&archive, &IndexOptions { rules });
        black_box((index.len(), index.description(), index.problems().len()));
        black_box(write_index(&index));
    }
}
