//! `apk-rs fetch`: download packages from the repositories.
//!
//! For each argument (a dependency such as `hello`, `hello>=1.1` or `hello@edge`), the best
//! available package is chosen: packages of that name before other providers, then the
//! highest version, the highest provider priority and the earliest repository. Without a
//! tag only untagged repositories are used when they have a candidate; `@tag` uses that
//! tag's repositories. `-R` adds the dependencies, recursively; `-w` fetches what world
//! names.
//!
//! Each package is saved as `name-version.apk` in `-o DIR` (default: the working directory)
//! after its identity has been checked against the index `C:` (so a package from a signed
//! index needs no signature of its own), or written to stdout with `-s`. A file already in
//! the directory with the right identity is kept and not downloaded again. `-l` hard-links
//! packages of local repositories instead of copying them when it can.
//!
//! Output: `Downloading name-version` per package (on stderr with `-s`; none with `-q`), or
//! with `--url` the package's URL. `--simulate` prints the same and writes nothing.
//! A name nothing provides: `ERROR: NAME: unable to select package (or its dependencies)`;
//! a failed download: `ERROR: name-version: cause`. The exit status is the number of errors.

use std::collections::HashSet;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use apk_db::{Database, LoadedRepository};
use apk_index::{Checksum, Dependency, DependencyRef, PackageRef, Rules};
use apk_pkg::PackageReader;

use crate::query::{self, Universe, line, name_ver};
use crate::{Global, failure_count_exit_code};

/// Options of `apk-rs fetch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the packages to DIR (default: the working directory).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: Option<PathBuf>,
    /// Fetch the dependencies too, recursively.
    #[arg(short = 'R', long = "recursive")]
    recursive: bool,
    /// Write the packages to standard output.
    #[arg(short = 's', long = "stdout")]
    stdout: bool,
    /// Hard-link packages from local repositories when possible.
    #[arg(short = 'l', long = "link")]
    link: bool,
    /// Print the URL of each package instead of `Downloading …`.
    #[arg(long = "url")]
    url: bool,
    /// Fetch the packages world names (with -R: and their dependencies).
    #[arg(short = 'w', long = "world")]
    world: bool,
    /// Packages (dependencies) to fetch.
    #[arg(value_name = "PACKAGE")]
    packages: Vec<String>,
}

/// The URL of package `pkg` in repository `repo`: `<repo>/<package arch>/<name>-<ver>.apk`
/// (the primary architecture when the package names none), or what the index's
/// `pkgname-spec` says.
pub fn package_url(
    db: &Database,
    repo: &LoadedRepository,
    pkg: &PackageRef<'_>,
) -> anyhow::Result<String> {
    let arch = pkg
        .arch()
        .or_else(|| db.arches().first().map(String::as_str))
        .unwrap_or("");
    let index = repo.index.as_deref();
    let spec = index.and_then(|i| i.pkgname_spec());
    // The whole hash a v3 index records (its first 20 bytes are the identity), looked up only
    // for a template that uses it.
    let full_hash = index
        .filter(|_| spec.is_some_and(|s| s.contains("${hash")))
        .and_then(|index| {
            let i = index.packages().position(|p| {
                p.name() == pkg.name()
                    && p.version() == pkg.version()
                    && p.identity() == pkg.identity()
            })?;
            index.adb_hashes(i)
        });
    let identity = pkg.identity();
    let vars = apk_index::adb::PkgnameVars {
        name: pkg.name(),
        version: pkg.version(),
        arch,
        hash: full_hash.or(identity.as_ref().map(|c| c.as_bytes())),
    };
    Ok(repo.repository.package_url_in(spec, &vars)?)
}

/// The local file a `file:` or absolute-path URL names.
fn local_path(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("file://")
        .or_else(|| url.strip_prefix("file:"))
        .unwrap_or(url);
    path.starts_with('/').then(|| PathBuf::from(path))
}

/// Reads the whole package from `file` and checks that it is the package with `identity`:
/// for a v2 package the SHA-1 of its control part; for a v3 (ADB) one the first 20 bytes of
/// the SHA-256 of its ADB block, and every data block against its file's hash (which that
/// block covers).
fn verify_identity(mut file: impl std::io::BufRead, identity: Checksum) -> anyhow::Result<()> {
    let is_adb = file.fill_buf()?.starts_with(b"ADB");
    let got = if is_adb {
        let mut reader = apk_pkg::AdbPackageReader::new(file)?;
        let full = reader.package().identity();
        let got = Checksum::from_digest(&full[..20], apk_index::ChecksumForm::Q1)
            .context("a package identity")?;
        if got.as_bytes() == identity.as_bytes() {
            reader.check()?;
        }
        got
    } else {
        PackageReader::new(file)?.finish()?.identity()
    };
    if got.as_bytes() != identity.as_bytes() {
        bail!("package identity {got} does not match the index ({identity})");
    }
    Ok(())
}

/// Whether the file at `path` is the package with `identity`.
fn has_identity(path: &Path, identity: Checksum) -> bool {
    std::fs::File::open(path)
        .map_err(anyhow::Error::from)
        .and_then(|f| verify_identity(BufReader::new(f), identity))
        .is_ok()
}

/// A hidden temporary name next to `dest`.
fn temp_name(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(|| "package".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!(".{name}.{}.part", std::process::id()))
}

/// Downloads `url` to `dest`, keeping it only when its identity is `identity`. With `link`,
/// a local package is hard-linked when possible.
fn download_to(
    db: &Database,
    url: &str,
    dest: &Path,
    identity: Option<Checksum>,
    link: bool,
) -> anyhow::Result<()> {
    let tmp = temp_name(dest);
    let _ = std::fs::remove_file(&tmp);
    let linked = link && local_path(url).is_some_and(|src| std::fs::hard_link(src, &tmp).is_ok());
    if !linked {
        db.fetcher().fetch_to_file(url, &tmp, &mut |_, _| {})?;
    }
    let checked = match identity {
        Some(id) => std::fs::File::open(&tmp)
            .map_err(anyhow::Error::from)
            .and_then(|f| verify_identity(BufReader::new(f), id)),
        None => Ok(()),
    };
    let placed = checked.and_then(|()| {
        std::fs::rename(&tmp, dest)
            .with_context(|| format!("failed to rename to {}", dest.display()))
    });
    if placed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    placed
}

/// Downloads `url` to `dest` (atomically) after checking the package identity.
pub fn download_verified(
    db: &Database,
    url: &str,
    dest: &Path,
    identity: Checksum,
) -> anyhow::Result<()> {
    download_to(db, url, dest, Some(identity), false)
}

/// The chosen package and the repository to take it from.
#[derive(Debug, Clone, Copy)]
struct Choice {
    pkg: usize,
    repo: usize,
}

/// The best available package for `dep`, or `None`.
fn select(u: &Universe<'_>, dep: &DependencyRef<'_>) -> Option<Choice> {
    let repos = u.db.loaded_repositories();
    let tag_of = |r: usize| repos.get(r).and_then(|l| l.repository.tag.as_deref());
    let allowed = |r: usize, untagged_only: bool| match dep.tag() {
        Some(t) => tag_of(r) == Some(t),
        None => !untagged_only || tag_of(r).is_none(),
    };
    let candidates: Vec<usize> = u
        .providers(dep)
        .into_iter()
        .filter(|&i| u.pkgs[i].available())
        .collect();
    for untagged_only in [true, false] {
        let usable: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| u.pkgs[i].repos.iter().any(|&r| allowed(r, untagged_only)))
            .collect();
        let own: Vec<usize> = usable
            .iter()
            .copied()
            .filter(|&i| u.pkgs[i].info.name() == dep.name())
            .collect();
        let pool = if own.is_empty() { usable } else { own };
        if let Some(pkg) = u.best(pool) {
            let repo = u.pkgs[pkg]
                .repos
                .iter()
                .copied()
                .find(|&r| allowed(r, untagged_only))?;
            return Some(Choice { pkg, repo });
        }
    }
    None
}

/// Runs `fetch`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let db = query::open(global, true)?;
    let u = Universe::new(&db);
    let mut roots: Vec<Dependency> = Vec::new();
    if args.world {
        roots.extend(db.world().iter().cloned());
    }
    for p in &args.packages {
        let dep = Dependency::parse(p, Rules::default())
            .with_context(|| format!("'{p}' is not a valid package specifier"))?;
        roots.push(dep);
    }
    let dir = args.output.clone().unwrap_or_else(|| PathBuf::from("."));
    if !args.stdout && !global.simulate && !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }

    // Choose the packages: the arguments in order, each followed by its dependencies.
    let mut errors = 0;
    let mut chosen: Vec<Choice> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut failed_names: HashSet<String> = HashSet::new();
    for root in roots.iter().filter(|d| !d.conflict()) {
        let mut stack: Vec<DependencyRef<'_>> = vec![root.as_ref()];
        while let Some(dep) = stack.pop() {
            let Some(choice) = select(&u, &dep) else {
                if failed_names.insert(dep.to_string()) {
                    errors += 1;
                    eprintln!("ERROR: {dep}: unable to select package (or its dependencies)");
                }
                continue;
            };
            if !seen.insert(choice.pkg) {
                continue;
            }
            chosen.push(choice);
            if args.recursive {
                let deps: Vec<DependencyRef<'_>> = u.pkgs[choice.pkg]
                    .info
                    .depends()
                    .iter()
                    .filter(|d| !d.conflict())
                    .collect();
                stack.extend(deps.into_iter().rev());
            }
        }
    }

    let repos = db.loaded_repositories();
    for choice in chosen {
        let pkg = &u.pkgs[choice.pkg].info;
        let Some(repo) = repos.get(choice.repo) else {
            continue;
        };
        let url = match package_url(&db, repo, pkg) {
            Ok(url) => url,
            Err(e) => {
                errors += 1;
                eprintln!("ERROR: {}: {e:#}", name_ver(pkg));
                continue;
            }
        };
        let dest = dir.join(format!("{}.apk", name_ver(pkg)));
        if !args.stdout
            && !args.url
            && pkg
                .identity()
                .is_some_and(|id| dest.is_file() && has_identity(&dest, id))
        {
            continue;
        }
        let message = if args.url {
            url.clone()
        } else {
            format!("Downloading {}", name_ver(pkg))
        };
        if args.url || global.verbosity >= 0 {
            if args.stdout {
                eprintln!("{message}");
            } else {
                line(out, &message)?;
            }
        }
        if global.simulate {
            continue;
        }
        let result = if args.stdout {
            to_stdout(&db, &url, pkg.identity(), out)
        } else {
            download_to(&db, &url, &dest, pkg.identity(), args.link)
        };
        if let Err(e) = result {
            errors += 1;
            eprintln!("ERROR: {}: {e:#}", name_ver(pkg));
        }
    }
    Ok(failure_count_exit_code(errors))
}

/// Fetches `url` into memory, checks its identity and writes it to `out`.
fn to_stdout(
    db: &Database,
    url: &str,
    identity: Option<Checksum>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let bytes = db.fetcher().fetch_bytes(url)?;
    if let Some(id) = identity {
        verify_identity(&bytes[..], id)?;
    }
    out.write_all(&bytes)
        .context("failed to write the package to stdout")
}
