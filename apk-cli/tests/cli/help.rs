//! `--help`, `--version` and usage errors.

use crate::util::Dir;

#[test]
fn top_level_help_lists_commands_and_global_options() {
    let out = Dir::new().apk(["--help"]);
    assert_eq!(out.code, 0, "{out:?}");
    for needle in [
        "version",
        "verify",
        "--root",
        "--keys-dir",
        "--allow-untrusted",
        "--quiet",
        "--verbose",
    ] {
        assert!(
            out.stdout.contains(needle),
            "--help lacks {needle}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn subcommand_help_works() {
    let dir = Dir::new();
    for (cmd, needle) in [("version", "--version-rules"), ("verify", "<FILE>...")] {
        for args in [vec![cmd, "--help"], vec!["help", cmd], vec![cmd, "-h"]] {
            let out = dir.apk(&args);
            assert_eq!(out.code, 0, "{out:?}");
            assert!(
                out.stdout.contains(needle),
                "{args:?} lacks {needle}:\n{}",
                out.stdout
            );
            assert!(out.stdout.contains("Global options"), "{}", out.stdout);
        }
    }
}

#[test]
fn version_flag_prints_the_program_version() {
    Dir::new()
        .apk(["--version"])
        .assert(0, &format!("apk-rs {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_2() {
    let dir = Dir::new();
    for args in [vec![], vec!["--bogus"], vec!["verify"], vec!["frobnicate"]] {
        let out = dir.apk(&args);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        assert!(out.stderr.contains("Usage: apk-rs"), "{out:?}");
    }
}

#[test]
fn global_options_are_accepted_after_the_command() {
    Dir::new()
        .apk([
            "version",
            "-q",
            "--root",
            "/nonexistent",
            "--allow-untrusted",
            "-t",
            "1",
            "2",
        ])
        .assert(0, "<\n");
}

#[test]
fn closed_stdout_is_not_an_error() {
    use std::process::{Command, Stdio};
    // More output than a pipe buffer holds, to a reader that is gone.
    let mut child = Command::new(env!("CARGO_BIN_EXE_apk-rs"))
        .args(["version", "-c"])
        .args((0..20_000).map(|i| format!("invalid{i}")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run apk-rs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for apk-rs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--print-arch` prints the root's primary architecture (scripts use `$(apk --print-arch)`):
/// `--arch`, else the first word of `ROOT/etc/apk/arch`, else this machine's.
#[test]
fn print_arch() {
    let dir = crate::util::Dir::new();
    dir.create("root/etc/apk/arch", "armv7 armhf\n");
    dir.apk(["--root", "root", "--print-arch"])
        .assert(0, "armv7\n");
    dir.apk(["--print-arch", "-p", "root", "--arch", "aarch64"])
        .assert(0, "aarch64\n");
    dir.apk(["--root", "elsewhere", "--print-arch"])
        .assert(0, &format!("{}\n", apk_db::default_arch()));
}

/// The commands that change a root take `-h`/`--help` (anywhere before `--`) and print their
/// usage with the global options; `--help` lists them.
#[test]
fn root_commands_have_help() {
    let dir = crate::util::Dir::new();
    for (cmd, needle) in [
        ("add", "--virtual NAME[=VERSION]"),
        ("del", "--rdepends"),
        ("upgrade", "--self-upgrade-only"),
        ("fix", "--reinstall"),
        ("update", "Refresh the repository indexes."),
    ] {
        for flag in ["--help", "-h", "--hel"] {
            let out = dir.apk(["--root", "nowhere", cmd, flag]);
            assert_eq!(out.code, 0, "{cmd} {flag}: {out:?}");
            assert!(
                out.stdout
                    .starts_with(&format!("Usage: apk-rs [GLOBAL OPTIONS] {cmd}")),
                "{cmd} {flag}: {out:?}"
            );
            assert!(out.stdout.contains(needle), "{cmd}: {}", out.stdout);
            assert!(out.stdout.contains("  -s, --simulate"), "{}", out.stdout);
        }
    }
    let out = dir.apk(["--help"]);
    assert!(
        out.stdout
            .contains("Commands that change a root (see `apk-rs COMMAND --help`):\n  add "),
        "{}",
        out.stdout
    );
}
