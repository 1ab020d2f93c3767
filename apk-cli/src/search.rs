//! `apk-rs search`: find packages by name or description.
//!
//! * A pattern is a glob on the package name, matched anywhere in it (`foo` means `*foo*`);
//!   `-e`/`-x` match the whole name. Without patterns every package matches.
//! * `-d`: a pattern matches when it is in the name or the description (ignoring case).
//! * `--has-origin`: the patterns are origins, matched exactly.
//! * Only the newest version of each name is shown, unless `-a`.
//! * Output, sorted by name: `name-version` per package (`-q`: `name`; `-v`:
//!   `name-version - description`). `-o` prints the origin in place of the name (once per
//!   origin and version). `-r` prints, for each match, the installed and available
//!   packages that depend on it: `name-version is required by:` then `  name-version` lines.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use crate::Global;
use crate::query::{self, Pkg, Universe, glob_match, line, name_ver, pkg_line};

/// Options of `apk-rs search`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show every version, not only the newest of each name.
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Search the descriptions too.
    #[arg(short = 'd', long = "description")]
    description: bool,
    /// Match whole names (no implicit wildcards).
    #[arg(short = 'e', short_alias = 'x', long = "exact")]
    exact: bool,
    /// List the packages whose origin is one of the given names.
    #[arg(long = "has-origin")]
    has_origin: bool,
    /// Print the origin package instead of the subpackage.
    #[arg(short = 'o', long = "origin")]
    origin: bool,
    /// Print the reverse dependencies of the matching packages.
    #[arg(short = 'r', long = "rdepends")]
    rdepends: bool,
    /// Patterns.
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
}

/// Whether package `p` matches.
fn matches(args: &Args, p: &Pkg<'_>) -> bool {
    if args.patterns.is_empty() {
        return true;
    }
    let name = p.info.name();
    if args.has_origin {
        let origin = p.info.origin().unwrap_or(name);
        return args.patterns.iter().any(|pat| pat == origin);
    }
    if args.description {
        let desc = p.info.description().to_lowercase();
        let lname = name.to_lowercase();
        return args.patterns.iter().any(|pat| {
            let pat = pat.to_lowercase();
            desc.contains(&pat) || lname.contains(&pat)
        });
    }
    args.patterns.iter().any(|pat| {
        if args.exact {
            glob_match(pat, name)
        } else {
            glob_match(&format!("*{pat}*"), name)
        }
    })
}

/// Runs `search`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let db = query::open(global, true)?;
    let u = Universe::new(&db);
    let matching = (0..u.pkgs.len()).filter(|&i| matches(&args, &u.pkgs[i]));
    let mut found: Vec<usize> = if args.all {
        matching.collect()
    } else {
        let mut best: HashMap<&str, usize> = HashMap::new();
        for i in matching {
            let name = u.pkgs[i].info.name();
            match best.get(name) {
                Some(&b) if u.better(b, i).is_le() => {}
                _ => {
                    best.insert(name, i);
                }
            }
        }
        best.into_values().collect()
    };
    found.sort_by(|&a, &b| {
        let (pa, pb) = (&u.pkgs[a].info, &u.pkgs[b].info);
        pa.name()
            .cmp(pb.name())
            .then_with(|| u.compare_versions(pa.version(), pb.version()))
            .then_with(|| a.cmp(&b))
    });
    let mut last = String::new();
    for i in found {
        let info = &u.pkgs[i].info;
        if args.rdepends {
            print_rdepends(&u, i, global.verbosity, out)?;
        } else if args.origin {
            let origin = info.origin().unwrap_or(info.name());
            let text = match global.verbosity {
                i16::MIN..=-1 => origin.to_owned(),
                _ => format!("{origin}-{}", info.version()),
            };
            if text != last {
                line(out, &text)?;
                last = text;
            }
        } else {
            line(out, pkg_line(info, global.verbosity))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The packages (installed or available) that depend on package `i`.
fn print_rdepends(
    u: &Universe<'_>,
    i: usize,
    verbosity: i16,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut rdeps: Vec<String> = u
        .pkgs
        .iter()
        .enumerate()
        .filter(|&(j, q)| {
            j != i
                && q.info
                    .depends()
                    .iter()
                    .any(|d| !d.conflict() && u.satisfies(i, &d))
        })
        .map(|(_, q)| pkg_line(&q.info, verbosity.min(0)))
        .collect();
    rdeps.sort();
    rdeps.dedup();
    if verbosity < 0 {
        for r in rdeps {
            line(out, r)?;
        }
        return Ok(());
    }
    line(
        out,
        format!("{} is required by:", name_ver(&u.pkgs[i].info)),
    )?;
    for r in rdeps {
        line(out, format!("  {r}"))?;
    }
    Ok(())
}
