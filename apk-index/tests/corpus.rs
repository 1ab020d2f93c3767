//! Real Alpine data from `$APK_CORPUS`: every index loads and writes back byte for byte, every
//! installed database written by apk-tools reads and writes back byte for byte.
//!
//! Skipped (with a note) when `APK_CORPUS` is unset; fails when it is set but unreadable.

use std::path::{Path, PathBuf};

use apk_index::{Index, IndexArchive, IndexOptions, InstalledDb, InstalledDbOptions, Rules};

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("APK_CORPUS")?);
    assert!(
        dir.join("SOURCES.md").is_file(),
        "APK_CORPUS={} is set but is not a readable corpus",
        dir.display()
    );
    Some(dir)
}

fn find(dir: &Path, pred: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find(&p, pred, out);
        } else if pred(&p) {
            out.push(p);
        }
    }
}

fn count_p_lines(text: &[u8]) -> usize {
    text.split(|&c| c == b'\n')
        .filter(|l| l.starts_with(b"P:"))
        .count()
}

#[test]
fn every_index_loads_and_round_trips() {
    let Some(corpus) = corpus() else {
        eprintln!("APK_CORPUS not set: skipping corpus index test");
        return;
    };
    let mut files = Vec::new();
    find(
        &corpus,
        &|p| p.to_string_lossy().ends_with("APKINDEX.tar.gz"),
        &mut files,
    );
    assert!(files.len() >= 15, "found only {} indexes", files.len());
    let mut total = 0;
    for path in &files {
        let data = std::fs::read(path).expect("read index");
        let archive =
            IndexArchive::from_bytes(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for rules in [Rules::V3, Rules::V2] {
            let opts = IndexOptions { rules };
            let index = Index::from_archive(&archive, &opts);
            let expected = count_p_lines(archive.apkindex());
            assert_eq!(index.len(), expected, "{}: package count", path.display());
            total += index.len();
            // Written by another tool in its own field order.
            if path
                .to_string_lossy()
                .contains("chainguard-dev_apko/signing/")
            {
                continue;
            }
            let mut out = Vec::new();
            index.write_text(&mut out).expect("write");
            if out != archive.apkindex()[..] {
                let pos = out
                    .iter()
                    .zip(archive.apkindex().iter())
                    .position(|(a, b)| a != b)
                    .unwrap_or(out.len().min(archive.apkindex().len()));
                let lo = pos.saturating_sub(200);
                panic!(
                    "{}: rewritten text differs at byte {pos}\n--- original\n{}\n--- ours\n{}",
                    path.display(),
                    String::from_utf8_lossy(
                        &archive.apkindex()[lo..(pos + 200).min(archive.apkindex().len())]
                    ),
                    String::from_utf8_lossy(&out[lo..(pos + 200).min(out.len())]),
                );
            }
        }
    }
    eprintln!(
        "{} indexes, {} packages loaded and rewritten",
        files.len(),
        total / 2
    );
}

#[test]
fn alpine_317_has_v3_invalid_packages_but_all_load() {
    let Some(corpus) = corpus() else {
        return;
    };
    let path = corpus.join("Paper-Dragon_docker-sh/community-APKINDEX.tar.gz");
    let index = Index::open(&path, None, &IndexOptions::default()).expect("load");
    let broken = (0..index.len())
        .filter(|&i| !index.is_installable(i))
        .count();
    assert!(
        broken > 0,
        "3.17 has dependencies like owfs=3.2p4-r0, invalid under v3"
    );
    let v2 = Index::open(&path, None, &IndexOptions { rules: Rules::V2 }).expect("load");
    let broken_v2 = (0..v2.len()).filter(|&i| !v2.is_installable(i)).count();
    assert!(
        broken_v2 < broken,
        "v2 rules accept more: {broken_v2} vs {broken}"
    );
    assert!(
        index
            .problems()
            .iter()
            .any(|p| p.to_string().contains("owfs=3.2p4-r0"))
    );
}

#[test]
fn installed_databases_round_trip() {
    let Some(corpus) = corpus() else {
        eprintln!("APK_CORPUS not set: skipping installed-db test");
        return;
    };
    let mut files = Vec::new();
    find(
        &corpus,
        &|p| {
            let s = p.to_string_lossy();
            s.ends_with("/db/installed")
                || s.ends_with("apk3-made/expected/installed-after-add")
                || (s.contains("apk3-transactions/steps/") && s.ends_with("/installed"))
        },
        &mut files,
    );
    assert!(
        files.len() >= 11,
        "found only {} installed dbs",
        files.len()
    );
    // apk-tools 3's own `query` test database (Alpine 3.21, with `q:`, `a:` and scripts).
    let query = corpus.join("../apk-tests/v3/query-installed.data");
    assert!(query.is_file(), "{} is missing", query.display());
    files.push(query);
    for path in &files {
        let text = std::fs::read(path).expect("read");
        let db = InstalledDb::from_bytes(&text, &InstalledDbOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let records = count_p_lines(&text);
        assert_eq!(db.packages.len(), records, "{}", path.display());
        let mut out = Vec::new();
        db.write_to(&mut out).expect("write");
        assert!(
            out == text,
            "{}: rewritten db differs\n{}",
            path.display(),
            first_difference(&text, &out)
        );
    }
}

#[test]
fn foreign_installed_snippets_parse() {
    let Some(corpus) = corpus() else {
        return;
    };
    let mut files = Vec::new();
    find(
        &corpus.join("chainguard-dev_apko/installed"),
        &|_| true,
        &mut files,
    );
    assert_eq!(files.len(), 3);
    for path in &files {
        let text = std::fs::read(path).expect("read");
        let db = InstalledDb::from_bytes(&text, &InstalledDbOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!db.packages.is_empty(), "{}", path.display());
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let al: Vec<&[u8]> = a.split(|&c| c == b'\n').collect();
    let bl: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    for (i, (x, y)) in al.iter().zip(bl.iter()).enumerate() {
        if x != y {
            return format!(
                "line {}: expected {:?}, got {:?}",
                i + 1,
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            );
        }
    }
    format!("lengths differ: {} vs {} lines", al.len(), bl.len())
}

/// Every single-byte change of a real signed index is refused: every byte of the small apk-tools 3
/// repository index, and 64 positions spread over the signed part of Alpine 3.17's main index.
#[test]
fn changed_signed_bytes_are_refused() {
    let Some(corpus) = corpus() else {
        return;
    };
    let cases = [
        (
            corpus.join("apk3-transactions/repo-a/x86_64/APKINDEX.tar.gz"),
            corpus.join("apk3-transactions/keys"),
            1usize,
        ),
        (
            corpus.join("Paper-Dragon_docker-sh/main-APKINDEX.tar.gz"),
            corpus.join("csmith_apkutils"),
            64,
        ),
    ];
    for (path, keys, samples) in cases {
        let keys = apk_index::KeySet::from_dir(&keys).expect("keys");
        let data = std::fs::read(&path).expect("read");
        let archive = IndexArchive::from_bytes(&data).expect("archive");
        archive.verify(&keys).expect("the original verifies");
        let range = archive.signed_range();
        let step = if samples == 1 {
            1
        } else {
            (range.len() / samples).max(1)
        };
        let mut tried = 0;
        for pos in range.clone().step_by(step) {
            let mut copy = data.clone();
            copy[pos] ^= 0x20;
            let verified = IndexArchive::from_bytes(&copy)
                .ok()
                .map(|a| a.verify(&keys).is_ok());
            assert_ne!(
                verified,
                Some(true),
                "{}: change at byte {pos} verified",
                path.display()
            );
            tried += 1;
        }
        assert!(tried >= samples.min(range.len()));
    }
}
