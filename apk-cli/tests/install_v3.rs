//! Installing apk v3 (ADB) packages from a v3 repository with the `apk-rs` binary, against
//! what apk-tools 3.0.6 did with the same files: `$APK_CORPUS/apk3-made` (`x86_64/`: the
//! packages, `Packages.adb`, the test key; `expected/installed-after-add` and
//! `expected/triggers-after-add`, made by `apk --initdb --no-scripts add hello3 trig fooplug`
//! with `v3 <dir>` in `etc/apk/repositories`).
//!
//! With `APK_CORPUS` unset every test is skipped with a note; set but unreadable, they fail.
//! Besides the byte-for-byte comparison: the same install with scripts run (a `/bin/sh` copied
//! into the root), a second `add` that changes nothing, a package file given on the command
//! line (recorded by its own unique id), a tampered repository (refused, leaving nothing
//! behind), and a re-compressed package (the wrapper is not part of the identity).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../apk-db/tests/support/shell.rs"]
mod shell;
use shell::install_shell;

fn apk3() -> Option<PathBuf> {
    let Some(corpus) = std::env::var_os("APK_CORPUS") else {
        eprintln!("APK_CORPUS is not set: skipping the v3 install test");
        return None;
    };
    let dir = PathBuf::from(corpus).join("apk3-made");
    assert!(
        dir.join("README.md").is_file() && dir.join("x86_64/Packages.adb").is_file(),
        "APK_CORPUS is set but {} is not readable",
        dir.display()
    );
    Some(dir)
}

/// A fresh root for x86_64 whose only repository is `repo` (as a `v3` line) and whose only
/// key is the test key, under a name of its own (v3 keys are matched by key id).
fn make_root(tmp: &Path, corpus: &Path, repo: &Path) -> PathBuf {
    let root = tmp.join("root");
    fs::create_dir_all(root.join("etc/apk/keys")).unwrap();
    fs::copy(
        corpus.join("keys/test@example-1.rsa.pub"),
        root.join("etc/apk/keys/any-name.pub"),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let key = root.join("etc/apk/keys/any-name.pub");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::write(root.join("etc/apk/arch"), "x86_64\n").unwrap();
    fs::write(
        root.join("etc/apk/repositories"),
        format!("v3 {}\n", repo.display()),
    )
    .unwrap();
    root
}

/// A writable copy of the corpus's `x86_64/` repository under `tmp/repo`.
fn copy_repo(tmp: &Path, corpus: &Path) -> PathBuf {
    let repo = tmp.join("repo");
    fs::create_dir_all(repo.join("x86_64")).unwrap();
    for e in fs::read_dir(corpus.join("x86_64")).unwrap() {
        let e = e.unwrap();
        let dst = repo.join("x86_64").join(e.file_name());
        fs::write(&dst, fs::read(e.path()).unwrap()).unwrap();
    }
    repo
}

fn apk(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apk-rs"))
        .arg("--root")
        .arg(root)
        .arg("--no-cache")
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn add_from_a_v3_repository_matches_apk_tools() {
    let Some(corpus) = apk3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = make_root(tmp.path(), &corpus, &corpus);
    let out = apk(
        &root,
        &[
            "--initdb",
            "--no-scripts",
            "add",
            "hello3",
            "trig",
            "fooplug",
        ],
    );
    let transcript = text(&out);
    assert!(out.status.success(), "{transcript}");
    // apk-tools 3's transcript: 4 packages, `OK: 341 KiB in 4 packages`.
    assert!(transcript.contains("(4/4) Installing"), "{transcript}");
    assert!(
        transcript.ends_with("OK: 341 KiB in 4 packages\n"),
        "{transcript}"
    );
    assert_eq!(
        read(root.join("lib/apk/db/installed")),
        read(corpus.join("expected/installed-after-add")),
        "lib/apk/db/installed"
    );
    assert_eq!(
        read(root.join("lib/apk/db/triggers")),
        read(corpus.join("expected/triggers-after-add")),
        "lib/apk/db/triggers"
    );
    assert_eq!(read(root.join("etc/apk/world")), "fooplug\nhello3\ntrig\n");

    // The files are where the package says, with its modes.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| {
        fs::symlink_metadata(root.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("var/lib/hello"), 0o700);
    assert_eq!(mode("usr/bin/hello3"), 0o755);
    assert_eq!(
        fs::read_link(root.join("usr/bin/hi3")).unwrap(),
        Path::new("hello3")
    );
    assert_eq!(
        fs::metadata(root.join("usr/share/hello/blob.bin"))
            .unwrap()
            .len(),
        300_000
    );

    // The installed packages are the repository's (same identity): nothing to do again.
    let again = apk(&root, &["add", "hello3", "trig", "fooplug"]);
    let again_text = text(&again);
    assert!(again.status.success(), "{again_text}");
    assert!(!again_text.contains("Installing"), "{again_text}");
    assert!(!again_text.contains("Replacing"), "{again_text}");
    assert_eq!(
        read(root.join("lib/apk/db/installed")),
        read(corpus.join("expected/installed-after-add"))
    );

    // And removing them takes everything away.
    let del = apk(&root, &["del", "hello3", "trig", "fooplug"]);
    assert!(del.status.success(), "{}", text(&del));
    assert_eq!(read(root.join("lib/apk/db/installed")), "");
    assert!(!root.join("usr/share/hello").exists());
    assert!(!root.join("etc/hello/hello.conf").exists());
}

#[test]
fn add_with_scripts_runs_post_install_and_the_trigger() {
    let Some(corpus) = apk3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = make_root(tmp.path(), &corpus, &corpus);
    install_shell(&root);
    let out = apk(&root, &["--initdb", "add", "hello3", "trig", "fooplug"]);
    let transcript = text(&out);
    assert!(out.status.success(), "{transcript}");
    assert!(
        transcript.contains("Executing hello3-1.0-r0.post-install\n* post-install 1.0-r0\n"),
        "{transcript}"
    );
    assert!(
        transcript.contains("Executing trig-1-r0.trigger\n* trigger /usr/share/foo/plugA\n"),
        "{transcript}"
    );
    // Scripts that succeed leave the records as apk-tools wrote them without scripts.
    assert_eq!(
        read(root.join("lib/apk/db/installed")),
        read(corpus.join("expected/installed-after-add"))
    );
    assert_eq!(
        read(root.join("lib/apk/db/triggers")),
        read(corpus.join("expected/triggers-after-add"))
    );
}

#[test]
fn package_files_are_recorded_by_their_unique_ids() {
    let Some(corpus) = apk3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = make_root(tmp.path(), &corpus, &corpus);
    // No repository: the files given are all there is.
    fs::write(root.join("etc/apk/repositories"), "").unwrap();
    let hello = corpus.join("x86_64/hello3-1.0-r0.apk");
    let libgreet = corpus.join("x86_64/libgreet-2.1-r0.apk");
    let out = apk(
        &root,
        &[
            "--initdb",
            "--no-scripts",
            "add",
            hello.to_str().unwrap(),
            libgreet.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let installed = read(root.join("lib/apk/db/installed"));
    // The unique id in the package (`info.hashes` 38c123d2…), not the index identity; the
    // rest of the record as from the repository (`S:` is the file size either way).
    let expected = read(corpus.join("expected/installed-after-add"));
    let record = |db: &str, name: &str| {
        db.split("\n\n")
            .find(|r| r.contains(&format!("\nP:{name}\n")))
            .map(|r| r.split_once('\n').map_or("", |(_, rest)| rest).to_owned())
    };
    assert!(
        installed.contains("C:Q1OMEj0l0+OqoR5PksGR9aI9I7K88=\nP:hello3\n"),
        "{installed}"
    );
    assert!(record(&installed, "hello3").is_some(), "{installed}");
    assert_eq!(record(&installed, "hello3"), record(&expected, "hello3"));
    assert_eq!(
        record(&installed, "libgreet"),
        record(&expected, "libgreet")
    );

    // An unsigned package file is refused without --allow-untrusted, and nothing is written.
    let tmp = tempfile::tempdir().unwrap();
    let root = make_root(tmp.path(), &corpus, &corpus);
    fs::write(root.join("etc/apk/repositories"), "").unwrap();
    let unsigned = corpus.join("variants/hello3-unsigned.apk");
    let out = apk(
        &root,
        &[
            "--initdb",
            "--no-scripts",
            "add",
            unsigned.to_str().unwrap(),
            libgreet.to_str().unwrap(),
        ],
    );
    let transcript = text(&out);
    assert!(!out.status.success(), "{transcript}");
    assert!(
        transcript.contains("ERROR: hello3-1.0-r0: ") && transcript.contains("not signed"),
        "{transcript}"
    );
    assert!(!root.join("usr/bin/hello3").exists());
    assert!(!read(root.join("lib/apk/db/installed")).contains("P:hello3"));
}

/// hello3 from the corpus repository, stored without compression (`ADB.`): the inner stream
/// of the `ADBd` file as it is.
fn uncompressed_hello3(corpus: &Path) -> Vec<u8> {
    let data = fs::read(corpus.join("x86_64/hello3-1.0-r0.apk")).unwrap();
    assert!(data.starts_with(b"ADBd"));
    let stream =
        apk_index::adb::decompress(&data, &apk_index::adb::ReadOptions::default()).unwrap();
    assert!(stream.starts_with(b"ADB.pckg"));
    stream.into_owned()
}

#[test]
fn the_compression_wrapper_is_not_part_of_the_identity() {
    let Some(corpus) = apk3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let repo = copy_repo(tmp.path(), &corpus);
    // The same package without compression: same ADB payload, same identity.
    fs::write(
        repo.join("x86_64/hello3-1.0-r0.apk"),
        uncompressed_hello3(&corpus),
    )
    .unwrap();
    let root = make_root(tmp.path(), &corpus, &repo);
    let out = apk(&root, &["--initdb", "--no-scripts", "add", "hello3"]);
    assert!(out.status.success(), "{}", text(&out));
    let installed = read(root.join("lib/apk/db/installed"));
    let expected = read(corpus.join("expected/installed-after-add"));
    let hello_record = |db: &str| {
        db.split("\n\n")
            .find(|r| r.contains("P:hello3\n"))
            .map(str::to_owned)
    };
    assert!(hello_record(&installed).is_some(), "{installed}");
    assert_eq!(hello_record(&installed), hello_record(&expected));
}

#[test]
fn a_tampered_package_is_refused_and_leaves_nothing_behind() {
    let Some(corpus) = apk3() else { return };
    let plain = uncompressed_hello3(&corpus);
    // A byte of the ADB payload (in the description): the identity no longer matches the
    // index's; a byte of the last DATA block (blob.bin): the file hash no longer matches.
    let description = plain
        .windows(18)
        .position(|w| w == b"hello in v3 format")
        .unwrap();
    for (what, at, message) in [
        ("ADB payload", description, "is not the index's"),
        ("DATA block", plain.len() - 100, "hash"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let repo = copy_repo(tmp.path(), &corpus);
        let mut bad = plain.clone();
        bad[at] ^= 0x20;
        fs::write(repo.join("x86_64/hello3-1.0-r0.apk"), &bad).unwrap();
        let root = make_root(tmp.path(), &corpus, &repo);
        let out = apk(&root, &["--initdb", "--no-scripts", "add", "hello3"]);
        let transcript = text(&out);
        assert!(!out.status.success(), "{what}: {transcript}");
        assert!(
            transcript.contains("ERROR: hello3-1.0-r0: ") && transcript.contains(message),
            "{what}: {transcript}"
        );
        assert!(!root.join("usr/bin").exists(), "{what}: files written");
        assert!(!root.join("etc/hello").exists(), "{what}: files written");
        let installed = read(root.join("lib/apk/db/installed"));
        assert!(!installed.contains("P:hello3"), "{what}: {installed}");
    }
}

/// A repository whose index carries a `pkgname-spec` (made and signed by `apk-rs mkndx`):
/// packages are fetched where the template puts them, not at the default
/// `<arch>/<name>-<version>.apk`; an `apk-rs fetch --url` prints the same place.
#[test]
fn packages_are_fetched_where_the_pkgname_spec_puts_them() {
    let Some(corpus) = apk3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    fs::create_dir_all(repo.join("x86_64")).unwrap();
    let mut pooled = Vec::new();
    for (name, version) in [
        ("hello3", "1.0-r0"),
        ("libgreet", "2.1-r0"),
        ("fooplug", "1-r0"),
        ("trig", "1-r0"),
    ] {
        let dir = repo.join("pool").join(&name[..1]);
        fs::create_dir_all(&dir).unwrap();
        let to = dir.join(format!("{name}_{version}.apk"));
        fs::copy(corpus.join(format!("x86_64/{name}-{version}.apk")), &to).unwrap();
        pooled.push(to);
    }
    let package = pooled[0].clone();
    let key = tmp.path().join("test@example-1.rsa");
    fs::copy(corpus.join("keys/test@example-1.rsa"), &key).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_apk-rs"))
        .arg("mkndx")
        .arg("--pkgname-spec")
        .arg("pool/${name:1}/${name}_${version}.apk")
        .arg("--sign-key")
        .arg(&key)
        .arg("--output")
        .arg(repo.join("x86_64/Packages.adb"))
        .args(&pooled)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let root = make_root(tmp.path(), &corpus, &repo);

    let out = apk(&root, &["--initdb", "--no-scripts", "add", "hello3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(root.join("usr/bin/hello3").is_file());
    assert!(read(root.join("lib/apk/db/installed")).contains("P:hello3\n"));

    let out = apk(&root, &["fetch", "--url", "hello3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        package.display().to_string()
    );

    // Where the template puts nothing, the install fails, naming the file it looked for
    // (and the reason once).
    fs::remove_file(&package).unwrap();
    let out = apk(&root, &["--no-scripts", "fix", "-r", "hello3"]);
    let transcript = text(&out);
    assert!(!out.status.success(), "{transcript}");
    let missing = format!("ERROR: {}: No such file or directory", package.display());
    assert!(transcript.contains(&missing), "{transcript}");
    assert_eq!(
        transcript.matches("No such file").count(),
        1,
        "{transcript}"
    );
}
