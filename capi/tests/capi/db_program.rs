//! Compiles `tests/c/test_db.c` against `include/apk.h`, links it with the static library
//! and runs it on a root made here: a signed repository of two packages built with
//! `apk_pkg::PackageBuilder` and `IndexBuilder`, and a root that trusts its key and names it.
//! The program opens the root with `APK_DB_INITDB`, installs `hello` (and its dependency),
//! reads the installed packages, fails on an unsatisfiable world, fails part way on a package
//! whose file is missing (and reopens the root to repair it) and removes `hello` again;
//! this side then checks what it left on disk. Runs natively, under valgrind when installed,
//! and with sanitizers when the compiler has them, each run on a root of its own.

use std::path::{Path, PathBuf};

use apk_index::PackageInfo;
use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_pkg::{IndexBuilder, PackageBuilder, ScriptKind};
use rand::SeedableRng;

use crate::c_program::{assert_passed, run_c_program};

const KEY_NAME: &str = "capi-db-test@example.org-6a7b8c9d.rsa.pub";
/// The repository's architecture, whatever the machine's: the program opens the root with it.
const ARCH: &str = "x86_64";
const GREETING: &str = "Hello from apk-rs!\n";

/// The repository and key every run's root uses.
struct Fixture {
    dir: tempfile::TempDir,
    repo: PathBuf,
    public_key: String,
    /// The total installed size of the two packages.
    installed_size: u64,
}

fn make_fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let key = SigningKey::generate(KEY_NAME, 1024, &mut rand::rngs::StdRng::seed_from_u64(21))
        .expect("generate the signing key");
    let repo = dir.path().join("repo");
    let arch_dir = repo.join(ARCH);
    std::fs::create_dir_all(&arch_dir).expect("create the repository");

    let mut info = PackageInfo::new("libgreet", "2.1-r0");
    info.arch = Some(ARCH.into());
    info.license = "MIT".into();
    info.provides = vec!["so:libgreet.so.1=1".parse().expect("a provide")];
    let mut libgreet = PackageBuilder::new(info);
    libgreet
        .add_file("usr/lib/libgreet.so.1", 0o755, "\x7fELF not really\n")
        .expect("add the libgreet entries");

    let mut info = PackageInfo::new("hello", "1.0-r0");
    info.arch = Some(ARCH.into());
    info.license = "MIT".into();
    info.depends = vec!["so:libgreet.so.1".parse().expect("a dependency")];
    let mut hello = PackageBuilder::new(info);
    hello
        .add_file("usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n")
        .and_then(|b| b.add_file("usr/share/hello/greeting.txt", 0o644, GREETING))
        .expect("add the hello entries");
    // Committed with APK_COMMIT_NO_SCRIPTS: it must not run (it could not, in this root).
    hello.script(ScriptKind::PostInstall, "#!/bin/sh\necho installed\n");

    // In the index, but its file is deleted below: installing it fails part way.
    let mut info = PackageInfo::new("ghost", "1-r0");
    info.arch = Some(ARCH.into());
    info.license = "MIT".into();
    let mut ghost = PackageBuilder::new(info);
    ghost
        .add_file("usr/share/ghost", 0o644, "boo\n")
        .expect("add the ghost entries");

    let mut index = IndexBuilder::new();
    index.description(Some("capi db test repository".into()));
    let mut installed_size = 0;
    for builder in [&mut libgreet, &mut hello, &mut ghost] {
        builder.sign_with(&key, SignatureAlgorithm::RsaSha1);
        let info = builder.info();
        let path = arch_dir.join(format!("{}-{}.apk", info.name, info.version));
        let mut apk = Vec::new();
        builder.write(&mut apk).expect("build a package");
        std::fs::write(&path, &apk).expect("write a package");
        let indexed = index.add_file(&path).expect("index a package");
        if indexed.name == "ghost" {
            std::fs::remove_file(&path).expect("delete the ghost package");
        } else {
            installed_size += indexed.installed_size;
        }
    }
    let archive = index
        .write_archive(&[(&key, SignatureAlgorithm::RsaSha1)])
        .expect("write the signed index");
    std::fs::write(arch_dir.join("APKINDEX.tar.gz"), archive).expect("write the index");

    Fixture {
        repo,
        public_key: key.public_key().to_pem(),
        installed_size,
        dir,
    }
}

impl Fixture {
    /// A fresh root for one run, `run`: it trusts the key and names the repository, then a
    /// repository that does not exist; it has no database yet.
    fn make_root(&self, run: &str) -> PathBuf {
        let root = self.dir.path().join(format!("root-{run}"));
        let keys = root.join("etc/apk/keys");
        std::fs::create_dir_all(&keys).expect("create the keys directory");
        std::fs::write(keys.join(KEY_NAME), &self.public_key).expect("write the key");
        std::fs::write(
            root.join("etc/apk/repositories"),
            format!(
                "{}\n{}\n",
                self.repo.display(),
                self.missing_repo().display()
            ),
        )
        .expect("write the repositories file");
        root
    }

    fn missing_repo(&self) -> PathBuf {
        self.dir.path().join("missing-repo")
    }

    /// The lines the program must print.
    fn expected_lines(&self) -> Vec<String> {
        let ok = format!(
            "OK: {} in 2 packages",
            apk_solver::human_size(self.installed_size)
        );
        let mut lines: Vec<String> = [
            "(1/2) Installing libgreet (2.1-r0)",
            "(2/2) Installing hello (1.0-r0)",
            ok.as_str(),
        ]
        .iter()
        .flat_map(|line| [format!("simulate: {line}"), format!("install: {line}")])
        .collect();
        lines.extend(
            [
                "installed: hello 1.0-r0",
                "  file: usr/bin/hello",
                "  file: usr/share/hello/greeting.txt",
                "installed: libgreet 2.1-r0",
                "  file: usr/lib/libgreet.so.1",
                "report:",
                "ERROR: unable to select packages:",
                "  missing (no such package):",
                "    required by: world[missing]",
                "remove: (1/2) Purging hello (1.0-r0)",
                "remove: (2/2) Purging libgreet (2.1-r0)",
                "remove: OK: 0 B in 0 packages",
            ]
            .map(str::to_owned),
        );
        lines.push(format!("read-only: {ok}"));
        lines.push(format!(
            "install: 2 packages, {} bytes",
            self.installed_size
        ));
        lines
    }

    /// Checks the program's output beyond the expected lines, and what it left in `root`.
    fn check_run(&self, what: &str, stdout: &str, root: &Path) {
        // The repository that does not exist is reported, and apk goes on without it.
        let missing = self.missing_repo();
        let warning = format!("install: WARNING: {}/{ARCH}/", missing.display());
        assert!(
            stdout.lines().any(|l| l.starts_with(&warning)),
            "{what}: no warning for the missing repository\n{stdout}"
        );
        // A failed commit leaves a consistent root: nothing needs repairing on reopening.
        assert!(
            !stdout.contains("recovered an interrupted transaction"),
            "{what}: a repair was needed after a failed commit\n{stdout}"
        );
        assert!(
            !stdout.contains("Executing"),
            "{what}: a script ran despite APK_COMMIT_NO_SCRIPTS\n{stdout}"
        );
        let read = |path: &str| std::fs::read_to_string(root.join(path));
        assert_eq!(
            read("lib/apk/db/installed").ok().as_deref(),
            Some(""),
            "{what}"
        );
        assert_eq!(read("etc/apk/world").ok().as_deref(), Some("\n"), "{what}");
        assert_eq!(
            read("etc/apk/arch").ok(),
            Some(format!("{ARCH}\n")),
            "{what}"
        );
        for gone in [
            "usr/bin/hello",
            "usr/share/hello",
            "usr/lib/libgreet.so.1",
            "usr/share/ghost",
            "lib/apk/db/apk-rs.journal",
        ] {
            assert!(!root.join(gone).exists(), "{what}: {gone} is left");
        }
    }
}

/// Natively, under valgrind and with sanitizers (see [`run_c_program`]), each run on a root
/// of its own.
#[test]
fn db_program_passes() {
    let fixture = make_fixture();
    let expected = fixture.expected_lines();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    run_c_program("test_db", fixture.dir.path(), |run| {
        let root = fixture.make_root(&run.what);
        let output = run.output(&[root.clone(), ARCH.into()]);
        assert_passed(&run.what, &output, &expected);
        let stdout = String::from_utf8_lossy(&output.stdout);
        fixture.check_run(&run.what, &stdout, &root);
    });
}
