//! End-to-end tests of `apk_db` on repositories built here: a signing key, packages made with
//! [`PackageBuilder`], a signed `APKINDEX.tar.gz`, and a root with the host's `/bin/sh` (and
//! the libraries it loads) so that package scripts run chrooted as they do under apk-tools.
//!
//! Each command goes the way `apk-rs` takes it: [`Database::open`], the indexes, the solving
//! command ([`apk_solver::command`]), then a [`Transaction`], whose events are rendered as
//! apk prints them. After every step [`check_root`] compares the installed database with the
//! disk: every recorded file exists with its `Z:` checksum and its owner and mode, every
//! file on disk is recorded by exactly one package (or is one the test expects to be left,
//! such as a user's changed config or a `*.apk-new`), no directory is left behind, and no
//! temporary name (`.apk.*`, `*.new`, the journal, a script in `lib/apk/exec`) remains.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use apk_db::database::layout;
use apk_db::lock::LockError;
use apk_db::{
    CommitOptions, CommitSummary, Database, Event, LockWait, OpenError, OpenOptions, Transaction,
    default_arch,
};
use apk_index::{InstalledDb, InstalledDbOptions, PackageInfo, SignatureAlgorithm, SigningKey};
use apk_pkg::{IndexBuilder, PackageBuilder, ScriptKind};
use apk_solver::command::{Invocation, run as solve};
use rand::SeedableRng;
use sha1::{Digest, Sha1};

mod support {
    pub mod shell;
}
use support::shell::install_shell;

// ------------------------------------------------------------------------------ fixtures

const KEY_NAME: &str = "e2e@apk-rs.test-00000001.rsa.pub";

/// One key for every test (1024 bits, the smallest allowed: generation stays quick).
fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x00e2_e0e2);
        SigningKey::generate(KEY_NAME, 1024, &mut rng).expect("key generation")
    })
}

/// A package builder with the usual metadata; `deps` are dependency strings.
fn pkg(name: &str, version: &str, deps: &[&str]) -> PackageBuilder {
    let mut info = PackageInfo::new(name, version);
    info.arch = Some(default_arch().to_owned());
    info.description = format!("{name} (apk-rs e2e test)");
    info.license = "MIT".into();
    info.origin = Some(name.into());
    for d in deps {
        info.depends.push(d.parse().expect("dependency"));
    }
    PackageBuilder::new(info)
}

/// A local repository directory: packages in `<dir>/<arch>/`, the signed index beside them.
struct Repo {
    dir: PathBuf,
    files: Vec<PathBuf>,
    /// Identity (`C:`) of each package file, by `name-version`.
    identities: BTreeMap<String, apk_index::Checksum>,
}

impl Repo {
    fn new(dir: PathBuf) -> Repo {
        fs::create_dir_all(dir.join(default_arch())).unwrap();
        Repo {
            dir,
            files: Vec::new(),
            identities: BTreeMap::new(),
        }
    }

    /// Sign and write the package, then rewrite the index with it.
    fn add(&mut self, mut b: PackageBuilder) -> &mut Self {
        b.sign_with(key(), SignatureAlgorithm::RsaSha1);
        let name = format!("{}-{}", b.info().name, b.info().version);
        let path = self.dir.join(default_arch()).join(format!("{name}.apk"));
        let built = b
            .write(fs::File::create(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        self.identities.insert(name, built.identity);
        if !self.files.contains(&path) {
            self.files.push(path);
        }
        self.publish();
        self
    }

    fn publish(&self) {
        let mut index = IndexBuilder::new();
        index.description(Some("apk-rs e2e".into()));
        for f in &self.files {
            index.add_file(f).unwrap();
        }
        let archive = index
            .write_archive(&[(key(), SignatureAlgorithm::RsaSha1)])
            .unwrap();
        fs::write(
            self.dir.join(default_arch()).join("APKINDEX.tar.gz"),
            archive,
        )
        .unwrap();
    }
}

/// A root with the layout (`--initdb`), the test key, `repositories` and a shell.
struct Root {
    _tmp: tempfile::TempDir,
    path: PathBuf,
    shell: Vec<String>,
}

impl Root {
    fn new(tmp: tempfile::TempDir, repositories: &[String]) -> Root {
        let path = tmp.path().join("root");
        fs::create_dir_all(path.join("etc/apk/keys")).unwrap();
        fs::write(
            path.join("etc/apk/keys").join(KEY_NAME),
            key().public_key().to_pem(),
        )
        .unwrap();
        let mut text = repositories.join("\n");
        text.push('\n');
        fs::write(path.join(layout::REPOSITORIES), text).unwrap();
        drop(Database::open(&OpenOptions::new(&path).initdb(true).arch(default_arch())).unwrap());
        let shell = install_shell(&path);
        Root {
            _tmp: tmp,
            path,
            shell,
        }
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.file(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.file(rel)).is_ok()
    }

    /// The installed database as written on disk.
    fn installed(&self) -> InstalledDb {
        let bytes = fs::read(self.file(layout::INSTALLED)).unwrap();
        InstalledDb::from_bytes(&bytes, &InstalledDbOptions::default()).unwrap()
    }

    /// The `installed` record of `name`, as text.
    fn record(&self, name: &str) -> String {
        let text = self.read(layout::INSTALLED);
        text.split("\n\n")
            .find(|r| r.lines().any(|l| l == format!("P:{name}")))
            .unwrap_or_else(|| panic!("{name} not in installed:\n{text}"))
            .to_owned()
    }

    fn installed_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .installed()
            .packages
            .into_iter()
            .map(|p| format!("{}-{}", p.name, p.version))
            .collect();
        v.sort();
        v
    }
}

fn root_with(repo_dirs: &[&Path]) -> Root {
    let tmp = tempfile::tempdir().unwrap();
    Root::new(
        tmp,
        &repo_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>(),
    )
}

// ------------------------------------------------------------------------ running commands

/// What a command printed and how the commit ended.
#[derive(Debug)]
struct Outcome {
    /// The lines apk would print (the solver's preamble, then the commit's events).
    lines: Vec<String>,
    /// The commit summary (`None` when the solve failed: then `lines` holds its report).
    summary: Option<CommitSummary>,
}

impl Outcome {
    fn text(&self) -> String {
        self.lines.join("\n")
    }

    fn ok(&self) -> &Self {
        let s = self
            .summary
            .unwrap_or_else(|| panic!("solve failed:\n{}", self.text()));
        assert_eq!(s.errors, 0, "{}", self.text());
        assert!(s.to_string().starts_with("OK: "), "{s}");
        self
    }

    fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    fn count(&self, prefix: &str) -> usize {
        self.lines.iter().filter(|l| l.starts_with(prefix)).count()
    }
}

fn render(e: &Event) -> Option<String> {
    Some(match e {
        Event::Change {
            position,
            total,
            change,
        } => format!("({position}/{total}) {change}"),
        Event::Script { package, script } => format!("  Executing {package}.{script}"),
        Event::Trigger { package } => format!("Executing {package}.trigger"),
        Event::ScriptOutput(l) => format!("* {l}"),
        Event::NewConfig { path } => format!("  Installing file to {path}"),
        Event::Warning(w) => format!("WARNING: {w}"),
        Event::Error(m) => format!("ERROR: {m}"),
        _ => return None,
    })
}

/// Run an apk command line on `root`, as `apk-rs --root ROOT …` does. apk's global options
/// `--no-scripts`, `--purge`, `--force-overwrite`, `--no-network` and `--no-cache` are
/// understood.
fn apk(root: &Path, cmdline: &str) -> Outcome {
    run_apk(root, cmdline).unwrap_or_else(|e| panic!("{cmdline}: commit failed: {e}"))
}

/// [`apk`] for a commit that is expected to fail: the error's text (with its causes).
fn apk_failing(root: &Path, cmdline: &str) -> String {
    match run_apk(root, cmdline) {
        Ok(out) => panic!("{cmdline}: the commit succeeded:\n{}", out.text()),
        Err(e) => e,
    }
}

/// Solve and commit `cmdline` on `root`; `Err` with the error chain when the commit fails.
fn run_apk(root: &Path, cmdline: &str) -> Result<Outcome, String> {
    let mut opts = OpenOptions::new(root);
    let mut commit = CommitOptions::default();
    let mut args: Vec<String> = Vec::new();
    for a in cmdline.split_whitespace() {
        match a {
            "--no-scripts" => commit.no_scripts = true,
            "--purge" => commit.purge = true,
            "--force-overwrite" => commit.force_overwrite = true,
            "--no-cache" => opts.no_cache = true,
            "--no-network" => {
                opts.no_network = true;
                args.push(a.to_owned());
            }
            _ => args.push(a.to_owned()),
        }
    }
    let mut db = Database::open(&opts).unwrap_or_else(|e| panic!("open {}: {e}", root.display()));
    assert!(db.recovered().is_empty(), "{:?}", db.recovered());
    db.load_indexes(false);
    for l in db.loaded_repositories() {
        assert!(l.error.is_none(), "{}: {:?}", l.index_url, l.error);
    }
    let inv = Invocation::parse(&args).expect("command line");
    let world = db.world().to_vec();
    let out = solve(&inv, db.solver_repositories(), db.installed(), world);
    let mut lines: Vec<String> = out.preamble.lines().map(str::to_owned).collect();
    let Some(changeset) = out.changeset.clone().filter(|_| out.exit_status == 0) else {
        return Ok(Outcome {
            lines: out.transcript.lines().map(str::to_owned).collect(),
            summary: None,
        });
    };
    let mut tx = Transaction::new(&mut db, changeset, out.world.clone());
    if let Some(v) = out.virtual_package.clone() {
        tx = tx.with_package(v, None);
    }
    let summary = tx
        .commit(&commit, &mut |e| lines.extend(render(&e)))
        .map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        })?;
    lines.push(summary.to_string());
    Ok(Outcome {
        lines,
        summary: Some(summary),
    })
}

// ------------------------------------------------------------------- database vs. disk

fn sha1_of(path: &Path) -> [u8; 20] {
    let meta = fs::symlink_metadata(path).unwrap();
    let mut h = Sha1::new();
    if meta.file_type().is_symlink() {
        use std::os::unix::ffi::OsStrExt;
        h.update(fs::read_link(path).unwrap().as_os_str().as_bytes());
    } else {
        h.update(fs::read(path).unwrap());
    }
    h.finalize().into()
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Everything below `dir` (relative paths), directories flagged.
fn walk(root: &Path, rel: &str, out: &mut Vec<(String, bool)>) {
    let dir = if rel.is_empty() {
        root.to_owned()
    } else {
        root.join(rel)
    };
    for e in fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let p = join(rel, &e.file_name().to_string_lossy());
        let is_dir = e.file_type().unwrap().is_dir();
        out.push((p.clone(), is_dir));
        if is_dir {
            walk(root, &p, out);
        }
    }
}

/// Compare the installed database with the disk (see the module documentation).
///
/// * `changed`: recorded files the user changed (their checksum is not compared);
/// * `extra`: files on disk that no package records (user files, `*.apk-new`).
fn check_root(root: &Root, changed: &[&str], extra: &[&str]) {
    let db = root.installed();
    let as_root = rustix::process::geteuid().is_root();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let mut problems: Vec<String> = Vec::new();
    for p in &db.packages {
        for d in &p.dirs {
            if !d.path.is_empty() {
                dirs.insert(d.path.clone());
                match fs::symlink_metadata(root.file(&d.path)) {
                    Ok(m) if m.is_dir() => {
                        let (uid, gid, mode) = d
                            .acl
                            .as_ref()
                            .map_or((0, 0, 0o755), |a| (a.uid, a.gid, a.mode));
                        if m.permissions().mode() & 0o7777 != mode {
                            problems.push(format!(
                                "{}: directory mode {:o}, M: says {mode:o}",
                                d.path,
                                m.permissions().mode() & 0o7777
                            ));
                        }
                        if as_root && (m.uid(), m.gid()) != (uid, gid) {
                            problems.push(format!("{}: directory owner differs from M:", d.path));
                        }
                    }
                    _ => problems.push(format!("{}: recorded directory missing", d.path)),
                }
            }
            for f in &d.files {
                let path = join(&d.path, &f.name);
                if let Some(other) = owners.insert(path.clone(), p.name.clone()) {
                    problems.push(format!("{path}: owned by both {other} and {}", p.name));
                }
                let full = root.file(&path);
                let Ok(meta) = fs::symlink_metadata(&full) else {
                    problems.push(format!("{path} ({}): recorded but missing", p.name));
                    continue;
                };
                if !changed.contains(&path.as_str()) {
                    let z = f.checksum.as_ref().map(|c| c.as_bytes().to_vec());
                    if z.as_deref() != Some(&sha1_of(&full)[..]) {
                        problems.push(format!("{path} ({}): Z: differs from the disk", p.name));
                    }
                }
                if !meta.file_type().is_symlink() {
                    let (uid, gid, mode) = f
                        .acl
                        .as_ref()
                        .map_or((0, 0, 0o644), |a| (a.uid, a.gid, a.mode));
                    if meta.permissions().mode() & 0o7777 != mode {
                        problems.push(format!(
                            "{path}: mode {:o}, a: says {mode:o}",
                            meta.permissions().mode() & 0o7777
                        ));
                    }
                    if as_root && (meta.uid(), meta.gid()) != (uid, gid) {
                        problems.push(format!("{path}: owner differs from a:"));
                    }
                }
            }
        }
    }
    // The disk: what apk-rs and the test own is left out; everything else must be recorded.
    let infrastructure = |p: &str| {
        ["dev", "proc", "tmp", "var", "etc/apk", "lib/apk"]
            .iter()
            .any(|i| p == *i || p.starts_with(&format!("{i}/")))
            || root.shell.iter().any(|s| s == p)
    };
    let mut needed_dirs: BTreeSet<String> = BTreeSet::new();
    let mut note_parents = |p: &str| {
        let mut p = p;
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            needed_dirs.insert(p.to_owned());
        }
    };
    for s in &root.shell {
        note_parents(s);
    }
    for p in ["etc/apk/x", "lib/apk/x"].iter().chain(extra) {
        note_parents(p);
    }
    let mut entries = Vec::new();
    walk(&root.path, "", &mut entries);
    for (p, is_dir) in &entries {
        let name = p.rsplit('/').next().unwrap();
        if name.starts_with(".apk.") {
            problems.push(format!("{p}: temporary file left behind"));
        }
        if p.starts_with("lib/apk/db/") && name.ends_with(".new") {
            problems.push(format!("{p}: database temporary left behind"));
        }
        if p.starts_with("lib/apk/exec/") {
            problems.push(format!("{p}: script left in lib/apk/exec"));
        }
        if p == layout::JOURNAL {
            problems.push(format!("{p}: journal left behind"));
        }
        if infrastructure(p) {
            continue;
        }
        if *is_dir {
            if !dirs.contains(p) && !needed_dirs.contains(p) {
                problems.push(format!("{p}/: directory on disk that no package lists"));
            }
        } else if !owners.contains_key(p) && !extra.contains(&p.as_str()) {
            problems.push(format!("{p}: on disk but owned by no package"));
        }
    }
    for e in extra {
        if !root.exists(e) {
            problems.push(format!("{e}: expected to be left on disk, missing"));
        }
    }
    assert!(
        problems.is_empty(),
        "database and disk disagree:\n  {}\ninstalled:\n{}",
        problems.join("\n  "),
        root.read(layout::INSTALLED)
    );
}

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

// --------------------------------------------------------------------------------- tests

/// Regular files, an executable, symlinks, a hard link, directory modes and owners, and a
/// file at the top of the root; then removal leaves nothing behind.
#[test]
fn files_links_and_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    // The executable and its hard link come from a tree on disk, as abuild packages them
    // (the link's header then carries the file's mode).
    let staging = tmp.path().join("staging");
    fs::create_dir_all(staging.join("usr/bin")).unwrap();
    fs::write(staging.join("usr/bin/tool"), "#!/bin/sh\necho tool\n").unwrap();
    fs::set_permissions(
        staging.join("usr/bin/tool"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    fs::hard_link(
        staging.join("usr/bin/tool"),
        staging.join("usr/bin/tool-alias"),
    )
    .unwrap();
    for d in ["usr", "usr/bin"] {
        fs::set_permissions(staging.join(d), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut b = pkg("tree", "1.0-r0", &[]);
    b.add_tree(&staging).unwrap();
    b.add_symlink("usr/bin/t", "tool")
        .unwrap()
        .add_symlink("usr/bin/abs", "/usr/bin/tool")
        .unwrap()
        .add_dir("usr/share", 0o755)
        .unwrap()
        .add_dir("usr/share/tree", 0o755)
        .unwrap()
        .add_file("usr/share/tree/data", 0o600, "payload\n")
        .unwrap()
        .add_dir("var-lib-tree", 0o750)
        .unwrap()
        .add_file("var-lib-tree/state", 0o640, "s\n")
        .unwrap()
        .set_owner("var-lib-tree", 100, 101)
        .unwrap()
        .set_owner("var-lib-tree/state", 100, 101)
        .unwrap()
        .add_dir("srv", 0o1777)
        .unwrap()
        .add_file("srv/empty", 0o644, "")
        .unwrap()
        .add_file("TOPLEVEL", 0o444, "at the top\n")
        .unwrap();
    repo.add(b);
    let root = root_with(&[&repo.dir]);

    let out = apk(&root.path, "add tree");
    out.ok();
    assert_eq!(
        out.lines[0],
        "(1/1) Installing tree (1.0-r0)",
        "{}",
        out.text()
    );
    assert_eq!(root.read("usr/bin/tool"), "#!/bin/sh\necho tool\n");
    assert_eq!(mode_of(&root.file("usr/bin/tool")), 0o755);
    assert_eq!(mode_of(&root.file("usr/share/tree/data")), 0o600);
    assert_eq!(mode_of(&root.file("TOPLEVEL")), 0o444);
    assert_eq!(mode_of(&root.file("var-lib-tree")), 0o750);
    assert_eq!(mode_of(&root.file("srv")), 0o1777);
    assert_eq!(
        fs::read_link(root.file("usr/bin/t")).unwrap(),
        Path::new("tool")
    );
    assert_eq!(
        fs::read_link(root.file("usr/bin/abs")).unwrap(),
        Path::new("/usr/bin/tool")
    );
    let a = fs::metadata(root.file("usr/bin/tool")).unwrap();
    let b = fs::symlink_metadata(root.file("usr/bin/tool-alias")).unwrap();
    assert!(b.is_file());
    assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "not a hard link");
    assert_eq!(a.nlink(), 2);
    if rustix::process::geteuid().is_root() {
        let m = fs::metadata(root.file("var-lib-tree/state")).unwrap();
        assert_eq!((m.uid(), m.gid()), (100, 101));
    }
    // The record: parents first, the non-default ACLs, one Z: per file.
    let rec = root.record("tree");
    let f_lines: Vec<&str> = rec.lines().filter(|l| l.starts_with("F:")).collect();
    assert_eq!(
        f_lines,
        [
            "F:",
            "F:srv",
            "F:usr",
            "F:usr/bin",
            "F:usr/share",
            "F:usr/share/tree",
            "F:var-lib-tree"
        ],
        "{rec}"
    );
    assert!(rec.contains("F:srv\nM:0:0:1777\n"), "{rec}");
    assert!(rec.contains("F:var-lib-tree\nM:100:101:750\n"), "{rec}");
    assert!(rec.contains("R:state\na:100:101:640\nZ:Q1"), "{rec}");
    assert!(rec.contains("R:tool\na:0:0:755\nZ:Q1"), "{rec}");
    assert!(rec.contains("R:tool-alias\na:0:0:755\nZ:Q1"), "{rec}");
    // Files at the top of the root are listed under an empty `F:`, as apk-tools does.
    assert!(rec.contains("F:\nR:TOPLEVEL\na:0:0:444\nZ:Q1"), "{rec}");
    check_root(&root, &[], &[]);

    apk(&root.path, "del tree").ok();
    assert!(root.installed().packages.is_empty());
    for p in ["usr", "srv", "var-lib-tree", "TOPLEVEL"] {
        assert!(!root.exists(p), "{p} left after del");
    }
    check_root(&root, &[], &[]);
}

/// A script that logs its name, type, arguments and whether the package's file is there.
fn logging_script(pkgname: &str) -> String {
    format!(
        "#!/bin/sh\n\
         if [ -e /usr/share/{pkgname}/data ]; then d=yes; else d=no; fi\n\
         echo \"${{0##*/}} $APK_SCRIPT $* data=$d\" >> /tmp/scripts.log\n\
         echo \"hello from $APK_SCRIPT\"\n"
    )
}

fn scripted(name: &str, version: &str) -> PackageBuilder {
    let mut b = pkg(name, version, &[]);
    b.add_file(&format!("usr/share/{name}/data"), 0o644, version)
        .unwrap();
    if version == "1.0-r0" {
        b.add_file(&format!("usr/share/{name}/only-in-1"), 0o644, "old")
            .unwrap();
    }
    let body = logging_script(name);
    for kind in ScriptKind::ALL {
        if kind != ScriptKind::Trigger {
            b.script(kind, body.clone());
        }
    }
    b
}

/// pre/post install, upgrade and deinstall: each once, with apk's arguments, before or after
/// the files; the scripts database follows; `--no-scripts` runs none.
#[test]
fn scripts_with_their_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    repo.add(scripted("s", "1.0-r0"));
    let root = root_with(&[&repo.dir]);
    let log = || {
        fs::read_to_string(root.file("tmp/scripts.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    let out = apk(&root.path, "add s");
    out.ok();
    assert_eq!(
        out.lines,
        [
            "(1/1) Installing s (1.0-r0)",
            "  Executing s-1.0-r0.pre-install",
            "* hello from pre-install",
            "  Executing s-1.0-r0.post-install",
            "* hello from post-install",
            out.lines.last().unwrap().as_str(),
        ]
    );
    assert_eq!(
        log(),
        [
            "s-1.0-r0.pre-install pre-install 1.0-r0 data=no",
            "s-1.0-r0.post-install post-install 1.0-r0 data=yes",
        ]
    );
    let scripts = root.file(layout::SCRIPTS_TAR);
    assert!(scripts.is_file() || root.file(layout::SCRIPTS_TAR_GZ).is_file());
    check_root(&root, &[], &[]);

    repo.add(scripted("s", "2.0-r0"));
    fs::remove_file(root.file("tmp/scripts.log")).unwrap();
    let out = apk(&root.path, "upgrade");
    out.ok();
    assert!(
        out.has("(1/1) Upgrading s (1.0-r0 -> 2.0-r0)"),
        "{}",
        out.text()
    );
    assert_eq!(
        log(),
        [
            "s-2.0-r0.pre-upgrade pre-upgrade 2.0-r0 1.0-r0 data=yes",
            "s-2.0-r0.post-upgrade post-upgrade 2.0-r0 1.0-r0 data=yes",
        ]
    );
    assert_eq!(root.read("usr/share/s/data"), "2.0-r0");
    assert!(!root.exists("usr/share/s/only-in-1"), "old file not purged");
    check_root(&root, &[], &[]);

    // Downgrade: the upgrade scripts of the version going in.
    fs::remove_file(root.file("tmp/scripts.log")).unwrap();
    let out = apk(&root.path, "add s=1.0-r0");
    out.ok();
    assert!(
        out.has("(1/1) Downgrading s (2.0-r0 -> 1.0-r0)"),
        "{}",
        out.text()
    );
    assert_eq!(
        log(),
        [
            "s-1.0-r0.pre-upgrade pre-upgrade 1.0-r0 2.0-r0 data=yes",
            "s-1.0-r0.post-upgrade post-upgrade 1.0-r0 2.0-r0 data=yes",
        ]
    );
    assert!(root.exists("usr/share/s/only-in-1"));
    check_root(&root, &[], &[]);

    fs::remove_file(root.file("tmp/scripts.log")).unwrap();
    let out = apk(&root.path, "del s");
    out.ok();
    assert_eq!(
        log(),
        [
            "s-1.0-r0.pre-deinstall pre-deinstall 1.0-r0 data=yes",
            "s-1.0-r0.post-deinstall post-deinstall 1.0-r0 data=no",
        ]
    );
    check_root(&root, &[], &[]);

    // --no-scripts: nothing runs, the package is installed all the same.
    fs::remove_file(root.file("tmp/scripts.log")).unwrap();
    let out = apk(&root.path, "--no-scripts add s");
    out.ok();
    assert_eq!(out.count("  Executing"), 0, "{}", out.text());
    assert!(log().is_empty(), "{:?}", log());
    assert_eq!(root.installed_names(), ["s-2.0-r0"]);
    check_root(&root, &[], &[]);
}

/// A trigger runs once per commit with every matching directory; not for its owner's own
/// directory; and when its package is installed, for the directories already there.
#[test]
fn triggers_fire_once_with_the_matched_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    let mut b = pkg("host", "1.0-r0", &[]);
    b.add_dir("usr/share/plug", 0o755)
        .unwrap()
        .add_file("usr/share/host/readme", 0o644, "host\n")
        .unwrap()
        .triggers(["/usr/share/plug/*"])
        .script(
            ScriptKind::Trigger,
            "#!/bin/sh\necho \"$APK_SCRIPT $*\" >> /tmp/trigger.log\n",
        );
    repo.add(b);
    for p in ["plugA", "plugB", "plugC"] {
        let mut b = pkg(p, "1.0-r0", &[]);
        b.add_file(&format!("usr/share/plug/{p}/plugin.conf"), 0o644, p)
            .unwrap();
        repo.add(b);
    }
    let mut b = pkg("other", "1.0-r0", &[]);
    b.add_file("usr/share/other/x", 0o644, "x").unwrap();
    repo.add(b);
    // A trigger on a fixed directory that its package owns (as busybox's on /usr/bin).
    let mut b = pkg("indexer", "1.0-r0", &[]);
    b.add_dir("usr/lib/plugins", 0o755)
        .unwrap()
        .add_file("usr/lib/indexer", 0o755, "#!/bin/sh\n")
        .unwrap()
        .triggers(["/usr/lib/plugins"])
        .script(
            ScriptKind::Trigger,
            "#!/bin/sh\necho \"$APK_SCRIPT $*\" >> /tmp/indexer.log\n",
        );
    repo.add(b);
    let mut b = pkg("plugD", "1.0-r0", &[]);
    b.add_file("usr/lib/plugins/d.so", 0o755, "d").unwrap();
    repo.add(b);
    let root = root_with(&[&repo.dir]);
    let indexer_log = || {
        let text = fs::read_to_string(root.file("tmp/indexer.log")).unwrap_or_default();
        let _ = fs::remove_file(root.file("tmp/indexer.log"));
        text
    };
    let log = || {
        fs::read_to_string(root.file("tmp/trigger.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    // The owner alone: its own /usr/share/plug does not match /usr/share/plug/*.
    let out = apk(&root.path, "add host");
    out.ok();
    assert_eq!(
        out.count("Executing host-1.0-r0.trigger"),
        0,
        "{}",
        out.text()
    );
    assert!(log().is_empty());
    let id = repo.identities["host-1.0-r0"].to_string();
    assert_eq!(
        root.read(layout::TRIGGERS),
        format!("{id} /usr/share/plug/*\n")
    );

    // Two plugins in one commit: one run, both directories.
    let out = apk(&root.path, "add plugA plugB");
    out.ok();
    assert_eq!(
        out.count("Executing host-1.0-r0.trigger"),
        1,
        "{}",
        out.text()
    );
    assert_eq!(
        out.lines
            .iter()
            .position(|l| l.starts_with("Executing host")),
        Some(out.lines.len() - 2),
        "the trigger runs after every package: {}",
        out.text()
    );
    assert_eq!(
        log(),
        ["trigger /usr/share/plug/plugA /usr/share/plug/plugB"]
    );

    // Unrelated directories do not fire it.
    apk(&root.path, "add other").ok();
    assert_eq!(log().len(), 1, "{:?}", log());

    // Reinstalling the trigger package: it sees what is there now.
    fs::remove_file(root.file("tmp/trigger.log")).unwrap();
    let out = apk(&root.path, "fix host");
    out.ok();
    assert!(
        out.has("(1/1) Reinstalling host (1.0-r0)"),
        "{}",
        out.text()
    );
    assert_eq!(
        log(),
        ["trigger /usr/share/plug/plugA /usr/share/plug/plugB"]
    );

    fs::remove_file(root.file("tmp/trigger.log")).unwrap();
    apk(&root.path, "add plugC").ok();
    assert_eq!(log(), ["trigger /usr/share/plug/plugC"]);
    check_root(&root, &[], &[]);

    // A fixed directory: matched at the trigger package's own install (the directory is
    // there), and when a file in it comes or goes.
    let out = apk(&root.path, "add indexer");
    out.ok();
    assert_eq!(
        out.count("Executing indexer-1.0-r0.trigger"),
        1,
        "{}",
        out.text()
    );
    assert_eq!(indexer_log(), "trigger /usr/lib/plugins\n");
    apk(&root.path, "add plugD").ok();
    assert_eq!(indexer_log(), "trigger /usr/lib/plugins\n");
    let out = apk(&root.path, "del plugD");
    out.ok();
    assert_eq!(
        indexer_log(),
        "trigger /usr/lib/plugins\n",
        "{}",
        out.text()
    );
    assert!(!root.exists("usr/lib/plugins/d.so"));
    apk(&root.path, "del indexer").ok();
    assert_eq!(indexer_log(), "");
    // host's trigger stayed quiet meanwhile.
    assert_eq!(log(), ["trigger /usr/share/plug/plugC"]);
    check_root(&root, &[], &[]);

    // Without the trigger package, its line goes.
    apk(&root.path, "del host").ok();
    assert_eq!(root.read(layout::TRIGGERS), "");
    check_root(&root, &[], &[]);
}

/// A file owned by another package: an error without `replaces` (the package is marked `f:f`
/// and the owner's file kept), a takeover with it, a warning with `--force-overwrite`.
#[test]
fn conflicts_replaces_and_force_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    let shared = "usr/share/common/file";
    let mut b = pkg("owner", "1.0-r0", &[]);
    b.add_file(shared, 0o644, "owner\n")
        .unwrap()
        .add_file("usr/share/owner/own", 0o644, "o\n")
        .unwrap();
    repo.add(b);
    let mut b = pkg("intruder", "1.0-r0", &[]);
    b.add_file(shared, 0o644, "intruder\n")
        .unwrap()
        .add_file("usr/share/intruder/own", 0o644, "i\n")
        .unwrap();
    repo.add(b);
    let mut b = pkg("successor", "1.0-r0", &[]);
    b.info_mut().replaces.push("owner".parse().unwrap());
    b.add_file(shared, 0o644, "successor\n").unwrap();
    repo.add(b);
    let mut b = pkg("forced", "1.0-r0", &[]);
    b.add_file(shared, 0o644, "forced\n").unwrap();
    repo.add(b);
    // Two packages that replace each other: the higher replaces_priority keeps the file.
    for (name, other, priority) in [("hi", "lo", 10), ("lo", "hi", 5)] {
        let mut b = pkg(name, "1.0-r0", &[]);
        b.info_mut().replaces.push(other.parse().unwrap());
        b.info_mut().replaces_priority = priority;
        b.add_file("usr/share/prio/file", 0o644, format!("{name}\n"))
            .unwrap()
            .add_file(&format!("usr/share/prio/{name}-only"), 0o644, name)
            .unwrap();
        repo.add(b);
    }
    let root = root_with(&[&repo.dir]);

    apk(&root.path, "add owner").ok();
    let out = apk(&root.path, "add intruder");
    let summary = out.summary.expect("the commit completes");
    assert_eq!(summary.errors, 1, "{}", out.text());
    assert!(
        out.has(&format!(
            "ERROR: intruder-1.0-r0: trying to overwrite {shared} owned by owner-1.0-r0."
        )),
        "{}",
        out.text()
    );
    assert!(summary.to_string().starts_with("1 error; "), "{summary}");
    assert_eq!(root.read(shared), "owner\n", "the owner's file was touched");
    assert_eq!(root.read("usr/share/intruder/own"), "i\n");
    assert!(root.record("intruder").lines().any(|l| l == "f:f"));
    assert!(!root.record("owner").lines().any(|l| l.starts_with("f:")));
    assert!(root.record("owner").contains("R:file\n"));
    check_root(&root, &[], &[]);
    apk(&root.path, "del intruder").ok();
    assert_eq!(
        root.read(shared),
        "owner\n",
        "removing the loser took the file"
    );
    check_root(&root, &[], &[]);

    // replaces: the file changes hands silently.
    let out = apk(&root.path, "add successor");
    out.ok();
    assert!(!out.text().contains("overwrite"), "{}", out.text());
    assert_eq!(root.read(shared), "successor\n");
    assert!(!root.record("owner").contains("R:file\n"));
    assert!(root.record("successor").contains("R:file\n"));
    assert!(root.record("successor").lines().any(|l| l == "r:owner"));
    check_root(&root, &[], &[]);
    // Removing the old owner leaves the successor's file alone.
    apk(&root.path, "del owner").ok();
    assert_eq!(root.read(shared), "successor\n");
    check_root(&root, &[], &[]);

    // --force-overwrite: a warning, no error, the file taken.
    let out = apk(&root.path, "--force-overwrite add forced");
    out.ok();
    assert!(
        out.has(&format!(
            "WARNING: forced-1.0-r0: overwriting {shared} owned by successor-1.0-r0."
        )),
        "{}",
        out.text()
    );
    assert_eq!(root.read(shared), "forced\n");
    assert!(!root.record("forced").lines().any(|l| l.starts_with("f:")));
    check_root(&root, &[], &[]);

    apk(&root.path, "del successor forced").ok();
    assert!(!root.exists(shared));
    check_root(&root, &[], &[]);

    // Mutual replaces: the lower priority coming second leaves the file to the higher
    // (quietly: no conflict, no mark) …
    let prio = "usr/share/prio/file";
    apk(&root.path, "add hi").ok();
    assert!(root.record("hi").lines().any(|l| l == "q:10"));
    assert!(root.record("hi").lines().any(|l| l == "r:lo"));
    let out = apk(&root.path, "add lo");
    out.ok();
    assert!(!out.text().contains("overwrit"), "{}", out.text());
    assert_eq!(root.read(prio), "hi\n");
    assert_eq!(root.read("usr/share/prio/lo-only"), "lo");
    assert!(root.record("hi").contains("R:file\n"));
    assert!(!root.record("lo").contains("R:file\n"));
    assert!(!root.record("lo").lines().any(|l| l.starts_with("f:")));
    check_root(&root, &[], &[]);
    apk(&root.path, "del hi lo").ok();
    assert!(!root.exists("usr/share/prio"));
    // … and the higher coming second takes it.
    apk(&root.path, "add lo").ok();
    let out = apk(&root.path, "add hi");
    out.ok();
    assert_eq!(root.read(prio), "hi\n");
    assert!(root.record("hi").contains("R:file\n"));
    assert!(!root.record("lo").contains("R:file\n"));
    check_root(&root, &[], &[]);
}

/// `install_if` pulls a package in when all its conditions hold and out when one goes;
/// `add -t .virt a b` makes a virtual package that owns no files.
#[test]
fn install_if_and_virtual_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    for n in ["app", "lang", "a", "b"] {
        let mut b = pkg(n, "1.0-r0", &[]);
        b.add_file(&format!("usr/share/{n}/f"), 0o644, n).unwrap();
        repo.add(b);
    }
    let mut b = pkg("app-lang", "1.0-r0", &[]);
    b.info_mut().install_if = vec!["app".parse().unwrap(), "lang".parse().unwrap()];
    b.add_file("usr/share/app/lang/f", 0o644, "app-lang")
        .unwrap();
    repo.add(b);
    let root = root_with(&[&repo.dir]);

    apk(&root.path, "add app").ok();
    assert_eq!(root.installed_names(), ["app-1.0-r0"]);
    let out = apk(&root.path, "add lang");
    out.ok();
    assert!(
        out.has("(2/2) Installing app-lang (1.0-r0)"),
        "{}",
        out.text()
    );
    assert_eq!(
        root.installed_names(),
        ["app-1.0-r0", "app-lang-1.0-r0", "lang-1.0-r0"]
    );
    assert_eq!(root.read("usr/share/app/lang/f"), "app-lang");
    check_root(&root, &[], &[]);
    apk(&root.path, "del lang").ok();
    assert_eq!(root.installed_names(), ["app-1.0-r0"]);
    check_root(&root, &[], &[]);

    let out = apk(&root.path, "add -t .virt a b");
    out.ok();
    assert_eq!(
        root.read(layout::WORLD),
        ".virt\napp\n",
        "world names the virtual package, not its dependencies"
    );
    let rec = root.record(".virt");
    assert!(rec.lines().any(|l| l == "D:a b"), "{rec}");
    assert!(!rec.contains("F:"), "{rec}");
    assert!(
        root.installed_names().contains(&"a-1.0-r0".to_owned())
            && root.installed_names().contains(&"b-1.0-r0".to_owned())
    );
    check_root(&root, &[], &[]);
    apk(&root.path, "del .virt").ok();
    assert_eq!(root.installed_names(), ["app-1.0-r0"]);
    assert!(!root.exists("usr/share/a") && !root.exists("usr/share/b"));
    check_root(&root, &[], &[]);
}

fn config_pkg(version: &str, conf: &str) -> PackageBuilder {
    let v1 = version == "1.0-r0";
    let mut b = pkg("cfg", version, &[]);
    b.add_file("etc/cfg.conf", 0o644, conf)
        .unwrap()
        .add_dir("etc/cfg.d", if v1 { 0o755 } else { 0o750 })
        .unwrap()
        .add_file("etc/cfg.d/plain.conf", 0o644, format!("plain {version}\n"))
        .unwrap()
        .add_file("usr/bin/cfg", 0o755, format!("#!/bin/sh\n# {version}\n"))
        .unwrap();
    if v1 {
        // Only the first version has a second config and a symlink (a file in 2.0).
        b.add_file("etc/cfg-legacy.conf", 0o644, "legacy\n")
            .unwrap()
            .add_symlink("usr/bin/cfgctl", "cfg")
            .unwrap();
    } else {
        b.add_file("usr/bin/cfgctl", 0o755, "#!/bin/sh\nexec cfg\n")
            .unwrap();
    }
    b
}

/// A config file through install, a user's edit, upgrade (`.apk-new`), downgrade, `fix`
/// restoring a deleted file, `del` keeping the changed config, and `--purge` removing it;
/// along the way a directory's mode changes, a symlink becomes a file and back, and a
/// changed config that the new version no longer has stays.
#[test]
fn config_file_lifecycle() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    repo.add(config_pkg("1.0-r0", "setting=1\n"));
    let root = root_with(&[&repo.dir]);

    apk(&root.path, "add cfg").ok();
    assert_eq!(root.read("etc/cfg.conf"), "setting=1\n");
    assert_eq!(
        fs::read_link(root.file("usr/bin/cfgctl")).unwrap(),
        Path::new("cfg")
    );
    check_root(&root, &[], &[]);

    // The user edits two configs; the upgrade keeps the edits, puts the new config beside
    // its edit, and leaves the edited one 2.0 no longer has.
    fs::write(root.file("etc/cfg.conf"), "setting=mine\n").unwrap();
    fs::write(root.file("etc/cfg-legacy.conf"), "legacy mine\n").unwrap();
    repo.add(config_pkg("2.0-r0", "setting=2\n"));
    let out = apk(&root.path, "upgrade");
    out.ok();
    assert!(
        out.has("(1/1) Upgrading cfg (1.0-r0 -> 2.0-r0)"),
        "{}",
        out.text()
    );
    assert!(
        out.has("  Installing file to etc/cfg.conf.apk-new"),
        "{}",
        out.text()
    );
    assert_eq!(root.read("etc/cfg.conf"), "setting=mine\n");
    assert_eq!(root.read("etc/cfg.conf.apk-new"), "setting=2\n");
    assert_eq!(root.read("etc/cfg-legacy.conf"), "legacy mine\n");
    // The unchanged config is simply replaced.
    assert_eq!(root.read("etc/cfg.d/plain.conf"), "plain 2.0-r0\n");
    assert!(!root.exists("etc/cfg.d/plain.conf.apk-new"));
    assert_eq!(mode_of(&root.file("etc/cfg.d")), 0o750);
    assert_eq!(root.read("usr/bin/cfg"), "#!/bin/sh\n# 2.0-r0\n");
    assert!(
        fs::symlink_metadata(root.file("usr/bin/cfgctl"))
            .unwrap()
            .is_file()
    );
    check_root(
        &root,
        &["etc/cfg.conf"],
        &["etc/cfg.conf.apk-new", "etc/cfg-legacy.conf"],
    );

    // Downgrade: still the user's files, the old version's beside them (the leftover
    // legacy config has no record, so it counts as changed too).
    let out = apk(&root.path, "add cfg=1.0-r0");
    out.ok();
    assert!(
        out.has("(1/1) Downgrading cfg (2.0-r0 -> 1.0-r0)"),
        "{}",
        out.text()
    );
    assert!(
        out.has("  Installing file to etc/cfg-legacy.conf.apk-new"),
        "{}",
        out.text()
    );
    assert_eq!(root.read("etc/cfg.conf"), "setting=mine\n");
    assert_eq!(root.read("etc/cfg.conf.apk-new"), "setting=1\n");
    assert_eq!(root.read("etc/cfg-legacy.conf"), "legacy mine\n");
    assert_eq!(root.read("etc/cfg-legacy.conf.apk-new"), "legacy\n");
    assert_eq!(root.read("etc/cfg.d/plain.conf"), "plain 1.0-r0\n");
    assert_eq!(mode_of(&root.file("etc/cfg.d")), 0o755);
    assert_eq!(
        fs::read_link(root.file("usr/bin/cfgctl")).unwrap(),
        Path::new("cfg")
    );
    assert_eq!(root.read(layout::WORLD), "cfg=1.0-r0\n");
    let changed = ["etc/cfg.conf", "etc/cfg-legacy.conf"];
    let new_files = ["etc/cfg.conf.apk-new", "etc/cfg-legacy.conf.apk-new"];
    check_root(&root, &changed, &new_files);

    // fix: a deleted file comes back.
    fs::remove_file(root.file("usr/bin/cfg")).unwrap();
    let out = apk(&root.path, "fix cfg");
    out.ok();
    assert!(out.has("(1/1) Reinstalling cfg (1.0-r0)"), "{}", out.text());
    assert_eq!(root.read("usr/bin/cfg"), "#!/bin/sh\n# 1.0-r0\n");
    assert_eq!(mode_of(&root.file("usr/bin/cfg")), 0o755);
    assert_eq!(root.read("etc/cfg.conf"), "setting=mine\n");
    check_root(&root, &changed, &new_files);

    // del: the changed configs stay, the rest goes. (Whether a `.apk-new` beside them
    // stays is not asserted: the spec does not say.)
    apk(&root.path, "del cfg").ok();
    assert_eq!(root.read("etc/cfg.conf"), "setting=mine\n");
    assert_eq!(root.read("etc/cfg-legacy.conf"), "legacy mine\n");
    assert!(!root.exists("etc/cfg.d"));
    assert!(!root.exists("usr/bin/cfg"));
    assert!(!root.exists("usr/bin/cfgctl"));
    let mut left: Vec<&str> = changed.to_vec();
    left.extend(new_files.iter().copied().filter(|f| root.exists(f)));
    check_root(&root, &[], &left);

    // Installing over the leftover: the file has no record, so it is kept.
    let out = apk(&root.path, "add cfg");
    out.ok();
    assert!(
        out.has("  Installing file to etc/cfg.conf.apk-new"),
        "{}",
        out.text()
    );
    assert_eq!(root.read("etc/cfg.conf"), "setting=mine\n");
    assert_eq!(root.read("etc/cfg.conf.apk-new"), "setting=2\n");
    let mut left = vec!["etc/cfg.conf.apk-new", "etc/cfg-legacy.conf"];
    if root.exists("etc/cfg-legacy.conf.apk-new") {
        left.push("etc/cfg-legacy.conf.apk-new");
    }
    check_root(&root, &["etc/cfg.conf"], &left);

    // --purge: the changed config goes too (the legacy one belongs to no package now).
    apk(&root.path, "--purge del cfg").ok();
    assert!(!root.exists("etc/cfg.conf"));
    assert!(!root.exists("etc/cfg.conf.apk-new"));
    assert!(root.installed().packages.is_empty());
    left.retain(|f| f.starts_with("etc/cfg-legacy"));
    check_root(&root, &[], &left);
}

/// A failing post-install marks the package `f:s`; the commit completes and reports
/// `1 error; …`.
#[test]
fn failing_post_install() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    let mut b = pkg("bad", "1.0-r0", &[]);
    b.add_file("usr/share/bad/f", 0o644, "bad\n")
        .unwrap()
        .script(
            ScriptKind::PostInstall,
            "#!/bin/sh\necho about to fail\nexit 3\n",
        );
    repo.add(b);
    let mut b = pkg("good", "1.0-r0", &["bad"]);
    b.add_file("usr/share/good/f", 0o644, "good\n").unwrap();
    repo.add(b);
    let root = root_with(&[&repo.dir]);

    let out = apk(&root.path, "add good");
    let summary = out.summary.expect("the commit completes");
    assert_eq!(summary.errors, 1, "{}", out.text());
    assert_eq!(summary.packages, 2);
    assert!(summary.to_string().starts_with("1 error; "), "{summary}");
    assert!(summary.to_string().ends_with(" in 2 packages"), "{summary}");
    assert!(out.has("* about to fail"), "{}", out.text());
    assert!(
        out.has("ERROR: bad-1.0-r0.post-install: script exited with error 3"),
        "{}",
        out.text()
    );
    assert!(out.has("(2/2) Installing good (1.0-r0)"), "{}", out.text());
    assert!(root.record("bad").lines().any(|l| l == "f:s"));
    assert!(!root.record("good").lines().any(|l| l.starts_with("f:")));
    assert_eq!(root.read(layout::WORLD), "good\n");
    assert_eq!(root.read("usr/share/bad/f"), "bad\n");
    check_root(&root, &[], &[]);

    // `fix` reinstalls it: the same version runs the upgrade scripts (it has none), and the
    // record is the package's again, without the mark.
    let out = apk(&root.path, "fix bad");
    out.ok();
    assert!(out.has("(1/1) Reinstalling bad (1.0-r0)"), "{}", out.text());
    assert_eq!(out.count("  Executing"), 0, "{}", out.text());
    assert!(!root.record("bad").lines().any(|l| l.starts_with("f:")));
    check_root(&root, &[], &[]);
}

/// A package whose data turns out corrupt (after its files were staged) fails alone and
/// leaves nothing behind: no temporary file, and not the directories its staging created,
/// while the package installed beside it keeps its own.
#[test]
fn a_corrupt_package_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    let mut b = pkg("broken", "1.0-r0", &[]);
    b.add_file("opt/broken/deep/f", 0o644, "broken\n").unwrap();
    repo.add(b);
    let mut b = pkg("fine", "1.0-r0", &[]);
    b.add_file("opt/fine/f", 0o644, "fine\n").unwrap();
    repo.add(b);
    // The data member's size trailer: found wrong only once every file has been read.
    let path = repo.dir.join(default_arch()).join("broken-1.0-r0.apk");
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.len() - 2;
    bytes[at] ^= 1;
    fs::write(&path, bytes).unwrap();
    let root = root_with(&[&repo.dir]);

    apk(&root.path, "add fine").ok();
    let err = apk_failing(&root.path, "add broken");
    assert!(err.starts_with("broken-1.0-r0: "), "{err}");
    assert_eq!(root.installed_names(), ["fine-1.0-r0"]);
    assert_eq!(root.read("opt/fine/f"), "fine\n");
    assert!(!root.exists("opt/broken"));
    check_root(&root, &[], &[]);
}

/// A package whose control part was swapped after indexing (another pre-install script) is
/// refused on its identity before that script can run: nothing runs, nothing is written.
#[test]
fn a_swapped_control_part_is_refused_before_its_script_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    let mut b = pkg("victim", "1.0-r0", &[]);
    b.add_file("usr/share/victim/f", 0o644, "f\n")
        .unwrap()
        .script(ScriptKind::PreInstall, "#!/bin/sh\nexit 0\n");
    repo.add(b);
    // Same name and version, signed by the same key, another script: the index still has
    // the first one's identity.
    let mut evil = pkg("victim", "1.0-r0", &[]);
    evil.add_file("usr/share/victim/f", 0o644, "f\n")
        .unwrap()
        .script(
            ScriptKind::PreInstall,
            "#!/bin/sh\necho owned > /tmp/owned\n",
        );
    evil.sign_with(key(), SignatureAlgorithm::RsaSha1);
    let path = repo.dir.join(default_arch()).join("victim-1.0-r0.apk");
    evil.write(fs::File::create(&path).unwrap()).unwrap();
    let root = root_with(&[&repo.dir]);

    let err = apk_failing(&root.path, "add victim");
    assert!(err.contains("victim-1.0-r0"), "{err}");
    assert!(!root.exists("tmp/owned"), "the swapped script ran");
    assert!(!root.exists("usr/share/victim"));
    assert!(root.installed().packages.is_empty());
    check_root(&root, &[], &[]);
}

/// The unsigned package `b` builds, made as apk-tools once made packages: `.PKGINFO` without
/// `datahash`, so that its identity (`C:`) covers the data too and is known only once the
/// whole file was read.
fn legacy(b: &PackageBuilder) -> Vec<u8> {
    use std::io::Read;
    let mut built = Vec::new();
    b.write(&mut built).unwrap();
    // Unsigned: the control member, then the data member.
    let mut control = Vec::new();
    let mut decoder = flate2::bufread::GzDecoder::new(&built[..]);
    decoder.read_to_end(&mut control).unwrap();
    let data_member = decoder.into_inner().to_vec();
    let mut tar = tar::Builder::new(Vec::new());
    for entry in tar::Archive::new(&control[..]).entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        if entry.path().unwrap().as_os_str() == ".PKGINFO" {
            let text = String::from_utf8(content).unwrap();
            content = text
                .lines()
                .filter(|l| !l.starts_with("datahash"))
                .flat_map(|l| [l, "\n"])
                .collect::<String>()
                .into_bytes();
            header.set_size(content.len() as u64);
            header.set_cksum();
        }
        tar.append(&header, &content[..]).unwrap();
    }
    let mut control = tar.into_inner().unwrap();
    // apk's control member has no end-of-archive blocks.
    control.truncate(control.len() - 1024);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&control).unwrap();
    let mut file = gz.finish().unwrap();
    file.extend_from_slice(&data_member);
    file
}

/// A legacy package (no `datahash`: its identity covers the whole file) installs; swapped
/// for another after indexing, it is refused on its identity before its pre-install script
/// can run.
#[test]
fn a_legacy_package_is_checked_before_its_script_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(tmp.path().join("repo"));
    let build = |script: &str| {
        let mut b = pkg("old", "1.0-r0", &[]);
        b.add_file("usr/share/old/f", 0o644, "f\n")
            .unwrap()
            .script(ScriptKind::PreInstall, script.to_owned());
        legacy(&b)
    };
    let path = repo.dir.join(default_arch()).join("old-1.0-r0.apk");
    fs::write(&path, build("#!/bin/sh\necho fine > /tmp/ran\n")).unwrap();
    repo.files.push(path.clone());
    repo.publish();

    let root = root_with(&[&repo.dir]);
    apk(&root.path, "add old").ok();
    assert_eq!(root.read("tmp/ran"), "fine\n");
    assert_eq!(root.read("usr/share/old/f"), "f\n");
    check_root(&root, &[], &["tmp/ran"]);

    fs::write(&path, build("#!/bin/sh\necho owned > /tmp/owned\n")).unwrap();
    let root = root_with(&[&repo.dir]);
    let err = apk_failing(&root.path, "add old");
    assert!(err.contains("old-1.0-r0"), "{err}");
    assert!(!root.exists("tmp/owned"), "the swapped script ran");
    assert!(!root.exists("usr/share/old"));
    assert!(root.installed().packages.is_empty());
    check_root(&root, &[], &[]);
}

// ------------------------------------------------------------------------------- HTTP

/// A one-thread HTTP/1.1 server for the files under `dir`, stopped by [`Server::stop`].
struct Server {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start(dir: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let (s, r) = (stop.clone(), requests.clone());
        let thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    r.fetch_add(1, Ordering::SeqCst);
                    let _ = serve(stream, &dir);
                }
            }
        });
        Server {
            addr,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let rel = path.trim_start_matches('/');
    let (status, body) = match fs::read(dir.join(rel)) {
        Ok(b) if !rel.contains("..") => ("200 OK", b),
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

fn hex8(bytes: &[u8]) -> String {
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// An install over HTTP without a cache (the packages stream into the root), the same through
/// the package cache (`etc/apk/cache`), then again with the server gone: the index and the
/// package come from the cache.
#[test]
fn http_repository_and_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("www");
    let mut repo = Repo::new(served.join("repo"));
    let mut b = pkg("netpkg", "1.0-r0", &["netlib"]);
    b.add_file("usr/bin/netpkg", 0o755, "#!/bin/sh\n")
        .unwrap()
        .add_file("etc/netpkg.conf", 0o644, "net=1\n")
        .unwrap()
        .script(
            ScriptKind::PostInstall,
            "#!/bin/sh\necho \"$APK_SCRIPT $*\" > /tmp/net.log\n",
        );
    repo.add(b);
    let mut b = pkg("netlib", "2.0-r0", &[]);
    b.add_file("usr/lib/libnet.so", 0o755, "lib").unwrap();
    repo.add(b);
    let mut server = Server::start(served);
    let url = format!("http://{}/repo", server.addr);

    // Without a cache the packages stream from the server straight into the root.
    let streamed = Root::new(tempfile::tempdir().unwrap(), std::slice::from_ref(&url));
    let out = apk(&streamed.path, "--no-cache add netpkg");
    out.ok();
    assert_eq!(
        streamed.installed_names(),
        ["netlib-2.0-r0", "netpkg-1.0-r0"],
        "{}",
        out.text()
    );
    assert_eq!(streamed.read("etc/netpkg.conf"), "net=1\n");
    check_root(&streamed, &[], &[]);
    assert!(!streamed.file(layout::CACHE_LINK).exists());

    let root = Root::new(tmp, std::slice::from_ref(&url));
    fs::create_dir_all(root.file(layout::CACHE_LINK)).unwrap();

    let out = apk(&root.path, "add netpkg");
    out.ok();
    assert_eq!(
        root.installed_names(),
        ["netlib-2.0-r0", "netpkg-1.0-r0"],
        "{}",
        out.text()
    );
    assert_eq!(root.read("tmp/net.log"), "post-install 1.0-r0\n");
    assert_eq!(root.read("etc/netpkg.conf"), "net=1\n");
    check_root(&root, &[], &[]);
    assert!(server.requests.load(Ordering::SeqCst) >= 3);

    // The cached index is named from the repository URL as written in the repositories file
    // (what apk-tools hashes), the packages from their identities.
    let mut want: BTreeSet<String> = BTreeSet::new();
    want.insert(format!(
        "APKINDEX.{}.tar.gz",
        hex8(&Sha1::digest(url.as_bytes()))
    ));
    for (name, id) in &repo.identities {
        want.insert(format!("{name}.{}.apk", hex8(id.as_bytes())));
    }
    let cache_dir = root.file(layout::CACHE_LINK);
    let have: BTreeSet<String> = fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(have, want);
    // The cached package is the served one, byte for byte.
    let cached = cache_dir.join(format!(
        "netpkg-1.0-r0.{}.apk",
        hex8(repo.identities["netpkg-1.0-r0"].as_bytes())
    ));
    assert_eq!(
        fs::read(&cached).unwrap(),
        fs::read(repo.dir.join(default_arch()).join("netpkg-1.0-r0.apk")).unwrap()
    );

    apk(&root.path, "del netpkg").ok();
    assert!(root.installed().packages.is_empty());
    server.stop();
    assert!(TcpStream::connect(server.addr).is_err(), "server still up");

    // The server is gone: a fresh cached index and the cached packages suffice…
    let out = apk(&root.path, "add netpkg");
    out.ok();
    assert_eq!(root.installed_names(), ["netlib-2.0-r0", "netpkg-1.0-r0"]);
    check_root(&root, &[], &[]);
    apk(&root.path, "del netpkg").ok();
    // … and with --no-network, even for a stale index.
    let old = std::time::SystemTime::now() - Duration::from_secs(48 * 3600);
    let index = fs::File::options()
        .write(true)
        .open(cache_dir.join(want.first().unwrap()))
        .unwrap();
    index.set_modified(old).unwrap();
    drop(index);
    let out = apk(&root.path, "--no-network add netpkg");
    out.ok();
    assert_eq!(root.installed_names(), ["netlib-2.0-r0", "netpkg-1.0-r0"]);
    check_root(&root, &[], &[]);
}

// ------------------------------------------------------------------------------- lock

/// One writer at a time: a second open fails with apk's lock error, waits with `--wait`,
/// and a read-only open is not blocked. Also across processes (`flock(1)`), when present.
#[test]
fn database_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    drop(Database::open(&OpenOptions::new(&root).initdb(true)).unwrap());
    let opts = OpenOptions::new(&root);

    let first = Database::open(&opts).unwrap();
    let err = Database::open(&opts).unwrap_err();
    assert!(
        matches!(err, OpenError::Lock(LockError::Locked { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("Unable to lock database"),
        "{err}"
    );
    let ro = Database::open(&opts.clone().lock(None)).expect("read-only open while locked");
    drop(ro);
    let start = Instant::now();
    let err = Database::open(&opts.clone().lock(Some(LockWait::Seconds(1)))).unwrap_err();
    assert!(
        matches!(err, OpenError::Lock(LockError::Timeout { .. })),
        "{err:?}"
    );
    assert!(start.elapsed() >= Duration::from_millis(950));

    // --wait: the holder lets go while the second waits.
    let releaser = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        drop(first);
    });
    let start = Instant::now();
    let second = Database::open(&opts.clone().lock(Some(LockWait::Seconds(10))))
        .expect("the wait outlasts the holder");
    assert!(start.elapsed() >= Duration::from_millis(250));
    releaser.join().unwrap();

    // Another process sees our lock…
    let lock = root.join(layout::LOCK);
    let Ok(st) = Command::new("flock")
        .arg("-n")
        .arg(&lock)
        .arg("true")
        .status()
    else {
        eprintln!("no flock(1): skipping the cross-process part");
        return;
    };
    assert_eq!(st.code(), Some(1), "flock(1) took the lock we hold");
    drop(second);
    // … and we see its lock, then wait for it.
    let mut child = Command::new("flock")
        .arg(&lock)
        .args(["-c", "echo locked; sleep 1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "locked\n");
    let err = Database::open(&opts).unwrap_err();
    assert!(
        matches!(err, OpenError::Lock(LockError::Locked { .. })),
        "{err:?}"
    );
    let db = Database::open(&opts.clone().lock(Some(LockWait::Seconds(10))))
        .expect("waits for the other process");
    assert!(child.wait().unwrap().success());
    drop(db);
}
