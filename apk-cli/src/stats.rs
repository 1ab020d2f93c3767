//! `apk-rs stats`: counts of what the database knows.
//!
//! ```text
//! installed:
//!   packages: 2
//!   dirs: 5
//!   files: 3
//!   bytes: 55
//!   triggers: 0
//! available:
//!   names: 4
//!   packages: 5
//! ```
//!
//! * `installed`: the installed packages; the distinct directories (`F:`) and the files
//!   (`R:`) they own; the sum of their installed sizes (`I:`); the packages with triggers.
//! * `available`: the distinct package names and the distinct packages of the installed
//!   database and the loaded repositories together (a package in several places counts
//!   once).

use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;

use crate::Global;
use crate::query::{self, Universe, line};

/// Options of `apk-rs stats`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `stats`, writing its transcript to `out`.
pub fn run(_args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let db = query::open(global, true)?;
    let installed = &db.installed().packages;
    let dirs: HashSet<&str> = installed
        .iter()
        .flat_map(|p| p.dirs.iter().map(|d| d.path.as_str()))
        .filter(|d| !d.is_empty())
        .collect();
    let files: usize = installed
        .iter()
        .flat_map(|p| p.dirs.iter())
        .map(|d| d.files.len())
        .sum();
    let bytes: u64 = installed.iter().map(|p| p.installed_size).sum();
    let u = Universe::new(&db);
    let text = format!(
        "installed:\n  packages: {}\n  dirs: {}\n  files: {files}\n  bytes: {bytes}\n  \
         triggers: {}\navailable:\n  names: {}\n  packages: {}",
        installed.len(),
        dirs.len(),
        db.triggers().entries.len(),
        u.names().len(),
        u.pkgs.len(),
    );
    line(out, text)?;
    Ok(ExitCode::SUCCESS)
}
