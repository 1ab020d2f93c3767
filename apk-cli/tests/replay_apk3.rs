//! Replays `$APK_CORPUS/apk3-transactions/`, a sequence of real apk-tools 3.0.6 commands,
//! with `apk-rs`, and compares each step's transcript, `installed`, `world`, `triggers`, what
//! the scripts wrote, and the file tree with what apk-tools produced.
//!
//! The root gets what the recording's root had: the test key, `etc/apk/repositories`, an
//! empty `tmp/`, and a `/bin/sh` (here the host's shell with the libraries it needs, copied in,
//! so that scripts run chrooted as they did under apk-tools). The copied libraries are left
//! out of the tree comparison, as the recording leaves out `bin`, `dev`, `tmp` and `lib/apk`.
//! Two files are compared by presence and mode only: `var/log/apk.log` (its lines carry
//! times) and `etc/apk/repositories` (the test writes it, naming the repositories where they
//! are on this machine).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

#[path = "../../apk-db/tests/support/shell.rs"]
mod shell;

/// Installs the shell; returns its libraries and the directories holding them (except `lib`,
/// apk's own), which the tree comparison leaves out.
fn shell_paths(root: &Path) -> Vec<String> {
    let mut skip: Vec<String> = Vec::new();
    for copied in shell::install_shell(root) {
        if copied == "bin/sh" {
            continue;
        }
        let mut rel = copied.as_str();
        loop {
            if rel != "lib" && !skip.iter().any(|a| a == rel) {
                skip.push(rel.to_owned());
            }
            match rel.rfind('/') {
                Some(i) => rel = &rel[..i],
                None => break,
            }
        }
    }
    skip
}

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("APK_CORPUS")?);
    let t = dir.join("apk3-transactions");
    assert!(
        t.join("README.md").is_file(),
        "APK_CORPUS is set but {} is not readable",
        t.display()
    );
    Some(t)
}

/// The tree listing of the recording: every path outside `bin`, `dev`, `tmp`, `lib/apk` (and
/// the shell's libraries), sorted; type, mode, and the first 16 hex digits of the SHA-256 of
/// files (`apk.log`'s contents differ by nature: only its presence and mode are compared).
fn tree(root: &Path, skip: &[String]) -> Vec<String> {
    fn walk(root: &Path, rel: &str, skip: &[String], out: &mut Vec<String>) {
        let dir = if rel.is_empty() {
            root.to_owned()
        } else {
            root.join(rel)
        };
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            let p = if rel.is_empty() {
                n.clone()
            } else {
                format!("{rel}/{n}")
            };
            if ["bin", "dev", "tmp", "lib/apk"].contains(&p.as_str()) || skip.contains(&p) {
                continue;
            }
            let full = root.join(&p);
            let meta = fs::symlink_metadata(&full).unwrap();
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.push(format!("./{p}/ {mode:o}"));
                walk(root, &p, skip, out);
            } else if meta.file_type().is_symlink() {
                let t = fs::read_link(&full).unwrap();
                out.push(format!("./{p} -> {}", t.display()));
            } else if p == "var/log/apk.log" || p == "etc/apk/repositories" {
                out.push(format!("./{p} {mode:o}"));
            } else {
                let h = Sha256::digest(fs::read(&full).unwrap());
                let hex: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
                out.push(format!("./{p} {mode:o} {hex}"));
            }
        }
    }
    let mut out = vec!["./ 755".to_owned()];
    walk(root, "", skip, &mut out);
    out
}

fn expected_tree(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("./var/log/apk.log ") || l.starts_with("./etc/apk/repositories ") {
                l.rsplit_once(' ').map_or(l, |(a, _)| a).to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect()
}

/// The command line and output of a recorded transcript.
fn transcript(path: &Path) -> (Vec<String>, String, i32) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let cmd = lines.next().unwrap().strip_prefix("$ apk ").unwrap();
    let mut out = String::new();
    let mut rc = 0;
    for l in lines {
        if let Some(r) = l.strip_prefix("rc=") {
            rc = r.parse().unwrap();
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    (cmd.split_whitespace().map(str::to_owned).collect(), out, rc)
}

#[test]
fn replay_apk3_transactions() {
    let Some(t) = corpus() else {
        eprintln!("APK_CORPUS not set: skipping the apk3-transactions replay");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("etc/apk/keys")).unwrap();
    fs::create_dir_all(root.join("tmp")).unwrap();
    fs::copy(
        t.join("keys/test@example-1.rsa.pub"),
        root.join("etc/apk/keys/test@example-1.rsa.pub"),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let key = root.join("etc/apk/keys/test@example-1.rsa.pub");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    }
    let repo = |name: &str| format!("{}\n", t.join(name).display());
    fs::write(root.join("etc/apk/repositories"), repo("repo-a")).unwrap();
    let skip = shell_paths(&root);

    let steps: [(&str, &str, bool); 7] = [
        ("1-add-hello", "1-add-hello", true),
        ("2-upgrade", "2-upgrade", true),
        ("2b-audit", "", false),
        ("3-add-trig", "3-add-trig", true),
        ("4-add-fooplug", "4-add-fooplug", true),
        ("5-del-hello", "5-del-hello", true),
        ("6-del-all", "6-del-all", true),
    ];
    let mut failures = Vec::new();
    for (name, dir, no_cache) in steps {
        if name == "2-upgrade" {
            let conf = root.join("etc/hello.conf");
            let mut text = fs::read_to_string(&conf).unwrap();
            text.push_str("user=edit\n");
            fs::write(&conf, text).unwrap();
            fs::write(root.join("etc/apk/repositories"), repo("repo-b")).unwrap();
        }
        let (args, expected, rc) = transcript(&t.join(format!("steps/{name}.transcript")));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apk-rs"));
        cmd.arg("--root").arg(&root);
        if no_cache {
            cmd.arg("--no-cache");
        }
        let out = cmd.args(&args).output().unwrap();
        let mut got = String::from_utf8_lossy(&out.stdout).into_owned();
        got.push_str(&String::from_utf8_lossy(&out.stderr));
        if got != expected || out.status.code() != Some(rc) {
            failures.push(format!(
                "{name}: transcript differs (rc {:?}, want {rc}):\n--- got\n{got}--- want\n{expected}",
                out.status.code()
            ));
        }
        if dir.is_empty() {
            continue;
        }
        let want = t.join("steps").join(dir);
        for f in ["installed", "world", "triggers"] {
            let ours = root.join(if f == "world" {
                "etc/apk/world".to_owned()
            } else {
                format!("lib/apk/db/{f}")
            });
            if fs::read(&ours).ok() != fs::read(want.join(f)).ok() {
                failures.push(format!("{name}: {f} differs"));
            }
        }
        if let Ok(rd) = fs::read_dir(want.join("script-output")) {
            for e in rd.flatten() {
                let ours = root.join("tmp").join(e.file_name());
                if fs::read(&ours).ok() != fs::read(e.path()).ok() {
                    failures.push(format!("{name}: tmp/{:?} differs", e.file_name()));
                }
            }
        }
        if want.join("trigger-log.txt").exists()
            && fs::read(root.join("trigger-log.txt")).ok()
                != fs::read(want.join("trigger-log.txt")).ok()
        {
            failures.push(format!("{name}: trigger-log.txt differs"));
        }
        let ours = tree(&root, &skip);
        let theirs = expected_tree(&want.join("tree.txt"));
        if ours != theirs {
            failures.push(format!(
                "{name}: tree differs:\n--- got\n{}\n--- want\n{}",
                ours.join("\n"),
                theirs.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("apk3-transactions: 7 steps replayed, transcripts, databases and trees identical");
}
