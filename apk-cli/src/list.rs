//! `apk-rs list`: packages matching name patterns, one line each.
//!
//! ```text
//! hello-1.1-r0 x86_64 {hello} (MIT) [upgradable from: hello-1.0-r0]
//! libgreet-2.1-r0 x86_64 {greet} (MIT) [installed]
//! ```
//!
//! A line is `name-version arch {origin} (licence)`, then ` [installed]` for the installed
//! package, or ` [upgradable from: name-oldversion]` for a newer version of an installed
//! one. The origin defaults to the package name. `-q` prints only names; `--manifest`
//! prints `name version` for each installed package (as apk's `list --manifest` does).
//!
//! Patterns are globs on the package name (`-o`: on the origin; `-P`: also on provided
//! names; `-d`: on the names of the package's dependencies); without patterns every package
//! matches. Which packages are listed:
//!
//! * default: for each name, the best package (highest version, installed or available);
//! * `-I`: the installed packages;
//! * `-a`: every available package, every version;
//! * `-u`: for each installed package with a newer version available, the best one;
//! * `-O`: installed packages that no repository has.
//!
//! Lines are sorted by name, then version.

use std::io::Write;
use std::process::ExitCode;

use crate::Global;
use crate::query::{self, Pkg, Universe, glob_match, line, name_ver};

/// Options of `apk-rs list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// List installed packages only.
    #[arg(short = 'I', long = "installed")]
    installed: bool,
    /// List installed packages that no repository has.
    #[arg(short = 'O', long = "orphaned")]
    orphaned: bool,
    /// List every available package (all versions).
    #[arg(short = 'a', long = "available")]
    available: bool,
    /// List packages that have a newer version available.
    #[arg(short = 'u', long = "upgradable", alias = "upgradeable")]
    upgradable: bool,
    /// Match the patterns against the origin.
    #[arg(short = 'o', long = "origin")]
    origin: bool,
    /// Match the patterns against the names of dependencies.
    #[arg(short = 'd', long = "depends")]
    depends: bool,
    /// Match the patterns against provided names too.
    #[arg(short = 'P', long = "providers")]
    providers: bool,
    /// List the installed packages as `name version`.
    #[arg(long = "manifest")]
    manifest: bool,
    /// Glob patterns.
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
}

/// Whether package `p` matches the patterns under the matching options.
fn matches(args: &Args, p: &Pkg<'_>) -> bool {
    if args.patterns.is_empty() {
        return true;
    }
    let any = |name: &str| args.patterns.iter().any(|pat| glob_match(pat, name));
    if args.origin {
        return any(p.info.origin().unwrap_or(p.info.name()));
    }
    if args.depends {
        return p.info.depends().iter().any(|d| any(d.name()));
    }
    any(p.info.name()) || (args.providers && p.info.provides().iter().any(|d| any(d.name())))
}

/// The line of package `i`.
fn format_line(u: &Universe<'_>, i: usize, args: &Args, verbosity: i16) -> String {
    let info = &u.pkgs[i].info;
    if args.manifest {
        return format!("{} {}", info.name(), info.version());
    }
    if verbosity < 0 {
        return info.name().to_owned();
    }
    let mut s = format!(
        "{} {} {{{}}} ({})",
        name_ver(info),
        info.arch().unwrap_or(""),
        info.origin().unwrap_or(info.name()),
        info.license()
    );
    if u.pkgs[i].installed.is_some() {
        s.push_str(" [installed]");
    } else if let Some(old) = u.installed(info.name()) {
        let old = &u.pkgs[old].info;
        if u.compare_versions(info.version(), old.version()).is_gt() {
            s.push_str(&format!(" [upgradable from: {}]", name_ver(old)));
        }
    }
    if verbosity > 0 && !info.description().is_empty() {
        s.push_str(&format!("\n  {}", info.description()));
    }
    s
}

/// Runs `list`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let installed_only = args.installed || args.manifest;
    let db = query::open(global, !installed_only)?;
    let u = Universe::new(&db);
    let candidates: Vec<usize> = (0..u.pkgs.len())
        .filter(|&i| matches(&args, &u.pkgs[i]))
        .collect();
    let mut chosen: Vec<usize> = if installed_only {
        candidates
            .into_iter()
            .filter(|&i| u.pkgs[i].installed.is_some())
            .collect()
    } else if args.orphaned {
        candidates
            .into_iter()
            .filter(|&i| u.pkgs[i].installed.is_some() && !u.pkgs[i].available())
            .collect()
    } else if args.available {
        candidates
            .into_iter()
            .filter(|&i| u.pkgs[i].available())
            .collect()
    } else {
        // The best package of each name among the matching ones.
        let mut best: std::collections::HashMap<&str, usize> = Default::default();
        for i in candidates {
            let name = u.pkgs[i].info.name();
            match best.get(name) {
                Some(&b) if u.better(b, i).is_le() => {}
                _ => {
                    best.insert(name, i);
                }
            }
        }
        let mut chosen: Vec<usize> = best.into_values().collect();
        if args.upgradable {
            chosen.retain(|&i| {
                let p = &u.pkgs[i];
                p.installed.is_none()
                    && u.installed(p.info.name()).is_some_and(|old| {
                        u.compare_versions(p.info.version(), u.pkgs[old].info.version())
                            .is_gt()
                    })
            });
        }
        chosen
    };
    chosen.sort_by(|&a, &b| {
        let (pa, pb) = (&u.pkgs[a].info, &u.pkgs[b].info);
        pa.name()
            .cmp(pb.name())
            .then_with(|| u.compare_versions(pa.version(), pb.version()))
            .then_with(|| a.cmp(&b))
    });
    for i in chosen {
        line(out, format_line(&u, i, &args, global.verbosity))?;
    }
    Ok(ExitCode::SUCCESS)
}
