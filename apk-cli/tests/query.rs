//! End-to-end tests of the applets that read a root: `info`, `list`, `search`, `policy`,
//! `dot`, `manifest`, `stats`, `audit`, `cache`, `fetch` and `version` (listing).
//!
//! Each test builds a small signed repository pair with the project's own tools
//! ([`PackageBuilder`], [`IndexBuilder`]), unpacks some of its packages into a fresh root
//! with `apk-rs extract`, writes the matching `lib/apk/db/installed` records itself, and then
//! runs the built `apk-rs` binary on that root, comparing its output exactly.
//!
//! With `APK_CORPUS` set (the path of the shared corpus), the read-only applets also run on
//! the real installed databases of `$APK_CORPUS/*/rootfs` (never writing there), and `audit`
//! is checked against the transcript apk-tools 3.0.6 recorded in `apk3-transactions`.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_index::{Acl, Checksum, InstalledDb, InstalledDir, InstalledFile, PackageInfo};
use apk_pkg::{BuiltPackage, IndexBuilder, PackageBuilder};
use rand::SeedableRng;
use sha1::{Digest, Sha1};

const KEY_NAME: &str = "query-test@example.org-00000001.rsa.pub";

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        SigningKey::generate(KEY_NAME, 1024, &mut rng).expect("generate a key")
    })
}

/// One entry of a test package.
#[derive(Debug, Clone)]
enum Entry {
    /// A regular file: content, mode.
    File(String, u32),
    /// A symlink to the target.
    Link(&'static str),
}

/// A test package: metadata and entries.
struct Spec {
    info: PackageInfo,
    entries: Vec<(&'static str, Entry)>,
}

fn spec(name: &str, version: &str, deps: &[&str], entries: Vec<(&'static str, Entry)>) -> Spec {
    let mut info = PackageInfo::new(name, version);
    info.arch = Some("x86_64".into());
    info.description = format!("the {name} package");
    info.url = format!("https://example.org/{name}");
    info.license = "MIT".into();
    info.origin = Some(name.into());
    for d in deps {
        info.depends.push(d.parse().expect("a valid dependency"));
    }
    Spec { info, entries }
}

/// Writes the package of `spec` to `path`, signed with [`key`].
fn build(spec: &Spec, path: &Path) -> BuiltPackage {
    let mut b = PackageBuilder::new(spec.info.clone());
    for (p, e) in &spec.entries {
        match e {
            Entry::File(content, mode) => {
                b.add_file(p, *mode, content.clone().into_bytes())
                    .expect("add a file");
            }
            Entry::Link(target) => {
                b.add_symlink(p, target).expect("add a symlink");
            }
        }
    }
    b.sign_with(key(), SignatureAlgorithm::RsaSha1);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("create the package directory");
    }
    let file = fs::File::create(path).expect("create a package file");
    b.write(std::io::BufWriter::new(file))
        .expect("write a package")
}

fn sha1_of(data: &[u8]) -> Checksum {
    Checksum::sha1(Sha1::digest(data).into())
}

/// The installed record of a package unpacked into `root`: the built metadata plus `F:`,
/// `R:`, `Z:` lines, with ACLs taken from the files on disk.
fn installed_record(spec: &Spec, built: &BuiltPackage, root: &Path) -> PackageInfo {
    let mut info = built.info.clone();
    let acl_of = |path: &str| {
        let meta = fs::symlink_metadata(root.join(path)).expect("an unpacked path");
        Acl {
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode() & 0o7777,
            xattr_checksum: None,
        }
    };
    let mut dirs: Vec<InstalledDir> = Vec::new();
    for (path, entry) in &spec.entries {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let mut prefix = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if !dirs.iter().any(|d| d.path == prefix) {
                dirs.push(InstalledDir {
                    path: prefix.clone(),
                    acl: Some(acl_of(&prefix)),
                    files: Vec::new(),
                });
            }
        }
        let checksum = match entry {
            Entry::File(content, _) => sha1_of(content.as_bytes()),
            Entry::Link(target) => sha1_of(target.as_bytes()),
        };
        let acl = match entry {
            Entry::File(..) => Some(acl_of(path)),
            Entry::Link(_) => None,
        };
        let d = dirs
            .iter_mut()
            .find(|d| d.path == dir)
            .expect("the directory was just added");
        d.files.push(InstalledFile {
            name: name.to_owned(),
            acl,
            checksum: Some(checksum),
        });
    }
    info.dirs = dirs;
    info
}

/// A repository pair, a root with three packages installed, and the package files.
struct Fixture {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    root: PathBuf,
    main: PathBuf,
    edge: PathBuf,
    /// name-version → built package.
    built: std::collections::HashMap<String, BuiltPackage>,
}

/// A regular file entry.
fn file(content: &str, mode: u32) -> Entry {
    Entry::File(content.to_owned(), mode)
}

fn hello(version: &str) -> Spec {
    let script = format!("#!/bin/sh\necho hello {version}\n");
    let mut s = spec(
        "hello",
        version,
        &["so:libgreet.so.2"],
        vec![
            ("etc/hello.conf", file("greeting=hello\n", 0o644)),
            ("usr/bin/hello", Entry::File(script, 0o755)),
            ("usr/bin/hi", Entry::Link("hello")),
        ],
    );
    s.info.description = "says hello".into();
    s.info.provides.push(
        format!("cmd:hello={version}")
            .parse()
            .expect("a valid provides"),
    );
    s
}

fn libgreet() -> Spec {
    let mut s = spec(
        "libgreet",
        "2.1-r0",
        &[],
        vec![("usr/lib/libgreet.so.2", file("\x7fELF greet\n", 0o644))],
    );
    s.info.description = "greeting library".into();
    s.info.origin = Some("greet".into());
    s.info
        .provides
        .push("so:libgreet.so.2=2".parse().expect("a valid provides"));
    s
}

fn orphan() -> Spec {
    spec(
        "orphan",
        "0.1-r0",
        &[],
        vec![("usr/share/orphan/data", file("orphaned data\n", 0o644))],
    )
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let base = tmp.path().to_owned();
        let main = base.join("repo-main");
        let edge = base.join("repo-edge");
        let keys = base.join("keys");
        let root = base.join("root");
        fs::create_dir_all(&keys).expect("create keys/");
        fs::write(keys.join(KEY_NAME), key().public_key().to_pem()).expect("write the key");

        let mut doc = spec(
            "hello-doc",
            "1.0-r0",
            &[],
            vec![("usr/share/doc/hello/README", file("hello docs\n", 0o644))],
        );
        doc.info.install_if = vec![
            "hello".parse().expect("valid"),
            "docs".parse().expect("valid"),
        ];
        let main_specs = vec![
            libgreet(),
            hello("1.0-r0"),
            hello("1.1-r0"),
            doc,
            spec(
                "broken",
                "1-r0",
                &["nothere", "libgreet"],
                vec![("opt/broken", file("broken\n", 0o644))],
            ),
            spec(
                "tool",
                "3.0-r0",
                &["hello>=1.1"],
                vec![("usr/bin/tool", file("#!/bin/sh\n", 0o755))],
            ),
        ];
        let mut built = std::collections::HashMap::new();
        let mut specs = std::collections::HashMap::new();
        for (repo, list, desc) in [
            (&main, main_specs, "main test repository"),
            (&edge, vec![hello("2.0-r0")], "edge test repository"),
        ] {
            let mut index = IndexBuilder::new();
            index.description(Some(desc.into()));
            for s in list {
                let nv = format!("{}-{}", s.info.name, s.info.version);
                let path = repo.join("x86_64").join(format!("{nv}.apk"));
                let b = build(&s, &path);
                index.add_file(&path).expect("index a package");
                built.insert(nv.clone(), b);
                specs.insert(nv, s);
            }
            let archive = index
                .write_archive(&[(key(), SignatureAlgorithm::RsaSha1)])
                .expect("write the index");
            fs::write(repo.join("x86_64/APKINDEX.tar.gz"), archive).expect("write the index");
        }
        let orphan_spec = orphan();
        let orphan_path = base.join("pkgs/orphan-0.1-r0.apk");
        built.insert("orphan-0.1-r0".into(), build(&orphan_spec, &orphan_path));
        specs.insert("orphan-0.1-r0".into(), orphan_spec);

        // The root: etc/apk, the installed packages' files, the database.
        fs::create_dir_all(root.join("etc/apk/keys")).expect("create etc/apk/keys");
        fs::create_dir_all(root.join("lib/apk/db")).expect("create lib/apk/db");
        fs::write(root.join("etc/apk/arch"), "x86_64\n").expect("write arch");
        fs::write(root.join("etc/apk/world"), "hello\norphan\n").expect("write world");
        fs::write(
            root.join("etc/apk/repositories"),
            format!("{}\n@edge {}\n", main.display(), edge.display()),
        )
        .expect("write repositories");
        fs::write(
            root.join("etc/apk/keys").join(KEY_NAME),
            key().public_key().to_pem(),
        )
        .expect("write the key");
        let installed = ["hello-1.0-r0", "libgreet-2.1-r0", "orphan-0.1-r0"];
        let files: Vec<PathBuf> = installed
            .iter()
            .map(|nv| {
                if nv.starts_with("orphan") {
                    orphan_path.clone()
                } else {
                    main.join("x86_64").join(format!("{nv}.apk"))
                }
            })
            .collect();
        let mut args: Vec<String> = vec![
            "--keys-dir".into(),
            keys.display().to_string(),
            "extract".into(),
            "--destination".into(),
            root.display().to_string(),
        ];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let out = run(&base, &args);
        assert_eq!(out.code, 0, "extract failed: {out:?}");
        let mut db = InstalledDb::default();
        for nv in installed {
            db.packages
                .push(installed_record(&specs[nv], &built[nv], &root));
        }
        let mut text = Vec::new();
        db.write_to(&mut text).expect("write the installed db");
        fs::write(root.join("lib/apk/db/installed"), text).expect("write the installed db");
        Fixture {
            _tmp: tmp,
            base,
            root,
            main,
            edge,
            built,
        }
    }

    /// Runs `apk-rs --root ROOT args…` in the fixture's base directory.
    fn apk(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = vec!["--root".into(), self.root.display().to_string()];
        all.extend(args.iter().map(|s| (*s).to_owned()));
        run(&self.base, &all)
    }

    fn built(&self, nv: &str) -> &BuiltPackage {
        &self.built[nv]
    }
}

/// What one run printed.
#[derive(Debug)]
struct Output {
    command: String,
    stdout: String,
    stderr: String,
    code: i32,
}

impl Output {
    /// Asserts exit code and stdout exactly, and an empty stderr.
    #[track_caller]
    fn assert(&self, code: i32, stdout: &str) {
        if self.code != code || self.stdout != stdout || !self.stderr.is_empty() {
            panic!(
                "\n{}\n==== expected (exit {code}) ====\n{stdout}==== got (exit {}) ====\n{}\
                 ==== stderr ====\n{}==== end ====\n",
                self.command, self.code, self.stdout, self.stderr
            );
        }
    }
}

fn run(cwd: &Path, args: &[String]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_apk-rs"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run apk-rs");
    Output {
        command: format!("apk-rs {}", args.join(" ")),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().expect("apk-rs exited normally"),
    }
}

#[test]
fn info_lists_and_describes() {
    let f = Fixture::new();
    f.apk(&["info"]).assert(0, "hello\nlibgreet\norphan\n");
    f.apk(&["info", "-v"])
        .assert(0, "hello-1.0-r0\nlibgreet-2.1-r0\norphan-0.1-r0\n");
    let size = f.built("hello-1.0-r0").installed_size;
    f.apk(&["info", "hello"]).assert(
        0,
        &format!(
            "hello-1.0-r0 description:\nsays hello\n\n\
             hello-1.0-r0 webpage:\nhttps://example.org/hello\n\n\
             hello-1.0-r0 installed size:\n{size} B\n\n"
        ),
    );
    f.apk(&["info", "-L", "hello"]).assert(
        0,
        "hello-1.0-r0 contains:\netc/hello.conf\nusr/bin/hello\nusr/bin/hi\n\n",
    );
    f.apk(&["info", "-R", "-P", "hello"]).assert(
        0,
        "hello-1.0-r0 depends on:\nso:libgreet.so.2\n\n\
         hello-1.0-r0 provides:\ncmd:hello=1.0-r0\n\n",
    );
    f.apk(&["info", "-r", "libgreet"])
        .assert(0, "libgreet-2.1-r0 is required by:\nhello-1.0-r0\n\n");
    f.apk(&["-q", "info", "-L", "libgreet"])
        .assert(0, "usr/lib/libgreet.so.2\n");
    // Not installed: every version the repositories have.
    f.apk(&["info", "-d", "hello-doc", "tool"]).assert(
        0,
        "hello-doc-1.0-r0 description:\nthe hello-doc package\n\n\
         tool-3.0-r0 description:\nthe tool package\n\n",
    );
    f.apk(&["info", "--license", "--install-if", "hello-doc"])
        .assert(
            0,
            "hello-doc-1.0-r0 has auto-install rule:\nhello\ndocs\n\n\
         hello-doc-1.0-r0 license:\nMIT\n\n",
        );
}

#[test]
fn info_exists_and_who_owns() {
    let f = Fixture::new();
    f.apk(&["info", "-e", "hello", "libgreet"])
        .assert(0, "hello\nlibgreet\n");
    f.apk(&["info", "-e", "hello", "nothere", "hello>=1.1"])
        .assert(2, "hello\n");
    f.apk(&["-q", "info", "-e", "hello"]).assert(0, "");
    f.apk(&["info", "-W", "/usr/bin/hello", "/etc/hello.conf"])
        .assert(
            0,
            "/usr/bin/hello is owned by hello-1.0-r0\n/etc/hello.conf is owned by hello-1.0-r0\n",
        );
    let out = f.apk(&["info", "-W", "/usr/bin/hello", "/etc/nothing"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "/usr/bin/hello is owned by hello-1.0-r0\n");
    assert_eq!(
        out.stderr,
        "ERROR: /etc/nothing: Could not find owner package\n"
    );
}

#[test]
fn list_filters() {
    let f = Fixture::new();
    f.apk(&["list", "-I"]).assert(
        0,
        "hello-1.0-r0 x86_64 {hello} (MIT) [installed]\n\
         libgreet-2.1-r0 x86_64 {greet} (MIT) [installed]\n\
         orphan-0.1-r0 x86_64 {orphan} (MIT) [installed]\n",
    );
    f.apk(&["list", "-u"]).assert(
        0,
        "hello-2.0-r0 x86_64 {hello} (MIT) [upgradable from: hello-1.0-r0]\n",
    );
    f.apk(&["list", "-O"])
        .assert(0, "orphan-0.1-r0 x86_64 {orphan} (MIT) [installed]\n");
    f.apk(&["list", "-a", "hello"]).assert(
        0,
        "hello-1.0-r0 x86_64 {hello} (MIT) [installed]\n\
         hello-1.1-r0 x86_64 {hello} (MIT) [upgradable from: hello-1.0-r0]\n\
         hello-2.0-r0 x86_64 {hello} (MIT) [upgradable from: hello-1.0-r0]\n",
    );
    f.apk(&["list", "-o", "gre*"])
        .assert(0, "libgreet-2.1-r0 x86_64 {greet} (MIT) [installed]\n");
    f.apk(&["list", "-P", "so:libgreet*"])
        .assert(0, "libgreet-2.1-r0 x86_64 {greet} (MIT) [installed]\n");
    f.apk(&["list", "t*", "b*"]).assert(
        0,
        "broken-1-r0 x86_64 {broken} (MIT)\ntool-3.0-r0 x86_64 {tool} (MIT)\n",
    );
    f.apk(&["list", "-I", "--manifest"])
        .assert(0, "hello 1.0-r0\nlibgreet 2.1-r0\norphan 0.1-r0\n");
    // `--manifest` lists the installed packages, `-I` or not.
    f.apk(&["list", "--manifest"])
        .assert(0, "hello 1.0-r0\nlibgreet 2.1-r0\norphan 0.1-r0\n");
    f.apk(&["-q", "list", "-I"])
        .assert(0, "hello\nlibgreet\norphan\n");
}

#[test]
fn search_by_name_description_origin_rdepends() {
    let f = Fixture::new();
    f.apk(&["search", "ell"])
        .assert(0, "hello-2.0-r0\nhello-doc-1.0-r0\n");
    f.apk(&["search", "-x", "hello"])
        .assert(0, "hello-2.0-r0\n");
    f.apk(&["search", "-e", "-a", "hello"])
        .assert(0, "hello-1.0-r0\nhello-1.1-r0\nhello-2.0-r0\n");
    f.apk(&["search", "-d", "GREETING"])
        .assert(0, "libgreet-2.1-r0\n");
    f.apk(&["-v", "search", "-x", "tool"])
        .assert(0, "tool-3.0-r0 - the tool package\n");
    f.apk(&["search", "-o", "-x", "libgreet"])
        .assert(0, "greet-2.1-r0\n");
    f.apk(&["search", "--has-origin", "greet"])
        .assert(0, "libgreet-2.1-r0\n");
    f.apk(&["search", "-r", "-x", "libgreet"]).assert(
        0,
        "libgreet-2.1-r0 is required by:\n  broken-1-r0\n  hello-1.0-r0\n  hello-1.1-r0\n  \
         hello-2.0-r0\n",
    );
}

#[test]
fn policy_shows_versions_and_sources() {
    let f = Fixture::new();
    let (main, edge) = (f.main.display(), f.edge.display());
    f.apk(&["policy", "hello", "libgreet", "nothere"]).assert(
        0,
        &format!(
            "hello policy:\n  1.0-r0:\n    lib/apk/db/installed\n    {main}\n  1.1-r0:\n    {main}\n  \
             2.0-r0:\n    @edge {edge}\nlibgreet policy:\n  2.1-r0:\n    lib/apk/db/installed\n    \
             {main}\nnothere policy:\n"
        ),
    );
}

#[test]
fn dot_draws_the_graph() {
    let f = Fixture::new();
    f.apk(&["dot", "--installed"]).assert(
        0,
        "digraph \"apkindex\" {\n  rankdir=LR;\n  node [shape=box];\n  \
         \"hello-1.0-r0\" -> \"libgreet-2.1-r0\" [label=\"so:libgreet.so.2\"];\n}\n",
    );
    f.apk(&["dot", "broken"]).assert(
        0,
        "digraph \"apkindex\" {\n  rankdir=LR;\n  node [shape=box];\n  \
         \"nothere\" [style=dashed, color=red, fontcolor=red, shape=octagon];\n  \
         \"broken-1-r0\" -> \"nothere\" [color=red];\n  \
         \"broken-1-r0\" -> \"libgreet-2.1-r0\";\n}\n",
    );
    f.apk(&["dot", "--errors", "broken", "hello"]).assert(
        0,
        "digraph \"apkindex\" {\n  rankdir=LR;\n  node [shape=box];\n  \
         \"nothere\" [style=dashed, color=red, fontcolor=red, shape=octagon];\n  \
         \"broken-1-r0\" -> \"nothere\" [color=red];\n}\n",
    );
    f.apk(&["dot", "--errors", "hello"]).assert(0, "");
}

#[test]
fn manifest_prints_file_checksums() {
    let f = Fixture::new();
    let hex = |data: &str| {
        Sha1::digest(data.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    f.apk(&["manifest", "hello", "libgreet"]).assert(
        0,
        &format!(
            "sha1:{}  etc/hello.conf\nsha1:{}  usr/bin/hello\nsha1:{}  usr/bin/hi\n\
             sha1:{}  usr/lib/libgreet.so.2\n",
            hex("greeting=hello\n"),
            hex("#!/bin/sh\necho hello 1.0-r0\n"),
            hex("hello"),
            hex("\x7fELF greet\n"),
        ),
    );
    assert_eq!(f.apk(&["manifest"]).stdout.lines().count(), 5);
}

#[test]
fn stats_counts() {
    let f = Fixture::new();
    let bytes: u64 = ["hello-1.0-r0", "libgreet-2.1-r0", "orphan-0.1-r0"]
        .iter()
        .map(|nv| f.built(nv).installed_size)
        .sum();
    // Directories: etc usr usr/bin usr/lib usr/share usr/share/orphan. Names: libgreet hello
    // hello-doc broken tool orphan. Packages: 6 in main, 1 in edge, orphan.
    f.apk(&["stats"]).assert(
        0,
        &format!(
            "installed:\n  packages: 3\n  dirs: 6\n  files: 5\n  bytes: {bytes}\n  triggers: 0\n\
             available:\n  names: 6\n  packages: 8\n"
        ),
    );
}

#[test]
fn version_lists_installed_against_repositories() {
    let f = Fixture::new();
    f.apk(&["version"]).assert(
        0,
        "Installed:                                Available:\n\
         hello-1.0-r0                            < 1.1-r0\n\
         orphan-0.1-r0                           ?\n",
    );
    f.apk(&["-v", "version"]).assert(
        0,
        "Installed:                                Available:\n\
         hello-1.0-r0                            < 1.1-r0\n\
         libgreet-2.1-r0                         = 2.1-r0\n\
         orphan-0.1-r0                           ?\n",
    );
    f.apk(&["version", "-a", "-l", "<"]).assert(
        0,
        "Installed:                                Available:\n\
         hello-1.0-r0                            < 2.0-r0\n",
    );
    f.apk(&["-q", "version", "-l", "<?"])
        .assert(0, "hello\norphan\n");
    f.apk(&["version", "-I"]).assert(
        0,
        &format!(
            "main test repository [{}]\nedge test repository [{}]\n",
            f.main.display(),
            f.edge.display()
        ),
    );
}

#[test]
fn audit_matches_apk_tools_observation() {
    // As observed with apk-tools 3.0.6: a package owning etc/hello.conf, the user edited it,
    // the upgrade left etc/hello.conf.apk-new, and etc/apk/{arch,world,keys/…,repositories}
    // belong to no package. `apk audit` prints exactly these two lines and exits 0.
    let f = Fixture::new();
    fs::write(f.root.join("etc/hello.conf"), "greeting=hello\nuser=edit\n")
        .expect("edit the config");
    fs::write(f.root.join("etc/hello.conf.apk-new"), "greeting=hello\n").expect("apk-new");
    fs::create_dir_all(f.root.join("proc")).expect("proc");
    fs::create_dir_all(f.root.join("var/log")).expect("var/log");
    fs::write(f.root.join("var/log/apk.log"), "log\n").expect("apk.log");
    f.apk(&["audit"])
        .assert(0, "U etc/hello.conf\nD etc/apk/\n");
    f.apk(&["-q", "audit"])
        .assert(0, "etc/hello.conf\netc/apk/\n");
    f.apk(&["audit", "--packages"]).assert(0, "hello\n");
    // Recursive: the unowned directory's contents too.
    f.apk(&["audit", "-r"]).assert(
        0,
        &format!(
            "U etc/hello.conf\nD etc/apk/\nA etc/apk/arch\nA etc/apk/repositories\n\
             A etc/apk/world\nD etc/apk/keys/\nA etc/apk/keys/{KEY_NAME}\n"
        ),
    );
    // Backup: `!etc/apk` is listed in full even without -r.
    f.apk(&["audit", "--backup"]).assert(
        0,
        &format!(
            "U etc/hello.conf\nD etc/apk/\nA etc/apk/arch\nA etc/apk/repositories\n\
             A etc/apk/world\nD etc/apk/keys/\nA etc/apk/keys/{KEY_NAME}\n"
        ),
    );
}

#[test]
fn audit_system_full_and_permissions() {
    let f = Fixture::new();
    let r = &f.root;
    fs::write(r.join("usr/bin/hello"), "#!/bin/sh\necho changed\n").expect("change a file");
    fs::remove_file(r.join("usr/lib/libgreet.so.2")).expect("remove a file");
    fs::write(r.join("usr/bin/extra"), "x\n").expect("add a file");
    fs::write(r.join("etc/local.conf"), "x\n").expect("add a config file");
    fs::remove_file(r.join("usr/bin/hi")).expect("remove the symlink");
    std::os::unix::fs::symlink("elsewhere", r.join("usr/bin/hi")).expect("retarget it");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(
        r.join("usr/share/orphan/data"),
        fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");

    f.apk(&["audit"])
        .assert(0, "A etc/local.conf\nD etc/apk/\n");
    f.apk(&["audit", "--system"]).assert(
        0,
        "U usr/bin/hello\nU usr/bin/hi\nX usr/lib/libgreet.so.2\n",
    );
    f.apk(&["audit", "--system", "--check-permissions"]).assert(
        0,
        "U usr/bin/hello\nU usr/bin/hi\nX usr/lib/libgreet.so.2\nM usr/share/orphan/data\n",
    );
    f.apk(&["audit", "--system", "--packages"])
        .assert(0, "hello\nlibgreet\n");
    f.apk(&["audit", "--full"]).assert(
        0,
        // `var/` holds the index cache apk prepares (no package owns it).
        "A etc/local.conf\nD etc/apk/\nD lib/\nA usr/bin/extra\nU usr/bin/hello\n\
         U usr/bin/hi\nX usr/lib/libgreet.so.2\nD var/\n",
    );
    f.apk(&["audit", "--full", "/usr/lib"])
        .assert(0, "X usr/lib/libgreet.so.2\n");
}

#[test]
fn fetch_downloads_and_verifies() {
    let f = Fixture::new();
    let out_dir = f.base.join("out");
    fs::create_dir_all(&out_dir).expect("create out/");
    let o = out_dir.display().to_string();
    f.apk(&["fetch", "-o", &o, "hello"])
        .assert(0, "Downloading hello-1.1-r0\n");
    let fetched = fs::read(out_dir.join("hello-1.1-r0.apk")).expect("fetched");
    let original = fs::read(f.main.join("x86_64/hello-1.1-r0.apk")).expect("original");
    assert_eq!(fetched, original);
    // Already there: nothing to do.
    f.apk(&["fetch", "-o", &o, "hello"]).assert(0, "");
    // Recursive, a tag, a constraint.
    f.apk(&["fetch", "-o", &o, "-R", "tool", "hello@edge", "hello<1.1"])
        .assert(
            0,
            "Downloading tool-3.0-r0\nDownloading libgreet-2.1-r0\nDownloading hello-2.0-r0\n\
             Downloading hello-1.0-r0\n",
        );
    for nv in [
        "tool-3.0-r0",
        "libgreet-2.1-r0",
        "hello-2.0-r0",
        "hello-1.0-r0",
    ] {
        assert!(out_dir.join(format!("{nv}.apk")).is_file(), "{nv} missing");
    }
    // --simulate and --url write nothing.
    f.apk(&["fetch", "--simulate", "-o", &o, "-R", "broken"]);
    assert!(!out_dir.join("broken-1-r0.apk").exists());
    let url = format!("{}/x86_64/tool-3.0-r0.apk", f.main.display());
    f.apk(&["fetch", "--simulate", "--url", "tool"])
        .assert(0, &format!("{url}\n"));
    // Unknown names and broken dependencies count as errors.
    let out = f.apk(&["fetch", "--simulate", "-R", "broken", "nosuch"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stdout,
        "Downloading broken-1-r0\nDownloading libgreet-2.1-r0\n"
    );
    assert_eq!(
        out.stderr,
        "ERROR: nothere: unable to select package (or its dependencies)\n\
         ERROR: nosuch: unable to select package (or its dependencies)\n"
    );
    // To stdout: the package bytes.
    let out = Command::new(env!("CARGO_BIN_EXE_apk-rs"))
        .args([
            "--root",
            &f.root.display().to_string(),
            "fetch",
            "-s",
            "libgreet",
        ])
        .output()
        .expect("run apk-rs");
    assert!(out.status.success());
    assert_eq!(
        out.stdout,
        fs::read(f.main.join("x86_64/libgreet-2.1-r0.apk")).expect("original")
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Downloading libgreet-2.1-r0\n"
    );
}

#[test]
fn fetch_rejects_a_package_that_does_not_match_the_index() {
    let f = Fixture::new();
    // Replace hello-1.1-r0 in the repository by a different build of the same version.
    let mut other = hello("1.1-r0");
    other.info.description = "an impostor".into();
    build(&other, &f.main.join("x86_64/hello-1.1-r0.apk"));
    let o = f.base.display().to_string();
    let out = f.apk(&["fetch", "-o", &o, "hello"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("ERROR: hello-1.1-r0: package identity"),
        "{out:?}"
    );
    assert!(!f.base.join("hello-1.1-r0.apk").exists());
    let leftovers: Vec<_> = fs::read_dir(&f.base)
        .expect("read the directory")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn cache_download_clean_purge() {
    let f = Fixture::new();
    let out = f.apk(&["cache", "clean"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr, "ERROR: Package cache is not enabled.\n");

    let cache = f.base.join("cache");
    fs::create_dir_all(&cache).expect("create the cache");
    std::os::unix::fs::symlink(&cache, f.root.join("etc/apk/cache")).expect("link the cache");
    f.apk(&["cache", "download"]).assert(0, "");
    let id = |nv: &str| f.built(nv).identity.short_hex();
    let expected: BTreeSet<String> = [
        format!("hello-1.0-r0.{}.apk", id("hello-1.0-r0")),
        format!("libgreet-2.1-r0.{}.apk", id("libgreet-2.1-r0")),
    ]
    .into_iter()
    .collect();
    let listing = || -> BTreeSet<String> {
        fs::read_dir(&cache)
            .expect("read the cache")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(listing(), expected);
    assert_eq!(
        fs::read(cache.join(format!("libgreet-2.1-r0.{}.apk", id("libgreet-2.1-r0"))))
            .expect("cached"),
        fs::read(f.main.join("x86_64/libgreet-2.1-r0.apk")).expect("original")
    );
    // Stale files go, needed ones and `installed` stay.
    fs::write(cache.join("hello-0.9-r0.deadbeef.apk"), "old").expect("stale package");
    fs::write(cache.join("APKINDEX.00000000.tar.gz"), "old").expect("stale index");
    fs::write(cache.join("installed"), "").expect("installed");
    f.apk(&["-v", "cache", "clean"]).assert(
        0,
        "Removing APKINDEX.00000000.tar.gz\nRemoving hello-0.9-r0.deadbeef.apk\n",
    );
    let mut with_installed = expected.clone();
    with_installed.insert("installed".into());
    assert_eq!(listing(), with_installed);
    f.apk(&["cache", "purge"]).assert(0, "");
    assert_eq!(listing(), BTreeSet::from(["installed".to_owned()]));
    f.apk(&["cache", "sync"]).assert(0, "");
    assert_eq!(listing(), with_installed);
}

#[test]
fn a_root_without_a_database_is_an_error() {
    let f = Fixture::new();
    let empty = f.base.join("empty");
    fs::create_dir_all(&empty).expect("create a root");
    let out = run(
        &f.base,
        &["--root".into(), empty.display().to_string(), "info".into()],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("ERROR: "), "{out:?}");
    assert!(out.stderr.contains("no installed database"), "{out:?}");
}

// ------------------------------------------------------------------------------------------
// The shared corpus (APK_CORPUS).

/// The corpus directory, or `None` (with a note) when `APK_CORPUS` is unset. Set but
/// unreadable is a failure.
fn corpus() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("APK_CORPUS") else {
        eprintln!("note: APK_CORPUS is not set; skipping the corpus checks");
        return None;
    };
    let dir = PathBuf::from(dir);
    assert!(
        fs::read_dir(&dir).is_ok(),
        "APK_CORPUS={} is not a readable directory",
        dir.display()
    );
    Some(dir)
}

/// The `X:` values of the records of an installed database.
fn field_values(installed: &str, key: &str) -> Vec<String> {
    installed
        .lines()
        .filter_map(|l| l.strip_prefix(key))
        .map(str::to_owned)
        .collect()
}

#[test]
fn corpus_installed_databases() {
    let Some(corpus) = corpus() else { return };
    let mut roots: Vec<PathBuf> = fs::read_dir(&corpus)
        .expect("read the corpus")
        .filter_map(Result::ok)
        .map(|e| e.path().join("rootfs"))
        .filter(|p| p.join("lib/apk/db/installed").is_file())
        .collect();
    roots.sort();
    assert!(!roots.is_empty(), "no */rootfs in {}", corpus.display());
    for root in roots {
        let r = root.display().to_string();
        let installed =
            fs::read_to_string(root.join("lib/apk/db/installed")).expect("read installed");
        let mut names = field_values(&installed, "P:");
        names.sort();
        let files = field_values(&installed, "R:").len();
        let cwd = std::env::temp_dir();
        let apk = |args: &[&str]| {
            // Read-only and offline: no lock, no cache, no network, no repositories.
            let mut all: Vec<String> = vec![
                "--root".into(),
                r.clone(),
                "--no-network".into(),
                "--no-cache".into(),
                "--repositories-file".into(),
                "/dev/null".into(),
            ];
            all.extend(args.iter().map(|s| (*s).to_owned()));
            let out = run(&cwd, &all);
            assert_eq!(out.code, 0, "{out:?}");
            out
        };
        let info = apk(&["info"]);
        let listed: Vec<String> = info.stdout.lines().map(str::to_owned).collect();
        assert_eq!(listed, names, "{r}: info");

        let manifest = apk(&["manifest"]);
        assert_eq!(manifest.stdout.lines().count(), files, "{r}: manifest");
        for l in manifest.stdout.lines() {
            let (hash, path) = l.split_once("  ").expect("two spaces");
            let hex = hash.strip_prefix("sha1:").expect("sha1 checksums");
            assert_eq!(hex.len(), 40, "{l}");
            assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{l}");
            assert!(!path.is_empty() && !path.starts_with('/'), "{l}");
        }

        let stats = apk(&["stats"]);
        assert!(
            stats
                .stdout
                .contains(&format!("  packages: {}\n  dirs:", names.len())),
            "{r}: {}",
            stats.stdout
        );
        assert!(
            stats.stdout.contains(&format!("  files: {files}\n")),
            "{r}: {}",
            stats.stdout
        );

        let list = apk(&["list", "-I"]);
        let lines: Vec<&str> = list.stdout.lines().collect();
        assert_eq!(lines.len(), names.len(), "{r}: list -I");
        for (l, name) in lines.iter().zip(&names) {
            assert!(l.starts_with(&format!("{name}-")), "{l}");
            assert!(l.ends_with(" [installed]"), "{l}");
        }
        // Nothing was written into the corpus.
        assert!(!root.join("lib/apk/db/lock").exists(), "{r}: lock created");
        assert!(!root.join("var").exists(), "{r}: var/ created");
    }
}

#[test]
fn corpus_version_and_list_against_real_indexes() {
    let Some(corpus) = corpus() else { return };
    // Kobo-InkBox: four installed packages are older than the index.
    let dir = corpus.join("Kobo-InkBox_xorg-base-rootfs");
    let args = |cmd: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = vec![
            "--root".into(),
            dir.join("rootfs").display().to_string(),
            // Read-only: nothing may be created in the corpus.
            "--no-cache".into(),
            "--repositories-file".into(),
            "/dev/null".into(),
            "-X".into(),
            dir.join("main-APKINDEX.tar.gz").display().to_string(),
            "-X".into(),
            dir.join("community-APKINDEX.tar.gz").display().to_string(),
            "--keys-dir".into(),
            corpus.join("csmith_apkutils").display().to_string(),
        ];
        all.extend(cmd.iter().map(|s| (*s).to_owned()));
        all
    };
    let cwd = std::env::temp_dir();
    run(&cwd, &args(&["version"])).assert(
        0,
        "Installed:                                Available:\n\
         apk-tools-2.10.6-r0                     < 2.10.8-r0\n\
         libcurl-7.66.0-r3                       < 7.66.0-r4\n\
         libx11-1.6.12-r0                        < 1.6.12-r1\n\
         libxml2-2.9.9-r4                        < 2.9.9-r5\n",
    );
    run(&cwd, &args(&["-q", "list", "-u"])).assert(0, "apk-tools\nlibcurl\nlibx11\nlibxml2\n");
    let stats = run(&cwd, &args(&["stats"]));
    assert_eq!(stats.code, 0, "{stats:?}");
    // 10,071 index entries plus the four installed versions no index has.
    assert!(
        stats.stdout.ends_with("  packages: 10075\n"),
        "{}",
        stats.stdout
    );
    assert!(
        !dir.join("rootfs/var").exists(),
        "var/ created in the corpus"
    );
}

#[test]
fn corpus_audit_matches_the_apk_tools_transcript() {
    let Some(corpus) = corpus() else { return };
    let t = corpus.join("apk3-transactions");
    let transcript =
        fs::read_to_string(t.join("steps/2b-audit.transcript")).expect("read the transcript");
    let expected: String = transcript
        .lines()
        .skip_while(|l| !l.starts_with("$ apk audit"))
        .skip(1)
        .take_while(|l| !l.starts_with("rc="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(expected, "U etc/hello.conf\nD etc/apk/\n");

    // Rebuild the root after step 2: repo-b's hello 1.1 and libgreet unpacked, the recorded
    // database, the user's edit, the .apk-new, and apk's own files.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let root = tmp.path().join("root");
    let keys = t.join("keys");
    let mut args: Vec<String> = vec![
        "--keys-dir".into(),
        keys.display().to_string(),
        "extract".into(),
        "--destination".into(),
        root.display().to_string(),
    ];
    for p in ["hello-1.1-r0.apk", "libgreet-2.1-r0.apk"] {
        args.push(t.join("repo-b/x86_64").join(p).display().to_string());
    }
    let out = run(tmp.path(), &args);
    assert_eq!(out.code, 0, "{out:?}");
    let step = t.join("steps/2-upgrade");
    fs::create_dir_all(root.join("lib/apk/db")).expect("lib/apk/db");
    fs::create_dir_all(root.join("etc/apk/keys")).expect("etc/apk/keys");
    fs::create_dir_all(root.join("proc")).expect("proc");
    fs::create_dir_all(root.join("var/log")).expect("var/log");
    fs::copy(step.join("installed"), root.join("lib/apk/db/installed")).expect("installed");
    fs::copy(step.join("world"), root.join("etc/apk/world")).expect("world");
    fs::copy(step.join("triggers"), root.join("lib/apk/db/triggers")).expect("triggers");
    fs::copy(
        keys.join("test@example-1.rsa.pub"),
        root.join("etc/apk/keys/test@example-1.rsa.pub"),
    )
    .expect("key");
    fs::write(root.join("etc/apk/arch"), "x86_64\n").expect("arch");
    fs::write(
        root.join("etc/apk/repositories"),
        format!("{}\n", t.join("repo-b").display()),
    )
    .expect("repositories");
    fs::write(root.join("var/log/apk.log"), "").expect("apk.log");
    let conf = root.join("etc/hello.conf");
    let original = fs::read(&conf).expect("the packaged config");
    fs::write(root.join("etc/hello.conf.apk-new"), &original).expect("apk-new");
    let mut edited = original;
    edited.extend_from_slice(b"user=edit\n");
    fs::write(&conf, edited).expect("edit the config");

    run(
        tmp.path(),
        &["--root".into(), root.display().to_string(), "audit".into()],
    )
    .assert(0, &expected);
}
