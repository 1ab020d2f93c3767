//! Compiles `tests/c/test_index.c` against `include/apk.h`, links it with the static library
//! and runs it on data made here: an APKINDEX, the same index as a signed `APKINDEX.tar.gz`,
//! and keys generated for the test. Runs natively, under valgrind when installed, and with
//! sanitizers when the compiler has them.
//!
//! The compiling and running helpers here ([`run_c_program`], [`assert_passed`]) serve all the
//! C tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use apk_index::SignatureAlgorithm;
use apk_index::archive::write_index_archive;
use apk_index::keys::SigningKey;
use rand::SeedableRng;

use crate::header::header_path;

const KEY_NAME: &str = "capi-test@example.org-5f0c3b1e.rsa.pub";
const OTHER_KEY_NAME: &str = "other@example.org-1a2b3c4d.rsa.pub";

/// Four packages: two ordinary ones, one with install_if and a conflict, and one whose version
/// apk-tools rejects (it loads, but is not installable).
const APKINDEX: &str = "\
C:Q1pnXmBGfnIwxlVu3MG+SMeJRp9aM=
P:musl
V:1.2.5-r0
A:x86_64
S:411323
I:641536
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1712345678
c:0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c
p:so:libc.musl-x86_64.so.1=1

C:Q1LxBvJ/ofKKik4CrrENc7ePnJsko=
P:busybox
V:1.36.1-r29
A:x86_64
S:509829
I:957952
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
m:Sören Tempel <soeren+alpine@soeren-tempel.net>
t:1712345679
c:8d1f33a8c1d2e1a4b5c6d7e8f9a0b1c2d3e4f5a6
k:100
D:so:libc.musl-x86_64.so.1
p:/bin/sh cmd:busybox=1.36.1-r29 cmd:sh=1.36.1-r29

P:busybox-doc
V:1.36.1-r29
A:x86_64
S:1000
I:2000
T:Size optimized toolbox of many common UNIX utilities (documentation)
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
D:!busybox-extras
i:docs busybox=1.36.1-r29

P:broken
V:1.0_foobar
S:1
I:1
T:a package whose version apk-tools rejects
U:
L:MIT

";

/// Lines the C program must print (each checked on its own).
const EXPECTED_LINES: &[&str] = &[
    concat!("library version: ", env!("CARGO_PKG_VERSION")),
    "signed by: capi-test@example.org-5f0c3b1e.rsa.pub",
    "description: capi test repository",
    "package musl 1.2.5-r0",
    "  provides: so:libc.musl-x86_64.so.1=1",
    "package busybox 1.36.1-r29",
    "  depends: so:libc.musl-x86_64.so.1",
    "  provides: /bin/sh",
    "  provides: cmd:sh=1.36.1-r29",
    "package busybox-doc 1.36.1-r29",
    "  depends: !busybox-extras",
    "  install_if: docs",
    "  install_if: busybox=1.36.1-r29",
    "package broken 1.0_foobar (not installable)",
    "busybox identity: Q1LxBvJ/ofKKik4CrrENc7ePnJsko=",
];

/// The files the C program reads, in its argument order.
struct Fixture {
    dir: tempfile::TempDir,
    args: Vec<PathBuf>,
}

fn make_fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let root = dir.path();
    let key = SigningKey::generate(KEY_NAME, 1024, &mut rand::rngs::StdRng::seed_from_u64(1))
        .expect("generate the signing key");
    let other = SigningKey::generate(
        OTHER_KEY_NAME,
        1024,
        &mut rand::rngs::StdRng::seed_from_u64(2),
    )
    .expect("generate the other key");

    let write = |path: PathBuf, data: &[u8]| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create a fixture directory");
        }
        std::fs::write(&path, data).expect("write a fixture file");
        path
    };
    let archive = write_index_archive(
        APKINDEX.as_bytes(),
        Some(b"capi test repository\n"),
        &[(&key, SignatureAlgorithm::RsaSha1)],
    )
    .expect("write the signed index");

    let archive = write(root.join("APKINDEX.tar.gz"), &archive);
    let text = write(root.join("APKINDEX"), APKINDEX.as_bytes());
    let keys = root.join("keys");
    write(keys.join(KEY_NAME), key.public_key().to_pem().as_bytes());
    let other_keys = root.join("other-keys");
    write(
        other_keys.join(OTHER_KEY_NAME),
        other.public_key().to_pem().as_bytes(),
    );
    // A private key next to the public ones is skipped when a directory is loaded.
    write(other_keys.join("README"), b"not a key\n");
    let private_key = write(root.join("signing.rsa"), key.private_key_pem().as_bytes());

    Fixture {
        args: vec![
            archive,
            text,
            keys,
            other_keys,
            private_key,
            KEY_NAME.into(),
            OTHER_KEY_NAME.into(),
        ],
        dir,
    }
}

/// The valgrind command line the C tests run under (errors and definite or possible leaks
/// fail the run, except the standard library's one handle per thread listed in
/// `tests/valgrind.supp`), followed by the program and its arguments.
fn valgrind() -> Command {
    let mut command = Command::new("valgrind");
    command.args([
        "--error-exitcode=99",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,possible",
        "--quiet",
    ]);
    command.arg(format!(
        "--suppressions={}/tests/valgrind.supp",
        env!("CARGO_MANIFEST_DIR")
    ));
    command
}

/// The flags that build a C test with AddressSanitizer and UndefinedBehaviorSanitizer.
const SANITIZER_FLAGS: &[&str] = &[
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
];

/// `target/<profile>`, from this test's own path, `target/<profile>/deps/capi-<hash>`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps")
        .to_owned()
}

/// The static library, `libapk.a`. Building this test builds the library with all its crate
/// types, and cargo puts the staticlib in `deps/` (staticlib names carry no hash) and copies it
/// to the profile directory. If neither exists (the test binary run by hand after a clean),
/// build it.
fn static_library() -> PathBuf {
    let profile = profile_dir();
    let candidates = [profile.join("deps/libapk.a"), profile.join("libapk.a")];
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return found.clone();
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = profile.parent().expect("target/<profile> has a parent");
    let mut build = Command::new(cargo);
    build
        .args(["build", "-p", "capi", "--lib"])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile.file_name().is_some_and(|name| name == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p capi failed");
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .expect("cargo build -p capi makes libapk.a")
}

fn compiler() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_owned())
}

/// Compiles the C test `tests/c/<source>` with `extra` flags into `out`. Returns the
/// compiler's output on failure.
fn compile(source: &str, out: &Path, extra: &[&str]) -> Result<(), String> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let include = header_path()
        .parent()
        .expect("the header is in include/")
        .to_owned();
    let output = Command::new(compiler())
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
            "-g",
        ])
        .args(extra)
        .arg("-I")
        .arg(include)
        .arg(crate_dir.join("tests/c").join(source))
        .arg(static_library())
        .args(["-lpthread", "-ldl", "-lm"])
        .arg("-o")
        .arg(out)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", compiler()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

pub fn describe(output: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

/// Asserts that a run of a C test succeeded, printed every line of `expected` and its
/// "all N checks passed" line.
pub fn assert_passed(what: &str, output: &Output, expected: &[&str]) {
    // Shown with `--nocapture`.
    println!("{what}:\n{}", describe(output));
    assert!(
        output.status.success(),
        "{what} failed\n{}",
        describe(output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in expected {
        assert!(
            stdout.lines().any(|l| l == *line),
            "{what}: expected the line {line:?}\n{}",
            describe(output)
        );
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("all ") && l.ends_with(" checks passed")),
        "{what}: no success line\n{}",
        describe(output)
    );
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// One run of a compiled C test program.
pub struct Run {
    /// Names the run in messages and file names: `test_x`, `test_x-valgrind` or
    /// `test_x-sanitizers`.
    pub what: String,
    exe: PathBuf,
    under_valgrind: bool,
}

impl Run {
    /// Runs the program with `args` and returns what it did.
    pub fn output(&self, args: &[PathBuf]) -> Output {
        let mut command = if self.under_valgrind {
            let mut command = valgrind();
            command.arg(&self.exe);
            command
        } else {
            Command::new(&self.exe)
        };
        command
            .args(args)
            .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
            .output()
            .expect("run the C test program")
    }
}

/// Compiles the C test `tests/c/<name>.c` into `dir` and hands each of its runs to `check`,
/// which runs the program and checks what it did: natively, under valgrind when that is
/// installed, and built with AddressSanitizer and UndefinedBehaviorSanitizer where the compiler
/// has them (the runs that cannot be made are skipped with a note).
pub fn run_c_program(name: &str, dir: &Path, mut check: impl FnMut(&Run)) {
    let source = format!("{name}.c");
    let exe = dir.join(name);
    if let Err(stderr) = compile(&source, &exe, &[]) {
        panic!("compiling tests/c/{source} failed:\n{stderr}");
    }
    let run = |suffix: &str, exe: &Path, under_valgrind| Run {
        what: format!("{name}{suffix}"),
        exe: exe.to_owned(),
        under_valgrind,
    };
    check(&run("", &exe, false));
    if on_path("valgrind") {
        check(&run("-valgrind", &exe, true));
    } else {
        eprintln!("note: valgrind is not on PATH; skipping the valgrind run");
    }

    let sanitized = dir.join(format!("{name}_asan"));
    match compile(&source, &sanitized, SANITIZER_FLAGS) {
        Ok(()) => check(&run("-sanitizers", &sanitized, false)),
        Err(stderr) => eprintln!("note: cannot build with sanitizers, skipping:\n{stderr}"),
    }
}

/// Natively, under valgrind and with sanitizers (see [`run_c_program`]).
#[test]
fn c_program_passes() {
    let fixture = make_fixture();
    run_c_program("test_index", fixture.dir.path(), |run| {
        assert_passed(&run.what, &run.output(&fixture.args), EXPECTED_LINES);
    });
}
