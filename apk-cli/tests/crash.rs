//! Crash safety and locking of `apk-rs` on a real root.
//!
//! * [`kill_at_any_point`]: a repository of 50 signed packages (a few hundred files, shared
//!   directories, configuration files under `etc`, symlinks, empty directories, scripts and
//!   triggers) and a second repository with upgrades (one of which takes a file over from
//!   another package with `replaces`) are built here. A transaction (`add`, `upgrade`, `del`,
//!   and an `add -u` that installs, upgrades and removes at once) is killed with SIGKILL at
//!   points spread over an uninterrupted run's duration, plus at once and very late, and at
//!   points spread over its journal's growth (the commit itself). Every third time the
//!   recovery is killed too. Four more points per scenario stand for a kill while the
//!   database files are written at the end. Then:
//!   1. `apk-rs update` opens the database with the lock, which replays the journal; the root
//!      must be consistent: no `.apk.<48 hex>` temporary, no `.apk-new`, no journal left, the
//!      installed database parses, every file it lists exists with its `Z:` checksum (of the
//!      target, for a symlink), every directory it lists exists, every record is exactly a
//!      package of the repositories (no half-recorded package), no path of any repository
//!      package exists unless the database lists it, no path has two owners, and
//!      `scripts.tar` and `triggers` hold exactly those of the installed packages;
//!   2. `apk-rs fix` (a transaction on the repaired database) leaves it consistent;
//!   3. the interrupted command run again (for `add`: the add of the full world) succeeds,
//!      leaves the root consistent, and gives the same packages, world and files as the
//!      uninterrupted run.
//! * [`second_process_is_locked_out`]: while the test holds the database lock, or while
//!   another `apk-rs add` is running, `apk-rs add` fails with `Unable to lock database` and
//!   a non-zero status without touching the database; with `--wait` it waits and succeeds
//!   once the lock is released.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use apk_db::lock::{DbLock, LockError};
use apk_db::scripts::ScriptsDb;
use apk_db::triggers::TriggerDb;
use apk_index::{Checksum, InstalledDb, InstalledDbOptions, PackageInfo};
use apk_index::{SignatureAlgorithm, SigningKey};
use apk_pkg::{IndexBuilder, PackageBuilder, ScriptKind};
use rand::SeedableRng;
use sha1::{Digest, Sha1};

const KEY_NAME: &str = "crash@apk-rs.test-00000001.rsa.pub";
const ARCH: &str = "x86_64";
const PACKAGES: usize = 50;
/// The packages that get a new version in the second repository.
const UPGRADED: [usize; 8] = [3, 5, 12, 18, 27, 33, 41, 46];
const JOURNAL: &str = "lib/apk/db/apk-rs.journal";
const INSTALLED: &str = "lib/apk/db/installed";

/// One entry of a package.
enum Entry {
    File(String, u32, Vec<u8>),
    Link(String, String),
    Dir(String),
    Script(ScriptKind, String),
    Triggers(Vec<String>),
}

/// What a package holds, to check a root against.
#[derive(Default)]
struct Contents {
    /// Every file and symlink path → its `Q1` checksum.
    files: BTreeMap<String, String>,
    /// Its scripts' types.
    scripts: BTreeSet<&'static str>,
    /// Whether it has trigger globs.
    triggers: bool,
}

/// Everything the tests share: the repositories, the key, and what each package holds.
struct Fixture {
    _dir: tempfile::TempDir,
    base: PathBuf,
    repo1: PathBuf,
    repo2: PathBuf,
    key: SigningKey,
    /// `(name, version)` → what the package holds.
    contents: BTreeMap<(String, String), Contents>,
    /// Every file and symlink path of every package of both repositories.
    all_paths: BTreeSet<String>,
}

/// Where scratch roots go: tmpfs when there is one (a kill does not depend on the disk, and
/// the many fsyncs of the journal then cost nothing).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let b = {
        let mut b = tempfile::Builder::new();
        b.prefix("apk-rs-crash-");
        b
    };
    if shm.is_dir() {
        if let Ok(d) = b.tempdir_in(shm) {
            return d;
        }
    }
    b.tempdir().expect("create a scratch directory")
}

/// Deterministic filler: lowercase text from a xorshift generator.
fn filler(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 64 == 63 {
                b'\n'
            } else {
                b'a' + (x % 26) as u8
            }
        })
        .collect()
}

fn pname(i: usize) -> String {
    format!("p{i:02}")
}

/// Package `i` at version 1 or 2.
fn spec(i: usize, v2: bool) -> (PackageInfo, Vec<Entry>) {
    let name = pname(i);
    let version = if v2 { "2.0-r0" } else { "1.0-r0" };
    let mut info = PackageInfo::new(&name, version);
    info.arch = Some(ARCH.into());
    info.description = format!("crash test package {i}");
    info.license = "MIT".into();
    info.origin = Some(name.clone());
    let mut deps: Vec<String> = Vec::new();
    if i % 10 == 0 && i + 1 < PACKAGES {
        deps.push(pname(i + 1));
    }
    if i == 3 && !v2 {
        // Version 2 drops this dependency: upgrading removes p49.
        deps.push(pname(PACKAGES - 1));
    }
    info.depends = deps.iter().map(|d| d.parse().unwrap()).collect();
    let seed = (i as u64) * 1000 + u64::from(v2);
    let mut e = vec![
        Entry::File(
            format!("usr/bin/{name}"),
            0o755,
            format!("#!/bin/sh\necho {name} {version}\n").into_bytes(),
        ),
        Entry::Link(
            format!("usr/bin/{name}-alias"),
            if v2 {
                format!("../lib/{name}/lib{name}.so.1")
            } else {
                name.clone()
            },
        ),
    ];
    let lib_size = if i % 10 == 7 {
        384 << 10
    } else {
        2048 + (i * 997) % 8192
    };
    e.push(Entry::File(
        format!("usr/lib/{name}/lib{name}.so.1"),
        0o755,
        filler(seed, lib_size),
    ));
    for j in 0..i % 5 {
        e.push(Entry::File(
            format!("usr/lib/{name}/data-{j}.bin"),
            0o644,
            filler(seed + 10 + j as u64, 300 + 100 * j),
        ));
    }
    if v2 {
        e.push(Entry::File(
            format!("usr/lib/{name}/new-in-v2.bin"),
            0o644,
            filler(seed + 77, 1500),
        ));
    } else {
        e.push(Entry::File(
            format!("usr/share/doc/{name}/README"),
            0o644,
            format!("{name}: read me\n").into_bytes(),
        ));
    }
    e.push(Entry::File(
        format!("usr/share/common/{name}.txt"),
        0o644,
        format!("{name} {version} shares this directory\n").into_bytes(),
    ));
    if i % 3 == 0 {
        e.push(Entry::File(
            format!("etc/{name}.conf"),
            0o644,
            format!("# {name}\nversion={version}\n").into_bytes(),
        ));
    }
    if i % 4 == 1 {
        e.push(Entry::File(
            format!("etc/{name}/main.conf"),
            0o644,
            format!("main={version}\n").into_bytes(),
        ));
        e.push(Entry::File(
            format!("etc/{name}/extra.conf"),
            0o600,
            b"extra=1\n".to_vec(),
        ));
    }
    if i % 6 == 2 || i % 6 == 5 {
        e.push(Entry::Dir(format!("var/lib/{name}")));
    }
    if i % 7 == 5 {
        // Scripts are recorded even with --no-scripts.
        let mut kinds = vec![ScriptKind::PostInstall, ScriptKind::PreDeinstall];
        if v2 {
            kinds.push(ScriptKind::PostUpgrade);
        }
        for k in kinds {
            e.push(Entry::Script(
                k,
                format!("#!/bin/sh\necho {name} {version}\n"),
            ));
        }
    }
    if i % 8 == 2 {
        e.push(Entry::Script(ScriptKind::Trigger, "#!/bin/sh\n".into()));
        e.push(Entry::Triggers(vec!["/usr/share/common".into()]));
    }
    if i == 18 && v2 {
        // A file moves from p19 to p18 (a split package, as in real repositories).
        info.replaces = vec![pname(19).parse().unwrap()];
        e.push(Entry::File(
            format!("usr/share/common/{}.txt", pname(19)),
            0o644,
            b"moved to p18\n".to_vec(),
        ));
    }
    (info, e)
}

fn q1(data: &[u8]) -> String {
    Checksum::sha1(Sha1::digest(data).into()).to_string()
}

/// Build and sign `specs` into `repo/ARCH`, with a signed index.
fn build_repo(
    repo: &Path,
    specs: Vec<(PackageInfo, Vec<Entry>)>,
    key: &SigningKey,
    contents: &mut BTreeMap<(String, String), Contents>,
) {
    let dir = repo.join(ARCH);
    fs::create_dir_all(&dir).unwrap();
    let mut index = IndexBuilder::new();
    index.description(Some(format!("crash test {}", repo.display())));
    for (info, entries) in specs {
        let key_of = (info.name.clone(), info.version.clone());
        let file = dir.join(format!("{}-{}.apk", info.name, info.version));
        let mut b = PackageBuilder::new(info);
        let mut c = Contents::default();
        for e in entries {
            match e {
                Entry::File(p, mode, data) => {
                    c.files.insert(p.clone(), q1(&data));
                    b.add_file(&p, mode, data).unwrap();
                }
                Entry::Link(p, target) => {
                    c.files.insert(p.clone(), q1(target.as_bytes()));
                    b.add_symlink(&p, &target).unwrap();
                }
                Entry::Dir(p) => {
                    b.add_dir(&p, 0o750).unwrap();
                }
                Entry::Script(kind, body) => {
                    c.scripts.insert(kind.name());
                    b.script(kind, body);
                }
                Entry::Triggers(globs) => {
                    c.triggers = true;
                    b.triggers(globs);
                }
            }
        }
        b.sign_with(key, SignatureAlgorithm::RsaSha1);
        let mut out = std::io::BufWriter::new(fs::File::create(&file).unwrap());
        b.write(&mut out).unwrap();
        drop(out);
        index.add_file(&file).unwrap();
        contents.insert(key_of, c);
    }
    let archive = index
        .write_archive(&[(key, SignatureAlgorithm::RsaSha1)])
        .unwrap();
    fs::write(dir.join("APKINDEX.tar.gz"), archive).unwrap();
}

/// The fixture, in a scratch directory removed when it is dropped (each test builds its own:
/// a static would never be dropped, and tmpfs would keep it).
fn fixture() -> Fixture {
    let dir = scratch();
    let base = dir.path().to_owned();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xc4a5);
    let key = SigningKey::generate(KEY_NAME, 1024, &mut rng).expect("generate a key");
    let repo1 = base.join("repo1");
    let repo2 = base.join("repo2");
    let mut contents = BTreeMap::new();
    build_repo(
        &repo1,
        (0..PACKAGES).map(|i| spec(i, false)).collect(),
        &key,
        &mut contents,
    );
    build_repo(
        &repo2,
        UPGRADED.iter().map(|&i| spec(i, true)).collect(),
        &key,
        &mut contents,
    );
    let all_paths = contents
        .values()
        .flat_map(|c| c.files.keys().cloned())
        .collect();
    Fixture {
        _dir: dir,
        base,
        repo1,
        repo2,
        key,
        contents,
        all_paths,
    }
}

/// An empty root: the database layout and the test key.
fn make_root(root: &Path, key: &SigningKey) {
    fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    fs::create_dir_all(root.join("etc/apk/keys")).unwrap();
    fs::write(root.join(INSTALLED), "").unwrap();
    fs::write(root.join("etc/apk/world"), "").unwrap();
    fs::write(
        root.join("etc/apk/keys").join(KEY_NAME),
        key.public_key().to_pem(),
    )
    .unwrap();
}

/// Copy a tree: directories (with their modes), files, symlinks.
fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let (s, d) = (e.path(), dst.join(e.file_name()));
        let meta = fs::symlink_metadata(&s).unwrap();
        if meta.is_dir() {
            copy_tree(&s, &d);
            fs::set_permissions(&d, meta.permissions()).unwrap();
        } else if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&s).unwrap(), &d).unwrap();
        } else {
            fs::copy(&s, &d).unwrap();
        }
    }
}

fn command(root: &Path, repos: &[&Path], args: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apk-rs"));
    c.arg("--root").arg(root).arg("--no-scripts");
    for r in repos {
        c.arg("-X").arg(r);
    }
    c.args(args);
    c
}

fn run(root: &Path, repos: &[&Path], args: &[String]) -> Output {
    command(root, repos, args)
        .stdin(Stdio::null())
        .output()
        .expect("run apk-rs")
}

fn describe(what: &str, o: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| (*s).to_owned()).collect()
}

/// What a consistent root holds.
#[derive(Debug, PartialEq, Eq)]
struct State {
    /// `name-version` of every installed package.
    packages: BTreeSet<String>,
    world: String,
    /// Every repository path present, with its checksum.
    files: BTreeMap<String, String>,
}

fn is_temp_name(n: &str) -> bool {
    n.strip_prefix(".apk.")
        .is_some_and(|h| h.len() == 48 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The checksum of what is at `path`: a file's contents, a symlink's target.
fn disk_q1(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        use std::os::unix::ffi::OsStrExt;
        Some(q1(fs::read_link(path).ok()?.as_os_str().as_bytes()))
    } else if meta.is_file() {
        Some(q1(&fs::read(path).ok()?))
    } else {
        None
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&p, out);
        }
        out.push(p);
    }
}

/// The installed database read line by line, independently of apk-index: package → files
/// (`F:` + `R:`) with their `Z:`, and the directories (`F:`).
type Listed = BTreeMap<String, (BTreeMap<String, Option<String>>, BTreeSet<String>)>;

fn read_listed(text: &str) -> Result<Listed, String> {
    let mut out: Listed = BTreeMap::new();
    let mut pkg: Option<String> = None;
    let mut dir = String::new();
    let mut last: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            pkg = None;
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err(format!("installed line {}: no field: {line:?}", n + 1));
        };
        match k {
            "P" => {
                let key = v.to_owned();
                if out.contains_key(&key) {
                    return Err(format!("installed: {key} listed twice"));
                }
                out.insert(key.clone(), Default::default());
                pkg = Some(key);
                last = None;
            }
            "V" => {
                let p = pkg.clone().ok_or("V: outside a package")?;
                let entry = out.remove(&p).unwrap_or_default();
                let key = format!("{p}-{v}");
                out.insert(key.clone(), entry);
                pkg = Some(key);
            }
            "F" => {
                let p = pkg.as_ref().ok_or("F: outside a package")?;
                dir = v.to_owned();
                out.get_mut(p).unwrap().1.insert(dir.clone());
                last = None;
            }
            "R" => {
                let p = pkg.as_ref().ok_or("R: outside a package")?;
                let path = if dir.is_empty() {
                    v.to_owned()
                } else {
                    format!("{dir}/{v}")
                };
                out.get_mut(p).unwrap().0.insert(path.clone(), None);
                last = Some(path);
            }
            "Z" => {
                let p = pkg.as_ref().ok_or("Z: outside a package")?;
                let f = last.as_ref().ok_or("Z: without R:")?;
                out.get_mut(p)
                    .unwrap()
                    .0
                    .insert(f.clone(), Some(v.to_owned()));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Check every invariant of a consistent root (see the module documentation).
fn check_root(fx: &Fixture, root: &Path) -> Result<State, String> {
    let mut problems = Vec::new();
    if root.join(JOURNAL).exists() {
        problems.push("the journal is still there".to_owned());
    }
    let mut all = Vec::new();
    walk(root, &mut all);
    for p in &all {
        let n = p.file_name().unwrap().to_string_lossy();
        if is_temp_name(&n) {
            problems.push(format!("temporary left: {}", p.display()));
        }
        if n.ends_with(".apk-new") {
            problems.push(format!("unexpected .apk-new: {}", p.display()));
        }
    }
    let bytes = fs::read(root.join(INSTALLED)).map_err(|e| format!("installed: {e}"))?;
    let db = InstalledDb::from_bytes(&bytes, &InstalledDbOptions::default())
        .map_err(|e| format!("installed does not parse: {e}"))?;
    let listed = read_listed(&String::from_utf8_lossy(&bytes))?;
    if listed.len() != db.packages.len() {
        problems.push(format!(
            "{} packages by lines, {} parsed",
            listed.len(),
            db.packages.len()
        ));
    }
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut files = BTreeMap::new();
    let mut taken = Vec::new();
    let mut want_scripts = BTreeSet::new();
    let mut want_triggers = BTreeSet::new();
    for p in &db.packages {
        let key = format!("{}-{}", p.name, p.version);
        let Some(contents) = fx.contents.get(&(p.name.clone(), p.version.clone())) else {
            problems.push(format!("{key}: not a package of the repositories"));
            continue;
        };
        let expected = &contents.files;
        let identity = p
            .identity
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        for kind in &contents.scripts {
            want_scripts.insert(format!("{key}.{identity}.{kind}"));
        }
        if contents.triggers {
            want_triggers.insert(identity);
        }
        let Some((lfiles, ldirs)) = listed.get(&key) else {
            problems.push(format!("{key}: missing from the line-by-line reading"));
            continue;
        };
        let have: BTreeMap<String, String> = lfiles
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()))
            .collect();
        // Exactly the package's files, but for those another package took over.
        if have.iter().any(|(k, v)| expected.get(k) != Some(v)) {
            problems.push(format!(
                "{key}: recorded files differ from the package's:\n  recorded {have:?}\n  package  {expected:?}"
            ));
        }
        for path in expected.keys().filter(|k| !have.contains_key(*k)) {
            taken.push((key.clone(), path.clone()));
        }
        for d in ldirs {
            if !d.is_empty() && !root.join(d).is_dir() {
                problems.push(format!("{key}: directory {d} missing"));
            }
        }
        for (path, sum) in lfiles {
            if let Some(other) = owners.insert(path.clone(), key.clone()) {
                problems.push(format!("{path}: owned by {other} and {key}"));
            }
            let disk = disk_q1(&root.join(path));
            match (&disk, sum) {
                (None, _) => problems.push(format!("{key}: {path} missing")),
                (Some(d), Some(z)) if d != z => {
                    problems.push(format!("{key}: {path} is {d}, the database says {z}"))
                }
                (Some(_), None) => problems.push(format!("{key}: {path} has no Z:")),
                _ => {}
            }
            if let Some(d) = disk {
                files.insert(path.clone(), d);
            }
        }
    }
    for (key, path) in taken {
        if owners.get(&path).is_none_or(|o| *o == key) {
            problems.push(format!(
                "{key}: {path} is not recorded, and no other package has it"
            ));
        }
    }
    // The scripts and triggers databases hold those of the installed packages, no others.
    let scripts = match fs::read(root.join("lib/apk/db/scripts.tar")) {
        Ok(b) => ScriptsDb::from_bytes(&b).map_err(|e| format!("scripts.tar: {e}"))?,
        Err(_) => ScriptsDb::default(),
    };
    let have_scripts: BTreeSet<String> = scripts
        .entries()
        .iter()
        .map(|e| e.key.entry_name())
        .collect();
    if have_scripts != want_scripts {
        problems.push(format!(
            "scripts.tar holds {have_scripts:?}, the installed packages have {want_scripts:?}"
        ));
    }
    let text = fs::read_to_string(root.join("lib/apk/db/triggers")).unwrap_or_default();
    let triggers = TriggerDb::parse(&text).map_err(|e| format!("triggers: {e}"))?;
    let have_triggers: BTreeSet<String> =
        triggers.entries.into_iter().map(|t| t.identity).collect();
    if have_triggers != want_triggers {
        problems.push(format!(
            "triggers holds {have_triggers:?}, the installed packages have {want_triggers:?}"
        ));
    }
    for path in &fx.all_paths {
        if fs::symlink_metadata(root.join(path)).is_ok() && !owners.contains_key(path) {
            problems.push(format!("{path} exists but no package lists it"));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    Ok(State {
        packages: db
            .packages
            .iter()
            .map(|p| format!("{}-{}", p.name, p.version))
            .collect(),
        world: fs::read_to_string(root.join("etc/apk/world")).unwrap_or_default(),
        files,
    })
}

struct Scenario {
    name: &'static str,
    template: PathBuf,
    repos: Vec<PathBuf>,
    args: Vec<String>,
    /// Kill points spread over the duration.
    points: usize,
    /// Kill points spread over the journal's growth.
    progress: usize,
}

#[derive(Default)]
struct Counts {
    points: usize,
    killed: usize,
    repaired: usize,
    recoveries_killed: usize,
    /// Recoveries killed before they removed the journal.
    recoveries_cut: usize,
}

/// Where the journal says a killed transaction was (one package may be extracted ahead while
/// another is placed: the other's state is reported).
fn phase(root: &Path) -> &'static str {
    let Ok(data) = fs::read(root.join(JOURNAL)) else {
        return "no journal";
    };
    let text = String::from_utf8_lossy(&data);
    let (mut staged, mut renaming, mut purging, mut removing) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    let mut begun = "";
    let mut any = false;
    // Complete lines only; a record's body holds lines of its own, but none of these words.
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let (word, name) = line.trim_end().split_once(' ').unwrap_or(("", ""));
        match word {
            "stage" => {
                staged.insert(name);
            }
            "begin" => begun = name,
            "record" => {
                staged.remove(begun);
                renaming.insert(begun);
            }
            "placed" => {
                renaming.remove(name);
                purging.insert(name);
            }
            "done" => {
                purging.remove(name);
            }
            "remove" => {
                removing.insert(name);
            }
            "removed" => {
                removing.remove(name);
            }
            _ => continue,
        }
        any = true;
    }
    if !renaming.is_empty() {
        "renaming"
    } else if !purging.is_empty() {
        "purging old files"
    } else if !removing.is_empty() {
        "removing"
    } else if !staged.is_empty() {
        "extracting"
    } else if any {
        "between packages"
    } else {
        "journal started"
    }
}

fn world_names() -> Vec<String> {
    (0..PACKAGES - 1).map(pname).collect()
}

/// Run `s` once uninterrupted: its duration, the largest size its journal reached, and the
/// state it leaves. The journal is kept, complete, as `journal_copy` (a hard link made as soon
/// as it appears outlives its removal).
fn reference(
    fx: &Fixture,
    s: &Scenario,
    root: &Path,
    journal_copy: &Path,
) -> (Duration, u64, State) {
    let repos: Vec<&Path> = s.repos.iter().map(PathBuf::as_path).collect();
    let mut best = Duration::MAX;
    let mut journal_max = 0;
    let mut state = None;
    for _ in 0..2 {
        let _ = fs::remove_dir_all(root);
        copy_tree(&s.template, root);
        let start = Instant::now();
        let _ = fs::remove_file(journal_copy);
        let mut linked = false;
        let mut child = spawn_quiet(root, &repos, &s.args);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if let Ok(m) = fs::metadata(root.join(JOURNAL)) {
                journal_max = journal_max.max(m.len());
                if !linked {
                    linked = fs::hard_link(root.join(JOURNAL), journal_copy).is_ok();
                }
            }
            std::thread::sleep(Duration::from_micros(50));
        };
        best = best.min(start.elapsed());
        assert!(status.success(), "{}: {status}", s.name);
        state = Some(check_root(fx, root).unwrap_or_else(|e| panic!("{}: {e}", s.name)));
    }
    (best, journal_max, state.unwrap())
}

fn spawn_quiet(root: &Path, repos: &[&Path], args: &[String]) -> Child {
    command(root, repos, args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn apk-rs")
}

/// When to kill.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after the start.
    Time(Duration),
    /// As soon as the journal holds this many bytes, then this much later.
    Journal(u64, Duration),
}

fn kill_points(fx: &Fixture, s: &Scenario, counts: &mut Counts) {
    let repos: Vec<&Path> = s.repos.iter().map(PathBuf::as_path).collect();
    let root = fx.base.join(format!("root-{}", s.name));
    let journal_copy = fx.base.join(format!("journal-{}", s.name));
    let (took, journal_max, expected) = reference(fx, s, &root, &journal_copy);
    let finished = fx.base.join(format!("finished-{}", s.name));
    let _ = fs::remove_dir_all(&finished);
    copy_tree(&root, &finished);
    // Spread over the run's duration, with some at once and some very late…
    let mut points: Vec<KillAt> = vec![KillAt::Time(Duration::ZERO); 2];
    points.push(KillAt::Time(Duration::from_micros(500)));
    for k in 1..s.points {
        points.push(KillAt::Time(took.mul_f64(k as f64 / s.points as f64)));
    }
    for f in [0.95, 0.98, 1.0, 1.03] {
        points.push(KillAt::Time(took.mul_f64(f)));
    }
    // …and over the journal's progress (the commit, without the start-up and the solve).
    for k in 0..s.progress {
        let bytes = 1 + journal_max * k as u64 / s.progress as u64;
        points.push(KillAt::Journal(
            bytes,
            Duration::from_micros(150 * (k as u64 % 5)),
        ));
    }
    let mut killed = 0;
    let mut repaired = 0;
    let mut phases: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, at) in points.iter().enumerate() {
        let what = format!("{} kill point {n} at {at:?} of {took:?}", s.name);
        let _ = fs::remove_dir_all(&root);
        copy_tree(&s.template, &root);
        let mut child = spawn_quiet(&root, &repos, &s.args);
        match *at {
            KillAt::Time(d) => {
                if !d.is_zero() {
                    std::thread::sleep(d);
                }
            }
            KillAt::Journal(bytes, then) => {
                let deadline = Instant::now() + took * 20;
                while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
                    if fs::metadata(root.join(JOURNAL)).is_ok_and(|m| m.len() >= bytes) {
                        std::thread::sleep(then);
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(20));
                }
            }
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        *phases.entry(phase(&root)).or_default() += 1;
        if n % 3 == 1 && root.join(JOURNAL).exists() {
            // Kill the recovery too, now and then: replaying again must be harmless.
            let mut child = spawn_quiet(&root, &repos, &strings(&["update"]));
            std::thread::sleep(Duration::from_micros(500 * (n as u64 % 12)));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap();
                counts.recoveries_killed += 1;
            }
            child.wait().unwrap();
            if root.join(JOURNAL).exists() {
                counts.recoveries_cut += 1;
            }
        }
        if recover_and_check(fx, s, &root, &expected, &what) {
            repaired += 1;
        }
    }
    // A kill while the database files are written at the end, one after another (installed,
    // scripts, triggers, world, as `Database::write` goes; then the journal is removed): the
    // finished root with the first `cut` of them new, the others as before, and the journal.
    let mut between = 0;
    if journal_copy.exists() {
        let db_files = [
            INSTALLED,
            "lib/apk/db/scripts.tar",
            "lib/apk/db/triggers",
            "etc/apk/world",
        ];
        for cut in 1..=db_files.len() {
            let what = format!(
                "{} killed after writing {}",
                s.name,
                db_files[..cut].join(", ")
            );
            let _ = fs::remove_dir_all(&root);
            copy_tree(&finished, &root);
            for f in &db_files[cut..] {
                match fs::read(s.template.join(f)) {
                    Ok(old) => fs::write(root.join(f), old).unwrap(),
                    Err(_) => {
                        let _ = fs::remove_file(root.join(f));
                    }
                }
            }
            fs::copy(&journal_copy, root.join(JOURNAL)).unwrap();
            assert!(recover_and_check(fx, s, &root, &expected, &what));
            between += 1;
        }
    }
    println!(
        "{}: {} kill points ({killed} while running) over {took:?} and {between} between the database files, {} recovered with repairs; killed when: {phases:?}",
        s.name,
        points.len(),
        repaired + between
    );
    counts.points += points.len() + between;
    counts.killed += killed;
    counts.repaired += repaired + between;
}

/// After a kill: recover, check, run `fix`, check, run the command again, check that it ends
/// as the uninterrupted run did. Whether the recovery repaired something.
fn recover_and_check(
    fx: &Fixture,
    s: &Scenario,
    root: &Path,
    expected: &State,
    what: &str,
) -> bool {
    let repos: Vec<&Path> = s.repos.iter().map(PathBuf::as_path).collect();
    let journal = root.join(JOURNAL).exists();
    // Recovery alone: a command that takes the lock and changes nothing else.
    let o = run(root, &repos, &strings(&["update"]));
    assert!(o.status.success(), "{what}: {}", describe("update", &o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let warned = stderr.contains("WARNING: recovered an interrupted transaction");
    assert_eq!(
        warned, journal,
        "{what}: journal left {journal}, recovery reported {warned}\n{stderr}"
    );
    if let Err(e) = check_root(fx, root) {
        panic!("{what}: after recovery:\n{e}\n{stderr}");
    }
    // A transaction on the repaired database.
    let o = run(root, &repos, &strings(&["fix"]));
    assert!(o.status.success(), "{what}: {}", describe("fix", &o));
    if let Err(e) = check_root(fx, root) {
        panic!("{what}: after fix:\n{e}");
    }
    // The interrupted command, again: it ends where the uninterrupted run ended.
    let o = run(root, &repos, &s.args);
    assert!(o.status.success(), "{what}: {}", describe("again", &o));
    match check_root(fx, root) {
        Ok(state) => assert_eq!(&state, expected, "{what}: after running it again"),
        Err(e) => panic!("{what}: after running it again:\n{e}"),
    }
    warned
}

#[test]
fn kill_at_any_point() {
    let started = Instant::now();
    let fx = &fixture();
    let (r1, r2) = (fx.repo1.as_path(), fx.repo2.as_path());
    // Templates: an empty root, the whole world at version 1, part of it at version 1.
    let empty = fx.base.join("template-empty");
    make_root(&empty, &fx.key);
    let full = fx.base.join("template-full");
    copy_tree(&empty, &full);
    let mut add_world = strings(&["add"]);
    add_world.extend(world_names());
    let o = run(&full, &[r1], &add_world);
    assert!(o.status.success(), "{}", describe("template-full", &o));
    let half = fx.base.join("template-half");
    copy_tree(&empty, &half);
    let mut add_half = strings(&["add"]);
    add_half.extend((0..PACKAGES / 2).map(pname));
    let o = run(&half, &[r1], &add_half);
    assert!(o.status.success(), "{}", describe("template-half", &o));
    for t in [&full, &half] {
        check_root(fx, t).unwrap_or_else(|e| panic!("{}: {e}", t.display()));
    }
    // The scripts and triggers checks are not empty ones.
    let scripts = fs::read(full.join("lib/apk/db/scripts.tar")).unwrap();
    assert!(ScriptsDb::from_bytes(&scripts).unwrap().len() >= 10);
    let triggers = fs::read_to_string(full.join("lib/apk/db/triggers")).unwrap();
    assert_eq!(triggers.lines().count(), 6, "{triggers}");

    let mut add_upgrade = strings(&["add", "-u"]);
    add_upgrade.extend(world_names());
    let mut del = strings(&["del"]);
    del.extend((0..PACKAGES / 2).map(pname));
    let scenarios = [
        Scenario {
            name: "install",
            template: empty.clone(),
            repos: vec![r1.to_owned()],
            args: add_world,
            points: 24,
            progress: 20,
        },
        Scenario {
            name: "upgrade",
            template: full.clone(),
            repos: vec![r1.to_owned(), r2.to_owned()],
            args: strings(&["upgrade"]),
            points: 14,
            progress: 12,
        },
        Scenario {
            name: "del",
            template: full.clone(),
            repos: vec![r1.to_owned()],
            args: del,
            points: 14,
            progress: 12,
        },
        Scenario {
            name: "mixed",
            template: half.clone(),
            repos: vec![r1.to_owned(), r2.to_owned()],
            args: add_upgrade,
            points: 14,
            progress: 16,
        },
    ];
    let mut counts = Counts::default();
    for s in &scenarios {
        kill_points(fx, s, &mut counts);
    }
    println!(
        "crash test: {} kill points, {} recovered with repairs",
        counts.points, counts.repaired
    );
    println!(
        "  ({} killed while running, {} recoveries killed too, {} of them before the end, {:.1} s)",
        counts.killed,
        counts.recoveries_killed,
        counts.recoveries_cut,
        started.elapsed().as_secs_f64()
    );
    assert!(counts.points >= 100);
    assert!(counts.repaired > 0);
}

/// The database files a failed command must leave alone.
fn db_snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for f in [
        INSTALLED,
        "lib/apk/db/triggers",
        "lib/apk/db/scripts.tar",
        "etc/apk/world",
        JOURNAL,
    ] {
        if let Ok(b) = fs::read(root.join(f)) {
            out.insert(f.to_owned(), b);
        }
    }
    out
}

/// A repository with one package of 256 MiB, to keep a transaction busy for a while.
fn big_repo(fx: &Fixture, scratch: &Path) -> PathBuf {
    let repo = scratch.join("repo-big");
    let dir = repo.join(ARCH);
    fs::create_dir_all(&dir).unwrap();
    // Mostly zeros, but under the extractor's compression ratio limit.
    let mut data = vec![0u8; 64 << 20];
    for (i, block) in data.chunks_mut(16 << 10).enumerate() {
        block[..64].copy_from_slice(&filler(i as u64, 64));
    }
    let source = scratch.join("big.bin");
    fs::write(&source, data).unwrap();
    let mut info = PackageInfo::new("big", "1.0-r0");
    info.arch = Some(ARCH.into());
    info.description = "a big package".into();
    info.license = "MIT".into();
    let mut b = PackageBuilder::new(info);
    for n in 0..4 {
        b.add_file_from(&format!("usr/share/big/{n}.bin"), 0o644, &source)
            .unwrap();
    }
    b.sign_with(&fx.key, SignatureAlgorithm::RsaSha1);
    let file = dir.join("big-1.0-r0.apk");
    let mut out = std::io::BufWriter::new(fs::File::create(&file).unwrap());
    b.write(&mut out).unwrap();
    drop(out);
    let mut index = IndexBuilder::new();
    index.add_file(&file).unwrap();
    let archive = index
        .write_archive(&[(&fx.key, SignatureAlgorithm::RsaSha1)])
        .unwrap();
    fs::write(dir.join("APKINDEX.tar.gz"), archive).unwrap();
    repo
}

fn assert_locked_out(o: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{}", describe(what, o));
    assert!(
        stderr.contains("Unable to lock database"),
        "{}",
        describe(what, o)
    );
}

#[test]
fn second_process_is_locked_out() {
    let fx = &fixture();
    let r1 = fx.repo1.as_path();
    let dir = scratch();
    let root = dir.path().join("root");
    make_root(&root, &fx.key);
    let add = |names: &[&str]| {
        let mut a = strings(&["add"]);
        a.extend(strings(names));
        a
    };

    // The test holds the lock: no wait fails at once, a short wait times out.
    let lock = DbLock::acquire(&root, None).unwrap();
    let before = db_snapshot(&root);
    let o = run(&root, &[r1], &add(&["p12"]));
    assert_locked_out(&o, "add while locked");
    let mut wait1 = strings(&["--wait", "1"]);
    wait1.extend(add(&["p12"]));
    let start = Instant::now();
    let o = run(&root, &[r1], &wait1);
    assert_locked_out(&o, "add --wait 1 while locked");
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(db_snapshot(&root), before, "a locked-out command wrote");
    assert!(!root.join("usr/bin/p12").exists());
    assert!(!root.join("usr/lib/p12").exists());

    // `--wait 5` waits, then succeeds once the lock is released.
    let mut wait5 = strings(&["--wait", "5"]);
    wait5.extend(add(&["p12"]));
    let mut child = command(&root, &[r1], &wait5)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        child.try_wait().unwrap().is_none(),
        "add --wait 5 did not wait"
    );
    assert_eq!(db_snapshot(&root), before, "a waiting command wrote");
    drop(lock);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", describe("add --wait 5", &o));
    let state = check_root(fx, &root).unwrap();
    assert_eq!(state.packages, BTreeSet::from(["p12-1.0-r0".to_owned()]));
    assert_eq!(state.world, "p12\n");

    // Two apk-rs: while one installs a big package, a second without --wait is refused,
    // and one with --wait gets its turn after it.
    let big = big_repo(fx, dir.path());
    let repos = [r1, big.as_path()];
    let mut wait30 = strings(&["--wait", "30"]);
    wait30.extend(add(&["big", "p20"]));
    let first_started = Instant::now();
    let mut first = command(&root, &repos, &wait30)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Until the first holds the lock (probing it makes the first wait a little at worst).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match DbLock::acquire(&root, None) {
            Ok(l) => drop(l),
            Err(LockError::Locked { .. }) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first add ended early"
        );
        assert!(
            Instant::now() < deadline,
            "the first add never took the lock"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let o = run(&root, &repos, &add(&["p30"]));
    let first_running = first.try_wait().unwrap().is_none();
    assert!(
        first_running,
        "the big install finished before the second add: make it bigger"
    );
    assert_locked_out(&o, "second add");
    let mut third_args = strings(&["--wait", "60"]);
    third_args.extend(add(&["p30"]));
    let third = command(&root, &repos, &third_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", describe("first add", &o));
    println!(
        "lock test: the big install held the lock for {:?}",
        first_started.elapsed()
    );
    let o = third.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", describe("third add", &o));
    let bytes = fs::read(root.join(INSTALLED)).unwrap();
    let db = InstalledDb::from_bytes(&bytes, &InstalledDbOptions::default()).unwrap();
    let names: BTreeSet<&str> = db.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["big", "p12", "p20", "p21", "p30", "p31"])
    );
    assert_eq!(
        fs::read_to_string(root.join("etc/apk/world")).unwrap(),
        "big\np12\np20\np30\n"
    );
    assert!(!root.join(JOURNAL).exists());
    assert_eq!(
        fs::metadata(root.join("usr/share/big/3.bin"))
            .unwrap()
            .len(),
        64 << 20
    );
}
