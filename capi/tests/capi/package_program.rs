//! Compiles `tests/c/test_package.c` against `include/apk.h`, links it with the static library
//! and runs it on packages made here with `apk_pkg::PackageBuilder`: two signed ones, an
//! unsigned one and a tampered copy of the first. The program opens, verifies, checks and
//! extracts them and builds a signed index of them; this side then checks what it left on
//! disk. Runs natively, under valgrind when installed, and with sanitizers when the compiler
//! has them.

use std::path::{Path, PathBuf};

use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_index::{Index, IndexOptions, KeySet, PackageInfo};
use apk_pkg::{PackageBuilder, PackageReader, ReadPackageError};
use rand::SeedableRng;

use crate::c_program::{assert_passed, run_c_program};

const KEY_NAME: &str = "capi-pkg-test@example.org-61a2b3c4.rsa.pub";
const GREETING: &str = "Hello from apk-rs!\n";

/// The packages and keys the C program reads, and the identities it must report.
struct Fixture {
    dir: tempfile::TempDir,
    hello: PathBuf,
    doc: PathBuf,
    plain: PathBuf,
    tampered: PathBuf,
    keys: PathBuf,
    other_keys: PathBuf,
    private_key: PathBuf,
    identities: [(&'static str, String); 3],
}

fn build(builder: &PackageBuilder, path: &Path) -> String {
    let mut apk = Vec::new();
    let built = builder.write(&mut apk).expect("build a fixture package");
    std::fs::write(path, &apk).expect("write a fixture package");
    built.identity.to_string()
}

fn make_fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let root = dir.path();
    let key = SigningKey::generate(KEY_NAME, 1024, &mut rand::rngs::StdRng::seed_from_u64(11))
        .expect("generate the signing key");
    // A different key under the same name: its holder would see a bad signature.
    let impostor = SigningKey::generate(KEY_NAME, 1024, &mut rand::rngs::StdRng::seed_from_u64(12))
        .expect("generate the impostor key");

    let keys = root.join("keys");
    let other_keys = root.join("other-keys");
    for (dir, key) in [(&keys, &key), (&other_keys, &impostor)] {
        std::fs::create_dir(dir).expect("create a key directory");
        std::fs::write(dir.join(KEY_NAME), key.public_key().to_pem()).expect("write a key");
    }
    let private_key = root.join("signing.rsa");
    std::fs::write(&private_key, key.private_key_pem()).expect("write the private key");

    let mut info = PackageInfo::new("hello", "1.0-r0");
    info.arch = Some("x86_64".into());
    info.description = "A friendly greeter".into();
    info.url = "https://example.org/hello".into();
    info.license = "MIT".into();
    info.origin = Some("hello".into());
    info.maintainer = Some("Jane Doe <jane@example.org>".into());
    info.commit = Some("0123456789abcdef0123456789abcdef01234567".into());
    info.build_time = 1_712_345_678;
    info.depends = vec![
        "musl".parse().expect("a dependency"),
        "so:libc.musl-x86_64.so.1".parse().expect("a dependency"),
    ];
    info.provides = vec!["cmd:hello=1.0-r0".parse().expect("a provide")];
    let mut hello = PackageBuilder::new(info);
    hello
        .add_file("usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n")
        .and_then(|b| b.add_file("usr/share/hello/greeting.txt", 0o644, GREETING))
        .and_then(|b| b.add_symlink("usr/bin/hi", "hello"))
        .and_then(|b| b.add_hard_link("usr/bin/hello-again", "usr/bin/hello"))
        .expect("add the hello entries");
    hello.sign_with(&key, SignatureAlgorithm::RsaSha1);

    let mut info = PackageInfo::new("hello-doc", "1.0-r0");
    info.arch = Some("noarch".into());
    info.description = "A friendly greeter (documentation)".into();
    info.license = "MIT".into();
    info.origin = Some("hello".into());
    info.depends = vec!["hello=1.0-r0".parse().expect("a dependency")];
    let mut doc = PackageBuilder::new(info);
    doc.add_file("usr/share/doc/hello/README", 0o644, "Say hello.\n")
        .expect("add the doc entries");
    doc.sign_with(&key, SignatureAlgorithm::RsaSha1);

    let mut info = PackageInfo::new("plain", "2.0-r0");
    info.arch = Some("x86_64".into());
    info.license = "MIT".into();
    let mut plain = PackageBuilder::new(info);
    plain
        .add_file("etc/plain.conf", 0o644, "x=1\n")
        .expect("add the plain entries");

    let hello_path = root.join("hello-1.0-r0.apk");
    let doc_path = root.join("hello-doc-1.0-r0.apk");
    let plain_path = root.join("plain-2.0-r0.apk");
    let identities = [
        ("hello", build(&hello, &hello_path)),
        ("hello-doc", build(&doc, &doc_path)),
        ("plain", build(&plain, &plain_path)),
    ];

    // The tampered copy: one bit flipped in the data member, in its gzip header's MTIME field,
    // which gzip itself does not check. The signed metadata is intact, so only the datahash
    // can tell.
    let mut bytes = std::fs::read(&hello_path).expect("read the hello package");
    let summary = PackageReader::new(&bytes[..])
        .and_then(PackageReader::finish)
        .expect("the hello package reads");
    let data_start = usize::try_from(summary.file_size() - summary.data_compressed_size())
        .expect("a small package");
    assert_eq!(
        bytes[data_start..data_start + 2],
        [0x1f, 0x8b],
        "a gzip member"
    );
    bytes[data_start + 4] ^= 0x01;
    let tampered = root.join("hello-tampered.apk");
    std::fs::write(&tampered, &bytes).expect("write the tampered package");
    let error = PackageReader::new(&bytes[..])
        .and_then(PackageReader::finish)
        .expect_err("the tampered package fails");
    assert!(
        matches!(error, ReadPackageError::DataHashMismatch { .. }),
        "{error:?}"
    );

    Fixture {
        dir,
        hello: hello_path,
        doc: doc_path,
        plain: plain_path,
        tampered,
        keys,
        other_keys,
        private_key,
        identities,
    }
}

impl Fixture {
    /// A fresh destination directory and index path for one run, `run`.
    fn run_dirs(&self, run: &str) -> (PathBuf, PathBuf) {
        let dest = self.dir.path().join(format!("dest-{run}"));
        std::fs::create_dir(&dest).expect("create a destination directory");
        (dest, self.dir.path().join(format!("APKINDEX-{run}.tar.gz")))
    }

    /// The program's arguments for a run writing into `dest` and `index`.
    fn args(&self, dest: &Path, index: &Path) -> Vec<PathBuf> {
        vec![
            self.hello.clone(),
            self.doc.clone(),
            self.plain.clone(),
            self.tampered.clone(),
            self.keys.clone(),
            self.other_keys.clone(),
            self.private_key.clone(),
            KEY_NAME.into(),
            dest.to_owned(),
            index.to_owned(),
        ]
    }

    /// The lines the program must print.
    fn expected_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = [
            "package hello 1.0-r0 x86_64",
            "  description: A friendly greeter",
            "  url: https://example.org/hello",
            "  license: MIT",
            "  origin: hello",
            "  maintainer: Jane Doe <jane@example.org>",
            "  installed size: 40",
            "  depends: musl",
            "  depends: so:libc.musl-x86_64.so.1",
            "  provides: cmd:hello=1.0-r0",
            "package hello-doc 1.0-r0 noarch",
            "  depends: hello=1.0-r0",
            "package plain 2.0-r0 x86_64",
            "  unsigned",
            "extracted hello: 2 files, 4 directories, 1 symlinks, 1 hardlinks, 40 bytes",
            "extracted plain: 1 files, 1 directories, 0 symlinks, 0 hardlinks, 4 bytes",
            "index: 3 packages",
        ]
        .map(str::to_owned)
        .to_vec();
        lines.push(format!("  signed by: {KEY_NAME}"));
        lines.push(format!("index signed by: {KEY_NAME}"));
        for (name, identity) in &self.identities {
            lines.push(format!("  identity: {identity}"));
            lines.push(format!("index package {name}: {identity}"));
        }
        lines
    }

    /// Checks what a run left behind: the extracted tree and a loadable, signed index.
    fn check_outputs(&self, what: &str, dest: &Path, index: &Path) {
        let read = |path: &str| std::fs::read_to_string(dest.join(path)).unwrap_or_default();
        assert_eq!(read("usr/share/hello/greeting.txt"), GREETING, "{what}");
        assert_eq!(read("usr/bin/hello-again"), read("usr/bin/hello"), "{what}");
        assert_eq!(read("etc/plain.conf"), "x=1\n", "{what}");
        assert_eq!(
            std::fs::read_link(dest.join("usr/bin/hi")).ok(),
            Some(PathBuf::from("hello")),
            "{what}"
        );
        let keys = KeySet::from_dir(&self.keys).expect("load the keys");
        let index = Index::open(index, Some(&keys), &IndexOptions::default())
            .unwrap_or_else(|e| panic!("{what}: the index written from C loads: {e}"));
        assert_eq!(index.description(), Some("built from C"), "{what}");
        let names: Vec<&str> = (0..index.len()).map(|i| index.package(i).name()).collect();
        assert_eq!(names, ["hello", "hello-doc", "plain"], "{what}");
        assert_eq!(
            index.package(1).arch(),
            Some("x86_64"),
            "{what}: rewritten arch"
        );
    }
}

/// Natively, under valgrind and with sanitizers (see [`run_c_program`]), each run extracting
/// and writing into its own directories.
#[test]
fn package_program_passes() {
    let fixture = make_fixture();
    let expected = fixture.expected_lines();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    run_c_program("test_package", fixture.dir.path(), |run| {
        let (dest, index) = fixture.run_dirs(&run.what);
        assert_passed(
            &run.what,
            &run.output(&fixture.args(&dest, &index)),
            &expected,
        );
        fixture.check_outputs(&run.what, &dest, &index);
    });
}
