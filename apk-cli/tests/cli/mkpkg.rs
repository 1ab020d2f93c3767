//! `apk-rs mkpkg`: packages built from a tree in the test directory, read back with apk-pkg's
//! reader and checked against the signing key.

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use apk_index::keys::{KeySet, SigningKey};
use apk_pkg::{EntryKind, PackageReader};
use rand::SeedableRng;

use crate::util::Dir;

/// The private key file name; the package names the public key `KEY_FILE.pub`.
const KEY_FILE: &str = "builder@example.org-5f00aa11.rsa";

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        SigningKey::generate(&format!("{KEY_FILE}.pub"), 1024, &mut rng).expect("generate a key")
    })
}

/// A directory with a file tree in `root/`, two scripts and the private key in `keys/`.
fn fixture() -> Dir {
    let dir = Dir::new();
    dir.create("root/usr/bin/hello", "#!/bin/sh\necho hello\n");
    dir.create("root/etc/hello.conf", "greeting=hello\n");
    dir.create("root/usr/share/hello/empty", "");
    std::os::unix::fs::symlink("hello", dir.join("root/usr/bin/hi")).expect("symlink");
    let exe = dir.join("root/usr/bin/hello");
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    dir.create("post-install.sh", "#!/bin/sh\necho installed\n");
    dir.create("trigger.sh", "#!/bin/sh\necho \"$@\"\n");
    dir.create(Path::new("keys").join(KEY_FILE), key().private_key_pem());
    dir
}

fn mkpkg_args(out: &str) -> Vec<String> {
    [
        "mkpkg",
        "-I",
        "name:hello",
        "-I",
        "version:1.0-r0",
        "-I",
        "description:says hello",
        "-I",
        "arch:x86_64",
        "-I",
        "license:MIT",
        "-I",
        "url:https://example.org/hello",
        "-I",
        "origin:hello",
        "-I",
        "maintainer:Test <test@example.org>",
        "-I",
        "build-time:1700000000",
        "-I",
        "provider-priority:10",
        "-I",
        "replaces-priority:3",
        "-I",
        "depends:musl>=1.2 so:libc.musl-x86_64.so.1",
        "-I",
        "depends:!hello-old",
        "-I",
        "provides:cmd:hello=1.0-r0",
        "-I",
        "replaces:hello-legacy",
        "-I",
        "install-if:hello-base busybox",
        "-F",
        "root",
        "-s",
        "post-install:post-install.sh",
        "-s",
        "trigger:trigger.sh",
        "-t",
        "/usr/share/hello/*",
        "--sign-key",
        &format!("keys/{KEY_FILE}"),
        "-o",
        out,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

#[test]
fn builds_a_signed_package() {
    let dir = fixture();
    dir.apk(mkpkg_args("hello.apk")).assert(0, "");
    assert!(!dir.join("hello.apk.tmp").exists());

    let file = std::fs::read(dir.join("hello.apk")).expect("the package");
    let mut reader = PackageReader::new(&file[..]).expect("read the package");
    let info = reader.info().clone();
    assert_eq!(info.name, "hello");
    assert_eq!(info.version, "1.0-r0");
    assert_eq!(info.description, "says hello");
    assert_eq!(info.arch.as_deref(), Some("x86_64"));
    assert_eq!(info.maintainer.as_deref(), Some("Test <test@example.org>"));
    assert_eq!(info.build_time, 1_700_000_000);
    assert_eq!((info.provider_priority, info.replaces_priority), (10, 3));
    let deps: Vec<String> = info.depends.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        deps,
        ["musl>=1.2", "so:libc.musl-x86_64.so.1", "!hello-old"]
    );
    assert_eq!(info.provides.len(), 1);
    assert_eq!(info.replaces.len(), 1);
    assert_eq!(info.install_if.len(), 2);
    assert_eq!(info.triggers, ["/usr/share/hello/*"]);
    assert_eq!(info.installed_size, 21 + 15);
    assert!(info.datahash.is_some());

    // Signed as the public key's file name: the private key's name plus ".pub".
    let names: Vec<&str> = reader.signatures().iter().map(|s| s.key_name()).collect();
    assert_eq!(names, [format!("{KEY_FILE}.pub")]);
    let mut keys = KeySet::new();
    keys.insert(format!("{KEY_FILE}.pub"), key().public_key());
    reader.verify(&keys).expect("the signature verifies");

    let scripts: Vec<String> = reader
        .scripts()
        .iter()
        .map(|(k, _)| k.to_string())
        .collect();
    assert_eq!(scripts, ["post-install", "trigger"]);

    let mut entries = Vec::new();
    while let Some(mut entry) = reader.next_entry().expect("an entry") {
        let mut content = Vec::new();
        if matches!(entry.kind(), EntryKind::File) {
            entry.read_to_end(&mut content).expect("content");
        }
        let link = match entry.kind() {
            EntryKind::Symlink { target } => target.display().to_string(),
            _ => String::new(),
        };
        entries.push((
            entry.path().display().to_string(),
            entry.mode(),
            entry.uid(),
            entry.mtime(),
            String::from_utf8(content).expect("utf-8"),
            link,
        ));
    }
    let e = |p: &str, mode: u32, content: &str, link: &str| {
        (
            p.to_owned(),
            mode,
            0u64,
            0u64,
            content.to_owned(),
            link.to_owned(),
        )
    };
    assert_eq!(
        entries,
        [
            e("etc", 0o755, "", ""),
            e("etc/hello.conf", 0o644, "greeting=hello\n", ""),
            e("usr", 0o755, "", ""),
            e("usr/bin", 0o755, "", ""),
            e("usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n", ""),
            e("usr/bin/hi", 0o777, "", "hello"),
            e("usr/share", 0o755, "", ""),
            e("usr/share/hello", 0o755, "", ""),
            e("usr/share/hello/empty", 0o644, "", ""),
        ]
    );
    let summary = reader.finish().expect("the package reads to its end");
    assert_eq!(summary.file_size(), file.len() as u64);

    // -v prints the identity, which is the same for the same inputs.
    let out = dir.apk({
        let mut args = mkpkg_args("again.apk");
        args.push("-v".into());
        args
    });
    assert_eq!(out.stdout, format!("again.apk: {}\n", summary.identity()));
    assert!(file == std::fs::read(dir.join("again.apk")).expect("the second package"));
}

#[test]
fn default_output_name_and_source_date_epoch() {
    let dir = fixture();
    let run = |epoch: &str| {
        let status = Command::new(env!("CARGO_BIN_EXE_apk-rs"))
            .args([
                "mkpkg",
                "-I",
                "name:tiny",
                "-I",
                "version:2-r1",
                "-F",
                "root",
            ])
            .env("SOURCE_DATE_EPOCH", epoch)
            .current_dir(dir.path())
            .status()
            .expect("run apk-rs");
        assert!(status.success());
        std::fs::read(dir.join("tiny-2-r1.apk")).expect("NAME-VERSION.apk")
    };
    let file = run("1600000000");
    let mut reader = PackageReader::new(&file[..]).expect("read");
    assert!(reader.signatures().is_empty());
    let entry = reader.next_entry().expect("an entry").expect("not empty");
    assert_eq!(entry.mtime(), 1_600_000_000);
    drop(entry);
    reader.finish().expect("finish");
    assert!(run("1600000000") == file);
    assert!(run("1600000001") != file);
}

#[test]
fn usage_problems_are_reported() {
    let dir = fixture();
    let fail = |args: &[&str], message: &str| {
        let out = dir.apk(args);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    };
    fail(
        &["mkpkg", "-I", "name:a", "-I", "colour:blue"],
        "ERROR: unknown info key \"colour\"; known keys: name, version, description, arch, \
         license, origin, maintainer, url, commit, repo-commit, build-time, provider-priority, \
         replaces-priority, depends, provides, replaces, install-if",
    );
    fail(&["mkpkg", "-I", "version:1-r0"], "no package name");
    fail(&["mkpkg", "-I", "name:a"], "no package version");
    fail(&["mkpkg", "-I", "name"], "expected KEY:VALUE");
    fail(
        &["mkpkg", "-I", "name:a", "-I", "name:b", "-I", "version:1"],
        "info key \"name\" given more than once",
    );
    fail(
        &[
            "mkpkg",
            "-I",
            "name:a",
            "-I",
            "version:1",
            "-I",
            "depends:musl a>=x",
        ],
        "ERROR: invalid -I depends: invalid dependency 'a>=x': invalid version after the operator",
    );
    fail(
        &[
            "mkpkg",
            "-I",
            "name:a",
            "-I",
            "version:1",
            "--compression",
            "none",
        ],
        "--compression applies to --format v3 only",
    );
    fail(
        &[
            "mkpkg",
            "-I",
            "name:a",
            "-I",
            "version:1",
            "--format",
            "v3",
            "--compression",
            "lzma",
        ],
        "unsupported compression \"lzma\"",
    );
    fail(
        &[
            "mkpkg",
            "-I",
            "name:a",
            "-I",
            "version:1",
            "-s",
            "post-instal:x",
        ],
        "unknown script type 'post-instal'",
    );
    fail(
        &["mkpkg", "-I", "name:a", "-I", "version:1", "-t", "/x/*"],
        "the package has triggers but no trigger script",
    );
    fail(
        &[
            "mkpkg",
            "-I",
            "name:a",
            "-I",
            "version:1",
            "--sign-key",
            "keys/missing.rsa",
        ],
        "failed to read private key keys/missing.rsa",
    );
    fail(
        &[
            "mkpkg",
            "-I",
            "name:a",
            "-I",
            "version:x.y",
            "-o",
            "bad.apk",
        ],
        "invalid package version",
    );
    // The failed build left neither the package nor its temporary file.
    assert!(!dir.join("bad.apk").exists());
    assert!(!dir.join("bad.apk.tmp").exists());
    fail(
        &[
            "mkpkg",
            "-I",
            "name:a",
            "-I",
            "version:1",
            "-F",
            "nonexistent",
        ],
        "failed to read nonexistent",
    );

    let out = dir.apk(["mkpkg", "--format", "v9"]);
    assert_eq!(out.code, 2, "{out:?}");
}
