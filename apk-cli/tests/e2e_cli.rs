//! End-to-end runs of the `apk-rs` binary on a root and a signed repository built here: what
//! goes to stdout and stderr, and the exit status, for a failing script, a file conflict,
//! `--force-overwrite`, a virtual package, `--simulate`, and the lock held by another
//! process (`--wait`). The library side of the same ground is `apk-db/tests/e2e.rs`.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use apk_index::{PackageInfo, SignatureAlgorithm, SigningKey};
use apk_pkg::{IndexBuilder, PackageBuilder, ScriptKind};
use rand::SeedableRng;

#[path = "../../apk-db/tests/support/shell.rs"]
mod shell;
use shell::install_shell;

const KEY_NAME: &str = "e2e-cli@apk-rs.test-00000001.rsa.pub";

fn arch() -> &'static str {
    apk_db::default_arch()
}

/// Build the repository in `dir`: `bad` (its post-install fails), `owner` and `intruder`
/// (both have `usr/share/common/file`), `forced` (the same file again), `a` and `b`.
fn build_repo(dir: &Path, key: &SigningKey) {
    let arch_dir = dir.join(arch());
    fs::create_dir_all(&arch_dir).unwrap();
    let mut index = IndexBuilder::new();
    let mut add = |name: &str, files: &[(&str, &str)], post_install: Option<&str>| {
        let mut info = PackageInfo::new(name, "1.0-r0");
        info.arch = Some(arch().to_owned());
        info.description = format!("{name} (apk-rs e2e cli test)");
        info.origin = Some(name.to_owned());
        let mut b = PackageBuilder::new(info);
        for (path, content) in files {
            b.add_file(path, 0o644, *content).unwrap();
        }
        if let Some(script) = post_install {
            b.script(ScriptKind::PostInstall, script);
        }
        b.sign_with(key, SignatureAlgorithm::RsaSha1);
        let path = arch_dir.join(format!("{name}-1.0-r0.apk"));
        b.write(fs::File::create(&path).unwrap()).unwrap();
        index.add_file(&path).unwrap();
    };
    add(
        "bad",
        &[("usr/share/bad/f", "bad\n")],
        Some("#!/bin/sh\necho about to fail\nexit 3\n"),
    );
    add("owner", &[("usr/share/common/file", "owner\n")], None);
    add("intruder", &[("usr/share/common/file", "intruder\n")], None);
    add("forced", &[("usr/share/common/file", "forced\n")], None);
    add("a", &[("usr/share/a/f", "a\n")], None);
    add("b", &[("usr/share/b/f", "b\n")], None);
    let archive = index
        .write_archive(&[(key, SignatureAlgorithm::RsaSha1)])
        .unwrap();
    fs::write(arch_dir.join("APKINDEX.tar.gz"), archive).unwrap();
}

/// Puts `key`'s public half into `root`'s keys directory.
fn trust_key(root: &Path, key: &SigningKey) {
    fs::create_dir_all(root.join("etc/apk/keys")).unwrap();
    fs::write(
        root.join("etc/apk/keys").join(KEY_NAME),
        key.public_key().to_pem(),
    )
    .unwrap();
}

/// Makes `repo` the only repository of `root`.
fn use_repository(root: &Path, repo: &Path) {
    fs::write(
        root.join("etc/apk/repositories"),
        format!("{}\n", repo.display()),
    )
    .unwrap();
}

struct Setup {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(0xc11e_2e0e);
        let key = SigningKey::generate(KEY_NAME, 1024, &mut rng).unwrap();
        let repo = tmp.path().join("repo");
        build_repo(&repo, &key);
        let root = tmp.path().join("root");
        trust_key(&root, &key);
        use_repository(&root, &repo);
        install_shell(&root);
        Setup { _tmp: tmp, root }
    }

    fn apk(&self, args: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_apk-rs"))
            .arg("--root")
            .arg(&self.root)
            .args(args.split_whitespace())
            .output()
            .unwrap()
    }

    fn installed(&self) -> String {
        fs::read_to_string(self.root.join("lib/apk/db/installed")).unwrap()
    }

    fn record(&self, name: &str) -> String {
        self.installed()
            .split("\n\n")
            .find(|r| r.lines().any(|l| l == format!("P:{name}")))
            .unwrap_or_else(|| panic!("{name} is not installed"))
            .to_owned()
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn transcripts_and_exit_statuses() {
    let s = Setup::new();

    // A failing post-install: the package stays, marked; one error, exit status 1.
    let out = s.apk("--initdb add bad");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "(1/1) Installing bad (1.0-r0)\n  Executing bad-1.0-r0.post-install\n* about to fail\n"
    );
    let mut err = stderr.lines();
    assert_eq!(
        err.next(),
        Some("ERROR: bad-1.0-r0.post-install: script exited with error 3")
    );
    let summary = err.next().unwrap_or_default();
    assert!(
        summary.starts_with("1 error; ") && summary.ends_with(" in 1 packages"),
        "{stderr}"
    );
    assert!(s.record("bad").lines().any(|l| l == "f:s"));
    assert_eq!(
        fs::read_to_string(s.root.join("usr/share/bad/f")).unwrap(),
        "bad\n"
    );

    // A conflict: an error on stderr, the owner's file kept, the newcomer marked.
    assert!(s.apk("add owner").status.success());
    let out = s.apk("add intruder");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stdout, "(1/1) Installing intruder (1.0-r0)\n");
    assert!(
        stderr.starts_with(
            "ERROR: intruder-1.0-r0: trying to overwrite usr/share/common/file owned by owner-1.0-r0.\n1 error; "
        ),
        "{stderr}"
    );
    let common = s.root.join("usr/share/common/file");
    assert_eq!(fs::read_to_string(&common).unwrap(), "owner\n");
    assert!(s.record("intruder").lines().any(|l| l == "f:f"));

    // `fix` without names retries every package recorded with errors; with --force-overwrite
    // the intruder's file goes in and its mark is cleared.
    let out = s.apk("--force-overwrite fix");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(
            "(1/2) Reinstalling bad (1.0-r0)\n(2/2) Reinstalling intruder (1.0-r0)\nOK: "
        ),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        "WARNING: intruder-1.0-r0: overwriting usr/share/common/file owned by owner-1.0-r0.\n"
    );
    assert_eq!(fs::read_to_string(&common).unwrap(), "intruder\n");
    // A reinstall runs upgrade scripts; `bad` has only a post-install, so nothing fails.
    for name in ["intruder", "bad"] {
        assert!(
            !s.record(name).lines().any(|l| l.starts_with("f:")),
            "{name}"
        );
    }
    // Nothing is left to fix.
    let out = s.apk("fix");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("OK: "), "{stdout}");

    // --force-overwrite: a warning, exit status 0.
    let out = s.apk("--force-overwrite add forced");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "WARNING: forced-1.0-r0: overwriting usr/share/common/file owned by intruder-1.0-r0.\n"
    );
    assert!(
        stdout.starts_with("(1/1) Installing forced (1.0-r0)\nOK: "),
        "{stdout}"
    );
    assert_eq!(fs::read_to_string(&common).unwrap(), "forced\n");

    // --simulate changes nothing; then a virtual package for real.
    let before = s.installed();
    let out = s.apk("-s add -t .virt a b");
    assert!(out.status.success());
    assert_eq!(s.installed(), before);
    assert!(!s.root.join("usr/share/a").exists());
    let out = s.apk("add -t .virt=1-r0 a b");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("Installing .virt (1-r0)\n"),
        "{stdout}{stderr}"
    );
    let world = fs::read_to_string(s.root.join("etc/apk/world")).unwrap();
    assert!(world.lines().any(|l| l == ".virt"), "{world}");
    assert!(!world.lines().any(|l| l == "a" || l == "b"), "{world}");
    assert!(s.record(".virt").lines().any(|l| l == "D:a b"));
    let out = s.apk("del .virt");
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(!s.root.join("usr/share/a").exists());
    assert!(!s.installed().contains("P:a\n"));
}

/// `upgrade` upgrades apk-tools first in a transaction of its own ("Preupgrading:"), then
/// goes on with the rest; `--self-upgrade-only` stops after the first part and
/// `--no-self-upgrade` skips it.
#[test]
fn upgrade_preupgrades_apk_tools_first() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5e1f);
    let key = SigningKey::generate(KEY_NAME, 1024, &mut rng).unwrap();
    let build = |repo: &str, version: &str| -> PathBuf {
        let dir = tmp.path().join(repo);
        let arch_dir = dir.join(arch());
        fs::create_dir_all(&arch_dir).unwrap();
        let mut index = IndexBuilder::new();
        for name in ["apk-tools", "app", "tool"] {
            let mut info = PackageInfo::new(name, version);
            info.arch = Some(arch().to_owned());
            let mut b = PackageBuilder::new(info);
            b.add_file(&format!("usr/share/{name}/v"), 0o644, version)
                .unwrap();
            b.sign_with(&key, SignatureAlgorithm::RsaSha1);
            let path = arch_dir.join(format!("{name}-{version}.apk"));
            b.write(fs::File::create(&path).unwrap()).unwrap();
            index.add_file(&path).unwrap();
        }
        let archive = index
            .write_archive(&[(&key, SignatureAlgorithm::RsaSha1)])
            .unwrap();
        fs::write(arch_dir.join("APKINDEX.tar.gz"), archive).unwrap();
        dir
    };
    let (old, new) = (build("old", "1.0-r0"), build("new", "2.0-r0"));
    let root = tmp.path().join("root");
    trust_key(&root, &key);
    let use_repo = |dir: &Path| use_repository(&root, dir);
    let apk = |args: &str| {
        Command::new(env!("CARGO_BIN_EXE_apk-rs"))
            .arg("--root")
            .arg(&root)
            .args(args.split_whitespace())
            .output()
            .unwrap()
    };
    use_repo(&old);
    assert!(
        apk("--initdb --no-cache add apk-tools app tool")
            .status
            .success()
    );
    use_repo(&new);

    let out = apk("--no-cache upgrade --self-upgrade-only");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("Preupgrading:\n(1/1) Upgrading apk-tools (1.0-r0 -> 2.0-r0)\nOK: "),
        "{stdout}"
    );
    assert!(!stdout.contains("Continuing"), "{stdout}");
    let version =
        |name: &str| fs::read_to_string(root.join(format!("usr/share/{name}/v"))).unwrap();
    assert_eq!(
        (version("apk-tools"), version("app")),
        ("2.0-r0".into(), "1.0-r0".into())
    );

    // Back to the old apk-tools for the full run.
    use_repo(&old);
    assert!(apk("--no-cache add apk-tools=1.0-r0").status.success());
    assert!(apk("--no-cache add apk-tools").status.success());
    use_repo(&new);
    // Simulated: apk-tools cannot really go first, so the whole upgrade is shown, with a
    // warning; nothing changes.
    let out = apk("--no-cache -s upgrade");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "WARNING: This simulation is not reliable as apk-tools upgrade is available.\n"
    );
    assert!(
        stdout.starts_with(
            "(1/3) Upgrading apk-tools (1.0-r0 -> 2.0-r0)\n(2/3) Upgrading app (1.0-r0 -> 2.0-r0)\n\
             (3/3) Upgrading tool (1.0-r0 -> 2.0-r0)\nOK: "
        ),
        "{stdout}"
    );
    assert_eq!(version("apk-tools"), "1.0-r0");
    let out = apk("--no-cache upgrade");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0..2],
        [
            "Preupgrading:",
            "(1/1) Upgrading apk-tools (1.0-r0 -> 2.0-r0)"
        ]
    );
    assert!(lines[2].starts_with("OK: "), "{stdout}");
    assert_eq!(
        lines[3..6],
        [
            "Continuing with the main upgrade transaction:",
            "(1/2) Upgrading app (1.0-r0 -> 2.0-r0)",
            "(2/2) Upgrading tool (1.0-r0 -> 2.0-r0)",
        ],
        "{stdout}"
    );
    assert!(lines[6].starts_with("OK: ") && lines.len() == 7, "{stdout}");
    assert_eq!(
        (version("apk-tools"), version("app"), version("tool")),
        ("2.0-r0".into(), "2.0-r0".into(), "2.0-r0".into())
    );
    // Nothing left: one plain transaction.
    let out = apk("--no-cache upgrade");
    assert!(text(&out).0.starts_with("OK: "), "{:?}", text(&out));
}

/// Another process holds the lock: apk-rs fails at once, or waits with `--wait`.
#[test]
fn lock_held_by_another_process() {
    let s = Setup::new();
    assert!(s.apk("--initdb add a").status.success());
    let lock = s.root.join("lib/apk/db/lock");
    let Ok(mut child) = Command::new("flock")
        .arg(&lock)
        .args(["-c", "echo locked; sleep 1"])
        .stdout(Stdio::piped())
        .spawn()
    else {
        eprintln!("no flock(1): skipped");
        return;
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "locked\n");
    let out = s.apk("add b");
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.starts_with("ERROR: Unable to lock database"),
        "{stderr}"
    );
    assert!(!s.installed().contains("P:b\n"));
    let start = Instant::now();
    let out = s.apk("--wait 10 add b");
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(start.elapsed() > Duration::from_millis(200));
    assert!(child.wait().unwrap().success());
    assert!(s.installed().contains("P:b\n"));
}

/// A package file given on the command line is trusted only through its own signature: one
/// signed by a key the root does not trust is refused (nothing of it is left, world and the
/// database keep what the earlier packages of the same commit did), and accepted with
/// `--allow-untrusted`. A progress bar is drawn on stderr only when asked for.
#[test]
fn local_package_files_and_progress() {
    let s = Setup::new();
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let stranger = SigningKey::generate("stranger-1.rsa.pub", 1024, &mut rng).unwrap();
    let mut info = PackageInfo::new("loose", "2-r0");
    info.arch = Some(arch().to_owned());
    let mut b = PackageBuilder::new(info);
    b.add_file("usr/share/loose/f", 0o644, "loose\n").unwrap();
    b.sign_with(&stranger, SignatureAlgorithm::RsaSha256);
    let file = tmp.path().join("loose-2-r0.apk");
    b.write(fs::File::create(&file).unwrap()).unwrap();
    let file = file.display().to_string();

    let out = s.apk(&format!("--initdb add a {file}"));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("loose-2-r0: package is not trusted"),
        "{stderr}"
    );
    assert!(!s.root.join("usr/share/loose").exists());
    // `a` came first in the changeset and stays, recorded; the new world was not written.
    assert!(s.root.join("usr/share/a/f").exists());
    assert!(s.record("a").contains("F:usr/share/a"));
    assert_eq!(
        fs::read_to_string(s.root.join("etc/apk/world")).unwrap(),
        "\n"
    );
    assert!(!s.root.join("lib/apk/db/apk-rs.journal").exists());

    let out = s.apk(&format!("--allow-untrusted --progress add a {file}"));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(s.record("loose").contains("R:f"));
    assert_eq!(
        fs::read_to_string(s.root.join("etc/apk/world")).unwrap(),
        "a\nloose=2-r0\n"
    );
    assert!(stderr.contains("] 100%"), "{stderr:?}");
    assert!(stderr.ends_with("\r\x1b[K"), "{stderr:?}");
    let out = s.apk("del loose");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.is_empty(),
        "no progress bar unless asked: {stderr:?}"
    );
    assert!(!s.root.join("usr/share/loose").exists());
}

/// Commit hooks run inside the root, before and after the commit, in name order; a failing
/// `pre-commit` hook stops the commit before anything changes; `--no-commit-hooks` skips
/// them.
#[test]
fn commit_hooks() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let hooks = s.root.join("etc/apk/commit_hooks.d");
    fs::create_dir_all(&hooks).unwrap();
    let hook = |name: &str, body: &str| {
        let p = hooks.join(name);
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    };
    hook("10-log", "#!/bin/sh\necho \"${0##*/} $1\" >> /hooks.log\n");
    hook("20-log", "#!/bin/sh\necho \"${0##*/} $1\" >> /hooks.log\n");
    fs::write(hooks.join("30-not-executable"), "#!/bin/sh\nexit 1\n").unwrap();
    let out = s.apk("--initdb add a");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(
        fs::read_to_string(s.root.join("hooks.log")).unwrap(),
        "10-log pre-commit\n20-log pre-commit\n10-log post-commit\n20-log post-commit\n"
    );

    hook(
        "15-veto",
        "#!/bin/sh\n[ \"$1\" = pre-commit ] && exit 1\nexit 0\n",
    );
    let out = s.apk("add b");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("/etc/apk/commit_hooks.d/15-veto: pre-commit hook failed"),
        "{stderr}"
    );
    assert!(!s.root.join("usr/share/b").exists());
    assert_eq!(
        fs::read_to_string(s.root.join("etc/apk/world")).unwrap(),
        "a\n"
    );

    let out = s.apk("--no-commit-hooks add b");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(s.root.join("usr/share/b/f").exists());
}
