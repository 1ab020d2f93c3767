//! Real installed databases from `$APK_CORPUS` (written by apk-tools 2 and 3): `installed`,
//! `world` and `triggers` write back byte for byte, `scripts.tar` reads, writes and reads back
//! to the same entries (and, where apk-tools 2.12.9+ wrote it, to the same bytes), and the
//! corpus `etc/apk/repositories` files parse, print back, and give the cache file names the
//! real root file systems used.
//!
//! Skipped (with a note) when `APK_CORPUS` is unset; fails when it is set but unreadable.
//! Run: `APK_CORPUS=/work/shared/corpus cargo test -p apk-db --test corpus_db -- --nocapture`.

use std::path::{Path, PathBuf};

use apk_db::repositories::RepositoryList;
use apk_db::scripts::ScriptsDb;
use apk_db::triggers::TriggerDb;
use apk_db::world::{parse_world, write_world};
use apk_index::{InstalledDb, InstalledDbOptions};

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

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn text(path: &Path) -> String {
    String::from_utf8(read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_installed(path: &Path) -> usize {
    let data = read(path);
    let db = InstalledDb::from_bytes(&data, &InstalledDbOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    db.write_to(&mut out).expect("write to a Vec");
    assert!(
        out == data,
        "{}: installed db does not write back byte for byte",
        path.display()
    );
    db.packages.len()
}

fn check_world(path: &Path) -> usize {
    let original = text(path);
    let deps = parse_world(&original).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        write_world(&deps),
        original,
        "{}: world does not write back byte for byte",
        path.display()
    );
    deps.len()
}

fn check_triggers(path: &Path) -> usize {
    let original = text(path);
    let db = TriggerDb::parse(&original).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        db.write(),
        original,
        "{}: triggers do not write back byte for byte",
        path.display()
    );
    db.entries.len()
}

/// Returns (entries, whether the written tar is byte-identical).
fn check_scripts(path: &Path) -> (usize, bool) {
    let data = read(path);
    let db = ScriptsDb::from_bytes(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        db.skipped().is_empty(),
        "{}: entries not understood: {:?}",
        path.display(),
        db.skipped()
    );
    let written = db.to_tar_bytes().expect("write to a Vec");
    let again =
        ScriptsDb::from_bytes(&written).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        again.entries(),
        db.entries(),
        "{}: scripts read back differently",
        path.display()
    );
    for (a, b) in db.entries().iter().zip(again.entries()) {
        assert_eq!(a.key, b.key);
        assert_eq!(a.data, b.data);
        assert_eq!(a.mtime, b.mtime);
    }
    // Every entry's name is known, so count the tar's regular entries independently.
    let mut archive = tar::Archive::new(&data[..]);
    let raw = archive.entries().expect("tar").count();
    assert_eq!(raw, db.len(), "{}: entry count", path.display());
    // apk-tools 2.12.9 and later write 12-digit size fields with no NUL; we write that form,
    // so those databases must come back byte for byte.
    let modern = data.len() >= 512 && data[135] != 0;
    if modern {
        assert!(
            written == data,
            "{}: written scripts.tar differs from apk-tools'",
            path.display()
        );
    }
    (db.len(), written == data)
}

#[test]
fn installed_databases_round_trip() {
    let Some(corpus) = corpus() else {
        eprintln!("APK_CORPUS not set: skipping corpus database test");
        return;
    };
    let mut dbs = Vec::new();
    find(&corpus, &|p| p.ends_with("lib/apk/db/installed"), &mut dbs);
    assert!(
        dbs.len() >= 4,
        "found only {} installed databases",
        dbs.len()
    );
    let (mut worlds, mut triggers, mut scripts, mut identical) = (0, 0, 0, 0);
    for installed in &dbs {
        let db_dir = installed.parent().expect("db dir");
        // The root is three levels up from `lib/apk/db` (`usr/lib/apk/db` roots have no etc/).
        let root = db_dir
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .expect("root");
        let packages = check_installed(installed);
        let mut line = format!(
            "{}: installed {packages} packages",
            installed
                .strip_prefix(&corpus)
                .unwrap_or(installed)
                .display()
        );
        let world = root.join("etc/apk/world");
        if world.is_file() {
            let n = check_world(&world);
            worlds += 1;
            line += &format!(", world {n} entries");
        }
        let trig = db_dir.join("triggers");
        if trig.is_file() {
            let n = check_triggers(&trig);
            triggers += 1;
            line += &format!(", triggers {n} lines");
        }
        let tar = db_dir.join("scripts.tar");
        if tar.is_file() {
            let (n, same) = check_scripts(&tar);
            scripts += 1;
            identical += usize::from(same);
            line += &format!(
                ", scripts.tar {n} entries ({})",
                if same {
                    "byte-identical"
                } else {
                    "same entries, older header form"
                }
            );
        }
        println!("{line}");
    }
    println!(
        "{} installed dbs, {worlds} worlds, {triggers} trigger files, {scripts} scripts.tar ({identical} byte-identical)",
        dbs.len()
    );
    assert!(worlds >= 3 && triggers >= 4 && scripts >= 4);
}

/// The per-step databases of the apk-tools 3.0.6 transaction recording (not under
/// `lib/apk/db/`): among them an emptied world, written as a single newline.
#[test]
fn apk3_step_databases_round_trip() {
    let Some(corpus) = corpus() else {
        eprintln!("APK_CORPUS not set: skipping apk3 step databases");
        return;
    };
    let steps = corpus.join("apk3-transactions/steps");
    let mut files = Vec::new();
    find(&steps, &|p| p.is_file(), &mut files);
    let (mut worlds, mut triggers, mut installed) = (0, 0, 0);
    for path in &files {
        match path.file_name().and_then(|n| n.to_str()) {
            Some("world") => {
                check_world(path);
                worlds += 1;
            }
            Some("triggers") => {
                check_triggers(path);
                triggers += 1;
            }
            Some("installed") => {
                check_installed(path);
                installed += 1;
            }
            _ => {}
        }
    }
    let expected = corpus.join("apk3-made/expected");
    check_installed(&expected.join("installed-after-add"));
    check_triggers(&expected.join("triggers-after-add"));
    println!("apk3 steps: {worlds} worlds, {triggers} trigger files, {installed} installed dbs");
    assert_eq!((worlds, triggers, installed), (6, 6, 6));
    assert_eq!(
        write_world(&parse_world(&text(&steps.join("6-del-all/world"))).unwrap()),
        "\n"
    );
}

#[test]
fn repositories_files_parse() {
    let Some(corpus) = corpus() else {
        eprintln!("APK_CORPUS not set: skipping corpus repositories test");
        return;
    };
    let sources = text(&corpus.join("SOURCES.md"));
    let mut files = Vec::new();
    find(
        &corpus,
        &|p| p.ends_with("etc/apk/repositories"),
        &mut files,
    );
    assert!(
        files.len() >= 3,
        "found only {} repositories files",
        files.len()
    );
    for path in &files {
        let etc_apk = path.parent().expect("etc/apk");
        let arch = std::fs::read_to_string(etc_apk.join("arch"))
            .map(|a| a.trim().to_owned())
            .unwrap_or_else(|_| "x86_64".to_owned());
        let list = RepositoryList::parse(&text(path), &arch)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!list.is_empty(), "{}: no repositories", path.display());
        let printed = list.to_string();
        let again = RepositoryList::parse(&printed, &arch).expect("printed list re-parses");
        assert_eq!(again.repositories(), list.repositories());
        // The corpus directory's row in SOURCES.md names the cached indexes of this root.
        let dir = path
            .strip_prefix(&corpus)
            .ok()
            .and_then(|p| p.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .expect("corpus subdirectory");
        let row = sources
            .lines()
            .find(|l| l.starts_with(&format!("| `{dir}/`")))
            .unwrap_or_else(|| panic!("no SOURCES.md row for {dir}"));
        for repo in list.repositories() {
            let name = repo.cache_index_name();
            assert!(
                row.contains(&name),
                "{}: {} → {name}, not among the cached indexes of {dir}",
                path.display(),
                repo.url
            );
            println!(
                "{}: {} ({arch}) → {} (cached as {name})",
                dir,
                repo.url,
                repo.index_url(&arch)
            );
        }
    }
}
