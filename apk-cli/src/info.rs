//! `apk-rs info`: what is installed, and details of packages.
//!
//! * Without names: the names of the installed packages, one per line, sorted (`-v`:
//!   `name-version`, `-vv`: `name-version - description`).
//! * With names: for each name, the installed package, or when it is not installed every
//!   version the repositories have, one block per selected field:
//!
//!   ```text
//!   hello-1.0-r0 description:
//!   says hello
//!
//!   hello-1.0-r0 webpage:
//!   https://example.org/hello
//!
//!   hello-1.0-r0 installed size:
//!   46 B
//!
//!   ```
//!
//!   The fields are chosen by `-d` description, `-w` webpage, `-s` installed size, `-R`
//!   depends (`depends on:`), `-P` provides (`provides:`), `-r` installed reverse dependencies
//!   (`is required by:`), `-L` contents (`contains:`), `-t` triggers (`triggers:`),
//!   `--install-if` (`has auto-install rule:`), `--rinstall-if` (`affects auto-installation
//!   of:`), `--replaces` (`replaces:`) and `--license` (`license:`), printed in that order.
//!   Without any, `-d -w -s`; `-a` selects all. With `-q` only the values are printed.
//! * `-e NAME…`: prints each name that is installed (a dependency such as `foo>=1.2` must be
//!   satisfied by the installed version); exits with the number that are not.
//! * `-W FILE…`: `FILE is owned by name-version` for each file; a file no package owns is an
//!   error (`ERROR: FILE: Could not find owner package`) and counts in the exit status.

use std::io::Write;
use std::path::{Component, Path};
use std::process::ExitCode;

use apk_index::{DependencyRef, PackageInfo};

use crate::query::{self, Universe, join_path, line, name_ver, pkg_line};
use crate::{Global, failure_count_exit_code};

/// Options of `apk-rs info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// List the contents (files) of the packages.
    #[arg(short = 'L', long = "contents")]
    contents: bool,
    /// List the dependencies of the packages.
    #[arg(short = 'R', long = "depends")]
    depends: bool,
    /// List the installed packages that depend on the packages.
    #[arg(short = 'r', long = "rdepends")]
    rdepends: bool,
    /// List what the packages provide.
    #[arg(short = 'P', long = "provides")]
    provides: bool,
    /// Print the package owning each given file.
    #[arg(short = 'W', long = "who-owns")]
    who_owns: bool,
    /// Check whether the given packages (dependencies) are installed; exit with the number
    /// that are not.
    #[arg(short = 'e', long = "installed")]
    exists: bool,
    /// Print all the fields.
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Print the installed size.
    #[arg(short = 's', long = "size")]
    size: bool,
    /// Print the web page.
    #[arg(short = 'w', long = "webpage")]
    webpage: bool,
    /// Print the description.
    #[arg(short = 'd', long = "description")]
    description: bool,
    /// Print the trigger globs.
    #[arg(short = 't', long = "triggers")]
    triggers: bool,
    /// Print the install_if rule.
    #[arg(long = "install-if")]
    install_if: bool,
    /// Print the installed packages whose install_if rule names the packages.
    #[arg(long = "rinstall-if")]
    rinstall_if: bool,
    /// Print what the packages replace.
    #[arg(long = "replaces")]
    replaces: bool,
    /// Print the licence.
    #[arg(long = "license")]
    license: bool,
    /// Package names (with -e: dependencies; with -W: file paths).
    #[arg(value_name = "NAME")]
    names: Vec<String>,
}

/// One information field, in apk's printing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Description,
    Webpage,
    Size,
    Depends,
    Provides,
    RequiredBy,
    Contents,
    Triggers,
    InstallIf,
    RinstallIf,
    Replaces,
    License,
}

impl Field {
    /// The header after `name-version`.
    fn title(self) -> &'static str {
        match self {
            Field::Description => "description",
            Field::Webpage => "webpage",
            Field::Size => "installed size",
            Field::Depends => "depends on",
            Field::Provides => "provides",
            Field::RequiredBy => "is required by",
            Field::Contents => "contains",
            Field::Triggers => "triggers",
            Field::InstallIf => "has auto-install rule",
            Field::RinstallIf => "affects auto-installation of",
            Field::Replaces => "replaces",
            Field::License => "license",
        }
    }
}

impl Args {
    /// The fields to print, in order.
    fn fields(&self) -> Vec<Field> {
        let chosen = [
            (self.description, Field::Description),
            (self.webpage, Field::Webpage),
            (self.size, Field::Size),
            (self.depends, Field::Depends),
            (self.provides, Field::Provides),
            (self.rdepends, Field::RequiredBy),
            (self.contents, Field::Contents),
            (self.triggers, Field::Triggers),
            (self.install_if, Field::InstallIf),
            (self.rinstall_if, Field::RinstallIf),
            (self.replaces, Field::Replaces),
            (self.license, Field::License),
        ];
        if self.all {
            return chosen.iter().map(|&(_, f)| f).collect();
        }
        let fields: Vec<Field> = chosen
            .iter()
            .filter(|(on, _)| *on)
            .map(|&(_, f)| f)
            .collect();
        if fields.is_empty() {
            vec![Field::Description, Field::Webpage, Field::Size]
        } else {
            fields
        }
    }
}

/// Runs `info`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if args.who_owns {
        let db = query::open(global, false)?;
        return who_owns(&db, &args.names, global, out);
    }
    if args.exists {
        let db = query::open(global, false)?;
        return exists(&db, &args.names, global, out);
    }
    if args.names.is_empty() {
        let db = query::open(global, false)?;
        let mut pkgs: Vec<&PackageInfo> = db.installed().packages.iter().collect();
        pkgs.sort_by(|a, b| a.name.cmp(&b.name));
        // Names by default, `name-version` with `-v`, the description too with `-vv`.
        for p in pkgs {
            line(out, pkg_line(&p.as_ref(), global.verbosity - 1))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut db = query::open(global, false)?;
    // Installed packages need no index; only names that are not installed do.
    if args.names.iter().any(|n| db.installed_package(n).is_none()) {
        query::load_indexes(&mut db);
    }
    let universe = Universe::new(&db);
    let fields = args.fields();
    for name in &args.names {
        for i in packages_named(&universe, name) {
            for &field in &fields {
                print_field(&universe, i, field, global.verbosity, out)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The packages `info NAME` describes: the installed one, or else every version the
/// repositories have (lowest first).
fn packages_named(u: &Universe<'_>, name: &str) -> Vec<usize> {
    if let Some(i) = u.installed(name) {
        return vec![i];
    }
    let mut pkgs = u.by_name(name).to_vec();
    pkgs.sort_by(|&a, &b| u.compare_versions(u.pkgs[a].info.version(), u.pkgs[b].info.version()));
    pkgs
}

/// The lines of one field of package `i`.
fn field_lines(u: &Universe<'_>, i: usize, field: Field) -> Vec<String> {
    let pkg = &u.pkgs[i];
    let info = &pkg.info;
    let installed = pkg.installed;
    let deps = |list: apk_index::DepList<'_>| list.iter().map(|d| d.to_string()).collect();
    match field {
        Field::Description => vec![info.description().to_owned()],
        Field::Webpage => vec![info.url().to_owned()],
        Field::Size => vec![apk_solver::human_size(info.installed_size())],
        Field::Depends => deps(info.depends()),
        Field::Provides => deps(info.provides()),
        Field::InstallIf => deps(info.install_if()),
        Field::License => vec![info.license().to_owned()],
        Field::RequiredBy => u
            .required_by(i)
            .into_iter()
            .map(|j| name_ver(&u.pkgs[j].info))
            .collect(),
        Field::Contents => installed.map_or_else(Vec::new, |p| {
            p.dirs
                .iter()
                .flat_map(|d| d.files.iter().map(|f| join_path(&d.path, &f.name)))
                .collect()
        }),
        Field::Triggers => {
            let from_db = info.identity().and_then(|id| {
                let id = id.to_string();
                u.db.triggers()
                    .entries
                    .iter()
                    .find(|t| t.identity == id)
                    .map(|t| t.globs.clone())
            });
            from_db.unwrap_or_else(|| installed.map_or_else(Vec::new, |p| p.triggers.clone()))
        }
        Field::RinstallIf => {
            let mut names: Vec<String> = u
                .pkgs
                .iter()
                .filter(|q| q.installed.is_some())
                .filter(|q| {
                    q.info
                        .install_if()
                        .iter()
                        .any(|d| !d.conflict() && u.satisfies(i, &d))
                })
                .map(|q| name_ver(&q.info))
                .collect();
            names.sort();
            names
        }
        Field::Replaces => installed.map_or_else(Vec::new, |p| {
            p.replaces.iter().map(ToString::to_string).collect()
        }),
    }
}

/// Prints one field block of package `i`: the header (unless quiet), the values, a blank
/// line (unless quiet).
fn print_field(
    u: &Universe<'_>,
    i: usize,
    field: Field,
    verbosity: i16,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let quiet = verbosity < 0;
    if !quiet {
        line(
            out,
            format!("{} {}:", name_ver(&u.pkgs[i].info), field.title()),
        )?;
    }
    for value in field_lines(u, i, field) {
        line(out, value)?;
    }
    if !quiet {
        line(out, "")?;
    }
    Ok(())
}

/// `info -e`: prints the arguments whose dependency the installed packages satisfy.
fn exists(
    db: &apk_db::Database,
    deps: &[String],
    global: &Global,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let mut missing = 0;
    for text in deps {
        let found = DependencyRef::parse_str(text, apk_index::Rules::default())
            .ok()
            .and_then(|dep| {
                let p = db.installed_package(dep.name())?;
                dep.version_matches(Some(&p.version), apk_index::Rules::default())
                    .then_some(p)
            });
        match found {
            Some(p) => {
                if global.verbosity >= 0 {
                    line(out, pkg_line(&p.as_ref(), global.verbosity - 1))?;
                }
            }
            None => missing += 1,
        }
    }
    Ok(failure_count_exit_code(missing))
}

/// The database path (relative to the root, `/`-separated, no `.`/`..`) of a `-W` argument:
/// an absolute path is taken inside the root, a relative one relative to the working
/// directory when the root is `/`, else relative to the root.
fn owned_path(arg: &str, root: &Path) -> Option<String> {
    let mut path = Path::new(arg).to_path_buf();
    if path.is_relative() && root == Path::new("/") {
        if let Ok(cwd) = std::env::current_dir() {
            path = cwd.join(path);
        }
    }
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The installed package owning `path` (a database path), looking through symlinked
/// directories inside the root when the path itself is not listed.
fn find_owner<'d>(db: &'d apk_db::Database, path: &str) -> Option<&'d PackageInfo> {
    let lookup = |p: &str| {
        let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
        db.installed().packages.iter().find(|pkg| {
            pkg.dirs
                .iter()
                .any(|d| d.path == dir && d.files.iter().any(|f| f.name == name))
        })
    };
    if let Some(p) = lookup(path) {
        return Some(p);
    }
    // `bin/sh` may be listed as `usr/bin/sh` when `bin` is a symlink to `usr/bin`: resolve
    // the directory part inside the root (never following links out of it).
    let (dir, name) = path.rsplit_once('/')?;
    let resolved = resolve_in_root(db.root(), dir)?;
    if resolved == dir {
        return None;
    }
    lookup(&join_path(&resolved, name))
}

/// Resolves the symlinks of directory `dir` (a database path) inside `root`, at most 40
/// links deep; absolute link targets are taken inside the root.
fn resolve_in_root(root: &Path, dir: &str) -> Option<String> {
    let mut pending: Vec<String> = dir.split('/').rev().map(str::to_owned).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        done.push(part);
        let here = root.join(done.join("/"));
        if let Ok(target) = std::fs::read_link(&here) {
            links += 1;
            if links > 40 {
                return None;
            }
            done.pop();
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                done.clear();
            }
            pending.extend(target.split('/').rev().map(str::to_owned));
        }
    }
    Some(done.join("/"))
}

/// `info -W`: prints the owner of each file.
fn who_owns(
    db: &apk_db::Database,
    files: &[String],
    global: &Global,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let mut errors = 0;
    for arg in files {
        let owner = owned_path(arg, db.root()).and_then(|p| find_owner(db, &p));
        match owner {
            Some(p) if global.verbosity < 0 => line(out, &p.name)?,
            Some(p) => line(out, format!("{arg} is owned by {}-{}", p.name, p.version))?,
            None => {
                errors += 1;
                eprintln!("ERROR: {arg}: Could not find owner package");
            }
        }
    }
    Ok(failure_count_exit_code(errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_paths_are_relative_to_the_root() {
        let root = Path::new("/srv/root");
        assert_eq!(
            owned_path("/etc/hello.conf", root).as_deref(),
            Some("etc/hello.conf")
        );
        assert_eq!(
            owned_path("/usr/./bin/../bin/hello", root).as_deref(),
            Some("usr/bin/hello")
        );
        assert_eq!(owned_path("usr/bin/x", root).as_deref(), Some("usr/bin/x"));
        assert_eq!(owned_path("/", root), None);
    }
}
