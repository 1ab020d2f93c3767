//! apk's solving commands (`add`, `del`, `upgrade`, `fix`) over the [`Solver`]:
//! command-line parsing, world editing, flags, and the exact transcript apk-tools 3.0 prints
//! with `--simulate`.
//!
//! Nothing here prints or exits: [`run`] returns the transcript text and the exit status.
//!
//! ```
//! use apk_index::{Index, IndexOptions, InstalledDb, InstalledDbOptions};
//! use apk_solver::command::{Invocation, run};
//! use apk_solver::Repository;
//!
//! let inv = Invocation::parse(["add", "a"])?;
//! let repo = Repository::new(Index::from_text("P:a\nV:1\nI:1\n\n", &IndexOptions::default()));
//! let installed = InstalledDb::from_bytes(b"", &InstalledDbOptions::default())?;
//! let out = run(&inv, vec![repo], &installed, Vec::new());
//! assert_eq!(out.transcript, "(1/1) Installing a (1)\nOK: 1 B in 1 packages\n");
//! assert_eq!(out.exit_status, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A failed solve prints apk's report and exits with the number of errors. `--why` follows the
//! report with its [`Derivation`](crate::Derivation), the steps from world down to each clash;
//! without it the transcript is apk's, byte for byte (`-v` included).
//!
//! ```
//! use apk_index::{Index, IndexOptions, InstalledDb};
//! use apk_solver::command::{Invocation, run};
//! use apk_solver::Repository;
//!
//! let solve = |args: &[&str]| -> Result<_, Box<dyn std::error::Error>> {
//!     let index = Index::from_text("P:a\nV:1\nD:b\n\n", &IndexOptions::default());
//!     let repos = vec![Repository::new(index)];
//!     Ok(run(&Invocation::parse(args)?, repos, &InstalledDb::default(), Vec::new()))
//! };
//! let plain = solve(&["add", "a"])?;
//! assert_eq!(plain.exit_status, 1);
//! assert!(plain.transcript.ends_with("    required by: a-1[b]\n"));
//! let why = solve(&["add", "--why", "a"])?;
//! assert_eq!(
//!     why.transcript.strip_prefix(plain.transcript.as_str()),
//!     Some("why:\n  b (no such package):\n    world requires a\n    \
//!           a-1 (chosen for a) depends on b\n    no package is named b or provides it\n")
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use apk_index::{Dependency, Index, IndexOptions, InstalledDb, Op, Rules};
use std::collections::HashSet;

use crate::model::{OWN, RepositoryKind};
use crate::{NameFlags, Repository, SolveError, Solver, SolverFlags, SolverOptions, SolverTask};

/// The solving applets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applet {
    /// `add`: add constraints to world.
    Add,
    /// `del`: remove constraints from world.
    Del,
    /// `upgrade`: upgrade what is installed.
    Upgrade,
    /// `fix`: reinstall or upgrade named packages without changing world.
    Fix,
}

/// A repository named on the command line of apk-tools 2's test binary (`--test-repo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRepo {
    /// The tag (`TAG:` prefix).
    pub tag: Option<String>,
    /// The file.
    pub path: String,
    /// `!` prefix: the cache's installed index.
    pub cache: bool,
}

/// A parsed command line.
///
/// ```
/// use apk_solver::command::{Applet, Invocation};
/// let inv = Invocation::parse(["--no-network", "upgrade", "-a"])?;
/// assert_eq!(inv.applet, Applet::Upgrade);
/// assert!(inv.no_network && inv.available);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The applet.
    pub applet: Applet,
    /// Its positional arguments.
    pub args: Vec<String>,
    /// `-u`, `--upgrade`.
    pub upgrade: bool,
    /// `-a`, `--available`.
    pub available: bool,
    /// `-l`, `--latest`.
    pub latest: bool,
    /// `del -r`, `--rdepends`.
    pub rdepends: bool,
    /// `fix -r`, `--reinstall`.
    pub reinstall: bool,
    /// `fix -d`, `--depends`.
    pub depends: bool,
    /// `upgrade --ignore`.
    pub ignore: bool,
    /// `upgrade --prune`.
    pub prune: bool,
    /// `--self-upgrade-only` / `--preupgrade-only`.
    pub preupgrade_only: bool,
    /// `--no-self-upgrade` / `--no-preupgrade`.
    pub no_preupgrade: bool,
    /// `--preupgrade-depends DEP`, in order.
    pub preupgrade_depends: Vec<String>,
    /// `add -t NAME[=VERSION]`.
    pub virtual_package: Option<String>,
    /// `--force-broken-world` (apk-tools 2's test binary: `--force`).
    pub force_broken_world: bool,
    /// `--no-network`.
    pub no_network: bool,
    /// `-v`, counted.
    pub verbose: u8,
    /// `--why`: on a failed solve, follow apk's report with its [`Derivation`](crate::Derivation)
    /// (a `why:` block). Not an apk-tools option; without it the transcript is exactly apk's.
    pub why: bool,
    /// `--test-repo`.
    pub test_repos: Vec<TestRepo>,
    /// `--test-instdb`.
    pub test_instdb: Option<String>,
    /// `--test-world`.
    pub test_world: Option<String>,
    /// `--arch`, repeatable: the accepted architectures (default: this machine's).
    pub arch: Vec<String>,
    /// The changeset will be committed (no `--simulate`). Only `upgrade` cares: then it
    /// returns its preupgrade alone ([`Outcome::preupgrade`]), to be committed before the
    /// main upgrade is solved. Without it (the default, what `apk --simulate` and the test
    /// mode show), an available preupgrade is only warned about and the whole upgrade is
    /// planned at once; `--preupgrade-only` shows the preupgrade either way.
    pub commit: bool,
}

/// Returned by [`Invocation::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseInvocationError {
    /// No applet on the command line.
    #[error("no command given")]
    MissingApplet,
    /// The applet is not one of the solving applets.
    #[error("unsupported command '{0}'")]
    UnknownApplet(String),
    /// An option that needs a value is last.
    #[error("option '{0}' needs a value")]
    MissingValue(String),
    /// An option this module does not know.
    #[error("unknown option '{0}'")]
    UnknownOption(String),
}

impl Invocation {
    /// Parse apk's arguments (global and applet options may be mixed, as apk allows).
    pub fn parse<I, S>(args: I) -> Result<Invocation, ParseInvocationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let args: Vec<String> = args.into_iter().map(|s| s.as_ref().to_owned()).collect();
        let mut inv = Invocation {
            applet: Applet::Add,
            args: Vec::new(),
            upgrade: false,
            available: false,
            latest: false,
            rdepends: false,
            reinstall: false,
            depends: false,
            ignore: false,
            prune: false,
            preupgrade_only: false,
            no_preupgrade: false,
            preupgrade_depends: Vec::new(),
            virtual_package: None,
            force_broken_world: false,
            no_network: false,
            verbose: 0,
            why: false,
            test_repos: Vec::new(),
            test_instdb: None,
            test_world: None,
            arch: Vec::new(),
            commit: false,
        };
        let mut applet: Option<Applet> = None;
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .ok_or(ParseInvocationError::MissingValue(name.to_owned()))
            };
            match a.as_str() {
                "-u" | "--upgrade" => inv.upgrade = true,
                "-a" | "--available" => inv.available = true,
                "-l" | "--latest" => inv.latest = true,
                "-r" => {
                    if applet == Some(Applet::Fix) {
                        inv.reinstall = true;
                    } else {
                        inv.rdepends = true;
                    }
                }
                "--rdepends" => inv.rdepends = true,
                "--reinstall" => inv.reinstall = true,
                "-d" | "--depends" => inv.depends = true,
                "--ignore" => inv.ignore = true,
                "--prune" => inv.prune = true,
                "--self-upgrade-only" | "--preupgrade-only" => inv.preupgrade_only = true,
                "--no-self-upgrade" | "--no-preupgrade" => inv.no_preupgrade = true,
                "--preupgrade-depends" => {
                    let v = value(&a)?;
                    inv.preupgrade_depends.push(v);
                }
                "-t" | "--virtual" => inv.virtual_package = Some(value(&a)?),
                "--force-broken-world" | "--force" => inv.force_broken_world = true,
                "--no-network" => inv.no_network = true,
                "-v" | "--verbose" => inv.verbose += 1,
                "--why" => inv.why = true,
                "--test-repo" => {
                    let v = value(&a)?;
                    let (cache, rest) = match v.strip_prefix('!') {
                        Some(r) => (true, r.to_owned()),
                        None => (false, v),
                    };
                    let (tag, path) = match rest.split_once(':') {
                        Some((t, p)) => (Some(t.to_owned()), p.to_owned()),
                        None => (None, rest),
                    };
                    inv.test_repos.push(TestRepo { tag, path, cache });
                }
                "--test-instdb" => inv.test_instdb = Some(value(&a)?),
                "--test-world" => inv.test_world = Some(value(&a)?),
                "-s" | "--simulate" | "--allow-untrusted" | "--no-cache" | "-q" | "--quiet"
                | "--no-scripts" | "--interactive" | "--no-progress" => {}
                "--arch" => {
                    let v = value(&a)?;
                    inv.arch.push(v);
                }
                "--root" | "-p" | "--repository" | "-X" | "--cache-dir" => {
                    value(&a)?;
                }
                s if s.starts_with("--root-tmpfs") || s.starts_with("--root=") => {}
                s if s.starts_with('-') && s.len() > 1 => {
                    return Err(ParseInvocationError::UnknownOption(a));
                }
                _ => {
                    if applet.is_none() {
                        applet = Some(match a.as_str() {
                            "add" => Applet::Add,
                            "del" => Applet::Del,
                            "upgrade" => Applet::Upgrade,
                            "fix" => Applet::Fix,
                            _ => return Err(ParseInvocationError::UnknownApplet(a)),
                        });
                    } else {
                        inv.args.push(a);
                    }
                }
            }
        }
        inv.applet = applet.ok_or(ParseInvocationError::MissingApplet)?;
        Ok(inv)
    }

    /// The dependencies `add` puts into world, or apk's message for the first argument that
    /// is not one (so that a command can refuse it before opening anything).
    ///
    /// ```
    /// use apk_solver::command::Invocation;
    /// let inv = Invocation::parse(["add", "a>1", "foo="])?;
    /// assert_eq!(
    ///     inv.add_dependencies().unwrap_err(),
    ///     "'foo=' is not a valid world dependency, format is name(@tag)([<>~=]version)"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_dependencies(&self) -> Result<Vec<Dependency>, String> {
        let mut deps = Vec::new();
        let child_rules = self.virtual_package.is_some();
        for a in &self.args {
            match Dependency::parse(a, Rules::V3) {
                Ok(d) if child_rules && d.tag().is_some() => {
                    return Err(format!(
                        "'{a}' is not a valid package dependency, format is name([<>~=]version)"
                    ));
                }
                Ok(d) => deps.push(d),
                Err(_) if child_rules => {
                    return Err(format!(
                        "'{a}' is not a valid package dependency, format is name([<>~=]version)"
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "'{a}' is not a valid world dependency, format is name(@tag)([<>~=]version)"
                    ));
                }
            }
        }
        Ok(deps)
    }

    /// The solver options this command line implies.
    pub fn solver_options(&self) -> SolverOptions {
        SolverOptions {
            rules: Rules::V3,
            arches: if self.arch.is_empty() {
                vec![default_arch().to_owned()]
            } else {
                self.arch.clone()
            },
            no_network: self.no_network,
        }
    }
}

/// The arch apk-tools would be built for on this machine (apk's default for `--arch` and
/// `etc/apk/arch`).
///
/// ```
/// let arch = apk_solver::command::default_arch();
/// assert!(!arch.is_empty());
/// ```
pub fn default_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86" => "x86",
        "arm" => "armv7",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Read `lib/apk/db/installed` the way apk-tools does: like an index, tolerating records it
/// would merely refuse (such as identities that are not canonical base64), keeping the `s:`
/// repository tag.
///
/// ```
/// use apk_solver::command::read_installed;
/// let db = read_installed(b"C:Q1eVpkasfqZAukAXFYbgwt4xAEEEe=\nP:a\nV:1\ns:edge\n\n");
/// assert_eq!(db.packages[0].name, "a");
/// assert_eq!(db.packages[0].repository_tag.as_deref(), Some("edge"));
/// ```
pub fn read_installed(bytes: &[u8]) -> InstalledDb {
    if let Ok(db) = InstalledDb::from_bytes(bytes, &apk_index::InstalledDbOptions::default()) {
        return db;
    }
    let index = Index::from_text(bytes.to_vec(), &IndexOptions::default());
    let mut db = InstalledDb::default();
    for p in index.packages() {
        let mut info = p.to_owned();
        info.repository_tag = p
            .extra_fields()
            .iter()
            .find(|(k, _)| *k == b's')
            .map(|(_, v)| v.to_owned());
        db.packages.push(info);
    }
    db
}

/// What a command printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Combined stdout and stderr, as apk-tools prints them.
    pub transcript: String,
    /// The exit status (for a failed solve: the number of errors).
    pub exit_status: i32,
    /// World after the command.
    pub world: Vec<Dependency>,
    /// The changeset to apply, when the solve succeeded (for `--preupgrade`, the
    /// preupgrade's changeset).
    pub changeset: Option<crate::Changeset>,
    /// The lines printed before the changeset's own lines (warnings, notes, `Preupgrading:`):
    /// a command that really applies the changeset prints these, then its own progress.
    pub preamble: String,
    /// The package `add -t NAME` made up (it exists in no repository).
    pub virtual_package: Option<apk_index::PackageInfo>,
    /// The changeset is `upgrade`'s preupgrade (apk-tools, or `--preupgrade-depends`, first).
    /// Unless `--preupgrade-only` was given, the main upgrade follows once it is committed:
    /// solve again with `--no-preupgrade` against the updated installed packages.
    pub preupgrade: bool,
}

fn fail(msg: String, world: Vec<Dependency>) -> Outcome {
    Outcome {
        transcript: format!("ERROR: {msg}\n"),
        exit_status: 1,
        world,
        changeset: None,
        preamble: String::new(),
        virtual_package: None,
        preupgrade: false,
    }
}

/// UTC `YYYYMMDD.HHMMSS` for a virtual package without a version.
fn timestamp_version() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}.{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn sort_world(world: &mut [Dependency]) {
    world.sort_by(|a, b| a.name().cmp(b.name()));
}

/// Run `inv` against `repositories`, `installed` and `world`, as `apk --simulate` would.
pub fn run(
    inv: &Invocation,
    mut repositories: Vec<Repository>,
    installed: &InstalledDb,
    mut world: Vec<Dependency>,
) -> Outcome {
    let mut name_flags: Vec<NameFlags> = Vec::new();
    let mut flags = SolverFlags::NONE;
    let mut out = String::new();
    let mut deleted: Vec<String> = Vec::new();
    let mut virtual_package: Option<apk_index::PackageInfo> = None;
    match inv.applet {
        Applet::Add => {
            let mut deps = match inv.add_dependencies() {
                Ok(deps) => deps,
                Err(msg) => return fail(msg, world),
            };
            if let Some(spec) = &inv.virtual_package {
                let (name, version) = match Dependency::parse(spec, Rules::V3) {
                    Ok(d) => match d.constraint() {
                        None => (d.name().to_owned(), timestamp_version()),
                        Some((op, v)) if op == Op::EQUAL && d.tag().is_none() => {
                            (d.name().to_owned(), v.to_owned())
                        }
                        Some(_) => return fail(format!("{spec}: bad package specifier"), world),
                    },
                    Err(_) => return fail(format!("{spec}: bad package specifier"), world),
                };
                if deps.is_empty() {
                    out.push_str("WARNING: creating empty virtual package\n");
                }
                let mut text = format!("P:{name}\nV:{version}\nA:noarch\nS:0\nI:0\n");
                if !deps.is_empty() {
                    text.push_str("D:");
                    text.push_str(&apk_index::write_dependency_list(
                        deps.iter().map(|d| d.as_ref()),
                    ));
                    text.push('\n');
                }
                text.push('\n');
                let index = Index::from_text(text, &IndexOptions::default());
                virtual_package = index.packages().next().map(|p| p.to_owned());
                repositories.push(Repository::new(index).with_kind(RepositoryKind::Local));
                let Ok(vdep) = Dependency::parse(&name, Rules::V3) else {
                    return fail(format!("{spec}: bad package specifier"), world);
                };
                deps = vec![vdep];
            }
            flags.upgrade = inv.upgrade;
            flags.latest = inv.latest;
            for d in deps {
                world.retain(|w| w.name() != d.name());
                world.push(d);
            }
            sort_world(&mut world);
        }
        Applet::Del => {
            let mut names: Vec<String> = inv.args.clone();
            if inv.rdepends {
                // Every installed package that depends, directly or through others, on a
                // deleted package: on its name or on anything it provides.
                let mut covered: HashSet<&str> = HashSet::new();
                for p in &installed.packages {
                    if names.contains(&p.name) {
                        covered.insert(&p.name);
                        covered.extend(p.provides.iter().map(|d| d.name()));
                    }
                }
                let mut changed = true;
                while changed {
                    changed = false;
                    for p in &installed.packages {
                        if names.contains(&p.name) {
                            continue;
                        }
                        if p.depends
                            .iter()
                            .any(|d| !d.conflict() && covered.contains(d.name()))
                        {
                            names.push(p.name.clone());
                            covered.insert(&p.name);
                            covered.extend(p.provides.iter().map(|d| d.name()));
                            changed = true;
                        }
                    }
                }
            }
            world.retain(|w| !names.iter().any(|n| n == w.name()));
            deleted = inv.args.clone();
        }
        Applet::Upgrade => {
            flags.available = inv.available;
            flags.latest = inv.latest;
            if inv.args.is_empty() || inv.ignore {
                flags.upgrade = true;
                for a in &inv.args {
                    name_flags.push(NameFlags::new(
                        a,
                        SolverFlags {
                            installed: true,
                            ..SolverFlags::NONE
                        },
                    ));
                }
            } else {
                for a in &inv.args {
                    name_flags.push(NameFlags::new(
                        a,
                        SolverFlags {
                            upgrade: true,
                            ..SolverFlags::NONE
                        },
                    ));
                }
            }
        }
        Applet::Fix => {
            // Without names, apk fixes every installed package recorded with errors: broken
            // files (`f:f`, e.g. an overwrite it refused) or a failed script (`f:s`).
            let broken: Vec<String> = if inv.args.is_empty() {
                installed
                    .packages
                    .iter()
                    .filter(|p| p.flags.as_deref().is_some_and(|f| f.contains(['f', 's'])))
                    .map(|p| p.name.clone())
                    .collect()
            } else {
                Vec::new()
            };
            for a in inv.args.iter().chain(&broken) {
                let f = SolverFlags {
                    reinstall: true,
                    upgrade: inv.upgrade,
                    ..SolverFlags::NONE
                };
                name_flags.push(if inv.depends {
                    NameFlags::inherited(a, f)
                } else {
                    NameFlags::new(a, f)
                });
            }
        }
    }

    let solver = Solver::new(&repositories, installed, &inv.solver_options());
    if solver.has_broken_packages() {
        out.insert_str(
            0,
            "WARNING: The indexes contain broken packages which are not installable.\n",
        );
    }
    if inv.applet == Applet::Upgrade && inv.prune {
        world.retain(|w| solver.is_available(w.name()));
    }

    if inv.applet == Applet::Upgrade && !inv.no_preupgrade {
        let mut pre: Vec<String> = vec!["apk-tools".into()];
        for d in &inv.preupgrade_depends {
            match d.strip_prefix('!') {
                Some(n) => {
                    pre.retain(|x| Dependency::parse(x, Rules::V3).map_or(true, |p| p.name() != n))
                }
                None => pre.push(d.clone()),
            }
        }
        let mut pre_flags = Vec::new();
        for spec in &pre {
            let Ok(dep) = Dependency::parse(spec, Rules::V3) else {
                continue;
            };
            let hit = installed.packages.iter().any(|p| {
                p.name == dep.name() && dep.as_ref().version_matches(Some(&p.version), Rules::V3)
            });
            if hit {
                pre_flags.push(NameFlags::inherited(
                    dep.name(),
                    SolverFlags {
                        upgrade: true,
                        ..SolverFlags::NONE
                    },
                ));
            }
        }
        if !pre_flags.is_empty() {
            let task = SolverTask {
                world: world.clone(),
                name_flags: pre_flags,
                ..SolverTask::default()
            };
            // Preupgrade only happens when it changes one of the packages it is for.
            let touches = |cs: &crate::Changeset| {
                cs.changes()
                    .iter()
                    .any(|c| task.name_flags.iter().any(|f| f.name == c.name))
            };
            let preupgrade = solver.solve(&task).ok().filter(touches);
            if preupgrade.is_some() && !inv.preupgrade_only && !inv.commit {
                // A simulation cannot run the new apk-tools, so it plans everything at once.
                out.push_str(
                    "WARNING: This simulation is not reliable as apk-tools upgrade is available.\n",
                );
            } else if let Some(cs) = preupgrade {
                out.push_str("Preupgrading:\n");
                let preamble = out.clone();
                out.push_str(&cs.transcript());
                return Outcome {
                    transcript: out,
                    exit_status: 0,
                    world,
                    changeset: Some(cs),
                    preamble,
                    virtual_package,
                    preupgrade: true,
                };
            }
        }
        if inv.preupgrade_only {
            return Outcome {
                preamble: out.clone(),
                transcript: out,
                exit_status: 0,
                world,
                changeset: None,
                virtual_package,
                preupgrade: false,
            };
        }
    }

    let task = SolverTask {
        world: world.clone(),
        flags,
        name_flags,
        force_broken_world: inv.force_broken_world,
        ..SolverTask::default()
    };
    match solver.solve(&task) {
        Ok(cs) => {
            if inv.applet == Applet::Upgrade && inv.verbose > 0 {
                let mut gone: Vec<&str> = installed
                    .packages
                    .iter()
                    .filter(|p| !solver.is_available(&p.name))
                    .map(|p| p.name.as_str())
                    .collect();
                gone.sort_unstable();
                if !gone.is_empty() {
                    out.push_str(
                        "NOTE: Consider running apk upgrade with --prune and/or --available.\n",
                    );
                    out.push_str(
                        "The following packages are no longer available from a repository:\n  ",
                    );
                    out.push_str(&gone.join(" "));
                    out.push('\n');
                }
            }
            let mut kept = String::new();
            for name in &deleted {
                if !installed.packages.iter().any(|p| &p.name == name) {
                    continue;
                }
                let reasons = solver.holders(&cs, name, &world);
                if let Some(reasons) = reasons {
                    kept.push_str(&format!("  {name}: {}\n", reasons.join(" ")));
                }
            }
            if !kept.is_empty() {
                out.push_str("World updated, but the following packages are not removed due to:\n");
                out.push_str(&kept);
                out.push('\n');
            }
            // apk-tools would have failed here: say so before the changes (Changeset::note).
            if let Some(note) = cs.note() {
                out.push_str(note);
                out.push('\n');
            }
            let preamble = out.clone();
            out.push_str(&cs.change_lines());
            if inv.verbose > 0 {
                let (dirs, files) = count_files(installed);
                out.push_str(&format!(
                    "OK: {} packages, {dirs} dirs, {files} files, {}\n",
                    cs.package_count(),
                    crate::human_size(cs.installed_size())
                ));
            } else {
                out.push_str(&cs.summary());
                out.push('\n');
            }
            Outcome {
                transcript: out,
                exit_status: 0,
                world,
                changeset: Some(cs),
                preamble,
                virtual_package,
                preupgrade: false,
            }
        }
        Err(e @ SolveError::Unsatisfiable { .. }) => {
            out.push_str(&e.report().to_string());
            if inv.why {
                out.push_str(&e.derivation().to_string());
            }
            Outcome {
                preamble: out.clone(),
                transcript: out,
                exit_status: i32::try_from(e.error_count()).unwrap_or(i32::MAX),
                world,
                changeset: None,
                virtual_package,
                preupgrade: false,
            }
        }
    }
}

fn count_files(installed: &InstalledDb) -> (usize, usize) {
    let mut dirs: Vec<&str> = Vec::new();
    let mut files = 0;
    for p in &installed.packages {
        for d in &p.dirs {
            if !dirs.contains(&d.path.as_str()) {
                dirs.push(&d.path);
            }
            files += d.files.len();
        }
    }
    (dirs.len(), files)
}

impl Solver {
    /// When the package named `name` is still selected in `cs`, who keeps it: world entries
    /// (by their text) and selected packages (by name) that depend on one of its names.
    fn holders(
        &self,
        cs: &crate::Changeset,
        name: &str,
        world: &[Dependency],
    ) -> Option<Vec<String>> {
        let u = &self.universe;
        let n = u.name_ids.get(name)?;
        let pkg = u
            .providers(n)
            .iter()
            .find(|p| p.entry == OWN && cs.selected.contains(&p.pkg))?
            .pkg;
        let names: Vec<_> = std::iter::once(u.pkgs[pkg as usize].name)
            .chain(u.provides(pkg).iter().map(|pv| pv.name))
            .collect();
        let mut out = Vec::new();
        for w in world {
            if let Some(wn) = u.name_ids.get(w.name())
                && names.contains(&wn)
                && !w.conflict()
            {
                out.push(w.to_string());
            }
        }
        for &s in &cs.selected {
            if s != pkg
                && u.depends(s)
                    .iter()
                    .any(|d| !d.conflict && names.contains(&d.name))
            {
                out.push(u.name(u.pkgs[s as usize].name).to_owned());
            }
        }
        Some(out)
    }
}
