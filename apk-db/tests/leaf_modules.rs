//! Integration tests of the leaf modules (world, triggers, protected paths, repositories,
//! scripts, lock) through their public API, with property tests for the world and trigger
//! round trips and for trigger globs against a reference `fnmatch(FNM_PATHNAME)`.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use apk_db::lock::{DbLock, LockError};
use apk_db::protected::{ProtectedPaths, Protection};
use apk_db::repositories::{RepositoryFormat, RepositoryList, cache_package_name};
use apk_db::scripts::{ScriptKey, ScriptsDb};
use apk_db::triggers::{TriggerDb, TriggerEntry, TriggerGlob, glob_matches};
use apk_db::world::{WorldError, load_world, parse_world, write_world};
use apk_index::{Checksum, Dependency, Op};
use apk_pkg::ScriptKind;
use proptest::prelude::*;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

// ---------------------------------------------------------------------------------- world

#[test]
fn world_load_and_errors() {
    let root = tempfile::tempdir().unwrap();
    assert!(load_world(root.path()).unwrap().is_empty());
    write(root.path(), "etc/apk/world", "b a@edge\nc>=1.0-r0 !d\n");
    let deps = load_world(root.path()).unwrap();
    assert_eq!(write_world(&deps), "a@edge\nb\nc>=1.0-r0\n!d\n");
    write(root.path(), "etc/apk/world", "ok\n\n  x>=\n");
    match load_world(root.path()) {
        Err(WorldError::BadToken { line, token, .. }) => {
            assert_eq!((line, token.as_str()), (3, "x>="));
        }
        other => panic!("{other:?}"),
    }
}

fn dependency() -> impl Strategy<Value = Dependency> {
    (
        "[a-z0-9][a-z0-9._+-]{0,10}",
        prop::option::of("[a-z]{1,5}"),
        prop::option::of((
            prop::sample::select(vec![
                Op::EQUAL,
                Op::GREATER_EQUAL,
                Op::LESS,
                Op::GREATER,
                Op::LESS_EQUAL,
                Op::FUZZY,
            ]),
            "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}(-r[0-9]{1,2})?",
        )),
        any::<bool>(),
    )
        .prop_map(|(name, tag, constraint, conflict)| {
            Dependency::new(
                &name,
                tag.as_deref(),
                constraint.as_ref().map(|(op, v)| (*op, v.as_str())),
                conflict,
            )
            .expect("generated dependency is valid")
        })
}

proptest! {
    #[test]
    fn world_round_trips(deps in prop::collection::vec(dependency(), 0..12)) {
        let text = write_world(&deps);
        let parsed = parse_world(&text).unwrap();
        // Writing sorts by name (stably): the re-read world is that order.
        let mut sorted = deps.clone();
        sorted.sort_by(|a, b| a.name().as_bytes().cmp(b.name().as_bytes()));
        prop_assert_eq!(&parsed, &sorted);
        prop_assert_eq!(write_world(&parsed), text.clone());
        prop_assert!(text.ends_with('\n'));
        // Spaces separate as well as newlines.
        let spaced = text.replace('\n', " ");
        prop_assert_eq!(parse_world(&spaced).unwrap(), parsed);
    }

    #[test]
    fn world_parse_never_panics(text in "\\PC{0,80}") {
        let _ = parse_world(&text);
    }
}

// ------------------------------------------------------------------------------- triggers

/// Reference `fnmatch(pattern, s, FNM_PATHNAME)` for `*`, `?` and literals.
fn fnmatch(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len())
            .take_while(|&k| k == 0 || s[k - 1] != b'/')
            .any(|k| fnmatch(&p[1..], &s[k..])),
        Some(b'?') => s.first().is_some_and(|&c| c != b'/') && fnmatch(&p[1..], &s[1..]),
        Some(&c) => s.first() == Some(&c) && fnmatch(&p[1..], &s[1..]),
    }
}

#[test]
fn trigger_db_load_and_edit() {
    let root = tempfile::tempdir().unwrap();
    assert!(TriggerDb::load(root.path()).unwrap().entries.is_empty());
    let text = "Q1d8VAKrDEpR0qbnRIjTgBdhhc8ZA= /bin /usr/bin /sbin /usr/sbin /lib/modules/*\nQ1cR4+zdqrBAsAV8QMsJ+LIGwYEIs= /usr/share/fonts/*\n";
    write(root.path(), "lib/apk/db/triggers", text);
    let mut db = TriggerDb::load(root.path()).unwrap();
    assert_eq!(db.write(), text);
    let busybox = db.get("Q1d8VAKrDEpR0qbnRIjTgBdhhc8ZA=").unwrap();
    assert!(busybox.matches("/lib/modules/6.6.1-lts"));
    assert!(!busybox.matches("/lib/modules/6.6.1-lts/kernel"));
    assert!(busybox.matches("/usr/sbin"));
    db.set(
        "Q1cR4+zdqrBAsAV8QMsJ+LIGwYEIs=",
        vec!["+/usr/share/fonts/*".into()],
    );
    db.set("Q1new", vec!["/x".into()]);
    assert_eq!(
        db.write(),
        "Q1d8VAKrDEpR0qbnRIjTgBdhhc8ZA= /bin /usr/bin /sbin /usr/sbin /lib/modules/*\nQ1cR4+zdqrBAsAV8QMsJ+LIGwYEIs= +/usr/share/fonts/*\nQ1new /x\n"
    );
    let fonts: Vec<TriggerGlob> = db.entries[1].trigger_globs().collect();
    assert!(fonts[0].only_modified());
    assert!(fonts[0].matches("/usr/share/fonts/noto"));
    assert_eq!(
        db.remove("Q1new").map(|e| e.globs),
        Some(vec!["/x".to_owned()])
    );
    assert!(db.remove("Q1new").is_none());
}

#[test]
fn trigger_glob_edge_cases() {
    // Real globs from the corpus.
    assert!(glob_matches(
        "/usr/lib/gdk-pixbuf-2.0/*/loaders",
        "/usr/lib/gdk-pixbuf-2.0/2.10.0/loaders"
    ));
    assert!(!glob_matches(
        "/usr/lib/gdk-pixbuf-2.0/*/loaders",
        "/usr/lib/gdk-pixbuf-2.0/loaders"
    ));
    assert!(glob_matches(
        "/usr/share/icons/*",
        "/usr/share/icons/hicolor"
    ));
    assert!(!glob_matches(
        "/usr/share/icons/*",
        "/usr/share/icons/hicolor/48x48"
    ));
    // Plain globs match only the same path.
    assert!(glob_matches("/usr/share/mime", "/usr/share/mime"));
    assert!(!glob_matches("/usr/share/mime", "/usr/share/mime/packages"));
    assert!(!glob_matches("/usr/share/mime", "/usr/share"));
    // `?` and `*` never match `/`; `**` is not recursive.
    assert!(!glob_matches("/a?b", "/a/b"));
    assert!(!glob_matches("/a/**", "/a/b/c"));
    assert!(glob_matches("/a/**", "/a/b"));
    assert!(!glob_matches("/a*", "/a/b"));
    assert!(glob_matches("/*", "/"));
    // Brackets: ranges, negation, `]` first, unclosed; never `/`.
    assert!(glob_matches("/lib[0-9]*", "/lib64"));
    assert!(!glob_matches("/lib[0-9]*", "/libexec"));
    assert!(glob_matches("/x[!a]", "/xb"));
    assert!(!glob_matches("/x[!a]", "/xa"));
    assert!(!glob_matches("/x[!a]", "/x/"));
    assert!(glob_matches("/x[]]", "/x]"));
    assert!(glob_matches("/x[", "/x["));
    // Escapes and the v3 `+` prefix.
    assert!(glob_matches("/x\\[a]", "/x[a]"));
    assert!(glob_matches("+/usr/share/fonts/*", "/usr/share/fonts/misc"));
    let g = TriggerGlob::new("+/usr/share/fonts/*");
    assert!(g.only_modified());
    assert_eq!(g.as_str(), "+/usr/share/fonts/*");
}

fn trigger_entry() -> impl Strategy<Value = TriggerEntry> {
    (
        "Q1[A-Za-z0-9+/]{27}=",
        prop::collection::vec("\\+?(/[a-z0-9.*?_-]{1,8}){1,4}", 0..5),
    )
        .prop_map(|(identity, globs)| TriggerEntry { identity, globs })
}

proptest! {
    #[test]
    fn triggers_round_trip(entries in prop::collection::vec(trigger_entry(), 0..6)) {
        let db = TriggerDb { entries };
        let text = db.write();
        let again = TriggerDb::parse(&text).unwrap();
        prop_assert_eq!(&again, &db);
        prop_assert_eq!(again.write(), text);
    }

    #[test]
    fn globs_agree_with_reference_fnmatch(
        pattern in "[ab/*?]{0,8}",
        path in "[ab/]{0,8}",
    ) {
        prop_assert_eq!(
            glob_matches(&pattern, &path),
            fnmatch(pattern.as_bytes(), path.as_bytes()),
            "pattern {:?} path {:?}", pattern, path
        );
    }

    #[test]
    fn glob_matching_never_panics(pattern in "\\PC{0,20}", path in "\\PC{0,20}") {
        let _ = glob_matches(&pattern, &path);
    }
}

// ------------------------------------------------------------------------ protected paths

#[test]
fn protected_paths_from_files() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(
        ProtectedPaths::load(root.path()).unwrap(),
        ProtectedPaths::default()
    );
    write(
        root.path(),
        "etc/apk/protected_paths.d/a.list",
        "# first\n-etc/ssl\n!etc/ssl/private\n@usr/local/etc\n",
    );
    write(
        root.path(),
        "etc/apk/protected_paths.d/b.list",
        "+etc/ssl\n",
    );
    write(
        root.path(),
        "etc/apk/protected_paths.d/ignored.txt",
        "!usr\n",
    );
    let rules = ProtectedPaths::load(root.path()).unwrap();
    // b.list is read after a.list: its rule for etc/ssl replaces a.list's.
    assert_eq!(rules.classify("etc/ssl/openssl.cnf"), Protection::Protected);
    assert_eq!(
        rules.classify("etc/ssl/private/key.pem"),
        Protection::Always
    );
    assert_eq!(rules.classify("usr/local/etc/x"), Protection::SymlinksOnly);
    assert_eq!(rules.classify("usr/bin/x"), Protection::None);
    assert_eq!(rules.classify("etc/apk/repositories"), Protection::Always);
    assert_eq!(
        rules.classify("etc/init.d/networking"),
        Protection::SymlinksOnly
    );

    write(root.path(), "etc/apk/protected_paths.d/c.list", "ok\n!\n");
    let err = ProtectedPaths::load(root.path()).unwrap_err().to_string();
    assert!(err.contains("c.list:2"), "{err}");
}

#[test]
fn protected_precedence_is_component_wise() {
    let mut rules = ProtectedPaths::empty();
    rules.add_rule("!a/b").unwrap();
    rules.add_rule("-a").unwrap();
    rules.add_rule("@a/b/c/d").unwrap();
    assert_eq!(rules.classify("a"), Protection::None);
    assert_eq!(rules.classify("a/bc"), Protection::None);
    assert_eq!(rules.classify("a/b"), Protection::Always);
    assert_eq!(rules.classify("a/b/c"), Protection::Always);
    assert_eq!(rules.classify("a/b/c/d"), Protection::SymlinksOnly);
    assert_eq!(rules.classify("a/b/c/de"), Protection::Always);
    assert_eq!(rules.classify("/a/b/c/d/e/f"), Protection::SymlinksOnly);
}

// --------------------------------------------------------------------------- repositories

#[test]
fn repositories_load_order_and_shadowing() {
    let root = tempfile::tempdir().unwrap();
    assert!(
        RepositoryList::load(root.path(), "x86_64")
            .unwrap()
            .is_empty()
    );
    write(
        root.path(),
        "etc/apk/repositories",
        "set mirror=https://local.example\nhttps://dl-cdn.alpinelinux.org/alpine/v3.20/main\n",
    );
    write(
        root.path(),
        "etc/apk/repositories.d/z.list",
        "@extra /srv/extra\n",
    );
    write(
        root.path(),
        "etc/apk/repositories.d/distro.list",
        "v3 ${mirror}/etc-distro main\n",
    );
    // Same file name as in etc/: skipped.
    write(
        root.path(),
        "lib/apk/repositories.d/distro.list",
        "v3 /never main\n",
    );
    write(
        root.path(),
        "lib/apk/repositories.d/vendor.list",
        "set -default mirror=https://vendor.example\nndx ${mirror}/${APK_ARCH}/packages.adb\n",
    );
    let list = RepositoryList::load(root.path(), "x86_64").unwrap();
    let urls: Vec<&str> = list.repositories().iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://dl-cdn.alpinelinux.org/alpine/v3.20/main",
            "https://local.example/etc-distro/main",
            "/srv/extra",
            "https://local.example/x86_64/packages.adb",
        ]
    );
    assert_eq!(list.repositories()[3].format, RepositoryFormat::Ndx);
    assert_eq!(list.tags(), ["extra"]);

    write(root.path(), "etc/apk/repositories.d/z.list", "@extra\n");
    let err = RepositoryList::load(root.path(), "x86_64")
        .unwrap_err()
        .to_string();
    assert!(err.contains("z.list:1: missing repository URL"), "{err}");
}

#[test]
fn repository_urls() {
    let list = RepositoryList::parse(
        "https://dl-cdn.alpinelinux.org/alpine/v3.17/main\nv3 https://downloads.openwrt.org/snapshots/packages/${APK_ARCH} base\nhttps://example.org/repo/x86_64/APKINDEX.tar.gz\n",
        "x86_64",
    )
    .unwrap();
    let r = list.repositories();
    assert_eq!(
        r[0].package_url("noarch", "alpine-keys", "2.4-r1"),
        "https://dl-cdn.alpinelinux.org/alpine/v3.17/main/noarch/alpine-keys-2.4-r1.apk"
    );
    assert_eq!(
        r[1].index_url("x86_64"),
        "https://downloads.openwrt.org/snapshots/packages/x86_64/base/x86_64/Packages.adb"
    );
    assert!(r[2].is_direct_index());
    assert_eq!(
        r[2].package_url("x86_64", "hello", "1.0-r0"),
        "https://example.org/repo/x86_64/hello-1.0-r0.apk"
    );
    let id: Checksum = "Q1NN3sp0yr99btRysqty3nQUrWHaY=".parse().unwrap();
    assert_eq!(
        cache_package_name("busybox", "1.35.0-r29", &id),
        format!("busybox-1.35.0-r29.{}.apk", id.short_hex())
    );
}

#[test]
fn repository_line_errors() {
    for (text, needle) in [
        ("@ /x", "invalid repository tag"),
        ("v3", "missing repository URL"),
        ("ndx /x.adb main", "no components"),
        ("ftp://example.org/alpine", "is not a URL"),
        ("set foo", "invalid set line"),
        ("set APK_FOO=1", "reserved"),
        ("${missing}/x", "undefined variable 'missing'"),
        ("/x/${open", "unterminated"),
    ] {
        let err = RepositoryList::parse(text, "x86_64")
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{text:?}: {err}");
        assert!(err.starts_with("<text>:1: "), "{err}");
    }
}

// -------------------------------------------------------------------------------- scripts

#[test]
fn scripts_load_prefers_plain_tar_and_reads_gzip() {
    let root = tempfile::tempdir().unwrap();
    let mut db = ScriptsDb::new();
    db.insert(
        "a",
        "1.0-r0",
        "Q1x",
        ScriptKind::PostInstall,
        b"#!/bin/sh\n".to_vec(),
    );
    db.insert(
        "b",
        "2-r1",
        "X1abcd",
        ScriptKind::Trigger,
        b"#!/bin/sh\necho $@\n".to_vec(),
    );
    let gz = db.to_tar_gz().unwrap();
    write(root.path(), "lib/apk/db/placeholder", "");
    fs::write(root.path().join("lib/apk/db/scripts.tar.gz"), &gz).unwrap();
    assert_eq!(ScriptsDb::load(root.path()).unwrap(), db);
    let mut other = ScriptsDb::new();
    other.insert("c", "3", "Q1y", ScriptKind::PreInstall, vec![]);
    fs::write(
        root.path().join("lib/apk/db/scripts.tar"),
        other.to_tar_bytes().unwrap(),
    )
    .unwrap();
    assert_eq!(ScriptsDb::load(root.path()).unwrap(), other);
    // A corrupt file names itself.
    fs::write(root.path().join("lib/apk/db/scripts.tar"), [1u8; 700]).unwrap();
    let err = ScriptsDb::load(root.path()).unwrap_err().to_string();
    assert!(err.contains("scripts.tar"), "{err}");
}

#[test]
fn scripts_lookup_insert_remove() {
    let mut db = ScriptsDb::new();
    for kind in ScriptKind::ALL {
        db.insert(
            "pkg.with.dots",
            "1.2.3_rc1-r4",
            "Q1id",
            kind,
            kind.name().as_bytes().to_vec(),
        );
    }
    db.insert("other", "1", "Q1o", ScriptKind::PostInstall, b"o".to_vec());
    let tar = db.to_tar_bytes().unwrap();
    let db = ScriptsDb::from_bytes(&tar).unwrap();
    assert_eq!(db.len(), 8);
    assert_eq!(
        db.get(
            "pkg.with.dots",
            "1.2.3_rc1-r4",
            "Q1id",
            ScriptKind::PreDeinstall
        ),
        Some(&b"pre-deinstall"[..])
    );
    assert!(
        db.get(
            "pkg.with.dots",
            "1.2.3_rc1-r4",
            "Q1other",
            ScriptKind::PreDeinstall
        )
        .is_none()
    );
    assert!(
        db.get(
            "pkg.with.dots",
            "1.2.3_rc1-r5",
            "Q1id",
            ScriptKind::PreDeinstall
        )
        .is_none()
    );
    let names: Vec<String> = db.entries().iter().map(|e| e.key.entry_name()).collect();
    assert_eq!(names[0], "pkg.with.dots-1.2.3_rc1-r4.Q1id.pre-install");
    assert_eq!(names[6], "pkg.with.dots-1.2.3_rc1-r4.Q1id.trigger");

    let mut db = db;
    assert!(
        db.remove("other", "1", "Q1o", ScriptKind::PostInstall)
            .is_some()
    );
    assert_eq!(db.remove_package("pkg.with.dots", "1.2.3_rc1-r4"), 7);
    assert!(db.is_empty());
    assert!(ScriptKey::new("x", "not-a-version", "Q1x", ScriptKind::Trigger).is_err());
}

#[test]
fn scripts_header_bytes() {
    let mut db = ScriptsDb::new();
    db.insert_entry(apk_db::scripts::ScriptEntry {
        key: ScriptKey::new(
            "bash",
            "5.2.15-r0",
            "Q18L4X0+pNmem0ecUJ40sj09hZln4=",
            ScriptKind::PostInstall,
        )
        .unwrap(),
        mtime: 0o14414710146,
        data: b"#!/bin/sh\n".to_vec(),
    });
    let tar = db.to_tar_bytes().unwrap();
    assert_eq!(tar.len(), 512 * 4);
    let h = &tar[..512];
    let name = b"bash-5.2.15-r0.Q18L4X0+pNmem0ecUJ40sj09hZln4=.post-install";
    assert_eq!(&h[..name.len()], name);
    assert!(h[name.len()..100].iter().all(|&b| b == 0));
    assert_eq!(&h[100..124], b"0000755\x000000000\x000000000\0");
    assert_eq!(&h[124..148], b"000000000012014414710146");
    assert_eq!(&h[154..157], b"\0 0");
    assert_eq!(&h[257..273], b"ustar  \0root\0\0\0\0");
    assert_eq!(&tar[512..522], b"#!/bin/sh\n");
    assert!(tar[522..].iter().all(|&b| b == 0));
}

// ----------------------------------------------------------------------------------- lock

#[test]
fn lock_conflicts_and_waits() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("lib/apk/db")).unwrap();
    let held = DbLock::acquire(root.path(), None).unwrap();
    assert!(held.path().ends_with("lib/apk/db/lock"));
    let err = DbLock::acquire(root.path(), None).unwrap_err();
    assert!(matches!(err, LockError::Locked { .. }));
    assert!(
        err.to_string().starts_with(&format!(
            "Unable to lock database: {}",
            root.path().join("lib/apk/db/lock").display()
        )),
        "{err}"
    );
    let start = Instant::now();
    let err = DbLock::acquire(root.path(), Some(Duration::from_millis(150))).unwrap_err();
    assert!(matches!(err, LockError::Timeout { .. }), "{err:?}");
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert!(err.to_string().contains("still locked"), "{err}");
    drop(held);
    let again = DbLock::acquire(root.path(), Some(Duration::from_millis(150)));
    assert!(again.is_ok(), "{again:?}");
}
