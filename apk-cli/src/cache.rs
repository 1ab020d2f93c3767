//! `apk-rs cache`: manage the package cache (`etc/apk/cache`, usually a symlink).
//!
//! * `download`: fetch every installed package that a repository has (same name, version and
//!   identity) into the cache as `name-version.<8 hex of the identity>.apk`, unless it is
//!   already there; each download is checked against the index `C:` before it is kept.
//!   Packages with an installed size of 0 (meta packages) have nothing to fetch.
//! * `clean`: remove from the cache what the installed set does not need: packages that are
//!   not installed (by name, version and identity), indexes of repositories no longer
//!   configured, and stray files. `installed` (the index of non-repository packages) stays.
//! * `sync`: `download`, then `clean`.
//! * `purge`: remove every cached package and index (keeping `installed`).
//!
//! Without a cache: `ERROR: Package cache is not enabled.` and exit 1. A package that cannot
//! be downloaded is reported as `ERROR: name-version: cause`; the exit status is the number of
//! such failures. With `-v`, each removed file is printed as `Removing FILE` and each
//! download as `Downloading name-version`.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use apk_db::fetch::Cache;
use apk_db::{Database, LockWait};

use crate::fetch::{download_verified, package_url};
use crate::query::{self, Universe, line, name_ver};
use crate::{Global, failure_count_exit_code};

/// Options of `apk-rs cache`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[arg(value_enum, value_name = "ACTION")]
    action: Action,
}

/// The actions of `cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Action {
    /// Remove what the installed packages do not need.
    Clean,
    /// Download the installed packages into the cache.
    Download,
    /// Download, then clean.
    Sync,
    /// Remove every cached package and index.
    Purge,
}

/// Runs `cache`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let wait = global.wait.map_or(LockWait::NoWait, LockWait::Seconds);
    let needs_indexes = matches!(args.action, Action::Download | Action::Sync);
    let db = query::open_with_lock(global, needs_indexes, Some(wait))?;
    let Some(cache) = db.cache() else {
        bail!("Package cache is not enabled.");
    };
    let mut errors = 0;
    if matches!(args.action, Action::Download | Action::Sync) {
        errors += download(&db, cache, global, out)?;
    }
    match args.action {
        Action::Clean | Action::Sync => clean(&db, cache, false, global, out)?,
        Action::Purge => clean(&db, cache, true, global, out)?,
        Action::Download => {}
    }
    Ok(failure_count_exit_code(errors))
}

/// Downloads the installed packages that are not cached yet; returns the number of
/// failures.
fn download(
    db: &Database,
    cache: &Cache,
    global: &Global,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let u = Universe::new(db);
    let repos = db.loaded_repositories();
    let mut errors = 0;
    for p in &u.pkgs {
        let (Some(_), Some(identity), Some(&r)) = (p.installed, p.info.identity(), p.repos.first())
        else {
            continue;
        };
        if p.info.installed_size() == 0 {
            continue;
        }
        let dest = cache.package_path(p.info.name(), p.info.version(), &identity);
        if dest.exists() {
            continue;
        }
        if global.verbosity > 0 {
            line(out, format!("Downloading {}", name_ver(&p.info)))?;
        }
        let Some(repo) = repos.get(r) else { continue };
        let downloaded = package_url(db, repo, &p.info)
            .and_then(|url| download_verified(db, &url, &dest, identity));
        if let Err(e) = downloaded {
            errors += 1;
            eprintln!("ERROR: {}: {e:#}", name_ver(&p.info));
        }
    }
    Ok(errors)
}

/// Removes what is not needed (or, with `purge`, every package and index).
fn clean(
    db: &Database,
    cache: &Cache,
    purge: bool,
    global: &Global,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut keep: HashSet<String> = HashSet::new();
    keep.insert("installed".to_owned());
    if !purge {
        for repo in db.repositories().repositories() {
            keep.insert(repo.cache_index_name());
        }
        for p in &db.installed().packages {
            if let Some(id) = &p.identity {
                let path = cache.package_path(&p.name, &p.version, id);
                if let Some(name) = path.file_name() {
                    keep.insert(name.to_string_lossy().into_owned());
                }
            }
        }
    }
    let dir = cache.dir();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("failed to read {}", dir.display()))?;
    let mut names: Vec<String> = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("failed to read {}", dir.display()))?;
        let is_file = entry.file_type().is_ok_and(|t| !t.is_dir());
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_file && !keep.contains(&name) {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        if global.verbosity > 0 {
            line(out, format!("Removing {name}"))?;
        }
        remove(&dir.join(&name))?;
    }
    Ok(())
}

/// Removes one cached file.
fn remove(path: &Path) -> anyhow::Result<()> {
    std::fs::remove_file(path).with_context(|| format!("failed to remove {}", path.display()))
}
